//! Pages of nested queries against real Postgres: the rows a page skips (`offset`) or drops
//! (`distinct_on`) must never have their nested JSON built. For each case the engine's SQL (as
//! compiled for the metadata `graphedge serve` stored) runs under `EXPLAIN (ANALYZE, FORMAT
//! JSON)`, and the number of times the nested relationship's table was scanned is counted from
//! the plan's `Actual Loops`: it must be the page's size at every offset, not offset + size.
//! Counting loops, not time, keeps this independent of the machine's load.
mod common;

use common::{database, Server};
use graphedge_core::{Options, Request, Session, Value as GqlValue};
use graphedge_metadata::db::{Database, Statement};
use graphedge_scheduler::db::PgDatabase;
use serde_json::{json, Value};

const SETUP_SQL: &str = "CREATE TABLE artist (id int PRIMARY KEY, name text NOT NULL, genre int NOT NULL);
CREATE TABLE album (id int PRIMARY KEY, artist_id int NOT NULL REFERENCES artist(id), title text NOT NULL);
CREATE INDEX ON album (artist_id);
INSERT INTO artist SELECT i, 'artist ' || i, i % 7 FROM generate_series(1, 300) AS i;
INSERT INTO album SELECT i, 1 + i % 300, 'album ' || i FROM generate_series(1, 900) AS i;
CREATE FUNCTION artist_shout(a artist) RETURNS text LANGUAGE sql STABLE AS 'SELECT upper(a.name)';";

fn setup(server: &Server) {
    server.run_sql(SETUP_SQL);
    server.track("artist");
    server.track("album");
    server.metadata(
        json!({"type": "pg_create_array_relationship", "args": {"source": "default",
        "table": "artist", "name": "albums",
        "using": {"foreign_key_constraint_on": {"table": "album", "columns": ["artist_id"]}}}}),
    );
    server.metadata(
        json!({"type": "pg_add_computed_field", "args": {"source": "default",
        "table": "artist", "name": "shout",
        "definition": {"function": {"schema": "public", "name": "artist_shout"}}}}),
    );
    server.metadata(
        json!({"type": "pg_create_select_permission", "args": {"source": "default",
        "table": "artist", "role": "user", "permission": {"columns": ["id", "name", "genre"],
        "computed_fields": ["shout"], "filter": {}, "limit": 20, "allow_aggregations": true}}}),
    );
    server.metadata(
        json!({"type": "pg_create_select_permission", "args": {"source": "default",
        "table": "album", "role": "user", "permission": {"columns": ["id", "title", "artist_id"],
        "filter": {}}}}),
    );
}

/// Sum of `Actual Loops` over the plan nodes that scan `relation`.
fn loops(plan: &Value, relation: &str) -> u64 {
    let mut n = 0;
    if plan["Relation Name"] == relation {
        n += plan["Actual Loops"].as_u64().unwrap_or(0);
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        n += loops(child, relation);
    }
    n
}

struct Case {
    role: &'static str,
    query: &'static str,
    /// Pages tried: the offset (the `$o` variable) and the rows expected at `pointer`. Each
    /// row returned scans `album` once, and no other row may.
    pages: &'static [(i64, usize)],
    pointer: &'static str,
}

/// Compiles `case` for each offset, checks the answer through the server, and counts scans.
async fn check(server: &Server, db: &PgDatabase, engine: &graphedge_edge::Engine, case: &Case) {
    let state = engine.state();
    for &(offset, rows) in case.pages {
        let variables = vec![("o".to_string(), GqlValue::Number(offset.to_string()))];
        let session = if case.role == "admin" {
            Session::admin()
        } else {
            Session {
                role: case.role.into(),
                vars: Default::default(),
            }
        };
        let request = Request {
            query: case.query,
            operation_name: None,
            variables: &variables,
        };
        let plan = graphedge_core::compile(&state.schema, &session, &request, &Options::default())
            .unwrap_or_else(|e| panic!("{}: {e:?}", case.query));
        assert!(
            !plan.sql.contains(&format!("OFFSET {offset}")) || offset == 0,
            "the offset variable is a parameter: {}",
            plan.sql
        );
        let params = plan.bind(&variables, &session).unwrap();
        let explain = Statement {
            sql: format!("EXPLAIN (ANALYZE, FORMAT JSON) {}", plan.sql),
            params: params.clone(),
        };
        let text = db.query_one(&explain).await.unwrap().expect("a plan");
        let json: Value = serde_json::from_str(&text).unwrap();
        let scans = loops(&json[0]["Plan"], "album");
        assert_eq!(
            scans, rows as u64,
            "{} at offset {offset}: album scanned {scans} times\n{}",
            case.query, plan.sql
        );

        let body = json!({"query": case.query, "variables": {"o": offset}}).to_string();
        let headers: &[(&str, &str)] = if case.role == "admin" {
            &[]
        } else {
            &[("x-hasura-role", "user")]
        };
        let (status, answer) = server.post("/v1/graphql", headers, &body);
        assert_eq!(status, 200, "{answer}");
        let got = answer["data"]
            .pointer(case.pointer)
            .and_then(Value::as_array);
        assert_eq!(got.map(Vec::len), Some(rows), "{}: {answer}", case.query);
    }
}

#[test]
fn nested_json_is_built_only_for_the_page() {
    let (_pg, url) = database();
    let server = Server::start(&url);
    setup(&server);
    let cases = [
        // The root page: 10 artists at any offset, 10 album scans.
        Case {
            role: "admin",
            query: "query($o: Int!) { artist(order_by: {id: asc}, limit: 10, offset: $o) { name shout albums { title } } }",
            pages: &[(0, 10), (100, 10), (280, 10), (295, 5)],
            pointer: "/artist",
        },
        // The permission's limit (20) bounds the page the same way.
        Case {
            role: "user",
            query: "query($o: Int!) { artist(order_by: {id: desc}, offset: $o) { name shout albums { title } } }",
            pages: &[(0, 20), (150, 20)],
            pointer: "/artist",
        },
        // distinct_on: one artist per genre (7), not one per row.
        Case {
            role: "admin",
            query: "query($o: Int!) { artist(distinct_on: genre, order_by: [{genre: asc}, {id: asc}], offset: $o) { genre albums { title } } }",
            pages: &[(0, 7), (3, 4)],
            pointer: "/artist",
        },
        // _aggregate nodes: built only for the page.
        Case {
            role: "admin",
            query: "query($o: Int!) { artist_aggregate(order_by: {id: asc}, limit: 5, offset: $o) { nodes { name albums { title } } } }",
            pages: &[(0, 5), (200, 5)],
            pointer: "/artist_aggregate/nodes",
        },
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = PgDatabase::connect(&url, 2).unwrap();
        let config = graphedge_edge::Config::from_env(|_| None).unwrap();
        let engine = graphedge_edge::Engine::new(config, &db).await.unwrap();
        for case in &cases {
            check(&server, &db, &engine, case).await;
        }
    });
}
