//! Event triggers, host-independent: the typed model of `event_triggers` in a table's metadata,
//! the Postgres objects that record changes into `graphedge.event_log` (installed in the same
//! transaction as the metadata that declares them), and the metadata API operations on events.
//! The delivery loop itself lives in the native process (`graphedge_scheduler::events`).
//!
//! Catalog (schema `graphedge`, created by [`CATALOG_SQL`]):
//! * `event_log` — one row per change: trigger, table, op, `data {old,new}`, session variables,
//!   delivery state (`delivered`, `error`, `tries`, `next_retry_at`), the lock (`locked_by`,
//!   `locked_at`) and, for ordered triggers, `ordering_key` (the primary key as JSON).
//! * `event_invocation_logs` — one row per delivery attempt (request, response, status).
//! * `event_processors` — one row per running delivery process with its heartbeat; events locked
//!   by a process whose heartbeat is older than the lease are claimable again.
//! * `record_event()` — the row trigger function; `install_event_trigger(name, schema, table,
//!   spec)` / `drop_event_trigger(name, schema, table)` — the DDL, built inside Postgres with
//!   `format('%I')` from bind parameters.
pub mod ops;
pub(crate) use test_transform::test_webhook_transform;
mod test_transform;
pub mod transform;
pub mod webhook;

use crate::db::Statement;
use crate::introspect::Catalog;
use crate::raw::{Metadata, QualifiedTable};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use webhook::{HeaderConf, RetryConf};

/// The metadata key (ignored by Hasura) that opts a trigger into per-primary-key ordering:
/// `"graphedge_ordering": "primary_key"`. Events with the same primary key are delivered one at
/// a time in commit order; a failing event holds back later events of its key until it is
/// delivered or gives up.
pub const ORDERING_KEY: &str = "graphedge_ordering";

/// `"*"` or a list of column names.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(untagged)]
pub enum Columns {
    All(AllColumns),
    List(Vec<String>),
}

/// The literal `"*"`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllColumns {
    #[serde(rename = "*")]
    Star,
}

impl Columns {
    pub fn list(&self) -> Option<&[String]> {
        match self {
            Columns::All(_) => None,
            Columns::List(l) => Some(l),
        }
    }
}

/// `{"columns": "*" | [...], "payload"?: "*" | [...]}` of one operation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OpSpec {
    pub columns: Columns,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Columns>,
}

/// `definition` of an event trigger.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Definition {
    #[serde(default)]
    pub enable_manual: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert: Option<OpSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<OpSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<OpSpec>,
}

/// One entry of a table's `event_triggers`, serialised like Hasura's `export_metadata`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EventTriggerConf {
    pub name: String,
    pub definition: Definition,
    #[serde(default)]
    pub retry_conf: RetryConf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_from_env: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderConf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_transform: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_transform: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_config: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graphedge_ordering: Option<String>,
}

impl EventTriggerConf {
    /// Per-primary-key ordering requested (see [`ORDERING_KEY`]).
    pub fn ordered(&self) -> bool {
        self.graphedge_ordering.as_deref() == Some("primary_key")
    }
}

/// A trigger with the table it is on.
#[derive(Clone, Debug, PartialEq)]
pub struct TableTrigger {
    pub source: String,
    pub table: QualifiedTable,
    pub conf: EventTriggerConf,
}

/// Hasura's rule: letters, digits, `_` and `-`, at most 42 characters (the Postgres trigger
/// name `graphedge_<name>_INSERT` must fit in 63 bytes).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 42
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(format!(
            "invalid event trigger name {name:?}: use 1 to 42 letters, digits, '_' or '-'"
        ));
    }
    Ok(())
}

/// Parses and validates one `event_triggers` entry against the table's columns (when the
/// catalog knows the table). `Err` is `(message, path suffix)`.
pub fn parse_conf(
    v: &Json,
    table: &QualifiedTable,
    catalog: &Catalog,
) -> Result<EventTriggerConf, (String, String)> {
    let conf: EventTriggerConf =
        serde_json::from_value(v.clone()).map_err(|e| (e.to_string(), String::new()))?;
    validate(&conf, table, catalog)?;
    Ok(conf)
}

