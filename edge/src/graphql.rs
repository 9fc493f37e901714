//! GraphQL over HTTP: decoding the body (one request object or a batch array), the allowlist,
//! the plan cache, compiling with core, running the plan's SQL, and shaping the response
//! (`{"data": <the database's JSON text>}` by concatenation, never re-parsed).
use std::sync::Arc;

use graphedge_core::{encode, Plan, PlanKind, Session, Slot, Value};
use serde_json::Value as Json;

use crate::actions::Outbound;
use crate::cache::CacheKey;
use crate::error::{db_error, EdgeError};
use crate::http::HttpClient;
use crate::md::{json_to_value, Database, Statement};
use crate::reqlog::RequestLog;
use crate::{Engine, Loaded};

/// One decoded GraphQL request.
#[derive(Debug, Clone, PartialEq)]
pub struct GqlRequest {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Vec<(String, Value)>,
    /// Served on `/v1beta1/relay`: compiled against the Relay schema.
    pub relay: bool,
}

/// A decoded body: one request, or a batch (answered with an array).
#[derive(Debug, Clone, PartialEq)]
pub enum GqlBody {
    Single(GqlRequest),
    Batch(Vec<GqlRequest>),
}

/// Aeson's name of a JSON value's kind, for Hasura-like messages.
pub(crate) fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "Null",
        Json::Bool(_) => "Boolean",
        Json::Number(_) => "Number",
        Json::String(_) => "String",
        Json::Array(_) => "Array",
        Json::Object(_) => "Object",
    }
}

/// Decodes one request object; `path` is `$` or `$[i]` for batch elements.
fn decode_one(v: &Json, path: &str) -> Result<GqlRequest, EdgeError> {
    let fail = |msg: String| EdgeError::parse_failed(msg).at(path);
    let o = v.as_object().ok_or_else(|| {
        fail(format!(
            "parsing GQLReq failed, expected Object, but encountered {}",
            kind(v)
        ))
    })?;
    if asks_persisted_query(o.get("extensions")) {
        return Err(EdgeError::new(
            400,
            "not-supported",
            "Automatic Persisted Queries is not enabled",
        )
        .at(path));
    }
    let query = match o.get("query") {
        Some(Json::String(s)) => s.clone(),
        None => return Err(fail("key \"query\" not found".into())),
        Some(other) => {
            return Err(fail(format!(
                "parsing Text failed, expected String, but encountered {}",
                kind(other)
            )))
        }
    };
    let operation_name = match o.get("operationName") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(fail(format!(
                "parsing Name failed, expected String, but encountered {}",
                kind(other)
            )))
        }
    };
    let variables = match o.get("variables") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect(),
        Some(other) => {
            return Err(fail(format!(
                "parsing HashMap failed, expected Object, but encountered {}",
                kind(other)
            )))
        }
    };
    Ok(GqlRequest {
        relay: false,
        query,
        operation_name,
        variables,
    })
}

/// Decodes a `/v1/graphql` body.
pub fn decode_body(body: &[u8]) -> Result<GqlBody, EdgeError> {
    match decode_plain(body) {
        Ok(r) => Ok(GqlBody::Single(r)),
        // Not JSON at all: the tree would only fail the same way, so it is not read twice.
        Err(Some(e)) if e.is_syntax() || e.is_eof() => Err(not_json()),
        Err(_) => decode_json(body),
    }
}

fn not_json() -> EdgeError {
    EdgeError::invalid_json("Error in $: Failed reading: not a valid json value")
}

/// Whether a request's `extensions` ask for a persisted query (Hasura's APQ, which its OSS
/// build answers with not-supported).
fn asks_persisted_query(extensions: Option<&Json>) -> bool {
    extensions.and_then(|e| e.get("persistedQuery")).is_some()
}

