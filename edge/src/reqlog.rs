//! Hasura's log lines for one request: what the edge knows of it (request id, session, the
//! parsed request, the error, the generated SQL), turned into the `detail` of Hasura's
//! `http-log` and `query-log` lines. The host adds what only it knows (status, client address,
//! sizes, timings), the envelope (`timestamp`, `level`, `type`) and writes the lines.
//!
//! Which parts appear follows Hasura (`Hasura.Server.Logging`): `operation.query` is the
//! parsed request only when `query-log` is among the enabled log types and the path is not a
//! metadata path (`/v1/metadata`, `/v1/query`) — unless `HASURA_GRAPHQL_ENABLE_METADATA_QUERY_LOGGING`
//! — and otherwise `{"type": <the request's "type">}`; an error whose request was never parsed
//! (authentication failed, the body is not a request) carries `raw_query`, the body text, under
//! the same condition.
use serde_json::{json, Map, Value as Json};

use graphedge_core::Session;

/// Hasura's log types a user may enable, in its documentation's order.
pub const LOG_TYPES: &[&str] = &[
    "startup",
    "http-log",
    "webhook-log",
    "websocket-log",
    "query-log",
    "execution-log",
    "livequery-poller-log",
    "action-handler-log",
    "data-connector-log",
    "jwk-refresh-log",
    "validate-input-log",
];

/// `HASURA_GRAPHQL_ENABLED_LOG_TYPES`' default.
pub const DEFAULT_LOG_TYPES: &[&str] = &[
    "startup",
    "http-log",
    "webhook-log",
    "websocket-log",
    "jwk-refresh-log",
];

/// Log levels, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Level {
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

impl Level {
    /// A level's name (`debug`, `info`, `warn`, `error`; anything else is `info`).
    pub fn parse(name: &str) -> Level {
        match name {
            "debug" => Level::Debug,
            "warn" => Level::Warn,
            "error" => Level::Error,
            _ => Level::Info,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// What gets logged (`HASURA_GRAPHQL_ENABLED_LOG_TYPES`, `HASURA_GRAPHQL_LOG_LEVEL`,
/// `HASURA_GRAPHQL_ENABLE_METADATA_QUERY_LOGGING`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub types: Vec<String>,
    pub level: Level,
    pub metadata_query_logging: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            types: DEFAULT_LOG_TYPES.iter().map(|s| s.to_string()).collect(),
            level: Level::Info,
            metadata_query_logging: false,
        }
    }
}

impl LogSettings {
    pub fn from_env(get: &impl Fn(&str) -> Option<String>) -> Result<LogSettings, String> {
        let mut s = LogSettings::default();
        let nonempty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = nonempty("HASURA_GRAPHQL_ENABLED_LOG_TYPES") {
            s.types.clear();
            for t in v.split(',').map(|t| t.trim().to_ascii_lowercase()) {
                if !LOG_TYPES.contains(&t.as_str()) {
                    return Err(format!(
                        "HASURA_GRAPHQL_ENABLED_LOG_TYPES: unknown log type {t:?}; valid types: {}",
                        LOG_TYPES.join(", ")
                    ));
                }
                if !s.types.contains(&t) {
                    s.types.push(t);
                }
            }
        }
        if let Some(v) = nonempty("HASURA_GRAPHQL_LOG_LEVEL") {
            s.level = match v.trim().to_ascii_lowercase().as_str() {
                "debug" => Level::Debug,
                "info" => Level::Info,
                "warn" => Level::Warn,
                "error" => Level::Error,
                _ => {
                    return Err(format!(
                        "HASURA_GRAPHQL_LOG_LEVEL: expected debug, info, warn or error, got {v:?}"
                    ))
                }
            };
        }
        if let Some(v) = nonempty("HASURA_GRAPHQL_ENABLE_METADATA_QUERY_LOGGING") {
            s.metadata_query_logging = crate::config::parse_bool(&v).ok_or_else(|| {
                format!("HASURA_GRAPHQL_ENABLE_METADATA_QUERY_LOGGING: expected true or false, got {v:?}")
            })?;
        }
        Ok(s)
    }

    /// Whether lines of this type are written.
    pub fn enabled(&self, ty: &str) -> bool {
        self.types.iter().any(|t| t == ty)
    }

    /// Whether `operation.query` of a request to `path` is the request itself.
    fn query_included(&self, path: &str) -> bool {
        self.enabled("query-log")
            && (self.metadata_query_logging || !matches!(path, "/v1/metadata" | "/v1/query"))
    }
}

