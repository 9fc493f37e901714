//! Synchronous actions against the real binary, a throwaway Postgres and a real HTTP handler on
//! loopback: the metadata operations (`set_custom_types`, `create_action`,
//! `create_action_permission`), then one `check()` per case over `/v1/graphql` — the handler's
//! request (body, session variables, configured and forwarded headers), the answer shaped to the
//! selection with a relationship to a table, a 4xx answer's error, output validation, other
//! statuses and a timeout, and the role rules.
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{database, http_stub, Server, StubRequest, StubResponse};
use serde_json::{json, Value};

const SECRET: &str = "actions-secret";

/// The handler: answers by path, records every request.
fn start_handler(rt: &tokio::runtime::Runtime) -> (String, Arc<Mutex<Vec<StubRequest>>>) {
    let received: Arc<Mutex<Vec<StubRequest>>> = Arc::default();
    let sink = received.clone();
    let url = rt.block_on(http_stub(move |req: StubRequest| {
        let sink = sink.clone();
        async move {
            let body = req.json();
            sink.lock().unwrap().push(req.clone());
            let input = &body["input"];
            match req.path_only() {
                "/create_user" => StubResponse::new(
                    200,
                    json!({"id": 1, "name": input["name"], "extra": "ignored"}).to_string(),
                )
                .header("Content-Type", "application/json"),
                "/invalid" => StubResponse::new(
                    400,
                    json!({"message": "Given email address is not valid", "code": "invalid-email"})
                        .to_string(),
                ),
                "/extensions" => StubResponse::new(
                    422,
                    json!({"message": "nope", "extensions": {"code": "custom", "why": 1}})
                        .to_string(),
                ),
                "/missing" => StubResponse::new(200, json!({"name": "x"}).to_string()),
                "/broken" => StubResponse::new(500, "oops"),
                "/slow" => {
                    tokio::time::sleep(Duration::from_secs(4)).await;
                    StubResponse::new(200, json!({"id": 1}).to_string())
                }
                _ => StubResponse::new(404, "{}"),
            }
        }
    }));
    (url, received)
}

fn action(name: &str, path: &str, extra: Value) -> Value {
    let mut definition = json!({
        "kind": "synchronous",
        "arguments": [{"name": "name", "type": "String!"}],
        "output_type": "UserOut",
        "handler": format!("{{{{ACTIONS_BASE}}}}{path}"),
    });
    if let (Some(d), Value::Object(extra)) = (definition.as_object_mut(), extra) {
        d.extend(extra);
    }
    json!({"type": "create_action", "args": {"name": name, "definition": definition}})
}

