//! graphedge as a Spin / wasi:http component: turns the incoming request into a
//! [`graphedge_edge::Request`], hands it to the instance's [`EdgeApp`], and turns the answer back.
//!
//! Configuration comes from the component's environment (`spin.toml` `[component.*.environment]`
//! or `wasmtime serve --env`): Hasura's variable names, `HASURA_GRAPHQL_DATABASE_URL` and
//! `GRAPHEDGE_SQL_ENDPOINT` (the Neon-protocol `/sql` URL). Spin and `wasmtime serve` create an
//! instance per request, so every request is a cold start: one catalog read, then the query.
//!
//! Several databases (the metadata database, each source's) are routed by
//! [`graphedge_edge::transport::sourced`] (`GRAPHEDGE_SQL_ENDPOINT_<VAR>` per database).
//!
//! Built with the `spin-pg` feature and run with `GRAPHEDGE_SPIN_PG=true`, the component
//! reaches Postgres through Spin's outbound Postgres instead ([`pg::SpinPg`], opening
//! `HASURA_GRAPHQL_DATABASE_URL` and each other database's connection string); the endpoint
//! settings are then unused.
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use graphedge_edge::app::{invalid_configuration, sourced_neon_from_env, EdgeApp, SourcedNeon};
use graphedge_edge::http::{HttpClient, HttpRequest, HttpResponse};
#[cfg(feature = "spin-pg")]
use graphedge_edge::transport::sourced::Sourced;
use graphedge_edge::Clock;
use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement, Target};
use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;

#[cfg(feature = "spin-pg")]
pub mod pg;

static APP: OnceLock<Result<EdgeApp, String>> = OnceLock::new();

struct WasiClock;

impl Clock for WasiClock {
    fn now_unix(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    fn now_unix_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    /// `wasi:clocks/monotonic-clock`: the API time limit and the coalescing wait.
    fn monotonic_micros(&self) -> Option<u64> {
        Some(wasi::clocks::monotonic_clock::now() / 1000)
    }

    fn sleep(
        &self,
        duration: std::time::Duration,
    ) -> Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        Some(Box::pin(Sleep {
            deadline: wasi::clocks::monotonic_clock::now().saturating_add(nanos),
            registered: None,
        }))
    }
}

/// A timer on the monotonic clock: until the deadline passed, each poll registers a pollable
/// for it with spin-sdk's executor (dropping the previous registration), which wakes the task
/// when the deadline comes.
struct Sleep {
    deadline: u64,
    registered: Option<spin_executor::CancelOnDropToken>,
}

// A component instance is single-threaded: the pollable handle never changes thread.
unsafe impl Send for Sleep {}

impl std::future::Future for Sleep {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if wasi::clocks::monotonic_clock::now() >= self.deadline {
            self.registered = None;
            return std::task::Poll::Ready(());
        }
        let pollable = wasi::clocks::monotonic_clock::subscribe_instant(self.deadline);
        let token = spin_executor::push_waker_and_get_token(pollable, cx.waker().clone());
        self.registered = Some(token.into());
        std::task::Poll::Pending
    }
}

fn method(m: &str) -> Method {
    match m.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    }
}

fn method_name(m: &Method) -> String {
    match m {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Patch => "PATCH".into(),
        Method::Options => "OPTIONS".into(),
        Method::Connect => "CONNECT".into(),
        Method::Trace => "TRACE".into(),
        Method::Other(o) => o.clone(),
    }
}

/// Outbound HTTP through wasi:http.
#[derive(Clone, Copy)]
struct WasiHttp;

impl HttpClient for WasiHttp {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let mut builder = Request::builder();
        builder.method(method(&req.method)).uri(req.url.as_str());
        for (k, v) in &req.headers {
            builder.header(k.as_str(), v.as_str());
        }
        let out = builder.body(req.body).build();
        let resp: Response = spin_sdk::http::send(out)
            .await
            .map_err(|e| format!("{}: {e}", req.url))?;
        Ok(HttpResponse {
            status: *resp.status(),
            headers: resp
                .headers()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: resp.into_body(),
        })
    }
}

