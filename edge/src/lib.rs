//! graphedge edge: the only crate that knows HTTP.
//!
//! One host-independent handler, [`handle`], turns a [`Request`] into a [`Response`] using an
//! [`Engine`] (configuration, the current metadata state, the plan cache) and the host's
//! [`Database`](md::Database). The crate does no I/O of its own (no sockets, no tokio, no OS
//! clock: the host provides a [`Clock`]), so the same code runs natively and in edge isolates.
//!
//! Code map:
//! - [`app`] — per-isolate state for edge hosts: lazy engine, bounded metadata staleness;
//! - [`handle`](mod@handle) — routing, statuses;
//! - [`dataops`](mod@dataops) — `/v1/query` data operations (`select`, `count`, `insert`, …);
//! - [`ops`] — enabled APIs, `/healthz`, `/v1/version`, `/v1alpha1/config`, `/dev/*`, explain;
//! - [`cors`] — Hasura's CORS policy; [`compress`] — gzip answers;
//! - [`reqlog`] — the `http-log` / `query-log` details of a request (the host writes them);
//! - [`graphql`] — GraphQL over HTTP (single and batched), plan cache use, execution;
//! - [`auth`] — admin secret, JWT ([`auth::jwt`]), unauthorized role → `Session`;
//! - [`error`] — Hasura's error JSON and the database-error mapping;
//! - [`config`] — Hasura's environment variables;
//! - [`cache`] — the bounded plan cache;
//! - [`allowlist`] — query collections allowed for non-admin roles;
//! - [`console`] — the GraphiQL page;
//! - [`md`] — the metadata crate's API as the edge uses it;
//! - [`limits`] — API limits (metadata `api_limits`) and the engine's own bounds;
//! - [`http`] — the host's outbound HTTP ([`http::HttpClient`]), for transports and JWKS.
//! - [`transport`] — Postgres over HTTP: [`transport::NeonDatabase`] (Neon's SQL-over-HTTP protocol).
// `EdgeError` is large (it carries the Postgres internals); errors are the cold path.
#![allow(clippy::result_large_err)]

pub mod actions;
pub mod allowlist;
pub mod app;
pub mod auth;
pub mod cache;
pub mod coalesce;
pub mod compress;
pub mod config;
pub mod console;
pub mod cors;
mod dataops;
pub mod error;
pub mod graphql;
mod handle;
pub mod http;
pub mod limits;
pub mod md;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod otel;
mod remote_join;
mod remote_schemas;
pub mod reqlog;
pub mod response_cache;
mod rest;
pub mod subscriptions;
pub mod transport;
pub mod ws;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use graphedge_core::Session;

pub use config::Config;
pub use error::EdgeError;
pub use handle::{body_too_large, handle, handle_logged, handle_with};
use md::{Database, MetadataState};

/// One HTTP request as the host received it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    /// The path, possibly with `?query`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The answer to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The host's clock (unix time in seconds), for JWT `exp`/`nbf`/`iat` checks.
pub trait Clock: Send + Sync {
    fn now_unix(&self) -> i64;

    /// Unix time in milliseconds (log timestamps, span times); seconds × 1000 by default.
    fn now_unix_millis(&self) -> i64 {
        self.now_unix().saturating_mul(1000)
    }

    /// Microseconds on a clock that never goes back (any origin), when the host has one: it
    /// times database runs (slow statements are not coalesced, see [`coalesce`]).
    fn monotonic_micros(&self) -> Option<u64> {
        None
    }

    /// A timer firing after `duration`, when the host has one: it bounds how long a coalesced
    /// request waits for the run ahead of it (see [`coalesce`]).
    fn sleep(&self, _duration: core::time::Duration) -> Option<Timer> {
        None
    }
}

/// A timer of the host's ([`Clock::sleep`]).
pub type Timer = core::pin::Pin<Box<dyn core::future::Future<Output = ()> + Send>>;

/// `work`'s output, unless `timer` fires first (`None` then). Without a timer (a host with
/// no clock) `work` runs unbounded. One race for every bound the engine keeps on the host's
/// clock: a request's time limit, a handler's or remote's timeout, a coalesced request's wait.
///
/// A named future rather than an `async fn`: that would keep `work` twice (as its argument
/// and pinned), and every request's future holds this one.
pub(crate) fn within<F: core::future::Future>(work: F, timer: Option<Timer>) -> Within<F> {
    Within { work, timer }
}

