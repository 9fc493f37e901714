//! The SQL gateway: Neon's serverless SQL-over-HTTP protocol (`POST /sql`) served by the native
//! process over a pool of its own, so edge hosts (and `@neondatabase/serverless`' `neon()`) can
//! reach a self-hosted Postgres over HTTP. The client side is `graphedge_edge::transport::neon`.
//!
//! * **Auth**: the password in `Neon-Connection-String` must equal the configured database
//!   password, or `Authorization: Bearer <GRAPHEDGE_GATEWAY_SECRET>`; both compared in constant
//!   time. The gateway serves its own database only: a connection string naming another
//!   database (its path, else its user) is refused (`3D000`), never run on this one — one
//!   gateway per database (the edge hosts' per-database endpoint settings). Host, port and
//!   options of the connection string are ignored.
//! * **Limits**: request and response body sizes ([`GatewayConfig`]), a statement timeout on
//!   every gateway connection (`statement_timeout`).
//! * **Requests**: `{"query", "params"}` (autocommit) or `{"queries": [...]}` (ONE transaction,
//!   honouring `Neon-Batch-Isolation-Level`, `Neon-Batch-Read-Only`, `Neon-Batch-Deferrable`).
//!   Parameters are sent to Postgres in text format with types inferred by Postgres, like Neon;
//!   non-string JSON parameters are converted as Neon does (arrays become array literals).
//! * **Answers**: `{command, rowCount, rows, fields: [{name, dataTypeID, tableID, columnID,
//!   dataTypeSize, dataTypeModifier, format}], rowAsArray}` (batch: `{"results": [...]}`).
//!   Values are Postgres' text form (exact: types without a local decoder are converted by
//!   Postgres itself, `$n::text`). `Neon-Array-Mode: true` gives rows as arrays, else objects;
//!   without `Neon-Raw-Text-Output: true`, booleans, finite numbers and json/jsonb become JSON.
//! * **Errors**: HTTP 400 `{"message", "code", "detail", "hint", "position", "severity",
//!   "where", "schema", "table", "column", "dataType", "constraint", "file", "line", "routine",
//!   "internalPosition", "internalQuery"}`, plus `"statementIndex"` (0-based) for a failed
//!   statement of a batch; 401 bad credentials; 413 request too large; 507 response too large;
//!   500 when the database cannot be reached.
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use deadpool_postgres::GenericClient;
use futures_util::{pin_mut, TryStreamExt};
use graphedge_edge::{Request, Response};
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio_postgres::error::ErrorPosition;
use tokio_postgres::types::{to_sql_checked, Format, IsNull, ToSql, Type};
use tokio_postgres::IsolationLevel;

use crate::db::{decode_text, PgDatabase};

/// Neon's limits: 10 MiB requests and responses.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 10 * 1024 * 1024;
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections of the gateway's own pool.
pub const DEFAULT_POOL_SIZE: usize = 20;

/// The gateway's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// The database password clients must put in `Neon-Connection-String` (`None`: no password
    /// login; the bearer secret is then required).
    pub password: Option<String>,
    /// `Authorization: Bearer <secret>` also authenticates.
    pub secret: Option<String>,
    pub statement_timeout: Duration,
    pub max_request_bytes: usize,
    pub max_response_bytes: usize,
    pub pool_size: usize,
    /// The database served (the URL's database name, else its user name): requests whose
    /// connection string names another are refused.
    pub database: Option<String>,
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("password", &self.password.as_ref().map(|_| "<set>"))
            .field("secret", &self.secret.as_ref().map(|_| "<set>"))
            .field("statement_timeout", &self.statement_timeout)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("database", &self.database)
            .finish()
    }
}

