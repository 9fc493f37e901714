//! The native [`Database`]: a deadpool pool of tokio-postgres connections.
//!
//! * `query_one` runs on a [`Pipeline`] connection when pipelining is on
//!   ([`PgDatabase::with_pipeline`]) and the statement is known to be fast; otherwise on a
//!   pooled connection. Either way it prepares (and caches per connection) the statement with every parameter typed
//!   `text` — the compiler casts each `$n` explicitly — and returns the first column of the first
//!   row as text, whatever its type.
//! * `transaction` runs statements between `BEGIN` and `COMMIT` (rolled back on any error).
//! * `run_sql` sends the script with the simple-query protocol; Postgres runs a multi-statement
//!   simple query in one implicit transaction, like Hasura's `run_sql`.
//!
//! **Abandoned requests.** Hyper drops a request's future when its client disconnects. A
//! statement dropped before it answered is cancelled (a Postgres cancel request) and its
//! connection is never handed to another request: a pooled connection ([`Lent`]) is retired
//! once the cancelled statement ended (the pool opens a new one; a transaction's `ROLLBACK` was
//! queued by its drop, so nothing commits half); a pipelined one is poisoned (see
//! [`crate::pipeline`]). So no request ever waits on someone else's abandoned statement.
//!
//! The client-generic part (statement execution, [`RawText`] / [`decode_text`], [`map_error`])
//! lives in `graphedge-pg`, shared with the Worker's Hyperdrive transport; this module adds
//! the pool, TLS and deadpool's per-connection statement cache.
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{
    ClientWrapper, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime,
};
use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement, Target};
use tokio::sync::mpsc::UnboundedSender;
use tokio_postgres::config::SslMode;
use tokio_postgres::{CancelToken, NoTls};

use crate::pipeline::{Connect, Pipeline, Route};

pub use graphedge_pg::{decode_text, error_chain, map_error, RawText};

/// Hasura's default for `HASURA_GRAPHQL_PG_CONNECTIONS`.
pub const DEFAULT_POOL_SIZE: usize = 50;
/// Upper bound on the pool size, whatever the configuration says.
pub const MAX_POOL_SIZE: usize = 512;
/// Prepared statements kept per connection; past this the connection's cache is emptied
/// (dropping a statement closes it on the server), so memory stays bounded when clients send
/// ever-new queries.
pub const STATEMENT_CACHE_LIMIT: usize = 1024;
/// How long a cancel request, then the end of the cancelled statement, may take before the
/// connection is closed anyway.
pub const CANCEL_WAIT: Duration = Duration::from_secs(10);

/// Sends Postgres a cancel request for what a connection runs (with the pool's TLS settings).
pub type Cancel = Arc<
    dyn Fn(
            CancelToken,
        ) -> futures_util::future::BoxFuture<'static, Result<(), tokio_postgres::Error>>
        + Send
        + Sync,
>;

/// A pool of connections to one Postgres database.
#[derive(Clone)]
pub struct PgDatabase {
    pool: Pool,
    /// The URL it connects to (for `pg_dump`).
    url: Arc<str>,
    /// Opens one connection outside the pool, with the pool's settings and TLS.
    connect: Connect,
    cancel: Cancel,
    /// Opens one connection outside the pool that LISTENs (see [`PgDatabase::listen`]).
    listen: Listen,
    pipeline: Option<Arc<Pipeline>>,
}

/// Every pool of the process (weakly: a dropped pool drops out), with its `host:port/db`.
type PoolList = std::sync::Mutex<Vec<(String, deadpool_postgres::WeakPool)>>;

fn pools() -> &'static PoolList {
    static POOLS: std::sync::OnceLock<PoolList> = std::sync::OnceLock::new();
    POOLS.get_or_init(Default::default)
}

/// `host:port/database` of a connection config (never credentials).
fn conn_info(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => String::new(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or(""))
}

/// `/v1/metrics` gauges of the process's Postgres pools, summed per database:
/// `hasura_postgres_connections` (open) and `graphedge_postgres_connections_in_use`.
pub fn pool_gauges() -> Vec<graphedge_edge::metrics::Gauge> {
    let mut per: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let mut list = pools().lock().unwrap_or_else(|e| e.into_inner());
    list.retain(|(info, weak)| match weak.upgrade() {
        Some(pool) => {
            let s = pool.status();
            let e = per.entry(info.clone()).or_default();
            e.0 += s.size;
            e.1 += s.size.saturating_sub(s.available);
            true
        }
        None => false,
    });
    drop(list);
    let label = |info: &str| {
        format!(
            "{},role=\"primary\"",
            graphedge_edge::metrics::label("conn_info", info)
        )
    };
    vec![
        graphedge_edge::metrics::Gauge {
            name: "hasura_postgres_connections",
            help: "Open Postgres connections, per database",
            samples: per
                .iter()
                .map(|(i, (open, _))| (label(i), *open as f64))
                .collect(),
        },
        graphedge_edge::metrics::Gauge {
            name: "graphedge_postgres_connections_in_use",
            help: "Postgres connections serving a request, per database",
            samples: per
                .iter()
                .map(|(i, (_, used))| (label(i), *used as f64))
                .collect(),
        },
    ]
}

