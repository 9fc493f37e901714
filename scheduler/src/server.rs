//! The native HTTP server: hyper 1, HTTP/1.1 with keep-alive. Each request becomes a
//! `graphedge_edge::Request`, goes through `graphedge_edge::handle`, and its `Response` is
//! written back. This module knows sockets and bytes only; every HTTP decision is the edge's.
//!
//! * a body over `GRAPHEDGE_MAX_BODY_BYTES` (the edge's `Config::max_body_bytes`) is refused
//!   with the edge's 413 answer as soon as its `Content-Length` or its bytes exceed the limit,
//!   without buffering it;
//! * a request whose body is over [`OFF_THREAD_BODY`] is handled on tokio's blocking pool (at
//!   most [`OFF_THREAD_AT_ONCE`] at a time), not on its HTTP thread: parsing and binding a
//!   multi-megabyte body takes seconds, and an HTTP thread is a single-threaded runtime whose
//!   other connections would wait that long. Its statements still run on the thread's
//!   connections, and a client that disconnects still cancels them;
//! * a panic in the handler (a bug) becomes a 500 `unexpected` error, logged, not a dropped
//!   connection: the request fails alone and the thread keeps serving ([`isolate`]; builds must
//!   unwind, a `panic = "abort"` profile does not compile);
//! * each HTTP thread has an [`HTTP_THREAD_STACK`] stack, ample for the engine's bounded depths;
//! * Hasura's log lines per request (`http-log`, `query-log`: [`crate::logging::request`]),
//!   with a generated `x-request-id` when the client sent none;
//! * every request's start and end keep its thread's [`crate::busy_poll`] task polling;
//! * a `GET` with `Upgrade: websocket` becomes a websocket ([`crate::websocket`]: GraphQL over
//!   Hasura's two subprotocols), which the thread's drain waits for like a connection;
//! * [`serve`] stops accepting when the stop is requested ([`crate::shutdown`]) and lets
//!   in-flight requests finish until the shutdown deadline.
//!
//! **Threads.** [`serve`] runs [`Threads::count`] HTTP threads, each a single-threaded tokio
//! runtime that accepts from the shared listening socket and keeps every connection it accepted
//! (and every task those spawn) to itself. Each thread has its own database backend (its share
//! of the connection pool and of the pipelined connections, whose tasks run on it) and its own
//! busy poller. So a request's steps — read, compile, query, answer — run on one thread without
//! handing work to another: no work stealing and no cross-thread wake-ups, which on the 2-core
//! bench VM made a quick query ~20 % cheaper in engine CPU than one multi-threaded runtime. What
//! the threads share is the engine (metadata, plan cache, coalescing), behind its own locks.
//! Connections are spread evenly ([`Balance`]): a thread takes a new one only while no other
//! thread serves fewer. The default is one thread per CPU core (see [`crate::config`]). On the
//! 2-core bench VM, where the clients and Postgres share the cores, two balanced threads served
//! the quick randomised queries 15–25 % faster than one (q2r ~31k → ~38k req/s, q5r ~26k →
//! ~32k) and the Postgres-bound ones at the same rate; unbalanced (whichever thread woke
//! first took the connection), two threads were as often slower as faster.
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::backend::Backend;

/// Bodies larger than this are handled off the HTTP thread (see the module doc).
pub const OFF_THREAD_BODY: usize = 256 * 1024;
/// Large-body requests handled at once, process-wide (each may need hundreds of MB parsed);
/// more wait their turn without holding up small requests.
pub const OFF_THREAD_AT_ONCE: usize = 2;
/// How long a client may take to send a request's headers (slow-client protection).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the rest of a refused body is read (and discarded) after the 413 went out, so the
/// client, still sending, reads the answer instead of a reset connection.
pub const REFUSED_BODY_LINGER: Duration = Duration::from_secs(10);
/// Stack of each HTTP thread (requests run on it: the runtime is single-threaded). core bounds
/// its recursion (selection depth, nesting, fragment expansion), and its deepest accepted
/// documents (`core/tests/fuzz-corpus`) compile within 512 KiB even in a debug build; 8 MiB (the
/// usual main-thread size, 4× tokio's worker default) leaves room for the rest of the request.
pub const HTTP_THREAD_STACK: usize = 8 * 1024 * 1024;

