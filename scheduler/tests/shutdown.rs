//! Graceful shutdown of the real processes (`HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT`):
//!
//! * `scheduler_database_down` — SIGTERM to `graphedge scheduler` with deliveries in flight and
//!   its database unreachable: it exits within the timeout (plus the release window), and a new
//!   scheduler delivers the events again once the database is back (at least once).
//! * `second_signal_exits_at_once` — a second SIGTERM does not wait for the timeout.
//! * `http_servers_drain_requests` — `graphedge serve` and `graphedge gateway` let a request in
//!   flight finish, and cut one that outlasts the timeout.
//! * `dev_stops_its_postgres` — `graphedge dev` stops its throwaway Postgres after one signal and
//!   after two (the early exit runs the same clean-up).
//!
//! The database is reached through [`PgProxy`], a TCP proxy the test switches off (existing
//! connections closed, new ones refused) and on again. Deliveries are held by the receiver until
//! the test lets them go, so nothing depends on how fast the machine is; the bounds asserted
//! are the timeout plus a generous margin.
mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{database, http_stub, Server, StubResponse};
use graphedge_scheduler::pgtemp::TempPostgres;
use serde_json::json;

/// Margin on top of the graceful-shutdown timeout for the asserted exit bounds (release window,
/// process exit, a busy machine).
const MARGIN: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A TCP proxy in front of Postgres that the test can switch off and on.
struct PgProxy {
    port: u16,
    up: Arc<tokio::sync::watch::Sender<bool>>,
    _rt: tokio::runtime::Runtime,
}

impl PgProxy {
    fn start(target_port: u16) -> PgProxy {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(tokio::sync::watch::channel(true).0);
        let state = up.clone();
        rt.spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                if !*state.borrow() {
                    // Down: the connection is closed at once.
                    continue;
                }
                let mut down = state.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) =
                        tokio::net::TcpStream::connect(("127.0.0.1", target_port)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        PgProxy { port, up, _rt: rt }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/graphedge", self.port)
    }

    /// Closes every connection and refuses new ones until [`PgProxy::resume`].
    fn stop(&self) {
        self.up.send_replace(false);
    }

    fn resume(&self) {
        self.up.send_replace(true);
    }
}

/// A webhook receiver that holds every call until [`Receiver::release`], counting calls per
/// event row id.
struct Receiver {
    base: String,
    calls: Arc<Mutex<HashMap<i64, usize>>>,
    waiting: Arc<Mutex<usize>>,
    released: Arc<tokio::sync::watch::Sender<bool>>,
    _rt: tokio::runtime::Runtime,
}

impl Receiver {
    fn start() -> Receiver {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let calls: Arc<Mutex<HashMap<i64, usize>>> = Arc::default();
        let waiting: Arc<Mutex<usize>> = Arc::default();
        let released = Arc::new(tokio::sync::watch::channel(false).0);
        let (c, w, r) = (calls.clone(), waiting.clone(), released.clone());
        let base = rt.block_on(http_stub(move |req| {
            let (calls, waiting, mut released) = (c.clone(), w.clone(), r.subscribe());
            async move {
                let id = req.json()["event"]["data"]["new"]["id"]
                    .as_i64()
                    .unwrap_or(-1);
                *calls.lock().unwrap().entry(id).or_insert(0) += 1;
                let _waiting = Waiting::new(waiting);
                let _ = released.wait_for(|r| *r).await;
                StubResponse::new(200, "{}")
            }
        }));
        Receiver {
            base,
            calls,
            waiting,
            released,
            _rt: rt,
        }
    }

    fn calls(&self) -> HashMap<i64, usize> {
        self.calls.lock().unwrap().clone()
    }

    /// Calls not answered yet.
    fn waiting(&self) -> usize {
        *self.waiting.lock().unwrap()
    }

    /// Answers the waiting calls, and every later one at once.
    fn release(&self) {
        self.released.send_replace(true);
    }
}

/// Counts a held call while its future lives (the sender may give up on it).
struct Waiting(Arc<Mutex<usize>>);

impl Waiting {
    fn new(n: Arc<Mutex<usize>>) -> Waiting {
        *n.lock().unwrap() += 1;
        Waiting(n)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        *self.0.lock().unwrap() -= 1;
    }
}