/// [`decode_body`] through a JSON tree: any body, with Hasura's errors.
fn decode_json(body: &[u8]) -> Result<GqlBody, EdgeError> {
    let v: Json = serde_json::from_slice(body).map_err(|_| not_json())?;
    match &v {
        Json::Array(items) => {
            let reqs = items
                .iter()
                .enumerate()
                .map(|(i, item)| decode_one(item, &format!("$[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(GqlBody::Batch(reqs))
        }
        _ => Ok(GqlBody::Single(decode_one(&v, "$")?)),
    }
}

/// The usual body, one request object, read straight into the request without an
/// intermediate JSON tree. `Err` for anything else (a batch, a member of the wrong kind, a
/// repeated key, a persisted query, bad JSON; with serde's error when it gave one):
/// [`decode_body`]'s general path decodes those and words their errors.
fn decode_plain(body: &[u8]) -> Result<GqlRequest, Option<serde_json::Error>> {
    #[derive(serde::Deserialize)]
    struct Plain {
        query: String,
        #[serde(rename = "operationName", default)]
        operation_name: Option<String>,
        #[serde(default)]
        variables: Option<serde_json::Map<String, Json>>,
        #[serde(default)]
        extensions: Option<Json>,
    }
    // An object only: serde would also read a struct from an array of its fields.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(None);
    }
    let p: Plain = serde_json::from_slice(body).map_err(Some)?;
    if asks_persisted_query(p.extensions.as_ref()) {
        return Err(None);
    }
    Ok(GqlRequest {
        relay: false,
        query: p.query,
        operation_name: p.operation_name,
        variables: p
            .variables
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, json_to_value(&v)))
            .collect(),
    })
}

/// Decodes a GraphQL GET request from its query string (`query`, `variables` as JSON text,
/// `operationName`, form-encoded, as GraphQL over HTTP has it). `None`: the string has no
/// `query` (Hasura's persisted-query GET, which is not supported).
pub fn decode_get(query_string: &str) -> Result<Option<GqlRequest>, EdgeError> {
    let o = get_request_json(query_string)?;
    if !o.contains_key("query") {
        return Ok(None);
    }
    decode_one(&Json::Object(o), "$").map(Some)
}

/// The request object of a GET's query string: `query`, `operationName`, and `variables` /
/// `extensions` as JSON (empty stands for none).
pub(crate) fn get_request_json(
    query_string: &str,
) -> Result<serde_json::Map<String, Json>, EdgeError> {
    let mut o = serde_json::Map::new();
    for (k, v) in form_pairs(query_string)? {
        let v = match k.as_str() {
            "query" | "operationName" => Json::String(v),
            "variables" | "extensions" if v.trim().is_empty() => Json::Null,
            "variables" | "extensions" => serde_json::from_str(&v).map_err(|_| {
                EdgeError::parse_failed(format!("the {k} parameter is not valid JSON")).at("$")
            })?,
            _ => continue,
        };
        o.insert(k, v);
    }
    Ok(o)
}

/// The decoded `name=value` pairs of a query string or form body
/// (`application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte; UTF-8).
pub(crate) fn form_pairs(s: &str) -> Result<Vec<(String, String)>, EdgeError> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((url_decode(k, true)?, url_decode(v, true)?))
        })
        .collect()
}

