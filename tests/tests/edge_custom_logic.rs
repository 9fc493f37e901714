//! Actions and remote schemas through the real edge hosts: the Worker under `wrangler dev`
//! (real workerd) or the Spin component under `wasmtime serve` (`tests/edge-server.sh`), with
//! an action handler and a remote GraphQL server on loopback reached through the host's
//! outbound HTTP (`fetch`, `wasi:http`) — the same code paths as natively.
//! * `actions_and_remote_schemas_at_the_edge` — a query action's handler gets Hasura's
//!   request (action, input, session) and its answer is shaped by the output type;
//!   `add_remote_schema` introspects the remote from the host, and its root field is answered by
//!   the remote.
//!
//! Runs only with `GRAPHEDGE_EDGE_HOST=worker` or `spin` (see `edge_webhook.rs`); otherwise it
//! is skipped.
use std::sync::{Arc, Mutex};

use graphedge_tests::http::Client;
use graphedge_tests::loopback::{self, Response};
use graphedge_tests::server::start_edge;
use serde_json::{json, Value};

const SECRET: &str = "edge-custom-logic-secret";

/// The remote's introspection: `type Query { hello(name: String): String }`.
fn introspection() -> Value {
    let string = json!({"kind": "SCALAR", "name": "String", "ofType": null});
    json!({"data": {"__schema": {
    "queryType": {"name": "Query"}, "mutationType": null, "subscriptionType": null,
    "directives": [],
    "types": [
        {"kind": "OBJECT", "name": "Query", "description": null, "inputFields": null,
         "interfaces": [], "enumValues": null, "possibleTypes": null,
         "fields": [{"name": "hello", "description": null, "type": string,
                     "isDeprecated": false, "deprecationReason": null,
                     "args": [{"name": "name", "description": null, "type": string,
                               "defaultValue": null}]}]},
        {"kind": "SCALAR", "name": "String", "description": null, "fields": null,
         "inputFields": null, "interfaces": null, "enumValues": null, "possibleTypes": null}
    ]}}})
}

#[test]
fn actions_and_remote_schemas_at_the_edge() {
    let seen: Arc<Mutex<Vec<loopback::Request>>> = Arc::default();
    let sink = seen.clone();
    let base = loopback::start(move |req| {
        sink.lock().unwrap().push(req.clone());
        let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
        let answer = match req.path.as_str() {
            "/action" => {
                json!({"greeting": format!("hello {}", body["input"]["name"].as_str().unwrap_or("?")),
                                "extra": "not selected"})
            }
            _ if body["query"].as_str().unwrap_or("").contains("__schema") => introspection(),
            _ => {
                json!({"data": {"hello": format!("world of {}", body["variables"]["n"].as_str().unwrap_or("?"))}})
            }
        };
        Response::json("200 OK", answer.to_string())
    });
    let env = [("HASURA_GRAPHQL_ADMIN_SECRET", SECRET)];
    let Some((_pg, edge)) = start_edge(&["worker", "spin"], &env, "edge-custom-logic") else {
        return;
    };
    let client = Client::new(edge.base_url());
    let admin = [("x-hasura-admin-secret".to_string(), SECRET.to_string())];
    let metadata = json!({"type": "bulk", "args": [
        {"type": "set_custom_types", "args": {"objects": [{"name": "Greeting", "fields": [
            {"name": "greeting", "type": "String!"}]}]}},
        {"type": "create_action", "args": {"name": "greet", "definition": {
            "kind": "synchronous", "type": "query", "output_type": "Greeting",
            "arguments": [{"name": "name", "type": "String!"}],
            "handler": format!("{base}/action")}}},
        {"type": "add_remote_schema", "args": {"name": "remote", "definition": {
            "url": format!("{base}/graphql"), "timeout_seconds": 20}}}
    ]});
    let r = client.post_json("/v1/metadata", &admin, &metadata).unwrap();
    assert_eq!(r.status, 200, "{:?}\n{}", r.body, edge.log_tail(40));

    let cases = [
        (
            json!({"query": "{ greet(name: \"edge\") { greeting } }"}),
            json!({"data": {"greet": {"greeting": "hello edge"}}}),
        ),
        (
            json!({"query": "query ($n: String) { hello(name: $n) }", "variables": {"n": "workers"}}),
            json!({"data": {"hello": "world of workers"}}),
        ),
    ];
    for (query, want) in cases {
        let r = client.post_json("/v1/graphql", &admin, &query).unwrap();
        assert_eq!(
            r.body.as_ref().ok(),
            Some(&want),
            "{query}\n{}",
            edge.log_tail(40)
        );
    }
    let got = seen.lock().unwrap().clone();
    let action = got
        .iter()
        .find(|r| r.path == "/action")
        .expect("the handler was called");
    let body: Value = serde_json::from_str(&action.body).unwrap();
    assert_eq!(body["action"], json!({"name": "greet"}));
    assert_eq!(body["input"], json!({"name": "edge"}));
    assert_eq!(body["session_variables"]["x-hasura-role"], "admin");
    let call = got
        .iter()
        .filter(|r| r.path == "/graphql")
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap())
        .find(|b| b["query"].as_str().is_some_and(|q| q.contains("hello")))
        .expect("the remote was called");
    assert_eq!(
        call,
        json!({"query": "query ($n: String) { hello(name: $n) }", "variables": {"n": "workers"}})
    );
}
