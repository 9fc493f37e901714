//! graphedge on Cloudflare Workers: the `fetch` event turns a Workers request into a
//! [`graphedge_edge::Request`], hands it to the isolate's [`EdgeApp`], and turns the answer back.
//!
//! Configuration: wrangler `[vars]` and secrets with Hasura's names (`HASURA_GRAPHQL_ADMIN_SECRET`,
//! `HASURA_GRAPHQL_JWT_SECRET`, ...), `HASURA_GRAPHQL_DATABASE_URL` (the Postgres connection
//! string) and `GRAPHEDGE_SQL_ENDPOINT` (the Neon-protocol `/sql` URL: a Neon endpoint or
//! graphedge's gateway; default derived from the connection string). The metadata database
//! and each source's are routed by [`graphedge_edge::transport::sourced`]
//! (`HASURA_GRAPHQL_METADATA_DATABASE_URL`, a source's `from_env` read from the vars and
//! secrets, `GRAPHEDGE_SQL_ENDPOINT_<VAR>` per database).
//!
//! With a Hyperdrive binding named `HYPERDRIVE` (wrangler.toml `[[hyperdrive]]`), each request
//! opens one Postgres connection through Hyperdrive's socket instead (tokio-postgres over the
//! Workers socket API; Hyperdrive pools the connections to the origin) and
//! `HASURA_GRAPHQL_DATABASE_URL` / `GRAPHEDGE_SQL_ENDPOINT` are not used: the binding is ONE
//! database, every source's and the metadata's statements go to it.
//!
//! `@cached` answers are kept in the isolate's memory and in the data centre's cache
//! (`caches.default`, [`WorkersCache`]) that every isolate reads; `GRAPHEDGE_WORKERS_CACHE=false`
//! keeps them in memory only.
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use graphedge_edge::app::{
    invalid_configuration, sourced_neon_from_env, EdgeApp, Handled, SourcedNeon,
};
use graphedge_edge::http::{HttpClient, HttpRequest, HttpResponse};
use graphedge_edge::response_cache::{sha256_hex, BoxFuture, SharedCache};
use graphedge_edge::Clock;
use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement, Target};
use graphedge_pg::tokio_postgres::{self, config::SslMode, NoTls};
use graphedge_pg::ClientDatabase;
use worker::{event, Context, Env, Fetch, Headers, Method, RequestInit};

/// The isolate's app, built on the first request (`Err` when the configuration is invalid).
static APP: OnceLock<Result<EdgeApp, String>> = OnceLock::new();

/// Wall-clock time from JavaScript's `Date.now()`.
struct JsClock;

impl Clock for JsClock {
    fn now_unix(&self) -> i64 {
        (worker::Date::now().as_millis() / 1000) as i64
    }

    fn now_unix_millis(&self) -> i64 {
        worker::Date::now().as_millis() as i64
    }

    /// Workers' `Date.now()` moves only across I/O, which is what a database run is timed over.
    fn monotonic_micros(&self) -> Option<u64> {
        Some(worker::Date::now().as_millis().saturating_mul(1000))
    }

    /// `setTimeout` (`worker::Delay`): the API time limit and the coalescing wait. A Worker is
    /// single-threaded, so the JS-backed future may be marked `Send` (`worker::send`).
    fn sleep(
        &self,
        duration: std::time::Duration,
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> {
        Some(Box::pin(worker::send::SendFuture::new(
            worker::Delay::from(duration),
        )))
    }
}

/// The Workers Cache API (`caches.default`) as the engine's shared tier of `@cached` answers.
/// An entry is stored as a response under `https://graphedge.cache/<namespace>/<id>` with
/// `Cache-Control: max-age=<ttl>`; the engine checks the whole key and the expiry it holds.
struct WorkersCache {
    /// Hex SHA-256 of the database this deployment serves: the cache is shared by every Worker
    /// of the zone, and another deployment's statements must not meet ours.
    namespace: String,
}

thread_local! {
    /// Cache writes of this isolate's requests, handed to `waitUntil` when a request's answer
    /// is ready (any request's: each is driven to its end by whichever finishes first).
    static PENDING_PUTS: RefCell<Vec<Pin<Box<dyn Future<Output = ()>>>>> =
        const { RefCell::new(Vec::new()) };
}

impl WorkersCache {
    fn url(&self, id: &str) -> String {
        format!("https://graphedge.cache/{}/{id}", self.namespace)
    }
}

impl SharedCache for WorkersCache {
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<Vec<u8>>> {
        let url = self.url(id);
        // A Worker is single-threaded: the JS-backed future may be marked `Send`.
        Box::pin(worker::send::SendFuture::new(async move {
            match worker::Cache::default().get(url.as_str(), false).await {
                Ok(Some(mut resp)) => resp.bytes().await.ok(),
                Ok(None) => None,
                Err(e) => {
                    worker::console_warn!("cache lookup failed: {e}");
                    None
                }
            }
        }))
    }

