//! The databases of `graphedge serve`: Hasura's metadata database and each source's, reached
//! through its `connection_info` (see `graphedge_metadata::sources`).
//!
//! [`Sourced`] is one HTTP thread's (or the main runtime's) view: the *primary* pool (the
//! `default` database of `--database-url`, else the metadata database) with its pipeline, the
//! metadata database's pool when it is another database, and pools opened on first use for
//! sources that resolve to yet another URL. A source's connection is resolved once per
//! connection key (`from_env` through the process settings): when it names the primary or the
//! metadata URL it shares that pool, so one `HASURA_GRAPHQL_DATABASE_URL` keeps one pool.
use std::sync::{Arc, Mutex};

use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement, Target};
use graphedge_metadata::sources::Connection;

use crate::db::PgDatabase;

/// Process settings (flags and environment), for `from_env`.
pub type Settings = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Opens a pool for a source URL (on the calling thread's runtime, with its share of
/// connections).
pub type Opener = Arc<dyn Fn(&str) -> Result<PgDatabase, String> + Send + Sync>;

/// At most this many source pools are kept per thread; the oldest is dropped beyond.
const MAX_POOLS: usize = 16;

#[derive(Clone)]
enum Slot {
    Primary,
    Metadata,
    Own(String, PgDatabase),
}

/// One thread's databases (see the module documentation).
pub struct Sourced {
    primary: PgDatabase,
    primary_url: String,
    /// The metadata database when it is not the primary's URL.
    metadata: Option<(String, PgDatabase)>,
    settings: Settings,
    open: Opener,
    pools: Mutex<Vec<(String, Slot)>>,
    /// Whether the primary database is the `default` source's (`--database-url`), not only
    /// the metadata database.
    default_database: bool,
}

impl Sourced {
    /// `metadata`: the metadata database, `None` when it is the primary one; `default_database`:
    /// whether the primary database is the `default` source's.
    pub fn new(
        (primary_url, primary): (String, PgDatabase),
        metadata: Option<(String, PgDatabase)>,
        default_database: bool,
        settings: Settings,
        open: Opener,
    ) -> Sourced {
        Sourced {
            default_database,
            primary,
            metadata: metadata.filter(|(url, _)| *url != primary_url),
            primary_url,
            settings,
            open,
            pools: Mutex::new(Vec::new()),
        }
    }

    /// The metadata database's backend.
    pub fn metadata(&self) -> &PgDatabase {
        self.metadata.as_ref().map_or(&self.primary, |(_, b)| b)
    }

    /// The primary database's backend (the served source's).
    pub fn primary(&self) -> &PgDatabase {
        &self.primary
    }

    /// `source`'s database's pool and URL (`None`: it does not resolve).
    pub fn pool_of(&self, source: &Connection) -> Option<(String, PgDatabase)> {
        Some(match self.slot(source).ok()? {
            Slot::Primary => (String::new(), self.primary.clone()),
            Slot::Metadata => (self.metadata_url().to_string(), self.metadata().clone()),
            Slot::Own(url, db) => (url, db),
        })
    }

    fn metadata_url(&self) -> &str {
        self.metadata.as_ref().map_or(&self.primary_url, |(u, _)| u)
    }

    /// The slot of `source`'s database, opening its pool on first use.
    fn slot(&self, source: &Connection) -> Result<Slot, DbError> {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, slot)) = pools.iter().find(|(k, _)| *k == source.key) {
            return Ok(slot.clone());
        }
        let url = match source.url.resolve(&|k| (self.settings)(k)) {
            Ok(url) => url,
            // Before sources had their own databases, graphedge served every source from its
            // one database: keep serving such metadata (e.g. `from_env` of a variable this
            // deployment never set) from the default database.
            Err(e) if self.default_database => {
                tracing::warn!(error = %e, "source connection unresolved; using the default database");
                self.primary_url.clone()
            }
            Err(e) => return Err(DbError::connection(e)),
        };
        let slot = if url == self.primary_url {
            Slot::Primary
        } else if url == self.metadata_url() {
            Slot::Metadata
        } else {
            let db = (self.open)(&url).map_err(DbError::connection)?;
            Slot::Own(url, db)
        };
        if pools.len() >= MAX_POOLS {
            pools.remove(0);
        }
        pools.push((source.key.clone(), slot.clone()));
        Ok(slot)
    }

    /// Runs `f` on the backend of `target`.
    async fn on<T>(
        &self,
        target: Target<'_>,
        f: impl AsyncFnOnce(&PgDatabase) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        match target {
            Target::Metadata => f(self.metadata()).await,
            Target::Source(c) => match self.slot(c)? {
                Slot::Primary => f(&self.primary).await,
                Slot::Metadata => f(self.metadata()).await,
                Slot::Own(_, db) => f(&db).await,
            },
        }
    }

    /// The URL `target` reaches (`None`: it does not resolve).
    fn url_of(&self, target: Target<'_>) -> Option<String> {
        match target {
            Target::Metadata => Some(self.metadata_url().to_string()),
            Target::Source(c) => match self.slot(c).ok()? {
                Slot::Primary => Some(self.primary_url.clone()),
                Slot::Metadata => Some(self.metadata_url().to_string()),
                Slot::Own(url, _) => Some(url),
            },
        }
    }
}

impl Database for Sourced {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        self.primary.query_one(stmt).await
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        self.primary.transaction(stmts).await
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        self.primary.run_sql(sql).await
    }

    async fn query_one_on(
        &self,
        target: Target<'_>,
        stmt: &Statement,
    ) -> Result<Option<String>, DbError> {
        self.on(target, async |db| db.query_one(stmt).await).await
    }

    async fn transaction_on(
        &self,
        target: Target<'_>,
        stmts: &[Statement],
    ) -> Result<Vec<Rows>, DbError> {
        self.on(target, async |db| db.transaction(stmts).await)
            .await
    }

    async fn run_sql_on(&self, target: Target<'_>, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        self.on(target, async |db| db.run_sql(sql).await).await
    }

    fn has_default_database(&self) -> bool {
        self.default_database
    }

    fn same_database(&self, a: Target<'_>, b: Target<'_>) -> bool {
        matches!((self.url_of(a), self.url_of(b)), (Some(x), Some(y)) if x == y)
    }

    async fn pg_dump(
        &self,
        target: Option<Target<'_>>,
        opts: &[String],
    ) -> Result<String, DbError> {
        match target {
            Some(t) => self.on(t, async |db| db.pg_dump(None, opts).await).await,
            None => self.primary.pg_dump(None, opts).await,
        }
    }
}
