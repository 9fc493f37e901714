//! Remote schemas against the real binary, a throwaway Postgres and a real GraphQL server on
//! loopback (answering the introspection query and recording every other request): the
//! metadata operations, the merged schema, and one `check()` per case over `/v1/graphql` — a
//! remote root field is one request with its alias, variables and headers (configured, the
//! session's `x-hasura-*`), beside a source's field; the remote's errors pass through; a remote
//! that is down is an inconsistency, not a failure.
mod common;

use std::sync::{Arc, Mutex};

use common::{database, http_stub, Server, StubRequest, StubResponse};
use serde_json::{json, Value};

const SECRET: &str = "remote-secret";

fn type_ref(kind: &str, name: Option<&str>, of: Option<Value>) -> Value {
    json!({"kind": kind, "name": name, "ofType": of})
}
fn named(kind: &str, name: &str) -> Value {
    type_ref(kind, Some(name), None)
}
fn non_null(of: Value) -> Value {
    type_ref("NON_NULL", None, Some(of))
}
fn field(name: &str, args: Vec<Value>, ty: Value) -> Value {
    json!({"name": name, "description": null, "args": args, "type": ty,
           "isDeprecated": false, "deprecationReason": null})
}
fn arg(name: &str, ty: Value) -> Value {
    json!({"name": name, "description": null, "type": ty, "defaultValue": null})
}
fn object(name: &str, fields: Vec<Value>) -> Value {
    json!({"kind": "OBJECT", "name": name, "description": null, "fields": fields,
           "inputFields": null, "interfaces": [], "enumValues": null, "possibleTypes": null})
}
fn scalar(name: &str) -> Value {
    json!({"kind": "SCALAR", "name": name, "description": null, "fields": null,
           "inputFields": null, "interfaces": null, "enumValues": null, "possibleTypes": null})
}

/// `hello: String`, `user(id: Int!): User { id name }`, `fail: String` (answers an error).
fn introspection() -> Value {
    json!({"data": {"__schema": {
        "queryType": {"name": "Query"}, "mutationType": null, "subscriptionType": null,
        "types": [
            object("Query", vec![
                field("hello", vec![], named("SCALAR", "String")),
                field("user", vec![arg("id", non_null(named("SCALAR", "Int")))], named("OBJECT", "User")),
                field("fail", vec![], named("SCALAR", "String")),
            ]),
            object("User", vec![
                field("id", vec![], non_null(named("SCALAR", "Int"))),
                field("name", vec![], named("SCALAR", "String")),
            ]),
            scalar("String"), scalar("Int"), scalar("Boolean"),
        ],
        "directives": []
    }}})
}

fn start_remote(rt: &tokio::runtime::Runtime) -> (String, Arc<Mutex<Vec<StubRequest>>>) {
    let received: Arc<Mutex<Vec<StubRequest>>> = Arc::default();
    let sink = received.clone();
    let url = rt.block_on(http_stub(move |req: StubRequest| {
        let sink = sink.clone();
        async move {
            let body = req.json();
            let query = body["query"].as_str().unwrap_or_default().to_string();
            if query.contains("__schema") {
                return StubResponse::new(200, introspection().to_string());
            }
            sink.lock().unwrap().push(req.clone());
            let answer = if query.contains("fail") {
                json!({"data": null, "errors": [{"message": "nope", "locations": [{"line": 1, "column": 9}]}]})
            } else if query.contains("f0: user(id: 1)") {
                // A table's relationship to the remote: one field per key.
                json!({"data": {"f0": {"id": 1, "name": "user 1"}}})
            } else if query.contains("user") {
                let id = body["variables"]["id"].as_i64().unwrap_or(1);
                let key = if query.contains("u: user") { "u" } else { "user" };
                let mut user = json!({"id": id, "name": format!("user {id}")});
                if query.contains("__hasura_phantom_items_0: id") {
                    user["__hasura_phantom_items_0"] = json!(id);
                }
                json!({"data": {key: user}})
            } else {
                json!({"data": {"hello": "world"}})
            };
            StubResponse::new(200, answer.to_string()).header("Set-Cookie", "remote=1")
        }
    }));
    (url, received)
}