    /// Does not wait: the write runs under `waitUntil` once the answer is on its way.
    fn put<'a>(&'a self, id: &'a str, entry: Vec<u8>, ttl: u64) -> BoxFuture<'a, ()> {
        let url = self.url(id);
        let put = async move {
            let stored = async {
                let headers = Headers::new();
                headers.set("cache-control", &format!("max-age={ttl}"))?;
                headers.set("content-type", "application/octet-stream")?;
                let resp = worker::Response::from_bytes(entry)?.with_headers(headers);
                worker::Cache::default().put(url.as_str(), resp).await
            };
            if let Err(e) = stored.await {
                worker::console_warn!("cache write failed: {e}");
            }
        };
        PENDING_PUTS.with(|p| p.borrow_mut().push(Box::pin(put)));
        Box::pin(std::future::ready(()))
    }
}

/// The namespace of this deployment's cache entries: its database (the Hyperdrive
/// configuration, or the connection string and the endpoint), hashed.
fn cache_namespace(env: &Env) -> String {
    let origin = match env.hyperdrive(HYPERDRIVE_BINDING) {
        Ok(h) => format!("hyperdrive\u{0}{}", h.connection_string()),
        Err(_) => format!(
            "neon\u{0}{}\u{0}{}",
            lookup(env, "HASURA_GRAPHQL_DATABASE_URL").unwrap_or_default(),
            lookup(env, "GRAPHEDGE_SQL_ENDPOINT").unwrap_or_default()
        ),
    };
    sha256_hex(&origin)
}

/// Outbound HTTP through the Workers `fetch` API.
#[derive(Clone, Copy)]
struct WorkerFetch;

impl HttpClient for WorkerFetch {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let fail = |e: worker::Error| format!("{}: {e}", req.url);
        let headers = Headers::new();
        for (k, v) in &req.headers {
            headers.append(k, v).map_err(fail)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(req.method.clone()))
            .with_headers(headers);
        if !req.body.is_empty() {
            init.with_body(Some(js_sys::Uint8Array::from(req.body.as_slice()).into()));
        }
        let out = worker::Request::new_with_init(&req.url, &init).map_err(fail)?;
        let mut resp = Fetch::Request(out).send().await.map_err(fail)?;
        Ok(HttpResponse {
            status: resp.status_code(),
            headers: resp.headers().entries().collect(),
            body: resp.bytes().await.map_err(fail)?,
        })
    }
}

/// The request's way to Postgres: Hyperdrive when the Worker has the binding, else the Neon
/// HTTP protocol.
enum WorkerDb<'a> {
    /// Every database the settings name (default, metadata, each source's).
    Neon(SourcedNeon<'a, WorkerFetch>),
    Hyperdrive(ClientDatabase),
    /// Hyperdrive is bound but the connection failed: every call reports this error.
    Unreachable(DbError),
}

