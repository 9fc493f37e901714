//! Which database each event trigger's events are delivered from. Events are written by the
//! triggers in their source's database (`graphedge.event_log` there), while the triggers'
//! definitions live in the metadata database. [`run`] re-reads the metadata every second (when
//! its version changed), resolves each source's connection (`from_env` through the process
//! settings) and keeps one [`events::deliver`] loop per source database, handing each the
//! triggers of the sources it holds; sources on the same database share a loop.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use graphedge_metadata::db::Database;
use graphedge_metadata::events::EventTriggerConf;
use graphedge_metadata::sources::Connection;
use serde_json::Value as Json;
use tokio::sync::{watch, Semaphore};

use crate::db::PgDatabase;
use crate::deliver::Deliverer;
use crate::events::{self, sleep_or_shutdown, stmt, EventsConfig, TriggerSet};
use crate::shutdown::Shutdown;
use crate::sources::{Opener, Settings};

const METADATA_SQL: &str = "SELECT json_build_object('v', resource_version, 'm', metadata)::text \
FROM graphedge.metadata WHERE id = 1";

/// Connections of the pool a delivery loop opens for a source database of its own.
const SOURCE_POOL: usize = 4;

/// The databases of the background loops.
#[derive(Clone)]
pub struct Databases {
    /// The metadata database (the metadata, cron and one-off scheduled events).
    pub metadata: PgDatabase,
    /// The primary database (`--database-url`, else the metadata database) and its URL.
    pub primary: (String, PgDatabase),
    /// Whether the primary database is the `default` source's (`--database-url`): a source
    /// whose connection does not resolve is then served from it, as `serve` does.
    pub default_database: bool,
    /// The process settings, for `from_env`.
    pub settings: Settings,
    /// Opens a pool for another database.
    pub open: Opener,
}

impl Databases {
    /// One database for everything (a single `HASURA_GRAPHQL_DATABASE_URL`).
    pub fn single(url: &str, db: PgDatabase) -> Databases {
        Databases {
            metadata: db.clone(),
            primary: (url.to_string(), db),
            default_database: true,
            settings: Arc::new(|k: &str| std::env::var(k).ok()),
            open: Arc::new(|url: &str| PgDatabase::connect(url, SOURCE_POOL)),
        }
    }

    /// The URL a source's connection reaches (`None`: it does not resolve; logged).
    fn url_of(&self, name: &str, connection: &Connection) -> Option<String> {
        match connection.url.resolve(&|k| (self.settings)(k)) {
            Ok(url) => Some(url),
            Err(_) if self.default_database => Some(self.primary.0.clone()),
            Err(e) => {
                tracing::warn!(target: "graphedge::events", source = %name, error = %e,
                    "the source's database is not reachable: its events wait");
                None
            }
        }
    }
}

/// The event triggers of `metadata` grouped by the URL of their source's database.
fn triggers_by_database(dbs: &Databases, md: &Json) -> HashMap<String, TriggerSet> {
    let mut out: HashMap<String, TriggerSet> = HashMap::new();
    let md = match graphedge_metadata::raw::Metadata::from_json(
        md,
        &graphedge_metadata::api::default_source_configuration(),
    ) {
        Ok(md) => md,
        Err(e) => {
            tracing::warn!(target: "graphedge::events", error = %e, "stored metadata is invalid");
            return out;
        }
    };
    for s in &md.sources {
        let triggers: Vec<&Json> = s.tables.iter().flat_map(|t| &t.event_triggers).collect();
        if triggers.is_empty() {
            continue;
        }
        let Ok(connection) = Connection::parse(&s.configuration) else {
            continue;
        };
        let Some(url) = dbs.url_of(&s.name, &connection) else {
            continue;
        };
        let set = out.entry(url).or_default();
        for e in triggers {
            match serde_json::from_value::<EventTriggerConf>(e.clone()) {
                Ok(c) => set.insert(c),
                Err(err) => {
                    tracing::warn!(target: "graphedge::events", error = %err, "skipping an invalid event trigger")
                }
            }
        }
    }
    out
}