/// Checks a trigger definition: name, webhook, headers, columns, transform, ordering.
pub fn validate(
    conf: &EventTriggerConf,
    table: &QualifiedTable,
    catalog: &Catalog,
) -> Result<(), (String, String)> {
    let err = |m: String, p: &str| (m, p.to_string());
    check_name(&conf.name).map_err(|m| err(m, ".name"))?;
    match (&conf.webhook, &conf.webhook_from_env) {
        // A `{{VAR}}` template is checked once resolved, at delivery.
        (Some(u), None) if webhook::is_template(u) => {}
        (Some(u), None) => webhook::check_url(u).map_err(|m| err(m, ".webhook"))?,
        (None, Some(v)) if !v.trim().is_empty() => {}
        (None, Some(_)) => return Err(err("webhook_from_env must not be empty".into(), "")),
        (Some(_), Some(_)) => {
            return Err(err(
                "only one of \"webhook\" and \"webhook_from_env\" may be given".into(),
                "",
            ))
        }
        (None, None) => {
            return Err(err(
                "expecting \"webhook\" or \"webhook_from_env\"".into(),
                "",
            ))
        }
    }
    webhook::check_headers(&conf.headers).map_err(|m| err(m, ".headers"))?;
    if let Some(o) = &conf.graphedge_ordering {
        if o != "primary_key" {
            return Err(err(
                format!("{ORDERING_KEY}: expected \"primary_key\", got {o:?}"),
                &format!(".{ORDERING_KEY}"),
            ));
        }
    }
    let d = &conf.definition;
    if let Some(t) = &conf.request_transform {
        transform::RequestTransform::parse(t).map_err(|m| err(m, ".request_transform"))?;
    }
    let Some(ct) = catalog.table(&table.schema, &table.name) else {
        return Err(err(
            format!("table {:?} does not exist", table.name),
            ".table",
        ));
    };
    if conf.ordered() && ct.primary_key.is_none() {
        return Err(err(
            format!(
                "{ORDERING_KEY}: table {:?} has no primary key to order by",
                table.name
            ),
            &format!(".{ORDERING_KEY}"),
        ));
    }
    for (op, spec) in [
        ("insert", &d.insert),
        ("update", &d.update),
        ("delete", &d.delete),
    ] {
        let Some(spec) = spec else { continue };
        for (key, cols) in [
            ("columns", Some(&spec.columns)),
            ("payload", spec.payload.as_ref()),
        ] {
            let Some(list) = cols.and_then(Columns::list) else {
                continue;
            };
            if key == "columns" && op == "update" && list.is_empty() {
                return Err(err(
                    "update: \"columns\" must name at least one column (or be \"*\")".into(),
                    ".update.columns",
                ));
            }
            if let Some(c) = list.iter().find(|c| ct.column(c).is_none()) {
                return Err(err(
                    format!("column {c:?} does not exist in table {:?}", table.name),
                    &format!(".{op}.{key}"),
                ));
            }
        }
    }
    Ok(())
}

/// Every event trigger of the metadata, parsed, with the path of each (entries that do not
/// parse are errors with their path). Checked against the catalog: those `changed` says.
/// The catalog of `source` in `md`: the served source's is `catalog` itself, another's is
/// among `catalog.others` (`None`: not introspected).
pub fn source_catalog<'a>(
    md: &Metadata,
    catalog: &'a Catalog,
    source: &str,
) -> Option<&'a Catalog> {
    if crate::sources::served(md).is_some_and(|s| s.name == source) {
        Some(catalog)
    } else {
        catalog.other(source).map(|o| &o.catalog)
    }
}

fn all_triggers(
    md: &Metadata,
    catalog: &Catalog,
    changed: impl Fn(&TableTrigger) -> bool,
) -> Result<Vec<TableTrigger>, (String, String)> {
    let empty = Catalog::default();
    let mut out: Vec<TableTrigger> = Vec::new();
    for (si, s) in md.sources.iter().enumerate() {
        for (ti, t) in s.tables.iter().enumerate() {
            for (ei, v) in t.event_triggers.iter().enumerate() {
                let path = format!("$.sources[{si}].tables[{ti}].event_triggers[{ei}]");
                let conf: EventTriggerConf =
                    serde_json::from_value(v.clone()).map_err(|e| (e.to_string(), path.clone()))?;
                let tt = TableTrigger {
                    source: s.name.clone(),
                    table: t.table.clone(),
                    conf,
                };
                if changed(&tt) {
                    let cat = source_catalog(md, catalog, &s.name).unwrap_or(&empty);
                    validate(&tt.conf, &tt.table, cat).map_err(|(m, p)| (m, path.clone() + &p))?;
                }
                let conf = tt.conf;
                if out
                    .iter()
                    .any(|o| o.conf.name == conf.name && o.source == s.name)
                {
                    return Err((
                        format!("event trigger {:?} is defined twice", conf.name),
                        path + ".name",
                    ));
                }
                out.push(TableTrigger {
                    source: s.name.clone(),
                    table: t.table.clone(),
                    conf,
                });
            }
        }
    }
    Ok(out)
}

