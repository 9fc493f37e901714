//! Which tables changed, so a poller re-runs its statement only when a table it reads may have
//! changed (Hasura re-runs every cohort every interval).
//!
//! The first poller reading a table installs on it a statement-level trigger
//! (`graphedge_changes`, `AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE … FOR EACH STATEMENT`)
//! that sends `NOTIFY graphedge_changes, '<table oid>'`; Postgres delivers it when the writing
//! transaction commits (once per table and transaction). Views are watched through the tables
//! they read (their rewrite rules' dependencies, recursively), partitioned and inherited
//! tables through their children too. One LISTEN connection per database bumps a counter per
//! table and wakes the pollers reading it (a poller that has been idle for an interval runs at
//! once; a busy one at most once per interval); a poller remembers the sum of its tables'
//! counters when it last ran, read *before* the run, so a write that commits during a run is
//! seen at the next round.
//!
//! Nothing is lost, at worst late: a (re)opened LISTEN connection bumps the database's epoch
//! (notifications may have been missed), which re-runs every poller of that database; every
//! poller re-runs at least every `GRAPHEDGE_SUBSCRIPTIONS_FULL_REFRESH` seconds anyway (writes
//! no trigger sees: triggers disabled, `session_replication_role = replica`; results that
//! change with time); statements that call functions, materialized views and foreign tables
//! cannot be watched and run every interval, as in Hasura. Without the rights to create the
//! trigger, the poller also runs every interval.
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tokio::sync::mpsc;

use crate::db::PgDatabase;

/// The channel the triggers notify.
pub const CHANNEL: &str = "graphedge_changes";

/// The trigger function (created once per database).
const FUNCTION_SQL: &str = "CREATE SCHEMA IF NOT EXISTS graphedge;
CREATE OR REPLACE FUNCTION graphedge.notify_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('graphedge_changes', TG_RELID::text);
  RETURN NULL;
END
$fn$;";

/// The relations a statement reads, expanded to the tables that hold their rows: `(oid,
/// relkind, quoted name, has our trigger)`.
const RELATIONS_SQL: &str = "WITH RECURSIVE rel(oid) AS (
  SELECT to_regclass(n)::oid FROM unnest($1::text[]) AS n
  UNION
  SELECT x.child FROM rel CROSS JOIN LATERAL (
    SELECT d.refobjid AS child FROM pg_rewrite r
      JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
       AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> rel.oid
     WHERE r.ev_class = rel.oid
    UNION ALL
    SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = rel.oid
  ) x
)
SELECT c.oid::int8, c.relkind::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'graphedge_changes')
FROM rel JOIN pg_class c ON c.oid = rel.oid JOIN pg_namespace n ON n.oid = c.relnamespace";

/// How long a new poller waits for its database's LISTEN connection before its first run.
const LISTEN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Per database (by key: empty for the served one, else its URL): the counters.
#[derive(Default)]
struct Counters {
    /// Bumped when the LISTEN connection (re)opens: anything before may have been missed.
    epoch: u64,
    tables: HashMap<u32, u64>,
}

/// What the pollers' thread knows about changes (single-threaded: `Rc`).
#[derive(Default)]
pub struct Changes {
    dbs: RefCell<HashMap<String, Counters>>,
    /// Whom to wake when a table changes: the watched tables and the poller's signal.
    watchers: RefCell<Vec<(Watch, std::sync::Weak<tokio::sync::Notify>)>>,
    /// Woken whenever a LISTEN connection is open (or its attempt failed): a database's epoch
    /// moved.
    listening: tokio::sync::Notify,
}

/// The tables one poller watches.
#[derive(Debug, Clone)]
pub struct Watch {
    db: String,
    tables: Vec<u32>,
}

impl Changes {
    /// A number that moves whenever one of `w`'s tables may have changed.
    pub fn version(&self, w: &Watch) -> u64 {
        let dbs = self.dbs.borrow();
        let Some(c) = dbs.get(&w.db) else {
            return 0;
        };
        w.tables
            .iter()
            .map(|t| c.tables.get(t).copied().unwrap_or(0))
            .fold(c.epoch, u64::wrapping_add)
    }

    /// Starts watching `relations` (quoted names) of the database `(key, pool)`: installs the
    /// triggers they need and, the first time for this database, its LISTEN connection.
    /// `None`: they cannot be watched (the poller runs every interval).
    /// `woken` is notified whenever one of the watched tables may have changed.
    pub async fn watch(
        self: &Rc<Self>,
        key: &str,
        pool: &PgDatabase,
        relations: &[String],
        woken: &std::sync::Arc<tokio::sync::Notify>,
    ) -> Option<Watch> {
        if !self.dbs.borrow().contains_key(key) {
            self.dbs
                .borrow_mut()
                .insert(key.to_string(), Counters::default());
            tokio::task::spawn_local(listen(self.clone(), key.to_string(), pool.clone()));
        }
        let installed = install(pool, relations).await;
        self.listening_on(key).await;
        match installed {
            Ok(tables) => tables.map(|tables| {
                let w = Watch {
                    db: key.to_string(),
                    tables,
                };
                let mut watchers = self.watchers.borrow_mut();
                watchers.retain(|(_, n)| n.strong_count() > 0);
                watchers.push((w.clone(), std::sync::Arc::downgrade(woken)));
                w
            }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch a subscription's tables for changes; it is polled every interval");
                None
            }
        }
    }