#[test]
fn remote_schema_root_fields_are_forwarded() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (base, received) = start_remote(&rt);
    let (_pg, url) = database();
    let (server, _log) = Server::start_logged(
        &url,
        &["--admin-secret", SECRET],
        &[("REMOTE_BASE", base.as_str()), ("REMOTE_TOKEN", "t0ken")],
    );
    let admin = [("x-hasura-admin-secret", SECRET)];
    let ok = |(status, body): (u16, Value)| assert_eq!(status, 200, "{body}");
    ok(server.post(
        "/v2/query",
        &admin,
        &json!({"type": "run_sql", "args": {"sql":
            "CREATE TABLE item (id int PRIMARY KEY, name text); INSERT INTO item VALUES (1, 'a');"}})
        .to_string(),
    ));
    ok(server.post(
        "/v1/metadata",
        &admin,
        &json!({"type": "bulk", "args": [
            {"type": "pg_track_table", "args": {"source": "default", "table": "item"}},
            {"type": "add_remote_schema", "args": {"name": "users", "definition": {
                "url": "{{REMOTE_BASE}}/graphql",
                "headers": [{"name": "X-Token", "value_from_env": "REMOTE_TOKEN"}],
                "forward_client_headers": false, "timeout_seconds": 5}}}
        ]})
        .to_string(),
    ));

    let user = [
        ("x-hasura-admin-secret", SECRET),
        ("x-hasura-role", "user"),
        ("x-hasura-user-id", "7"),
    ];
    // (name, headers, request body, answer)
    let cases: Vec<(&str, &[(&str, &str)], Value, Value)> = vec![
        (
            "a remote field beside a table's, alias and variables kept",
            &admin,
            json!({"query": "query ($id: Int!) { item { id } u: user(id: $id) { id name } }",
                   "variables": {"id": 3}}),
            json!({"data": {"item": [{"id": 1}], "u": {"id": 3, "name": "user 3"}}}),
        ),
        (
            "a role's call carries its session",
            &user,
            json!({"query": "{ hello }"}),
            json!({"data": {"hello": "world"}}),
        ),
        (
            "the remote's errors, verbatim",
            &admin,
            json!({"query": "{ fail }"}),
            json!({"data": null, "errors": [{"message": "nope", "locations": [{"line": 1, "column": 9}]}]}),
        ),
        (
            "an argument the remote's field does not have",
            &admin,
            json!({"query": "{ user(id: 1, foo: 2) { id } }"}),
            json!({"errors": [{"message": "'user' has no argument named 'foo'",
                "extensions": {"path": "$.selectionSet.user", "code": "validation-failed"}}]}),
        ),
    ];
    for (name, headers, body, want) in cases {
        let (status, got) = server.post("/v1/graphql", headers, &body.to_string());
        assert_eq!((status, &got), (200, &want), "{name}");
    }

    let requests = received.lock().unwrap().clone();
    let first = &requests[0];
    assert_eq!(
        first.json(),
        json!({"query": "query ($id: Int!) { u: user(id: $id) { id name } }", "variables": {"id": 3}})
    );
    assert_eq!(
        first.headers.get("x-token").map(String::as_str),
        Some("t0ken")
    );
    let hello = requests
        .iter()
        .find(|r| r.json()["query"] == "query { hello }")
        .expect("the user's call");
    assert_eq!(
        hello.headers.get("x-hasura-role").map(String::as_str),
        Some("user")
    );
    assert_eq!(
        hello.headers.get("x-hasura-user-id").map(String::as_str),
        Some("7")
    );
    assert!(
        !hello.headers.contains_key("x-hasura-admin-secret"),
        "the admin secret is never sent: {:?}",
        hello.headers
    );

    // Relationships: remote type `User` → table `item`, table `item` → remote field `user`.
    ok(server.post(
        "/v1/metadata",
        &admin,
        &json!({"type": "bulk", "args": [
            {"type": "create_remote_schema_remote_relationship", "args": {
                "remote_schema": "users", "type_name": "User", "name": "items",
                "definition": {"to_source": {"source": "default", "table": "item",
                    "relationship_type": "array", "field_mapping": {"id": "id"}}}}},
            {"type": "pg_create_remote_relationship", "args": {
                "source": "default", "table": "item", "name": "owner",
                "definition": {"to_remote_schema": {"remote_schema": "users",
                    "lhs_fields": ["id"], "remote_field": {"user": {"arguments": {"id": "$id"}}}}}}}
        ]})
        .to_string(),
    ));
    let joins: Vec<(&str, Value, Value)> = vec![
        (
            "remote type to table: the table's rows for the object's field",
            json!({"query": "{ u: user(id: 1) { name items { name } } }"}),
            // (The stub answers `id` and `name` whatever is asked.)
            json!({"data": {"u": {"id": 1, "name": "user 1", "items": [{"name": "a"}]}}}),
        ),
        (
            "no rows for another key",
            json!({"query": "query ($id: Int!) { u: user(id: $id) { items { name } } }",
                   "variables": {"id": 3}}),
            json!({"data": {"u": {"id": 3, "name": "user 3", "items": []}}}),
        ),
        (
            "table to remote field: one call for the rows' keys",
            json!({"query": "{ item { id owner { name } } }"}),
            json!({"data": {"item": [{"id": 1, "owner": {"id": 1, "name": "user 1"}}]}}),
        ),
    ];
    for (name, body, want) in joins {
        let (status, got) = server.post("/v1/graphql", &admin, &body.to_string());
        assert_eq!((status, &got), (200, &want), "{name}");
    }
    let sent: Vec<Value> = received
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.json()["query"].clone())
        .collect();
    assert!(
        sent.contains(&json!("query { f0: user(id: 1) { name } }")),
        "{sent:?}"
    );

    // The merged schema: the remote's root fields and types.
    let (_, schema) = server.graphql(&admin, "{ __type(name: \"User\") { fields { name } } }");
    assert_eq!(
        schema,
        json!({"data": {"__type": {"fields": [{"name": "id"}, {"name": "items"}, {"name": "name"}]}}})
    );
    drop(server);
}