/// What `install_event_trigger` needs: which ops, their columns and payload columns, the
/// primary key columns when ordered, and the payload conversions Hasura makes (`text`: bigint
/// and numeric as strings with `stringify`; `geojson`: geometry and geography as GeoJSON).
fn install_spec(t: &TableTrigger, catalog: &Catalog, stringify: bool) -> Json {
    let mut conversions = serde_json::Map::new();
    if let Some(ct) = catalog.table(&t.table.schema, &t.table.name) {
        for c in &ct.columns {
            match c.pg_type.udt.as_str() {
                "int8" | "numeric" if stringify => {
                    conversions.insert(c.name.clone(), json!("text"));
                }
                "geometry" | "geography" => {
                    conversions.insert(c.name.clone(), json!("geojson"));
                }
                _ => {}
            }
        }
    }
    let d = &t.conf.definition;
    let op = |s: &Option<OpSpec>| match s {
        None => Json::Null,
        Some(s) => json!({
            "columns": s.columns.list(),
            "payload": s.payload.as_ref().and_then(Columns::list),
        }),
    };
    let pk = if t.conf.ordered() {
        catalog
            .table(&t.table.schema, &t.table.name)
            .and_then(|ct| ct.primary_key.as_ref())
            .map(|pk| json!(pk.columns))
            .unwrap_or(Json::Null)
    } else {
        Json::Null
    };
    json!({"insert": op(&d.insert), "update": op(&d.update), "delete": op(&d.delete),
        "ordering_key": pk, "conversions": conversions})
}

fn install_stmt(t: &TableTrigger, catalog: &Catalog, stringify: bool) -> Statement {
    Statement {
        sql:
            "SELECT graphedge.install_event_trigger($1::text, $2::text, $3::text, $4::jsonb)::text"
                .into(),
        params: vec![
            Some(t.conf.name.clone()),
            Some(t.table.schema.clone()),
            Some(t.table.name.clone()),
            Some(install_spec(t, catalog, stringify).to_string()),
        ],
    }
}

fn drop_stmt(t: &TableTrigger) -> Statement {
    Statement {
        sql: "SELECT graphedge.drop_event_trigger($1::text, $2::text, $3::text)::text".into(),
        params: vec![
            Some(t.conf.name.clone()),
            Some(t.table.schema.clone()),
            Some(t.table.name.clone()),
        ],
    }
}

/// The statements that take the databases' triggers from `old` to `new` metadata, each with the
/// name of the source whose database it runs on: drop what went away or changed, install what
/// is new or changed (everything when `reinstall`). Run them in the transaction that persists
/// `new` (or, for a source on another database, in one transaction there first), so a failure
/// leaves nothing half-installed. An invalid trigger in `new` is an error `(message, path)`.
pub fn reconcile(
    old: &Metadata,
    new: &Metadata,
    catalog: &Catalog,
    reinstall: bool,
    stringify: bool,
) -> Result<Vec<(String, Statement)>, (String, String)> {
    let empty = Catalog::default();
    // The old metadata was accepted before; entries that no longer parse are simply dropped.
    let old_t: Vec<TableTrigger> = old
        .sources
        .iter()
        .flat_map(|s| {
            s.tables.iter().flat_map(move |t| {
                t.event_triggers.iter().filter_map(move |v| {
                    Some(TableTrigger {
                        source: s.name.clone(),
                        table: t.table.clone(),
                        conf: serde_json::from_value(v.clone()).ok()?,
                    })
                })
            })
        })
        .collect();
    // Only new or changed triggers are checked against the catalog: an unchanged trigger on a
    // table dropped since must not block unrelated metadata changes.
    let new_t = all_triggers(new, catalog, |t| !old_t.contains(t))?;
    let mut stmts = Vec::new();
    for o in &old_t {
        if reinstall || !new_t.contains(o) {
            stmts.push((o.source.clone(), drop_stmt(o)));
        }
    }
    for n in &new_t {
        let cat = source_catalog(new, catalog, &n.source).unwrap_or(&empty);
        let present = cat.table(&n.table.schema, &n.table.name).is_some();
        if (reinstall && present) || !old_t.contains(n) {
            stmts.push((n.source.clone(), install_stmt(n, cat, stringify)));
        }
    }
    Ok(stmts)
}

/// Finds a trigger by name in a source: `(table index, trigger index)`.
pub fn find(md: &Metadata, source: &str, name: &str) -> Option<(QualifiedTable, EventTriggerConf)> {
    let s = md.source(source)?;
    s.tables.iter().find_map(|t| {
        t.event_triggers.iter().find_map(|v| {
            let c: EventTriggerConf = serde_json::from_value(v.clone()).ok()?;
            (c.name == name).then(|| (t.table.clone(), c))
        })
    })
}

