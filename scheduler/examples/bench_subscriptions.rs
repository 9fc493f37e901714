//! Live-query benchmark: many subscriptions over many websockets on one native `graphedge`.
//!
//! ```text
//! cargo build --release -p graphedge-scheduler --bin graphedge --example bench_subscriptions
//! target/release/examples/bench_subscriptions [options]     (or scripts/bench-subscriptions.sh)
//! ```
//!
//! A throwaway Postgres ([`TempPostgres`], with `pg_stat_statements` preloaded) holds
//! `item(id int primary key, v bigint not null)` with `--rows` rows. For each mode — `watch`
//! (the default pollers: a poller re-runs only when a table it reads changed) and `poll`
//! (`GRAPHEDGE_SUBSCRIPTIONS_WATCH_CHANGES=false`: every cohort every interval, as Hasura) —
//! the example creates a fresh database, starts the release binary `graphedge serve` on it
//! (admin secret set), tracks `item`, and then:
//!
//! 1. opens `--sockets` websockets on `/v1/graphql` (Apollo `subscriptions-transport-ws`, no
//!    subprotocol offered; `connection_init` with the admin secret in `payload.headers`),
//!    `--connect-concurrency` handshakes at a time;
//! 2. once every socket is acknowledged, starts `--per-socket` subscriptions on each,
//!    `subscription ($id: Int!) { item_by_pk(id: $id) { id v } }` with distinct ids (one
//!    cohort each), and times the first results (from that moment: p50 / p99 / all);
//! 3. measures `--seconds` of **idle** (no writes), then `--seconds` of **writes**
//!    (`--writes-per-sec` × `UPDATE item SET v = <unix ms> WHERE id = <random subscribed id>`
//!    on a direct connection), followed by a drain of two intervals + 2 s for late pushes;
//! 4. closes the sockets and waits for the server's `hasura_active_subscriptions` to reach 0.
//!
//! Per phase: SQL statements per second the server ran — counted with `pg_stat_statements`
//! (calls of the server's role in the bench database; the bench's own statements run as
//! another role and are not counted), split into the pollers' multiplexed statements
//! (`"_subs"`) and the rest; when `pg_stat_statements` cannot be loaded, the delta of
//! `pg_stat_database.xact_commit` less the bench's own transactions (coarser: backends flush
//! those counters lazily). The server's CPU (utime + stime of `/proc/PID/stat`, % of one
//! core), Postgres' (the postmaster and its children) and the bench client's own; the server's
//! RSS (`VmRSS` at the end, the largest seen at 1 s samples, and the peak `VmHWM`); pushes,
//! and for each push whose `v` is a write's timestamp the change→client latency (receive time
//! − `v`, ms, both on this machine's clock). A push whose `v` is not a pending write's is
//! counted as unexpected (a push to a subscriber whose row did not change), a write whose push
//! never came as missed (a write superseded by a later one on the same row before its push is
//! not counted as missed when the later one arrives).
//!
//! The client runs on one multi-thread tokio runtime and records into shared counters; it
//! prints nothing per message. Its CPU is reported so that it can be seen not to be the
//! bottleneck. The server's log goes to `<target>/bench-subscriptions/server-<mode>.log`.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use graphedge_scheduler::pgtemp::TempPostgres;
use serde_json::{json, Value};
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::Message;

const ADMIN_SECRET: &str = "bench-subscriptions-secret";
const QUERY: &str = "subscription ($id: Int!) { item_by_pk(id: $id) { id v } }";
/// The role the bench's own connections use (not counted in the server's statements).
const BENCH_ROLE: &str = "bench";

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;

// ---- options --------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Opts {
    sockets: usize,
    per_socket: usize,
    seconds: u64,
    idle_seconds: u64,
    writes_per_sec: f64,
    rows: usize,
    modes: Vec<Mode>,
    graphedge: Option<PathBuf>,
    connect_concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The defaults: change watching.
    Watch,
    /// `GRAPHEDGE_SUBSCRIPTIONS_WATCH_CHANGES=false`: every interval, as Hasura.
    Poll,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Watch => "watch",
            Mode::Poll => "poll",
        }
    }
}

