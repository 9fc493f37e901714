//! The native [`Database`]: a deadpool pool of tokio-postgres connections.
//!
//! * `query_one` prepares (and caches per connection) the statement with every parameter typed
//!   `text` — the compiler casts each `$n` explicitly — and returns the first column of the first
//!   row as text, whatever its type.
//! * `transaction` runs statements between `BEGIN` and `COMMIT` (rolled back on any error).
//! * `run_sql` sends the script with the simple-query protocol; Postgres runs a multi-statement
//!   simple query in one implicit transaction, like Hasura's `run_sql`.
//!
//! Values come back in Postgres' binary format for prepared statements; [`RawText`] decodes the
//! common types to their text form and refuses the others with an error that asks for a cast.
use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement};
use tokio_postgres::config::SslMode;
use tokio_postgres::types::{FromSql, ToSql, Type};
use tokio_postgres::{NoTls, SimpleQueryMessage};

/// Hasura's default for `HASURA_GRAPHQL_PG_CONNECTIONS`.
pub const DEFAULT_POOL_SIZE: usize = 50;
/// Upper bound on the pool size, whatever the configuration says.
pub const MAX_POOL_SIZE: usize = 512;
/// Prepared statements kept per connection; past this the connection's cache is emptied
/// (dropping a statement closes it on the server), so memory stays bounded when clients send
/// ever-new queries.
pub const STATEMENT_CACHE_LIMIT: usize = 1024;

/// A pool of connections to one Postgres database.
#[derive(Clone)]
pub struct PgDatabase {
    pool: Pool,
}

impl std::fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.pool.status();
        f.debug_struct("PgDatabase")
            .field("max_size", &s.max_size)
            .field("size", &s.size)
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
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match config.get_ssl_mode() {
            SslMode::Disable => Manager::from_config(config, NoTls, manager_config),
            _ => Manager::from_config(config, tls::connector(verify)?, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(pool_size.clamp(1, MAX_POOL_SIZE))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(|e| format!("cannot build the connection pool: {e}"))?;
        Ok(PgDatabase { pool })
    }

    /// Opens one connection and runs `SELECT 1`.
    pub async fn check(&self) -> Result<(), DbError> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await.map_err(map_error)?;
        Ok(())
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
        if client.statement_cache.size() > STATEMENT_CACHE_LIMIT {
            client.statement_cache.clear();
        }
        Ok(client)
    }
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

