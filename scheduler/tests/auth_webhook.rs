//! Hasura's auth webhook mode against the real binary, a throwaway Postgres and a real HTTP
//! hook on loopback:
//! * `the_hook_decides_the_session` — GET mode: the hook gets the client's headers (less the
//!   ones Hasura drops), its session applies the role's row filter, a client's own
//!   `x-hasura-role` changes nothing, the hook's `Set-Cookie` headers reach the client, 401 /
//!   a missing role / other statuses / a hook that is down answer as Hasura does (GraphQL with
//!   HTTP 200, the metadata API with the status), the admin secret skips the hook, and an answer
//!   with `Cache-Control: max-age` is kept for the same request.
//! * `post_mode_sends_the_graphql_request` — POST mode: `{"headers", "request"}`.
//! * `a_hook_needs_an_admin_secret` — Hasura's start-up refusal.
//! * `traced_requests_pass_their_span_to_the_hook` — with traces exported, the hook gets a W3C
//!   `traceparent` naming the request's span (in the caller's trace), which has an
//!   `auth webhook` child.
mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{database, free_port, http_stub, Server, StubRequest, StubResponse};
use serde_json::{json, Value};

const SECRET: &str = "hook-secret";

/// A loopback hook: answers by the `Authorization` header (GET) or `headers.Authorization`
/// (POST), and records every request.
fn start_hook(rt: &tokio::runtime::Runtime) -> (String, Arc<Mutex<Vec<StubRequest>>>) {
    let received: Arc<Mutex<Vec<StubRequest>>> = Arc::default();
    let sink = received.clone();
    let url = rt.block_on(http_stub(move |req: StubRequest| {
        let sink = sink.clone();
        async move {
            if req.path_only() == "/v1/traces" {
                sink.lock().unwrap().push(req);
                return StubResponse::new(200, "{}");
            }
            let auth = match req.method.as_str() {
                "POST" => req.json()["headers"]["Authorization"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                _ => req
                    .headers
                    .get("authorization")
                    .cloned()
                    .unwrap_or_default(),
            };
            sink.lock().unwrap().push(req);
            let user = |id: &str| json!({"X-Hasura-Role": "user", "X-Hasura-User-Id": id});
            match auth.as_str() {
                "Bearer u1" => StubResponse::new(200, user("u1").to_string())
                    .header("Set-Cookie", "a=1; Path=/")
                    .header("Set-Cookie", "b=2; Path=/"),
                "Bearer u2" => StubResponse::new(200, user("u2").to_string()),
                "Bearer kept" => StubResponse::new(200, user("u2").to_string())
                    .header("Cache-Control", "max-age=300"),
                "Bearer no-role" => StubResponse::new(200, r#"{"x-hasura-user-id":"u1"}"#),
                "Bearer broken" => StubResponse::new(502, "bad gateway"),
                _ => StubResponse::new(401, "{}"),
            }
        }
    }));
    (format!("{url}/auth"), received)
}

fn send(server: &Server, path: &str, headers: &[(&str, &str)], body: &Value) -> ureq::Response {
    let mut req = ureq::post(&format!("{}{path}", server.base));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    match req.send_string(&body.to_string()) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{path}: {e}"),
    }
}

fn status_and_json(resp: ureq::Response) -> (u16, Value) {
    let status = resp.status();
    (
        status,
        serde_json::from_str(&resp.into_string().unwrap()).unwrap(),
    )
}

fn admin(server: &Server, path: &str, body: Value) {
    let (status, out) = status_and_json(send(
        server,
        path,
        &[("x-hasura-admin-secret", SECRET)],
        &body,
    ));
    assert_eq!(status, 200, "{body}: {out}");
}

/// A `note` table whose `user` role sees its own rows.
fn setup(server: &Server) {
    admin(
        server,
        "/v2/query",
        json!({"type": "run_sql", "args": {"sql": "
            CREATE TABLE note (id int PRIMARY KEY, owner text NOT NULL);
            INSERT INTO note VALUES (1, 'u1'), (2, 'u2');"}}),
    );
    admin(
        server,
        "/v1/metadata",
        json!({"type": "pg_track_table", "args": {"table": "note"}}),
    );
    admin(
        server,
        "/v1/metadata",
        json!({"type": "pg_create_select_permission", "args": {"table": "note", "role": "user",
            "permission": {"columns": ["id"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}}}),
    );
}

const QUERY: &str = "query Notes { note { id } }";

/// The answer to [`QUERY`] on `/v1/graphql` with `headers`.
fn notes(server: &Server, headers: &[(&str, &str)]) -> Value {
    status_and_json(send(
        server,
        "/v1/graphql",
        headers,
        &json!({ "query": QUERY }),
    ))
    .1
}

/// `graphedge serve` with the hook in `mode`; its `startup` line reports the hook as Hasura's
/// does.
fn start(url: &str, hook: &str, mode: &str) -> Server {
    let (server, lines) = Server::start_logged(
        url,
        &["--admin-secret", SECRET],
        &[
            ("HASURA_GRAPHQL_AUTH_HOOK", hook),
            ("HASURA_GRAPHQL_AUTH_HOOK_MODE", mode),
        ],
    );
    // Log lines are flushed in batches: wait for the `startup` one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let startup = loop {
        let found = lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["type"] == "startup");
        match found {
            Some(line) => break line,
            None if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50))
            }
            None => panic!("no startup line"),
        }
    };
    let info = &startup["detail"]["info"];
    assert_eq!(
        (&info["auth_hook"], &info["auth_hook_mode"]),
        (&json!(hook), &json!(mode))
    );
    server
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A hook, a database with `note` and a server in the hook's `mode`.
struct Hooked {
    /// Serves the hook.
    _rt: tokio::runtime::Runtime,
    hook: String,
    received: Arc<Mutex<Vec<StubRequest>>>,
    _pg: graphedge_scheduler::pgtemp::TempPostgres,
    url: String,
    server: Server,
}

fn hooked(mode: &str) -> Hooked {
    let rt = runtime();
    let (hook, received) = start_hook(&rt);
    let (pg, url) = database();
    let server = start(&url, &hook, mode);
    setup(&server);
    Hooked {
        _rt: rt,
        hook,
        received,
        _pg: pg,
        url,
        server,
    }
}

#[test]
fn the_hook_decides_the_session() {
    let h = hooked("GET");
    let (server, received) = (&h.server, &h.received);
    let calls = || received.lock().unwrap().len();
    let query = json!({ "query": QUERY });

    // The session is the hook's, whatever role the client asks for.
    let resp = send(
        &server,
        "/v1/graphql",
        &[
            ("Authorization", "Bearer u1"),
            ("X-Hasura-Role", "admin"),
            ("Content-Type", "application/json"),
        ],
        &query,
    );
    let cookies: Vec<String> = resp
        .all("set-cookie")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(cookies, ["b=2; Path=/", "a=1; Path=/"], "Hasura's order");
    let (status, out) = status_and_json(resp);
    assert_eq!(
        (status, &out),
        (200, &json!({"data": {"note": [{"id": 1}]}}))
    );
    {
        let got = received.lock().unwrap();
        let call = got.last().unwrap();
        assert_eq!((call.method.as_str(), call.path.as_str()), ("GET", "/auth"));
        assert_eq!(call.headers["authorization"], "Bearer u1");
        assert_eq!(call.headers["x-hasura-role"], "admin", "forwarded as sent");
        assert!(
            call.headers["user-agent"].starts_with("hasura-graphql-engine/"),
            "{:?}",
            call.headers
        );
        assert!(
            !call.headers.contains_key("content-type"),
            "Hasura drops it"
        );
    }
    let out = notes(server, &[("Authorization", "Bearer u2")]);
    assert_eq!(out, json!({"data": {"note": [{"id": 2}]}}));

    // Refusals: GraphQL answers 200 with Hasura's error, the metadata API keeps the status.
    let refusals: &[(&str, u16, &str, &str)] = &[
        (
            "Bearer nobody",
            401,
            "access-denied",
            "Authentication hook unauthorized this request",
        ),
        (
            "Bearer no-role",
            400,
            "invalid-params",
            "\"x-hasura-role\" not found in session variables",
        ),
        (
            "Bearer broken",
            500,
            "unexpected",
            "Invalid response from authorization hook",
        ),
    ];
    for (token, status, code, message) in refusals {
        let auth = [("Authorization", *token)];
        let (s, out) = status_and_json(send(&server, "/v1/graphql", &auth, &query));
        assert_eq!(s, 200, "{out}");
        assert_eq!(out["errors"][0]["extensions"]["code"], *code, "{out}");
        assert_eq!(out["errors"][0]["message"], *message, "{out}");
        let export = json!({"type": "export_metadata", "args": {}});
        let (s, out) = status_and_json(send(&server, "/v1/metadata", &auth, &export));
        assert_eq!((s, out["code"].as_str()), (*status, Some(*code)), "{out}");
    }

    // The admin secret skips the hook.
    let before = calls();
    let out = notes(server, &[("x-hasura-admin-secret", SECRET)]);
    assert_eq!(out, json!({"data": {"note": [{"id": 1}, {"id": 2}]}}));
    assert_eq!(calls(), before);

    // An answer that says how long it stays fresh is kept for the same request.
    for _ in 0..3 {
        let out = notes(server, &[("Authorization", "Bearer kept")]);
        assert_eq!(out, json!({"data": {"note": [{"id": 2}]}}));
    }
    assert_eq!(calls(), before + 1, "kept after the first call");
    let out = notes(server, &[("Authorization", "Bearer u2")]);
    assert_eq!(out, json!({"data": {"note": [{"id": 2}]}}));
    assert_eq!(
        calls(),
        before + 2,
        "an answer without freshness is not kept"
    );

    // A hook that is down.
    let dead = format!("http://127.0.0.1:{}/auth", free_port());
    let server = start(&h.url, &dead, "GET");
    let out = notes(&server, &[("Authorization", "Bearer u1")]);
    assert_eq!(
        out["errors"][0]["message"], "webhook authentication request failed",
        "{out}"
    );
}

#[test]
fn post_mode_sends_the_graphql_request() {
    let h = hooked("POST");
    let (server, received) = (&h.server, &h.received);
    let query = json!({"query": QUERY, "operationName": "Notes", "variables": {"x": 1}});
    let auth = [("Authorization", "Bearer u1"), ("auth-user-id", "7")];
    let (_, out) = status_and_json(send(server, "/v1/graphql", &auth, &query));
    assert_eq!(out, json!({"data": {"note": [{"id": 1}]}}));
    let got = received.lock().unwrap();
    let call = got.last().unwrap();
    assert_eq!(call.method, "POST");
    assert_eq!(call.headers["content-type"], "application/json");
    let body = call.json();
    assert_eq!(body["request"], query);
    assert_eq!(body["headers"]["Authorization"], "Bearer u1");
    assert_eq!(body["headers"]["auth-user-id"], "7");
}

#[test]
fn a_hook_needs_an_admin_secret() {
    let (_pg, url) = database();
    let out = Command::new(env!("CARGO_BIN_EXE_graphedge"))
        .args([
            "serve",
            "--database-url",
            &url,
            "--server-host",
            "127.0.0.1",
        ])
        .args(["--server-port", &free_port().to_string()])
        .env_remove("HASURA_GRAPHQL_ADMIN_SECRET")
        .env_remove("HASURA_GRAPHQL_JWT_SECRET")
        .env("HASURA_GRAPHQL_AUTH_HOOK", "http://127.0.0.1:9/auth")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--auth-hook (HASURA_GRAPHQL_AUTH_HOOK) requires --admin-secret"),
        "{err}"
    );
}

