//! The one interface between the engine and Postgres. Hosts implement it: the native pool
//! (tokio-postgres), Neon's HTTP protocol, Hyperdrive, Spin's outbound pg. Futures need not be
//! `Send` (JS-backed futures at the edge are not).
//!
//! Parameters are always text (`None` = SQL NULL) and every statement casts each `$n`
//! explicitly (`$1::int4`), so every transport binds them the same way.
use std::fmt;

use crate::sources::Connection;

/// A bind parameter: its text form, or NULL.
pub type Param = Option<String>;

/// One parameterised statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Param>,
}

/// Rows of one result set, every value in Postgres' text form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// Rows affected (for DML), or rows returned.
    pub row_count: u64,
}

/// The outcome of one statement of a raw SQL script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlResult {
    /// A statement that returns no rows (`CommandOk`).
    Command,
    /// A statement that returns rows (`TuplesOk`), even zero rows.
    Tuples(Rows),
}

/// A database error, with Postgres' fields when the server sent them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbError {
    /// SQLSTATE (`23505`), `None` for connection / transport failures.
    pub code: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// True when the database could not be reached at all (Hasura: `postgres-error` with 500).
    pub connection: bool,
    /// In [`Database::transaction`]: the index of the statement that failed, when known.
    pub statement: Option<usize>,
}

impl DbError {
    pub fn connection(message: impl Into<String>) -> Self {
        DbError {
            message: message.into(),
            connection: true,
            ..Default::default()
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(c) => write!(f, "{} ({})", self.message, c),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for DbError {}

#[allow(async_fn_in_trait)]
pub trait Database {
    /// Runs one statement whose result is at most one row with one column (json or text) and
    /// returns that value's text (`None` for no row or NULL).
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError>;

    /// Runs the statements in ONE transaction without looking at intermediate results (the
    /// shape of Neon's batch endpoint); any error rolls everything back. Returns each statement's
    /// rows.
    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError>;

    /// Runs a raw SQL script (several statements, no parameters) in one transaction, like
    /// Hasura's `run_sql`, returning the outcome of each statement.
    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError>;

    /// [`Database::query_one`] on `target`. Hosts that keep Hasura's metadata database apart
    /// from the sources route it (the native `serve`, the edge hosts'
    /// `graphedge_edge::transport::sourced`); the default, for hosts with one database (a
    /// Worker's Hyperdrive binding), runs everything here.
    async fn query_one_on(
        &self,
        target: Target<'_>,
        stmt: &Statement,
    ) -> Result<Option<String>, DbError> {
        let _ = target;
        self.query_one(stmt).await
    }

    /// [`Database::transaction`] on `target` (see [`Database::query_one_on`]).
    async fn transaction_on(
        &self,
        target: Target<'_>,
        stmts: &[Statement],
    ) -> Result<Vec<Rows>, DbError> {
        let _ = target;
        self.transaction(stmts).await
    }

    /// [`Database::run_sql`] on `target` (see [`Database::query_one_on`]).
    async fn run_sql_on(&self, target: Target<'_>, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        let _ = target;
        self.run_sql(sql).await
    }

    /// Whether the host has a default database (Hasura's `HASURA_GRAPHQL_DATABASE_URL`, or one
    /// database for everything; the default): metadata without sources gets the source
    /// `default` on it. Not when only a metadata database is configured: no source until
    /// `replace_metadata` / `pg_add_source` adds one.
    fn has_default_database(&self) -> bool {
        true
    }

    /// Whether `a` and `b` are one database, so one transaction can span them (default: the
    /// host has one database).
    fn same_database(&self, a: Target<'_>, b: Target<'_>) -> bool {
        let _ = (a, b);
        true
    }

    /// Runs `pg_dump` on the database of `target` (`None`: the host's own) with Hasura's
    /// `opts` (`/v1alpha1/pg_dump`) and returns the dump's text. Only a host that can run the
    /// `pg_dump` program can; the default refuses.
    async fn pg_dump(
        &self,
        target: Option<Target<'_>>,
        opts: &[String],
    ) -> Result<String, DbError> {
        let _ = (target, opts);
        Err(DbError {
            message: "pg_dump is not available on this host".into(),
            ..Default::default()
        })
    }
}

/// Where a statement goes (see [`crate::sources`]).
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// Hasura's metadata database: `graphedge.metadata`, cron and scheduled events.
    Metadata,
    /// A source's database: its tables, `run_sql`, event triggers and their event log.
    Source(&'a Connection),
}

/// `db` with every statement sent to `target` (`None`: the host's own choice, its plain
/// methods).
pub struct On<'a, D> {
    pub db: &'a D,
    pub target: Option<Target<'a>>,
}

impl<'a, D: Database> On<'a, D> {
    pub fn metadata(db: &'a D) -> Self {
        On {
            db,
            target: Some(Target::Metadata),
        }
    }

    /// The source reached through `connection` (`None`: no source, the host's database).
    pub fn source(db: &'a D, connection: Option<&'a Connection>) -> Self {
        On {
            db,
            target: connection.map(Target::Source),
        }
    }
}

impl<D: Database> Database for On<'_, D> {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        match self.target {
            Some(t) => self.db.query_one_on(t, stmt).await,
            None => self.db.query_one(stmt).await,
        }
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        match self.target {
            Some(t) => self.db.transaction_on(t, stmts).await,
            None => self.db.transaction(stmts).await,
        }
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        match self.target {
            Some(t) => self.db.run_sql_on(t, sql).await,
            None => self.db.run_sql(sql).await,
        }
    }

    async fn query_one_on(
        &self,
        target: Target<'_>,
        stmt: &Statement,
    ) -> Result<Option<String>, DbError> {
        self.db.query_one_on(target, stmt).await
    }

    async fn transaction_on(
        &self,
        target: Target<'_>,
        stmts: &[Statement],
    ) -> Result<Vec<Rows>, DbError> {
        self.db.transaction_on(target, stmts).await
    }

    async fn run_sql_on(&self, target: Target<'_>, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        self.db.run_sql_on(target, sql).await
    }

    fn same_database(&self, a: Target<'_>, b: Target<'_>) -> bool {
        self.db.same_database(a, b)
    }

    fn has_default_database(&self) -> bool {
        self.db.has_default_database()
    }

    async fn pg_dump(
        &self,
        target: Option<Target<'_>>,
        opts: &[String],
    ) -> Result<String, DbError> {
        self.db.pg_dump(target.or(self.target), opts).await
    }
}
