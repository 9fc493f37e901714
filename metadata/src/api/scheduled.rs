//! Cron triggers and one-off scheduled events: the metadata operations and their catalog tables.
//!
//! Cron triggers live in the metadata (`cron_triggers`, all of them; export shows those with
//! `include_in_metadata`). Their events and the one-off events live in catalog tables of our
//! schema `graphedge` ([`CATALOG_SQL`]), shared with the scheduler process that delivers them.
//! When a request changes the cron triggers, [`reconcile`] returns the statements that go into
//! the same transaction as the new metadata: events of removed triggers are deleted, future
//! events of triggers whose schedule changed are dropped, and new or changed triggers get their
//! first [`CRON_EVENTS_AHEAD`] events (the scheduler keeps topping them up).
use super::ops::parse;
use super::{success, Cx};
use crate::cron::{format_timestamp, parse_timestamp, Schedule};
use crate::db::{Database, Statement};
use crate::error::ApiError;
use crate::events::webhook::{check_headers, check_url};
use crate::raw::{CronTrigger, HeaderConf, Metadata, RetryConfSt};
use serde::Deserialize;
use serde_json::{json, Value as Json};

/// How many future events are kept per cron trigger (Hasura: 100).
pub const CRON_EVENTS_AHEAD: usize = 100;

/// Catalog tables (idempotent). Ids are text UUIDs like Hasura's; `locked_by`/`locked_until`
/// are the owner lease of the scheduler process that claimed the event.
pub const CATALOG_SQL: &str = "
CREATE TABLE IF NOT EXISTS graphedge.cron_events (
  id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  trigger_name text NOT NULL,
  scheduled_time timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'scheduled'
    CHECK (status IN ('scheduled', 'locked', 'delivered', 'error', 'dead')),
  tries int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  next_retry_at timestamptz,
  locked_by text,
  locked_until timestamptz,
  UNIQUE (trigger_name, scheduled_time)
);
CREATE INDEX IF NOT EXISTS cron_events_due ON graphedge.cron_events
  (coalesce(next_retry_at, scheduled_time)) WHERE status = 'scheduled';
CREATE INDEX IF NOT EXISTS cron_events_locked ON graphedge.cron_events (locked_until)
  WHERE status = 'locked';
CREATE TABLE IF NOT EXISTS graphedge.cron_event_invocation_logs (
  id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  event_id text NOT NULL REFERENCES graphedge.cron_events (id) ON DELETE CASCADE,
  status int,
  request json,
  response json,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS cron_event_invocation_logs_event
  ON graphedge.cron_event_invocation_logs (event_id);
CREATE TABLE IF NOT EXISTS graphedge.one_off_scheduled_events (
  id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  webhook_conf json NOT NULL,
  scheduled_time timestamptz NOT NULL,
  retry_conf json NOT NULL,
  payload json,
  header_conf json NOT NULL DEFAULT '[]',
  status text NOT NULL DEFAULT 'scheduled'
    CHECK (status IN ('scheduled', 'locked', 'delivered', 'error', 'dead')),
  tries int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  next_retry_at timestamptz,
  comment text,
  locked_by text,
  locked_until timestamptz
);
CREATE INDEX IF NOT EXISTS one_off_scheduled_events_due ON graphedge.one_off_scheduled_events
  (coalesce(next_retry_at, scheduled_time)) WHERE status = 'scheduled';
CREATE INDEX IF NOT EXISTS one_off_scheduled_events_locked
  ON graphedge.one_off_scheduled_events (locked_until) WHERE status = 'locked';
CREATE TABLE IF NOT EXISTS graphedge.scheduled_event_invocation_logs (
  id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
  event_id text NOT NULL REFERENCES graphedge.one_off_scheduled_events (id) ON DELETE CASCADE,
  status int,
  request json,
  response json,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS scheduled_event_invocation_logs_event
  ON graphedge.scheduled_event_invocation_logs (event_id);
-- Hasura's catalog names for the scheduled events, read-only, for the SQL users (and Hasura's
-- test harness) run against the metadata database. Created only where no such relation exists:
-- a metadata database Hasura used keeps its own hdb_catalog untouched.
DO $hdb$
BEGIN
  IF to_regclass('hdb_catalog.hdb_cron_events') IS NULL THEN
    CREATE SCHEMA IF NOT EXISTS hdb_catalog;
    CREATE VIEW hdb_catalog.hdb_cron_events AS
      SELECT id, trigger_name, scheduled_time, status, tries, created_at, next_retry_at
      FROM graphedge.cron_events;
  END IF;
  IF to_regclass('hdb_catalog.hdb_scheduled_events') IS NULL THEN
    CREATE SCHEMA IF NOT EXISTS hdb_catalog;
    CREATE VIEW hdb_catalog.hdb_scheduled_events AS
      SELECT id, webhook_conf, scheduled_time, retry_conf, payload, header_conf, status, tries,
        created_at, next_retry_at, comment
      FROM graphedge.one_off_scheduled_events;
  END IF;
EXCEPTION WHEN duplicate_table OR duplicate_schema OR unique_violation THEN
  NULL; -- another process created them at the same moment
END
$hdb$;
CREATE OR REPLACE FUNCTION graphedge.utc_text(t timestamptz) RETURNS text
  LANGUAGE sql IMMUTABLE AS
  $f$ SELECT regexp_replace(to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'),
       '\\.?0+$', '') || 'Z' $f$;
";

/// Statuses of scheduled events.
pub const STATUSES: &[&str] = &["scheduled", "locked", "delivered", "error", "dead"];

// ---------------------------------------------------------------------------------------------
// Validation

/// A webhook URL: `http(s)://host...`, or starting with an `{{ENV_VAR}}` template.
pub fn check_webhook(url: &str) -> Result<(), String> {
    let mut rest = url;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("webhook {url:?}: unterminated {{{{ template"))?;
        let var = after[..end].trim();
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "webhook {url:?}: invalid environment variable {var:?}"
            ));
        }
        rest = &after[end + 2..];
    }
    if url.starts_with("{{") {
        return Ok(());
    }
    check_url(url)
}