// A panicking request must fail alone (see `isolate`), which needs unwinding.
#[cfg(not(panic = "unwind"))]
compile_error!("graphedge needs panic = \"unwind\": a panicking request must fail alone");

/// What every HTTP thread shares: the engine and the optional SQL gateway.
pub struct App {
    pub engine: graphedge_edge::Engine,
    /// `POST /sql` (Neon's protocol) when the gateway is enabled.
    pub gateway: Option<Arc<crate::gateway::Gateway>>,
    /// The live queries and streams of the process's websockets.
    pub subscriptions: Arc<crate::subscriptions::Manager>,
}

/// Opens the database backend of one HTTP thread (`i` of `count`), on that thread.
pub type DbFactory = Arc<dyn Fn(usize, usize) -> Result<Backend, String> + Send + Sync>;

/// How [`serve`] runs its HTTP threads.
pub struct Threads {
    /// HTTP threads (0 counts as 1).
    pub count: usize,
    /// Each thread's database backend.
    pub db: DbFactory,
    /// Busy-poll window of each thread (see [`crate::busy_poll`]); `None`: off.
    pub busy_poll: Option<Duration>,
}

/// Thread `i`'s share of `total` split over `n` threads: the shares differ by at most one and
/// add up to `total`.
pub fn share(total: usize, n: usize, i: usize) -> usize {
    total / n + usize::from(i < total % n)
}

/// What one HTTP thread owns.
pub(crate) struct Local {
    pub(crate) db: Backend,
    pub(crate) busy_poll: Option<crate::busy_poll::BusyPoll>,
}