/// Percent-decoding (`%XX` is a byte; `+` a space when `plus_is_space`, as in query strings,
/// not in paths); the result must be UTF-8.
pub(crate) fn url_decode(s: &str, plus_is_space: bool) -> Result<String, EdgeError> {
    let bad = || EdgeError::parse_failed("the query string is not valid URL encoding").at("$");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// Whether the operation `req` would run is a query (GET may run queries only). A document that
/// does not parse, or names no operation it has, counts as a query: running it reports why.
pub fn is_query(req: &GqlRequest) -> bool {
    use graphedge_core::parse::ast::OperationKind;
    let Ok(doc) = graphedge_core::parse::parse(&req.query) else {
        return true;
    };
    let op = match &req.operation_name {
        Some(n) => doc.operations.iter().find(|o| o.name.as_deref() == Some(n)),
        None => doc.operations.first(),
    };
    !matches!(op, Some(o) if o.kind != OperationKind::Query)
}

/// Runs one GraphQL request and returns the response body text (`{"data":…}` or
/// `{"errors":…}`); the statement it runs is recorded in `log` when `query-log` is on.
pub async fn run(
    engine: &Engine,
    loaded: &Loaded,
    db: &impl Database,
    session: &Session,
    req: &GqlRequest,
    outbound: &Outbound<'_, impl HttpClient>,
    log: &mut RequestLog,
) -> (u16, String) {
    let started = engine.clock.as_ref().and_then(|c| c.monotonic_micros());
    log.operation_type = None;
    let result = execute(engine, loaded, db, session, req, outbound, log).await;
    let micros = started.and_then(|s| {
        let now = engine.clock.as_ref()?.monotonic_micros()?;
        Some(now.saturating_sub(s))
    });
    crate::metrics::global().graphql_request(
        log.operation_type
            .unwrap_or(crate::metrics::OperationType::Unknown),
        result.is_ok(),
        micros,
    );
    match result {
        Ok(data) => {
            let mut out = String::with_capacity(data.len() + 9);
            out.push_str("{\"data\":");
            out.push_str(&data);
            out.push('}');
            (200, out)
        }
        Err(e) => (
            e.status,
            e.to_graphql_json(engine.include_internal(session))
                .to_string(),
        ),
    }
}

/// Finds or compiles the plan, then runs it; returns the `data` JSON text.
pub(crate) async fn execute(
    engine: &Engine,
    loaded: &Loaded,
    db: &impl Database,
    session: &Session,
    req: &GqlRequest,
    outbound: &Outbound<'_, impl HttpClient>,
    log: &mut RequestLog,
) -> Result<String, EdgeError> {
    admit(engine, loaded, session, req)?;
    let plan = plan_for(engine, loaded, session, req, Some(log))?;
    log.operation_type = Some(operation_type(&plan));
    let outbound = Outbound {
        http: outbound.http,
        client_headers: outbound.client_headers,
        query: &req.query,
    };
    run_plan(
        engine,
        loaded,
        db,
        session,
        &plan,
        &req.variables,
        &outbound,
        Some((log, req)),
    )
    .await
}

/// What every request passes before its plan is looked up: the allow list (when enabled, for
/// non-admins) and the variables' limits.
pub(crate) fn admit(
    engine: &Engine,
    loaded: &Loaded,
    session: &Session,
    req: &GqlRequest,
) -> Result<(), EdgeError> {
    if engine.config.enable_allowlist
        && !session.is_admin()
        && !loaded.allowlist.allows(&session.role, &req.query)
    {
        return Err(EdgeError::new(
            400,
            "validation-failed",
            "query is not allowed",
        ));
    }
    crate::limits::check_variables(engine, session, req)
}

/// The metrics' operation type of a plan.
fn operation_type(plan: &Plan) -> crate::metrics::OperationType {
    use crate::metrics::OperationType;
    match &plan.kind {
        PlanKind::Mutation => OperationType::Mutation,
        PlanKind::Sources { parts, .. } if parts.iter().any(|p| p.kind == PlanKind::Mutation) => {
            OperationType::Mutation
        }
        _ => OperationType::Query,
    }
}

/// Runs a compiled plan (a query statement, or a mutation's transaction); returns the JSON text
/// its statement produced. Shared by GraphQL and the `/v1/query` data operations; `log` records
/// the statements of a GraphQL request (`query-log`).
pub(crate) async fn run_plan(
    engine: &Engine,
    loaded: &Loaded,
    db: &impl Database,
    session: &Session,
    plan: &Plan,
    variables: &[(String, Value)],
    outbound: &Outbound<'_, impl HttpClient>,
    mut log: Option<(&mut RequestLog, &GqlRequest)>,
) -> Result<String, EdgeError> {
    let PlanKind::Sources {
        parts,
        slots,
        actions,
        remotes,
    } = &plan.kind
    else {
        if plan.remote_joins.is_empty() {
            return run_part(engine, loaded, db, session, plan, variables, log).await;
        }
        let part_log = log.as_mut().map(|(l, r)| (&mut **l, *r));
        let out = run_part(engine, loaded, db, session, plan, variables, part_log).await?;
        // Boxed, like the actions' and remote schemas' calls below: each request's future
        // would otherwise be as large as the largest of them.
        return Box::pin(crate::remote_join::apply(
            engine, loaded, db, session, plan, variables, outbound, out, log,
        ))
        .await;
    };
    // Root fields of several sources: one statement (or transaction) per source, in order,
    // each answering a JSON array of its fields' values; `data` follows the request's order.
    encode::check_variables(&plan.variable_types, variables)?;
    let mut answers: Vec<Vec<Box<serde_json::value::RawValue>>> = Vec::with_capacity(parts.len());
    for part in parts {
        let log = log.as_mut().map(|(l, r)| (&mut **l, *r));
        let text = run_part(engine, loaded, db, session, part, variables, log).await?;
        let values = serde_json::from_str(&text).map_err(|_| {
            EdgeError::new(500, "unexpected", "a source's answer is not a JSON array")
        })?;
        answers.push(values);
    }
    let mut called = Vec::with_capacity(actions.len());
    for call in actions {
        let log = log.as_mut().map(|(l, r)| (&mut **l, *r));
        let value = Box::pin(crate::actions::run_call(
            engine, loaded, db, session, outbound, call, variables, log,
        ))
        .await?;
        called.push(value);
    }
    let mut remote_values = Vec::with_capacity(remotes.len());
    for call in remotes {
        let call_log = log.as_mut().map(|(l, r)| (&mut **l, *r));
        let value = Box::pin(crate::remote_schemas::run_call(
            engine, loaded, session, outbound, call, variables, call_log,
        ))
        .await?;
        let log = log.as_mut().map(|(l, r)| (&mut **l, *r));
        let value = Box::pin(crate::remote_join::apply_under_key(
            engine,
            loaded,
            db,
            session,
            &call.key,
            value,
            &call.joins,
            variables,
            outbound,
            log,
        ))
        .await?;
        remote_values.push(value);
    }
    let mut out = String::from("{");
    for (i, (key, slot)) in slots.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode::write_json_string(&mut out, key);
        out.push(':');
        match slot {
            Slot::Static(json) => out.push_str(json),
            Slot::Part(p, j) => out.push_str(
                answers
                    .get(*p)
                    .and_then(|a| a.get(*j))
                    .map_or("null", |v| v.get()),
            ),
            Slot::Action(a) => out.push_str(called.get(*a).map_or("null", String::as_str)),
            Slot::Remote(r) => out.push_str(remote_values.get(*r).map_or("null", String::as_str)),
        }
    }
    out.push('}');
    Ok(out)
}

