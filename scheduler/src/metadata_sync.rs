//! The metadata watcher of `graphedge serve` / `dev`: follows metadata changes made through
//! other processes on the same database (replicas behind a load balancer, a second `serve`).
//!
//! Every metadata write notifies `graphedge_metadata` in its transaction (see
//! `graphedge_metadata::store`). The watcher keeps one connection outside the pool LISTENing
//! on it (named `graphedge-metadata-<pid>` in `pg_stat_activity`) and, on a notification, runs
//! [`Engine::refresh`](graphedge_edge::Engine::refresh) — the edge isolates' reload path: the
//! cheap version query, and a reload of the stored state when it moved. As a fallback that
//! survives a lost connection it also refreshes every `GRAPHEDGE_METADATA_POLL_MS` (default
//! 1000) without a notification; a lost LISTEN connection is reopened after
//! [`RECONNECT_DELAY`], followed by a refresh (notifications sent meanwhile were missed).
//! Changes made through this process are installed by the request itself; their notification
//! then finds the version unchanged.
//!
//! The background loops need no watcher: they read the metadata they use from the database
//! (event triggers re-read it within a second of a version change; cron triggers at each
//! generation, and a write reconciles cron events in its own transaction).
use std::sync::Arc;
use std::time::Duration;

use graphedge_metadata::store::LISTEN_SQL;
use tokio::sync::mpsc;

use crate::backend::Backend;
use crate::db::PgDatabase;
use crate::server::App;

/// Default of `GRAPHEDGE_METADATA_POLL_MS`.
pub const DEFAULT_POLL: Duration = Duration::from_millis(1000);
/// Wait before reopening a lost LISTEN connection.
pub const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// `GRAPHEDGE_METADATA_POLL_MS`: how often the stored version is checked without a
/// notification (milliseconds, at least 1).
pub fn poll_interval(get: &dyn Fn(&str) -> Option<String>) -> Result<Duration, String> {
    match get("GRAPHEDGE_METADATA_POLL_MS") {
        Some(v) if !v.trim().is_empty() => match v.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(format!(
                "GRAPHEDGE_METADATA_POLL_MS: expected milliseconds above 0, got {v:?}"
            )),
        },
        _ => Ok(DEFAULT_POLL),
    }
}

/// The `application_name` of this process's LISTEN connection.
pub fn application_name() -> String {
    format!("graphedge-metadata-{}", std::process::id())
}

/// Starts the watcher of `app`'s engine on `db` (the engine's databases; over the HTTP
/// transport the LISTEN connection goes to `url`, the metadata database, directly). Runs until the runtime stops.
pub fn start(
    app: &Arc<App>,
    db: Backend,
    url: &str,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let poll = poll_interval(get)?;
    // The LISTEN connection goes to the metadata database.
    let listen = match db.metadata_pool() {
        Some(pool) => pool.clone(),
        None => PgDatabase::connect(url, 1)?,
    };
    spawn(app.clone(), db, listen, poll);
    Ok(())
}

/// The watcher of `app`'s engine: refreshes through `db`, listens through a connection of
/// `listen`'s.
pub fn spawn(
    app: Arc<App>,
    db: Backend,
    listen: PgDatabase,
    poll: Duration,
) -> tokio::task::JoinHandle<()> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(listener(listen, tx));
    tokio::spawn(watch(app, db, rx, poll))
}

/// Keeps one LISTEN connection open, reopening it when it is lost.
async fn listener(db: PgDatabase, sink: mpsc::UnboundedSender<Option<String>>) {
    let name = application_name();
    while !sink.is_closed() {
        let why = db.listen(&name, LISTEN_SQL, sink.clone()).await;
        tracing::warn!(error = %why, "metadata LISTEN connection lost; reopening it");
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

/// Refreshes on every notification and every `poll`.
async fn watch(
    app: Arc<App>,
    db: Backend,
    mut notes: mpsc::UnboundedReceiver<Option<String>>,
    poll: Duration,
) {
    loop {
        tokio::select! {
            note = notes.recv() => if note.is_none() {
                // The listener is gone (it never stops while this runs): poll only.
                tokio::time::sleep(poll).await;
            },
            _ = tokio::time::sleep(poll) => {}
        }
        // One refresh answers every notification received so far.
        while notes.try_recv().is_ok() {}
        match app.engine.refresh(&db).await {
            Ok(Some(version)) => {
                crate::websocket::metadata_may_have_changed();
                tracing::info!(
                    resource_version = version,
                    "metadata changed elsewhere; reloaded"
                )
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot follow metadata changes"),
        }
    }
}