pin_project_lite::pin_project! {
    /// The future of [`within`].
    pub(crate) struct Within<F> {
        #[pin]
        work: F,
        timer: Option<Timer>,
    }
}

impl<F: core::future::Future> core::future::Future for Within<F> {
    type Output = Option<F::Output>;

    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Self::Output> {
        let this = self.project();
        if let core::task::Poll::Ready(r) = this.work.poll(cx) {
            return core::task::Poll::Ready(Some(r));
        }
        match this.timer {
            Some(timer) => timer.as_mut().poll(cx).map(|()| None),
            None => core::task::Poll::Pending,
        }
    }
}

/// A clock that always answers the same time (tests; hosts that pass the request time).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0
    }
}

/// The metadata state plus what the edge derives from it once per change.
pub struct Loaded {
    pub md: Arc<MetadataState>,
    pub allowlist: allowlist::Allowlist,
    /// The consistent REST endpoints (`/api/rest/...`).
    pub rest: Vec<graphedge_metadata::rest::Route>,
    /// The served source's connection, where GraphQL statements go (`None`: no source, the
    /// host's own database).
    pub source: Option<md::SourceConnection>,
    /// The metadata's `opentelemetry` section when it exports traces.
    pub otel: Option<Arc<graphedge_metadata::api::opentelemetry::OtelConfig>>,
    /// Every source's connection in the schema's source order (`Schema::sources`; the served
    /// one first): where the parts of a plan spanning several sources go.
    pub sources: Vec<Option<md::SourceConnection>>,
}

impl Loaded {
    /// Where the statements of the schema's source `i` go: its connection, the served
    /// source's for `i` = 0 (`None`: the host's database).
    pub fn source_target(&self, i: usize) -> Option<&md::SourceConnection> {
        self.connection(i).or(self.source.as_ref())
    }

    /// The connection of the schema's source `i` when it is not the served one (`None`: the
    /// served source's database).
    pub fn connection(&self, i: usize) -> Option<&md::SourceConnection> {
        if i == 0 {
            return None;
        }
        self.sources.get(i).and_then(Option::as_ref)
    }
}

impl Loaded {
    fn new(md: MetadataState) -> Loaded {
        let allowlist = match serde_json::to_value(&md.metadata) {
            Ok(v) => allowlist::Allowlist::from_metadata(&v),
            Err(_) => allowlist::Allowlist::default(),
        };
        let sources = graphedge_metadata::resolve::sources::ordered(&md.metadata)
            .into_iter()
            .map(|s| md::SourceConnection::parse(&s.configuration).ok())
            .collect();
        let otel = graphedge_metadata::api::opentelemetry::OtelConfig::of(&md.metadata)
            .filter(|o| o.traces_endpoint().is_some())
            .map(Arc::new);
        Loaded {
            otel,
            sources,
            rest: graphedge_metadata::rest::routes(&md.metadata),
            source: md::served_connection(&md.metadata),
            md: Arc::new(md),
            allowlist,
        }
    }
}

/// Everything shared by all requests of one server (or isolate). `Send + Sync`.
pub struct Engine {
    pub(crate) config: Config,
    state: RwLock<Arc<Loaded>>,
    pub(crate) cache: cache::PlanCache,
    clock: Option<Arc<dyn Clock>>,
    /// JWK sets of `jwk_url` JWT secrets.
    pub(crate) jwks: auth::jwks::JwksCache,
    /// The auth webhook's answers, kept as long as their `Cache-Control`/`Expires` say.
    pub(crate) hook_cache: auth::webhook::HookCache,
    compiles: AtomicU64,
    pub(crate) compiler: CompileFn,
    /// Identical concurrent reads in flight (see [`coalesce`]).
    pub(crate) flights: coalesce::Flights,
    /// Rate-limit counters of this process or isolate (see [`limits`]).
    pub(crate) rates: limits::RateCounters,
    /// Answers of `@cached` queries (see [`response_cache`]).
    pub(crate) responses: response_cache::ResponseCache,
    /// The host's gauges for `/v1/metrics` (pools, ...), read at each scrape.
    pub(crate) metrics_gauges: Option<MetricsGauges>,
    /// The served metadata exports traces (`Loaded::otel`), readable without the state lock.
    tracing: std::sync::atomic::AtomicBool,
    /// The host's pollers for `/dev/subscriptions` (`true`: the extended dump).
    pub(crate) subscriptions_dump: Option<SubscriptionsDump>,
    /// The host's settings by name (`{{ENV}}` templates and `value_from_env` of actions).
    env: Option<EnvFn>,
    /// Bumped by every change made through `/v1/metadata` here: websockets opened before it
    /// close (1012), as Hasura's metadata API closes them (its `/v1/query` and `run_sql`, and
    /// changes followed from other processes, do not).
    socket_epoch: AtomicU64,
}

