//! The database behind `graphedge serve`: the native pool, or Postgres over HTTP through the
//! Neon protocol (`GRAPHEDGE_SQL_ENDPOINT`: a Neon endpoint, another graphedge's gateway, or
//! `loopback` — this process's own gateway on an internal port, to run the whole engine over
//! the HTTP transport) — or, natively, a [`Sourced`] set of pools: the metadata database and
//! the sources' databases.
use graphedge_edge::transport::NeonDatabase;
use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement, Target};

use crate::db::PgDatabase;
use crate::http_client::NativeHttp;
use crate::sources::Sourced;

pub enum Backend {
    Pool(PgDatabase),
    Http(NeonDatabase<NativeHttp>),
    /// The metadata database and the sources' (see [`crate::sources`]).
    Sourced(Box<Sourced>),
}

impl Backend {
    /// The pool of Hasura's metadata database, when native (its LISTEN connection).
    pub fn metadata_pool(&self) -> Option<&PgDatabase> {
        match self {
            Backend::Pool(db) => Some(db),
            Backend::Http(_) => None,
            Backend::Sourced(s) => Some(s.metadata()),
        }
    }

    /// The native pool of a source's database (`None`: the served one) with a key naming that
    /// database, for a LISTEN connection of its own; `None` over the HTTP transport.
    pub fn source_pool(
        &self,
        source: Option<&graphedge_metadata::sources::Connection>,
    ) -> Option<(String, PgDatabase)> {
        match (self, source) {
            (Backend::Pool(db), _) => Some((String::new(), db.clone())),
            (Backend::Http(_), _) => None,
            (Backend::Sourced(s), None) => Some((String::new(), s.primary().clone())),
            (Backend::Sourced(s), Some(c)) => s.pool_of(c),
        }
    }
}

impl Database for Backend {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        match self {
            Backend::Pool(db) => db.query_one(stmt).await,
            Backend::Http(db) => db.query_one(stmt).await,
            Backend::Sourced(db) => db.query_one(stmt).await,
        }
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        match self {
            Backend::Pool(db) => db.transaction(stmts).await,
            Backend::Http(db) => db.transaction(stmts).await,
            Backend::Sourced(db) => db.transaction(stmts).await,
        }
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        match self {
            Backend::Pool(db) => db.run_sql(sql).await,
            Backend::Http(db) => db.run_sql(sql).await,
            Backend::Sourced(db) => db.run_sql(sql).await,
        }
    }

    async fn query_one_on(
        &self,
        target: Target<'_>,
        stmt: &Statement,
    ) -> Result<Option<String>, DbError> {
        match self {
            Backend::Sourced(db) => db.query_one_on(target, stmt).await,
            _ => self.query_one(stmt).await,
        }
    }

    async fn transaction_on(
        &self,
        target: Target<'_>,
        stmts: &[Statement],
    ) -> Result<Vec<Rows>, DbError> {
        match self {
            Backend::Sourced(db) => db.transaction_on(target, stmts).await,
            _ => self.transaction(stmts).await,
        }
    }

    async fn run_sql_on(&self, target: Target<'_>, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        match self {
            Backend::Sourced(db) => db.run_sql_on(target, sql).await,
            _ => self.run_sql(sql).await,
        }
    }

    fn same_database(&self, a: Target<'_>, b: Target<'_>) -> bool {
        match self {
            Backend::Sourced(db) => db.same_database(a, b),
            _ => true,
        }
    }

    fn has_default_database(&self) -> bool {
        match self {
            Backend::Sourced(db) => db.has_default_database(),
            _ => true,
        }
    }

    async fn pg_dump(
        &self,
        target: Option<Target<'_>>,
        opts: &[String],
    ) -> Result<String, DbError> {
        match self {
            Backend::Pool(db) => db.pg_dump(target, opts).await,
            Backend::Http(db) => db.pg_dump(target, opts).await,
            Backend::Sourced(db) => db.pg_dump(target, opts).await,
        }
    }
}