/// Checks one cron trigger definition (schedule, webhook, headers).
pub fn check_cron_trigger(t: &CronTrigger) -> Result<(), ApiError> {
    if t.name.trim().is_empty() {
        return Err(
            ApiError::parse_failed("cron trigger name must not be empty").at("$.args.name"),
        );
    }
    Schedule::parse(&t.schedule).map_err(|e| ApiError::parse_failed(e.0).at("$.args.schedule"))?;
    check_webhook(&t.webhook).map_err(|e| ApiError::parse_failed(e).at("$.args.webhook"))?;
    check_headers(&t.headers).map_err(|e| ApiError::parse_failed(e).at("$.args.headers"))?;
    Ok(())
}

/// Checks every cron trigger of a whole metadata document (replace_metadata).
pub(crate) fn check_all(md: &Metadata, path: &str) -> Result<(), ApiError> {
    let mut seen = std::collections::HashSet::new();
    for (i, t) in md.cron_triggers.iter().enumerate() {
        let at = format!("{path}.cron_triggers[{i}]");
        check_cron_trigger(t).map_err(|e| e.at(at.clone()))?;
        if !seen.insert(&t.name) {
            return Err(ApiError::already_exists(format!(
                "cron trigger with name: {} already exists",
                t.name
            ))
            .at(at));
        }
    }
    Ok(())
}

/// Keeps the cron triggers of `old` that are not part of exported metadata
/// (`include_in_metadata: false`) and that `new` does not define (Hasura's replace_metadata and
/// clear_metadata retain them).
pub(crate) fn keep_unexported(old: &Metadata, new: &mut Metadata) {
    for t in &old.cron_triggers {
        if !t.include_in_metadata && !new.cron_triggers.iter().any(|n| n.name == t.name) {
            new.cron_triggers.push(t.clone());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cron triggers

fn cron_missing(name: &str) -> ApiError {
    ApiError::not_exists(format!("cron trigger with name: {name} does not exist"))
}

pub(crate) fn create_cron_trigger<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        #[serde(flatten)]
        trigger: CronTrigger,
        #[serde(default)]
        replace: bool,
    }
    let a: A = parse(args)?;
    check_cron_trigger(&a.trigger)?;
    let existing = cx
        .md
        .cron_triggers
        .iter()
        .position(|t| t.name == a.trigger.name);
    match existing {
        Some(_) if !a.replace => {
            return Err(ApiError::already_exists(format!(
                "cron trigger with name: {} already exists",
                a.trigger.name
            )))
        }
        Some(i) => cx.md.cron_triggers[i] = a.trigger,
        None => cx.md.cron_triggers.push(a.trigger),
    }
    cx.md_changed = true;
    Ok(success())
}

pub(crate) fn delete_cron_trigger<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        name: String,
    }
    let a: A = parse(args)?;
    let before = cx.md.cron_triggers.len();
    cx.md.cron_triggers.retain(|t| t.name != a.name);
    if cx.md.cron_triggers.len() == before {
        return Err(cron_missing(&a.name));
    }
    cx.md_changed = true;
    Ok(success())
}