impl GatewayConfig {
    /// Reads `GRAPHEDGE_GATEWAY_SECRET`, `GRAPHEDGE_GATEWAY_STATEMENT_TIMEOUT` (seconds),
    /// `GRAPHEDGE_GATEWAY_MAX_REQUEST_BYTES`, `GRAPHEDGE_GATEWAY_MAX_RESPONSE_BYTES`; the password
    /// comes from `database_url`. Fails when neither a password nor a secret is configured.
    pub fn from_lookup(
        database_url: &str,
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<GatewayConfig, String> {
        let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let number = |k: &str, default: u64| {
            graphedge_edge::config::positive_setting(get, k, default, "integer")
        };
        let config = GatewayConfig {
            password: database_password(database_url)?,
            secret: nonempty("GRAPHEDGE_GATEWAY_SECRET"),
            statement_timeout: Duration::from_secs(number(
                "GRAPHEDGE_GATEWAY_STATEMENT_TIMEOUT",
                DEFAULT_STATEMENT_TIMEOUT.as_secs(),
            )?),
            max_request_bytes: number(
                "GRAPHEDGE_GATEWAY_MAX_REQUEST_BYTES",
                DEFAULT_MAX_REQUEST_BYTES as u64,
            )? as usize,
            max_response_bytes: number(
                "GRAPHEDGE_GATEWAY_MAX_RESPONSE_BYTES",
                DEFAULT_MAX_RESPONSE_BYTES as u64,
            )? as usize,
            pool_size: DEFAULT_POOL_SIZE,
            database: database_name(database_url),
        };
        if config.password.is_none() && config.secret.is_none() {
            return Err(
                "the SQL gateway needs credentials: a password in the database URL \
                        or GRAPHEDGE_GATEWAY_SECRET"
                    .to_string(),
            );
        }
        Ok(config)
    }
}

/// The password of a connection string, if any.
pub fn database_password(url: &str) -> Result<Option<String>, String> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("invalid database url: {e}"))?;
    Ok(config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .filter(|p| !p.is_empty()))
}

/// The database a connection string names: its database name, else (Postgres' default) its
/// user name (`None`: neither, or not a connection string).
pub fn database_name(url: &str) -> Option<String> {
    let config: tokio_postgres::Config = url.parse().ok()?;
    config
        .get_dbname()
        .or(config.get_user())
        .map(str::to_string)
}

/// Constant-time equality (the length is not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The gateway: its pool and settings. Cheap to share behind an `Arc`.
pub struct Gateway {
    db: PgDatabase,
    config: GatewayConfig,
}

/// A failed request: HTTP status and the JSON error body.
struct Failure {
    status: u16,
    body: Value,
}

impl Failure {
    fn new(status: u16, message: impl Into<String>) -> Failure {
        Failure {
            status,
            body: json!({ "message": message.into() }),
        }
    }
}

/// One statement of a request.
struct Query {
    sql: String,
    params: Vec<Option<String>>,
}

/// How to render result rows.
#[derive(Clone, Copy)]
struct Shape {
    array_mode: bool,
    raw_text: bool,
}

