//! graphedge native process: the only long-running, tokio-based part of graphedge.
//!
//! * [`db`] — [`db::PgDatabase`], the `Database` implementation on a tokio-postgres pool.
//! * [`background`] — the background loops (`graphedge scheduler`, and inside `graphedge serve`).
//! * [`events`] — event-trigger delivery: claim, POST, record, retry.
//! * [`backend`] — the pool or the Neon HTTP transport behind `graphedge serve`.
//! * [`config`] — `graphedge serve` flags and Hasura's environment variables.
//! * [`hasura_flags`] — Hasura flags accepted for a drop-in command line but not acted on.
//! * [`shutdown`] — graceful shutdown of every long-running command (drain until a deadline).
//! * [`server`] — the hyper HTTP/1.1 server that hands each request to `graphedge_edge::handle`.
//! * [`deliver`] — webhook delivery shared by event and cron triggers (pool, retries, headers).
//! * [`http_client`] — [`http_client::NativeHttp`], the host's outbound HTTP for the edge handler.
//! * [`gateway`] — the SQL gateway: Neon's SQL-over-HTTP protocol served over a pool of its own.
//! * [`dev`] — `graphedge dev`: a throwaway Postgres with a demo schema.
//! * [`metadata_sync`] — follows metadata changed through other processes (LISTEN + polling).
//! * [`metadata_cli`] — `graphedge metadata export|apply|...` against a running server.
//! * [`scheduled`] — cron triggers and one-off scheduled events: generation, claiming, delivery.
//! * [`logging`] — JSON log lines on stdout, batched (one write per 100 ms, not per line).
//! * [`sources`] — the metadata database and the sources' databases of `serve` (pools per source).
//! * [`pgtemp`] — throwaway local Postgres clusters (tests and `graphedge dev`).
//! * [`websocket`] — GraphQL over websockets (Hasura's two subprotocols) on the HTTP threads.
pub mod async_actions;
pub mod backend;
pub mod background;
pub mod busy_poll;
pub mod config;
pub mod db;
pub mod deliver;
pub mod dev;
pub mod event_sources;
pub mod events;
pub mod gateway;
pub mod hasura_flags;
pub mod http_client;
pub mod logging;
pub mod metadata_cli;
pub mod metadata_sync;
pub mod otel;
pub mod pgdump;
pub mod pgtemp;
pub mod pipeline;
pub mod scheduled;
pub mod server;
pub mod shutdown;
pub mod sources;
pub mod subscriptions;
pub mod websocket;
