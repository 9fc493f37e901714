//! Persistence of the metadata and the introspection catalog in our own schema `graphedge`:
//! one row of `graphedge.metadata`.
//!
//! Every write is a compare-and-set on `resource_version` ([`write_statement`]): it stores
//! version `expected + 1` only if the stored version is still `expected` (no row counts as 0),
//! and otherwise fails the whole transaction with [`is_conflict`], so a process holding an old
//! copy never writes it back over newer metadata. The check is one statement (no function of
//! ours, no interactive transaction), so it works through every transport, Neon's batches too.
//! The same transaction notifies [`NOTIFY_CHANNEL`] with the new version, for the other
//! processes on the database.
//!
//! Everything here runs on Hasura's metadata database ([`Target::Metadata`]), whatever
//! `db` the caller passes; [`ensure_source`] prepares a source's database.
use crate::db::{Database, DbError, On, Statement, Target};
use crate::sources::Connection;
use serde_json::Value as Json;

/// Creates the schema and table when missing (idempotent).
pub const CREATE_SQL: &str = "CREATE SCHEMA IF NOT EXISTS graphedge;
CREATE TABLE IF NOT EXISTS graphedge.metadata (
  id int PRIMARY KEY DEFAULT 1,
  resource_version bigint NOT NULL,
  metadata jsonb NOT NULL,
  catalog jsonb
);";

/// The log of asynchronous actions (Hasura's `hdb_catalog.hdb_action_log`): one row per call,
/// `created` until a native process claims it (`processing`), then `completed` with the
/// handler's answer or `error` with the error object.
pub const ACTION_LOG_SQL: &str = "CREATE TABLE IF NOT EXISTS graphedge.hdb_action_log (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  action_name text,
  input_payload jsonb NOT NULL,
  request_headers jsonb NOT NULL,
  session_variables jsonb NOT NULL,
  response_payload jsonb,
  errors jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  response_received_at timestamptz,
  status text NOT NULL DEFAULT 'created'
    CHECK (status IN ('created', 'processing', 'completed', 'error'))
);
CREATE INDEX IF NOT EXISTS hdb_action_log_created ON graphedge.hdb_action_log (created_at)
  WHERE status = 'created';
ALTER TABLE graphedge.hdb_action_log ADD COLUMN IF NOT EXISTS claimed_at timestamptz;";

const READ_SQL: &str = "SELECT json_build_object('resource_version', resource_version, \
'metadata', metadata, 'catalog', catalog)::text FROM graphedge.metadata WHERE id = 1";

const VERSION_SQL: &str = "SELECT resource_version::text FROM graphedge.metadata WHERE id = 1";

/// The channel every metadata write notifies (payload: the new `resource_version`).
pub const NOTIFY_CHANNEL: &str = "graphedge_metadata";

/// Subscribes a connection to [`NOTIFY_CHANNEL`].
pub const LISTEN_SQL: &str = "LISTEN graphedge_metadata";

/// Marker in the error the compare-and-set raises when the stored version moved.
const CONFLICT_MARKER: &str = "graphedge: metadata resource version conflict";

/// Compare-and-set: `$1` is the expected stored version (0 = no row yet). A concurrent writer
/// that got the row first makes `ON CONFLICT ... WHERE` skip it (Postgres re-checks the
/// condition on the newest row version), so `w` is empty and the final cast of the marker
/// (not a constant, so not folded at plan time) raises `invalid_text_representation`.
const WRITE_SQL: &str = "WITH w AS (\
INSERT INTO graphedge.metadata (id, resource_version, metadata, catalog) \
VALUES (1, $1::bigint + 1, $2::jsonb, $3::jsonb) \
ON CONFLICT (id) DO UPDATE SET resource_version = EXCLUDED.resource_version, \
metadata = EXCLUDED.metadata, catalog = EXCLUDED.catalog \
WHERE graphedge.metadata.resource_version = $1::bigint \
RETURNING resource_version) \
SELECT (CASE WHEN (SELECT count(*) FROM w) = 1 THEN '1' \
ELSE 'graphedge: metadata resource version conflict' END)::int";

const NOTIFY_SQL: &str = "SELECT pg_notify($1::text, $2::text)::text";

/// What is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub resource_version: i64,
    pub metadata: Json,
    pub catalog: Option<Json>,
}