impl Gateway {
    /// A gateway with its own pool to `database_url` (every connection gets the statement
    /// timeout). Connections open lazily.
    pub fn new(database_url: &str, config: GatewayConfig) -> Result<Gateway, String> {
        let timeout_ms = config.statement_timeout.as_millis();
        let db = PgDatabase::connect_with(database_url, config.pool_size, |c| {
            let mut options = c.get_options().unwrap_or("").to_string();
            options.push_str(&format!(" -c statement_timeout={timeout_ms}"));
            c.options(options.trim());
        })?;
        Ok(Gateway { db, config })
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// Answers one `/sql` request.
    pub async fn handle(&self, req: &Request) -> Response {
        let header = |n: &str| graphedge_edge::auth::header(&req.headers, n);
        if req.method == "OPTIONS" {
            return respond(204, Vec::new());
        }
        let result = async {
            if req.method != "POST" {
                return Err(Failure::new(405, "only POST is supported"));
            }
            self.authenticate(header("authorization"), header("neon-connection-string"))?;
            self.same_database(header("neon-connection-string"))?;
            if req.body.len() > self.config.max_request_bytes {
                return Err(Failure::new(
                    413,
                    format!(
                        "request is too large (max is {} bytes)",
                        self.config.max_request_bytes
                    ),
                ));
            }
            let shape = Shape {
                array_mode: flag(header("neon-array-mode"))?.unwrap_or(false),
                raw_text: flag(header("neon-raw-text-output"))?.unwrap_or(false),
            };
            let body: Value = serde_json::from_slice(&req.body)
                .map_err(|e| Failure::new(400, format!("invalid JSON body: {e}")))?;
            let out = if let Some(list) = body.get("queries") {
                let list = list
                    .as_array()
                    .ok_or_else(|| Failure::new(400, "`queries` must be an array"))?;
                let queries = list
                    .iter()
                    .map(parse_query)
                    .collect::<Result<Vec<_>, _>>()?;
                let results = self.batch(&queries, shape, header).await?;
                json!({ "results": results })
            } else {
                let q = parse_query(&body)?;
                let client = self.client().await?;
                let mut budget = self.config.max_response_bytes;
                let mut answer = run_one(&*client, &q, shape, &mut budget).await;
                if matches!(&answer, Err(e) if stale_statement(e)) {
                    client.statement_cache.clear();
                    budget = self.config.max_response_bytes;
                    answer = run_one(&*client, &q, shape, &mut budget).await;
                }
                client.done();
                answer.map_err(|e| pg_failure(e, None))?
            };
            let bytes = out.to_string().into_bytes();
            if bytes.len() > self.config.max_response_bytes {
                return Err(too_large(self.config.max_response_bytes));
            }
            Ok(bytes)
        }
        .await;
        match result {
            Ok(body) => respond(200, body),
            Err(f) => {
                tracing::debug!(status = f.status, error = %f.body, "SQL gateway request failed");
                respond(f.status, f.body.to_string().into_bytes())
            }
        }
    }

    fn authenticate(&self, auth: Option<&str>, conn: Option<&str>) -> Result<(), Failure> {
        if let (Some(secret), Some(auth)) = (&self.config.secret, auth) {
            let token = auth
                .strip_prefix("Bearer ")
                .or_else(|| auth.strip_prefix("bearer "))
                .unwrap_or("")
                .trim();
            if constant_time_eq(token.as_bytes(), secret.as_bytes()) {
                return Ok(());
            }
        }
        if let (Some(expected), Some(conn)) = (&self.config.password, conn) {
            if let Ok(Some(given)) = database_password(conn) {
                if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
                    return Ok(());
                }
            }
        }
        Err(Failure::new(
            401,
            "authentication failed: wrong password in Neon-Connection-String or wrong bearer token",
        ))
    }

    /// Refuses a connection string naming another database than the gateway's (a source of
    /// an edge host whose endpoint setting points here by mistake must not read this one).
    fn same_database(&self, conn: Option<&str>) -> Result<(), Failure> {
        let asked = conn.and_then(database_name);
        match (&self.config.database, asked) {
            (Some(own), Some(asked)) if *own != asked => Err(Failure {
                status: 400,
                body: json!({
                    "message": format!(
                        "this SQL gateway serves database \"{own}\", not \"{asked}\" \
                         (one gateway per database)"
                    ),
                    "code": "3D000",
                }),
            }),
            _ => Ok(()),
        }
    }

    /// A pooled connection for one request: if the request is dropped mid-statement (its
    /// client went away), the statement is cancelled and the connection retired, never handed
    /// to the next request (see [`crate::db::Lent`]).
    async fn client(&self) -> Result<crate::db::Lent, Failure> {
        self.db
            .lend()
            .await
            .map_err(|e| Failure::new(500, e.message))
    }

