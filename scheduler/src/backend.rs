//! The database behind `graphedge serve`: the native pool, or Postgres over HTTP through the
//! Neon protocol (`GRAPHEDGE_SQL_ENDPOINT`: a Neon endpoint, another graphedge's gateway, or
//! `loopback` — this process's own gateway on an internal port, to run the whole engine over
//! the HTTP transport).
use graphedge_edge::transport::NeonDatabase;
use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement};

use crate::db::PgDatabase;
use crate::http_client::NativeHttp;

pub enum Backend {
    Pool(PgDatabase),
    Http(NeonDatabase<NativeHttp>),
}

impl Database for Backend {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        match self {
            Backend::Pool(db) => db.query_one(stmt).await,
            Backend::Http(db) => db.query_one(stmt).await,
        }
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        match self {
            Backend::Pool(db) => db.transaction(stmts).await,
            Backend::Http(db) => db.transaction(stmts).await,
        }
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        match self {
            Backend::Pool(db) => db.run_sql(sql).await,
            Backend::Http(db) => db.run_sql(sql).await,
        }
    }
}