/// One statement the request ran, for `query-log`.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedSql {
    /// The GraphQL request (`{query, variables, operationName}`).
    pub query: Json,
    /// Root fields the statement answers (one statement answers them all).
    pub fields: Vec<String>,
    pub sql: String,
    pub params: Vec<Option<String>>,
}

/// What the edge recorded of one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestLog {
    /// `x-request-id` (hosts set one when the client did not).
    pub request_id: String,
    /// The session's variables, `x-hasura-role` included, in order (`None`: not authenticated).
    pub user_vars: Option<Vec<(String, String)>>,
    /// The parsed request body (`None`: never parsed).
    pub parsed: Option<Json>,
    /// The request's top-level `"type"` (metadata requests), for the default `query` field.
    pub request_type: Option<String>,
    /// Hasura's `{path, error, code}` of a failed request.
    pub error: Option<Json>,
    /// The body text of a failed request that was never parsed (`raw_query`).
    pub raw_body: Option<String>,
    /// `single`, `batched` (GraphQL), `non-graphql`; `error` is implied by `error`.
    pub mode: &'static str,
    /// The body size before gzip, when the answer was gzipped.
    pub uncompressed_size: Option<usize>,
    /// Statements run, when `query-log` is enabled.
    pub generated_sql: Vec<GeneratedSql>,
    /// Whether statements are recorded (`query-log` enabled).
    pub(crate) record_sql: bool,
    /// The answer is a `@cached` query's: its cache headers.
    pub cache: Option<Box<crate::response_cache::Served>>,
    /// The type of the GraphQL operation last planned (for the metrics).
    pub(crate) operation_type: Option<crate::metrics::OperationType>,
    /// Traces are exported (the metadata's `opentelemetry`): the edge records [`SpanRecord`]s.
    pub trace: bool,
    /// The request's inner spans (compile, database), when `trace`.
    pub spans: Vec<SpanRecord>,
    /// The auth webhook's `Set-Cookie` headers, for the answer.
    pub(crate) set_cookies: Vec<String>,
    /// The request's `traceparent` when traced (the host set it to the request's span): a
    /// mutation stores it for its events (`hasura.tracecontext`).
    pub(crate) traceparent: Option<String>,
}

/// One timed step of a request, on the host's monotonic clock (microseconds); the host turns
/// it into a child span of the request's span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    pub name: &'static str,
    pub start_us: u64,
    pub end_us: u64,
    pub attributes: Vec<(&'static str, String)>,
}

/// One line of Hasura's envelope, `{"timestamp","level","type","detail"}` (no newline):
/// `detail` is JSON text, `now_ms` the unix time in milliseconds, written as Hasura writes it
/// (`2024-01-31T10:20:30.123+0000`, UTC).
pub fn envelope(level: &str, ty: &str, detail: &str, now_ms: i64) -> String {
    use core::fmt::Write as _;
    let c = graphedge_metadata::cron::Civil::from_unix(now_ms.div_euclid(1000));
    let mut out = String::with_capacity(detail.len() + 96);
    let _ = write!(
        out,
        "{{\"timestamp\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000\",\"level\":",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        now_ms.rem_euclid(1000),
    );
    str_json(&mut out, level);
    out.push_str(",\"type\":");
    str_json(&mut out, ty);
    out.push_str(",\"detail\":");
    out.push_str(detail);
    out.push('}');
    out
}

/// What only the host knows of a served request.
#[derive(Debug, Clone)]
pub struct HttpInfo<'a> {
    pub status: u16,
    pub method: &'a str,
    /// The path without the query string.
    pub url: &'a str,
    pub ip: &'a str,
    pub http_version: &'a str,
    pub gzipped: bool,
    /// Body bytes sent, and before compression.
    pub response_size: usize,
    pub uncompressed_response_size: usize,
    /// Seconds reading the request, and handling it.
    pub request_read_time: f64,
    pub query_execution_time: f64,
}

impl RequestLog {
    pub(crate) fn new(settings: &LogSettings, request_id: Option<&str>) -> RequestLog {
        RequestLog {
            request_id: request_id.unwrap_or_default().to_string(),
            mode: "non-graphql",
            record_sql: settings.enabled("query-log"),
            ..Default::default()
        }
    }

    /// The request's log lines in Hasura's envelope ([`envelope`]), as `settings` enable them:
    /// the `http-log` line, then a `query-log` line per statement.
    pub fn lines(&self, settings: &LogSettings, info: &HttpInfo<'_>, now_ms: i64) -> Vec<String> {
        let mut out = Vec::new();
        if settings.enabled("http-log") {
            let (level, detail) = self.http_log(settings, info);
            if Level::parse(level) >= settings.level {
                out.push(envelope(level, "http-log", &detail, now_ms));
            }
        }
        if settings.enabled("query-log") && Level::Info >= settings.level {
            for detail in self.query_logs() {
                out.push(envelope("info", "query-log", &detail.to_string(), now_ms));
            }
        }
        out
    }