/// Every cron trigger, by name, with its `retry_conf` completed with Hasura's defaults (as
/// Hasura answers: the defaults it applies are shown).
pub(crate) fn get_cron_triggers<D: Database>(cx: &Cx<'_, D>) -> Result<Json, ApiError> {
    let mut list = cx.md.cron_triggers.clone();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let list: Vec<Json> = list
        .iter()
        .map(|t| {
            let mut v = serde_json::to_value(t).unwrap_or(Json::Null);
            if let Json::Object(m) = &mut v {
                let mut retry = json!({"num_retries": 0, "retry_interval_seconds": 10,
                    "timeout_seconds": 60, "tolerance_seconds": 21600});
                if let (Some(Json::Object(given)), Json::Object(r)) =
                    (m.get("retry_conf"), &mut retry)
                {
                    for (k, x) in given {
                        r.insert(k.clone(), x.clone());
                    }
                }
                m.insert("retry_conf".into(), retry);
            }
            v
        })
        .collect();
    Ok(json!({ "cron_triggers": list }))
}

/// The statement inserting cron events at `times` (unix seconds); existing ones are kept.
pub fn insert_cron_events(trigger: &str, times: &[i64]) -> Statement {
    let list: Vec<String> = times
        .iter()
        .map(|t| format!("\"{}\"", format_timestamp(t * 1_000_000)))
        .collect();
    Statement {
        sql: "INSERT INTO graphedge.cron_events (trigger_name, scheduled_time) \
              SELECT $1::text, t FROM unnest($2::timestamptz[]) AS t \
              ON CONFLICT (trigger_name, scheduled_time) DO NOTHING"
            .into(),
        params: vec![
            Some(trigger.to_string()),
            Some(format!("{{{}}}", list.join(","))),
        ],
    }
}

/// The statements that bring the cron events in line with a change of the cron triggers from
/// `old` to `new` (empty when they did not change). Runs in the metadata write's transaction.
pub(crate) async fn reconcile(
    db: &impl Database,
    old: &Metadata,
    new: &Metadata,
) -> Result<Vec<Statement>, ApiError> {
    let mut stmts = Vec::new();
    let mut fresh = Vec::new();
    for t in &old.cron_triggers {
        match new.cron_triggers.iter().find(|n| n.name == t.name) {
            None => stmts.push(Statement {
                sql: "DELETE FROM graphedge.cron_events WHERE trigger_name = $1::text".into(),
                params: vec![Some(t.name.clone())],
            }),
            Some(n) if n.schedule != t.schedule => {
                stmts.push(Statement {
                    sql: "DELETE FROM graphedge.cron_events WHERE trigger_name = $1::text \
                          AND status = 'scheduled' AND scheduled_time > now()"
                        .into(),
                    params: vec![Some(t.name.clone())],
                });
                fresh.push(n);
            }
            Some(_) => {}
        }
    }
    for n in &new.cron_triggers {
        if !old.cron_triggers.iter().any(|t| t.name == n.name) {
            fresh.push(n);
        }
    }
    if fresh.is_empty() {
        return Ok(stmts);
    }
    let now = db
        .query_one(&Statement {
            sql: "SELECT floor(extract(epoch FROM now()))::bigint::text".into(),
            params: vec![],
        })
        .await
        .map_err(|e| ApiError::postgres(&e, None))?
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ApiError::unexpected("could not read the database clock"))?;
    for n in fresh {
        if let Ok(s) = Schedule::parse(&n.schedule) {
            let times = s.fire_times(now, i64::MAX, CRON_EVENTS_AHEAD);
            stmts.push(insert_cron_events(&n.name, &times));
        }
    }
    Ok(stmts)
}