#[test]
fn synchronous_actions_call_their_handler() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (base, received) = start_handler(&rt);
    let (_pg, url) = database();
    let (server, _log) = Server::start_logged(
        &url,
        &["--admin-secret", SECRET],
        &[("ACTIONS_BASE", base.as_str()), ("ACTION_TOKEN", "t0ken")],
    );
    let admin = [("x-hasura-admin-secret", SECRET)];
    let ok = |(status, body): (u16, Value)| assert_eq!(status, 200, "{body}");
    ok(server.post(
        "/v2/query",
        &admin,
        &json!({"type": "run_sql", "args": {"sql":
            "CREATE TABLE users (id int PRIMARY KEY, name text); INSERT INTO users VALUES (1, 'Ann'), (2, 'Bob');"}})
        .to_string(),
    ));
    ok(server.post(
        "/v1/metadata",
        &admin,
        &json!({"type": "bulk", "args": [
            {"type": "pg_track_table", "args": {"source": "default", "table": "users"}},
            {"type": "pg_create_select_permission", "args": {"source": "default", "table": "users",
                "role": "user", "permission": {"columns": ["id", "name"],
                "filter": {"id": {"_eq": "X-Hasura-User-Id"}}}}},
            {"type": "set_custom_types", "args": {"objects": [{
                "name": "UserOut",
                "fields": [{"name": "id", "type": "Int!"}, {"name": "name", "type": "String"}],
                "relationships": [{"name": "user", "type": "object", "remote_table": "users",
                    "field_mapping": {"id": "id"}}]
            }]}},
            action("create_user", "/create_user", json!({
                "headers": [{"name": "X-Token", "value_from_env": "ACTION_TOKEN"},
                            {"name": "X-Static", "value": "s"}],
                "forward_client_headers": true
            })),
            action("invalid", "/invalid", json!({})),
            action("extensions", "/extensions", json!({})),
            action("missing", "/missing", json!({})),
            action("broken", "/broken", json!({})),
            action("slow", "/slow", json!({"timeout": 1})),
            {"type": "create_action_permission", "args": {"action": "create_user", "role": "user"}}
        ]})
        .to_string(),
    ));

    let user = [
        ("x-hasura-admin-secret", SECRET),
        ("x-hasura-role", "user"),
        ("x-hasura-user-id", "2"),
        ("x-custom", "c"),
    ];
    // (name, headers, query, the answer)
    let cases: Vec<(&str, &[(&str, &str)], &str, Value)> = vec![
        (
            "admin: the answer cut to the selection, the relationship from the answer's id",
            &admin,
            r#"mutation { create_user(name: "Zed") { id name __typename user { name } } }"#,
            json!({"data": {"create_user": {"id": 1, "name": "Zed", "__typename": "UserOut",
                "user": {"name": "Ann"}}}}),
        ),
        (
            "user: the role's permission filters the relationship (user 2 is not user 1)",
            &user,
            r#"mutation m { create_user(name: "Zed") { id user { name } } }"#,
            json!({"data": {"create_user": {"id": 1, "user": null}}}),
        ),
        (
            "user: an action without its permission does not exist",
            &user,
            r#"mutation { invalid(name: "x") { id } }"#,
            json!({"errors": [{"message": "field 'invalid' not found in type: 'mutation_root'",
                "extensions": {"path": "$.selectionSet.invalid", "code": "validation-failed"}}]}),
        ),
        (
            "4xx: message and code",
            &admin,
            r#"mutation { invalid(name: "x") { id } }"#,
            json!({"errors": [{"message": "Given email address is not valid",
                "extensions": {"path": "$", "code": "invalid-email"}}]}),
        ),
        (
            "4xx: extensions verbatim",
            &admin,
            r#"mutation { extensions(name: "x") { id } }"#,
            json!({"errors": [{"message": "nope", "extensions": {"code": "custom", "why": 1}}]}),
        ),
    ];
    for (name, headers, query, want) in cases {
        let (status, got) = server.graphql(headers, query);
        assert_eq!((status, &got), (200, &want), "{name}");
    }
    // Answers with internal details for admin: only the message and code are compared.
    for (name, query, message) in [
        (
            "a missing non-null field",
            r#"mutation { missing(name: "x") { name } }"#,
            "field \"id\" expected in webhook response, but not found",
        ),
        (
            "a status other than 2xx/4xx",
            r#"mutation { broken(name: "x") { id } }"#,
            "internal error",
        ),
        (
            "the action's timeout",
            r#"mutation { slow(name: "x") { id } }"#,
            "http exception when calling webhook",
        ),
    ] {
        let (status, got) = server.graphql(&admin, query);
        assert_eq!(status, 200, "{name}: {got}");
        assert_eq!(got["errors"][0]["message"], message, "{name}: {got}");
        assert_eq!(
            got["errors"][0]["extensions"]["code"], "unexpected",
            "{name}: {got}"
        );
        assert!(
            got["errors"][0]["extensions"]["internal"]["request"]["url"]
                .as_str()
                .is_some_and(|u| u.starts_with(&base)),
            "{name}: {got}"
        );
    }

    // What the handler got for the user's call.
    let requests = received.lock().unwrap().clone();
    let call = requests
        .iter()
        .find(|r| {
            r.path_only() == "/create_user"
                && r.json()["request_query"]
                    .as_str()
                    .is_some_and(|q| q.starts_with("mutation m"))
        })
        .expect("the user's call reached the handler");
    let body = call.json();
    assert_eq!(body["action"], json!({"name": "create_user"}));
    assert_eq!(body["input"], json!({"name": "Zed"}));
    assert_eq!(
        body["session_variables"],
        json!({"x-hasura-role": "user", "x-hasura-user-id": "2"})
    );
    let h = &call.headers;
    assert_eq!(h.get("x-token").map(String::as_str), Some("t0ken"));
    assert_eq!(h.get("x-static").map(String::as_str), Some("s"));
    assert_eq!(
        h.get("x-custom").map(String::as_str),
        Some("c"),
        "forwarded"
    );
    assert!(h.get("x-forwarded-host").is_some(), "{h:?}");
    assert!(
        !h.keys().any(|k| k.starts_with("x-hasura-")),
        "session headers are never forwarded: {h:?}"
    );
    assert!(h
        .get("user-agent")
        .is_some_and(|u| u.starts_with("hasura-graphql-engine/")));

    // An asynchronous call a crashed process left `processing` is claimed again once its
    // lease ran out (here: claimed two hours ago), and answered.
    ok(server.post(
        "/v1/metadata",
        &admin,
        &json!({"type": "bulk", "args": [
            action("create_user_async", "/create_user", json!({"kind": "asynchronous"}))
        ]})
        .to_string(),
    ));
    let sql = |sql: &str| {
        let (status, body) = server.post(
            "/v2/query",
            &admin,
            &json!({"type": "run_sql", "args": {"sql": sql}}).to_string(),
        );
        assert_eq!(status, 200, "{body}");
        body
    };
    sql(
        "INSERT INTO graphedge.hdb_action_log (id, action_name, input_payload, request_headers, \
         session_variables, status, claimed_at) VALUES ('00000000-0000-0000-0000-000000000001', \
         'create_user_async', '{\"name\": \"Lost\"}', '{}', '{\"x-hasura-role\": \"admin\"}', \
         'processing', now() - interval '2 hours')",
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let body = sql(
            "SELECT status, response_payload->>'name' FROM graphedge.hdb_action_log \
             WHERE id = '00000000-0000-0000-0000-000000000001'",
        );
        if body["result"][1] == json!(["completed", "Lost"]) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not answered: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // A subscription to an asynchronous call's result: the current answer at once, the next
    // when the call ended (with the output's relationship to a table), then `complete`. The
    // call is held `processing` under a fresh lease, so only the test moves it on.
    sql(
        "INSERT INTO graphedge.hdb_action_log (id, action_name, input_payload, request_headers, \
         session_variables, status, claimed_at) VALUES ('00000000-0000-0000-0000-000000000002', \
         'create_user_async', '{\"name\": \"Held\"}', '{}', '{\"x-hasura-role\": \"admin\"}', \
         'processing', now())",
    );
    let subscription = "subscription ($id: uuid!) { r: create_user_async(id: $id) \
                        { id errors output { name user { name } } } }";
    let base = server.base.clone();
    rt.block_on(async {
        let mut ws = ws_open(&base).await;
        ws_send(&mut ws, json!({"id": "1", "type": "subscribe", "payload": {
            "query": subscription,
            "variables": {"id": "00000000-0000-0000-0000-000000000002"}}}))
        .await;
        let first = ws_next(&mut ws).await;
        assert_eq!(first["type"], "next", "{first}");
        assert_eq!(
            first["payload"]["data"]["r"],
            json!({"id": "00000000-0000-0000-0000-000000000002", "errors": null, "output": null}),
            "{first}"
        );
        // A query action cannot be a subscription; nor can a result share one.
        ws_send(&mut ws, json!({"id": "2", "type": "subscribe", "payload": {
            "query": "subscription @_multiple_top_level_fields { create_user_async(id: \"00000000-0000-0000-0000-000000000002\") { id } __typename }"}}))
        .await;
        let refused = ws_next(&mut ws).await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(
            refused["payload"][0]["extensions"]["code"],
            "not-supported",
            "{refused}"
        );
        assert_eq!(ws_next(&mut ws).await, json!({"id": "2", "type": "complete"}));
        sql(
            "UPDATE graphedge.hdb_action_log SET status = 'completed', \
             response_payload = '{\"id\": 1, \"name\": \"Held\"}' \
             WHERE id = '00000000-0000-0000-0000-000000000002'",
        );
        let done = ws_next(&mut ws).await;
        assert_eq!(
            done["payload"]["data"]["r"]["output"],
            json!({"name": "Held", "user": {"name": "Ann"}}),
            "{done}"
        );
        assert_eq!(ws_next(&mut ws).await, json!({"id": "1", "type": "complete"}));
        // An id that names no call: null, and nothing more to wait for.
        ws_send(&mut ws, json!({"id": "3", "type": "subscribe", "payload": {
            "query": subscription,
            "variables": {"id": "00000000-0000-0000-0000-000000000009"}}}))
        .await;
        let none = ws_next(&mut ws).await;
        assert_eq!(none["payload"]["data"], json!({"r": null}), "{none}");
        assert_eq!(ws_next(&mut ws).await, json!({"id": "3", "type": "complete"}));
    });
    drop(server);
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-ws socket on `base`'s `/v1/graphql`, initialised with the admin secret.
async fn ws_open(base: &str) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("{}/v1/graphql", base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws_send(
        &mut ws,
        json!({"type": "connection_init",
        "payload": {"headers": {"x-hasura-admin-secret": SECRET}}}),
    )
    .await;
    assert_eq!(ws_next(&mut ws).await["type"], "connection_ack");
    ws
}

async fn ws_send(ws: &mut Ws, msg: Value) {
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        msg.to_string().into(),
    ))
    .await
    .unwrap();
}

/// The next message that is not a keep-alive (within 20 s).
async fn ws_next(ws: &mut Ws) -> Value {
    use futures_util::StreamExt;
    loop {
        let got = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("an answer within 20 s");
        if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = got {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] != "ping" && v["type"] != "ka" {
                return v;
            }
        } else if !matches!(got, Some(Ok(_))) {
            panic!("the socket ended: {got:?}");
        }
    }
}
