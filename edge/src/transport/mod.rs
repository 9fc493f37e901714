//! Transports to Postgres that the edge can use without a raw Postgres driver of its own.
//!
//! * [`neon`] — Neon's serverless SQL-over-HTTP protocol (`POST /sql`), spoken through the
//!   host's [`HttpClient`](crate::http::HttpClient); works against a real Neon endpoint and
//!   against graphedge's own gateway (`graphedge serve --enable-sql-gateway`).
//! * [`sourced`] — an edge host's databases (metadata, each source's) as one `Database`.
//! * [`split`] — splitting a multi-statement SQL script (Hasura `run_sql`) into statements.
pub mod neon;
pub mod sourced;
pub mod split;

pub use neon::{NeonConfig, NeonDatabase};