/// Binds `host:port`. With `search` > 0, tries the next ports when the port is taken
/// (used by `graphedge dev`).
pub async fn bind(host: &str, port: u16, search: u16) -> std::io::Result<TcpListener> {
    let mut last = None;
    for p in port..=port.saturating_add(search) {
        match TcpListener::bind((host, p)).await {
            Ok(l) => return Ok(l),
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse && p < port.saturating_add(search) =>
            {
                last = Some(e)
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no port to bind")))
}

/// Serves `listener` on [`Threads::count`] HTTP threads until the stop is requested (or a thread
/// fails, which requests it), then waits (until the shutdown deadline) for open connections to
/// finish their current request.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    threads: Threads,
    shutdown: &crate::shutdown::Shutdown,
) -> std::io::Result<()> {
    crate::logging::configure(&app.engine.config().ops.log);
    if let Ok(addr) = listener.local_addr() {
        crate::logging::startup_configuration(app.engine.config(), addr);
    }
    let listener = listener.into_std()?;
    let count = threads.count.max(1);
    // Like Hasura, the `jwk_url` sets are fetched before the first request is accepted (each
    // fetch logged as `jwk-refresh-log`).
    app.engine.refresh_jwks(&JwkHttp).await;
    tokio::spawn(refresh_jwks(app.clone(), shutdown.clone()));
    // `Some(deadline)`: stop accepting, drain until then.
    let (stop, stopped) = tokio::sync::watch::channel(None);
    let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
    let balance = Arc::new(Balance::new(count));
    for i in 0..count {
        let listener = listener.try_clone()?;
        let (app, db, stopped, done, balance) = (
            app.clone(),
            threads.db.clone(),
            stopped.clone(),
            done.clone(),
            balance.clone(),
        );
        let window = threads.busy_poll;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name(format!("graphedge-http-{i}"))
            .stack_size(HTTP_THREAD_STACK)
            .spawn(move || {
                let result = runtime.block_on(async move {
                    let local = Arc::new(Local {
                        db: db(i, count).map_err(std::io::Error::other)?,
                        busy_poll: window.map(crate::busy_poll::BusyPoll::start),
                    });
                    let listener = TcpListener::from_std(listener)?;
                    accept(listener, app, local, stopped, (balance, i)).await;
                    Ok(())
                });
                // This thread's connections (and their tasks) end before it reports.
                drop(runtime);
                let _ = done.send(result);
            })?;
    }
    // The threads hold the listening socket from here on.
    drop((done, listener));
    // A thread that ends early (it could not register its listener) stops the others too.
    let panicked = || std::io::Error::other("an HTTP thread panicked");
    let mut result: std::io::Result<()> = Ok(());
    let mut left = count;
    let deadline = tokio::select! {
        deadline = shutdown.requested() => {
            tracing::info!("shutting down: waiting for in-flight requests");
            deadline
        }
        first = finished.recv() => {
            left -= 1;
            result = first.unwrap_or_else(|| Err(panicked()));
            shutdown.request()
        }
    };
    let _ = stop.send(Some(deadline));
    while left > 0 {
        left -= 1;
        match finished.recv().await {
            Some(report) => result = result.and(report),
            // A thread panicked (its sender is gone without a report).
            None => {
                result = result.and(Err(panicked()));
                break;
            }
        }
    }
    result
}

/// The connections each HTTP thread serves. A thread accepts a connection only while no other
/// thread serves fewer, so the connections of a client that opens many at once (a load
/// balancer, a pooled client, a benchmark) spread evenly over the threads instead of piling
/// onto whichever thread woke first; the least loaded thread always accepts.
struct Balance {
    open: Vec<std::sync::atomic::AtomicUsize>,
    /// Signalled whenever a count changes.
    changed: tokio::sync::Notify,
}

impl Balance {
    fn new(threads: usize) -> Balance {
        Balance {
            open: (0..threads).map(|_| Default::default()).collect(),
            changed: tokio::sync::Notify::new(),
        }
    }

    fn may_accept(&self, i: usize) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        let mine = self.open[i].load(SeqCst);
        self.open.iter().all(|c| c.load(SeqCst) >= mine)
    }

    /// Counts a connection of thread `i` until the returned guard is dropped.
    fn open(self: &Arc<Self>, i: usize) -> Opened {
        self.open[i].fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        graphedge_edge::metrics::global()
            .http_connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.changed.notify_waiters();
        Opened(self.clone(), i)
    }

    /// Waits until thread `i` may accept; `false`: `stopped` came first.
    async fn turn(
        &self,
        i: usize,
        stopped: &mut tokio::sync::watch::Receiver<Option<tokio::time::Instant>>,
    ) -> bool {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the check, so a change right after it is not missed.
            changed.as_mut().enable();
            if self.may_accept(i) {
                return true;
            }
            tokio::select! {
                _ = changed => {}
                _ = stopped.wait_for(Option::is_some) => return false,
            }
        }
    }
}

/// One open connection of a thread (see [`Balance::open`]).
struct Opened(Arc<Balance>, usize);

impl Drop for Opened {
    fn drop(&mut self) {
        self.0.open[self.1].fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        graphedge_edge::metrics::global()
            .http_connections
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        self.0.changed.notify_waiters();
    }
}

