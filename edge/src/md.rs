//! The edge's view of the metadata crate: every item the edge uses from `graphedge_metadata`
//! goes through this module, so the rest of the crate does not care where they live.
pub use graphedge_metadata::db::{Database, DbError, On, Rows, SqlResult, Statement, Target};
pub use graphedge_metadata::raw::{ApiLimits, UniqueParams};
pub use graphedge_metadata::sources::{served_connection, Connection as SourceConnection};
pub use graphedge_metadata::{
    execute, json_to_value, load, load_existing, ApiError, Config as MetadataConfig, Endpoint,
    MetadataState,
};