// ---------------------------------------------------------------------------------------------
// One-off events

pub(crate) async fn create_scheduled_event<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        webhook: String,
        schedule_at: String,
        #[serde(default)]
        payload: Option<Json>,
        #[serde(default)]
        headers: Vec<HeaderConf>,
        #[serde(default)]
        retry_conf: RetryConfSt,
        #[serde(default)]
        comment: Option<String>,
    }
    let a: A = parse(args)?;
    check_webhook(&a.webhook).map_err(|e| ApiError::parse_failed(e).at("$.args.webhook"))?;
    check_headers(&a.headers).map_err(|e| ApiError::parse_failed(e).at("$.args.headers"))?;
    let at = parse_timestamp(&a.schedule_at)
        .map_err(|e| ApiError::parse_failed(e.0).at("$.args.schedule_at"))?;
    let stmt = Statement {
        sql: "INSERT INTO graphedge.one_off_scheduled_events \
              (webhook_conf, scheduled_time, retry_conf, payload, header_conf, comment) \
              VALUES ($1::json, $2::timestamptz, $3::json, $4::json, $5::json, $6::text) \
              RETURNING id"
            .into(),
        params: vec![
            Some(Json::String(a.webhook).to_string()),
            Some(format_timestamp(at)),
            Some(json!(a.retry_conf).to_string()),
            a.payload.map(|p| p.to_string()),
            Some(json!(a.headers).to_string()),
            a.comment,
        ],
    };
    let id = cx
        .meta()
        .query_one(&stmt)
        .await
        .map_err(|e| ApiError::postgres(&e, Some(&stmt.sql)))?
        .ok_or_else(|| ApiError::unexpected("no event id returned"))?;
    Ok(json!({ "message": "success", "event_id": id }))
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Cron,
    OneOff,
}

impl Kind {
    fn events(self) -> &'static str {
        match self {
            Kind::Cron => "graphedge.cron_events",
            Kind::OneOff => "graphedge.one_off_scheduled_events",
        }
    }
    fn logs(self) -> &'static str {
        match self {
            Kind::Cron => "graphedge.cron_event_invocation_logs",
            Kind::OneOff => "graphedge.scheduled_event_invocation_logs",
        }
    }
}

pub(crate) async fn delete_scheduled_event<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    #[derive(Deserialize)]
    struct A {
        #[serde(rename = "type")]
        kind: Kind,
        event_id: String,
    }
    let a: A = parse(args)?;
    let stmt = Statement {
        sql: format!(
            "WITH d AS (DELETE FROM {} WHERE id = $1::text RETURNING 1) SELECT count(*)::text FROM d",
            a.kind.events()
        ),
        params: vec![Some(a.event_id.clone())],
    };
    let n = cx
        .meta()
        .query_one(&stmt)
        .await
        .map_err(|e| ApiError::postgres(&e, Some(&stmt.sql)))?;
    if n.as_deref() == Some("0") {
        return Err(ApiError::not_exists(format!(
            "scheduled event with id: {} does not exist",
            a.event_id
        )));
    }
    Ok(success())
}

/// Arguments shared by the two listing operations.
#[derive(Deserialize)]
struct ListArgs {
    #[serde(rename = "type")]
    kind: Kind,
    #[serde(default)]
    trigger_name: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    offset: Option<u64>,
    #[serde(default)]
    status: Option<Vec<String>>,
    #[serde(default)]
    get_rows_count: bool,
}

fn list_args(args: &Json) -> Result<ListArgs, ApiError> {
    let a: ListArgs = parse(args)?;
    if let Some(bad) = a
        .status
        .iter()
        .flatten()
        .find(|s| !STATUSES.contains(&s.as_str()))
    {
        return Err(ApiError::parse_failed(format!(
            "unknown status {bad:?}; expected one of {}",
            STATUSES.join(", ")
        ))
        .at("$.args.status"));
    }
    Ok(a)
}