#[test]
fn traced_requests_pass_their_span_to_the_hook() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const CALLER: &str = "00f067aa0ba902b7";
    let h = hooked("GET");
    let (server, received) = (&h.server, &h.received);
    let traces = h.hook.replace("/auth", "/v1/traces");
    admin(
        &server,
        "/v1/metadata",
        json!({"type": "set_opentelemetry_config", "args": {
            "status": "enabled", "data_types": ["traces"],
            "exporter_otlp": {"otlp_traces_endpoint": traces, "protocol": "http/protobuf"},
            "batch_span_processor": {"max_export_batch_size": 100}}}),
    );
    let caller = format!("00-{TRACE}-{CALLER}-01");
    let (_, out) = status_and_json(send(
        &server,
        "/v1/graphql",
        &[("Authorization", "Bearer u1"), ("traceparent", &caller)],
        &json!({ "query": QUERY }),
    ));
    assert_eq!(out, json!({"data": {"note": [{"id": 1}]}}));
    let sent = {
        let got = received.lock().unwrap();
        let call = got.iter().rev().find(|r| r.path_only() == "/auth").unwrap();
        call.headers["traceparent"].clone()
    };
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!((parts[0], parts[1]), ("00", TRACE), "{sent}");
    assert_ne!(
        parts[2], CALLER,
        "the hook's parent is our span, not the caller's"
    );

    // The exported request span is the one the hook was given, with an `auth webhook` child.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let spans: Vec<Value> = received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path_only() == "/v1/traces")
            .flat_map(|r| {
                let body = r.json();
                let mut out = Vec::new();
                for rs in body["resourceSpans"].as_array().into_iter().flatten() {
                    for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                        out.extend(ss["spans"].as_array().into_iter().flatten().cloned());
                    }
                }
                out
            })
            .collect();
        let root = spans.iter().find(|s| s["spanId"] == parts[2]);
        let child = spans.iter().find(|s| s["name"] == "auth webhook");
        if let (Some(root), Some(child)) = (root, child) {
            assert_eq!(root["parentSpanId"], CALLER);
            assert_eq!(child["parentSpanId"], parts[2]);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not exported: {spans:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