const USAGE: &str = "bench_subscriptions [options]
  --sockets N              websockets (default 1000)
  --per-socket N           subscriptions per socket, distinct ids (default 10)
  --seconds N              length of each measured phase (default 30)
  --idle-seconds N         length of the idle phase (default: --seconds; at least
                           GRAPHEDGE_SUBSCRIPTIONS_FULL_REFRESH (60) to include the watched
                           pollers' periodic full refresh)
  --writes-per-sec N       writes of the second phase (default 10)
  --rows N                 rows of `item` (default 10000, at least sockets × per-socket)
  --modes LIST             watch,poll (default both; watch = defaults, poll = WATCH_CHANGES=false)
  --graphedge PATH         the binary (default: target/release/graphedge next to this example,
                           or $GRAPHEDGE_BIN)
  --connect-concurrency N  websocket handshakes at once (default 64)
The server inherits the environment (e.g. HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL,
..._BATCH_SIZE, GRAPHEDGE_SUBSCRIPTIONS_FULL_REFRESH); the mode sets GRAPHEDGE_SUBSCRIPTIONS_WATCH_CHANGES.";

impl Opts {
    fn parse() -> Result<Opts> {
        let mut o = Opts {
            sockets: 1000,
            per_socket: 10,
            seconds: 30,
            idle_seconds: 0,
            writes_per_sec: 10.0,
            rows: 10_000,
            modes: vec![Mode::Watch, Mode::Poll],
            graphedge: std::env::var_os("GRAPHEDGE_BIN").map(PathBuf::from),
            connect_concurrency: 64,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (a.clone(), None),
            };
            if name == "-h" || name == "--help" {
                println!("{USAGE}");
                std::process::exit(0);
            }
            let value = match inline {
                Some(v) => v,
                None => args
                    .next()
                    .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?,
            };
            let num = |v: &str| -> Result<u64> {
                v.parse::<u64>()
                    .map_err(|_| format!("{name}: expected a number, got {v:?}").into())
            };
            match name.as_str() {
                "--sockets" => o.sockets = num(&value)? as usize,
                "--per-socket" => o.per_socket = num(&value)? as usize,
                "--seconds" => o.seconds = num(&value)?,
                "--idle-seconds" => o.idle_seconds = num(&value)?,
                "--writes-per-sec" => {
                    o.writes_per_sec = value
                        .parse::<f64>()
                        .ok()
                        .filter(|r| *r >= 0.0)
                        .ok_or_else(|| format!("{name}: expected a rate, got {value:?}"))?
                }
                "--rows" => o.rows = num(&value)? as usize,
                "--modes" => {
                    o.modes = value
                        .split(',')
                        .filter(|m| !m.trim().is_empty())
                        .map(|m| match m.trim() {
                            "watch" => Ok(Mode::Watch),
                            "poll" => Ok(Mode::Poll),
                            other => Err(format!("--modes: unknown mode {other:?}")),
                        })
                        .collect::<Result<_, _>>()?
                }
                "--graphedge" => o.graphedge = Some(PathBuf::from(value)),
                "--connect-concurrency" => o.connect_concurrency = num(&value)?.max(1) as usize,
                _ => return Err(format!("unknown option {name}\n{USAGE}").into()),
            }
        }
        if o.sockets == 0 || o.per_socket == 0 || o.seconds == 0 {
            return Err("--sockets, --per-socket and --seconds must be positive".into());
        }
        if o.idle_seconds == 0 {
            o.idle_seconds = o.seconds;
        }
        o.rows = o.rows.max(o.subscriptions());
        Ok(o)
    }

    fn subscriptions(&self) -> usize {
        self.sockets * self.per_socket
    }
}

/// The refetch interval the server uses (it inherits our environment).
fn refetch_interval() -> Duration {
    let ms = std::env::var("HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1000);
    Duration::from_millis(ms)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

// ---- /proc ----------------------------------------------------------------------------------

/// `(ppid, utime + stime, cutime + cstime)` in clock ticks, from `/proc/PID/stat`.
fn proc_stat(pid: u32) -> Option<(u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    // f[0] is field 3 (state): ppid 4, utime 14, stime 15, cutime 16, cstime 17.
    Some((n(1)? as u32, n(11)? + n(12)?, n(13)? + n(14)?))
}

/// `(VmRSS, VmHWM)` in kB.
fn proc_memory(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU ticks of the postmaster (with its reaped children) and its living children.
fn postgres_ticks(postmaster: u32) -> u64 {
    let mut total = proc_stat(postmaster).map_or(0, |(_, own, reaped)| own + reaped);
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some((ppid, own, _)) = proc_stat(pid) {
                if ppid == postmaster {
                    total += own;
                }
            }
        }
    }
    total
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

fn open_files_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

// ---- the server -----------------------------------------------------------------------------

struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn start(bin: &Path, db_url: &str, mode: Mode, log: &Path) -> Result<Server> {
        let mut last = String::new();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let out = std::fs::File::create(log)?;
            let err = out.try_clone()?;
            let child = Command::new(bin)
                .args(["serve", "--server-host", "127.0.0.1", "--server-port"])
                .arg(port.to_string())
                .env("HASURA_GRAPHQL_DATABASE_URL", db_url)
                .env("HASURA_GRAPHQL_ADMIN_SECRET", ADMIN_SECRET)
                .env(
                    "GRAPHEDGE_SUBSCRIPTIONS_WATCH_CHANGES",
                    if mode == Mode::Watch { "true" } else { "false" },
                )
                .env_remove("HASURA_GRAPHQL_JWT_SECRET")
                .env_remove("HASURA_GRAPHQL_JWT_SECRETS")
                .env_remove("HASURA_GRAPHQL_ADMIN_SECRETS")
                .env_remove("HASURA_GRAPHQL_AUTH_HOOK")
                .env_remove("HASURA_GRAPHQL_METADATA_DATABASE_URL")
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
            let mut server = Server {
                child,
                base: format!("http://127.0.0.1:{port}"),
                log: log.to_path_buf(),
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if let Ok(r) = ureq::get(&format!("{}/healthz", server.base))
                    .timeout(Duration::from_secs(2))
                    .call()
                {
                    if r.status() == 200 {
                        return Ok(server);
                    }
                }
                if let Ok(Some(status)) = server.child.try_wait() {
                    last = format!(
                        "graphedge exited early ({status}):\n{}",
                        server.log_tail(20)
                    );
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "graphedge did not become healthy in 60 s:\n{}",
                        server.log_tail(20)
                    )
                    .into());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if !last.contains("in use") {
                break;
            }
        }
        Err(last.into())
    }

    fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Log lines at level warn or error (graphedge logs JSON lines with a `level`).
    fn log_problems(&self) -> (usize, Vec<String>) {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let bad: Vec<&str> = text
            .lines()
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                l.contains("\"level\":\"warn")
                    || l.contains("\"level\":\"error")
                    || l.contains("panic")
            })
            .collect();
        let sample = bad.iter().take(3).map(|l| truncate(l, 300)).collect();
        (bad.len(), sample)
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let resp = ureq::post(&format!("{}{path}", self.base))
            .set("x-hasura-admin-secret", ADMIN_SECRET)
            .set("content-type", "application/json")
            .timeout(Duration::from_secs(60))
            .send_string(&body.to_string());
        let resp = match resp {
            Ok(r) => r,
            Err(ureq::Error::Status(code, r)) => {
                return Err(format!(
                    "POST {path} answered {code}: {}",
                    r.into_string().unwrap_or_default()
                )
                .into())
            }
            Err(e) => return Err(format!("POST {path}: {e}").into()),
        };
        Ok(serde_json::from_str(&resp.into_string()?)?)
    }

    /// SIGTERM, then SIGKILL after 20 s.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("graphedge ignored SIGTERM for 20 s; killing it");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The graphedge binary: `--graphedge`, `$GRAPHEDGE_BIN`, `graphedge` in the profile directory
