//! The added latency of actions and remote joins (`scripts/bench-custom-logic.sh`; ignored by
//! default): the real binary, a throwaway Postgres and an in-process handler / remote GraphQL
//! server on loopback. Each figure is the median of N sequential requests; the overhead is the
//! engine's request minus the same call made to the handler (or remote) directly.
//! * sync action: `{ greet(name:) { greeting } }` vs POSTing the handler's request body;
//! * remote join: `{ item { id remote { name } } }` over 1 and 100 rows (ONE remote call with a
//!   field per key) vs the same query without the join plus one direct call to the remote.
mod common;

use std::time::{Duration, Instant};

use common::{database, http_stub, post, Server, StubRequest, StubResponse};
use serde_json::{json, Value};

fn introspection() -> Value {
    let string = json!({"kind": "SCALAR", "name": "String", "ofType": null});
    let int = json!({"kind": "NON_NULL", "name": null, "ofType":
        {"kind": "SCALAR", "name": "Int", "ofType": null}});
    json!({"data": {"__schema": {
    "queryType": {"name": "Query"}, "mutationType": null, "subscriptionType": null,
    "directives": [],
    "types": [
        {"kind": "OBJECT", "name": "Query", "description": null, "inputFields": null,
         "interfaces": [], "enumValues": null, "possibleTypes": null,
         "fields": [{"name": "user", "description": null, "isDeprecated": false,
                     "deprecationReason": null,
                     "type": {"kind": "OBJECT", "name": "User", "ofType": null},
                     "args": [{"name": "id", "description": null, "type": int,
                               "defaultValue": null}]}]},
        {"kind": "OBJECT", "name": "User", "description": null, "inputFields": null,
         "interfaces": [], "enumValues": null, "possibleTypes": null,
         "fields": [{"name": "name", "description": null, "args": [], "type": string,
                     "isDeprecated": false, "deprecationReason": null}]},
        {"kind": "SCALAR", "name": "String", "description": null, "fields": null,
         "inputFields": null, "interfaces": null, "enumValues": null, "possibleTypes": null},
        {"kind": "SCALAR", "name": "Int", "description": null, "fields": null,
         "inputFields": null, "interfaces": null, "enumValues": null, "possibleTypes": null}
    ]}}})
}

/// The median time of `n` runs of `f` (after a few unmeasured ones).
fn median(n: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..5 {
        f();
    }
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

#[test]
#[ignore]
fn bench_custom_logic_latency() {
    let n: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = rt.block_on(http_stub(|req: StubRequest| async move {
        let body = req.json();
        let query = body["query"].as_str().unwrap_or_default().to_string();
        let answer = if req.path_only() == "/action" {
            json!({"greeting": format!("hello {}", body["input"]["name"].as_str().unwrap_or(""))})
        } else if query.contains("__schema") {
            introspection()
        } else {
            // One field per `f<i>: user(…)` (a join), else `user`.
            let n = query.matches(": user(").count();
            let mut data = serde_json::Map::new();
            if n == 0 {
                data.insert("user".into(), json!({"name": "u"}));
            }
            for i in 0..n {
                data.insert(format!("f{i}"), json!({"name": format!("u{i}")}));
            }
            json!({ "data": data })
        };
        StubResponse::new(200, answer.to_string()).header("Content-Type", "application/json")
    }));
    let (_pg, url) = database();
    let server = Server::start(&url);
    server.run_sql(
        "CREATE TABLE one (id int PRIMARY KEY); INSERT INTO one VALUES (1);
         CREATE TABLE hundred (id int PRIMARY KEY);
         INSERT INTO hundred SELECT generate_series(1, 100);",
    );
    server.track("one");
    server.track("hundred");
    let rel = |table: &str| {
        json!({"type": "pg_create_remote_relationship", "args": {"source": "default",
            "table": table, "name": "remote", "definition": {"to_remote_schema": {
                "remote_schema": "users", "lhs_fields": ["id"],
                "remote_field": {"user": {"arguments": {"id": "$id"}}}}}}})
    };
    server.metadata(json!({"type": "bulk", "args": [
        {"type": "set_custom_types", "args": {"objects": [{"name": "Greeting",
            "fields": [{"name": "greeting", "type": "String!"}]}]}},
        {"type": "create_action", "args": {"name": "greet", "definition": {
            "kind": "synchronous", "type": "query", "output_type": "Greeting",
            "arguments": [{"name": "name", "type": "String!"}],
            "handler": format!("{base}/action")}}},
        {"type": "add_remote_schema", "args": {"name": "users", "definition": {
            "url": format!("{base}/graphql"), "timeout_seconds": 20}}},
        rel("one"),
        rel("hundred")
    ]}));
    let gql = |q: &str| {
        let (status, body) = server.graphql(&[], q);
        assert!(status == 200 && body.get("errors").is_none(), "{body}");
    };
    let direct = |path: &str, body: &Value| {
        let (status, _) = post(&base, path, &[], &body.to_string());
        assert_eq!(status, 200);
    };
    let us = |d: Duration| d.as_micros();

    let handler_body = json!({"action": {"name": "greet"}, "input": {"name": "x"},
        "session_variables": {"x-hasura-role": "admin"}, "request_query": "{ greet }"});
    let handler = median(n, || direct("/action", &handler_body));
    let action = median(n, || gql("{ greet(name: \"x\") { greeting } }"));
    println!(
        "BENCH sync action: {} µs through the engine, handler alone {} µs, added {} µs",
        us(action),
        us(handler),
        us(action.saturating_sub(handler))
    );
    for (table, rows) in [("one", 1), ("hundred", 100)] {
        let doc: String = (0..rows)
            .map(|i| format!(" f{i}: user(id: {}) {{ name }}", i + 1))
            .collect();
        let remote_body = json!({"query": format!("query {{{doc} }}")});
        let remote = median(n, || direct("/graphql", &remote_body));
        let plain = median(n, || gql(&format!("{{ {table} {{ id }} }}")));
        let joined = median(n, || {
            gql(&format!("{{ {table} {{ id remote {{ name }} }} }}"))
        });
        println!(
            "BENCH remote join, {rows} rows: {} µs, without the join {} µs, the remote call alone {} µs, added {} µs",
            us(joined),
            us(plain),
            us(remote),
            us(joined.saturating_sub(plain + remote))
        );
    }
}
