//! Per-isolate state for edge hosts (Workers, Spin): the [`Engine`] is built lazily on the first
//! request, from the metadata stored in our catalog table (read through the host's transport),
//! and kept for the isolate's lifetime.
//!
//! Staleness bound: another isolate (or the native server) may change the metadata. Before
//! serving a request, if more than `max_staleness_secs` (`GRAPHEDGE_METADATA_MAX_STALENESS`,
//! default 5 s; 0 = check on every request) passed since the last check, the app reads the stored
//! `resource_version` (one cheap query) and reloads when it differs. So a request never runs
//! against metadata older than the bound plus one check's round trip; metadata API calls made
//! through this isolate apply at once, on the stored metadata (never over newer metadata: see
//! `graphedge_metadata::execute`). The time comes from the host's [`Clock`]. The reload is
//! [`Engine::refresh`], which the native processes' metadata watcher runs too.
//!
//! Hosts whose instances live for one request (Spin, `wasmtime serve`) pay the cold start on
//! every request: one catalog read (no DDL, see [`load_existing`](crate::md::load_existing)).
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use crate::http::{HttpClient, HttpRequest};
use crate::md::Database;
use crate::otel::{self, TraceContext};
use crate::reqlog::HttpInfo;
use crate::response_cache::SharedCache;
use crate::{Clock, Config, EdgeError, Engine, Request, Response};

/// Default staleness bound, seconds.
pub const DEFAULT_MAX_STALENESS_SECS: i64 = 5;

/// One isolate's engine, loaded on first use.
pub struct EdgeApp {
    config: Config,
    clock: Arc<dyn Clock>,
    /// The host's shared cache of `@cached` answers, given to the engine it builds.
    shared_cache: Option<Arc<dyn SharedCache>>,
    /// The host's settings by name for the engine (see [`Engine::with_env`]).
    env: Option<crate::EnvFn>,
    max_staleness_secs: i64,
    engine: Mutex<Option<Arc<Engine>>>,
    checked_at: AtomicI64,
}

impl EdgeApp {
    /// An app reading its settings through `get` (wrangler vars/secrets, `std::env`, ...).
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<EdgeApp, String> {
        let config = Config::from_env(&get)?;
        let max_staleness_secs = match get("GRAPHEDGE_METADATA_MAX_STALENESS") {
            Some(v) if !v.trim().is_empty() => v.trim().parse::<i64>().map_err(|_| {
                format!("GRAPHEDGE_METADATA_MAX_STALENESS: expected seconds, got {v:?}")
            })?,
            _ => DEFAULT_MAX_STALENESS_SECS,
        };
        Ok(EdgeApp::new(config, clock, max_staleness_secs))
    }

    pub fn new(config: Config, clock: Arc<dyn Clock>, max_staleness_secs: i64) -> EdgeApp {
        EdgeApp {
            config,
            clock,
            shared_cache: None,
            env: None,
            max_staleness_secs: max_staleness_secs.max(0),
            engine: Mutex::new(None),
            checked_at: AtomicI64::new(i64::MIN),
        }
    }

    /// Adds the host's shared cache (the Workers Cache API) as the second tier of `@cached`
    /// answers (see [`crate::response_cache`]).
    pub fn with_shared_cache(mut self, shared: Arc<dyn SharedCache>) -> EdgeApp {
        self.shared_cache = Some(shared);
        self
    }