/// Runs a listing statement whose parameters are
/// `$1 trigger_name, $2 status (json array), $3 limit, $4 offset, $5 event_id`.
async fn list<D: Database>(
    cx: &Cx<'_, D>,
    a: &ListArgs,
    sql: String,
    key: &str,
) -> Result<Json, ApiError> {
    let stmt = Statement {
        sql,
        params: vec![
            a.trigger_name.clone(),
            a.status.as_ref().map(|s| json!(s).to_string()),
            a.limit.map(|l| l.to_string()),
            a.offset.map(|o| o.to_string()),
            a.event_id.clone(),
        ],
    };
    let text = cx
        .meta()
        .query_one(&stmt)
        .await
        .map_err(|e| ApiError::postgres(&e, Some(&stmt.sql)))?
        .unwrap_or_default();
    let mut v: Json =
        serde_json::from_str(&text).map_err(|e| ApiError::unexpected(e.to_string()))?;
    if !a.get_rows_count {
        if let Json::Object(m) = &mut v {
            m.shift_remove("count");
        }
    }
    if let Json::Object(m) = &mut v {
        if m.get(key).is_some_and(Json::is_null) {
            m.insert(key.into(), json!([]));
        }
    }
    Ok(v)
}

pub(crate) async fn get_scheduled_events<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let a = list_args(args)?;
    let (filter, fields) = match a.kind {
        Kind::Cron => (
            "($1::text IS NULL OR trigger_name = $1::text)",
            "'id', id, 'trigger_name', trigger_name",
        ),
        Kind::OneOff => (
            "($1::text IS NULL OR $1::text IS NOT NULL)",
            "'id', id, 'webhook_conf', webhook_conf",
        ),
    };
    let extra = match a.kind {
        Kind::Cron => "",
        Kind::OneOff => {
            ", 'retry_conf', retry_conf, 'payload', payload, 'header_conf', header_conf, \
             'comment', comment"
        }
    };
    let sql = format!(
        "WITH f AS (SELECT * FROM {table} WHERE {filter} \
           AND ($2::jsonb IS NULL OR status IN (SELECT jsonb_array_elements_text($2::jsonb))) \
           AND ($5::text IS NULL OR id = $5::text)), \
         p AS (SELECT * FROM f ORDER BY scheduled_time, id LIMIT $3::bigint OFFSET $4::bigint) \
         SELECT json_build_object('events', (SELECT json_agg(json_build_object({fields}, \
           'scheduled_time', graphedge.utc_text(scheduled_time), 'status', status, 'tries', tries, \
           'created_at', graphedge.utc_text(created_at), \
           'next_retry_at', graphedge.utc_text(next_retry_at){extra}) \
           ORDER BY scheduled_time, id) FROM p), \
         'count', (SELECT count(*) FROM f))::text",
        table = a.kind.events(),
    );
    list(cx, &a, sql, "events").await
}

pub(crate) async fn get_scheduled_event_invocations<D: Database>(
    cx: &mut Cx<'_, D>,
    args: &Json,
) -> Result<Json, ApiError> {
    let a = list_args(args)?;
    let filter = match a.kind {
        Kind::Cron => "($1::text IS NULL OR e.trigger_name = $1::text)",
        Kind::OneOff => "($1::text IS NULL OR $1::text IS NOT NULL)",
    };
    let sql = format!(
        "WITH f AS (SELECT l.* FROM {logs} l JOIN {events} e ON e.id = l.event_id \
           WHERE {filter} AND ($5::text IS NULL OR l.event_id = $5::text) \
           AND ($2::jsonb IS NULL OR e.status IN (SELECT jsonb_array_elements_text($2::jsonb)))), \
         p AS (SELECT * FROM f ORDER BY created_at DESC, id LIMIT $3::bigint OFFSET $4::bigint) \
         SELECT json_build_object('invocations', (SELECT json_agg(json_build_object( \
           'id', id, 'event_id', event_id, 'status', status, 'request', request, \
           'response', response, 'created_at', graphedge.utc_text(created_at)) \
           ORDER BY created_at DESC, id) FROM p), \
         'count', (SELECT count(*) FROM f))::text",
        logs = a.kind.logs(),
        events = a.kind.events(),
    );
    list(cx, &a, sql, "invocations").await
}
