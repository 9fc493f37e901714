//! The edge hosts' outbound calls and logs, through the real hosts: the Worker under
//! `wrangler dev` (real workerd) or the Spin component under `wasmtime serve`
//! (`tests/edge-server.sh`, Postgres reached through the SQL gateway), with
//! `HASURA_GRAPHQL_AUTH_HOOK` pointing at a real HTTP hook on loopback, called with the host's
//! outbound HTTP (`fetch`, `wasi:http`).
//! * `the_edge_host_authenticates_logs_and_traces` — the hook's session applies the role's row
//!   filter, its `Set-Cookie` reaches the client, a 401 from the hook is Hasura's
//!   `access-denied`, the admin secret skips the hook; Hasura's `http-log` lines reach the host's
//!   log; with `set_opentelemetry_config` the request's spans are exported over OTLP/HTTP in the
//!   caller's trace, and the hook is sent the request's span as `traceparent`.
//!
//! Runs only with `GRAPHEDGE_EDGE_HOST=worker` or `spin`, that host built
//! (`scripts/build-edge.sh worker|spin`) and `GRAPHEDGE_BIN` (default
//! `target/release/graphedge`) for the gateway; `scripts/test` runs it after each host's
//! conformance run. Otherwise it is skipped.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use graphedge_tests::http::Client;
use graphedge_tests::loopback::{self, Response};
use graphedge_tests::server::start_edge;
use serde_json::{json, Value};

const SECRET: &str = "edge-webhook-secret";

/// What the loopback server got: path, `authorization`, `traceparent`, body.
#[derive(Clone, Debug, Default)]
struct Got {
    path: String,
    authorization: String,
    traceparent: String,
    body: String,
}

/// A loopback server: at `/auth` a GET-mode hook (`Bearer <user>` is that user of role `user`,
/// with a cookie; anything else 401), at `/v1/traces` an OTLP/HTTP receiver. Returns its base
/// URL and what it got.
fn start_receiver() -> (String, Arc<Mutex<Vec<Got>>>) {
    let seen: Arc<Mutex<Vec<Got>>> = Arc::default();
    let sink = seen.clone();
    let url = loopback::start(move |req| {
        let got = Got {
            path: req.path.clone(),
            authorization: req.header("authorization").to_string(),
            traceparent: req.header("traceparent").to_string(),
            body: req.body.clone(),
        };
        let user = got
            .authorization
            .strip_prefix("Bearer ")
            .unwrap_or("")
            .to_string();
        let answer = if got.path != "/auth" {
            Response::json("200 OK", "{}".into())
        } else if user.starts_with('u') {
            let body = json!({"x-hasura-role": "user", "x-hasura-user-id": user});
            let mut r = Response::json("200 OK", body.to_string());
            r.headers
                .push(("Set-Cookie".into(), format!("seen={user}")));
            r
        } else {
            Response::json("401 Unauthorized", "{}".into())
        };
        sink.lock().unwrap().push(got);
        answer
    });
    (url, seen)
}

