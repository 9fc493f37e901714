//! Hasura v2 metadata for graphedge.
pub mod db;