    /// Records a span that started at `start` (when tracing and the host has a clock).
    pub(crate) fn span(
        &mut self,
        clock: Option<&dyn crate::Clock>,
        name: &'static str,
        start: Option<u64>,
        attributes: Vec<(&'static str, String)>,
    ) {
        if !self.trace {
            return;
        }
        if let (Some(start_us), Some(end_us)) = (start, clock.and_then(|c| c.monotonic_micros())) {
            self.spans.push(SpanRecord {
                name,
                start_us,
                end_us,
                attributes,
            });
        }
    }

    pub(crate) fn session(&mut self, s: &Session) {
        let mut vars = Vec::with_capacity(s.vars.len() + 1);
        let mut role = false;
        for (k, v) in &s.vars {
            if k == "x-hasura-role" {
                // The session's role wins, where the variable stood.
                vars.push((k.clone(), s.role.clone()));
                role = true;
            } else {
                vars.push((k.clone(), v.clone()));
            }
        }
        if !role {
            vars.push(("x-hasura-role".to_string(), s.role.clone()));
        }
        self.user_vars = Some(vars);
    }

    /// Records a GraphQL statement for `query-log`.
    pub(crate) fn sql(
        &mut self,
        req: &crate::graphql::GqlRequest,
        sql: &str,
        params: &[Option<String>],
    ) {
        if !self.record_sql {
            return;
        }
        let mut q = Map::new();
        q.insert("query".into(), Json::String(req.query.clone()));
        if !req.variables.is_empty() {
            let vars: Map<String, Json> = req
                .variables
                .iter()
                .map(|(k, v)| (k.clone(), graphedge_metadata::value_to_json(v)))
                .collect();
            q.insert("variables".into(), Json::Object(vars));
        }
        if let Some(op) = &req.operation_name {
            q.insert("operationName".into(), Json::String(op.clone()));
        }
        self.generated_sql.push(GeneratedSql {
            query: Json::Object(q),
            fields: root_fields(&req.query, req.operation_name.as_deref()),
            sql: sql.to_string(),
            params: params.to_vec(),
        });
    }

    /// The `detail` of the `http-log` line (JSON text) and its level. Written straight into
    /// text, not built as a JSON value first: every request writes this line, so it is on the
    /// hot path of every query.
    pub fn http_log(&self, settings: &LogSettings, info: &HttpInfo<'_>) -> (&'static str, String) {
        use core::fmt::Write as _;
        let included = settings.query_included(info.url);
        let mut out = String::with_capacity(512);
        let o = &mut out;
        let _ = write!(
            o,
            "{{\"http_info\":{{\"status\":{},\"method\":",
            info.status
        );
        str_json(o, info.method);
        o.push_str(",\"ip\":");
        str_json(o, info.ip);
        o.push_str(",\"url\":");
        str_json(o, info.url);
        o.push_str(",\"http_version\":");
        str_json(o, info.http_version);
        o.push_str(",\"content_encoding\":");
        o.push_str(if info.gzipped { "\"gzip\"" } else { "null" });
        o.push_str("},\"operation\":{\"request_id\":");
        str_json(o, &self.request_id);
        if let Some(vars) = &self.user_vars {
            o.push_str(",\"user_vars\":{");
            for (i, (k, v)) in vars.iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                str_json(o, k);
                o.push(':');
                str_json(o, v);
            }
            o.push('}');
        }
        let _ = write!(
            o,
            ",\"response_size\":{},\"uncompressed_response_size\":{},\"request_read_time\":{},\"query_execution_time\":{}",
            info.response_size,
            info.uncompressed_response_size,
            info.request_read_time,
            info.query_execution_time
        );
        match &self.parsed {
            Some(q) if included => {
                o.push_str(",\"query\":");
                o.push_str(&q.to_string());
            }
            Some(_) => push_type(o, self.request_type.as_deref()),
            None if !included => push_type(o, self.request_type.as_deref()),
            None => {}
        }
        if let Some(e) = &self.error {
            if included && self.parsed.is_none() {
                if let Some(raw) = &self.raw_body {
                    o.push_str(",\"raw_query\":");
                    str_json(o, raw);
                }
            }
            o.push_str(",\"error\":");
            o.push_str(&e.to_string());
        }
        let (level, mode) = match self.error {
            Some(_) => ("error", "error"),
            None => ("info", self.mode),
        };
        o.push_str(",\"request_mode\":");
        str_json(o, mode);
        o.push_str("},\"request_id\":");
        str_json(o, &self.request_id);
        o.push('}');
        (level, out)
    }

