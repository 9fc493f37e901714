//! [`NeonDatabase`]: the engine's [`Database`] over Neon's serverless SQL-over-HTTP protocol,
//! through the host's [`HttpClient`] (`fetch` in a Worker, `wasi:http` in Spin, reqwest natively).
//!
//! The wire format is the one `@neondatabase/serverless`' `neon()` function speaks:
//!
//! * `POST <endpoint>` with headers `Neon-Connection-String: postgres://…`,
//!   `Neon-Raw-Text-Output: true` (values come back in Postgres' text form),
//!   `Neon-Array-Mode: true` (rows are arrays), optionally `Authorization: Bearer <token>`, and
//!   for batches `Neon-Batch-Isolation-Level` / `Neon-Batch-Read-Only` / `Neon-Batch-Deferrable`;
//! * body `{"query": "...", "params": ["text" | null, ...]}`, or `{"queries": [ ... ]}` for a
//!   batch that the server runs in ONE transaction;
//! * answer `{"command", "rowCount", "rows": [[...]], "fields": [{"name", "dataTypeID", ...}],
//!   "rowAsArray"}`, or `{"results": [ ... ]}` for a batch;
//! * errors: HTTP 400 with `{"message", "code" (SQLSTATE), "detail", "hint", "position", ...}`;
//!   graphedge's gateway adds `"statementIndex"` (0-based) when a statement of a batch failed.
//!
//! Parameters are sent as JSON strings (or `null`), so Postgres receives exactly that text.
//! `run_sql` splits the script ([`script_statements`]) and sends one statement as a single query
//! (autocommit, like a one-statement simple query) or several as one batch.
use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement};
use serde_json::{json, Map, Value};

use super::split::{max_param_ref, script_statements};
use crate::http::{HttpClient, HttpRequest, HttpResponse};

/// Where and how to reach a Neon-protocol endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct NeonConfig {
    /// The full URL of the SQL endpoint (`https://api.<region>.aws.neon.tech/sql`,
    /// `http://gateway:8080/sql`).
    pub endpoint: String,
    /// The Postgres connection string, sent as `Neon-Connection-String`.
    pub connection_string: String,
    /// Sent as `Authorization: Bearer <token>` when set.
    pub auth_token: Option<String>,
    /// `Neon-Batch-Isolation-Level` for batches (`ReadCommitted`, `RepeatableRead`,
    /// `Serializable`, `ReadUncommitted`); `None` = the server's default.
    pub isolation_level: Option<String>,
}

impl std::fmt::Debug for NeonConfig {
    // The connection string and token carry secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeonConfig")
            .field("endpoint", &self.endpoint)
            .field("auth_token", &self.auth_token.as_ref().map(|_| "<set>"))
            .field("isolation_level", &self.isolation_level)
            .finish_non_exhaustive()
    }
}

impl NeonConfig {
    /// A configuration for `connection_string` with the endpoint the npm driver derives from
    /// its host ([`default_endpoint`]).
    pub fn new(connection_string: &str) -> Result<NeonConfig, String> {
        Ok(NeonConfig {
            endpoint: default_endpoint(connection_string)?,
            connection_string: connection_string.to_string(),
            auth_token: None,
            isolation_level: None,
        })
    }

    /// Overrides the endpoint URL (our gateway, local tests). Empty = keep the default.
    pub fn with_endpoint(mut self, endpoint: &str) -> NeonConfig {
        if !endpoint.trim().is_empty() {
            self.endpoint = endpoint.trim().to_string();
        }
        self
    }

    /// Sets the bearer token (empty = none).
    pub fn with_auth_token(mut self, token: Option<&str>) -> NeonConfig {
        self.auth_token = token.filter(|t| !t.is_empty()).map(str::to_string);
        self
    }
}

/// The host of a connection string (`postgres://user:pw@host:port/db?…` or `host=… port=…`).
pub fn connection_host(connection_string: &str) -> Option<String> {
    let s = connection_string.trim();
    if let Some((_, rest)) = s.split_once("://") {
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        // First host of a multi-host list.
        let hostport = hostport.split(',').next().unwrap_or("");
        let host = if let Some(v6) = hostport.strip_prefix('[') {
            v6.split(']').next().unwrap_or("")
        } else {
            hostport.split(':').next().unwrap_or("")
        };
        return (!host.is_empty()).then(|| host.to_string());
    }
    s.split_whitespace()
        .find_map(|kv| kv.strip_prefix("host="))
        .map(|h| h.trim_matches('\'').to_string())
        .filter(|h| !h.is_empty())
}