/// Parameters as tokio-postgres wants them (all typed `text`).
fn param_refs(params: &[Option<String>]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

fn text_types(n: usize) -> Vec<Type> {
    vec![Type::TEXT; n]
}

impl Database for PgDatabase {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        let client = self.client().await?;
        let prepared = client
            .prepare_typed_cached(&stmt.sql, &text_types(stmt.params.len()))
            .await
            .map_err(map_error)?;
        let row = client
            .query_opt(&prepared, &param_refs(&stmt.params))
            .await
            .map_err(map_error)?;
        match row {
            None => Ok(None),
            Some(row) if row.is_empty() => Ok(None),
            Some(row) => {
                let raw: Option<RawText> = row.try_get(0).map_err(map_error)?;
                raw.map(|r| r.into_text(row.columns()[0].name()))
                    .transpose()
            }
        }
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_error)?;
        let at = |index: usize| {
            move |e| DbError {
                statement: Some(index),
                ..map_error(e)
            }
        };
        // Prepare (a cache hit after the first time), then send every statement at once:
        // tokio-postgres pipelines concurrently polled queries on one connection, so the batch
        // costs one round trip and row locks are held only as long as the work needs.
        let mut prepared = Vec::with_capacity(stmts.len());
        for (index, stmt) in stmts.iter().enumerate() {
            // Any early return drops `tx`, which rolls the transaction back.
            let p = tx
                .prepare_typed_cached(&stmt.sql, &text_types(stmt.params.len()))
                .await
                .map_err(at(index))?;
            prepared.push(p);
        }
        let params: Vec<_> = stmts.iter().map(|s| param_refs(&s.params)).collect();
        let tx_ref = &tx;
        let results = futures_util::future::join_all(prepared.iter().zip(&params).map(
            |(p, params)| async move {
                if p.columns().is_empty() {
                    // No result columns: report the affected row count.
                    tx_ref.execute(p, params).await.map(|n| (Vec::new(), n))
                } else {
                    tx_ref.query(p, params).await.map(|rows| (rows, 0))
                }
            },
        ))
        .await;
        let mut out = Vec::with_capacity(stmts.len());
        for (index, (result, prepared)) in results.into_iter().zip(&prepared).enumerate() {
            // The first failure is the cause; later statements only report the aborted transaction.
            let (rows, affected) = result.map_err(at(index))?;
            let columns: Vec<String> = prepared
                .columns()
                .iter()
                .map(|c| c.name().to_string())
                .collect();
            let mut decoded = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut values = Vec::with_capacity(columns.len());
                for (i, name) in columns.iter().enumerate() {
                    let raw: Option<RawText> = row.try_get(i).map_err(at(index))?;
                    values.push(raw.map(|r| r.into_text(name)).transpose()?);
                }
                decoded.push(values);
            }
            out.push(Rows {
                row_count: if columns.is_empty() {
                    affected
                } else {
                    decoded.len() as u64
                },
                columns,
                rows: decoded,
            });
        }
        tx.commit().await.map_err(map_error)?;
        Ok(out)
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        let client = self.client().await?;
        let messages = client.simple_query(sql).await.map_err(map_error)?;
        Ok(simple_results(messages))
    }
}

/// Folds simple-query messages into one [`SqlResult`] per statement: a `RowDescription` opens
/// a result set (so a `SELECT` returning zero rows is still `Tuples`), `CommandComplete` closes it.
fn simple_results(messages: Vec<SimpleQueryMessage>) -> Vec<SqlResult> {
    let mut out = Vec::new();
    let mut current: Option<Rows> = None;
    for message in messages {
        match message {
            SimpleQueryMessage::RowDescription(columns) => {
                current = Some(Rows {
                    columns: columns.iter().map(|c| c.name().to_string()).collect(),
                    rows: Vec::new(),
                    row_count: 0,
                });
            }
            SimpleQueryMessage::Row(row) => {
                let rows = current.get_or_insert_with(|| Rows {
                    columns: row.columns().iter().map(|c| c.name().to_string()).collect(),
                    ..Rows::default()
                });
                rows.rows.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                );
            }
            SimpleQueryMessage::CommandComplete(n) => match current.take() {
                Some(mut rows) => {
                    rows.row_count = n;
                    out.push(SqlResult::Tuples(rows));
                }
                None => out.push(SqlResult::Command),
            },
            _ => {}
        }
    }
    if let Some(rows) = current {
        out.push(SqlResult::Tuples(rows));
    }
    out
}

/// An error and its causes, `: `-separated (TLS and socket errors hide the useful part in
/// their sources).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// Maps a tokio-postgres error to [`DbError`], keeping Postgres' SQLSTATE, message, detail and
/// hint, and flagging failures to reach the server.
pub fn map_error(e: tokio_postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        return DbError {
            code: Some(db.code().code().to_string()),
            message: db.message().to_string(),
            detail: db.detail().map(str::to_string),
            hint: db.hint().map(str::to_string),
            connection: false,
            statement: None,
        };
    }
    let closed =
        e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if closed {
        return DbError::connection(format!("database connection error: {}", error_chain(&e)));
    }
    DbError {
        message: e.to_string(),
        ..DbError::default()
    }
}

/// A column value in Postgres' binary format, whatever its type; [`RawText::into_text`] turns
/// it into Postgres' text form for the types the engine reads.
#[derive(Debug, Clone, PartialEq)]
pub struct RawText {
    pub ty: Type,
    pub bytes: Vec<u8>,
}

