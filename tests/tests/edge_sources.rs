//! Several sources through the real edge hosts: the Worker under `wrangler dev` or the Spin
//! component under `wasmtime serve` (`tests/edge-server.sh`, the default database `graphedge`
//! behind its SQL gateway) and a second database `sales` on the same Postgres behind a gateway
//! of its own (a gateway serves one database). The host gets the second database's URL as
//! `SALES_DATABASE_URL` and its endpoint and token as `GRAPHEDGE_SQL_ENDPOINT_SALES_DATABASE_URL`
//! / `GRAPHEDGE_SQL_AUTH_TOKEN_SALES_DATABASE_URL`.
//! * `two_sources_at_the_edge` — `pg_add_source` with `from_env`, `run_sql` on each source
//!   (the tables land in their own database), tracking, a query answered from each source and
//!   from both at once, a mutation on the second source; a source on the second database
//!   without an endpoint of its own reaches the default's gateway, which refuses it.
//!
//! Runs only with `GRAPHEDGE_EDGE_HOST=worker` or `spin` (see `edge_webhook.rs`); otherwise it
//! is skipped.
use graphedge_tests::http::Client;
use graphedge_tests::server::{start_edge_with, Server};
use serde_json::{json, Value};

const SECRET: &str = "edge-sources-secret";
const TOKEN: &str = "edge-sources-sales-gateway-token";

/// Posts `body` to `path` as admin and compares the answer with `want`.
fn check(client: &Client, edge: &Server, (path, body, want): &(&str, Value, Value)) {
    let admin = [("x-hasura-admin-secret".to_string(), SECRET.to_string())];
    let r = client.post_json(path, &admin, body).unwrap();
    let got = r.body.clone().unwrap_or_else(Value::String);
    assert_eq!(&got, want, "{path} {body}\n{}", edge.log_tail(40));
}

#[test]
fn two_sources_at_the_edge() {
    let env = [("HASURA_GRAPHQL_ADMIN_SECRET", SECRET)];
    let started = start_edge_with(&["worker", "spin"], &env, "edge-sources", |pg, bin| {
        pg.create_database("sales").unwrap();
        let url = pg.url("sales");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!("graphedge-edge-sources-gw-{port}.log"));
        let gateway_env = [
            ("HASURA_GRAPHQL_DATABASE_URL", url.as_str()),
            ("GRAPHEDGE_ENABLE_SQL_GATEWAY", "true"),
            ("GRAPHEDGE_GATEWAY_SECRET", TOKEN),
            ("GRAPHEDGE_ENABLE_BACKGROUND", "false"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let gateway =
            Server::start(bin, &gateway_env, port, &log).unwrap_or_else(|e| panic!("{e}"));
        let more = [
            ("SALES_DATABASE_URL", url),
            (
                "GRAPHEDGE_SQL_ENDPOINT_SALES_DATABASE_URL",
                format!("{}/sql", gateway.base_url()),
            ),
            ("GRAPHEDGE_SQL_AUTH_TOKEN_SALES_DATABASE_URL", TOKEN.into()),
        ];
        (more.map(|(k, v)| (k.to_string(), v)).to_vec(), gateway)
    });
    let Some((pg, edge, _gateway)) = started else {
        return;
    };
    let client = Client::new(edge.base_url());
    let ok = json!({"message": "success"});
    let run_sql = |source: &str, sql: &str| json!({"type": "run_sql", "args": {"source": source, "sql": sql}});
    let setup = [
        (
            "/v1/metadata",
            json!({"type": "pg_add_source", "args": {"name": "sales", "configuration": {
                "connection_info": {"database_url": {"from_env": "SALES_DATABASE_URL"}}}}}),
            ok.clone(),
        ),
        (
            "/v2/query",
            run_sql(
                "sales",
                "CREATE TABLE sale (id int PRIMARY KEY, amount int NOT NULL); \
                 INSERT INTO sale VALUES (1, 10), (2, 20); SELECT sum(amount) AS total FROM sale",
            ),
            json!({"result_type": "TuplesOk", "result": [["total"], ["30"]]}),
        ),
        (
            "/v2/query",
            run_sql(
                "default",
                "CREATE TABLE author (id int PRIMARY KEY, name text NOT NULL); \
                 INSERT INTO author VALUES (1, 'ada')",
            ),
            json!({"result_type": "CommandOk", "result": null}),
        ),
        (
            "/v1/metadata",
            json!({"type": "pg_track_table", "args": {"source": "sales", "table": "sale"}}),
            ok.clone(),
        ),
        (
            "/v1/metadata",
            json!({"type": "pg_track_table", "args": {"source": "default", "table": "author"}}),
            ok.clone(),
        ),
    ];
    for case in &setup {
        check(&client, &edge, case);
    }
    // Each table is in its own database only.
    let tables = "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables \
                  WHERE schemaname = 'public';";
    let listed = |db: &str| {
        let out = pg.psql(db, tables).unwrap();
        // ` string_agg`, a rule, the value, `(1 row)`.
        out.lines().nth(2).unwrap_or_default().trim().to_string()
    };
    assert_eq!(listed("sales"), "sale");
    assert_eq!(listed("graphedge"), "author");

    let graphql = |q: &str| json!({ "query": q });
    let cases = [
        (
            "/v1/graphql",
            graphql("{ sale(order_by: {id: asc}) { amount } }"),
            json!({"data": {"sale": [{"amount": 10}, {"amount": 20}]}}),
        ),
        (
            "/v1/graphql",
            graphql("{ author { name } }"),
            json!({"data": {"author": [{"name": "ada"}]}}),
        ),
        (
            "/v1/graphql",
            graphql("{ a: author { name } s: sale_aggregate { aggregate { count } } }"),
            json!({"data": {"a": [{"name": "ada"}], "s": {"aggregate": {"count": 2}}}}),
        ),
        (
            "/v1/graphql",
            graphql("mutation { insert_sale_one(object: {id: 3, amount: 30}) { id } }"),
            json!({"data": {"insert_sale_one": {"id": 3}}}),
        ),
        (
            "/v2/query",
            run_sql("sales", "SELECT count(*) AS n FROM sale"),
            json!({"result_type": "TuplesOk", "result": [["n"], ["3"]]}),
        ),
    ];
    for case in &cases {
        check(&client, &edge, case);
    }

    // The same database as a literal URL has no endpoint of its own: it falls back to the
    // default database's gateway, which refuses another database rather than serving its own.
    let admin = [("x-hasura-admin-secret".to_string(), SECRET.to_string())];
    let add = json!({"type": "pg_add_source", "args": {"name": "literal", "configuration": {
        "connection_info": {"database_url": pg.url("sales")}}}});
    let r = client.post_json("/v1/metadata", &admin, &add).unwrap();
    let body = r.body.clone().unwrap_or_else(Value::String).to_string();
    assert!(
        r.status >= 400 && body.contains("serves database"),
        "{} {body}\n{}",
        r.status,
        edge.log_tail(40)
    );
}