/// The endpoint `@neondatabase/serverless` (1.x) uses by default: the host's first label
/// replaced by `api` (`ep-x-123.us-east-2.aws.neon.tech` → `https://api.us-east-2.aws.neon.tech/sql`).
pub fn default_endpoint(connection_string: &str) -> Result<String, String> {
    let host = connection_host(connection_string)
        .ok_or("the connection string has no host; set the SQL endpoint explicitly")?;
    let host = match host.split_once('.') {
        Some((_, rest)) => format!("api.{rest}"),
        None => host,
    };
    Ok(format!("https://{host}/sql"))
}

/// The engine's [`Database`] over the Neon HTTP protocol.
#[derive(Debug, Clone)]
pub struct NeonDatabase<H: HttpClient> {
    http: H,
    config: NeonConfig,
}

impl<H: HttpClient> NeonDatabase<H> {
    pub fn new(http: H, config: NeonConfig) -> NeonDatabase<H> {
        NeonDatabase { http, config }
    }

    pub fn config(&self) -> &NeonConfig {
        &self.config
    }

    /// Builds the HTTP request for one statement (`batch = false`) or a batch.
    pub fn request(&self, stmts: &[Statement], batch: bool) -> HttpRequest {
        // Parameters past the last `$n` the statement references are dropped: Postgres infers
        // the parameter count from the text (Neon prepares untyped), so extra ones would fail.
        let one = |s: &Statement| {
            let used = max_param_ref(&s.sql).min(s.params.len());
            json!({ "query": s.sql, "params": &s.params[..used] })
        };
        let body = if batch {
            json!({ "queries": stmts.iter().map(one).collect::<Vec<_>>() })
        } else {
            stmts.first().map(one).unwrap_or_else(|| json!({}))
        };
        let c = &self.config;
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            (
                "Neon-Connection-String".to_string(),
                c.connection_string.clone(),
            ),
            ("Neon-Raw-Text-Output".to_string(), "true".to_string()),
            ("Neon-Array-Mode".to_string(), "true".to_string()),
        ];
        if let Some(t) = &c.auth_token {
            headers.push(("Authorization".to_string(), format!("Bearer {t}")));
        }
        if batch {
            if let Some(level) = &c.isolation_level {
                headers.push(("Neon-Batch-Isolation-Level".to_string(), level.clone()));
            }
        }
        HttpRequest {
            timeout: None,
            method: "POST".to_string(),
            url: c.endpoint.clone(),
            headers,
            body: body.to_string().into_bytes(),
        }
    }

    /// Sends one statement or a batch and returns each statement's result.
    async fn send(&self, stmts: &[Statement], batch: bool) -> Result<Vec<WireResult>, DbError> {
        let req = self.request(stmts, batch);
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|e| DbError::connection(format!("SQL endpoint unreachable: {e}")))?;
        parse_response(&resp, batch)
    }
}

/// One result set as it came over the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WireResult {
    /// Column names (empty for statements without a result set).
    pub columns: Vec<String>,
    /// Whether the server sent a result description (`fields`) at all.
    pub tuples: bool,
    pub rows: Vec<Vec<Option<String>>>,
    pub row_count: u64,
}

impl WireResult {
    fn into_rows(self) -> Rows {
        Rows {
            columns: self.columns,
            rows: self.rows,
            row_count: self.row_count,
        }
    }
}

/// A value in its text form; non-string JSON (a server ignoring `Neon-Raw-Text-Output`) is
/// taken as its JSON text.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "t" } else { "f" }.to_string()),
        other => Some(other.to_string()),
    }
}

fn invalid(why: impl std::fmt::Display) -> DbError {
    DbError::connection(format!("invalid answer from the SQL endpoint: {why}"))
}

