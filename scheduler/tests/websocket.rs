//! GraphQL over websockets against the real binary, both of Hasura's subprotocols, with a
//! tokio-tungstenite client; every conversation goes through one [`check`] (messages sent,
//! messages expected — as subsets — and close frames):
//! * `both_protocols_as_hasura` — a trusted server (no admin secret; init timeout and
//!   keep-alive 1 s; 1 MiB messages): subprotocol choice and echo, `connection_init` →
//!   `connection_ack` + keep-alive (and one before it, at accept), periodic keep-alives,
//!   `ping` → `pong`, queries and mutations (`data`/`next` then `complete`), pre-execution
//!   and execution errors, `/v1alpha1/graphql`'s legacy errors, `/v1beta1/relay`, unparsable
//!   messages (Apollo `connection_error`, graphql-ws close 4400), `start` before
//!   `connection_init`, `stop` of an unknown id, `connection_terminate`, the init timeout
//!   (4408 / 1011), a message over the limit (1009), another path (404), a subscription
//!   (refused or answered: the pollers land separately), a metadata change (1012) and the
//!   shutdown (1012, the server exits at once);
//! * `authentication_as_hasura` — admin secret + HS256 JWT: credentials in
//!   `payload.headers` or on the upgrade request, none (Apollo `connection_error` + 4400,
//!   graphql-ws 4403), an expired token, a token's session applied to a query, and the socket
//!   closed when the token expires.
mod common;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

/// Opens a websocket on `base` + `path`, offering `protocol`, with extra upgrade headers.
/// `Ok`: the socket and the subprotocol the server chose; `Err`: the refusal's status and body.
async fn open(
    base: &str,
    path: &str,
    protocol: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<(Ws, Option<String>), (u16, String)> {
    let url = format!("{}{path}", base.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    if let Some(p) = protocol {
        req.headers_mut()
            .insert("sec-websocket-protocol", p.parse().unwrap());
    }
    for (k, v) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes());
        req.headers_mut().insert(name.unwrap(), v.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, resp)) => {
            let chosen = resp
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().unwrap().to_string());
            Ok((ws, chosen))
        }
        Err(WsError::Http(resp)) => Err((
            resp.status().as_u16(),
            String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default()).into_owned(),
        )),
        Err(e) => panic!("connect {path}: {e}"),
    }
}

/// A socket on `path` with `protocol`, expected to open.
async fn socket(base: &str, path: &str, protocol: Option<&str>) -> Ws {
    open(base, path, protocol, &[]).await.unwrap().0
}

/// What the server sent.
#[derive(Debug)]
enum Got {
    Msg(Value),
    /// A close frame (code, reason); `(0, "")` when the connection ended without one.
    Closed(u16, String),
}

fn is_keep_alive(v: &Value) -> bool {
    v == &json!({"type": "ka"})
        || v == &json!({"type": "ping", "payload": {"message": "keepalive"}})
}

/// The next message, keep-alives included.
async fn next_raw(ws: &mut Ws) -> Got {
    let got = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    return Got::Msg(serde_json::from_str(&t).expect("the server sends JSON"))
                }
                Some(Ok(Message::Close(frame))) => {
                    return match frame {
                        Some(f) => Got::Closed(f.code.into(), f.reason.to_string()),
                        None => Got::Closed(1005, String::new()),
                    }
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Got::Closed(0, String::new()),
            }
        }
    })
    .await;
    got.expect("the server answered within the wait")
}

/// The next message that is not a keep-alive.
async fn next(ws: &mut Ws) -> Got {
    loop {
        match next_raw(ws).await {
            Got::Msg(v) if is_keep_alive(&v) => continue,
            other => return other,
        }
    }
}

/// Whether `want` is a part of `got`: objects by their keys (`got` may have more), arrays
/// element by element (same length), anything else equal.
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| g.get(k).is_some_and(|gv| contains(gv, wv))),
        (Value::Array(g), Value::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(gv, wv)| contains(gv, wv))
        }
        _ => got == want,
    }
}

