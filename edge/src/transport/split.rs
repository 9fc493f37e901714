//! Splitting a SQL script into its statements: the metadata crate's splitter
//! ([`graphedge_metadata::sql_split`], which `run_sql` with `no_transaction` uses too),
//! re-exported for the transports.
pub use graphedge_metadata::sql_split::*;