    /// Waits (at most [`LISTEN_WAIT`]) until the database's first LISTEN attempt ended, so a
    /// poller's first run reads the epoch it opened: its late start does not count as a change
    /// and re-run every poller of the database once more. After the wait it goes on anyway
    /// (the epoch moving later re-runs the pollers: late, never lost).
    async fn listening_on(&self, key: &str) {
        let wait = async {
            loop {
                let opened = self.listening.notified();
                if self.dbs.borrow().get(key).is_none_or(|c| c.epoch > 0) {
                    return;
                }
                opened.await;
            }
        };
        let _ = tokio::time::timeout(LISTEN_WAIT, wait).await;
    }

    fn bump(&self, key: &str, payload: Option<&str>) {
        let oid = payload.and_then(|p| p.parse::<u32>().ok());
        {
            let mut dbs = self.dbs.borrow_mut();
            let c = dbs.entry(key.to_string()).or_default();
            match oid {
                Some(oid) => *c.tables.entry(oid).or_insert(0) += 1,
                // Listening (again), or a payload that is not ours: anything may have changed.
                None => c.epoch += 1,
            }
        }
        if oid.is_none() {
            self.listening.notify_waiters();
        }
        for (w, woken) in self.watchers.borrow().iter() {
            if w.db == key && oid.is_none_or(|o| w.tables.contains(&o)) {
                if let Some(n) = woken.upgrade() {
                    n.notify_one();
                }
            }
        }
    }
}

/// The tables to watch for `relations`, with our trigger on each (`None`: a relation that
/// cannot be watched).
async fn install(pool: &PgDatabase, relations: &[String]) -> Result<Option<Vec<u32>>, String> {
    let client = pool.client().await.map_err(|e| e.message)?;
    let rows = client
        .query(RELATIONS_SQL, &[&relations])
        .await
        .map_err(|e| pg_message(&e))?;
    let mut tables = Vec::new();
    let mut missing = Vec::new();
    for row in rows {
        let (oid, kind, name, has): (i64, String, String, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        match kind.as_str() {
            "r" | "p" => {
                tables.push(oid as u32);
                if !has {
                    missing.push(name);
                }
            }
            // Materialized views and foreign tables: no trigger sees their changes.
            "m" | "f" => return Ok(None),
            // Views (their tables are in the list), sequences, types.
            _ => {}
        }
    }
    if missing.is_empty() {
        return Ok(Some(tables));
    }
    let exists = client
        .query_one(
            "SELECT to_regprocedure('graphedge.notify_change()') IS NOT NULL",
            &[],
        )
        .await
        .map_err(|e| pg_message(&e))?;
    if !exists.get::<_, bool>(0) {
        if let Err(e) = client.batch_execute(FUNCTION_SQL).await {
            // Another process creating it at the same moment.
            tracing::debug!(error = %e, "creating graphedge.notify_change()");
        }
    }
    for name in missing {
        let sql = format!(
            "CREATE TRIGGER graphedge_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE \
             ON {name} FOR EACH STATEMENT EXECUTE FUNCTION graphedge.notify_change()"
        );
        if let Err(e) = client.batch_execute(&sql).await {
            // 42710: another process installed it meanwhile.
            if e.code().map(|c| c.code()) != Some("42710") {
                return Err(format!("{name}: {}", pg_message(&e)));
            }
        }
    }
    Ok(Some(tables))
}

fn pg_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_string())
}

/// Keeps the database's LISTEN connection open for as long as the pollers' thread runs.
async fn listen(changes: Rc<Changes>, key: String, pool: PgDatabase) {
    let name = format!("graphedge subscriptions {}", std::process::id());
    let sql = format!("LISTEN {CHANNEL}");
    loop {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let connection = tokio::task::spawn_local({
            let (pool, name, sql) = (pool.clone(), name.clone(), sql.clone());
            async move { pool.listen(&name, &sql, tx).await }
        });
        while let Some(note) = rx.recv().await {
            changes.bump(&key, note.as_deref());
        }
        if let Ok(why) = connection.await {
            tracing::warn!(error = %why, "subscriptions LISTEN connection lost; reopening it");
        }
        changes.bump(&key, None);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