/// A host's lookup of its settings / environment variables (see [`Engine::with_env`]).
pub type EnvFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A host's `/dev/subscriptions` answer (see [`Engine::with_subscriptions_dump`]).
pub type SubscriptionsDump = Arc<dyn Fn(bool) -> serde_json::Value + Send + Sync>;

/// A host's gauges for `/v1/metrics` (see [`Engine::with_metrics_gauges`]).
pub type MetricsGauges = Arc<dyn Fn() -> Vec<metrics::Gauge> + Send + Sync>;

/// The compiler the engine calls on a plan-cache miss (`graphedge_core::compile`; tests may
/// substitute their own).
pub type CompileFn = fn(
    &graphedge_core::Schema,
    &Session,
    &graphedge_core::Request<'_>,
    &graphedge_core::Options,
) -> Result<graphedge_core::Plan, graphedge_core::Error>;

impl Engine {
    /// Loads the persisted metadata through `db` and builds the engine.
    pub async fn new(config: Config, db: &impl Database) -> Result<Engine, String> {
        let state = md::load(db, &config.metadata_config())
            .await
            .map_err(|e| format!("loading metadata: {} ({})", e.error, e.code))?;
        Ok(Engine::from_state(config, state))
    }

    /// An engine over an already loaded metadata state.
    pub fn from_state(config: Config, state: MetadataState) -> Engine {
        let loaded = Loaded::new(state);
        let tracing = std::sync::atomic::AtomicBool::new(loaded.otel.is_some());
        Engine {
            state: RwLock::new(Arc::new(loaded)),
            tracing,
            cache: cache::PlanCache::default(),
            clock: None,
            jwks: auth::jwks::JwksCache::default(),
            hook_cache: auth::webhook::HookCache::default(),
            compiles: AtomicU64::new(0),
            compiler: graphedge_core::compile,
            flights: coalesce::Flights::default(),
            rates: limits::RateCounters::default(),
            metrics_gauges: None,
            subscriptions_dump: None,
            env: None,
            socket_epoch: AtomicU64::new(0),
            responses: response_cache::ResponseCache::new(
                config.response_cache_bytes,
                config.cache_max_ttl,
            ),
            config,
        }
    }

    /// Adds the host's gauges (read at every `/v1/metrics` scrape).
    /// The host serves subscriptions: `/dev/subscriptions` lists its pollers.
    /// How the engine reads the host's settings by name (actions' `{{ENV}}` templates and
    /// `value_from_env`); without it, none is set.
    pub fn with_env(mut self, env: EnvFn) -> Engine {
        self.env = Some(env);
        self
    }

    /// The host's settings lookup (see [`Engine::with_env`]).
    pub(crate) fn env(&self) -> EnvFn {
        self.env.clone().unwrap_or_else(|| Arc::new(|_| None))
    }

    pub fn with_subscriptions_dump(mut self, dump: SubscriptionsDump) -> Engine {
        self.subscriptions_dump = Some(dump);
        self
    }

    pub fn with_metrics_gauges(mut self, gauges: MetricsGauges) -> Engine {
        self.metrics_gauges = Some(gauges);
        self
    }

    /// Whether requests are traced (the metadata exports traces).
    pub fn tracing(&self) -> bool {
        self.tracing.load(Ordering::Relaxed)
    }

    /// Microseconds on the host's monotonic clock, when it has one.
    pub(crate) fn monotonic(&self) -> Option<u64> {
        self.clock.as_ref()?.monotonic_micros()
    }