/// `(application_name, LISTEN statement, sink)` → the future of one LISTEN connection.
type Listen = Arc<
    dyn Fn(
            String,
            String,
            UnboundedSender<Option<String>>,
        ) -> futures_util::future::BoxFuture<'static, DbError>
        + Send
        + Sync,
>;

impl std::fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.pool.status();
        f.debug_struct("PgDatabase")
            .field("max_size", &s.max_size)
            .field("size", &s.size)
            .field(
                "pipeline",
                &self.pipeline.as_ref().map_or(0, |p| p.connections()),
            )
            .finish()
    }
}

impl PgDatabase {
    /// Builds a pool for `url` (`postgres://user:pass@host:port/db?...` or `key=value ...`) with
    /// at most `pool_size` connections (clamped to `1..=MAX_POOL_SIZE`). Connections are opened
    /// lazily; use [`PgDatabase::check`] to fail fast on a wrong URL.
    ///
    /// `sslmode` follows libpq: `disable` is plain TCP; `prefer` (the default) and `require`
    /// encrypt without checking the certificate (`prefer` falls back to plain TCP when the server
    /// has no TLS); `verify-ca` / `verify-full` require TLS and check the certificate against
    /// the Mozilla roots and the host name.
    pub fn connect(url: &str, pool_size: usize) -> Result<PgDatabase, String> {
        PgDatabase::connect_with(url, pool_size, |_| {})
    }

    /// [`PgDatabase::connect`], with `configure` applied to each connection's settings (the SQL
    /// gateway sets its statement timeout this way).
    pub fn connect_with(
        url: &str,
        pool_size: usize,
        configure: impl FnOnce(&mut tokio_postgres::Config),
    ) -> Result<PgDatabase, String> {
        let (url, verify) = tls::split_verify_mode(url);
        let mut config = tokio_postgres::Config::from_str(&url)
            .map_err(|e| format!("invalid database url: {e}"))?;
        configure(&mut config);
        let conn_info = conn_info(&config);
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let (manager, (connect, cancel, listen)) = match config.get_ssl_mode() {
            SslMode::Disable => (
                Manager::from_config(config.clone(), NoTls, manager_config),
                connectors(config, NoTls),
            ),
            _ => {
                let tls = tls::connector(verify)?;
                (
                    Manager::from_config(config.clone(), tls.clone(), manager_config),
                    connectors(config, tls),
                )
            }
        };
        let pool = Pool::builder(manager)
            .max_size(pool_size.clamp(1, MAX_POOL_SIZE))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(|e| format!("cannot build the connection pool: {e}"))?;
        pools()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((conn_info, pool.weak()));
        Ok(PgDatabase {
            pool,
            url: url.as_str().into(),
            connect,
            cancel,
            listen,
            pipeline: None,
        })
    }

    /// Pipelines fast single-statement reads over `connections` shared connections (see
    /// [`crate::pipeline`]); 0 turns pipelining off.
    pub fn with_pipeline(mut self, connections: usize) -> PgDatabase {
        self.pipeline = (connections > 0).then(|| {
            Arc::new(Pipeline::new(
                connections,
                self.connect.clone(),
                self.cancel.clone(),
            ))
        });
        self
    }

    /// Statements run pipelined so far (0 without a pipeline).
    pub fn pipelined(&self) -> u64 {
        self.pipeline.as_ref().map_or(0, |p| p.served())
    }

    /// Opens one connection and runs `SELECT 1`.
    pub async fn check(&self) -> Result<(), DbError> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await.map_err(map_error)?;
        Ok(())
    }

    /// Opens one connection outside the pool, named `application_name`, runs `listen` (`LISTEN
    /// channel`), then sends `None` (listening: anything earlier was missed) and each
    /// notification's payload to `sink` until the connection ends. Returns why it ended.
    pub async fn listen(
        &self,
        application_name: &str,
        listen: &str,
        sink: UnboundedSender<Option<String>>,
    ) -> DbError {
        (self.listen)(application_name.into(), listen.into(), sink).await
    }

    /// The pool's current size and the number of idle connections.
    pub fn status(&self) -> (usize, usize) {
        let s = self.pool.status();
        (s.size, s.available)
    }

    /// A pooled connection (its statement cache bounded by [`STATEMENT_CACHE_LIMIT`]).
    pub async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        let client = self.pool.get().await.map_err(|e| {
            DbError::connection(format!(
                "cannot get a database connection: {}",
                error_chain(&e)
            ))
        })?;
        bound_cache(&client);
        Ok(client)
    }

    /// A pooled connection lent to one request (see [`Lent`]).
    pub(crate) async fn lend(&self) -> Result<Lent, DbError> {
        Ok(Lent {
            client: Some(self.client().await?),
            cancel: self.cancel.clone(),
        })
    }
}