/// Runs a plan of one source on that source's database.
async fn run_part(
    engine: &Engine,
    loaded: &Loaded,
    db: &impl Database,
    session: &Session,
    plan: &Plan,
    variables: &[(String, Value)],
    mut log: Option<(&mut RequestLog, &GqlRequest)>,
) -> Result<String, EdgeError> {
    let db = &crate::md::On::source(db, loaded.connection(plan.source));
    match &plan.kind {
        PlanKind::Static(json) => Ok(json.clone()),
        PlanKind::Subscription { .. } | PlanKind::ActionSubscription(_) => Err(EdgeError::new(
            400,
            "unexpected-payload",
            "subscriptions are not supported over HTTP, use websockets instead",
        )),
        PlanKind::Sources { .. } => Err(EdgeError::new(
            500,
            "unexpected",
            "a part of a plan spans several sources",
        )),
        PlanKind::Query => {
            let params = plan.bind(variables, session)?;
            if let Some((log, req)) = &mut log {
                log.sql(req, &plan.sql, &params);
            }
            let stmt = Statement {
                sql: plan.sql.clone(),
                params,
            };
            // `@cached`: the kept answer of this very statement (memory, then the host's
            // shared cache), unless `refresh`.
            let cache = cache_slot(engine, loaded, plan, &stmt);
            if let Some((key, now, _)) = cache
                .as_ref()
                .filter(|_| plan.cached.is_some_and(|c| !c.refresh))
            {
                let kept = engine.responses.lookup(key, &plan.sql, *now).await;
                crate::metrics::global().cache_lookup(kept.is_some());
                if let Some((answer, served)) = kept {
                    if let Some((log, _)) = &mut log {
                        log.cache = Some(Box::new(with_session_vars(served, plan)));
                    }
                    return Ok(answer.to_string());
                }
            }
            let run = async {
                let out = if engine.config.coalesce_queries
                    && !plan.calls_functions
                    && plan.source == 0
                {
                    // Shared with identical requests, or batched with this query's other
                    // concurrent requests (`coalesce`).
                    let stmt = &stmt;
                    // Boxed, like every database call here: the futures that wrap it (the
                    // time limit, coalescing) would each copy it as it moves in.
                    let exec = |batch: Option<Statement>| {
                        Box::pin(async move {
                            match batch {
                                Some(batch) => db.query_one(&batch).await,
                                None => db.query_one(stmt).await,
                            }
                        })
                    };
                    engine
                        .flights
                        .run(
                            stmt,
                            engine.clock.as_deref(),
                            engine.config.batch_budget,
                            exec,
                        )
                        .await
                } else {
                    Box::pin(db.query_one(&stmt)).await
                };
                out.map_err(|e| db_error(&e))
            };
            let started = engine.monotonic();
            let out = crate::limits::bounded(engine, loaded, session, run).await;
            if let Some((log, _)) = &mut log {
                let attributes = vec![
                    ("db.system", "postgresql".to_string()),
                    ("db.statement", plan.sql.clone()),
                ];
                log.span(engine.clock.as_deref(), "database", started, attributes);
            }
            let out = out?.unwrap_or_else(|| "null".to_string());
            if let Some((key, now, ttl)) = cache {
                let served = engine
                    .responses
                    .store(key, &plan.sql, out.as_str().into(), ttl, now)
                    .await;
                if let Some((log, _)) = &mut log {
                    log.cache = Some(Box::new(with_session_vars(served, plan)));
                }
            }
            Ok(out)
        }
        PlanKind::Mutation => {
            // One transaction, sent as one batch: the session for triggers, the plan's
            // modification steps in order, then the statement that builds `data`.
            let mut stmts = Vec::with_capacity(plan.steps.len() + 2);
            let user = Some(encode::session_json(session));
            // Traced: the request's span goes with the events the mutation creates (Hasura's
            // `trace_context`), so their deliveries continue its trace.
            let traced = log.as_ref().and_then(|(l, _)| l.traceparent.as_deref());
            stmts.push(match traced.and_then(crate::otel::parse_traceparent) {
                None => Statement {
                    sql: "SELECT set_config('hasura.user', $1, true)".to_string(),
                    params: vec![user],
                },
                Some((trace, span)) => Statement {
                    sql: "SELECT set_config('hasura.user', $1, true), \
                          set_config('hasura.tracecontext', $2, true)"
                        .to_string(),
                    params: vec![user, Some(crate::otel::trace_context_json(&trace, &span))],
                },
            });
            for (i, step) in plan.steps.iter().enumerate() {
                stmts.push(Statement {
                    sql: step.sql.clone(),
                    params: plan.bind_step(i, variables, session)?,
                });
            }
            stmts.push(Statement {
                sql: plan.sql.clone(),
                params: plan.bind(variables, session)?,
            });
            if let Some((log, req)) = &mut log {
                for s in &stmts[1..] {
                    log.sql(req, &s.sql, &s.params);
                }
            }
            let run = async { Ok(Box::pin(db.transaction(&stmts)).await) };
            let started = engine.monotonic();
            let rows = crate::limits::bounded(engine, loaded, session, run).await;
            if let Some((log, _)) = &mut log {
                let attributes = vec![
                    ("db.system", "postgresql".to_string()),
                    ("db.statement", plan.sql.clone()),
                ];
                log.span(engine.clock.as_deref(), "database", started, attributes);
            }
            let rows = rows?;
            let rows = rows.map_err(|e| {
                let err = db_error(&e);
                // A constraint violation is reported at the mutation field that caused it.
                let step = e
                    .statement
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| plan.steps.get(i));
                match step {
                    Some(step)
                        if err.code == "constraint-violation" || err.code == "data-exception" =>
                    {
                        err.at(&step.path)
                    }
                    _ => err,
                }
            })?;
            let data = rows
                .last()
                .and_then(|r| r.rows.first())
                .and_then(|row| row.first())
                .cloned()
                .flatten();
            Ok(data.unwrap_or_else(|| "null".to_string()))
        }
    }
}