    /// Sets the clock used for JWT time claims. Without one, tokens carrying `exp`, `nbf` or
    /// `iat` are rejected.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Engine {
        self.clock = Some(clock);
        self
    }

    /// Adds the host's shared cache as the second tier of `@cached` answers (see
    /// [`response_cache`]); without it they are kept in this process's (isolate's) memory only.
    pub fn with_shared_cache(mut self, shared: Arc<dyn response_cache::SharedCache>) -> Engine {
        self.responses.set_shared(shared);
        self
    }

    /// Replaces the compiler (tests: canned plans without a real schema).
    pub fn with_compiler(mut self, compiler: CompileFn) -> Engine {
        self.compiler = compiler;
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The cache of `jwk_url` key sets (fetch counts for observability).
    pub fn jwks(&self) -> &auth::jwks::JwksCache {
        &self.jwks
    }

    /// Refetches the JWK set of every `jwk_url` JWT secret whose set is missing or stale (per
    /// its `Cache-Control` / `Expires`), like Hasura's background JWK refresh: a host with a
    /// timer calls this every second so keys rotate without waiting for a token. Needs the clock.
    pub async fn refresh_jwks(&self, http: &impl http::HttpClient) {
        let Some(now) = self.now() else { return };
        for url in self.config.jwt_secrets.iter().filter_map(|s| s.jwk_url()) {
            // A fresh set is returned untouched; failures are kept for the next token's answer.
            let _ = self.jwks.keys(url, None, now, http).await;
        }
    }

    pub(crate) fn now(&self) -> Option<i64> {
        self.clock.as_ref().map(|c| c.now_unix())
    }

    /// The current state (a cheap `Arc` clone; the lock is released on return).
    pub fn loaded(&self) -> Arc<Loaded> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The current metadata state.
    pub fn state(&self) -> Arc<MetadataState> {
        self.loaded().md.clone()
    }

    /// Replaces the metadata state (after a metadata change) and drops every cached plan.
    pub fn set_state(&self, state: MetadataState) {
        let loaded = Arc::new(Loaded::new(state));
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = loaded;
        self.cache.clear();
    }

    /// Installs `state`, derived while the engine served version `seen`, unless another task
    /// installed a newer state meanwhile (the HTTP threads, the metadata watcher and metadata
    /// requests all install states): it replaces the current state if that is still `seen`
    /// (whatever the versions: a reset database goes back to 0) or older than `state`.
    /// Returns whether it did.
    /// See the `socket_epoch` field.
    pub fn socket_epoch(&self) -> u64 {
        self.socket_epoch.load(Ordering::Relaxed)
    }

    pub(crate) fn bump_socket_epoch(&self) {
        self.socket_epoch.fetch_add(1, Ordering::Relaxed);
    }

    pub fn install(&self, seen: i64, state: MetadataState) -> bool {
        let loaded = Arc::new(Loaded::new(state));
        let mut slot = self.state.write().unwrap_or_else(|p| p.into_inner());
        let current = slot.md.resource_version;
        if current != seen && current >= loaded.md.resource_version {
            return false;
        }
        self.tracing.store(loaded.otel.is_some(), Ordering::Relaxed);
        *slot = loaded;
        drop(slot);
        self.cache.clear();
        true
    }

    /// Follows metadata stored by another process: reads the stored `resource_version` (one
    /// cheap query) and, when it is not the served one, reloads the state (stored metadata and
    /// catalog, no DDL). Returns the version now served when it changed. The one reload path
    /// of edge isolates ([`app`]) and of the native metadata watcher.
    pub async fn refresh(&self, db: &impl Database) -> Result<Option<i64>, String> {
        let seen = self.state().resource_version;
        let stored = graphedge_metadata::store::version(db)
            .await
            .map_err(|e| format!("checking the metadata version: {e}"))?;
        if stored.unwrap_or(0) == seen {
            return Ok(None);
        }
        let state = md::load_existing(db, &self.config.metadata_config())
            .await
            .map_err(|e| format!("reloading metadata: {} ({})", e.error, e.code))?;
        let version = state.resource_version;
        Ok(self.install(seen, state).then_some(version))
    }

    pub(crate) fn core_options(&self, relay: bool) -> graphedge_core::Options {
        graphedge_core::Options {
            relay,
            stringify_numeric: self.config.stringify_numeric,
            infer_function_permissions: self.config.infer_function_permissions,
            null_collapse: self.config.null_collapse,
            remote_schema_permissions: self.config.remote_schema_permissions,
            ..graphedge_core::Options::default()
        }
    }

    /// Whether error responses for this session may show Postgres internals.
    pub(crate) fn include_internal(&self, session: &Session) -> bool {
        self.config.dev_mode || (session.is_admin() && self.config.admin_internal_errors)
    }

    pub(crate) fn count_compile(&self) {
        self.compiles.fetch_add(1, Ordering::Relaxed);
    }

    /// How many times a GraphQL request was compiled (cache misses that reached core).
    pub fn compile_count(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    /// Plan cache (hits, misses).
    pub fn cache_stats(&self) -> (u64, u64) {
        self.cache.stats()
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Engine>();
}
