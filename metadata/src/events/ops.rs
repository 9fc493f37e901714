//! The metadata API operations on event triggers and their events (`pg_` prefix on
//! `/v1/metadata`, bare on `/v1/query`): create/delete change the metadata (the Postgres
//! triggers follow in the persisting transaction, see [`super::reconcile`]); invoke, redeliver
//! and the log readers work on `graphedge.event_log` directly.
// ApiError is the crate's error type everywhere (the rest of the crate has the same warning).
#![allow(clippy::result_large_err)]
use super::{find, validate, Definition, EventTriggerConf, OpSpec};
use crate::api::Cx;
use crate::db::{Database, Statement};
use crate::error::ApiError;
use crate::raw::QualifiedTable;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value as Json;

/// Operation names handled here (after the `pg_` prefix is stripped).
pub const OPERATIONS: &[&str] = &[
    "create_event_trigger",
    "delete_event_trigger",
    "invoke_event_trigger",
    "redeliver_event",
    "get_event_logs",
    "get_event_invocation_logs",
    "get_event_by_id",
];

pub fn handles(op: &str) -> bool {
    OPERATIONS.contains(&op)
}

fn parse<T: DeserializeOwned>(args: &Json) -> Result<T, ApiError> {
    serde_json::from_value(args.clone()).map_err(|e| {
        let msg = e.to_string();
        let msg = match msg.strip_prefix("missing field `") {
            Some(rest) => format!("key {:?} not found", rest.split('`').next().unwrap_or("")),
            None => msg.split(" at line ").next().unwrap_or(&msg).to_string(),
        };
        ApiError::parse_failed(msg)
    })
}

fn default_source() -> String {
    "default".into()
}
fn default_limit() -> i64 {
    100
}

pub(crate) async fn run<D: Database>(
    cx: &mut Cx<'_, D>,
    op: &str,
    args: &Json,
) -> Result<Json, ApiError> {
    match op {
        "create_event_trigger" => create(cx, args),
        "delete_event_trigger" => delete(cx, args),
        "invoke_event_trigger" => invoke(cx, args).await,
        "redeliver_event" => redeliver(cx, args).await,
        "get_event_logs" => event_logs(cx, args).await,
        "get_event_invocation_logs" => invocation_logs(cx, args).await,
        "get_event_by_id" => event_by_id(cx, args).await,
        _ => Err(ApiError::not_supported(format!("unknown operation {op:?}")).at("$.type")),
    }
}

#[derive(Deserialize)]
struct CreateArgs {
    name: String,
    #[serde(default = "default_source")]
    source: String,
    table: QualifiedTable,
    #[serde(default)]
    webhook: Option<String>,
    #[serde(default)]
    webhook_from_env: Option<String>,
    #[serde(default)]
    insert: Option<OpSpec>,
    #[serde(default)]
    update: Option<OpSpec>,
    #[serde(default)]
    delete: Option<OpSpec>,
    #[serde(default)]
    enable_manual: bool,
    #[serde(default)]
    retry_conf: Option<super::webhook::RetryConf>,
    #[serde(default)]
    headers: Vec<super::webhook::HeaderConf>,
    #[serde(default)]
    replace: bool,
    #[serde(default)]
    request_transform: Option<Json>,
    #[serde(default)]
    response_transform: Option<Json>,
    #[serde(default)]
    cleanup_config: Option<Json>,
    #[serde(default)]
    graphedge_ordering: Option<String>,
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_exists(format!("event trigger with name {name:?} does not exist"))
        .at("$.args.name")
}

/// Removes trigger `name` from every table of `source`; true if one was removed.
fn remove<D: Database>(cx: &mut Cx<'_, D>, source: &str, name: &str) -> bool {
    let Some(s) = cx.md.source_mut(source) else {
        return false;
    };
    let mut removed = false;
    for t in &mut s.tables {
        let before = t.event_triggers.len();
        t.event_triggers
            .retain(|v| v.get("name").and_then(Json::as_str) != Some(name));
        removed |= t.event_triggers.len() != before;
    }
    removed
}