    /// The `detail` of each `query-log` line (Hasura's `{kind, request_id, query, generated_sql}`).
    pub fn query_logs(&self) -> Vec<Json> {
        self.generated_sql
            .iter()
            .map(|g| {
                let stmt = json!({"prepared_arguments": g.params, "query": g.sql});
                let sql: Map<String, Json> =
                    g.fields.iter().map(|f| (f.clone(), stmt.clone())).collect();
                json!({
                    "kind": "database",
                    "request_id": self.request_id,
                    "query": g.query,
                    "generated_sql": sql,
                })
            })
            .collect()
    }
}

/// `s` as a JSON string.
fn str_json(out: &mut String, s: &str) {
    graphedge_core::encode::write_json_string(out, s);
}

/// The default `query` member: `{"type": <the request's "type">}`.
fn push_type(out: &mut String, ty: Option<&str>) {
    out.push_str(",\"query\":{\"type\":");
    match ty {
        Some(t) => str_json(out, t),
        None => out.push_str("null"),
    }
    out.push('}');
}

/// The response keys of the operation's top-level fields (fragments spread at the top level
/// are looked into once; no directives evaluated). Empty when the query does not parse.
pub fn root_fields(query: &str, operation_name: Option<&str>) -> Vec<String> {
    use graphedge_core::parse::ast::Selection;
    let Ok(doc) = graphedge_core::parse::parse(query) else {
        return Vec::new();
    };
    let op = match operation_name {
        Some(n) => doc.operations.iter().find(|o| o.name.as_deref() == Some(n)),
        None => doc.operations.first(),
    };
    let Some(op) = op else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let push = |sels: &[Selection], out: &mut Vec<String>| {
        for s in sels {
            if let Selection::Field(f) = s {
                let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
                if !out.contains(&key) {
                    out.push(key);
                }
            }
        }
    };
    push(&op.selection_set, &mut out);
    for s in &op.selection_set {
        match s {
            Selection::InlineFragment(f) => push(&f.selection_set, &mut out),
            Selection::FragmentSpread(sp) => {
                if let Some(f) = doc.fragments.iter().find(|f| f.name == sp.name) {
                    push(&f.selection_set, &mut out);
                }
            }
            Selection::Field(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_log_text_is_hasuras_detail() {
        let mut log = RequestLog::new(&LogSettings::default(), Some("r\"1"));
        let mut session = Session::admin();
        session.role = "user".into();
        session
            .vars
            .insert("x-hasura-role".into(), "ignored".into());
        session.vars.insert("x-hasura-user-id".into(), "7".into());
        log.session(&session);
        log.mode = "single";
        let info = HttpInfo {
            status: 200,
            method: "POST",
            url: "/v1/graphql",
            ip: "::1",
            http_version: "HTTP/1.1",
            gzipped: true,
            response_size: 10,
            uncompressed_response_size: 20,
            request_read_time: 0.5,
            query_execution_time: 2.5e-7,
        };
        let (level, text) = log.http_log(&LogSettings::default(), &info);
        assert_eq!(level, "info");
        let v: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!({
                "http_info": {"status": 200, "method": "POST", "ip": "::1", "url": "/v1/graphql",
                    "http_version": "HTTP/1.1", "content_encoding": "gzip"},
                "operation": {"request_id": "r\"1",
                    "user_vars": {"x-hasura-role": "user", "x-hasura-user-id": "7"},
                    "response_size": 10, "uncompressed_response_size": 20,
                    "request_read_time": 0.5, "query_execution_time": 2.5e-7,
                    "query": {"type": null}, "request_mode": "single"},
                "request_id": "r\"1",
            })
        );
        // Members in Hasura's order.
        let keys: Vec<&String> = v["operation"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "request_id",
                "user_vars",
                "response_size",
                "uncompressed_response_size",
                "request_read_time",
                "query_execution_time",
                "query",
                "request_mode"
            ]
        );
        // A failed request: level error, mode error, the error itself.
        log.error = Some(json!({"path": "$", "error": "no", "code": "x"}));
        let (level, text) = log.http_log(&LogSettings::default(), &info);
        let v: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (
                level,
                &v["operation"]["request_mode"],
                &v["operation"]["error"]["code"]
            ),
            ("error", &json!("error"), &json!("x"))
        );
    }
}