impl Database for WorkerDb<'_> {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        match self {
            WorkerDb::Neon(db) => db.query_one(stmt).await,
            WorkerDb::Hyperdrive(db) => db.query_one(stmt).await,
            WorkerDb::Unreachable(e) => Err(e.clone()),
        }
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        match self {
            WorkerDb::Neon(db) => db.transaction(stmts).await,
            WorkerDb::Hyperdrive(db) => db.transaction(stmts).await,
            WorkerDb::Unreachable(e) => Err(e.clone()),
        }
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        match self {
            WorkerDb::Neon(db) => db.run_sql(sql).await,
            WorkerDb::Hyperdrive(db) => db.run_sql(sql).await,
            WorkerDb::Unreachable(e) => Err(e.clone()),
        }
    }

    // Neon: each target's database; Hyperdrive is one database (the trait's defaults).
    async fn query_one_on(
        &self,
        target: Target<'_>,
        stmt: &Statement,
    ) -> Result<Option<String>, DbError> {
        match self {
            WorkerDb::Neon(db) => db.query_one_on(target, stmt).await,
            _ => self.query_one(stmt).await,
        }
    }

    async fn transaction_on(
        &self,
        target: Target<'_>,
        stmts: &[Statement],
    ) -> Result<Vec<Rows>, DbError> {
        match self {
            WorkerDb::Neon(db) => db.transaction_on(target, stmts).await,
            _ => self.transaction(stmts).await,
        }
    }

    async fn run_sql_on(&self, target: Target<'_>, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        match self {
            WorkerDb::Neon(db) => db.run_sql_on(target, sql).await,
            _ => self.run_sql(sql).await,
        }
    }

    fn has_default_database(&self) -> bool {
        match self {
            WorkerDb::Neon(db) => db.has_default_database(),
            _ => true,
        }
    }

    fn same_database(&self, a: Target<'_>, b: Target<'_>) -> bool {
        match self {
            WorkerDb::Neon(db) => db.same_database(a, b),
            _ => true,
        }
    }
}

/// The binding Hyperdrive is looked up under.
const HYPERDRIVE_BINDING: &str = "HYPERDRIVE";

/// One Postgres connection through the Hyperdrive binding (`None` without the binding). The
/// connection's I/O runs as a task on the isolate's event loop; it ends when the client is
/// dropped at the end of the request.
async fn hyperdrive(env: &Env) -> Option<Result<ClientDatabase, String>> {
    let binding = env.hyperdrive(HYPERDRIVE_BINDING).ok()?;
    Some(connect_hyperdrive(&binding).await)
}

async fn connect_hyperdrive(binding: &worker::Hyperdrive) -> Result<ClientDatabase, String> {
    let mut config = tokio_postgres::Config::from_str(&binding.connection_string())
        .map_err(|e| format!("Hyperdrive connection string: {e}"))?;
    // The hop to Hyperdrive stays inside Cloudflare (Hyperdrive encrypts to the origin); the
    // socket speaks plain Postgres, so no TLS negotiation here.
    config.ssl_mode(SslMode::Disable);
    let socket = binding
        .connect()
        .map_err(|e| format!("cannot connect to Hyperdrive: {e}"))?;
    let (client, connection) = config.connect_raw(socket, NoTls).await.map_err(|e| {
        let why = graphedge_pg::error_chain(&e);
        format!("cannot connect to Hyperdrive: {why}")
    })?;
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = connection.await {
            worker::console_error!("Hyperdrive connection: {e}");
        }
    });
    Ok(ClientDatabase::new(client))
}

/// A configuration value: a plain var or a secret.
fn lookup(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(name).map(|s| s.to_string()))
        .ok()
}