    /// The host's settings lookup the engine gets (actions' `{{ENV}}` and `value_from_env`).
    pub fn with_env(mut self, env: crate::EnvFn) -> EdgeApp {
        self.env = Some(env);
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Serves one request: loads or refreshes the engine as needed, then runs the handler.
    pub async fn handle(
        &self,
        db: &impl Database,
        http: &impl HttpClient,
        req: Request,
    ) -> Response {
        // Liveness does not need the database.
        if req.path == "/healthz" {
            return Response::new(200, "text/plain; charset=utf-8", "OK");
        }
        match self.engine(db).await {
            Ok(engine) => crate::handle_with(&engine, db, http, req).await,
            Err(message) => error_response("postgres-error", message),
        }
    }

    /// [`EdgeApp::handle`], with what the host does after answering: Hasura's log lines of
    /// the request (`http-log`, `query-log`, as `HASURA_GRAPHQL_ENABLED_LOG_TYPES` says; the
    /// host writes each as a line) and, while the metadata exports traces, the request that
    /// sends its spans (the host sends it after answering; a W3C `traceparent` on the request
    /// joins the caller's trace, and the auth webhook is sent the request's span). `peer` is
    /// the client's address when the host knows it, `random` draws ids (request, trace, span),
    /// `env` resolves the exporter headers' `value_from_env`.
    pub async fn serve(
        &self,
        db: &impl Database,
        http: &impl HttpClient,
        mut req: Request,
        peer: Option<&str>,
        random: &mut dyn FnMut() -> u64,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Handled {
        if req.path == "/healthz" {
            return Handled::answer(self.handle(db, http, req).await);
        }
        let engine = match self.engine(db).await {
            Ok(engine) => engine,
            Err(message) => return Handled::answer(error_response("postgres-error", message)),
        };
        let started = self.clock.monotonic_micros();
        if let Some(ip) = peer {
            crate::limits::set_peer_ip(&mut req.headers, ip);
        }
        if crate::auth::header(&req.headers, "x-request-id").is_none() {
            req.headers
                .push(("x-request-id".into(), request_id(random)));
        }
        let otel = engine.loaded().otel.clone().filter(|_| engine.tracing());
        let trace = otel.as_ref().map(|_| {
            let sent = crate::auth::header(&req.headers, "traceparent");
            let trace = TraceContext::begin(sent, random);
            req.headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("traceparent"));
            req.headers
                .push(("traceparent".into(), trace.traceparent()));
            trace
        });
        let method = req.method.clone();
        let path = req.path.split(['?', '#']).next().unwrap_or("").to_string();
        let ip = crate::limits::client_ip(&req.headers).unwrap_or_default();
        let (response, log) = crate::handle_logged(&engine, db, http, req).await;
        let now_us = self.clock.monotonic_micros();
        let elapsed_us = now_us.zip(started).map_or(0, |(n, s)| n.saturating_sub(s));
        let info = HttpInfo {
            status: response.status,
            method: &method,
            url: &path,
            ip: &ip,
            http_version: "HTTP/1.1",
            gzipped: response
                .header("content-encoding")
                .is_some_and(|e| e.eq_ignore_ascii_case("gzip")),
            response_size: response.body.len(),
            uncompressed_response_size: log.uncompressed_size.unwrap_or(response.body.len()),
            request_read_time: 0.0,
            query_execution_time: elapsed_us as f64 / 1e6,
        };
        let now_ms = self.clock.now_unix_millis();
        let log_lines = log.lines(&engine.config.ops.log, &info, now_ms);
        let trace_export = otel.zip(trace).and_then(|(config, trace)| {
            let span = otel::RequestSpan {
                method: &method,
                path: &path,
                status: response.status,
                trace,
                end_ns: u128::try_from(now_ms).unwrap_or(0) * 1_000_000,
                elapsed_ns: u128::from(elapsed_us) * 1000,
                monotonic_now_us: now_us,
            };
            let spans = otel::request_spans(&span, &log.spans, random);
            otel::export_request(&config, &spans, env)
        });
        Handled {
            response,
            log_lines,
            trace_export,
        }
    }

    fn current(&self) -> Option<Arc<Engine>> {
        self.engine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The engine, loaded on first use and refreshed when the stored version moved.
    async fn engine(&self, db: &impl Database) -> Result<Arc<Engine>, String> {
        let now = self.clock.now_unix();
        if let Some(engine) = self.current() {
            let last = self.checked_at.load(Ordering::Relaxed);
            if now.saturating_sub(last) < self.max_staleness_secs {
                return Ok(engine);
            }
            self.checked_at.store(now, Ordering::Relaxed);
            engine.refresh(db).await?;
            return Ok(engine);
        }
        let state = crate::md::load_existing(db, &self.config.metadata_config())
            .await
            .map_err(|e| format!("loading metadata: {} ({})", e.error, e.code))?;
        let mut engine =
            Engine::from_state(self.config.clone(), state).with_clock(self.clock.clone());
        if let Some(shared) = &self.shared_cache {
            engine = engine.with_shared_cache(shared.clone());
        }
        if let Some(env) = &self.env {
            engine = engine.with_env(env.clone());
        }
        let engine = Arc::new(engine);
        self.checked_at.store(now, Ordering::Relaxed);
        let mut slot = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        // Two concurrent cold requests: keep the first engine stored.
        Ok(slot.get_or_insert(engine).clone())
    }
}

/// What [`EdgeApp::serve`] hands the host.
pub struct Handled {
    pub response: Response,
    /// Hasura's log lines of the request, one JSON object each, without newlines.
    pub log_lines: Vec<String>,
    /// The OTLP/HTTP request exporting the request's spans, while traces are exported.
    pub trace_export: Option<HttpRequest>,
}

impl Handled {
    /// An answer with nothing to log or export.
    pub fn answer(response: Response) -> Handled {
        Handled {
            response,
            log_lines: Vec::new(),
            trace_export: None,
        }
    }
}

/// A request id in the UUID v4 form, as the native host generates them.
fn request_id(random: &mut dyn FnMut() -> u64) -> String {
    let (a, b) = (random(), random());
    let hex = format!("{a:016x}{b:016x}");
    let variant = ["8", "9", "a", "b"][(b >> 62) as usize];
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// Hasura's error JSON with HTTP 500 at `$`: what a host answers before the handler can run.
fn error_response(code: &str, message: String) -> Response {
    Response::json(
        500,
        &EdgeError::new(500, code, message).to_graphql_json(false),
    )
}

/// The answer of a host whose settings are invalid (`EdgeApp::from_env`, the transport's).
pub fn invalid_configuration(why: &str) -> Response {
    error_response("unexpected", format!("invalid configuration: {why}"))
}

/// The Neon-protocol transport an edge host configures from its settings:
/// `HASURA_GRAPHQL_DATABASE_URL` (sent as `Neon-Connection-String`), `GRAPHEDGE_SQL_ENDPOINT`
/// (the `/sql` URL; empty = Neon's endpoint for that host) and `GRAPHEDGE_SQL_AUTH_TOKEN`
/// (sent as a bearer token to graphedge's gateway). One database; the edge hosts use
/// [`sourced_neon_from_env`].
pub fn neon_from_env<H: HttpClient>(
    get: impl Fn(&str) -> Option<String>,
    http: H,
) -> Result<crate::transport::neon::NeonDatabase<H>, String> {
    use crate::transport::sourced::{neon_config, Place, DATABASE_URL};
    let url = get(DATABASE_URL)
        .filter(|v| !v.trim().is_empty())
        .ok_or("HASURA_GRAPHQL_DATABASE_URL is not set")?;
    let config = neon_config(&Place::new(url, Some(DATABASE_URL), &get))?;
    Ok(crate::transport::neon::NeonDatabase::new(http, config))
}

/// An edge host's databases over the Neon protocol: the default database, the metadata
/// database and each source's, every one with its own endpoint settings (see
/// [`crate::transport::sourced`]). `get` reads the host's settings (also a source's
/// `from_env`).
pub fn sourced_neon_from_env<'a, H: HttpClient + Clone + 'a>(
    get: impl Fn(&str) -> Option<String> + 'a,
    http: H,
) -> Result<SourcedNeon<'a, H>, String> {
    use crate::transport::neon::NeonDatabase;
    use crate::transport::sourced::{neon_config, Place, Sourced};
    let open = move |p: &Place| Ok(NeonDatabase::new(http.clone(), neon_config(p)?));
    Sourced::from_settings(Box::new(get), Box::new(open))
}

/// What [`sourced_neon_from_env`] builds.
pub type SourcedNeon<'a, H> =
    crate::transport::sourced::Sourced<'a, crate::transport::neon::NeonDatabase<H>>;