fn create<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let a: CreateArgs = parse(args)?;
    let conf = EventTriggerConf {
        name: a.name.clone(),
        definition: Definition {
            enable_manual: a.enable_manual,
            insert: a.insert,
            update: a.update,
            delete: a.delete,
        },
        retry_conf: a.retry_conf.unwrap_or_default(),
        webhook: a.webhook,
        webhook_from_env: a.webhook_from_env,
        headers: a.headers,
        request_transform: a.request_transform,
        response_transform: a.response_transform,
        cleanup_config: a.cleanup_config,
        graphedge_ordering: a.graphedge_ordering,
    };
    let empty = crate::introspect::Catalog::default();
    let catalog = super::source_catalog(&cx.md, &cx.catalog, &a.source).unwrap_or(&empty);
    validate(&conf, &a.table, catalog).map_err(|(m, p)| {
        let code = if m.contains("does not exist") {
            "not-exists"
        } else {
            "parse-failed"
        };
        ApiError::new(code, m).at(format!("$.args{p}"))
    })?;
    let exists = find(&cx.md, &a.source, &a.name).is_some();
    if exists && !a.replace {
        return Err(ApiError::already_exists(format!(
            "event trigger with name {:?} already exists",
            a.name
        ))
        .at("$.args.name"));
    }
    if exists {
        remove(cx, &a.source, &a.name);
    }
    let source = a.source.clone();
    let s = cx.md.source_mut(&source).ok_or_else(|| {
        ApiError::not_exists(format!("source with name {source:?} does not exist"))
    })?;
    let t = s.table_mut(&a.table).ok_or_else(|| {
        ApiError::not_exists(format!(
            "table {:?} does not exist in source: {source}",
            a.table.name
        ))
        .at("$.args.table")
    })?;
    let v = serde_json::to_value(&conf).map_err(|e| ApiError::unexpected(e.to_string()))?;
    t.event_triggers.push(v);
    cx.check()?;
    Ok(crate::api::success())
}

#[derive(Deserialize)]
struct NameArgs {
    name: String,
    #[serde(default = "default_source")]
    source: String,
}

fn delete<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let a: NameArgs = parse(args)?;
    if !remove(cx, &a.source, &a.name) {
        return Err(not_found(&a.name));
    }
    cx.check()?;
    Ok(crate::api::success())
}

async fn one<D: Database>(
    cx: &Cx<'_, D>,
    sql: &str,
    params: Vec<Option<String>>,
) -> Result<Json, ApiError> {
    let text = cx
        .src()
        .query_one(&Statement {
            sql: sql.into(),
            params,
        })
        .await
        .map_err(|e| ApiError::postgres(&e, None).at("$"))?;
    match text {
        None => Ok(Json::Null),
        Some(t) => serde_json::from_str(&t).map_err(|e| ApiError::unexpected(e.to_string())),
    }
}

#[derive(Deserialize)]
struct InvokeArgs {
    name: String,
    #[serde(default = "default_source")]
    source: String,
    #[serde(default)]
    payload: Json,
}

async fn invoke<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let a: InvokeArgs = parse(args)?;
    let (table, conf) = find(&cx.md, &a.source, &a.name).ok_or_else(|| not_found(&a.name))?;
    if !conf.definition.enable_manual {
        return Err(ApiError::new(
            "not-supported",
            format!("manual mode is not enabled for event trigger {:?}", a.name),
        ));
    }
    one(
        cx,
        "INSERT INTO graphedge.event_log (trigger_name, schema_name, table_name, op, data, session_variables) \
         VALUES ($1::text, $2::text, $3::text, 'MANUAL', jsonb_build_object('old', NULL, 'new', $4::jsonb), \
         '{\"x-hasura-role\": \"admin\"}'::jsonb) RETURNING json_build_object('event_id', id)::text",
        vec![
            Some(a.name),
            Some(table.schema),
            Some(table.name),
            Some(a.payload.to_string()),
        ],
    )
    .await
}

#[derive(Deserialize)]
struct EventIdArgs {
    event_id: String,
    #[serde(default)]
    invocation_log_limit: Option<i64>,
    #[serde(default)]
    invocation_log_offset: Option<i64>,
}

fn check_uuid(id: &str) -> Result<(), ApiError> {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(
            ApiError::parse_failed(format!("invalid event id {id:?}")).at("$.args.event_id")
        );
    }
    Ok(())
}

async fn redeliver<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let a: EventIdArgs = parse(args)?;
    check_uuid(&a.event_id)?;
    let r = one(
        cx,
        "UPDATE graphedge.event_log SET delivered = false, error = false, archived = false, tries = 0, \
         next_retry_at = NULL, locked_at = NULL, locked_by = NULL WHERE id = $1::uuid RETURNING 'true'",
        vec![Some(a.event_id.clone())],
    )
    .await?;
    if r.is_null() {
        return Err(
            ApiError::not_exists(format!("event {:?} does not exist", a.event_id))
                .at("$.args.event_id"),
        );
    }
    Ok(crate::api::success())
}