/// One HTTP thread: accepts connections (its share, see [`Balance`]) until `stopped` holds the
/// shutdown deadline, serves each on this thread, then waits (until the deadline) for them to
/// finish their current request, and for its websockets (see [`crate::websocket`]) to close.
async fn accept(
    listener: TcpListener,
    app: Arc<App>,
    local: Arc<Local>,
    mut stopped: tokio::sync::watch::Receiver<Option<tokio::time::Instant>>,
    (balance, thread): (Arc<Balance>, usize),
) {
    // Every connection's task and every websocket holds a clone of `alive`; the drain waits
    // until all are dropped. (hyper-util's `GracefulShutdown` cannot watch a connection with
    // upgrades, which websockets need.)
    let (alive, mut all_gone) = tokio::sync::mpsc::channel::<()>(1);
    loop {
        if !balance.turn(thread, &mut stopped).await {
            break;
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped.wait_for(Option::is_some) => break,
        };
        let _ = stream.set_nodelay(true);
        let (app, local) = (app.clone(), local.clone());
        // Formatted once per connection, not per request.
        let ip: Arc<str> = peer.ip().to_string().into();
        let life = crate::websocket::Lifeline {
            stopped: stopped.clone(),
            alive: alive.clone(),
        };
        let service = service_fn(move |req| {
            let (app, local) = (app.clone(), local.clone());
            let websocket = crate::websocket::is_upgrade(&req).then(|| life.clone());
            let ip = ip.clone();
            async move {
                if let Some(life) = websocket {
                    return Ok(crate::websocket::upgrade(app, local, req, peer, life));
                }
                Ok::<_, Infallible>(respond(app, local, req, &ip).await)
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let opened = balance.open(thread);
        let (mut stop, alive) = (stopped.clone(), alive.clone());
        tokio::spawn(async move {
            let (_opened, _alive) = (opened, alive);
            tokio::pin!(conn);
            // At the stop, the connection finishes its current request and closes.
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = crate::websocket::stop_requested(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop((listener, alive));
    let deadline = stopped.borrow().unwrap_or_else(tokio::time::Instant::now);
    if tokio::time::timeout_at(deadline, all_gone.recv())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish before the graceful-shutdown timeout");
    }
}

type HttpResponse = hyper::Response<Full<Bytes>>;

/// The outbound HTTP client the edge uses for `jwk_url` JWK sets (built on first use).
fn native_http() -> &'static crate::http_client::NativeHttp {
    static HTTP: std::sync::OnceLock<crate::http_client::NativeHttp> = std::sync::OnceLock::new();
    HTTP.get_or_init(|| {
        crate::http_client::NativeHttp::new(Duration::from_secs(10))
            .expect("the TLS backend of the HTTP client initialises")
    })
}

/// The outbound HTTP the edge gets: only `jwk_url` JWK sets go through it; each fetch is
/// logged as Hasura's `jwk-refresh-log`.
pub(crate) struct JwkHttp;

impl graphedge_edge::http::HttpClient for JwkHttp {
    async fn send(
        &self,
        req: graphedge_edge::http::HttpRequest,
    ) -> Result<graphedge_edge::http::HttpResponse, String> {
        let url = req.url.clone();
        // JWK sets are fetched with GET; action handlers and POST-mode auth hooks are not
        // JWK refreshes.
        let jwk = req.method == "GET";
        let result = graphedge_edge::http::HttpClient::send(native_http(), req).await;
        if jwk {
            crate::logging::jwk_refresh(&url, &result);
        }
        result
    }
}

/// Hasura's background JWK refresh: every second, the `jwk_url` sets that are missing or stale
/// (per their `Cache-Control` / `Expires`) are fetched again, until the shutdown.
async fn refresh_jwks(app: Arc<App>, shutdown: crate::shutdown::Shutdown) {
    if app
        .engine
        .config()
        .jwt_secrets
        .iter()
        .all(|s| s.jwk_url().is_none())
    {
        return;
    }
    let stop = shutdown.requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        app.engine.refresh_jwks(&JwkHttp).await;
    }
}

/// The OS clock, for JWT `exp`/`nbf`/`iat` and JWK-set freshness.
pub struct SystemClock;

impl graphedge_edge::Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }

    fn sleep(
        &self,
        duration: std::time::Duration,
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> {
        Some(Box::pin(tokio::time::sleep(duration)))
    }

    fn monotonic_micros(&self) -> Option<u64> {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        Some(
            ORIGIN
                .get_or_init(std::time::Instant::now)
                .elapsed()
                .as_micros() as u64,
        )
    }
}

/// Runs a request's handler; a panic (a bug) becomes Hasura's 500 `unexpected` error for that
/// request alone (in the GraphQL error shape on `/v1/graphql` and `/v1beta1/relay`, Hasura's
/// `{path, error, code}` elsewhere), logged with the method, path and panic message.
pub async fn isolate(
    handler: impl Future<Output = graphedge_edge::Response>,
    method: &str,
    path: &str,
) -> graphedge_edge::Response {
    match AssertUnwindSafe(handler).catch_unwind().await {
        Ok(r) => r,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(method, path, panic = detail, "handler panicked");
            if path.starts_with("/v1/graphql") || path.starts_with("/v1beta1/relay") {
                json_response(
                    500,
                    serde_json::json!({"errors": [{
                        "message": "internal error",
                        "extensions": {"path": "$", "code": "unexpected"},
                    }]}),
                )
            } else {
                error_json(500, "unexpected", "internal error")
            }
        }
    }
}

/// Hasura's error body.
fn error_json(status: u16, code: &str, message: &str) -> graphedge_edge::Response {
    json_response(
        status,
        serde_json::json!({ "path": "$", "error": message, "code": code }),
    )
}

fn json_response(status: u16, body: serde_json::Value) -> graphedge_edge::Response {
    graphedge_edge::Response {
        status,
        headers: vec![(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        )],
        body: body.to_string().into_bytes(),
    }
}

async fn respond(
    app: Arc<App>,
    local: Arc<Local>,
    req: hyper::Request<Incoming>,
    ip: &str,
) -> HttpResponse {
    let started = Instant::now();
    let _in_flight = local.busy_poll.as_ref().map(|b| b.request());
    let method = req.method().as_str().to_string();
    let log_path = req.uri().path().to_string();
    let http_version = match req.version() {
        hyper::Version::HTTP_10 => "HTTP/1.0",
        hyper::Version::HTTP_2 => "HTTP/2",
        _ => "HTTP/1.1",
    };
    // Traced: the request's span is decided now, so that its outbound calls (the auth
    // webhook) carry it as their parent in `traceparent`.
    let trace = app.engine.tracing().then(|| {
        let sent = req
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok());
        crate::otel::begin(sent)
    });
    let limit = app.engine.config().max_body_bytes;
    let read = to_edge_request(req, limit).await;
    let read_time = started.elapsed();
    let (response, log) = match read {
        Ok(req) if app.gateway.is_some() && req.path.split('?').next() == Some("/sql") => {
            match &app.gateway {
                // Boxed: the gateway's future would double the size of every request's.
                Some(gateway) => (Box::pin(gateway.handle(&req)).await, None),
                None => (error_json(404, "not-found", "no such path"), None),
            }
        }
        Ok(mut req) => {
            graphedge_edge::limits::set_peer_ip(&mut req.headers, ip);
            if graphedge_edge::auth::header(&req.headers, "x-request-id").is_none() {
                req.headers
                    .push(("x-request-id".into(), crate::logging::request_id()));
            }
            if let Some(trace) = &trace {
                req.headers
                    .retain(|(k, _)| !k.eq_ignore_ascii_case("traceparent"));
                req.headers
                    .push(("traceparent".into(), trace.traceparent()));
            }
            if req.body.len() > OFF_THREAD_BODY {
                handle_off_thread(app.clone(), local.clone(), req).await
            } else {
                // Boxed: the handler's future is large, and each wrapper below would copy it
                // (a few KB per request) when it moves in.
                let fut = Box::pin(graphedge_edge::handle_logged(
                    &app.engine,
                    &local.db,
                    &JwkHttp,
                    req,
                ));
                isolate_logged(fut, &method, &log_path).await
            }
        }
        Err(r) => (r, None),
    };
    if matches!(
        log_path.as_str(),
        "/v1/metadata" | "/v1/query" | "/v2/query"
    ) {
        // A metadata request: open sockets check their metadata now.
        crate::websocket::metadata_may_have_changed();
    }
    let gzipped = response.header("content-encoding") == Some("gzip");
    let log = log.unwrap_or_default();
    crate::logging::request(
        &log,
        &graphedge_edge::reqlog::HttpInfo {
            status: response.status,
            method: &method,
            url: &log_path,
            ip,
            http_version,
            gzipped,
            response_size: response.body.len(),
            uncompressed_response_size: log.uncompressed_size.unwrap_or(response.body.len()),
            request_read_time: read_time.as_secs_f64(),
            query_execution_time: (started.elapsed() - read_time).as_secs_f64(),
        },
    );
    if let (true, Some(trace)) = (log.trace, trace) {
        if let Some(otel) = app.engine.loaded().otel.clone() {
            use graphedge_edge::Clock;
            crate::otel::record(
                &otel,
                &graphedge_edge::otel::RequestSpan {
                    method: &method,
                    path: &log_path,
                    status: response.status,
                    trace,
                    end_ns: crate::otel::now_ns(),
                    elapsed_ns: started.elapsed().as_nanos(),
                    monotonic_now_us: SystemClock.monotonic_micros(),
                },
                &log.spans,
            );
        }
    }
    to_hyper_response(response)
}

/// [`isolate`] for [`graphedge_edge::handle_logged`]: the answer, and the request's log when
/// the handler did not panic.
async fn isolate_logged(
    handler: impl Future<Output = (graphedge_edge::Response, graphedge_edge::reqlog::RequestLog)>,
    method: &str,
    path: &str,
) -> (
    graphedge_edge::Response,
    Option<graphedge_edge::reqlog::RequestLog>,
) {
    let mut log = None;
    let response = isolate(
        async {
            let (r, l) = handler.await;
            log = Some(l);
            r
        },
        method,
        path,
    )
    .await;
    (response, log)
}

/// Runs the edge handler for `req` on tokio's blocking pool, driving it with this HTTP
/// thread's runtime handle: the database connections and timers stay this thread's, only the
/// synchronous work (parsing, compiling, binding) moves. Dropped (the client went away), the
/// handler is dropped too, so its statements are cancelled as usual. `None`: it panicked.
async fn handle_off_thread(
    app: Arc<App>,
    local: Arc<Local>,
    req: graphedge_edge::Request,
) -> (
    graphedge_edge::Response,
    Option<graphedge_edge::reqlog::RequestLog>,
) {
    static TURNS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let turns = TURNS.get_or_init(|| tokio::sync::Semaphore::new(OFF_THREAD_AT_ONCE));
    let Ok(_turn) = turns.acquire().await else {
        return (
            error_json(503, "unexpected", "the server is stopping"),
            None,
        );
    };
    // Dropped with this future: the handler on the blocking thread stops at its next await.
    let (_alive, gone) = tokio::sync::oneshot::channel::<()>();
    let runtime = tokio::runtime::Handle::current();
    let (method, path) = (req.method.clone(), req.path.clone());
    let work = tokio::task::spawn_blocking(move || {
        runtime.block_on(async move {
            // Boxed: the handler's future is large (a debug build's overflowed the blocking
            // thread's stack).
            let handler = Box::pin(graphedge_edge::handle_logged(
                &app.engine,
                &local.db,
                &JwkHttp,
                req,
            ));
            tokio::select! {
                r = isolate_logged(handler, &method, &path) => r,
                // The request was abandoned: nobody reads this answer.
                _ = gone => (error_json(499, "unexpected", "request abandoned"), None),
            }
        })
    });
    // `isolate` caught any panic of the handler; the blocking task itself does not panic.
    work.await
        .unwrap_or_else(|_| (error_json(500, "unexpected", "internal error"), None))
}

/// Reads the body (at most `limit` bytes) and copies method, path+query and headers.
async fn to_edge_request(
    req: hyper::Request<Incoming>,
    limit: usize,
) -> Result<graphedge_edge::Request, graphedge_edge::Response> {
    let path = req.uri().path().to_string();
    let too_large = || graphedge_edge::body_too_large(&path, limit);
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (parts, mut incoming) = req.into_parts();
    if declared.is_some_and(|n| n > limit as u64) {
        discard(incoming);
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(frame) = incoming.frame().await {
        let data = match frame.map(|f| f.into_data()) {
            Ok(Ok(data)) => data,
            // Trailers.
            Ok(Err(_)) => continue,
            Err(e) => {
                return Err(error_json(
                    400,
                    "invalid-json",
                    &format!("cannot read the request body: {e}"),
                ))
            }
        };
        if body.len() + data.len() > limit {
            discard(incoming);
            return Err(too_large());
        }
        body.extend_from_slice(&data);
    }
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok(graphedge_edge::Request {
        method: parts.method.as_str().to_string(),
        path,
        headers,
        body,
    })
}

/// Reads and drops the rest of a refused body for at most [`REFUSED_BODY_LINGER`], nothing
/// kept, while the 413 is written.
fn discard(mut incoming: Incoming) {
    tokio::spawn(async move {
        let drain = async { while let Some(Ok(_)) = incoming.frame().await {} };
        let _ = tokio::time::timeout(REFUSED_BODY_LINGER, drain).await;
    });
}

fn to_hyper_response(r: graphedge_edge::Response) -> HttpResponse {
    let mut out = hyper::Response::new(Full::new(Bytes::from(r.body)));
    *out.status_mut() =
        hyper::StatusCode::from_u16(r.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    for (k, v) in r.headers {
        // The edge produces valid headers; anything else is skipped rather than failing the reply.
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            headers.append(k, v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what the log subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn ok() -> graphedge_edge::Response {
        graphedge_edge::Response {
            status: 200,
            headers: vec![],
            body: b"{}".to_vec(),
        }
    }

    /// A panicking handler answers its request with Hasura's 500 `unexpected` error (GraphQL
    /// shape on the GraphQL paths), is logged, and the same thread goes on serving requests.
    #[test]
    fn a_panicking_request_fails_alone() {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .json()
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let cases = [
            (
                "/v1/graphql",
                serde_json::json!({"errors": [{"message": "internal error",
                    "extensions": {"path": "$", "code": "unexpected"}}]}),
            ),
            (
                "/v1/metadata",
                serde_json::json!({"path": "$", "error": "internal error", "code": "unexpected"}),
            ),
        ];
        for (path, expected) in cases {
            let panicking = async {
                if path.starts_with('/') {
                    panic!("boom at {path}");
                }
                ok()
            };
            let r = rt.block_on(isolate(panicking, "POST", path));
            assert_eq!(r.status, 500, "{path}");
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body, expected, "{path}");
            // The thread still serves.
            let r = rt.block_on(isolate(async { ok() }, "POST", path));
            assert_eq!((r.status, r.body), (200, b"{}".to_vec()));
        }
        let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        for path in ["/v1/graphql", "/v1/metadata"] {
            assert!(
                logged.lines().any(|l| l.contains("handler panicked")
                    && l.contains(path)
                    && l.contains(&format!("boom at {path}"))),
                "{logged}"
            );
        }
    }

    #[test]
    fn connections_go_to_the_least_loaded_threads() {
        let b = Arc::new(Balance::new(3));
        let may = |b: &Balance| (0..3).map(|i| b.may_accept(i)).collect::<Vec<_>>();
        assert_eq!(may(&b), [true, true, true]);
        let first = b.open(0);
        assert_eq!(may(&b), [false, true, true]);
        let second = b.open(1);
        assert_eq!(may(&b), [false, false, true]);
        let third = b.open(2);
        assert_eq!(may(&b), [true, true, true]);
        drop(second);
        assert_eq!(may(&b), [false, true, false]);
        drop((first, third));
        assert_eq!(may(&b), [true, true, true]);
        // A thread over its share waits for its turn until another thread takes a connection.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (_stop, mut stopped) = tokio::sync::watch::channel(None);
            let _mine = b.open(0);
            let waiting = b.turn(0, &mut stopped);
            tokio::pin!(waiting);
            let early = tokio::time::timeout(Duration::from_millis(20), waiting.as_mut()).await;
            assert!(
                early.is_err(),
                "thread 0 waits while the others serve fewer"
            );
            let _theirs = (b.open(1), b.open(2));
            assert!(waiting.await);
        });
        // The stop ends the wait.
        rt.block_on(async {
            let (stop, mut stopped) = tokio::sync::watch::channel(None);
            let _mine = b.open(0);
            let _ = stop.send(Some(tokio::time::Instant::now()));
            assert!(!b.turn(0, &mut stopped).await);
        });
    }

    #[test]
    fn shares_add_up() {
        for (total, n) in [(0, 1), (1, 3), (48, 1), (48, 5), (7, 7), (6, 4)] {
            let shares: Vec<usize> = (0..n).map(|i| share(total, n, i)).collect();
            assert_eq!(shares.iter().sum::<usize>(), total, "{shares:?}");
            let (lo, hi) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
            assert!(hi - lo <= 1, "{shares:?}");
        }
    }
}
