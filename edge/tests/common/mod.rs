//! Shared test helpers: an in-memory fake `Database` that records statements and answers with
//! canned JSON, a tiny executor (the fake's futures are always ready), and request builders.
#![allow(dead_code)]
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use graphedge_core::{
    Error, Options, ParamSpec, Plan, PlanKind, Request as CoreRequest, Schema, Session,
};
use graphedge_edge::md::{Database, DbError, MetadataState, Rows, SqlResult, Statement};
use graphedge_edge::{handle, Config, Engine, Request, Response};

/// Runs a future that never waits (the fake database answers immediately).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// Records every statement; answers from a queue of canned results (default: `{"ok":1}`).
#[derive(Default)]
pub struct FakeDb {
    pub statements: RefCell<Vec<Statement>>,
    pub answers: RefCell<VecDeque<Result<Option<String>, DbError>>>,
}

impl FakeDb {
    pub fn answer(&self, a: Result<Option<String>, DbError>) {
        self.answers.borrow_mut().push_back(a);
    }
    fn next(&self) -> Result<Option<String>, DbError> {
        self.answers
            .borrow_mut()
            .pop_front()
            .unwrap_or(Ok(Some("{\"ok\":1}".into())))
    }
}

impl Database for FakeDb {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        self.statements.borrow_mut().push(stmt.clone());
        self.next()
    }
    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        self.statements.borrow_mut().extend(stmts.iter().cloned());
        let last = self.next()?;
        let mut out: Vec<Rows> = stmts.iter().map(|_| Rows::default()).collect();
        if let Some(r) = out.last_mut() {
            r.columns = vec!["data".into()];
            r.rows = vec![vec![last]];
            r.row_count = 1;
        }
        Ok(out)
    }
    async fn run_sql(&self, _sql: &str) -> Result<Vec<SqlResult>, DbError> {
        Ok(vec![SqlResult::Command])
    }
}

/// A fake compiler: `query ...` documents become a `Query` plan whose SQL is the query text and
/// whose parameters are the session's user id and the variable `id`; `mutation ...` becomes a
/// `Mutation` plan; `{ __typename }` a static plan; `bad` a validation error.
pub fn fake_compile(
    _s: &Schema,
    session: &Session,
    req: &CoreRequest<'_>,
    _o: &Options,
) -> Result<Plan, Error> {
    let q = req.query.trim();
    if q.contains("bad") {
        return Err(Error::validation(
            "$.selectionSet.bad",
            "field 'bad' not found in type: 'query_root'",
        ));
    }
    if q == "{ __typename }" {
        return Ok(Plan {
            kind: PlanKind::Static("{\"__typename\":\"query_root\"}".into()),
            source: 0,
            sql: String::new(),
            params: vec![],
            shaping_variables: vec![],
            variable_types: Vec::new(),
            steps: Vec::new(),
            calls_functions: false,
            cached: None,
            remote_joins: Vec::new(),
        });
    }
    let mut params = vec![ParamSpec::Variable {
        name: "id".into(),
        path: vec![],
        encoding: graphedge_core::Encoding::Scalar,
    }];
    if session.role != "admin" {
        params.push(ParamSpec::Session("x-hasura-user-id".into()));
    }
    let kind = if q.starts_with("mutation") {
        PlanKind::Mutation
    } else {
        PlanKind::Query
    };
    Ok(Plan {
        kind,
        source: 0,
        sql: format!("SQL[{}]", q),
        params,
        shaping_variables: vec![],
        variable_types: Vec::new(),
        steps: Vec::new(),
        calls_functions: false,
        cached: None,
        remote_joins: Vec::new(),
    })
}

pub fn empty_state() -> MetadataState {
    state_with(serde_json::json!({"version": 3, "sources": []}))
}

pub fn state_with(metadata: serde_json::Value) -> MetadataState {
    MetadataState {
        metadata: serde_json::from_value(metadata).expect("test metadata"),
        schema: Arc::new(Schema {
            version: 7,
            ..Schema::default()
        }),
        inconsistencies: Vec::new(),
        resource_version: 1,
        catalog: Default::default(),
    }
}

pub fn engine(config: Config) -> Engine {
    Engine::from_state(config, empty_state()).with_compiler(fake_compile)
}

pub fn req(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Request {
    Request {
        method: method.into(),
        path: path.into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

pub fn send(engine: &Engine, db: &FakeDb, r: Request) -> Response {
    block_on(handle(engine, db, r))
}

pub fn body_json(r: &Response) -> serde_json::Value {
    serde_json::from_slice(&r.body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&r.body).into()))
}

/// `POST /v1/graphql` of `query` (no variables) with `headers`.
pub fn post_graphql(
    engine: &Engine,
    db: &FakeDb,
    headers: &[(&str, &str)],
    query: &str,
) -> Response {
    send(engine, db, req("POST", "/v1/graphql", headers, &gql(query)))
}

pub fn gql(query: &str) -> String {
    serde_json::json!({"query": query}).to_string()
}
