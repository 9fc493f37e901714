//! [`Sourced`]: an edge host's databases — Hasura's metadata database and each source's — as
//! one [`Database`] that routes every statement by its [`Target`], the edge's counterpart of
//! the native `scheduler/src/sources.rs`. Host-independent: the host hands it its settings
//! lookup (Worker vars and secrets, the Spin component's environment) and how to open one
//! database (`open`: the Neon HTTP transport with [`neon_config`], Spin's outbound Postgres).
//!
//! Settings (the edge section of the README):
//! * `HASURA_GRAPHQL_DATABASE_URL`: the default database, where statements without a source
//!   go; `HASURA_GRAPHQL_METADATA_DATABASE_URL`: the metadata database (default: the default
//!   database). At least one is required; with only the metadata database there is no default
//!   database ([`Database::has_default_database`]).
//! * A source's connection string is resolved as Hasura does ([`DatabaseUrl::resolve`]): a
//!   literal URL, `connection_parameters` turned into a URL, or `{"from_env": "VAR"}` read from
//!   the host's settings. A `from_env` that does not resolve is served from the default
//!   database (as natively), or fails without one.
//! * The endpoint of a database whose connection string comes from the setting `VAR`
//!   (`HASURA_GRAPHQL_DATABASE_URL`, `HASURA_GRAPHQL_METADATA_DATABASE_URL`, a source's
//!   `from_env`) is `GRAPHEDGE_SQL_ENDPOINT_<VAR>`, its bearer token
//!   `GRAPHEDGE_SQL_AUTH_TOKEN_<VAR>`; unset, `GRAPHEDGE_SQL_ENDPOINT` /
//!   `GRAPHEDGE_SQL_AUTH_TOKEN` (a literal or `connection_parameters` URL uses these); an empty
//!   endpoint is Neon's for the connection string's host. Keyed by the variable, not the source
//!   name: a statement's [`Target`] carries the source's connection only, and the endpoint
//!   stays with the database when a source is renamed.
//! * A source (or the metadata database) whose connection string equals the default
//!   database's IS the default database: its settings, one transaction across both
//!   ([`Database::same_database`]). So a deployment with today's two settings sees no change.
//!
//! Databases other than the default are opened on first use, once per connection key, and
//! kept for the request (the host builds a `Sourced` per request).
use std::sync::{Arc, Mutex};

use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement, Target};
use graphedge_metadata::sources::{Connection, DatabaseUrl};

use super::neon::NeonConfig;

/// The default database's connection string.
pub const DATABASE_URL: &str = "HASURA_GRAPHQL_DATABASE_URL";
/// The metadata database's connection string.
pub const METADATA_DATABASE_URL: &str = "HASURA_GRAPHQL_METADATA_DATABASE_URL";
/// The Neon-protocol `/sql` URL (suffixed `_<VAR>`: for the database named by `VAR`).
pub const SQL_ENDPOINT: &str = "GRAPHEDGE_SQL_ENDPOINT";
/// The bearer token for the endpoint (suffixed `_<VAR>` as [`SQL_ENDPOINT`]).
pub const SQL_AUTH_TOKEN: &str = "GRAPHEDGE_SQL_AUTH_TOKEN";

/// At most this many source databases are kept; the oldest is dropped beyond.
const MAX_OPEN: usize = 16;

/// One database to open: its connection string and how to reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct Place {
    /// The Postgres connection string.
    pub url: String,
    /// The setting the connection string came from (`None`: a literal in the metadata).
    pub var: Option<String>,
    /// The Neon-protocol endpoint (`None`: Neon's for the connection string's host).
    pub endpoint: Option<String>,
    pub auth_token: Option<String>,
    /// The source's `isolation_level` (`read-committed`, …; `None`: the server's default).
    pub isolation_level: Option<String>,
}