/// The request's way to Postgres: the Neon HTTP protocol, or Spin's outbound Postgres; either
/// way every database the settings name (default, metadata, each source's), routed by target.
enum SpinDb<'a> {
    Neon(SourcedNeon<'a, WasiHttp>),
    #[cfg(feature = "spin-pg")]
    Pg(Sourced<'a, pg::Opened>),
}

/// Runs `$call` on the variant's database.
macro_rules! each {
    ($self:expr, $db:ident => $call:expr) => {
        match $self {
            SpinDb::Neon($db) => $call,
            #[cfg(feature = "spin-pg")]
            SpinDb::Pg($db) => $call,
        }
    };
}

impl Database for SpinDb<'_> {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        each!(self, db => db.query_one(stmt).await)
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        each!(self, db => db.transaction(stmts).await)
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        each!(self, db => db.run_sql(sql).await)
    }

    async fn query_one_on(
        &self,
        target: Target<'_>,
        stmt: &Statement,
    ) -> Result<Option<String>, DbError> {
        each!(self, db => db.query_one_on(target, stmt).await)
    }

    async fn transaction_on(
        &self,
        target: Target<'_>,
        stmts: &[Statement],
    ) -> Result<Vec<Rows>, DbError> {
        each!(self, db => db.transaction_on(target, stmts).await)
    }

    async fn run_sql_on(&self, target: Target<'_>, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        each!(self, db => db.run_sql_on(target, sql).await)
    }

    fn has_default_database(&self) -> bool {
        each!(self, db => db.has_default_database())
    }

    fn same_database(&self, a: Target<'_>, b: Target<'_>) -> bool {
        each!(self, db => db.same_database(a, b))
    }
}

/// The databases for this request: Spin's Postgres when built with `spin-pg` and
/// `GRAPHEDGE_SPIN_PG=true` (each connection string opened with Spin; the endpoint settings
/// are unused), else the Neon HTTP protocol.
fn database() -> Result<SpinDb<'static>, String> {
    #[cfg(feature = "spin-pg")]
    if env("GRAPHEDGE_SPIN_PG").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        let open = |p: &graphedge_edge::transport::sourced::Place| Ok(pg::Opened::open(&p.url));
        return Sourced::from_settings(Box::new(env), Box::new(open)).map(SpinDb::Pg);
    }
    sourced_neon_from_env(env, WasiHttp).map(SpinDb::Neon)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[http_component]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let app = match APP.get_or_init(|| {
        EdgeApp::from_env(env, Arc::new(WasiClock)).map(|a| a.with_env(Arc::new(env)))
    }) {
        Ok(app) => app,
        Err(e) => return Ok(into_spin(invalid_configuration(e))),
    };
    let db = match database() {
        Ok(db) => db,
        Err(e) => return Ok(into_spin(invalid_configuration(&e))),
    };
    let path = match req.query() {
        "" => req.path().to_string(),
        q => format!("{}?{q}", req.path()),
    };
    let request = graphedge_edge::Request {
        method: method_name(req.method()),
        path,
        headers: req
            .headers()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: req.into_body(),
    };
    let mut random = wasi::random::random::get_random_u64;
    let handled = app
        .serve(&db, &WasiHttp, request, None, &mut random, &env)
        .await;
    // Hasura's log lines, to the component's stdout (Spin's and wasmtime's logs).
    for line in &handled.log_lines {
        println!("{line}");
    }
    // The request's spans: an instance ends with its request, so they go before the answer.
    if let Some(export) = handled.trace_export {
        if let Err(e) = WasiHttp.send(export).await {
            eprintln!("OpenTelemetry export failed: {e}");
        }
    }
    Ok(into_spin(handled.response))
}

fn into_spin(resp: graphedge_edge::Response) -> Response {
    let mut builder = Response::builder();
    builder.status(resp.status);
    for (k, v) in &resp.headers {
        builder.header(k.as_str(), v.as_str());
    }
    builder.body(resp.body).build()
}