/// Where a `@cached` query's answer is kept: `(key, now, ttl)`; `None` when the plan is not
/// `@cached`, the ttl is 0 or the host has no clock.
fn cache_slot(
    engine: &Engine,
    loaded: &Loaded,
    plan: &Plan,
    stmt: &Statement,
) -> Option<(String, i64, u64)> {
    let ttl = engine.responses.ttl(plan.cached?.ttl);
    let now = engine.clock.as_ref()?.now_unix();
    (ttl > 0).then(|| {
        // The metadata version too: a source moved elsewhere must not answer from before.
        let source = format!("{}/{}", loaded.md.resource_version, plan.source);
        (crate::response_cache::key_of(&source, stmt), now, ttl)
    })
}

fn with_session_vars(
    mut served: crate::response_cache::Served,
    plan: &Plan,
) -> crate::response_cache::Served {
    for p in &plan.params {
        match p {
            graphedge_core::ParamSpec::Session(name) if !served.session_vars.contains(name) => {
                served.session_vars.push(name.clone())
            }
            graphedge_core::ParamSpec::SessionJson => served.private = true,
            _ => {}
        }
    }
    served
}

/// The cached plan for this request, or a freshly compiled (and now cached) one.
pub(crate) fn plan_for(
    engine: &Engine,
    loaded: &Loaded,
    session: &Session,
    req: &GqlRequest,
    log: Option<&mut RequestLog>,
) -> Result<Arc<Plan>, EdgeError> {
    let key = CacheKey {
        query: &req.query,
        operation_name: req.operation_name.as_deref(),
        role: &session.role,
        schema_version: loaded.md.schema.version,
        stringify_numeric: engine.config.stringify_numeric,
        relay: req.relay,
    };
    if let Some(plan) = engine.cache.get(&key, &req.variables) {
        return Ok(plan);
    }
    let core_req = graphedge_core::Request {
        query: &req.query,
        operation_name: req.operation_name.as_deref(),
        variables: &req.variables,
    };
    crate::limits::check_document(engine, loaded, session, req)?;
    engine.count_compile();
    let started = engine.monotonic();
    let plan = (engine.compiler)(
        &loaded.md.schema,
        session,
        &core_req,
        &engine.core_options(req.relay),
    );
    if let Some(log) = log {
        log.span(engine.clock.as_deref(), "compile", started, Vec::new());
    }
    let plan = Arc::new(plan?);
    engine.cache.insert(&key, &req.variables, plan.clone());
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_requests() {
        let b = decode_body(
            br#"{"query":"{a}","variables":{"x":1},"operationName":null,"extensions":{}}"#,
        )
        .unwrap();
        let GqlBody::Single(r) = b else { panic!() };
        assert_eq!(r.query, "{a}");
        assert_eq!(
            r.variables,
            vec![("x".to_string(), Value::Number("1".into()))]
        );
        let GqlBody::Batch(rs) = decode_body(br#"[{"query":"{a}"},{"query":"{b}"}]"#).unwrap()
        else {
            panic!()
        };
        assert_eq!(rs.len(), 2);
    }

    #[test]
    fn rejects_bad_bodies() {
        assert_eq!(decode_body(b"{nope").unwrap_err().code, "invalid-json");
        let e = decode_body(br#"{"variables":{}}"#).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("parse-failed", "key \"query\" not found")
        );
        let e = decode_body(br#"[{"query":"{a}"},{"query":1}]"#).unwrap_err();
        assert_eq!(e.path, "$[1]");
        assert_eq!(
            decode_body(br#"{"query":"{a}","variables":[1]}"#)
                .unwrap_err()
                .code,
            "parse-failed"
        );
        assert_eq!(decode_body(br#""x""#).unwrap_err().code, "parse-failed");
    }

    /// The direct reading of the usual body gives what the JSON tree gives; it declines
    /// (`false`) what the tree rejects or reads some other way.
    #[test]
    fn plain_bodies_read_as_the_tree_reads_them() {
        let bodies: &[(&str, bool)] = &[
            (r#"{"query":"{a}"}"#, true),
            (
                r#" {"query":"q($x: Int) { a(x: $x) }","variables":{"x":1,"y":"\u00e9\n","z":[1.5,{"b":null}],"x":2}}"#,
                true,
            ),
            (
                r#"{"query":"{a}","operationName":"Op","extensions":{"other":1},"unknown":[1]}"#,
                true,
            ),
            (
                r#"{"query":"{a}","operationName":null,"variables":null,"extensions":null}"#,
                true,
            ),
            (r#"{"query":"{a}","query":"{b}"}"#, false),
            (
                r#"{"query":"{a}","extensions":{"persistedQuery":null}}"#,
                false,
            ),
            (r#"{"query":"{a}","variables":[1]}"#, false),
            (r#"{"query":"{a}","operationName":5}"#, false),
            (r#"{"query":1}"#, false),
            (r#"{"variables":{}}"#, false),
            (r#"["{a}"]"#, false),
            (r#"[{"query":"{a}"}]"#, false),
            (r#"{"query":"{a}"} x"#, false),
            (r#"{"query":"{a}""#, false),
            ("", false),
        ];
        for (body, plain) in bodies {
            let tree = decode_json(body.as_bytes());
            let read = decode_plain(body.as_bytes()).ok();
            assert_eq!(read.is_some(), *plain, "{body}");
            if let Some(read) = read {
                assert_eq!(tree, Ok(GqlBody::Single(read)), "{body}");
            }
            assert_eq!(decode_body(body.as_bytes()), tree, "{body}");
        }
    }
}
