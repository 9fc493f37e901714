//! Event triggers, host-independent: the typed model of `event_triggers` in a table's metadata,
//! the Postgres DDL that records changes into `graphedge.event_log`, and the metadata API
//! operations on events. The delivery loop itself lives in the native process
//! (`graphedge_scheduler::events`).
pub mod webhook;