/// A `graphedge` process whose log lines (stdout) the test can wait for; killed on drop.
struct Proc {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_graphedge"))
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .env_remove("HASURA_GRAPHQL_ADMIN_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn graphedge");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let (out, l) = (child.stdout.take().unwrap(), lines.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                l.lock().unwrap().push(line);
            }
        });
        Proc { child, lines }
    }

    /// `graphedge scheduler` on `db_url`: fast polling, a 2 s lease, the given shutdown timeout.
    fn scheduler(db_url: &str, timeout_s: &str) -> Proc {
        Proc::spawn(
            &["scheduler", "--database-url", db_url],
            &[
                ("HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL", "50"),
                ("GRAPHEDGE_EVENTS_LOCK_LEASE_SECONDS", "2"),
                ("HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT", timeout_s),
            ],
        )
    }

    fn wait_log(&self, what: &str) {
        wait_until(
            &format!("log line {what:?}"),
            Duration::from_secs(60),
            || self.lines.lock().unwrap().iter().any(|l| l.contains(what)),
        );
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit (at most `bound`); the status and how long it took.
    fn exit_within(&mut self, bound: Duration) -> (ExitStatus, Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < bound,
                "still running {bound:?} after the signal"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn psql_count(pg: &TempPostgres, sql: &str) -> i64 {
    let out = pg.psql("graphedge", sql).unwrap();
    out.lines().nth(2).unwrap().trim().parse().unwrap()
}

/// Postgres, a metadata server (no loops of its own), an event trigger on `t` to a holding
/// receiver, and the proxy in front of the database.
fn setup() -> (TempPostgres, Server, Receiver, PgProxy) {
    let (pg, url) = database();
    let server = Server::start_with(&url, &["--enable-background=false"]);
    server.run_sql("CREATE TABLE t (id int PRIMARY KEY)");
    server.track("t");
    let recv = Receiver::start();
    server.metadata(
        json!({"type": "pg_create_event_trigger", "args": {"name": "t_hook",
        "table": "t", "webhook": format!("{}/hook", recv.base), "insert": {"columns": "*"},
        "retry_conf": {"num_retries": 0, "interval_sec": 1, "timeout_sec": 120}}}),
    );
    let proxy = PgProxy::start(pg.port);
    (pg, server, recv, proxy)
}

/// Inserts rows 1..=n and waits until their deliveries are all held by the receiver.
fn deliveries_in_flight(pg: &TempPostgres, recv: &Receiver, n: usize) {
    pg.psql(
        "graphedge",
        &format!("INSERT INTO t SELECT generate_series(1, {n})"),
    )
    .unwrap();
    wait_until("deliveries in flight", Duration::from_secs(60), || {
        recv.waiting() == n
    });
}

/// A new scheduler on the direct URL delivers every event again; all end up delivered.
fn delivered_again(pg: &TempPostgres, recv: &Receiver, n: usize) {
    let url = pg.url("graphedge");
    let _next = Proc::scheduler(&url, "5");
    wait_until(
        "every event delivered again",
        Duration::from_secs(120),
        || {
            psql_count(
                pg,
                "SELECT count(*) FROM graphedge.event_log WHERE delivered",
            ) == n as i64
        },
    );
    let calls = recv.calls();
    assert_eq!(calls.len(), n, "{calls:?}");
    assert!(calls.values().all(|c| *c >= 2), "{calls:?}");
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn scheduler_database_down() {
    let (pg, _server, recv, proxy) = setup();
    let timeout = Duration::from_secs(3);
    let mut sched = Proc::scheduler(&proxy.url(), "3");
    deliveries_in_flight(&pg, &recv, 3);
    // The database goes away, SIGTERM comes, then the deliveries finish: their outcomes cannot
    // be recorded and the claims cannot be returned — the process still exits in time.
    proxy.stop();
    sched.sigterm();
    sched.wait_log("shutting down");
    recv.release();
    let (status, took) = sched.exit_within(timeout + MARGIN);
    eprintln!("SIGTERM with the database down: exited after {took:.1?} ({status})");
    assert!(status.success(), "{status}");
    let lines = sched.lines.lock().unwrap().join("\n");
    assert!(
        lines.contains("cannot record deliveries before the graceful-shutdown timeout"),
        "{lines}"
    );
    // Back up: the events whose outcome was lost are delivered again after the lease.
    proxy.resume();
    assert_eq!(
        psql_count(
            &pg,
            "SELECT count(*) FROM graphedge.event_log WHERE locked_by IS NOT NULL"
        ),
        3
    );
    delivered_again(&pg, &recv, 3);
}

#[test]
fn second_signal_exits_at_once() {
    let (pg, _server, recv, _proxy) = setup();
    // A timeout far longer than the bound asserted below.
    let mut sched = Proc::scheduler(&pg.url("graphedge"), "600");
    deliveries_in_flight(&pg, &recv, 2);
    sched.sigterm();
    sched.wait_log("shutting down");
    // The first signal waits for the held deliveries...
    assert!(sched.child.try_wait().unwrap().is_none());
    // ...the second does not.
    sched.sigterm();
    let (status, took) = sched.exit_within(MARGIN);
    eprintln!("second SIGTERM: exited after {took:.1?} ({status})");
    assert!(
        !status.success(),
        "an early exit is not a clean one: {status}"
    );
    recv.release();
    delivered_again(&pg, &recv, 2);
}

/// Running statements of the test requests that sleep `secs`.
fn sleeping(pg: &TempPostgres, secs: &str) -> i64 {
    psql_count(
        pg,
        &format!(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg\\_sleep({secs})%' \
             AND state = 'active' AND pid <> pg_backend_pid()"
        ),
    )
}

/// `graphedge serve` and `graphedge gateway` with a request in flight: SIGTERM stops accepting
/// and lets it finish within the timeout, or exits at the timeout without its answer.
#[test]
fn http_servers_drain_requests() {
    let (pg, url) = database();
    // (command, request's sleep in s (unique per case), timeout in s, answered?)
    let cases = [
        ("serve", "2", 60, true),
        ("gateway", "2.5", 60, true),
        ("serve", "120", 2, false),
        ("gateway", "121", 2, false),
    ];
    for (command, sleep, timeout, answered) in cases {
        let port = common::free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut args = vec![
            command,
            "--database-url",
            &url,
            "--server-host",
            "127.0.0.1",
        ];
        let (port_s, timeout_s) = (port.to_string(), timeout.to_string());
        args.extend(["--server-port", &port_s]);
        args.extend(["--graceful-shutdown-timeout", &timeout_s]);
        if command == "serve" {
            args.push("--enable-background=false");
        }
        let mut proc = Proc::spawn(&args, &[("GRAPHEDGE_GATEWAY_SECRET", "s3cret")]);
        wait_until("healthy", Duration::from_secs(60), || {
            ureq::get(&format!("{base}/healthz")).call().is_ok()
        });
        let sql = format!("SELECT pg_sleep({sleep})");
        let (path, body) = match command {
            "serve" => (
                "/v2/query",
                json!({"type": "run_sql", "args": {"source": "default", "sql": sql}}),
            ),
            _ => ("/sql", json!({"query": sql, "params": []})),
        };
        let (conn, url2) = (url.clone(), format!("{base}{path}"));
        let request = std::thread::spawn(move || {
            ureq::post(&url2)
                .set("authorization", "Bearer s3cret")
                .set("neon-connection-string", &conn)
                .send_string(&body.to_string())
                .map(|r| r.status())
                .ok()
        });
        wait_until("the request in flight", Duration::from_secs(60), || {
            sleeping(&pg, sleep) == 1
        });
        proc.sigterm();
        let (status, took) = proc.exit_within(Duration::from_secs(timeout) + MARGIN);
        eprintln!("{command}, {sleep} s request, {timeout} s timeout: exited after {took:.1?}");
        assert!(status.success(), "{command}: {status}");
        let got = request.join().unwrap();
        assert_eq!(got == Some(200), answered, "{command}: {got:?}");
    }
}

/// `graphedge dev` stops its throwaway Postgres however it ends: after the first signal (work
/// drained), and after a second one that cuts a request in flight.
#[test]
fn dev_stops_its_postgres() {
    for signals in [1, 2] {
        let port = common::free_port();
        let base = format!("http://127.0.0.1:{port}");
        let port_s = port.to_string();
        let mut dev = Proc::spawn(
            &[
                "dev",
                "--server-port",
                &port_s,
                "--graceful-shutdown-timeout",
                "600",
            ],
            &[],
        );
        dev.wait_log("Demo database: ");
        let pg_port: u16 = {
            let lines = dev.lines.lock().unwrap();
            let line = lines
                .iter()
                .find(|l| l.contains("Demo database: "))
                .unwrap();
            let rest = line.split("@127.0.0.1:").nth(1).unwrap();
            rest.split('/').next().unwrap().parse().unwrap()
        };
        let body = |sql: &str| {
            json!({"type": "run_sql", "args": {"source": "default", "sql": sql}}).to_string()
        };
        let _request = (signals == 2).then(|| {
            let (url, held) = (format!("{base}/v2/query"), body("SELECT pg_sleep(300)"));
            let request = std::thread::spawn(move || ureq::post(&url).send_string(&held).is_ok());
            let in_flight = body(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg\\_sleep(300)%' \
                 AND state = 'active' AND pid <> pg_backend_pid()",
            );
            wait_until("the request in flight", Duration::from_secs(60), || {
                let (_, r) = common::post(&base, "/v2/query", &[], &in_flight);
                r["result"][1][0] == "1"
            });
            request
        });
        dev.sigterm();
        if signals == 2 {
            dev.wait_log("shutting down");
            dev.sigterm();
        }
        let (status, took) = dev.exit_within(MARGIN);
        eprintln!("dev, {signals} signal(s): exited after {took:.1?} ({status})");
        assert_eq!(status.success(), signals == 1, "{status}");
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", pg_port)).is_err(),
            "the throwaway Postgres still listens"
        );
    }
}
