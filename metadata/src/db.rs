//! The one interface between the engine and Postgres. Hosts implement it: the native pool
//! (tokio-postgres), Neon's HTTP protocol, Hyperdrive, Spin's outbound pg. Futures need not be
//! `Send` (JS-backed futures at the edge are not).
//!
//! Parameters are always text (`None` = SQL NULL) and every statement casts each `$n`
//! explicitly (`$1::int4`), so every transport binds them the same way.
use std::fmt;

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
}