/// this example was built into, then the workspace's `target/release`.
fn find_graphedge(opts: &Opts) -> Result<PathBuf> {
    let mut tried = Vec::new();
    let mut candidates: Vec<PathBuf> = opts.graphedge.iter().cloned().collect();
    if let Ok(exe) = std::env::current_exe() {
        // <target>/<profile>/examples/bench_subscriptions
        if let Some(profile) = exe.parent().and_then(Path::parent) {
            candidates.push(profile.join("graphedge"));
        }
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    candidates.push(target.join("release").join("graphedge"));
    for c in candidates {
        if c.is_file() {
            return Ok(c);
        }
        tried.push(c.display().to_string());
    }
    Err(format!(
        "graphedge binary not found (tried {}): cargo build --release -p graphedge-scheduler --bin graphedge",
        tried.join(", ")
    )
    .into())
}

/// Where the server logs go: `<target>/bench-subscriptions/`.
fn log_dir() -> PathBuf {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(std::env::temp_dir)
        .join("bench-subscriptions");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

// ---- what the client records -----------------------------------------------------------------

#[derive(Default)]
struct Recorder {
    /// Writes whose push has not come yet: id → the values written, oldest first.
    pending: HashMap<i32, Vec<i64>>,
    writes: u64,
    write_errors: u64,
    pushes: u64,
    /// Pushes carrying a pending write's value.
    matched: u64,
    /// Writes a later write on the same row overtook (their push never had to come).
    superseded: u64,
    /// Pushes whose value is the subscriber's previous one (nothing changed).
    repeated: u64,
    /// Pushes with another value no write of this phase set.
    unexpected: u64,
    /// First results that came only during a phase (counted in `pushes` too).
    late_firsts: u64,
    latencies: Vec<i64>,
    /// Error messages (`data` with `errors`, `error`, `complete`, `connection_error`).
    errors: u64,
    first_error: Option<String>,
}

impl Recorder {
    fn reset(&mut self) {
        *self = Recorder::default();
    }

    fn write(&mut self, id: i32, v: i64) {
        self.writes += 1;
        self.pending.entry(id).or_default().push(v);
    }

    fn push(&mut self, id: i32, v: i64, previous: Option<i64>, received_ms: i64) {
        self.pushes += 1;
        if let Some(list) = self.pending.get_mut(&id) {
            if let Some(pos) = list.iter().position(|w| *w == v) {
                self.matched += 1;
                self.superseded += pos as u64;
                list.drain(..=pos);
                if list.is_empty() {
                    self.pending.remove(&id);
                }
                self.latencies.push(received_ms - v);
                return;
            }
        }
        if previous == Some(v) {
            self.repeated += 1;
        } else {
            self.unexpected += 1;
        }
    }

    fn error(&mut self, text: &str) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(truncate(text, 300));
        }
    }

    fn missed(&self) -> u64 {
        self.pending.values().map(|l| l.len() as u64).sum()
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

struct Shared {
    rec: Mutex<Recorder>,
    /// Sockets acknowledged by `connection_init`.
    ready: AtomicUsize,
    /// Sockets that failed before being ready.
    failed: AtomicUsize,
    /// Ready sockets that closed or failed before the end.
    dropped: AtomicUsize,
    first_failure: Mutex<Option<String>>,
    /// Time of each first result from the start, ms.
    firsts: Mutex<Vec<f64>>,
    first_count: AtomicUsize,
    started: Mutex<Option<Instant>>,
    /// The wait for the first results is over: a first result now is a late one.
    phases: std::sync::atomic::AtomicBool,
}

impl Shared {
    fn fail(&self, what: String, ready: bool) {
        if ready {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        let mut first = self.first_failure.lock().unwrap();
        if first.is_none() {
            *first = Some(truncate(&what, 300));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorder> {
        self.rec.lock().unwrap_or_else(|p| p.into_inner())
    }
}

// ---- one socket -----------------------------------------------------------------------------

struct SocketPlan {
    url: String,
    /// The ids of its subscriptions (operation `j` subscribes to `ids[j]`).
    ids: Vec<i32>,
}

async fn socket_task(
    plan: SocketPlan,
    shared: Arc<Shared>,
    connect: Arc<Semaphore>,
    mut go: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let permit = connect.acquire().await;
    let ws = match tokio::time::timeout(
        Duration::from_secs(60),
        tokio_tungstenite::connect_async(plan.url.as_str()),
    )
    .await
    {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(e)) => return shared.fail(format!("connect: {e}"), false),
        Err(_) => return shared.fail("connect: no answer in 60 s".into(), false),
    };
    let (mut tx, mut rx) = ws.split();
    let init = json!({"type": "connection_init",
        "payload": {"headers": {"x-hasura-admin-secret": ADMIN_SECRET}}});
    if let Err(e) = tx.send(Message::text(init.to_string())).await {
        return shared.fail(format!("send connection_init: {e}"), false);
    }
    let acked = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match rx.next().await {
                Some(Ok(Message::Text(t))) => {
                    if t.contains("\"connection_ack\"") {
                        return Ok(());
                    }
                    if t.contains("\"connection_error\"") {
                        return Err(format!("connection_init refused: {}", t.as_str()));
                    }
                }
                Some(Ok(Message::Close(f))) => return Err(format!("closed before ack: {f:?}")),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("before ack: {e}")),
                None => return Err("ended before ack".into()),
            }
        }
    })
    .await;
    match acked {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return shared.fail(e, false),
        Err(_) => return shared.fail("no connection_ack in 60 s".into(), false),
    }
    drop(permit);
    shared.ready.fetch_add(1, Ordering::Relaxed);

    let mut last: Vec<Option<i64>> = vec![None; plan.ids.len()];
    let mut started = false;
    loop {
        tokio::select! {
            changed = go.changed(), if !started => {
                if changed.is_err() || !*go.borrow() {
                    continue;
                }
                started = true;
                for (j, id) in plan.ids.iter().enumerate() {
                    let start = json!({"id": j.to_string(), "type": "start",
                        "payload": {"query": QUERY, "variables": {"id": id}}});
                    if let Err(e) = tx.feed(Message::text(start.to_string())).await {
                        return shared.fail(format!("send start: {e}"), true);
                    }
                }
                if let Err(e) = tx.flush().await {
                    return shared.fail(format!("send start: {e}"), true);
                }
            }
            _ = stop.changed() => {
                let _ = tx.send(Message::Close(None)).await;
                return;
            }
            msg = rx.next() => {
                let received = now_ms();
                match msg {
                    Some(Ok(Message::Text(t))) => {
                        on_text(&t, &plan, &mut last, &shared, received);
                    }
                    Some(Ok(Message::Close(f))) => {
                        if !*stop.borrow() {
                            shared.fail(format!("server closed the socket: {f:?}"), true);
                        }
                        return;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        if !*stop.borrow() {
                            shared.fail(format!("socket error: {e}"), true);
                        }
                        return;
                    }
                    None => {
                        if !*stop.borrow() {
                            shared.fail("the server ended the connection".into(), true);
                        }
                        return;
                    }
                }
            }
        }
    }
}