/// A pooled connection lent to one request for its statements. Dropped before [`Lent::done`]
/// — the request was abandoned mid-statement — it cancels what the connection runs and, once
/// that ended (or after [`CANCEL_WAIT`]), closes the connection instead of returning it to the
/// pool; a cancel request that reaches the server late can then hit nobody else's statement.
pub(crate) struct Lent {
    client: Option<Object>,
    cancel: Cancel,
}

impl Lent {
    /// The statements answered: the connection goes back to the pool.
    pub(crate) fn done(mut self) {
        self.client = None;
    }
}

impl std::ops::Deref for Lent {
    type Target = Object;
    fn deref(&self) -> &Object {
        self.client
            .as_ref()
            .expect("a lent connection is present until done")
    }
}

impl std::ops::DerefMut for Lent {
    fn deref_mut(&mut self) -> &mut Object {
        self.client
            .as_mut()
            .expect("a lent connection is present until done")
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        // Outside a runtime (never in a request) the connection just closes.
        let client = Object::take(client);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        tracing::info!("request abandoned: cancelling its statement");
        let token = client.cancel_token();
        let cancel = self.cancel.clone();
        runtime.spawn(async move {
            let _ = tokio::time::timeout(CANCEL_WAIT, cancel(token)).await;
            // Answered after everything sent before it: the cancelled statement and, for a
            // transaction, the ROLLBACK its drop queued.
            let _ = tokio::time::timeout(CANCEL_WAIT, client.simple_query("")).await;
        });
    }
}

/// How [`PgDatabase`] reaches Postgres outside the pool over `config` and `tls`: opens
/// connections (their connection task spawned on the runtime: the pipeline's), sends cancel
/// requests, and opens [`PgDatabase::listen`]'s connection.
fn connectors<T>(config: tokio_postgres::Config, tls: T) -> (Connect, Cancel, Listen)
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket> + Clone + Send + Sync + 'static,
    T::Stream: Send + Sync + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as tokio_postgres::tls::TlsConnect<tokio_postgres::Socket>>::Future: Send,
{
    let cancel_tls = tls.clone();
    let cancel: Cancel = Arc::new(move |token: CancelToken| {
        let tls = cancel_tls.clone();
        Box::pin(async move { token.cancel_query(tls).await })
    });
    let (config2, tls2) = (config.clone(), tls.clone());
    let connect: Connect = Arc::new(move || {
        let config = config2.clone();
        let tls = tls2.clone();
        Box::pin(async move {
            let (client, connection) = config.connect(tls).await?;
            let task = tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "pipelined connection closed");
                }
            });
            Ok(ClientWrapper::new(client, task))
        })
    });
    let listen: Listen = Arc::new(move |name, listen, sink| {
        let mut config = config.clone();
        config.application_name(&name);
        let tls = tls.clone();
        Box::pin(async move {
            let (client, mut connection) = match config.connect(tls).await {
                Ok(c) => c,
                Err(e) => return map_error(e),
            };
            // The connection task delivers notifications; it ends with the connection.
            let forward = sink.clone();
            let mut task = tokio::spawn(async move {
                let mut messages =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                while let Some(m) = futures_util::StreamExt::next(&mut messages).await {
                    match m {
                        Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                            let _ = forward.send(Some(n.payload().to_string()));
                        }
                        Ok(_) => {}
                        Err(e) => return map_error(e),
                    }
                }
                DbError::connection("the connection closed")
            });
            tokio::select! {
                r = client.batch_execute(&listen) => if let Err(e) = r {
                    task.abort();
                    return map_error(e);
                },
                r = &mut task => return r.unwrap_or_else(|e| DbError::connection(e.to_string())),
            }
            let _ = sink.send(None);
            let ended = (&mut task)
                .await
                .unwrap_or_else(|e| DbError::connection(e.to_string()));
            drop(client);
            ended
        })
    });
    (connect, cancel, listen)
}

/// TLS to Postgres with rustls, libpq's `sslmode` semantics.
mod tls {
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    /// tokio-postgres knows `disable`, `prefer` and `require` only: `verify-ca` and
    /// `verify-full` become `require` plus `true` (check the certificate).
    pub fn split_verify_mode(url: &str) -> (String, bool) {
        let mut verify = false;
        let mut out = url.to_string();
        for mode in ["sslmode=verify-full", "sslmode=verify-ca"] {
            if out.contains(mode) {
                out = out.replace(mode, "sslmode=require");
                verify = true;
            }
        }
        (out, verify)
    }