/// An event row as Hasura's `pg_get_event_logs` returns it.
const EVENT_JSON: &str = "json_build_object('id', e.id, 'schema_name', e.schema_name, \
 'table_name', e.table_name, 'trigger_name', e.trigger_name, \
 'payload', json_build_object('op', e.op, 'data', e.data, 'session_variables', e.session_variables, \
 'trace_context', e.trace_context), 'delivered', e.delivered, 'error', e.error, 'tries', e.tries, \
 'created_at', e.created_at, 'locked', e.locked_at, 'next_retry_at', e.next_retry_at, \
 'archived', e.archived)";

const INVOCATION_JSON: &str = "json_build_object('id', i.id, 'event_id', i.event_id, \
 'trigger_name', i.trigger_name, 'http_status', i.status, 'request', i.request, \
 'response', i.response, 'created_at', i.created_at)";

#[derive(Deserialize)]
struct LogArgs {
    name: String,
    #[serde(default = "default_source")]
    source: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
}

impl LogArgs {
    /// `$1` the trigger name, `$2` limit, `$3` offset (negative values count as 0).
    fn page_params(self) -> Vec<Option<String>> {
        vec![
            Some(self.name),
            Some(self.limit.max(0).to_string()),
            Some(self.offset.max(0).to_string()),
        ]
    }
}

async fn event_logs<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let a: LogArgs = parse(args)?;
    find(&cx.md, &a.source, &a.name).ok_or_else(|| not_found(&a.name))?;
    let filter = match a.status.as_deref() {
        None | Some("all") => "",
        Some("pending") => " AND NOT e.delivered AND NOT e.error AND NOT e.archived",
        Some("processed") => " AND (e.delivered OR e.error) AND NOT e.archived",
        Some(s) => {
            return Err(ApiError::parse_failed(format!(
                "status: expected \"pending\" or \"processed\", got {s:?}"
            ))
            .at("$.args.status"))
        }
    };
    let sql = format!(
        "SELECT coalesce(json_agg(x.j ORDER BY x.created_at DESC, x.seq DESC), '[]')::text FROM \
         (SELECT {EVENT_JSON} AS j, e.created_at, e.seq FROM graphedge.event_log e \
         WHERE e.trigger_name = $1::text{filter} ORDER BY e.created_at DESC, e.seq DESC \
         LIMIT $2::bigint OFFSET $3::bigint) x"
    );
    one(cx, &sql, a.page_params()).await
}

async fn invocation_logs<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let a: LogArgs = parse(args)?;
    find(&cx.md, &a.source, &a.name).ok_or_else(|| not_found(&a.name))?;
    let sql = format!(
        "SELECT coalesce(json_agg(x.j ORDER BY x.created_at DESC), '[]')::text FROM \
         (SELECT {INVOCATION_JSON} AS j, i.created_at FROM graphedge.event_invocation_logs i \
         WHERE i.trigger_name = $1::text ORDER BY i.created_at DESC \
         LIMIT $2::bigint OFFSET $3::bigint) x"
    );
    one(cx, &sql, a.page_params()).await
}

async fn event_by_id<D: Database>(cx: &mut Cx<'_, D>, args: &Json) -> Result<Json, ApiError> {
    let a: EventIdArgs = parse(args)?;
    check_uuid(&a.event_id)?;
    let sql = format!(
        "SELECT json_build_object('event', {EVENT_JSON}, 'invocations', \
         (SELECT coalesce(json_agg(x.j ORDER BY x.created_at DESC), '[]') FROM \
          (SELECT {INVOCATION_JSON} AS j, i.created_at FROM graphedge.event_invocation_logs i \
           WHERE i.event_id = e.id ORDER BY i.created_at DESC LIMIT $2::bigint OFFSET $3::bigint) x))::text \
         FROM graphedge.event_log e WHERE e.id = $1::uuid"
    );
    let r = one(
        cx,
        &sql,
        vec![
            Some(a.event_id.clone()),
            Some(a.invocation_log_limit.unwrap_or(100).max(0).to_string()),
            Some(a.invocation_log_offset.unwrap_or(0).max(0).to_string()),
        ],
    )
    .await?;
    if r.is_null() {
        return Err(
            ApiError::not_exists(format!("event {:?} does not exist", a.event_id))
                .at("$.args.event_id"),
        );
    }
    Ok(r)
}
