//! graphedge core: a pure compiler from a GraphQL request to ONE parameterised Postgres
//! statement that produces the response JSON.
//!
//! Invariants (see ARCHITECTURE.md):
//! - no I/O, no clock, no randomness: `#![no_std]` + `alloc`, no dependencies;
//! - user values only ever reach SQL as bind parameters ([`sql::Param`]);
//! - identifiers only go through [`sql::quote_ident`];
//! - the emitted SQL is deterministic (counter aliases), so it can be snapshot-tested;
//! - never panics on any input: every failure is an [`error::Error`] with a Hasura code.
#![no_std]
extern crate alloc;

pub mod actions;
pub mod batch;
mod compile;
pub mod customize;
pub mod encode;
pub mod error;
pub mod introspection;
pub mod jsonpath;
pub mod limits;
pub mod model;
pub mod parse;
pub mod plan;
pub mod remote_schemas;
pub mod session;
pub mod value;

pub use error::{Error, ErrorCode};

/// DDL of the catalog objects mutation plans call (`graphedge.check_violation(path)`, which
/// raises SQLSTATE P0001 `check constraint of an insert/update permission has failed` with the
/// JSON path in its HINT). Run it where the catalog schema `graphedge` is created.
pub const CATALOG_SQL: &str = compile::CATALOG_SQL;
pub use model::Schema;
pub use plan::{
    ActionCall, Cached, CallMode, Encoding, OutField, OutKind, ParamSpec, PhantomKey, Plan,
    PlanKind, RemoteCall, RemoteJoin, RemoteSchemaJoin, SessionPreset, Slot, Step,
    REMOTE_KEYS_VARIABLE,
};
pub use session::Session;
pub use value::Value;

/// Engine options that change the emitted SQL (part of the plan cache key via the schema version
/// of the engine that holds them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES`: bigint/numeric as JSON strings.
    pub stringify_numeric: bool,
    /// `HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS` (default true).
    pub infer_function_permissions: bool,
    /// Maximum selection depth accepted (deeper documents are rejected).
    pub max_depth: usize,
    /// Relay mode (`/v1beta1/relay`): `<t>_connection` and `node` root fields, node ids.
    pub relay: bool,
    /// `HASURA_GRAPHQL_V1_BOOLEAN_NULL_COLLAPSE`: a null operand of a comparison in a `where`
    /// means no condition (Hasura v1). Off (Hasura v2's default): it is an error.
    pub null_collapse: bool,
    /// `HASURA_GRAPHQL_ENABLE_REMOTE_SCHEMA_PERMISSIONS`: a non-admin role may use a remote
    /// schema only with a permission on it. Off (Hasura's default): every role may.
    pub remote_schema_permissions: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            stringify_numeric: false,
            infer_function_permissions: true,
            max_depth: 64,
            relay: false,
            null_collapse: false,
            remote_schema_permissions: false,
        }
    }
}

/// One GraphQL request (a batch is several of these).
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    pub query: &'a str,
    pub operation_name: Option<&'a str>,
    /// The request's `variables` object.
    pub variables: &'a [(alloc::string::String, Value)],
}

/// The `/v1/query` data operations [`compile_data`] compiles.
pub const DATA_OPERATIONS: [&str; 5] = compile::dataops::OPERATIONS;

/// Compiles one `/v1/query` data operation (`select`, `count`, `insert`, `update`, `delete`
/// with its `args`) for a session, with the GraphQL compiler and the role's permissions. The
/// plan's statement yields the operation's answer (`[rows]`, `{"count"}`,
/// `{"affected_rows", "returning"}`). Pure: no I/O.
pub fn compile_data(
    schema: &Schema,
    session: &Session,
    operation: &str,
    args: &Value,
    options: &Options,
) -> Result<Plan, Error> {
    compile::dataops::compile(schema, session, operation, args, options)
}

/// Compiles one GraphQL request for a session into a [`Plan`]. Pure: no I/O.
pub fn compile(
    schema: &Schema,
    session: &Session,
    request: &Request<'_>,
    options: &Options,
) -> Result<Plan, Error> {
    compile::compile(schema, session, request, options)
}