    async fn batch<'h>(
        &self,
        queries: &[Query],
        shape: Shape,
        header: impl Fn(&str) -> Option<&'h str>,
    ) -> Result<Vec<Value>, Failure> {
        let isolation = match header("neon-batch-isolation-level") {
            None => None,
            Some(level) => Some(match level.to_ascii_lowercase().as_str() {
                "readuncommitted" => IsolationLevel::ReadUncommitted,
                "readcommitted" => IsolationLevel::ReadCommitted,
                "repeatableread" => IsolationLevel::RepeatableRead,
                "serializable" => IsolationLevel::Serializable,
                _ => {
                    return Err(Failure::new(
                        400,
                        format!("invalid Neon-Batch-Isolation-Level: {level}"),
                    ))
                }
            }),
        };
        let read_only = flag(header("neon-batch-read-only"))?;
        let deferrable = flag(header("neon-batch-deferrable"))?;
        let mut client = self.client().await?;
        let mut retried = false;
        let answer = loop {
            let answer = self
                .transaction(
                    &mut client,
                    queries,
                    shape,
                    isolation,
                    read_only,
                    deferrable,
                )
                .await;
            match answer {
                // Rolled back, so nothing happened: run it again with freshly prepared statements.
                Err((_, true)) if !retried => {
                    client.statement_cache.clear();
                    retried = true;
                }
                other => break other,
            }
        };
        // Answered (also with an error): the connection goes back to the pool.
        client.done();
        answer.map_err(|(f, _)| f)
    }

    /// One batch as one transaction; an error says whether a statement failed because the
    /// connection's prepared statement went stale.
    async fn transaction(
        &self,
        client: &mut crate::db::Lent,
        queries: &[Query],
        shape: Shape,
        isolation: Option<IsolationLevel>,
        read_only: Option<bool>,
        deferrable: Option<bool>,
    ) -> Result<Vec<Value>, (Failure, bool)> {
        let plain = |f: Failure| (f, false);
        async {
            let mut builder = client.build_transaction();
            if let Some(level) = isolation {
                builder = builder.isolation_level(level);
            }
            if let Some(ro) = read_only {
                builder = builder.read_only(ro);
            }
            if let Some(d) = deferrable {
                builder = builder.deferrable(d);
            }
            let tx = builder
                .start()
                .await
                .map_err(|e| plain(pg_failure(e, None)))?;
            let mut budget = self.config.max_response_bytes;
            let mut results = Vec::with_capacity(queries.len());
            for (index, q) in queries.iter().enumerate() {
                // An early return drops `tx`, which rolls back.
                let r = run_one(&tx, q, shape, &mut budget).await.map_err(|e| {
                    let stale = stale_statement(&e);
                    (pg_failure(e, Some(index)), stale)
                })?;
                results.push(r);
            }
            tx.commit().await.map_err(|e| plain(pg_failure(e, None)))?;
            Ok(results)
        }
        .await
    }
}

fn respond(status: u16, body: Vec<u8>) -> Response {
    Response {
        status,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("access-control-allow-origin".into(), "*".into()),
            (
                "access-control-allow-headers".into(),
                "Authorization, Content-Type, Neon-Connection-String, Neon-Raw-Text-Output, \
                 Neon-Array-Mode, Neon-Batch-Isolation-Level, Neon-Batch-Read-Only, \
                 Neon-Batch-Deferrable"
                    .into(),
            ),
            (
                "access-control-allow-methods".into(),
                "POST, OPTIONS".into(),
            ),
        ],
        body,
    }
}

fn too_large(max: usize) -> Failure {
    Failure::new(507, format!("response is too large (max is {max} bytes)"))
}

/// `true` / `false` header values.
fn flag(v: Option<&str>) -> Result<Option<bool>, Failure> {
    match v.map(|s| s.trim().to_ascii_lowercase()) {
        None => Ok(None),
        Some(s) if s == "true" => Ok(Some(true)),
        Some(s) if s == "false" => Ok(Some(false)),
        Some(s) => Err(Failure::new(
            400,
            format!("invalid boolean header value {s:?}"),
        )),
    }
}

fn parse_query(v: &Value) -> Result<Query, Failure> {
    let sql = v
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| Failure::new(400, "missing `query` (a string)"))?;
    let params = match v.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list.iter().map(param_text).collect(),
        Some(_) => return Err(Failure::new(400, "`params` must be an array")),
    };
    Ok(Query {
        sql: sql.to_string(),
        params,
    })
}