impl std::fmt::Debug for Place {
    // The connection string and the token carry secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Place")
            .field("var", &self.var)
            .field("endpoint", &self.endpoint)
            .field("auth_token", &self.auth_token.as_ref().map(|_| "<set>"))
            .field("isolation_level", &self.isolation_level)
            .finish_non_exhaustive()
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

impl Place {
    /// The database whose connection string is `url`, from the setting `var` (`None`: a
    /// literal), with its endpoint and token from `get` (see the module documentation).
    pub fn new(url: String, var: Option<&str>, get: &dyn Fn(&str) -> Option<String>) -> Place {
        let setting = |base: &str| {
            var.and_then(|v| non_empty(get(&format!("{base}_{v}"))))
                .or_else(|| non_empty(get(base)))
        };
        Place {
            endpoint: setting(SQL_ENDPOINT),
            auth_token: setting(SQL_AUTH_TOKEN),
            url,
            var: var.map(str::to_string),
            isolation_level: None,
        }
    }

    /// What the setting is called in messages.
    fn label(&self) -> &str {
        self.var.as_deref().unwrap_or("the source's database_url")
    }
}

/// The Neon transport's configuration for `place`: its endpoint (derived from the connection
/// string's host when unset: Neon's), token, and the source's isolation level for batches.
pub fn neon_config(place: &Place) -> Result<NeonConfig, String> {
    let config = match &place.endpoint {
        // An explicit endpoint (a gateway) needs no host in the connection string
        // (`postgres:///db?host=/run/postgresql`).
        Some(endpoint) => NeonConfig {
            endpoint: endpoint.clone(),
            connection_string: place.url.clone(),
            auth_token: None,
            isolation_level: None,
        },
        None => NeonConfig::new(&place.url).map_err(|e| format!("{}: {e}", place.label()))?,
    };
    let mut config = config.with_auth_token(place.auth_token.as_deref());
    config.isolation_level = match place.isolation_level.as_deref() {
        Some("read-committed") => Some("ReadCommitted".to_string()),
        Some("repeatable-read") => Some("RepeatableRead".to_string()),
        Some("serializable") => Some("Serializable".to_string()),
        _ => None,
    };
    Ok(config)
}

/// The host's settings by name.
pub type Settings<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Opens one database (for a `Sourced` of `D`s).
pub type Opener<'a, D> = Box<dyn Fn(&Place) -> Result<D, String> + 'a>;

enum Slot<D> {
    Primary,
    Metadata,
    Own(String, Arc<D>),
}

impl<D> Clone for Slot<D> {
    fn clone(&self) -> Self {
        match self {
            Slot::Primary => Slot::Primary,
            Slot::Metadata => Slot::Metadata,
            Slot::Own(url, db) => Slot::Own(url.clone(), db.clone()),
        }
    }
}

/// An edge host's databases (see the module documentation).
pub struct Sourced<'a, D> {
    /// The default database (else the metadata database): plain statements go here.
    primary: Arc<D>,
    primary_url: String,
    /// The metadata database when it is another connection string.
    metadata: Option<(String, Arc<D>)>,
    default_database: bool,
    settings: Settings<'a>,
    open: Opener<'a, D>,
    slots: Mutex<Vec<(String, Slot<D>)>>,
}

impl<'a, D: Database> Sourced<'a, D> {
    /// The databases `settings` configure (`HASURA_GRAPHQL_DATABASE_URL`,
    /// `HASURA_GRAPHQL_METADATA_DATABASE_URL`, the endpoints), each opened with `open`.
    pub fn from_settings(settings: Settings<'a>, open: Opener<'a, D>) -> Result<Self, String> {
        let default_url = non_empty(settings(DATABASE_URL));
        let metadata_url = non_empty(settings(METADATA_DATABASE_URL));
        let (primary_var, primary_url) = match (&default_url, &metadata_url) {
            (Some(url), _) => (DATABASE_URL, url.clone()),
            (None, Some(url)) => (METADATA_DATABASE_URL, url.clone()),
            (None, None) => return Err(format!("{DATABASE_URL} is not set")),
        };
        let primary = open(&Place::new(
            primary_url.clone(),
            Some(primary_var),
            &*settings,
        ))?;
        let metadata = match metadata_url.filter(|u| *u != primary_url) {
            Some(url) => {
                let place = Place::new(url.clone(), Some(METADATA_DATABASE_URL), &*settings);
                Some((url, Arc::new(open(&place)?)))
            }
            None => None,
        };
        Ok(Sourced {
            primary: Arc::new(primary),
            primary_url,
            metadata,
            default_database: default_url.is_some(),
            settings,
            open,
            slots: Mutex::new(Vec::new()),
        })
    }