/// Hasura's name of the event log, `hdb_catalog.event_log`, as a read-only view of ours for the
/// SQL users (and Hasura's test harness) run against a source: created with a source's event
/// triggers, only where no such relation exists (a database Hasura used keeps its own
/// `hdb_catalog`), and marked ours.
pub const EVENT_LOG_VIEW_SQL: &str = r#"
DO $hdb$
BEGIN
  IF to_regclass('hdb_catalog.event_log') IS NULL THEN
    CREATE SCHEMA IF NOT EXISTS hdb_catalog;
    CREATE VIEW hdb_catalog.event_log AS
      SELECT id::text AS id, schema_name, table_name, trigger_name, data AS payload, delivered,
        error, tries, created_at, locked_at AS locked, next_retry_at, archived
      FROM graphedge.event_log;
    COMMENT ON VIEW hdb_catalog.event_log IS 'graphedge';
  END IF;
EXCEPTION WHEN duplicate_table OR duplicate_schema OR unique_violation THEN
  NULL; -- another process created it at the same moment
END
$hdb$;
"#;

/// Drops the view of [`EVENT_LOG_VIEW_SQL`] from a source's database once no source there has
/// event triggers (Hasura drops a source's event catalog with its last trigger source, as
/// `clear_metadata` shows); only the view we made.
pub const DROP_EVENT_LOG_VIEW_SQL: &str = r#"
DO $hdb$
BEGIN
  IF obj_description(to_regclass('hdb_catalog.event_log'), 'pg_class') = 'graphedge' THEN
    DROP VIEW hdb_catalog.event_log;
  END IF;
END
$hdb$;
"#;

/// The catalog objects of event triggers (idempotent; run by `store::ensure`).
pub const CATALOG_SQL: &str = r#"
CREATE TABLE IF NOT EXISTS graphedge.event_log (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq bigserial NOT NULL,
  trigger_name text NOT NULL,
  schema_name text NOT NULL,
  table_name text NOT NULL,
  op text NOT NULL,
  data jsonb NOT NULL,
  session_variables jsonb,
  trace_context jsonb,
  ordering_key text,
  delivered boolean NOT NULL DEFAULT false,
  error boolean NOT NULL DEFAULT false,
  archived boolean NOT NULL DEFAULT false,
  tries integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  next_retry_at timestamptz,
  locked_at timestamptz,
  locked_by text
);
CREATE INDEX IF NOT EXISTS event_log_pending ON graphedge.event_log (seq)
  WHERE NOT delivered AND NOT error AND NOT archived;
CREATE INDEX IF NOT EXISTS event_log_trigger ON graphedge.event_log (trigger_name, created_at);
CREATE INDEX IF NOT EXISTS event_log_ordering ON graphedge.event_log (trigger_name, ordering_key, seq)
  WHERE ordering_key IS NOT NULL AND NOT delivered AND NOT error AND NOT archived;
CREATE TABLE IF NOT EXISTS graphedge.event_invocation_logs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id uuid NOT NULL,
  trigger_name text NOT NULL,
  status integer,
  request jsonb,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS event_invocation_logs_event ON graphedge.event_invocation_logs (event_id);