fn parse_result(v: &Value) -> Result<WireResult, DbError> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("a result is not an object"))?;
    let fields = obj.get("fields").and_then(Value::as_array);
    let columns: Vec<String> = fields
        .map(|f| {
            f.iter()
                .map(|x| {
                    x.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    let mut rows = Vec::new();
    if let Some(list) = obj.get("rows").and_then(Value::as_array) {
        for row in list {
            rows.push(match row {
                Value::Array(values) => values.iter().map(text_of).collect(),
                // Object mode (a server that ignored `Neon-Array-Mode`).
                Value::Object(m) => columns.iter().map(|c| m.get(c).and_then(text_of)).collect(),
                _ => return Err(invalid("a row is neither an array nor an object")),
            });
        }
    }
    let row_count = match obj.get("rowCount") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => rows.len() as u64,
    };
    Ok(WireResult {
        tuples: fields.is_some_and(|f| !f.is_empty()),
        columns,
        rows,
        row_count,
    })
}

fn str_field(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Maps an HTTP answer to results or a [`DbError`]: 2xx carries results; a JSON error with a
/// SQLSTATE `code` is a database error; anything else (bad credentials, size limits, a proxy's
/// HTML page) means the database could not be used (`connection: true`).
pub fn parse_response(resp: &HttpResponse, batch: bool) -> Result<Vec<WireResult>, DbError> {
    let json: Result<Value, _> = serde_json::from_slice(&resp.body);
    if !(200..300).contains(&resp.status) {
        if let Ok(Value::Object(m)) = &json {
            let message = str_field(m, "message")
                .or_else(|| str_field(m, "error"))
                .unwrap_or_else(|| format!("HTTP status {}", resp.status));
            let code = str_field(m, "code").filter(|c| c.len() == 5);
            let statement = m
                .get("statementIndex")
                .and_then(Value::as_u64)
                .map(|i| i as usize);
            return Err(DbError {
                connection: code.is_none(),
                message: if code.is_none() {
                    format!("SQL endpoint error (HTTP {}): {message}", resp.status)
                } else {
                    message
                },
                code,
                detail: str_field(m, "detail"),
                hint: str_field(m, "hint"),
                statement,
            });
        }
        let text = String::from_utf8_lossy(&resp.body);
        let text: String = text.chars().take(300).collect();
        return Err(DbError::connection(format!(
            "SQL endpoint error (HTTP {}): {}",
            resp.status,
            text.trim()
        )));
    }
    let json = json.map_err(invalid)?;
    if batch {
        let results = json
            .get("results")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("no `results` array in a batch answer"))?;
        results.iter().map(parse_result).collect()
    } else {
        Ok(vec![parse_result(&json)?])
    }
}

impl<H: HttpClient> Database for NeonDatabase<H> {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        let mut results = self.send(std::slice::from_ref(stmt), false).await?;
        let first = results.pop().unwrap_or_default();
        Ok(first
            .rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .flatten())
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        if stmts.is_empty() {
            return Ok(Vec::new());
        }
        let results = self.send(stmts, true).await?;
        if results.len() != stmts.len() {
            return Err(invalid(format!(
                "{} results for {} statements",
                results.len(),
                stmts.len()
            )));
        }
        Ok(results.into_iter().map(WireResult::into_rows).collect())
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        let stmts = script_statements(sql);
        if stmts.is_empty() {
            return Ok(Vec::new());
        }
        let results = self.send(&stmts, stmts.len() > 1).await?;
        Ok(results
            .into_iter()
            .map(|r| {
                if r.tuples {
                    SqlResult::Tuples(r.into_rows())
                } else {
                    SqlResult::Command
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Records requests and answers with canned responses, in order.
    struct Canned {
        answers: RefCell<Vec<Result<HttpResponse, String>>>,
        seen: RefCell<Vec<HttpRequest>>,
    }

    impl HttpClient for &Canned {
        async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
            self.seen.borrow_mut().push(req);
            self.answers.borrow_mut().remove(0)
        }
    }

    fn canned(answers: Vec<Result<HttpResponse, String>>) -> Canned {
        Canned {
            answers: RefCell::new(answers),
            seen: RefCell::new(Vec::new()),
        }
    }

    fn ok(status: u16, body: Value) -> Result<HttpResponse, String> {
        Ok(HttpResponse {
            status,
            headers: vec![],
            body: body.to_string().into_bytes(),
        })
    }

    fn config() -> NeonConfig {
        NeonConfig::new("postgres://u:p@ep-cool-1.us-east-2.aws.neon.tech/db?sslmode=require")
            .unwrap()
    }

    /// Runs a future that never waits on anything real.
    fn block<F: std::future::Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
        fn raw() -> RawWaker {
            fn clone(_: *const ()) -> RawWaker {
                raw()
            }
            fn noop(_: *const ()) {}
            static VT: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
            RawWaker::new(std::ptr::null(), &VT)
        }
        let waker = unsafe { Waker::from_raw(raw()) };
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    fn stmt(sql: &str, params: &[Option<&str>]) -> Statement {
        Statement {
            sql: sql.to_string(),
            params: params.iter().map(|p| p.map(str::to_string)).collect(),
        }
    }

    fn result(names: &[&str], rows: Value, count: u64) -> Value {
        let fields: Vec<Value> = names
            .iter()
            .map(|n| json!({"name": n, "dataTypeID": 25}))
            .collect();
        json!({"command": "SELECT", "rowCount": count, "rows": rows, "fields": fields, "rowAsArray": true})
    }

    #[test]
    fn endpoints_and_hosts() {
        assert_eq!(config().endpoint, "https://api.us-east-2.aws.neon.tech/sql");
        let host = |s: &str| connection_host(s);
        assert_eq!(
            host("postgresql://a:b@c@h.x:5432/d").as_deref(),
            Some("h.x")
        );
        assert_eq!(host("postgres://[::1]:5432/d").as_deref(), Some("::1"));
        assert_eq!(host("postgres://h1,h2/d").as_deref(), Some("h1"));
        assert_eq!(host("host=db.local port=5432").as_deref(), Some("db.local"));
        assert_eq!(host("postgres:///db"), None);
        assert!(NeonConfig::new("dbname=x").is_err());
        assert_eq!(
            default_endpoint("postgres://localhost/db").unwrap(),
            "https://localhost/sql"
        );
        let c = config()
            .with_endpoint("http://127.0.0.1:8080/sql")
            .with_auth_token(Some("s3cret"));
        assert_eq!(c.endpoint, "http://127.0.0.1:8080/sql");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(!format!("{c:?}").contains("u:p"));
    }

    #[test]
    fn builds_requests() {
        let c = canned(vec![]);
        let mut cfg = config().with_auth_token(Some("tok"));
        cfg.isolation_level = Some("Serializable".into());
        let db = NeonDatabase::new(&c, cfg);
        let r = db.request(
            &[stmt("select $1::int, $2::text", &[Some("1"), None])],
            false,
        );
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "https://api.us-east-2.aws.neon.tech/sql");
        let h = |n: &str| crate::auth::header(&r.headers, n).map(str::to_string);
        assert_eq!(h("neon-raw-text-output").as_deref(), Some("true"));
        assert_eq!(h("neon-array-mode").as_deref(), Some("true"));
        assert_eq!(h("authorization").as_deref(), Some("Bearer tok"));
        assert!(h("neon-connection-string")
            .unwrap()
            .starts_with("postgres://u:p@"));
        assert_eq!(h("neon-batch-isolation-level"), None);
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"query": "select $1::int, $2::text", "params": ["1", null]})
        );

        // Unreferenced trailing parameters are not sent.
        let r = db.request(
            &[stmt("a", &[Some("unused")]), stmt("b $1", &[Some("x")])],
            true,
        );
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"queries": [{"query": "a", "params": []}, {"query": "b $1", "params": ["x"]}]})
        );
        assert_eq!(
            crate::auth::header(&r.headers, "neon-batch-isolation-level"),
            Some("Serializable")
        );
    }

    #[test]
    fn query_one_reads_first_value() {
        let c = canned(vec![
            ok(200, result(&["data"], json!([["{\"a\":1}"]]), 1)),
            ok(200, result(&["data"], json!([]), 0)),
            ok(200, result(&["data"], json!([[null]]), 1)),
            // A server ignoring array mode / raw text.
            ok(200, json!({"fields": [{"name": "n"}], "rows": [{"n": 5}]})),
        ]);
        let db = NeonDatabase::new(&c, config());
        let q = stmt("select 1", &[]);
        assert_eq!(
            block(db.query_one(&q)).unwrap().as_deref(),
            Some("{\"a\":1}")
        );
        assert_eq!(block(db.query_one(&q)).unwrap(), None);
        assert_eq!(block(db.query_one(&q)).unwrap(), None);
        assert_eq!(block(db.query_one(&q)).unwrap().as_deref(), Some("5"));
    }

    #[test]
    fn transactions_and_run_sql() {
        let c = canned(vec![
            ok(
                200,
                json!({"results": [
                    {"command": "INSERT", "rowCount": 3, "rows": [], "fields": []},
                    result(&["a", "b"], json!([["1", null], ["2", "x"]]), 2),
                ]}),
            ),
            ok(
                200,
                json!({"results": [
                    {"command": "CREATE", "rowCount": null, "rows": [], "fields": []},
                    result(&["n"], json!([]), 0),
                ]}),
            ),
            ok(200, {
                let mut r = result(&["one"], json!([["1"]]), 1);
                r["command"] = json!("SELECT");
                r
            }),
            ok(200, json!({"results": [result(&["x"], json!([]), 0)]})),
        ]);
        let db = NeonDatabase::new(&c, config());
        let rows = block(db.transaction(&[stmt("insert", &[]), stmt("select", &[])])).unwrap();
        assert_eq!(rows[0].row_count, 3);
        assert!(rows[0].columns.is_empty());
        assert_eq!(rows[1].columns, vec!["a", "b"]);
        assert_eq!(
            rows[1].rows,
            vec![
                vec![Some("1".to_string()), None],
                vec![Some("2".into()), Some("x".into())]
            ]
        );

        let out = block(db.run_sql("create table t(); select n from t where false;")).unwrap();
        assert_eq!(out[0], SqlResult::Command);
        assert!(matches!(&out[1], SqlResult::Tuples(r) if r.columns == ["n"] && r.rows.is_empty()));
        let sent: Value = serde_json::from_slice(&c.seen.borrow()[1].body).unwrap();
        assert_eq!(sent["queries"][1]["query"], "select n from t where false");

        // One statement goes as a single query (autocommit).
        let out = block(db.run_sql("select 1 as one;")).unwrap();
        assert!(matches!(&out[0], SqlResult::Tuples(r) if r.rows == [[Some("1".to_string())]]));
        let sent: Value = serde_json::from_slice(&c.seen.borrow()[2].body).unwrap();
        assert_eq!(sent, json!({"query": "select 1 as one", "params": []}));
        assert_eq!(block(db.run_sql("-- nothing\n;")).unwrap(), vec![]);
        assert_eq!(block(db.transaction(&[])).unwrap(), vec![]);
        // A result count that does not match is an error.
        assert!(block(db.transaction(&[stmt("a", &[]), stmt("b", &[])])).is_err());
    }

    #[test]
    fn maps_errors() {
        let c = canned(vec![
            ok(
                400,
                json!({"message": "duplicate key value violates unique constraint \"t_pkey\"",
                       "code": "23505", "detail": "Key (id)=(1) already exists.", "hint": null,
                       "severity": "ERROR", "statementIndex": 1}),
            ),
            ok(400, json!({"message": "password authentication failed"})),
            Ok(HttpResponse {
                status: 502,
                headers: vec![],
                body: b"<html>bad gateway</html>".to_vec(),
            }),
            Err("connection refused".to_string()),
            ok(200, json!({"nope": 1})),
            ok(
                400,
                json!({"message": "syntax error at or near \"x\"", "code": "42601", "position": "1"}),
            ),
        ]);
        let db = NeonDatabase::new(&c, config());
        let two = [stmt("a", &[]), stmt("b", &[])];
        let e = block(db.transaction(&two)).unwrap_err();
        assert_eq!(e.code.as_deref(), Some("23505"));
        assert_eq!(e.detail.as_deref(), Some("Key (id)=(1) already exists."));
        assert_eq!(e.hint, None);
        assert_eq!(e.statement, Some(1));
        assert!(!e.connection);
        let e = block(db.transaction(&two)).unwrap_err();
        assert!(e.connection && e.code.is_none(), "{e:?}");
        assert!(e.message.contains("password authentication failed"));
        let e = block(db.transaction(&two)).unwrap_err();
        assert!(e.connection && e.message.contains("502"), "{e:?}");
        let e = block(db.query_one(&two[0])).unwrap_err();
        assert!(e.connection && e.message.contains("connection refused"));
        let e = block(db.transaction(&two)).unwrap_err();
        assert!(e.connection && e.message.contains("results"));
        // Real Neon does not say which statement failed.
        let e = block(db.query_one(&two[0])).unwrap_err();
        assert_eq!((e.code.as_deref(), e.statement), (Some("42601"), None));
    }
}