fn on_text(t: &str, plan: &SocketPlan, last: &mut [Option<i64>], shared: &Shared, received: i64) {
    if t.len() < 24 && t.contains("\"ka\"") {
        return;
    }
    let Ok(msg) = serde_json::from_str::<Value>(t) else {
        return shared.lock().error(&format!("not JSON: {t}"));
    };
    match msg["type"].as_str() {
        Some("data") => {}
        Some("ka") | Some("connection_ack") => return,
        _ => return shared.lock().error(t),
    }
    let j = msg["id"].as_str().and_then(|s| s.parse::<usize>().ok());
    let Some(j) = j.filter(|j| *j < plan.ids.len()) else {
        return shared.lock().error(&format!("unknown operation: {t}"));
    };
    let row = &msg["payload"]["data"]["item_by_pk"];
    let (Some(id), Some(v)) = (row["id"].as_i64(), row["v"].as_i64()) else {
        return shared.lock().error(t);
    };
    if id != i64::from(plan.ids[j]) {
        return shared
            .lock()
            .error(&format!("operation {j} got row {id}: {t}"));
    }
    match last[j] {
        None => {
            if let Some(started) = *shared.started.lock().unwrap() {
                shared
                    .firsts
                    .lock()
                    .unwrap()
                    .push(started.elapsed().as_secs_f64() * 1000.0);
            }
            shared.first_count.fetch_add(1, Ordering::Relaxed);
            if shared.phases.load(Ordering::Relaxed) {
                let mut rec = shared.lock();
                rec.late_firsts += 1;
                rec.push(id as i32, v, None, received);
            }
        }
        Some(previous) => shared.lock().push(id as i32, v, Some(previous), received),
    }
    last[j] = Some(v);
}

// ---- measurements ---------------------------------------------------------------------------

/// How statements are counted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counting {
    PgStatStatements,
    XactCommit,
}

struct Snap {
    at: Instant,
    /// queryid → (calls, query) of the server's role in the bench database.
    statements: HashMap<i64, (i64, String)>,
    xact_commit: i64,
    server_ticks: u64,
    postgres_ticks: u64,
    client_ticks: u64,
    rss_kb: u64,
    hwm_kb: u64,
}

