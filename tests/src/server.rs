//! The server under test: a `BIN serve` child process, killed when the guard drops (also on
//! panics and early returns).

use crate::http::Client;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to answer `GET /healthz` with 200. Generous: `wrangler dev`
/// on a loaded 2-core CI machine once took over 60 s; a server that fails exits, and that is
/// noticed at once, so only a hang waits this long.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(180);

/// A running server process.
pub struct Server {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    /// Starts `bin serve` with exactly the given `HASURA_GRAPHQL_*` variables (others inherited
    /// from the runner's environment are removed), output appended to `log`, and waits for
    /// `/healthz`.
    pub fn start(
        bin: &Path,
        env: &[(String, String)],
        port: u16,
        log: &Path,
    ) -> Result<Server, String> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(bin);
        cmd.arg("serve");
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("HASURA_GRAPHQL_") {
                cmd.env_remove(k);
            }
        }
        // Its own process group, so a wrapper (tests/edge-server.sh: gateway + edge host) and
        // everything it started are killed together.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.envs(env.iter().map(|(k, v)| (k, v)))
            .env("HASURA_GRAPHQL_SERVER_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut server = Server {
            child,
            port,
            log: log.to_path_buf(),
        };
        server.wait_healthy(STARTUP_TIMEOUT)?;
        Ok(server)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn wait_healthy(&mut self, timeout: Duration) -> Result<(), String> {
        let probe = Client::with_timeout(self.base_url(), Duration::from_secs(2));
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "server exited during startup ({status}); log tail:\n{}",
                    self.log_tail(20)
                ));
            }
            if let Ok(r) = probe.get("/healthz") {
                if r.status == 200 {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "server not healthy after {timeout:?}; log tail:\n{}",
                    self.log_tail(20)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last `n` lines of the server's log.
    pub fn log_tail(&self, n: usize) -> String {
        log_tail(&self.log, n)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The whole process group (the child's pid is its group id), then the child itself.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `n` lines of a file (reads at most its last 64 KiB).
pub fn log_tail(path: &Path, n: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 << 10)));
    let mut s = String::new();
    let mut raw = Vec::new();
    if f.read_to_end(&mut raw).is_ok() {
        s = String::from_utf8_lossy(&raw).into_owned();
    }
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// An edge host of `hosts` — the Worker under `wrangler dev` or the Spin component under
/// `wasmtime serve` (`tests/edge-server.sh`: the SQL gateway of `GRAPHEDGE_BIN`, default
/// `target/release/graphedge`, in front of a throwaway Postgres database `graphedge`), the one
/// `GRAPHEDGE_EDGE_HOST` names, with `HASURA_GRAPHQL_DATABASE_URL`, `GRAPHEDGE_EDGE_HOST` and
/// `GRAPHEDGE_BIN` set and `env` added. `None` (the test is skipped, with a message) unless
/// `GRAPHEDGE_EDGE_HOST` is one of `hosts`; panics when the host or the binary is not built or
/// the server does not start.
pub fn start_edge(
    hosts: &[&str],
    env: &[(&str, &str)],
    label: &str,
) -> Option<(crate::pgtemp::TempPostgres, Server)> {
    start_edge_with(hosts, env, label, |_, _| (Vec::new(), ())).map(|(pg, edge, ())| (pg, edge))
}

/// [`start_edge`], with `prepare` run once Postgres is up and before the host starts: it gets
/// the Postgres and the `graphedge` binary, and returns more settings for the host (names
/// outside `HASURA_GRAPHQL_*` are listed in `GRAPHEDGE_EDGE_PASS_VARS` for
/// `tests/edge-server.sh`) and what the test keeps alive with the host (another server, say).
pub fn start_edge_with<T>(
    hosts: &[&str],
    env: &[(&str, &str)],
    label: &str,
    prepare: impl FnOnce(&crate::pgtemp::TempPostgres, &Path) -> (Vec<(String, String)>, T),
) -> Option<(crate::pgtemp::TempPostgres, Server, T)> {
    let host = std::env::var("GRAPHEDGE_EDGE_HOST").unwrap_or_default();
    if !hosts.contains(&host.as_str()) {
        eprintln!(
            "SKIPPED: set GRAPHEDGE_EDGE_HOST to one of {hosts:?} (and build that host) to run it"
        );
        return None;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let built = match host.as_str() {
        "worker" => "edge/worker/build/index.js",
        _ => "target/edge-spin/wasm32-wasip2/release/graphedge_spin.wasm",
    };
    assert!(
        repo.join(built).exists(),
        "build the {host} first: scripts/build-edge.sh {host}"
    );
    // Relative to the repository, as `scripts/test` names it.
    let bin =
        repo.join(std::env::var("GRAPHEDGE_BIN").unwrap_or("target/release/graphedge".into()));
    assert!(bin.exists(), "{}: build graphedge first", bin.display());
    let pg = crate::pgtemp::TempPostgres::start().expect("start a throwaway postgres");
    pg.create_database("graphedge").unwrap();
    let mut all: Vec<(String, String)> = vec![
        ("HASURA_GRAPHQL_DATABASE_URL".into(), pg.url("graphedge")),
        ("GRAPHEDGE_EDGE_HOST".into(), host.clone()),
        ("GRAPHEDGE_BIN".into(), bin.display().to_string()),
    ];
    all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let (more, kept) = prepare(&pg, &bin);
    let pass: Vec<&str> = more.iter().map(|(k, _)| k.as_str()).collect();
    all.push(("GRAPHEDGE_EDGE_PASS_VARS".into(), pass.join(" ")));
    all.extend(more.iter().cloned());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let log = std::env::temp_dir().join(format!("graphedge-{label}-{host}-{port}.log"));
    let edge = Server::start(&repo.join("tests/edge-server.sh"), &all, port, &log)
        .unwrap_or_else(|e| panic!("{e}"));
    Some((pg, edge, kept))
}