/// The stored metadata and its version.
async fn read_metadata(db: &PgDatabase) -> Result<Option<(i64, Json)>, String> {
    let text = db
        .query_one(&stmt(METADATA_SQL, vec![]))
        .await
        .map_err(|e| e.to_string())?;
    let Some(text) = text else {
        return Ok(None);
    };
    let mut v: Json = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let version = v.get("v").and_then(Json::as_i64).unwrap_or(0);
    Ok(Some((
        version,
        v.get_mut("m").map(Json::take).unwrap_or_default(),
    )))
}

/// Runs the delivery loops of every source database until the stop is requested and each loop
/// has drained and unlocked its events.
pub async fn run(dbs: Databases, deliverer: Deliverer, config: EventsConfig, shutdown: Shutdown) {
    // In-flight deliveries, over all databases: at most the HTTP pool size.
    let slots = Arc::new(Semaphore::new(deliverer.pool_size()));
    let mut loops: HashMap<String, watch::Sender<Arc<TriggerSet>>> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut version = None;
    let mut backoff = Duration::from_millis(500);
    loop {
        if shutdown.is_requested() {
            break;
        }
        let mut pause = Duration::from_secs(1);
        match read_metadata(&dbs.metadata).await {
            Ok(Some((v, md))) if version != Some(v) => {
                version = Some(v);
                backoff = Duration::from_millis(500);
                let mut by_url = triggers_by_database(&dbs, &md);
                for (url, tx) in &loops {
                    tx.send_replace(Arc::new(by_url.remove(url).unwrap_or_default()));
                }
                for (url, set) in by_url {
                    let db = if url == dbs.primary.0 {
                        dbs.primary.1.clone()
                    } else {
                        match (dbs.open)(&url) {
                            Ok(db) => db,
                            Err(e) => {
                                tracing::warn!(target: "graphedge::events", error = %e,
                                    "cannot open a source database; retrying");
                                version = None;
                                continue;
                            }
                        }
                    };
                    let (tx, rx) = watch::channel(Arc::new(set));
                    tasks.spawn(events::deliver(
                        db,
                        rx,
                        deliverer.clone(),
                        slots.clone(),
                        config.clone(),
                        shutdown.clone(),
                    ));
                    loops.insert(url, tx);
                }
            }
            Ok(_) => backoff = Duration::from_millis(500),
            Err(e) => {
                tracing::warn!(target: "graphedge::events", error = %e, "cannot read the metadata");
                pause = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
        if sleep_or_shutdown(pause, &shutdown).await {
            break;
        }
    }
    // Each loop sees the stop itself, drains and unlocks.
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn triggers_grouped_by_source_database() {
        let dbs = Databases {
            settings: Arc::new(|k: &str| (k == "SRC2").then(|| "postgres://h/two".to_string())),
            default_database: false,
            ..Databases::single(
                "postgres://h/one",
                PgDatabase::connect("postgres://h/one", 1).unwrap(),
            )
        };
        let trigger = |name: &str| {
            json!({"name": name, "definition": {"insert": {"columns": "*"}},
                "webhook": "http://x", "retry_conf": {"num_retries": 0, "interval_sec": 1}})
        };
        let source = |name: &str, url: Json, triggers: Vec<Json>| {
            json!({"name": name, "kind": "postgres",
                "configuration": {"connection_info": {"database_url": url}},
                "tables": [{"table": {"schema": "public", "name": "t"},
                    "event_triggers": triggers}]})
        };
        let md = json!({"version": 3, "sources": [
            source("default", json!("postgres://h/one"), vec![trigger("a")]),
            source("s2", json!({"from_env": "SRC2"}), vec![trigger("b"), trigger("c")]),
            source("s3", json!({"from_env": "UNSET"}), vec![trigger("d")]),
            source("s4", json!("postgres://h/one"), vec![trigger("e")]),
        ]});
        let by = triggers_by_database(&dbs, &md);
        let names = |url: &str| {
            let mut n: Vec<String> = by[url].by_name.keys().cloned().collect();
            n.sort();
            n
        };
        assert_eq!(by.len(), 2);
        assert_eq!(names("postgres://h/one"), ["a", "e"]);
        assert_eq!(names("postgres://h/two"), ["b", "c"]);
    }
}
