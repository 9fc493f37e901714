//! Shared harness of the end-to-end tests: a throwaway Postgres ([`TempPostgres`]), the real
//! `graphedge serve` binary on a free loopback port, small HTTP helpers, and [`http_stub`], a
//! real loopback HTTP server (hyper) whose answers a test decides (webhook receivers, JWKS).
//!
//! Each test binary includes this with `mod common;`, so not every helper is used by every
//! binary.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../../../tests/src/npm.rs"]
mod npm;

use bytes::Bytes;
use graphedge_scheduler::pgtemp::TempPostgres;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether process `pid` holds a socket listening on TCP `port` (Linux `/proc`; elsewhere
/// `true`, trusting the port).
fn listens(pid: u32, port: u16) -> bool {
    let mut tables = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|t| std::fs::read_to_string(t).ok())
        .peekable();
    if tables.peek().is_none() {
        return true;
    }
    // Lines: `sl local_address rem_address st ... inode`; `st` 0A is LISTEN.
    let sockets: Vec<String> = tables
        .flat_map(|t| t.lines().skip(1).map(str::to_string).collect::<Vec<_>>())
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()?;
            let inode = f.get(9)?;
            (local_port == port && *f.get(3)? == "0A").then(|| format!("socket:[{inode}]"))
        })
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .is_ok_and(|target| sockets.iter().any(|s| target.to_str() == Some(s)))
    })
}

/// A running `graphedge serve` (killed on drop).
pub struct Server {
    child: Child,
    pub base: String,
}

/// `graphedge serve` against `db_url` on 127.0.0.1:`port`, without the caller's admin secret
/// or JWT settings.
fn serve_command(db_url: &str, port: u16, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_graphedge"));
    cmd.args([
        "serve",
        "--database-url",
        db_url,
        "--server-host",
        "127.0.0.1",
    ])
    .args(["--server-port", &port.to_string()])
    .args(extra)
    .env_remove("HASURA_GRAPHQL_ADMIN_SECRET")
    .env_remove("HASURA_GRAPHQL_JWT_SECRET")
    .env("RUST_LOG", "warn");
    cmd
}

impl Server {
    /// Starts `graphedge serve` against `db_url` (no admin secret, numerics stringified) and
    /// waits until `/healthz` answers 200.
    pub fn start(db_url: &str) -> Server {
        Server::start_with(db_url, &["--stringify-numeric-types"])
    }

    /// Starts `graphedge serve` against `db_url` with extra flags (e.g. `--admin-secret S`).
    pub fn start_with(db_url: &str, extra: &[&str]) -> Server {
        Server::start_serving(db_url, extra, &[], false).0
    }

    /// `graphedge serve` on a free port; when another process took the port between
    /// [`free_port`] and the bind (tests run in parallel), again on another one.
    fn start_serving(
        db_url: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        capture: bool,
    ) -> (
        Server,
        Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
    ) {
        let mut attempt = 0;
        loop {
            let port = free_port();
            let mut cmd = serve_command(db_url, port, extra);
            cmd.envs(env.iter().copied());
            match Server::try_spawn(cmd, port, capture) {
                Ok(started) => return started,
                Err(e) if e.contains("Address already in use") && attempt < 5 => attempt += 1,
                Err(e) => panic!("{e}"),
            }
        }
    }

    /// `graphedge serve` against `db_url` on exactly `port`; an error when it cannot start
    /// there (e.g. the port is taken).
    pub fn try_start_on(db_url: &str, port: u16) -> Result<Server, String> {
        Server::try_spawn(serve_command(db_url, port, &[]), port, false).map(|(s, _)| s)
    }

