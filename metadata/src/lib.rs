//! Hasura v2 metadata for graphedge.
//!
//! - [`raw`]: the serde model of Hasura's metadata (export version 3) and its YAML directory;
//! - [`introspect`]: what the database contains ([`introspect::Catalog`]);
//! - [`resolve`]: metadata + catalog → the core [`graphedge_core::Schema`] and inconsistencies;
//! - [`api`]: the operations of `/v1/query`, `/v1/metadata` and `/v2/query` ([`execute`], or
//!   [`execute_with`] an [`Introspector`] on hosts that reach remote schemas) and the cold
//!   start ([`load`]);
//! - `store`: persistence of metadata and catalog in our own schema `graphedge`;
//! - [`db`]: the `Database` trait every host implements, and where statements go
//!   ([`db::Target`]: Hasura's metadata database or a source's);
//! - [`sources`]: the sources' connections (`connection_info`), the served source and the
//!   source operations;
//! - [`rest`]: REST endpoints (URL templates, their queries, ambiguity);
//! - [`cron`]: cron schedules, next fire times and UTC timestamps (pure);
//! - [`events`]: event triggers (model, trigger DDL, event operations) and webhook settings.
pub mod api;
pub mod audit;
pub mod cron;
pub mod db;
pub mod error;
pub mod events;
pub mod introspect;
pub mod raw;
pub mod resolve;
pub mod rest;
pub mod sources;
pub mod sql_split;
pub mod store;

use std::sync::Arc;

pub use api::remote_schemas::{introspection_request, NO_INTROSPECTION};
pub use api::{
    execute, execute_with, load, load_existing, Introspector, NoIntrospection, INTROSPECTION_QUERY,
};
pub use error::ApiError;
pub use resolve::Inconsistency;

/// Engine settings that change how metadata resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS` (default true): a role may call a function
    /// when it can select from the function's return table.
    pub infer_function_permissions: bool,
    /// `HASURA_GRAPHQL_EXPERIMENTAL_FEATURES` has `naming_convention`: sources'
    /// `naming_convention` (and the default below) apply; otherwise names are Hasura's
    /// defaults whatever the metadata says.
    pub naming_conventions: bool,
    /// `HASURA_GRAPHQL_DEFAULT_NAMING_CONVENTION`: the convention of sources that name none.
    pub default_naming_convention: String,
    /// `HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES`: bigint and numeric columns are strings in event
    /// payloads too (the triggers are installed with it).
    pub stringify_numeric: bool,
    /// `HASURA_GRAPHQL_ENABLE_REMOTE_SCHEMA_PERMISSIONS`: `add_remote_schema_permissions` is
    /// refused without it (Hasura's `constraint-violation`); the edge enforces the
    /// permissions.
    pub remote_schema_permissions: bool,
    /// `HASURA_GRAPHQL_EXPERIMENTAL_FEATURES` has `apollo_federation`: `_service` is served,
    /// and tables' `apollo_federation_config` make them entities.
    pub apollo_federation: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            infer_function_permissions: true,
            naming_conventions: false,
            default_naming_convention: "hasura-default".into(),
            stringify_numeric: false,
            remote_schema_permissions: false,
            apollo_federation: false,
        }
    }
}

/// Everything the engine serves from: the metadata, the resolved schema and where it is broken.
#[derive(Debug, Clone)]
pub struct MetadataState {
    /// The metadata as `export_metadata` returns it.
    pub metadata: raw::Metadata,
    pub schema: Arc<graphedge_core::Schema>,
    pub inconsistencies: Vec<Inconsistency>,
    /// Bumped on every persisted change (`export_metadata` version 2 returns it).
    pub resource_version: i64,
    /// The database introspection the schema was resolved against (persisted with the metadata).
    pub catalog: Arc<introspect::Catalog>,
}

/// Which HTTP endpoint a request body came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v1/query`: legacy operation names (`track_table`, ...), legacy DML.
    V1Query,
    /// `/v1/metadata`: `pg_`-prefixed source operations and the metadata operations.
    V1Metadata,
    /// `/v2/query`: `run_sql` (and `bulk` of it).
    V2Query,
}

/// JSON → core Value (objects keep key order; numbers keep their text). Recursive: its depth is
/// bounded by serde_json's parser, which refuses documents nested deeper than 128 (the edge's
/// request bodies and variables, `scheduler/tests/hostile.rs`); core bounds its own walks over
/// the result (`encode::check_depths`).
pub fn json_to_value(v: &serde_json::Value) -> graphedge_core::Value {
    use graphedge_core::Value;
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => Value::Number(n.to_string()),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        ),
    }
}

/// core Value → JSON (numbers that are not JSON numbers, and `$variables`, as strings).
pub fn value_to_json(v: &graphedge_core::Value) -> serde_json::Value {
    use graphedge_core::Value as V;
    match v {
        V::Null => serde_json::Value::Null,
        V::Boolean(b) => serde_json::Value::Bool(*b),
        V::Number(n) => {
            serde_json::from_str(n).unwrap_or_else(|_| serde_json::Value::String(n.clone()))
        }
        V::String(s) | V::Enum(s) | V::Variable(s) => serde_json::Value::String(s.clone()),
        V::List(items) => serde_json::Value::Array(items.iter().map(value_to_json).collect()),
        V::Object(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), value_to_json(v)))
                .collect(),
        ),
    }
}
