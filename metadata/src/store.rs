//! Persistence of the metadata and the introspection catalog in our own schema `graphedge`:
//! one row of `graphedge.metadata`, written with a parameterised UPSERT.
use crate::db::{Database, DbError, Statement};
use serde_json::Value as Json;

/// Creates the schema and table when missing (idempotent).
pub const CREATE_SQL: &str = "CREATE SCHEMA IF NOT EXISTS graphedge;
CREATE TABLE IF NOT EXISTS graphedge.metadata (
  id int PRIMARY KEY DEFAULT 1,
  resource_version bigint NOT NULL,
  metadata jsonb NOT NULL,
  catalog jsonb
);";

const READ_SQL: &str = "SELECT json_build_object('resource_version', resource_version, \
'metadata', metadata, 'catalog', catalog)::text FROM graphedge.metadata WHERE id = 1";

const VERSION_SQL: &str = "SELECT resource_version::text FROM graphedge.metadata WHERE id = 1";

const WRITE_SQL: &str = "INSERT INTO graphedge.metadata (id, resource_version, metadata, catalog) \
VALUES (1, $1::bigint, $2::jsonb, $3::jsonb) \
ON CONFLICT (id) DO UPDATE SET resource_version = EXCLUDED.resource_version, \
metadata = EXCLUDED.metadata, catalog = EXCLUDED.catalog";

/// What is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub resource_version: i64,
    pub metadata: Json,
    pub catalog: Option<Json>,
}

pub async fn ensure(db: &impl Database) -> Result<(), DbError> {
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
    ]
    .join("\n");
    db.run_sql(&script).await.map(|_| ())
}

/// Serialises catalog creation across processes (released when the transaction ends).
const ENSURE_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(2026112201);";

/// The stored metadata's version (`None`: nothing stored yet) — the edge's cheap staleness check.
pub async fn version(db: &impl Database) -> Result<Option<i64>, DbError> {
    let text = db
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
    let Some(text) = db
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

pub async fn write(
    db: &impl Database,
    resource_version: i64,
    metadata: &Json,
    catalog: Option<&Json>,
) -> Result<(), DbError> {
    let stmt = write_statement(resource_version, metadata, catalog);
    db.transaction(&[stmt]).await.map(|_| ())
}

/// The UPSERT of [`write`], to run inside a larger transaction.
pub fn write_statement(
    resource_version: i64,
    metadata: &Json,
    catalog: Option<&Json>,
) -> Statement {
    Statement {
        sql: WRITE_SQL.into(),
        params: vec![
            Some(resource_version.to_string()),
            Some(metadata.to_string()),
            catalog.map(|c| c.to_string()),
        ],
    }
}