    /// Starts `graphedge serve` with extra flags and environment variables, collecting its
    /// log lines (stdout) as they come.
    pub fn start_logged(
        db_url: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> (Server, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let (server, lines) = Server::start_serving(db_url, extra, env, true);
        (server, lines.unwrap_or_default())
    }

    /// Runs `cmd` (a `graphedge` command line serving on `port` of 127.0.0.1) and waits until
    /// `/healthz` answers 200.
    pub fn spawn(cmd: Command, port: u16) -> Server {
        Server::try_spawn(cmd, port, false)
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    }

    /// [`Server::spawn`], with the process's stdout lines collected when `capture`; an early
    /// exit is an error with its stderr.
    #[allow(clippy::type_complexity)]
    fn try_spawn(
        mut cmd: Command,
        port: u16,
        capture: bool,
    ) -> Result<
        (
            Server,
            Option<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
        ),
        String,
    > {
        let mut child = cmd
            .stdout(if capture {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn graphedge");
        let lines = child.stdout.take().map(|out| {
            let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = lines.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
            lines
        });
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // Healthy, and ours: a server another test started on the same port (the port
            // probe is racy) answers `/healthz` too, while ours is still starting.
            if let Ok(r) = ureq::get(&format!("{}/healthz", server.base)).call() {
                if r.status() == 200 && listens(server.child.id(), port) {
                    return Ok((server, lines));
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut err = String::new();
                let _ = server.child.stderr.take().unwrap().read_to_string(&mut err);
                return Err(format!("graphedge exited early ({status}): {err}"));
            }
            assert!(
                Instant::now() < deadline,
                "graphedge did not become healthy"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// POSTs `body` to `path`; returns the status and the parsed JSON (or the raw text as a
    /// JSON string when it is not JSON).
    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        post(&self.base, path, headers, body)
    }

    pub fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        self.post(path, &[], &body.to_string())
    }

    /// `/v2/query` `run_sql` as admin; panics unless it succeeds. Returns the result rows
    /// (header row removed) for statements that return tuples, else an empty list.
    pub fn run_sql(&self, sql: &str) -> Vec<Vec<Value>> {
        let (status, body) = self.post_json(
            "/v2/query",
            json!({"type": "run_sql", "args": {"source": "default", "sql": sql}}),
        );
        assert_eq!(status, 200, "run_sql {sql}: {body}");
        match body["result"].as_array() {
            Some(rows) => rows
                .iter()
                .skip(1)
                .map(|r| r.as_array().cloned().unwrap_or_default())
                .collect(),
            None => Vec::new(),
        }
    }

    /// A `/v1/metadata` request as admin; panics unless it answers 200.
    pub fn metadata(&self, body: Value) {
        let (status, resp) = self.post_json("/v1/metadata", body.clone());
        assert_eq!(status, 200, "metadata {body}: {resp}");
    }

    /// Tracks `public.<name>`.
    pub fn track(&self, name: &str) {
        self.metadata(json!({"type": "pg_track_table",
            "args": {"source": "default", "table": {"schema": "public", "name": name}}}));
    }

    /// POSTs a GraphQL request (`{"query": query}`) with `headers`.
    pub fn graphql(&self, headers: &[(&str, &str)], query: &str) -> (u16, Value) {
        self.post(
            "/v1/graphql",
            headers,
            &json!({ "query": query }).to_string(),
        )
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "graphedge ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POSTs `body` to `base` + `path` (usable from other threads without a `Server`).
pub fn post(base: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut req = ureq::post(&format!("{base}{path}")).set("content-type", "application/json");
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let resp = match req.send_string(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {path}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, json)
}

/// Makes the npm project `tests/<name>` of the repository ready (`npm ci` when `package`
/// is not installed yet) and returns its directory; `None`, with a SKIPPED line naming
/// `what`, only when npm or node is not installed.
pub fn npm_project(name: &str, package: &str, what: &str) -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests")
        .join(name);
    npm::project(&dir, package, what)
}

/// The Python of a virtual environment in `tests/<name>/venv` with `tests/<name>/requirements.txt`
/// installed (created on first use, idempotent); `None`, with a SKIPPED line naming `what`,
/// only when python3 (with venv) is not installed.
pub fn python_project(name: &str, what: &str) -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests")
        .join(name);
    let python = dir.join("venv/bin/python");
    let ready = dir.join("venv/.installed");
    if ready.is_file() {
        return Some(python);
    }
    let venv = Command::new("python3")
        .args(["-m", "venv"])
        .arg(dir.join("venv"))
        .status();
    if !venv.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: python3 with venv not installed; {what} needs it");
        return None;
    }
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "-r"])
        .arg(dir.join("requirements.txt"))
        .status()
        .expect("run pip");
    assert!(status.success(), "pip install failed in {}", dir.display());
    std::fs::write(&ready, "").unwrap();
    Some(python)
}

/// Runs `tests/<project>/<script>` with [`python_project`]'s Python, `input` on its stdin;
/// its stdout, or a panic with its stderr when it fails. `None` when skipped (no python3).
pub fn run_python(project: &str, script: &str, input: &[u8], what: &str) -> Option<String> {
    let python = python_project(project, what)?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests")
        .join(project);
    let mut child = Command::new(&python)
        .arg(dir.join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {script} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A throwaway cluster with an empty database `graphedge`, and its URL.
pub fn database() -> (TempPostgres, String) {
    let pg = TempPostgres::start().expect("start a throwaway postgres");
    pg.create_database("graphedge").unwrap();
    let url = pg.url("graphedge");
    (pg, url)
}

/// One request an [`http_stub`] got, its body already read.
#[derive(Debug, Clone)]
pub struct StubRequest {
    pub method: String,
    /// Path and query (`/hook?id=1`).
    pub path: String,
    /// Header names lower-case; of a repeated header the last value.
    pub headers: HashMap<String, String>,
    pub body: Bytes,
}

impl StubRequest {
    /// The path without the query.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// The body as JSON, `null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// What an [`http_stub`] answers.
#[derive(Debug, Clone)]
pub struct StubResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl StubResponse {
    pub fn new(status: u16, body: impl Into<Bytes>) -> StubResponse {
        StubResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> StubResponse {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// Starts an HTTP/1 server on a free loopback port, accepting on the current tokio runtime, and
/// answers every request with `handler(request).await`. Returns its base URL
/// (`http://127.0.0.1:PORT`). Runs until the runtime shuts down.
pub async fn http_stub<F, Fut>(handler: F) -> String
where
    F: Fn(StubRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = StubResponse> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let handler = handler.clone();
                    async move { Ok::<_, std::convert::Infallible>(answer(&*handler, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    base
}

async fn answer<F, Fut>(
    handler: &F,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>>
where
    F: Fn(StubRequest) -> Fut,
    Fut: Future<Output = StubResponse>,
{
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let stub = handler(StubRequest {
        method,
        path,
        headers,
        body,
    })
    .await;
    let mut resp = hyper::Response::builder().status(stub.status);
    for (k, v) in &stub.headers {
        resp = resp.header(k, v);
    }
    resp.body(Full::new(stub.body)).unwrap()
}