/// A JSON parameter as the text Postgres receives (Neon's conversion).
pub fn param_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(_) => Some(v.to_string()),
        Value::Array(items) => {
            let mut out = String::from("{");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match item {
                    Value::Null => out.push_str("NULL"),
                    Value::Array(_) => out.push_str(&param_text(item).unwrap_or_default()),
                    other => graphedge_core::encode::write_array_element(
                        &mut out,
                        &param_text(other).unwrap_or_default(),
                    ),
                }
            }
            out.push('}');
            Some(out)
        }
    }
}

/// A parameter sent in text format whatever type Postgres inferred for it.
#[derive(Debug)]
struct TextParam<'a>(Option<&'a str>);

impl ToSql for TextParam<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            None => Ok(IsNull::Yes),
            Some(s) => {
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// A value in Postgres' binary format, sent back as a parameter of its own type.
#[derive(Debug)]
struct BinaryParam<'a>(&'a [u8]);

impl ToSql for BinaryParam<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0);
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A result value in binary format.
struct Raw(Vec<u8>);

impl<'a> tokio_postgres::types::FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A result value: decoded text, still-binary bytes, or NULL (`None`).
type Cell = Option<Result<String, Vec<u8>>>;

/// Types whose binary form we turn into Postgres' exact text form locally; everything else
/// (floats, numeric, dates, arrays, ...) is converted by Postgres (`$n::text`).
fn local_text(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
            | Type::JSON
            | Type::JSONB
            | Type::BOOL
            | Type::INT2
            | Type::INT4
            | Type::INT8
            | Type::OID
            | Type::UUID
    )
}

/// The statement's command word (`SELECT`, `INSERT`, ...), from its text.
fn command_of(sql: &str) -> String {
    let mut rest = sql.trim_start();
    // Skip leading comments.
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |x| x.1).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |x| x.1).trim_start();
        } else {
            break;
        }
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    match word.to_ascii_uppercase().as_str() {
        "WITH" | "VALUES" | "TABLE" => "SELECT".to_string(),
        w => w.to_string(),
    }
}

/// Runs one statement and renders its result (counting rendered bytes against `budget`).
async fn run_one<C: GenericClient>(
    client: &C,
    q: &Query,
    shape: Shape,
    budget: &mut usize,
) -> Result<Value, RunError> {
    let stmt = client.prepare_cached(&q.sql).await?;
    if stmt.params().len() != q.params.len() {
        return Err(RunError::Protocol(format!(
            "bind message supplies {} parameters, but prepared statement requires {}",
            q.params.len(),
            stmt.params().len()
        )));
    }
    let params = q.params.iter().map(|p| TextParam(p.as_deref()));
    let stream = client.query_raw(&stmt, params).await?;
    pin_mut!(stream);
    let columns = stmt.columns();
    // Values: Some(Ok(text)) decoded, Some(Err(bytes)) still binary, None = NULL.
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    while let Some(row) = stream.try_next().await? {
        let mut values = Vec::with_capacity(columns.len());
        for (i, col) in columns.iter().enumerate() {
            let raw: Option<Raw> = row.try_get(i)?;
            let v = raw.map(|Raw(bytes)| {
                let size = bytes.len() + 8;
                *budget = budget.saturating_sub(size);
                if local_text(col.type_()) {
                    decode_text(col.type_(), bytes.clone()).map_err(|_| bytes)
                } else {
                    Err(bytes)
                }
            });
            values.push(v);
        }
        if *budget == 0 {
            return Err(RunError::TooLarge);
        }
        rows.push(values);
    }
    let affected = stream.rows_affected().unwrap_or(rows.len() as u64);
    let texts = to_text(client, columns, rows).await?;
    let fields: Vec<Value> = columns
        .iter()
        .map(|c| {
            json!({
                "name": c.name(),
                "dataTypeID": c.type_().oid(),
                "tableID": c.table_oid().unwrap_or(0),
                "columnID": c.column_id().unwrap_or(0),
                "dataTypeSize": -1,
                "dataTypeModifier": c.type_modifier(),
                "format": "text",
            })
        })
        .collect();
    let rendered: Vec<Value> = texts
        .into_iter()
        .map(|row| {
            let values = row
                .into_iter()
                .zip(columns)
                .map(|(v, c)| render(v, c.type_(), shape.raw_text));
            if shape.array_mode {
                Value::Array(values.collect())
            } else {
                let mut m = Map::new();
                for (v, c) in values.zip(columns) {
                    m.insert(c.name().to_string(), v);
                }
                Value::Object(m)
            }
        })
        .collect();
    Ok(json!({
        "command": command_of(&q.sql),
        "rowCount": affected,
        "rows": rendered,
        "fields": fields,
        "rowAsArray": shape.array_mode,
    }))
}