CREATE INDEX IF NOT EXISTS event_invocation_logs_trigger ON graphedge.event_invocation_logs (trigger_name, created_at);
CREATE TABLE IF NOT EXISTS graphedge.event_processors (
  owner text PRIMARY KEY,
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
CREATE OR REPLACE FUNCTION graphedge.record_event() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  old_row jsonb;
  new_row jsonb;
  cols text[];
  pk text[];
  okey text;
  conv_col text;
  conv_kind text;
  geo jsonb;
BEGIN
  IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD); END IF;
  IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW); END IF;
  -- Hasura's payload conversions (TG_ARGV[5]): bigint/numeric as strings, PostGIS as GeoJSON.
  IF TG_NARGS > 5 AND TG_ARGV[5] <> '{}' THEN
    FOR conv_col, conv_kind IN SELECT * FROM jsonb_each_text(TG_ARGV[5]::jsonb) LOOP
      IF conv_kind = 'text' THEN
        IF jsonb_typeof(old_row -> conv_col) = 'number' THEN old_row := jsonb_set(old_row, ARRAY[conv_col], to_jsonb(old_row ->> conv_col)); END IF;
        IF jsonb_typeof(new_row -> conv_col) = 'number' THEN new_row := jsonb_set(new_row, ARRAY[conv_col], to_jsonb(new_row ->> conv_col)); END IF;
      ELSIF conv_kind = 'geojson' THEN
        IF jsonb_typeof(old_row -> conv_col) = 'string' THEN
          EXECUTE 'SELECT ST_AsGeoJSON($1::geometry, 15, 4)::jsonb' INTO geo USING old_row ->> conv_col;
          old_row := jsonb_set(old_row, ARRAY[conv_col], geo);
        END IF;
        IF jsonb_typeof(new_row -> conv_col) = 'string' THEN
          EXECUTE 'SELECT ST_AsGeoJSON($1::geometry, 15, 4)::jsonb' INTO geo USING new_row ->> conv_col;
          new_row := jsonb_set(new_row, ARRAY[conv_col], geo);
        END IF;
      END IF;
    END LOOP;
  END IF;
  IF TG_ARGV[2] <> '' THEN
    pk := ARRAY(SELECT jsonb_array_elements_text(TG_ARGV[2]::jsonb));
    SELECT jsonb_agg(coalesce(new_row, old_row) -> c)::text INTO okey FROM unnest(pk) AS c;
  END IF;
  IF TG_ARGV[1] <> '*' THEN
    cols := ARRAY(SELECT jsonb_array_elements_text(TG_ARGV[1]::jsonb));
    IF old_row IS NOT NULL THEN
      SELECT coalesce(jsonb_object_agg(k, v), '{}') INTO old_row FROM jsonb_each(old_row) AS e(k, v) WHERE k = ANY(cols);
    END IF;
    IF new_row IS NOT NULL THEN
      SELECT coalesce(jsonb_object_agg(k, v), '{}') INTO new_row FROM jsonb_each(new_row) AS e(k, v) WHERE k = ANY(cols);
    END IF;
  END IF;
  INSERT INTO graphedge.event_log
    (trigger_name, schema_name, table_name, op, data, session_variables, trace_context, ordering_key)
  -- The table the trigger is defined on (TG_ARGV[3], [4]): a partition reports its parent.
  VALUES (TG_ARGV[0], CASE WHEN TG_NARGS > 4 THEN TG_ARGV[3] ELSE TG_TABLE_SCHEMA END,
    CASE WHEN TG_NARGS > 4 THEN TG_ARGV[4] ELSE TG_TABLE_NAME END, TG_OP,
    jsonb_build_object('old', old_row, 'new', new_row),
    NULLIF(current_setting('hasura.user', true), '')::jsonb,
    NULLIF(current_setting('hasura.tracecontext', true), '')::jsonb,
    okey);
  RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION graphedge.drop_event_trigger(tname text, sch text, tbl text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE op text;
BEGIN
  IF to_regclass(format('%I.%I', sch, tbl)) IS NULL THEN RETURN; END IF;
  FOREACH op IN ARRAY ARRAY['INSERT', 'UPDATE', 'DELETE'] LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I.%I', 'graphedge_' || tname || '_' || op, sch, tbl);
  END LOOP;
END
$fn$;
CREATE OR REPLACE FUNCTION graphedge.install_event_trigger(tname text, sch text, tbl text, spec jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  op text;
  s jsonb;
  cond text;
  payload text;
  pk text;
BEGIN
  PERFORM graphedge.drop_event_trigger(tname, sch, tbl);
  pk := CASE WHEN jsonb_typeof(spec -> 'ordering_key') = 'array' THEN (spec -> 'ordering_key')::text ELSE '' END;
  FOREACH op IN ARRAY ARRAY['INSERT', 'UPDATE', 'DELETE'] LOOP
    s := spec -> lower(op);
    CONTINUE WHEN s IS NULL OR jsonb_typeof(s) <> 'object';
    payload := CASE WHEN jsonb_typeof(s -> 'payload') = 'array' THEN (s -> 'payload')::text ELSE '*' END;
    cond := '';
    IF op = 'UPDATE' AND jsonb_typeof(s -> 'columns') = 'array' THEN
      SELECT ' WHEN (' || string_agg(format('to_jsonb(OLD.%1$I) IS DISTINCT FROM to_jsonb(NEW.%1$I)', c), ' OR ') || ')'
        INTO cond FROM jsonb_array_elements_text(s -> 'columns') AS c;
      cond := coalesce(cond, '');
    END IF;
    EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I.%I FOR EACH ROW%s EXECUTE FUNCTION graphedge.record_event(%L, %L, %L, %L, %L, %L)',
      'graphedge_' || tname || '_' || op, op, sch, tbl, cond, tname, payload, pk, sch, tbl,
      coalesce(spec -> 'conversions', '{}')::text);
  END LOOP;
END
$fn$;
"#;