#[test]
fn the_edge_host_authenticates_logs_and_traces() {
    let (base, seen) = start_receiver();
    let hook = format!("{base}/auth");
    let env = [
        ("HASURA_GRAPHQL_ADMIN_SECRET", SECRET),
        ("HASURA_GRAPHQL_AUTH_HOOK", hook.as_str()),
        // The Worker's `console.log` lines (Hasura's log lines) into the log.
        ("GRAPHEDGE_WRANGLER_LOG_LEVEL", "log"),
    ];
    let Some((pg, edge)) = start_edge(&["worker", "spin"], &env, "edge-webhook") else {
        return;
    };
    let client = Client::new(edge.base_url());

    pg.psql(
        "graphedge",
        "CREATE TABLE note (id int PRIMARY KEY, owner text NOT NULL); \
         INSERT INTO note VALUES (1, 'u1'), (2, 'u2');",
    )
    .unwrap();
    let admin = [("x-hasura-admin-secret".to_string(), SECRET.to_string())];
    for op in [
        json!({"type": "pg_track_table", "args": {"table": "note"}}),
        json!({"type": "pg_create_select_permission", "args": {"table": "note", "role": "user",
            "permission": {"columns": ["id"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}}}),
    ] {
        let r = client.post_json("/v1/metadata", &admin, &op).unwrap();
        assert_eq!(r.status, 200, "{:?}\n{}", r.body, edge.log_tail(40));
    }
    let calls = || {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|g| g.path == "/auth")
            .count()
    };
    let query = json!({"query": "{ note { id } }"});
    let bearer = |t: &str| [("Authorization".to_string(), format!("Bearer {t}"))];

    let r = client
        .post_json("/v1/graphql", &bearer("u2"), &query)
        .unwrap();
    assert_eq!(
        r.body.as_ref().ok(),
        Some(&json!({"data": {"note": [{"id": 2}]}})),
        "{}",
        edge.log_tail(40)
    );
    let cookie = r
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("set-cookie"));
    assert_eq!(cookie.map(|(_, v)| v.as_str()), Some("seen=u2"));
    let last = seen.lock().unwrap().last().cloned().unwrap_or_default();
    assert_eq!(last.authorization, "Bearer u2");

    let r = client
        .post_json("/v1/graphql", &bearer("x"), &query)
        .unwrap();
    let body = r.body.unwrap_or_else(Value::String);
    assert_eq!(r.status, 200);
    assert_eq!(
        body["errors"][0]["message"], "Authentication hook unauthorized this request",
        "{body}"
    );

    let before = calls();
    let r = client.post_json("/v1/graphql", &admin, &query).unwrap();
    assert_eq!(
        r.body.as_ref().ok(),
        Some(&json!({"data": {"note": [{"id": 1}, {"id": 2}]}}))
    );
    assert_eq!(calls(), before, "the admin secret skips the hook");

    // Hasura's log lines go to the host's log (wrangler and wasmtime print them); the gateway
    // in front of Postgres serves only `/sql`, so a `/v1/graphql` line is the edge host's.
    let deadline = Instant::now() + Duration::from_secs(30);
    let worker_line =
        |l: &str| l.contains("\"type\":\"http-log\"") && l.contains("\"url\":\"/v1/graphql\"");
    while !edge.log_tail(400).lines().any(worker_line) {
        assert!(
            Instant::now() < deadline,
            "no http-log line:\n{}",
            edge.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Traces: the request's spans are exported from the edge host, the hook is sent its span.
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const CALLER: &str = "00f067aa0ba902b7";
    let otel = json!({"type": "set_opentelemetry_config", "args": {
        "status": "enabled", "data_types": ["traces"],
        "exporter_otlp": {"otlp_traces_endpoint": format!("{base}/v1/traces"),
                          "protocol": "http/protobuf"},
        "batch_span_processor": {"max_export_batch_size": 100}}});
    let r = client.post_json("/v1/metadata", &admin, &otel).unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut traced = bearer("u1").to_vec();
    traced.push(("traceparent".into(), format!("00-{TRACE}-{CALLER}-01")));
    let r = client.post_json("/v1/graphql", &traced, &query).unwrap();
    assert_eq!(
        r.body.as_ref().ok(),
        Some(&json!({"data": {"note": [{"id": 1}]}}))
    );
    let sent = seen
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|g| g.path == "/auth")
        .cloned();
    let sent = sent.unwrap().traceparent;
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!(parts.get(1), Some(&TRACE), "{sent}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let spans: Vec<Value> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|g| g.path == "/v1/traces")
            .filter_map(|g| serde_json::from_str::<Value>(&g.body).ok())
            .flat_map(|b| {
                let spans = &b["resourceSpans"][0]["scopeSpans"][0]["spans"];
                spans.as_array().cloned().unwrap_or_default()
            })
            .collect();
        let root = spans.iter().find(|s| s["spanId"] == parts[2]);
        let child = spans.iter().find(|s| s["name"] == "auth webhook");
        if let (Some(root), Some(child)) = (root, child) {
            assert_eq!(root["traceId"], TRACE);
            assert_eq!(root["parentSpanId"], CALLER);
            assert_eq!(child["parentSpanId"], parts[2]);
            break;
        }
        assert!(Instant::now() < deadline, "no spans exported: {spans:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