/// A value as JSON: its text, or (without raw text output) a JSON boolean, number or document.
fn render(v: Option<String>, ty: &Type, raw_text: bool) -> Value {
    let Some(text) = v else { return Value::Null };
    if raw_text {
        return Value::String(text);
    }
    match *ty {
        Type::BOOL => Value::Bool(text == "t"),
        Type::INT2 | Type::INT4 | Type::OID | Type::FLOAT4 | Type::FLOAT8 => {
            match serde_json::from_str::<serde_json::Number>(&text) {
                Ok(n) => Value::Number(n),
                Err(_) => Value::String(text),
            }
        }
        Type::JSON | Type::JSONB => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        _ => Value::String(text),
    }
}

/// Converts the still-binary values of a result to text with one `SELECT $1::text, ...` per
/// chunk, each parameter typed as its column (so Postgres' own output function renders it).
async fn to_text<C: GenericClient>(
    client: &C,
    columns: &[tokio_postgres::Column],
    rows: Vec<Vec<Cell>>,
) -> Result<Vec<Vec<Option<String>>>, RunError> {
    const CHUNK: usize = 256;
    let mut pending: Vec<(usize, usize)> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if matches!(v, Some(Err(_))) {
                pending.push((r, c));
            }
        }
    }
    let mut out: Vec<Vec<Option<String>>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| v.as_ref().and_then(|x| x.as_ref().ok().cloned()))
                .collect()
        })
        .collect();
    for chunk in pending.chunks(CHUNK) {
        let sql = format!(
            "SELECT {}",
            (1..=chunk.len())
                .map(|i| format!("${i}::text"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let types: Vec<Type> = chunk
            .iter()
            .map(|&(_, c)| columns[c].type_().clone())
            .collect();
        let params: Vec<BinaryParam<'_>> = chunk
            .iter()
            .map(|&(r, c)| match &rows[r][c] {
                Some(Err(bytes)) => BinaryParam(bytes),
                _ => BinaryParam(&[]),
            })
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let stmt = client.prepare_typed_cached(&sql, &types).await?;
        let row = client.query_one(&stmt, &refs).await?;
        for (i, &(r, c)) in chunk.iter().enumerate() {
            out[r][c] = row.try_get::<_, Option<String>>(i)?;
        }
    }
    Ok(out)
}

/// Whether a statement failed because the connection's cached prepared statement no longer
/// matches the database: its parameter or result types were inferred from objects that have
/// been dropped and created again since (`cache lookup failed for type …`), or its result type
/// changed. Preparing it again fixes it, and nothing ran.
fn stale_statement(e: &RunError) -> bool {
    let RunError::Pg(e) = e else { return false };
    e.as_db_error().is_some_and(|db| {
        (db.code().code() == "XX000" && db.message().starts_with("cache lookup failed for type"))
            || (db.code().code() == "0A000"
                && db.message() == "cached plan must not change result type")
    })
}

enum RunError {
    Pg(tokio_postgres::Error),
    Protocol(String),
    TooLarge,
}

impl From<tokio_postgres::Error> for RunError {
    fn from(e: tokio_postgres::Error) -> RunError {
        RunError::Pg(e)
    }
}

/// An execution error as Neon reports it (400 + Postgres' fields; 500 when the connection broke).
fn pg_failure(e: impl Into<RunError>, index: Option<usize>) -> Failure {
    let mut f = match e.into() {
        RunError::TooLarge => return Failure::new(507, "response is too large"),
        RunError::Protocol(m) => Failure {
            status: 400,
            body: json!({ "message": m, "code": "08P01", "severity": "ERROR" }),
        },
        RunError::Pg(e) => match e.as_db_error() {
            Some(db) => {
                let mut m = Map::new();
                m.insert("message".into(), db.message().into());
                m.insert("code".into(), db.code().code().into());
                m.insert("severity".into(), db.severity().into());
                let mut opt = |k: &str, v: Option<&str>| {
                    if let Some(v) = v {
                        m.insert(k.to_string(), v.into());
                    }
                };
                opt("detail", db.detail());
                opt("hint", db.hint());
                opt("where", db.where_());
                opt("schema", db.schema());
                opt("table", db.table());
                opt("column", db.column());
                opt("dataType", db.datatype());
                opt("constraint", db.constraint());
                opt("file", db.file());
                opt("routine", db.routine());
                let line = db.line().map(|l| l.to_string());
                opt("line", line.as_deref());
                match db.position() {
                    Some(ErrorPosition::Original(p)) => {
                        m.insert("position".into(), p.to_string().into());
                    }
                    Some(ErrorPosition::Internal { position, query }) => {
                        m.insert("internalPosition".into(), position.to_string().into());
                        m.insert("internalQuery".into(), query.clone().into());
                    }
                    None => {}
                }
                Failure {
                    status: 400,
                    body: Value::Object(m),
                }
            }
            None => Failure::new(500, crate::db::map_error(e).message),
        },
    };
    if let (Some(i), Value::Object(m)) = (index, &mut f.body) {
        m.insert("statementIndex".into(), i.into());
    }
    f
}

/// Serves only the gateway (`POST /sql`, and `GET /healthz`) on `listener` until `shutdown`
/// resolves with the shutdown deadline, then lets open connections finish their current request
/// until that deadline: `graphedge gateway`, and the loopback gateway of
/// `GRAPHEDGE_SQL_ENDPOINT=loopback` (which never stops: its own process needs it to the end).
pub async fn serve_only(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl Future<Output = tokio::time::Instant>,
) -> std::io::Result<()> {
    use http_body_util::{BodyExt, Full, Limited};
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioIo, TokioTimer};
    tokio::pin!(shutdown);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            deadline = &mut shutdown => {
                drop(listener);
                crate::shutdown::drain_connections(graceful, deadline).await;
                return Ok(());
            }
        };
        let _ = stream.set_nodelay(true);
        let gateway = gateway.clone();
        let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let gateway = gateway.clone();
            async move {
                let limit = gateway.config.max_request_bytes;
                let (parts, body) = req.into_parts();
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
                let path = parts.uri.path().to_string();
                let resp = match Limited::new(body, limit).collect().await {
                    Err(_) => respond(
                        413,
                        json!({ "message": format!("request is too large (max is {limit} bytes)") })
                            .to_string()
                            .into_bytes(),
                    ),
                    Ok(_) if path == "/healthz" => respond(200, b"{}".to_vec()),
                    Ok(_) if path != "/sql" => respond(404, b"{\"message\":\"not found\"}".to_vec()),
                    Ok(c) => {
                        let req = Request {
                            method: parts.method.as_str().to_string(),
                            path,
                            headers,
                            body: c.to_bytes().to_vec(),
                        };
                        gateway.handle(&req).await
                    }
                };
                let mut out = hyper::Response::new(Full::new(bytes::Bytes::from(resp.body)));
                *out.status_mut() = hyper::StatusCode::from_u16(resp.status)
                    .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
                for (k, v) in resp.headers {
                    if let (Ok(k), Ok(v)) = (
                        hyper::header::HeaderName::from_bytes(k.as_bytes()),
                        hyper::header::HeaderValue::from_str(&v),
                    ) {
                        out.headers_mut().append(k, v);
                    }
                }
                Ok::<_, std::convert::Infallible>(out)
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

/// 32 random bytes as hex (the loopback gateway's secret), from the OS.
pub fn random_secret() -> String {
    use std::io::Read;
    let mut buf = [0u8; 32];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if !ok {
        use std::hash::{BuildHasher, Hasher};
        for chunk in buf.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