/// A websocket upgrade (subscriptions, GraphQL over a socket) is passed to graphedge's native
/// process at `GRAPHEDGE_WEBSOCKET_URL` (its `http(s)://host:port`): the Worker's `fetch` of
/// the upgrade returns the origin's socket, which the runtime joins to the client's, so an app
/// uses the Worker's URL for every transport. Unset: Hasura's error JSON, 501.
async fn proxy_websocket(req: worker::Request, env: &Env) -> worker::Result<worker::Response> {
    let Some(base) = lookup(env, "GRAPHEDGE_WEBSOCKET_URL").filter(|u| !u.trim().is_empty()) else {
        let body = graphedge_edge::error::EdgeError::new(
            501,
            "not-supported",
            "websockets are served by graphedge's native process: set GRAPHEDGE_WEBSOCKET_URL \
             to its URL",
        )
        .to_graphql_json(false)
        .to_string();
        let headers = Headers::new();
        headers.set("content-type", "application/json; charset=utf-8")?;
        return Ok(worker::Response::ok(body)?
            .with_status(501)
            .with_headers(headers));
    };
    let url = req.url()?;
    // `fetch` takes http(s) URLs; a ws(s) one means the same origin.
    let base = base.trim().trim_end_matches('/');
    let base = match base.split_once("://") {
        Some(("ws", rest)) => format!("http://{rest}"),
        Some(("wss", rest)) => format!("https://{rest}"),
        _ => base.to_string(),
    };
    let mut target = format!("{base}{}", url.path());
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let headers = Headers::new();
    for (k, v) in req.headers().entries() {
        // The runtime makes its own handshake with the origin.
        if !matches!(
            k.to_ascii_lowercase().as_str(),
            "host" | "sec-websocket-key" | "sec-websocket-version" | "sec-websocket-extensions"
        ) {
            headers.append(&k, &v)?;
        }
    }
    if let Some(ip) = req.headers().get("cf-connecting-ip")? {
        headers.set("x-forwarded-for", &ip)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    Fetch::Request(worker::Request::new_with_init(&target, &init)?)
        .send()
        .await
}

#[event(fetch)]
async fn fetch(req: worker::Request, env: Env, ctx: Context) -> worker::Result<worker::Response> {
    let upgrade = req.headers().get("upgrade")?;
    if upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return proxy_websocket(req, &env).await;
    }
    let served = serve(req, &env).await;
    let puts = PENDING_PUTS.with(|p| std::mem::take(&mut *p.borrow_mut()));
    if !puts.is_empty() {
        ctx.wait_until(async move {
            for put in puts {
                put.await;
            }
        });
    }
    let served = served?;
    // Hasura's log lines, to the Worker's logs (`wrangler tail`, Workers Logs).
    for line in &served.log_lines {
        worker::console_log!("{line}");
    }
    // The request's spans, sent after the answer.
    if let Some(export) = served.trace_export {
        ctx.wait_until(async move {
            if let Err(e) = WorkerFetch.send(export).await {
                worker::console_error!("OpenTelemetry export failed: {e}");
            }
        });
    }
    let resp = served.response;
    let headers = Headers::new();
    for (k, v) in &resp.headers {
        headers.append(k, v)?;
    }
    // A body the engine already encoded (the console's gzipped assets, or every answer with
    // GRAPHEDGE_COMPRESS_RESPONSES=true) goes out as is: by default workerd would encode it
    // again for its Content-Encoding, and the browser would get gzip inside gzip.
    let encoded = resp
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-encoding"));
    let encode = if encoded {
        worker::EncodeBody::Manual
    } else {
        worker::EncodeBody::Automatic
    };
    Ok(worker::Response::from_bytes(resp.body)?
        .with_status(resp.status)
        .with_headers(headers)
        .with_encode_body(encode))
}

/// A random 64-bit number (`Math.random`, two draws): request, trace and span ids.
fn random_u64() -> u64 {
    let draw = || (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (draw() << 32) | draw()
}

async fn serve(mut req: worker::Request, env: &Env) -> worker::Result<Handled> {
    // Cloudflare compresses answers for the client itself: the engine's own gzip is off unless
    // the variable asks for it.
    let settings = |k: &str| match lookup(env, k) {
        None if k == "GRAPHEDGE_COMPRESS_RESPONSES" => Some("false".to_string()),
        v => v,
    };
    let app = APP.get_or_init(|| {
        let vars = env.clone();
        let app = EdgeApp::from_env(settings, Arc::new(JsClock))?
            .with_env(Arc::new(move |k: &str| lookup(&vars, k)));
        if settings("GRAPHEDGE_WORKERS_CACHE").is_some_and(|v| v.trim() == "false") {
            return Ok(app);
        }
        let namespace = cache_namespace(env);
        Ok(app.with_shared_cache(Arc::new(WorkersCache { namespace })))
    });
    let app = match app {
        Ok(app) => app,
        Err(e) => return Ok(Handled::answer(invalid_configuration(e))),
    };
    let url = req.url()?;
    let peer = req.headers().get("cf-connecting-ip").ok().flatten();
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let request = graphedge_edge::Request {
        method: req.method().to_string(),
        path,
        headers: req.headers().entries().collect(),
        body: req.bytes().await.unwrap_or_default(),
    };
    let db = match hyperdrive(env).await {
        Some(Ok(db)) => WorkerDb::Hyperdrive(db),
        // Reported by the engine like any unreachable database (Hasura's `postgres-error`).
        Some(Err(e)) => WorkerDb::Unreachable(DbError::connection(e)),
        None => match sourced_neon_from_env(move |k| lookup(env, k), WorkerFetch) {
            Ok(db) => WorkerDb::Neon(db),
            Err(e) => return Ok(Handled::answer(invalid_configuration(&e))),
        },
    };
    let get = |k: &str| lookup(env, k);
    let served = app
        .serve(
            &db,
            &WorkerFetch,
            request,
            peer.as_deref(),
            &mut random_u64,
            &get,
        )
        .await;
    Ok(served)
}