    /// The database plain statements go to (the default database, else the metadata one).
    pub fn primary(&self) -> &D {
        &self.primary
    }

    fn metadata_db(&self) -> &Arc<D> {
        self.metadata.as_ref().map_or(&self.primary, |(_, db)| db)
    }

    fn metadata_url(&self) -> &str {
        self.metadata.as_ref().map_or(&self.primary_url, |(u, _)| u)
    }

    /// The slot of `source`'s database, opening it on first use.
    fn slot(&self, source: &Connection) -> Result<Slot<D>, DbError> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, slot)) = slots.iter().find(|(k, _)| *k == source.key) {
            return Ok(slot.clone());
        }
        let var = match &source.url {
            DatabaseUrl::FromEnv(var) => Some(var.as_str()),
            _ => None,
        };
        let slot = match source.url.resolve(&*self.settings) {
            // Served from the default database, as natively (metadata written before sources
            // had their own databases, a variable this deployment does not set).
            Err(_) if self.default_database => Slot::Primary,
            Err(e) => return Err(DbError::connection(e)),
            Ok(url) if url == self.primary_url => Slot::Primary,
            Ok(url) if url == self.metadata_url() => Slot::Metadata,
            Ok(url) => {
                let mut place = Place::new(url.clone(), var, &*self.settings);
                place.isolation_level = source.isolation_level.clone();
                let db = (self.open)(&place).map_err(DbError::connection)?;
                Slot::Own(url, Arc::new(db))
            }
        };
        if slots.len() >= MAX_OPEN {
            slots.remove(0);
        }
        slots.push((source.key.clone(), slot.clone()));
        Ok(slot)
    }

    /// The database `target` goes to.
    pub(crate) fn database(&self, target: Target<'_>) -> Result<Arc<D>, DbError> {
        Ok(match target {
            Target::Metadata => self.metadata_db().clone(),
            Target::Source(c) => match self.slot(c)? {
                Slot::Primary => self.primary.clone(),
                Slot::Metadata => self.metadata_db().clone(),
                Slot::Own(_, db) => db,
            },
        })
    }

    /// The connection string `target` reaches (`None`: it does not resolve).
    fn url_of(&self, target: Target<'_>) -> Option<String> {
        Some(match target {
            Target::Metadata => self.metadata_url().to_string(),
            Target::Source(c) => match self.slot(c).ok()? {
                Slot::Primary => self.primary_url.clone(),
                Slot::Metadata => self.metadata_url().to_string(),
                Slot::Own(url, _) => url,
            },
        })
    }
}

impl<D: Database> Database for Sourced<'_, D> {
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
        self.database(target)?.query_one(stmt).await
    }

    async fn transaction_on(
        &self,
        target: Target<'_>,
        stmts: &[Statement],
    ) -> Result<Vec<Rows>, DbError> {
        self.database(target)?.transaction(stmts).await
    }

    async fn run_sql_on(&self, target: Target<'_>, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        self.database(target)?.run_sql(sql).await
    }

    fn has_default_database(&self) -> bool {
        self.default_database
    }

    fn same_database(&self, a: Target<'_>, b: Target<'_>) -> bool {
        matches!((self.url_of(a), self.url_of(b)), (Some(x), Some(y)) if x == y)
    }
}

#[cfg(test)]
mod tests;