    pub fn connector(verify: bool) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?;
        let config = if verify {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            builder.with_root_certificates(roots).with_no_client_auth()
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
                .with_no_client_auth()
        };
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }

    /// libpq's `sslmode=require`: the channel is encrypted and the handshake signatures are
    /// checked, but the certificate chain is not (self-signed server certificates are common).
    #[derive(Debug)]
    struct EncryptOnly(Arc<CryptoProvider>);

    impl ServerCertVerifier for EncryptOnly {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn verify_modes_map_to_require() {
            let (u, v) = super::split_verify_mode("postgres://h/db?sslmode=verify-full");
            assert_eq!((u.as_str(), v), ("postgres://h/db?sslmode=require", true));
            let (u, v) = super::split_verify_mode("host=h sslmode=require");
            assert_eq!((u.as_str(), v), ("host=h sslmode=require", false));
            assert!(super::connector(true).is_ok());
            assert!(super::connector(false).is_ok());
        }
    }
}

/// Prepares through the connection's statement cache (deadpool's `prepare_typed_cached`).
struct Cached<'a, T>(&'a T);

/// One `Prepare` for the cached types: a connection (pooled or pipelined) and a transaction.
macro_rules! prepare_cached {
    ($($ty:ty),*) => {$(
        impl graphedge_pg::Prepare for Cached<'_, $ty> {
            async fn prepare_text(
                &self,
                sql: &str,
                params: usize,
            ) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
                self.0
                    .prepare_typed_cached(sql, &graphedge_pg::text_types(params))
                    .await
            }
        }
    )*};
}
prepare_cached!(ClientWrapper, deadpool_postgres::Transaction<'_>);

/// `query_one` on one connection (pooled or pipelined), through its statement cache.
pub(crate) async fn query_one_on(
    client: &ClientWrapper,
    stmt: &Statement,
) -> Result<Option<String>, DbError> {
    graphedge_pg::query_one(client, &Cached(client), stmt).await
}

/// Keeps a connection's statement cache within [`STATEMENT_CACHE_LIMIT`]: past it the cache is
/// emptied (dropping a statement closes it on the server).
pub(crate) fn bound_cache(client: &ClientWrapper) {
    if client.statement_cache.size() > STATEMENT_CACHE_LIMIT {
        client.statement_cache.clear();
    }
}

/// `transaction` on one pooled connection. Abandoned midway, the transaction is rolled back:
/// dropping `tx` queues a `ROLLBACK`, and the [`Lent`] connection is closed anyway.
async fn transaction_on(client: &mut Object, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
    let tx = client.transaction().await.map_err(map_error)?;
    // Any early return drops `tx`, which rolls the transaction back.
    let out = graphedge_pg::batch(&tx, &Cached(&tx), stmts).await?;
    tx.commit().await.map_err(map_error)?;
    Ok(out)
}

impl Database for PgDatabase {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        let Some(pipeline) = &self.pipeline else {
            let client = self.lend().await?;
            let out = query_one_on(&client, stmt).await;
            client.done();
            return out;
        };
        let route = pipeline.route(&stmt.sql);
        let (out, started) = match route {
            Route::Pipeline(slot) => {
                let started = std::time::Instant::now();
                match pipeline.query_one(slot, stmt).await {
                    Some(out) => (out, started),
                    // Cancelled for another request's abandoned statement: run it again alone.
                    None => {
                        let client = self.lend().await?;
                        let out = query_one_on(&client, stmt).await;
                        client.done();
                        return out;
                    }
                }
            }
            Route::Pool => {
                // Timed from checkout: waiting for a connection says nothing of the statement.
                let client = self.lend().await?;
                let started = std::time::Instant::now();
                let out = query_one_on(&client, stmt).await;
                client.done();
                (out, started)
            }
        };
        // Errors say nothing about the statement's speed (and a failed connect is quick).
        if out.is_ok() {
            pipeline.record(&stmt.sql, route, started.elapsed());
        }
        out
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        let mut client = self.lend().await?;
        let out = transaction_on(&mut client, stmts).await;
        client.done();
        out
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        let client = self.lend().await?;
        let out = graphedge_pg::run_sql(&client, sql).await;
        client.done();
        out
    }

    async fn pg_dump(&self, _: Option<Target<'_>>, opts: &[String]) -> Result<String, DbError> {
        crate::pgdump::run(&self.url, opts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_and_url_are_checked() {
        assert!(PgDatabase::connect("not a url at all ::", 5).is_err());
        // Building a pool does not connect.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let db = PgDatabase::connect("postgres://u@127.0.0.1:1/x", 100_000).unwrap();
            assert_eq!(db.pool.status().max_size, MAX_POOL_SIZE);
        });
    }
}