/// One step of a conversation.
enum Step {
    /// Send this JSON.
    Send(Value),
    /// Send this text as it is.
    Text(String),
    /// The next message (keep-alives skipped) contains this.
    Expect(Value),
    /// The next message, keep-alives included, is exactly this.
    ExpectRaw(Value),
    /// The server closes with this code and a reason starting with this text.
    Closed(u16, &'static str),
    /// Nothing but keep-alives arrives for this long.
    Quiet(Duration),
}

/// Runs a conversation on `ws`, failing with `name` and the step.
async fn check(name: &str, ws: &mut Ws, steps: Vec<Step>) {
    for (i, step) in steps.into_iter().enumerate() {
        let at = format!("{name}, step {i}");
        match step {
            Step::Send(v) => ws.send(Message::Text(v.to_string().into())).await.unwrap(),
            Step::Text(t) => {
                if let Err(e) = ws.send(Message::Text(t.into())).await {
                    panic!("{at}: send: {e}");
                }
            }
            Step::Expect(want) => match next(ws).await {
                Got::Msg(got) => assert!(contains(&got, &want), "{at}: got {got}, want {want}"),
                other => panic!("{at}: got {other:?}, want {want}"),
            },
            Step::ExpectRaw(want) => match next_raw(ws).await {
                Got::Msg(got) => assert_eq!(got, want, "{at}"),
                other => panic!("{at}: got {other:?}, want {want}"),
            },
            Step::Closed(code, reason) => match next(ws).await {
                Got::Closed(c, r) => {
                    assert_eq!(c, code, "{at}: close reason {r:?}");
                    assert!(
                        r.starts_with(reason),
                        "{at}: reason {r:?}, want {reason:?}…"
                    );
                }
                other => panic!("{at}: got {other:?}, want close {code}"),
            },
            Step::Quiet(d) => {
                let until = tokio::time::Instant::now() + d;
                loop {
                    match tokio::time::timeout_at(until, ws.next()).await {
                        Err(_) => break,
                        Ok(Some(Ok(Message::Text(t)))) => {
                            let v: Value = serde_json::from_str(&t).unwrap();
                            assert!(is_keep_alive(&v), "{at}: expected silence, got {v}");
                        }
                        Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                        Ok(other) => panic!("{at}: expected silence, got {other:?}"),
                    }
                }
            }
        }
    }
}

use Step::*;

fn init(headers: Value) -> Step {
    Send(json!({"type": "connection_init", "payload": {"headers": headers}}))
}

fn start(ty: &str, id: &str, query: &str) -> Step {
    Send(json!({"type": ty, "id": id, "payload": {"query": query}}))
}

fn ack() -> Step {
    Expect(json!({"type": "connection_ack"}))
}

fn complete(id: &str) -> Step {
    Expect(json!({"type": "complete", "id": id}))
}

#[test]
fn both_protocols_as_hasura() {
    let (_pg, url) = common::database();
    let (server, _log) = common::Server::start_logged(
        &url,
        &[],
        &[
            ("HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT", "1"),
            ("HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE", "1"),
            ("GRAPHEDGE_MAX_BODY_BYTES", "1048576"),
        ],
    );
    server.run_sql(
        "CREATE TABLE author (id serial PRIMARY KEY, name text UNIQUE NOT NULL);
         INSERT INTO author (name) VALUES ('Ann'), ('Bob');
         CREATE TABLE later (id int PRIMARY KEY);",
    );
    server.track("author");
    let base = server.base.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Subprotocols: graphql-ws's is echoed; Apollo's only when offered.
        let (_, chosen) = open(&base, "/v1/graphql", None, &[]).await.unwrap();
        assert_eq!(chosen, None);
        let (_, chosen) = open(&base, "/v1/graphql", Some("graphql-ws"), &[]).await.unwrap();
        assert_eq!(chosen.as_deref(), Some("graphql-ws"));
        let (_, chosen) = open(&base, "/v1/graphql", Some("graphql-transport-ws"), &[])
            .await
            .unwrap();
        assert_eq!(chosen.as_deref(), Some("graphql-transport-ws"));

        // Another path: Hasura's 404.
        let (status, body) = open(&base, "/v1/metadata", None, &[]).await.unwrap_err();
        assert_eq!(status, 404);
        assert!(
            body.contains("only '/v1/graphql', '/v1alpha1/graphql' and '/v1beta1/relay' are supported on websockets"),
            "{body}"
        );

        // Apollo: a keep-alive at accept, then ack + keep-alive, then one a second.
        let mut ws = socket(&base, "/v1/graphql", None).await;
        check(
            "apollo init",
            &mut ws,
            vec![
                ExpectRaw(json!({"type": "ka"})),
                init(json!({})),
                ExpectRaw(json!({"type": "connection_ack"})),
                ExpectRaw(json!({"type": "ka"})),
                ExpectRaw(json!({"type": "ka"})),
                start("start", "1", "{ author(order_by: {id: asc}) { name } }"),
                Expect(json!({"type": "data", "id": "1",
                    "payload": {"data": {"author": [{"name": "Ann"}, {"name": "Bob"}]}}})),
                complete("1"),
                // A mutation, then its failure at execution (Apollo: `data` with `errors`).
                start("start", "2", r#"mutation { insert_author(objects: [{name: "Cy"}]) { affected_rows } }"#),
                Expect(json!({"type": "data", "id": "2",
                    "payload": {"data": {"insert_author": {"affected_rows": 1}}}})),
                complete("2"),
                start("start", "3", r#"mutation { insert_author(objects: [{name: "Cy"}]) { affected_rows } }"#),
                Expect(json!({"type": "data", "id": "3",
                    "payload": {"errors": [{"extensions": {"code": "constraint-violation"}}]}})),
                complete("3"),
                // Before execution (validation): `error` with `{"errors": […]}`.
                start("start", "4", "{ nope }"),
                Expect(json!({"type": "error", "id": "4",
                    "payload": {"errors": [{"extensions": {"code": "validation-failed"}}]}})),
                complete("4"),
                // Unparsable messages: `connection_error`, and the socket stays open.
                Send(json!({"type": "test"})),
                Expect(json!({"type": "connection_error",
                    "payload": "parsing ClientMessage failed: Error in $: unexpected type for ClientMessage: test"})),
                Send(json!({"type": "stop"})),
                Expect(json!({"type": "connection_error"})),
                Text("not json".into()),
                Expect(json!({"type": "connection_error"})),
                Send(json!({"type": "connection_init", "payload": {"headers": {"x": 1}}})),
                Expect(json!({"type": "connection_error"})),
                // `stop` of an unknown id: silence.
                Send(json!({"type": "stop", "id": "nope"})),
                Quiet(Duration::from_millis(300)),
                start("start", "5", "{ author_aggregate { aggregate { count } } }"),
                Expect(json!({"type": "data", "id": "5",
                    "payload": {"data": {"author_aggregate": {"aggregate": {"count": 3}}}}})),
                complete("5"),
                Send(json!({"type": "connection_terminate"})),
                Closed(1000, "GQL_CONNECTION_TERMINATE received"),
            ],
        )
        .await;

        // graphql-ws: the same flows with its messages.
        let mut ws = socket(&base, "/v1/graphql", Some("graphql-transport-ws")).await;
        check(
            "graphql-ws init",
            &mut ws,
            vec![
                ExpectRaw(json!({"type": "ping", "payload": {"message": "keepalive"}})),
                init(json!({})),
                ExpectRaw(json!({"type": "connection_ack"})),
                ExpectRaw(json!({"type": "ping", "payload": {"message": "keepalive"}})),
                Send(json!({"type": "ping", "payload": {"message": "hi"}})),
                Expect(json!({"type": "pong", "payload": {"message": "hi"}})),
                Send(json!({"type": "pong"})),
                start("subscribe", "a", "{ author(where: {name: {_eq: \"Ann\"}}) { id name } }"),
                Expect(json!({"type": "next", "id": "a",
                    "payload": {"data": {"author": [{"id": 1, "name": "Ann"}]}}})),
                complete("a"),
                start("subscribe", "b", r#"mutation { delete_author(where: {name: {_eq: "Cy"}}) { affected_rows } }"#),
                Expect(json!({"type": "next", "id": "b",
                    "payload": {"data": {"delete_author": {"affected_rows": 1}}}})),
                complete("b"),
                start("subscribe", "c", "{ nope }"),
                Expect(json!({"type": "error", "id": "c",
                    "payload": [{"extensions": {"code": "validation-failed"}}]})),
                complete("c"),
                start("subscribe", "d", r#"mutation { insert_author(objects: [{name: "Ann"}]) { affected_rows } }"#),
                Expect(json!({"type": "error", "id": "d",
                    "payload": [{"extensions": {"code": "constraint-violation"}}]})),
                complete("d"),
                Send(json!({"type": "complete", "id": "nope"})),
                Quiet(Duration::from_millis(300)),
                // An unparsable message closes the socket with 4400.
                Send(json!({"type": "test"})),
                Closed(4400, r#"{"server_error_msg":"4400: Parsing client message failed: parsing ClientMessage failed"#),
            ],
        )
        .await;

        // `start` before `connection_init`.
        let mut ws = socket(&base, "/v1/graphql", None).await;
        let refused = json!({"extensions": {"path": "$", "code": "start-failed"},
            "message": "start received before the connection is initialised"});
        check(
            "apollo start before init",
            &mut ws,
            vec![
                start("start", "1", "{ author { id } }"),
                Expect(json!({"type": "error", "id": "1", "payload": refused})),
                complete("1"),
                init(json!({})),
                ack(),
            ],
        )
        .await;
        let mut ws = socket(&base, "/v1/graphql", Some("graphql-transport-ws")).await;
        check(
            "graphql-ws subscribe before init",
            &mut ws,
            vec![
                start("subscribe", "1", "{ author { id } }"),
                Expect(json!({"type": "error", "id": "1", "payload": refused})),
                Expect(json!({"type": "error", "id": "1",
                    "payload": "start received before the connection is initialised"})),
                Closed(1000, r#"{"server_error_msg":"4400: start received before"#),
            ],
        )
        .await;

        // No `connection_init` within the timeout (1 s here).
        for (protocol, code) in [(Some("graphql-transport-ws"), 4408), (None, 1011)] {
            let mut ws = socket(&base, "/v1/graphql", protocol).await;
            let started = Instant::now();
            check(
                "init timeout",
                &mut ws,
                vec![Closed(code, "Connection initialisation timed out")],
            )
            .await;
            let waited = started.elapsed();
            assert!(
                waited >= Duration::from_millis(800) && waited < Duration::from_secs(4),
                "{waited:?}"
            );
        }

        // A message over GRAPHEDGE_MAX_BODY_BYTES.
        let mut ws = socket(&base, "/v1/graphql", None).await;
        let huge = format!(
            r#"{{"type":"connection_init","payload":{{"headers":{{"x":"{}"}}}}}}"#,
            "a".repeat(3 << 19)
        );
        check("too big", &mut ws, vec![Text(huge), Closed(1009, "")]).await;

        // The legacy endpoint's error objects, and the Relay endpoint.
        let mut ws = socket(&base, "/v1alpha1/graphql", None).await;
        check(
            "v1alpha1",
            &mut ws,
            vec![
                init(json!({})),
                ack(),
                start("start", "1", "{ nope }"),
                Expect(json!({"type": "error", "id": "1",
                    "payload": {"code": "validation-failed"}})),
                complete("1"),
                start("start", "2", "{ author(where: {id: {_eq: 2}}) { name } }"),
                Expect(json!({"type": "data", "id": "2",
                    "payload": {"data": {"author": [{"name": "Bob"}]}}})),
                complete("2"),
            ],
        )
        .await;
        let mut ws = socket(&base, "/v1beta1/relay", Some("graphql-transport-ws")).await;
        check(
            "relay",
            &mut ws,
            vec![
                init(json!({})),
                ack(),
                start("subscribe", "1", "{ author_connection(first: 1) { edges { node { name } } } }"),
                Expect(json!({"type": "next", "id": "1", "payload": {"data": {"author_connection":
                    {"edges": [{"node": {"name": "Ann"}}]}}}})),
                complete("1"),
            ],
        )
        .await;

        // A subscription: answered by the pollers, or refused before anything runs.
        for (protocol, result) in [(None, "data"), (Some("graphql-transport-ws"), "next")] {
            let mut ws = socket(&base, "/v1/graphql", protocol).await;
            check("subscription init", &mut ws, vec![init(json!({})), ack()]).await;
            let ty = if protocol.is_some() { "subscribe" } else { "start" };
            check(
                "subscription start",
                &mut ws,
                vec![start(ty, "s", "subscription { author(order_by: {id: asc}) { name } }")],
            )
            .await;
            match next(&mut ws).await {
                Got::Msg(m) if m["type"] == result => {
                    eprintln!("subscription answered: {m}");
                    assert_eq!(m["id"], "s", "{m}");
                    assert_eq!(
                        m["payload"]["data"]["author"][0]["name"], "Ann",
                        "{m}"
                    );
                    // A mutation on the same socket: its answer, and the subscription's next
                    // push with the new row (in either order).
                    let name = if protocol.is_some() { "Eve" } else { "Dee" };
                    let mutation = format!(
                        r#"mutation {{ insert_author(objects: [{{name: "{name}"}}]) {{ affected_rows }} }}"#
                    );
                    check("live mutation", &mut ws, vec![start(ty, "m", &mutation)]).await;
                    let (mut answered, mut completed, mut pushed) = (false, false, false);
                    while !(answered && completed && pushed) {
                        let Got::Msg(m) = next(&mut ws).await else {
                            panic!("the socket closed during a live update");
                        };
                        match (m["type"].as_str(), m["id"].as_str()) {
                            (Some(t), Some("m")) if t == result => answered = true,
                            (Some("complete"), Some("m")) => completed = true,
                            (Some(t), Some("s")) if t == result => {
                                let names = &m["payload"]["data"]["author"];
                                pushed = names.as_array().is_some_and(|a| a.iter().any(|n| n["name"] == name));
                            }
                            _ => panic!("live update: unexpected {m}"),
                        }
                    }
                    // Stopped: nothing more comes.
                    let stop = if protocol.is_some() { "complete" } else { "stop" };
                    check(
                        "subscription stop",
                        &mut ws,
                        vec![Send(json!({"type": stop, "id": "s"})), Quiet(Duration::from_millis(1500))],
                    )
                    .await;
                }
                Got::Msg(m) if m["type"] == "error" => {
                    eprintln!("subscription refused: {m}");
                    assert_eq!(m["id"], "s", "{m}");
                    check("subscription refused", &mut ws, vec![complete("s")]).await;
                }
                other => panic!("subscription: {other:?}"),
            }
        }

        // A metadata change closes the open sockets (1012).
        let mut apollo = socket(&base, "/v1/graphql", None).await;
        let mut gws = socket(&base, "/v1/graphql", Some("graphql-transport-ws")).await;
        check("before the change", &mut apollo, vec![init(json!({})), ack()]).await;
        check("before the change", &mut gws, vec![init(json!({})), ack()]).await;
        let b = base.clone();
        tokio::task::spawn_blocking(move || {
            let (status, body) = common::post(
                &b,
                "/v1/metadata",
                &[],
                &json!({"type": "pg_track_table",
                    "args": {"source": "default", "table": {"schema": "public", "name": "later"}}})
                .to_string(),
            );
            assert_eq!(status, 200, "{body}");
        })
        .await
        .unwrap();
        for ws in [&mut apollo, &mut gws] {
            check(
                "metadata change",
                ws,
                vec![Closed(1012, "Server state changed, restarting the server")],
            )
            .await;
        }
    });

    // The shutdown closes open sockets with 1012 and does not wait for them.
    let mut ws = rt.block_on(async {
        let mut ws = socket(&base, "/v1/graphql", None).await;
        check("before the shutdown", &mut ws, vec![init(json!({})), ack()]).await;
        ws
    });
    let started = Instant::now();
    let stopping = std::thread::spawn(move || server.terminate());
    rt.block_on(check(
        "shutdown",
        &mut ws,
        vec![Closed(1012, "shutting server down")],
    ));
    let status = stopping.join().unwrap();
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

const JWT_KEY: &str = "a-websocket-test-key-of-32-bytes!!";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An HS256 token for role `user`, user id `user_id`, expiring at `exp`.
fn token(user_id: &str, exp: i64) -> String {
    let claims = Claims::new(json!({
        "exp": exp,
        "https://hasura.io/jwt/claims": {
            "x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user",
            "x-hasura-user-id": user_id
        }
    }));
    let t = Hs256
        .token(
            &Header::empty(),
            &claims,
            &Hs256Key::new(JWT_KEY.as_bytes()),
        )
        .unwrap();
    format!("Bearer {t}")
}

#[test]
fn authentication_as_hasura() {
    let (_pg, url) = common::database();
    let secret = json!({"type": "HS256", "key": JWT_KEY}).to_string();
    let server =
        common::Server::start_with(&url, &["--admin-secret", "sekret", "--jwt-secret", &secret]);
    let admin = [("x-hasura-admin-secret", "sekret")];
    let (status, body) = server.post(
        "/v2/query",
        &admin,
        &json!({"type": "run_sql", "args": {"sql":
            "CREATE TABLE note (id int PRIMARY KEY, owner text NOT NULL);
             INSERT INTO note VALUES (1, 'u1'), (2, 'u2');"}})
        .to_string(),
    );
    assert_eq!(status, 200, "{body}");
    for op in [
        json!({"type": "pg_track_table", "args": {"table": "note"}}),
        json!({"type": "pg_create_select_permission", "args": {"table": "note", "role": "user",
            "permission": {"columns": ["id"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}}}),
    ] {
        let (status, body) = server.post("/v1/metadata", &admin, &op.to_string());
        assert_eq!(status, 200, "{body}");
    }
    let base = server.base.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // No credentials: Apollo gets `connection_error` then 4400, graphql-ws 4403.
        let missing = "Missing 'Authorization' or 'Cookie' header in JWT authentication mode";
        let mut ws = socket(&base, "/v1/graphql", None).await;
        check(
            "apollo without credentials",
            &mut ws,
            vec![
                init(json!({})),
                Expect(json!({"type": "connection_error", "payload": missing})),
                Closed(4400, r#"{"server_error_msg":"4400: Connection initialization failed: Missing"#),
            ],
        )
        .await;
        let mut ws = socket(&base, "/v1/graphql", Some("graphql-transport-ws")).await;
        check(
            "graphql-ws without credentials",
            &mut ws,
            vec![init(json!({})), Closed(4403, r#"{"server_error_msg":"4403: Forbidden"}"#)],
        )
        .await;
        let mut ws = socket(&base, "/v1/graphql", None).await;
        check(
            "wrong admin secret",
            &mut ws,
            vec![
                init(json!({"x-hasura-admin-secret": "nope"})),
                Expect(json!({"type": "connection_error",
                    "payload": "invalid x-hasura-admin-secret/x-hasura-access-key"})),
                Closed(4400, ""),
            ],
        )
        .await;
        // Only `payload.headers` counts: credentials beside it are ignored.
        let mut ws = socket(&base, "/v1/graphql", Some("graphql-transport-ws")).await;
        check(
            "credentials outside payload.headers",
            &mut ws,
            vec![
                Send(json!({"type": "connection_init",
                    "payload": {"x-hasura-admin-secret": "sekret"}})),
                Closed(4403, ""),
            ],
        )
        .await;

        // The admin secret in `payload.headers`, or on the upgrade request.
        let mut ws = socket(&base, "/v1/graphql", None).await;
        check(
            "admin secret in the payload",
            &mut ws,
            vec![
                init(json!({"X-Hasura-Admin-Secret": "sekret"})),
                ack(),
                start("start", "1", "{ note(order_by: {id: asc}) { id owner } }"),
                Expect(json!({"type": "data", "id": "1",
                    "payload": {"data": {"note": [{"id": 1, "owner": "u1"}, {"id": 2, "owner": "u2"}]}}})),
                complete("1"),
            ],
        )
        .await;
        let (mut ws, _) = open(&base, "/v1/graphql", Some("graphql-transport-ws"), &admin)
            .await
            .unwrap();
        check("admin secret on the upgrade", &mut ws, vec![init(json!({})), ack()]).await;

        // A JWT: its session applies to every operation; the socket closes when it expires.
        let expiring = token("u2", now() + 3);
        let mut ws = socket(&base, "/v1/graphql", Some("graphql-transport-ws")).await;
        let started = Instant::now();
        check(
            "jwt",
            &mut ws,
            vec![
                init(json!({"Authorization": expiring})),
                ack(),
                start("subscribe", "1", "{ note { id } }"),
                Expect(json!({"type": "next", "id": "1", "payload": {"data": {"note": [{"id": 2}]}}})),
                complete("1"),
                Closed(1000, "JWT expired"),
            ],
        )
        .await;
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(1500) && waited < Duration::from_secs(6),
            "{waited:?}"
        );
        // An expired token is refused at `connection_init`.
        let mut ws = socket(&base, "/v1/graphql", None).await;
        check(
            "expired jwt",
            &mut ws,
            vec![
                init(json!({"Authorization": token("u1", now() - 60)})),
                Expect(json!({"type": "connection_error", "payload": "Could not verify JWT: JWTExpired"})),
                Closed(4400, ""),
            ],
        )
        .await;
    });
}
