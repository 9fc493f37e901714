//! The background loops of the native process: event-trigger delivery (and cron triggers /
//! scheduled events — one line each below). Run by `graphedge scheduler`, and inside
//! `graphedge serve` unless `--enable-background=false` / `GRAPHEDGE_ENABLE_BACKGROUND=false`.
//!
//! Every loop shares one webhook [`Deliverer`] (one HTTP pool of
//! `HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE` permits). Once the process's [`Shutdown`] is
//! requested they stop claiming, let work in flight finish until its deadline and return their
//! unfinished work to the database (bounded by the release deadline) before [`run`] returns.
use crate::shutdown::Shutdown;

use crate::deliver::Deliverer;
use crate::event_sources::{self, Databases};
use crate::events::EventsConfig;

/// The loops' settings, read (and validated) before anything starts.
#[derive(Clone)]
pub struct Settings {
    /// The shared webhook client.
    pub deliverer: Deliverer,
    pub events: EventsConfig,
    pub scheduled: crate::scheduled::Settings,
}

impl Settings {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Settings, String> {
        Ok(Settings {
            deliverer: Deliverer::from_env(get)?,
            events: EventsConfig::from_lookup(&get)?,
            scheduled: crate::scheduled::Settings::from_env(get)?,
        })
    }
}

/// Runs all background loops until the stop is requested and every loop has stopped.
/// Event triggers are delivered from their sources' databases; cron triggers and one-off
/// scheduled events live in the metadata database.
pub async fn run(dbs: Databases, settings: Settings, shutdown: Shutdown) {
    let mut loops = tokio::task::JoinSet::new();
    let db = dbs.metadata.clone();
    loops.spawn(event_sources::run(
        dbs,
        settings.deliverer.clone(),
        settings.events.clone(),
        shutdown.clone(),
    ));
    loops.spawn(
        crate::scheduled::Scheduler::new(
            db.clone(),
            settings.deliverer.clone(),
            settings.scheduled.clone(),
        )
        .run(shutdown.clone()),
    );
    // Further loops go here, e.g. `loops.spawn(crate::cron::run(db.clone(), deliverer.clone(), ...));`
    while let Some(r) = loops.join_next().await {
        if let Err(e) = r {
            tracing::error!(error = %e, "a background loop failed");
        }
    }
}

/// `GRAPHEDGE_ENABLE_BACKGROUND` (default true): whether `graphedge serve` runs the loops.
pub fn enabled(get: &dyn Fn(&str) -> Option<String>) -> Result<bool, String> {
    match get("GRAPHEDGE_ENABLE_BACKGROUND").map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(true),
        Some(v) if v.is_empty() => Ok(true),
        Some(v) => match v.as_str() {
            "true" | "t" | "yes" | "y" | "on" | "1" => Ok(true),
            "false" | "f" | "no" | "n" | "off" | "0" => Ok(false),
            _ => Err(format!(
                "GRAPHEDGE_ENABLE_BACKGROUND: expected true or false: {v}"
            )),
        },
    }
}