struct Probe {
    client: tokio_postgres::Client,
    counting: Counting,
    server_pid: u32,
    postmaster: u32,
}

impl Probe {
    async fn snap(&self) -> Result<Snap> {
        let mut statements = HashMap::new();
        if self.counting == Counting::PgStatStatements {
            let rows = self
                .client
                .query(
                    "SELECT queryid, calls, query FROM pg_stat_statements \
                     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                       AND userid = 'postgres'::regrole",
                    &[],
                )
                .await?;
            for r in rows {
                let id: Option<i64> = r.get(0);
                let calls: i64 = r.get(1);
                let query: Option<String> = r.get(2);
                let e = statements
                    .entry(id.unwrap_or(0))
                    .or_insert((0, query.unwrap_or_default()));
                e.0 += calls;
            }
        }
        let xact_commit: i64 = self
            .client
            .query_one(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
                &[],
            )
            .await?
            .get(0);
        let (rss_kb, hwm_kb) = proc_memory(self.server_pid).unwrap_or((0, 0));
        Ok(Snap {
            at: Instant::now(),
            statements,
            xact_commit,
            server_ticks: proc_stat(self.server_pid).map_or(0, |s| s.1),
            postgres_ticks: postgres_ticks(self.postmaster),
            client_ticks: proc_stat(std::process::id()).map_or(0, |s| s.1),
            rss_kb,
            hwm_kb,
        })
    }
}

struct PhaseResult {
    mode: Mode,
    name: String,
    seconds: f64,
    sql_per_s: f64,
    poller_sql_per_s: f64,
    /// The other statements: (calls, text), most frequent first.
    other_sql: Vec<(i64, String)>,
    server_cpu: f64,
    postgres_cpu: f64,
    client_cpu: f64,
    rss_end_kb: u64,
    rss_max_kb: u64,
    hwm_kb: u64,
    rec: Recorder,
    missed: u64,
}

/// Measures `seconds` from now: samples RSS every second; `our_xacts` are the bench's own
/// transactions in the database meanwhile (xact_commit counting).
async fn measure(
    probe: &Probe,
    mode: Mode,
    name: String,
    seconds: u64,
    ticks: f64,
    our_xacts: impl Fn() -> i64,
) -> Result<(PhaseResult, Snap)> {
    let start = probe.snap().await?;
    let mut rss_max = start.rss_kb;
    let end_at = start.at + Duration::from_secs(seconds);
    while Instant::now() < end_at {
        let left = end_at.saturating_duration_since(Instant::now());
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        if let Some((rss, _)) = proc_memory(probe.server_pid) {
            rss_max = rss_max.max(rss);
        }
    }
    let end = probe.snap().await?;
    let secs = (end.at - start.at).as_secs_f64();
    let (mut poller, mut total) = (0i64, 0i64);
    let mut other = Vec::new();
    for (id, (calls, query)) in &end.statements {
        let before = start.statements.get(id).map_or(0, |s| s.0);
        let d = calls - before;
        if d <= 0 {
            continue;
        }
        total += d;
        if query.contains("\"_subs\"") {
            poller += d;
        } else {
            other.push((d, query.clone()));
        }
    }
    other.sort_by_key(|o| std::cmp::Reverse(o.0));
    if probe.counting == Counting::XactCommit {
        // The start snapshot's own transaction is counted too.
        total = (end.xact_commit - start.xact_commit - our_xacts() - 1).max(0);
    }
    let cpu = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / ticks / secs * 100.0;
    Ok((
        PhaseResult {
            mode,
            name,
            seconds: secs,
            sql_per_s: total as f64 / secs,
            poller_sql_per_s: poller as f64 / secs,
            other_sql: other,
            server_cpu: cpu(start.server_ticks, end.server_ticks),
            postgres_cpu: cpu(start.postgres_ticks, end.postgres_ticks),
            client_cpu: cpu(start.client_ticks, end.client_ticks),
            rss_end_kb: end.rss_kb,
            rss_max_kb: rss_max.max(end.rss_kb),
            hwm_kb: end.hwm_kb,
            rec: Recorder::default(),
            missed: 0,
        },
        end,
    ))
}

// ---- one mode -------------------------------------------------------------------------------

struct ModeResult {
    mode: Mode,
    sockets_ready: usize,
    sockets_failed: usize,
    connect_secs: f64,
    subscriptions: usize,
    first_results: usize,
    firsts_ms: Vec<f64>,
    active_gauge: Option<f64>,
    rss_before_kb: u64,
    rss_subscribed_kb: u64,
    phases: Vec<PhaseResult>,
    dropped: usize,
    first_failure: Option<String>,
    unsubscribe_secs: Option<f64>,
    rss_after_kb: u64,
    log_problems: (usize, Vec<String>),
    log: PathBuf,
}

async fn connect_bench(url: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("bench connection: {e}");
        }
    });
    Ok(client)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[allow(clippy::too_many_arguments)]
