//! Unit tests of the websocket protocol (`super`).
use super::*;
use serde_json::json;

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const V1: Endpoint = Endpoint {
    legacy: false,
    relay: false,
};
const LEGACY: Endpoint = Endpoint {
    legacy: true,
    relay: false,
};

/// Texts of the actions, `close CODE REASON` for a close.
fn shown(actions: Vec<Action>) -> Vec<String> {
    actions
        .into_iter()
        .map(|a| match a {
            Action::Send(t) => t,
            Action::Close(c) => format!("close {} {}", c.code, c.reason),
        })
        .collect()
}

/// Every client message case: what [`parse`] makes of it (`Ok` as Debug text, or the
/// `connection_error` message).
#[test]
fn check() {
    let parsed = |text: &str, endpoint: Endpoint| match parse(text.as_bytes(), endpoint) {
        Ok(m) => format!("{m:?}"),
        Err(e) => e,
    };
    let cases: &[(&str, &str)] = &[
        (r#"{"type":"connection_init"}"#, "Init { headers: [] }"),
        (
            r#"{"type":"connection_init","payload":{"headers":{"X-Hasura-Role":"user"},"Authorization":"x"}}"#,
            r#"Init { headers: [("X-Hasura-Role", "user")] }"#,
        ),
        (
            r#"{"type":"connection_init","payload":{"headers":{"a":1}}}"#,
            "parsing ClientMessage failed: Error in $.payload.headers.a: parsing Text failed, expected String, but encountered Number",
        ),
        (
            r#"{"type":"connection_init","payload":"x"}"#,
            "parsing ClientMessage failed: Error in $.payload: parsing ConnParams failed, expected Object, but encountered String",
        ),
        (
            r#"{"type":"test"}"#,
            "parsing ClientMessage failed: Error in $: unexpected type for ClientMessage: test",
        ),
        (
            r#"{"type":"stop"}"#,
            "parsing ClientMessage failed: Error in $: key \"id\" not found",
        ),
        (
            r#"{"type":"complete","id":7}"#,
            "parsing ClientMessage failed: Error in $.id: parsing Text failed, expected String, but encountered Number",
        ),
        (r#"{"type":"stop","id":"1"}"#, r#"Stop { id: "1" }"#),
        (r#"{"type":"connection_terminate"}"#, "Terminate"),
        (r#"{"type":"pong","payload":{"x":1}}"#, "Pong"),
        (r#"{"type":"ping"}"#, "Ping { payload: None }"),
        (
            r#"{"type":"ping","payload":{"message":"hi","x":1}}"#,
            r#"Ping { payload: Some(Object {"message": String("hi")}) }"#,
        ),
        (
            r#"{"type":"ping","payload":[1]}"#,
            "parsing ClientMessage failed: Error in $.payload: parsing PingPongPayload failed, expected Object, but encountered Array",
        ),
        (
            "nope",
            "parsing ClientMessage failed: Error in $: Failed reading: not a valid json value",
        ),
        (
            "[1]",
            "parsing ClientMessage failed: Error in $: parsing ClientMessage failed, expected Object, but encountered Array",
        ),
        (
            r#"{"type":"start","id":"1"}"#,
            "parsing ClientMessage failed: Error in $: key \"payload\" not found",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":{"variables":{}}}"#,
            "parsing ClientMessage failed: Error in $.payload: key \"query\" not found",
        ),
        (
            r#"{"type":"start","id":"1","payload":{"query":"{ a }","variables":{"x":1},"operationName":null}}"#,
            r#"Start { id: "1", request: GqlRequest { query: "{ a }", operation_name: None, variables: [("x", Number("1"))], relay: false } }"#,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parsed(text, V1), *want, "{text}");
    }
    let relay = Endpoint {
        legacy: false,
        relay: true,
    };
    assert!(parsed(
        r#"{"type":"start","id":"1","payload":{"query":"{ a }"}}"#,
        relay
    )
    .contains("relay: true"));
}

#[test]
fn paths_protocols_and_headers() {
    assert_eq!(Endpoint::of_path("/v1/graphql"), Some(V1));
    assert_eq!(Endpoint::of_path("/v1alpha1/graphql?x=1"), Some(LEGACY));
    assert!(Endpoint::of_path("/v1beta1/relay").is_some_and(|e| e.relay));
    assert_eq!(Endpoint::of_path("/v1/metadata"), None);
    let r = not_found();
    assert_eq!(r.status, 404);
    let body: Json = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        json!({"message": PATH_NOT_SUPPORTED, "extensions": {"path": "$", "code": "not-found"}})
    );

    let offer = |v: &str| h(&[("Sec-WebSocket-Protocol", v)]);
    let gws = offer("graphql-transport-ws");
    assert_eq!(Protocol::choose(&gws), Protocol::GraphqlWs);
    assert_eq!(
        Protocol::GraphqlWs.accepted(&gws),
        Some(GRAPHQL_TRANSPORT_WS)
    );
    let apollo = offer("graphql-ws");
    assert_eq!(Protocol::choose(&apollo), Protocol::Apollo);
    assert_eq!(Protocol::Apollo.accepted(&apollo), Some(GRAPHQL_WS));
    // A list is not exactly `graphql-transport-ws`: Apollo, answering what it offered.
    let both = offer("graphql-transport-ws, graphql-ws");
    assert_eq!(Protocol::choose(&both), Protocol::Apollo);
    assert_eq!(Protocol::Apollo.accepted(&both), Some(GRAPHQL_WS));
    assert_eq!(Protocol::choose(&[]), Protocol::Apollo);
    assert_eq!(Protocol::Apollo.accepted(&[]), None);

    let upgrade = h(&[
        ("Host", "x"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "k"),
        ("Sec-WebSocket-Version", "13"),
        ("Cookie", "a=1"),
        ("X-Hasura-Role", "anonymous"),
    ]);
    let kept = upgrade_headers(&upgrade, false);
    assert_eq!(
        kept,
        h(&[
            ("Host", "x"),
            ("Cookie", "a=1"),
            ("X-Hasura-Role", "anonymous")
        ])
    );
    assert_eq!(
        upgrade_headers(&upgrade, true),
        h(&[("Host", "x"), ("X-Hasura-Role", "anonymous")])
    );
    let all = session_headers(&h(&[("x-hasura-role", "user")]), &kept);
    assert_eq!(crate::auth::header(&all, "X-Hasura-Role"), Some("user"));

    let cors = crate::cors::Cors::parse("https://a.example").unwrap();
    assert!(origin_allowed(
        &cors,
        &h(&[("Origin", "https://a.example")])
    ));
    assert!(!origin_allowed(
        &cors,
        &h(&[("Origin", "https://b.example")])
    ));
    assert!(origin_allowed(&cors, &[]));
    assert!(origin_allowed(
        &crate::cors::Cors::AllowAll,
        &h(&[("Origin", "https://b.example")])
    ));

    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(Settings::from_lookup(&env(&[])), Ok(Settings::default()));
    let s = Settings::from_lookup(&env(&[
        ("HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE", "7"),
        ("HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT", "1"),
        (
            "HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE",
            "false",
        ),
        ("HASURA_GRAPHQL_WS_READ_COOKIE", "true"),
    ]))
    .unwrap();
    assert_eq!((s.keep_alive.as_secs(), s.init_timeout.as_secs()), (7, 1));
    assert!(!s.close_on_metadata_change && s.read_cookie);
    assert!(Settings::from_lookup(&env(&[("HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE", "0")])).is_err());
}

#[test]
fn server_messages() {
    use Protocol::*;
    assert_eq!(connection_ack(), r#"{"type":"connection_ack"}"#);
    assert_eq!(keep_alive(Apollo), r#"{"type":"ka"}"#);
    assert_eq!(
        keep_alive(GraphqlWs),
        r#"{"type":"ping","payload":{"message":"keepalive"}}"#
    );
    assert_eq!(pong(None), r#"{"type":"pong"}"#);
    assert_eq!(
        pong(Some(&json!({"message": "x"}))),
        r#"{"type":"pong","payload":{"message":"x"}}"#
    );
    assert_eq!(
        shown(unparsable(Apollo, "bad")),
        [r#"{"type":"connection_error","payload":"bad"}"#]
    );
    assert_eq!(
        shown(unparsable(GraphqlWs, "bad")),
        [r#"close 4400 {"server_error_msg":"4400: Parsing client message failed: bad"}"#]
    );
    assert_eq!(
        shown(init_failed(Apollo, "no")),
        [
            r#"{"type":"connection_error","payload":"no"}"#,
            r#"close 4400 {"server_error_msg":"4400: Connection initialization failed: no"}"#
        ]
    );
    assert_eq!(
        shown(init_failed(GraphqlWs, "no")),
        [r#"close 4403 {"server_error_msg":"4403: Forbidden"}"#]
    );
    // A long reason is shortened inside the JSON, which stays valid.
    let long = Close::server_error(4400, &"é\"".repeat(200));
    assert!(long.reason.len() <= MAX_CLOSE_REASON, "{}", long.reason);
    assert!(serde_json::from_str::<Json>(&long.reason).is_ok());
    assert!(Close::plain(1000, &"é".repeat(100)).reason.len() <= MAX_CLOSE_REASON);

    let refused = start_failed(Apollo, V1, "1", NOT_INITIALISED);
    assert_eq!(
        shown(refused),
        [
            r#"{"type":"error","id":"1","payload":{"extensions":{"path":"$","code":"start-failed"},"message":"start received before the connection is initialised"}}"#,
            r#"{"type":"complete","id":"1"}"#
        ]
    );
    let refused = start_failed(GraphqlWs, LEGACY, "1", &duplicate_id("1"));
    assert_eq!(
        shown(refused),
        [
            r#"{"type":"error","id":"1","payload":{"path":"$","error":"an operation already exists with this id: 1","code":"start-failed"}}"#,
            r#"{"type":"error","id":"1","payload":"an operation already exists with this id: 1"}"#,
            r#"close 1000 {"server_error_msg":"4400: an operation already exists with this id: 1"}"#
        ]
    );

    let ok = r#"{"data":{"a":1}}"#;
    assert_eq!(
        shown(answer(Apollo, V1, "q", ok)),
        [
            r#"{"type":"data","id":"q","payload":{"data":{"a":1}}}"#,
            r#"{"type":"complete","id":"q"}"#
        ]
    );
    assert_eq!(
        shown(answer(GraphqlWs, V1, "q", ok))[0],
        r#"{"type":"next","id":"q","payload":{"data":{"a":1}}}"#
    );
    let invalid = r#"{"errors":[{"extensions":{"path":"$.selectionSet.x","code":"validation-failed"},"message":"m"}]}"#;
    assert_eq!(
        shown(answer(Apollo, V1, "q", invalid)),
        [
            format!(r#"{{"type":"error","id":"q","payload":{invalid}}}"#),
            r#"{"type":"complete","id":"q"}"#.to_string()
        ]
    );
    assert_eq!(
        shown(answer(GraphqlWs, V1, "q", invalid))[0],
        r#"{"type":"error","id":"q","payload":[{"extensions":{"path":"$.selectionSet.x","code":"validation-failed"},"message":"m"}]}"#
    );
    assert_eq!(
        shown(answer(Apollo, LEGACY, "q", invalid))[0],
        r#"{"type":"error","id":"q","payload":{"path":"$.selectionSet.x","error":"m","code":"validation-failed"}}"#
    );
    let failed =
        r#"{"errors":[{"extensions":{"path":"$","code":"constraint-violation"},"message":"m"}]}"#;
    // Hasura's `GQExecError`: `data` null, with the errors.
    assert_eq!(
        shown(answer(Apollo, V1, "q", failed))[0],
        r#"{"type":"data","id":"q","payload":{"data":null,"errors":[{"extensions":{"path":"$","code":"constraint-violation"},"message":"m"}]}}"#
    );
    assert_eq!(
        shown(answer(GraphqlWs, V1, "q", failed))[0],
        r#"{"type":"error","id":"q","payload":[{"extensions":{"path":"$","code":"constraint-violation"},"message":"m"}]}"#
    );
    let refused = crate::EdgeError::new(400, "validation-failed", "no");
    assert_eq!(
        shown(subscription_refused(GraphqlWs, V1, "s", &refused, false)),
        [
            r#"{"type":"error","id":"s","payload":[{"extensions":{"path":"$","code":"validation-failed"},"message":"no"}]}"#,
            r#"{"type":"complete","id":"s"}"#
        ]
    );
}