/// Prepares the metadata database: our schema, the metadata table, and the catalog objects
/// (those of the sources too: a host with one database keeps everything there).
pub async fn ensure(db: &impl Database) -> Result<(), DbError> {
    let db = &On::metadata(db);
    // ONE script, so one transaction (a simple-query string, or one batch over HTTP), behind a
    // transaction-scoped advisory lock: several processes starting at once (servers, schedulers)
    // would otherwise race on `CREATE ... IF NOT EXISTS` / `CREATE OR REPLACE FUNCTION`.
    let script = [
        ENSURE_LOCK_SQL,
        CREATE_SQL,
        crate::api::scheduled::CATALOG_SQL,
        // The functions compiled mutations call (permission-check violations).
        graphedge_core::CATALOG_SQL,
        // Event log, invocation log and trigger functions of event triggers.
        crate::events::CATALOG_SQL,
        ACTION_LOG_SQL,
    ]
    .join("\n");
    db.run_sql(&script).await.map(|_| ())
}

/// Prepares a source's database when it is not the metadata database: the functions compiled
/// mutations call and the event-trigger catalog (event log, trigger functions).
pub async fn ensure_source(db: &impl Database, source: &Connection) -> Result<(), DbError> {
    if db.same_database(Target::Metadata, Target::Source(source)) {
        return Ok(());
    }
    let script = [
        ENSURE_LOCK_SQL,
        "CREATE SCHEMA IF NOT EXISTS graphedge;",
        graphedge_core::CATALOG_SQL,
        crate::events::CATALOG_SQL,
    ]
    .join("\n");
    db.run_sql_on(Target::Source(source), &script)
        .await
        .map(|_| ())
}

/// Serialises catalog creation across processes (released when the transaction ends).
const ENSURE_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(2026112201);";

/// The stored metadata's version (`None`: nothing stored yet) — the edge's cheap staleness check.
pub async fn version(db: &impl Database) -> Result<Option<i64>, DbError> {
    let text = On::metadata(db)
        .query_one(&Statement {
            sql: VERSION_SQL.into(),
            params: vec![],
        })
        .await?;
    Ok(text.and_then(|t| t.trim().parse().ok()))
}

/// Whether `e` says our schema or metadata table does not exist yet (undefined_table /
/// invalid_schema_name).
pub fn is_missing_catalog(e: &DbError) -> bool {
    matches!(e.code.as_deref(), Some("42P01") | Some("3F000"))
}

pub async fn read(db: &impl Database) -> Result<Option<Stored>, DbError> {
    let Some(text) = On::metadata(db)
        .query_one(&Statement {
            sql: READ_SQL.into(),
            params: vec![],
        })
        .await?
    else {
        return Ok(None);
    };
    let v: Json = serde_json::from_str(&text).map_err(|e| DbError {
        message: format!("stored metadata is not JSON: {e}"),
        ..Default::default()
    })?;
    Ok(Some(Stored {
        resource_version: v
            .get("resource_version")
            .and_then(|r| r.as_i64())
            .unwrap_or(0),
        metadata: v.get("metadata").cloned().unwrap_or(Json::Null),
        catalog: v.get("catalog").cloned().filter(|c| !c.is_null()),
    }))
}

/// Stores `metadata` as version `expected + 1` if the stored version is still `expected`
/// (an error satisfying [`is_conflict`] otherwise).
pub async fn write(
    db: &impl Database,
    expected: i64,
    metadata: &Json,
    catalog: Option<&Json>,
) -> Result<(), DbError> {
    let stmts = write_statements(expected, metadata, catalog);
    On::metadata(db).transaction(&stmts).await.map(|_| ())
}

/// The compare-and-set of [`write`] and its notification, to run first in the transaction
/// that persists a metadata change (the row lock it takes serialises concurrent writers).
pub fn write_statements(expected: i64, metadata: &Json, catalog: Option<&Json>) -> [Statement; 2] {
    [
        Statement {
            sql: WRITE_SQL.into(),
            params: vec![
                Some(expected.to_string()),
                Some(metadata.to_string()),
                catalog.map(|c| c.to_string()),
            ],
        },
        Statement {
            sql: NOTIFY_SQL.into(),
            params: vec![
                Some(NOTIFY_CHANNEL.into()),
                Some((expected + 1).to_string()),
            ],
        },
    ]
}

/// Whether `e` is the compare-and-set of [`write_statements`] failing: the stored version is
/// not the expected one.
pub fn is_conflict(e: &DbError) -> bool {
    e.code.as_deref() == Some("22P02") && e.message.contains(CONFLICT_MARKER)
}