impl<'a> FromSql<'a> for RawText {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawText {
            ty: ty.clone(),
            bytes: raw.to_vec(),
        })
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

impl RawText {
    /// The value's text form. `column` names the column in the error for undecodable types.
    pub fn into_text(self, column: &str) -> Result<String, DbError> {
        decode_text(&self.ty, self.bytes).map_err(|why| DbError {
            message: format!(
                "cannot read column \"{column}\" of type {}: {why}; cast the column to text",
                self.ty.name()
            ),
            ..DbError::default()
        })
    }
}

fn utf8(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| "invalid UTF-8".to_string())
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", bytes.len()))
}

fn float_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        v.to_string()
    }
}

/// Decodes a binary-format value of a common type to Postgres' text form.
pub fn decode_text(ty: &Type, bytes: Vec<u8>) -> Result<String, String> {
    match *ty {
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::UNKNOWN => {
            utf8(bytes)
        }
        Type::JSONB => match bytes.split_first() {
            Some((1, rest)) => utf8(rest.to_vec()),
            Some((v, _)) => Err(format!("unsupported jsonb version {v}")),
            None => Err("empty jsonb value".into()),
        },
        Type::BOOL => match bytes.as_slice() {
            [0] => Ok("f".into()),
            [_] => Ok("t".into()),
            _ => Err("bad bool".into()),
        },
        Type::INT2 => Ok(i16::from_be_bytes(fixed(&bytes)?).to_string()),
        Type::INT4 => Ok(i32::from_be_bytes(fixed(&bytes)?).to_string()),
        Type::INT8 => Ok(i64::from_be_bytes(fixed(&bytes)?).to_string()),
        Type::OID => Ok(u32::from_be_bytes(fixed(&bytes)?).to_string()),
        Type::FLOAT4 => Ok(float_text(f32::from_be_bytes(fixed(&bytes)?) as f64)),
        Type::FLOAT8 => Ok(float_text(f64::from_be_bytes(fixed(&bytes)?))),
        Type::UUID => {
            let b: [u8; 16] = fixed(&bytes)?;
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            Ok(format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            ))
        }
        _ => Err("no text decoder for this type".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_common_types() {
        assert_eq!(decode_text(&Type::TEXT, b"hi".to_vec()).unwrap(), "hi");
        assert_eq!(
            decode_text(&Type::JSONB, b"\x01{\"a\":1}".to_vec()).unwrap(),
            "{\"a\":1}"
        );
        assert!(decode_text(&Type::JSONB, b"\x02{}".to_vec()).is_err());
        assert_eq!(decode_text(&Type::BOOL, vec![1]).unwrap(), "t");
        assert_eq!(decode_text(&Type::BOOL, vec![0]).unwrap(), "f");
        assert_eq!(
            decode_text(&Type::INT4, (-7i32).to_be_bytes().to_vec()).unwrap(),
            "-7"
        );
        assert_eq!(
            decode_text(&Type::INT8, 1i64.to_be_bytes().to_vec()).unwrap(),
            "1"
        );
        assert_eq!(
            decode_text(&Type::FLOAT8, 1.5f64.to_be_bytes().to_vec()).unwrap(),
            "1.5"
        );
        assert_eq!(
            decode_text(&Type::FLOAT8, f64::NAN.to_be_bytes().to_vec()).unwrap(),
            "NaN"
        );
        assert!(decode_text(&Type::INT4, vec![1, 2]).is_err());
        assert!(decode_text(&Type::NUMERIC, vec![0; 8]).is_err());
    }

    #[test]
    fn undecodable_type_asks_for_a_cast() {
        let e = RawText {
            ty: Type::NUMERIC,
            bytes: vec![0; 8],
        }
        .into_text("price")
        .unwrap_err();
        assert!(
            e.message.contains("cast the column to text"),
            "{}",
            e.message
        );
        assert!(e.message.contains("price"));
    }

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