async fn run_mode(
    opts: &Opts,
    mode: Mode,
    server: &Server,
    bench_url: &str,
    counting: Counting,
    postmaster: u32,
    ticks: f64,
) -> Result<ModeResult> {
    let interval = refetch_interval();
    let probe = Probe {
        client: connect_bench(bench_url).await?,
        counting,
        server_pid: server.pid(),
        postmaster,
    };
    let rss_before_kb = proc_memory(server.pid()).map_or(0, |m| m.0);
    let shared = Arc::new(Shared {
        rec: Mutex::default(),
        ready: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
        first_failure: Mutex::new(None),
        firsts: Mutex::new(Vec::with_capacity(opts.subscriptions())),
        first_count: AtomicUsize::new(0),
        started: Mutex::new(None),
        phases: std::sync::atomic::AtomicBool::new(false),
    });

    // 1. The sockets.
    let (go_tx, go_rx) = watch::channel(false);
    let (stop_tx, stop_rx) = watch::channel(false);
    let connect = Arc::new(Semaphore::new(opts.connect_concurrency));
    let url = format!("{}/v1/graphql", server.base.replace("http://", "ws://"));
    let t_connect = Instant::now();
    let mut tasks = Vec::with_capacity(opts.sockets);
    for s in 0..opts.sockets {
        let ids = (0..opts.per_socket)
            .map(|j| (s * opts.per_socket + j + 1) as i32)
            .collect();
        tasks.push(tokio::spawn(socket_task(
            SocketPlan {
                url: url.clone(),
                ids,
            },
            shared.clone(),
            connect.clone(),
            go_rx.clone(),
            stop_rx.clone(),
        )));
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while shared.ready.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed)
        < opts.sockets
    {
        if Instant::now() > deadline {
            return Err("the sockets did not open within 300 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_secs = t_connect.elapsed().as_secs_f64();
    let sockets_ready = shared.ready.load(Ordering::Relaxed);
    let sockets_failed = shared.failed.load(Ordering::Relaxed);
    eprintln!(
        "[{}] {sockets_ready} sockets ready ({sockets_failed} failed) in {connect_secs:.2} s",
        mode.name()
    );

    // 2. The subscriptions.
    let subscriptions = sockets_ready * opts.per_socket;
    *shared.started.lock().unwrap() = Some(Instant::now());
    let _ = go_tx.send(true);
    let t_sub = Instant::now();
    let deadline = t_sub + Duration::from_secs(300);
    let mut stalled_since = (0usize, Instant::now());
    loop {
        let n = shared.first_count.load(Ordering::Relaxed);
        if n >= subscriptions {
            break;
        }
        if n != stalled_since.0 {
            stalled_since = (n, Instant::now());
        }
        if Instant::now() > deadline || stalled_since.1.elapsed() > Duration::from_secs(30) {
            eprintln!(
                "[{}] only {n} of {subscriptions} first results after {:.1} s",
                mode.name(),
                t_sub.elapsed().as_secs_f64()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first_results = shared.first_count.load(Ordering::Relaxed);
    let mut firsts_ms = std::mem::take(&mut *shared.firsts.lock().unwrap());
    firsts_ms.sort_by(f64::total_cmp);
    eprintln!(
        "[{}] {first_results} first results, all in {:.2} s",
        mode.name(),
        firsts_ms.last().copied().unwrap_or(f64::NAN) / 1000.0
    );
    let active_gauge = {
        let base = server.base.clone();
        let srv = ServerRef { base };
        tokio::task::spawn_blocking(move || srv.active_subscriptions()).await?
    };
    // Let the rounds that followed the subscriptions pass.
    tokio::time::sleep(interval * 2 + Duration::from_secs(1)).await;
    let rss_subscribed_kb = proc_memory(server.pid()).map_or(0, |m| m.0);

    // 3a. Idle.
    shared.phases.store(true, Ordering::Relaxed);
    shared.lock().reset();
    let mut phases = Vec::new();
    let (mut idle, _) =
        measure(&probe, mode, "idle".into(), opts.idle_seconds, ticks, || 0).await?;
    let rec = std::mem::take(&mut *shared.lock());
    idle.missed = rec.missed();
    idle.rec = rec;
    phases.push(idle);

    // 3b. Writes.
    shared.lock().reset();
    let writer_client = connect_bench(bench_url).await?;
    let stmt = writer_client
        .prepare("UPDATE item SET v = $1 WHERE id = $2")
        .await?;
    let (wstop_tx, mut wstop_rx) = watch::channel(false);
    let writer = {
        let shared = shared.clone();
        let rate = opts.writes_per_sec;
        let total = subscriptions.max(1) as u64;
        tokio::spawn(async move {
            if rate <= 0.0 {
                return;
            }
            let mut rng = XorShift(now_ms() as u64 | 1);
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = wstop_rx.changed() => return,
                }
                let id = (rng.next() % total + 1) as i32;
                let v = now_ms();
                shared.lock().write(id, v);
                if let Err(e) = writer_client.execute(&stmt, &[&v, &id]).await {
                    let mut rec = shared.lock();
                    rec.write_errors += 1;
                    rec.error(&format!("write: {e}"));
                }
            }
        })
    };
    let (mut busy, _) = measure(
        &probe,
        mode,
        format!("{} writes/s", opts.writes_per_sec),
        opts.seconds,
        ticks,
        || shared.lock().writes as i64,
    )
    .await?;
    let _ = wstop_tx.send(true);
    let _ = writer.await;
    // Late pushes of the last writes.
    tokio::time::sleep(interval * 2 + Duration::from_secs(2)).await;
    let rec = std::mem::take(&mut *shared.lock());
    busy.missed = rec.missed();
    busy.rec = rec;
    phases.push(busy);

    // 4. Close the sockets; the server's subscriptions must go.
    let dropped = shared.dropped.load(Ordering::Relaxed);
    let first_failure = shared.first_failure.lock().unwrap().clone();
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let t_unsub = Instant::now();
    let unsubscribe_secs = {
        let srv = ServerRef {
            base: server.base.clone(),
        };
        tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if srv.active_subscriptions() == Some(0.0) {
                    return Some(t_unsub.elapsed().as_secs_f64());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            None
        })
        .await?
    };
    // The allocator returns freed memory with a delay.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_after_kb = proc_memory(server.pid()).map_or(0, |m| m.0);
    Ok(ModeResult {
        mode,
        sockets_ready,
        sockets_failed,
        connect_secs,
        subscriptions,
        first_results,
        firsts_ms,
        active_gauge,
        rss_before_kb,
        rss_subscribed_kb,
        phases,
        dropped,
        first_failure,
        unsubscribe_secs,
        rss_after_kb,
        log_problems: server.log_problems(),
        log: server.log.clone(),
    })
}

/// The server's HTTP address, for blocking calls off the runtime.
struct ServerRef {
    base: String,
}

impl ServerRef {
    fn active_subscriptions(&self) -> Option<f64> {
        let text = ureq::get(&format!("{}/v1/metrics", self.base))
            .set("x-hasura-admin-secret", ADMIN_SECRET)
            .timeout(Duration::from_secs(10))
            .call()
            .ok()?
            .into_string()
            .ok()?;
        text.lines()
            .find(|l| l.starts_with("hasura_active_subscriptions"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

// ---- setup ----------------------------------------------------------------------------------

/// Preloads `pg_stat_statements` (restarting the cluster); `XactCommit` when that fails.
fn enable_statement_counting(pg: &TempPostgres) -> Counting {
    let tried = pg
        .psql(
            "postgres",
            "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'",
        )
        .and_then(|_| pg.restart())
        .and_then(|_| {
            pg.psql(
                "postgres",
                "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
            )
        });
    match tried {
        Ok(_) => Counting::PgStatStatements,
        Err(e) => {
            eprintln!("pg_stat_statements unavailable ({e}); counting xact_commit instead");
            let _ = pg.psql("postgres", "ALTER SYSTEM RESET shared_preload_libraries");
            let _ = pg.restart();
            Counting::XactCommit
        }
    }
}

fn postmaster_pid(pg: &TempPostgres) -> u32 {
    std::fs::read_to_string(pg.data_dir.join("postmaster.pid"))
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0)
}

fn prepare_database(pg: &TempPostgres, db: &str, rows: usize, counting: Counting) -> Result<()> {
    let _ = pg.psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    pg.create_database(db)?;
    let mut sql = format!(
        "CREATE TABLE item (id int PRIMARY KEY, v bigint NOT NULL);
         INSERT INTO item SELECT g, 0 FROM generate_series(1, {rows}) AS g;
         VACUUM ANALYZE item;"
    );
    if counting == Counting::PgStatStatements {
        sql.push_str("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;");
    }
    pg.psql(db, &sql)?;
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench_subscriptions: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let opts = Opts::parse()?;
    let bin = find_graphedge(&opts)?;
    let need = (opts.sockets + 200) as u64;
    if let Some(limit) = open_files_limit() {
        if limit < need {
            return Err(format!(
                "open files limit {limit} < {need} needed for {} sockets: raise it (ulimit -n)",
                opts.sockets
            )
            .into());
        }
    }
    let ticks = clock_ticks();
    eprintln!(
        "graphedge: {}; {} sockets × {} subscriptions, phases {} s idle / {} s at {} writes/s, interval {} ms, modes {:?}",
        bin.display(),
        opts.sockets,
        opts.per_socket,
        opts.idle_seconds,
        opts.seconds,
        opts.writes_per_sec,
        refetch_interval().as_millis(),
        opts.modes.iter().map(|m| m.name()).collect::<Vec<_>>()
    );
    let pg = TempPostgres::start()?;
    let counting = enable_statement_counting(&pg);
    pg.psql(
        "postgres",
        &format!("CREATE ROLE {BENCH_ROLE} LOGIN SUPERUSER"),
    )?;
    let postmaster = postmaster_pid(&pg);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let logs = log_dir();
    let mut results = Vec::new();
    for &mode in &opts.modes {
        let db = format!("bench_{}", mode.name());
        prepare_database(&pg, &db, opts.rows, counting)?;
        let log = logs.join(format!("server-{}.log", mode.name()));
        let server = Server::start(&bin, &pg.url(&db), mode, &log)?;
        server.post(
            "/v1/metadata",
            &json!({"type": "pg_track_table",
                "args": {"source": "default", "table": {"schema": "public", "name": "item"}}}),
        )?;
        let check = server.post(
            "/v1/graphql",
            &json!({"query": "{ item_by_pk(id: 1) { id v } }"}),
        )?;
        if check["data"]["item_by_pk"]["id"] != json!(1) {
            return Err(format!("item is not served: {check}").into());
        }
        let bench_url = format!("postgres://{BENCH_ROLE}@127.0.0.1:{}/{db}", pg.port);
        let result = rt.block_on(run_mode(
            &opts, mode, &server, &bench_url, counting, postmaster, ticks,
        ));
        server.stop();
        results.push(result?);
    }
    print_report(&opts, counting, &results);
    Ok(())
}

// ---- the report -----------------------------------------------------------------------------

fn mb(kb: u64) -> String {
    format!("{:.0}", kb as f64 / 1024.0)
}

fn ms(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.0}")
    }
}

fn print_report(opts: &Opts, counting: Counting, results: &[ModeResult]) {
    println!();
    println!(
        "## Subscriptions: {} sockets × {} live queries (one cohort each), refetch interval {} ms, {} CPUs",
        opts.sockets,
        opts.per_socket,
        refetch_interval().as_millis(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!();
    println!("| mode | sockets (failed) | connect s | subscriptions | first results: p50 / p99 / all, s | active gauge | RSS MB: started / subscribed / 5 s after close | close → 0 subs, s |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in results {
        println!(
            "| {} | {} ({}) | {:.2} | {} of {} | {:.2} / {:.2} / {:.2} | {} | {} / {} / {} | {} |",
            r.mode.name(),
            r.sockets_ready,
            r.sockets_failed,
            r.connect_secs,
            r.first_results,
            r.subscriptions,
            percentile(&r.firsts_ms, 50.0) / 1000.0,
            percentile(&r.firsts_ms, 99.0) / 1000.0,
            r.firsts_ms.last().copied().unwrap_or(f64::NAN) / 1000.0,
            r.active_gauge.map_or("–".into(), |g| format!("{g}")),
            mb(r.rss_before_kb),
            mb(r.rss_subscribed_kb),
            mb(r.rss_after_kb),
            r.unsubscribe_secs
                .map_or("not in 30 s".into(), |s| format!("{s:.1}")),
        );
    }
    println!();
    let sql_head = match counting {
        Counting::PgStatStatements => "SQL/s (pollers + other)",
        Counting::XactCommit => "server xacts/s",
    };
    println!("| mode | phase | s | {sql_head} | server CPU % | Postgres CPU % | client CPU % | RSS MB end / max / peak | writes | pushes | matched | missed | unexpected (repeated) | errors | latency p50 / p99 / max, ms |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in results {
        for p in &r.phases {
            let mut lat: Vec<f64> = p.rec.latencies.iter().map(|v| *v as f64).collect();
            lat.sort_by(f64::total_cmp);
            let sql = match counting {
                Counting::PgStatStatements => format!(
                    "{:.2} ({:.2} + {:.2})",
                    p.sql_per_s,
                    p.poller_sql_per_s,
                    p.sql_per_s - p.poller_sql_per_s
                ),
                Counting::XactCommit => format!("{:.2}", p.sql_per_s),
            };
            println!(
                "| {} | {} | {:.0} | {} | {:.1} | {:.1} | {:.1} | {} / {} / {} | {} | {} | {} | {} | {} ({}) | {} | {} / {} / {} |",
                p.mode.name(),
                p.name,
                p.seconds,
                sql,
                p.server_cpu,
                p.postgres_cpu,
                p.client_cpu,
                mb(p.rss_end_kb),
                mb(p.rss_max_kb),
                mb(p.hwm_kb),
                p.rec.writes,
                p.rec.pushes,
                p.rec.matched,
                p.missed,
                p.rec.unexpected + p.rec.repeated,
                p.rec.repeated,
                p.rec.errors,
                ms(percentile(&lat, 50.0)),
                ms(percentile(&lat, 99.0)),
                ms(lat.last().copied().unwrap_or(f64::NAN)),
            );
        }
    }
    println!();
    for r in results {
        for p in &r.phases {
            if !p.other_sql.is_empty() {
                let list: Vec<String> = p
                    .other_sql
                    .iter()
                    .take(8)
                    .map(|(n, q)| format!("{n}× `{}`", truncate(&q.replace('\n', " "), 60)))
                    .collect();
                println!(
                    "- {} / {}: other statements: {}",
                    r.mode.name(),
                    p.name,
                    list.join("; ")
                );
            }
            if p.rec.late_firsts > 0 {
                println!(
                    "- {} / {}: {} first results came only now (with a write to their row), counted as pushes",
                    r.mode.name(),
                    p.name,
                    p.rec.late_firsts
                );
            }
            if p.rec.superseded > 0 {
                println!(
                    "- {} / {}: {} writes overtaken by a later write on the same row before their push",
                    r.mode.name(),
                    p.name,
                    p.rec.superseded
                );
            }
            if let Some(e) = &p.rec.first_error {
                println!("- {} / {}: first error: {e}", r.mode.name(), p.name);
            }
        }
        if r.first_results < r.subscriptions {
            println!(
                "- {}: {} of {} subscriptions had no first result within 30 s of the last one",
                r.mode.name(),
                r.subscriptions - r.first_results,
                r.subscriptions
            );
        }
        if r.dropped > 0 || r.sockets_failed > 0 {
            println!(
                "- {}: {} sockets failed to open, {} dropped while subscribed; first: {}",
                r.mode.name(),
                r.sockets_failed,
                r.dropped,
                r.first_failure.as_deref().unwrap_or("?")
            );
        }
        let (n, sample) = &r.log_problems;
        if *n > 0 {
            println!(
                "- {}: {n} warn/error lines in {}; first: {}",
                r.mode.name(),
                r.log.display(),
                sample.join(" | ")
            );
        }
    }
}
