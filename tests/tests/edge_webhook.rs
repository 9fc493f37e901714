//! The auth webhook from the Worker, through real workerd: the Worker under `wrangler dev`
//! (`tests/edge-server.sh`, Postgres reached through the SQL gateway) with
//! `HASURA_GRAPHQL_AUTH_HOOK` pointing at a real HTTP hook on loopback, called with the
//! Worker's `fetch`.
//! * `the_worker_authenticates_through_the_hook` — the hook's session applies the role's row
//!   filter, its `Set-Cookie` reaches the client, a 401 from the hook is Hasura's
//!   `access-denied`, the admin secret skips the hook.
//!
//! Runs only with `GRAPHEDGE_EDGE_HOST=worker`, the Worker built (`scripts/build-edge.sh
//! worker`) and `GRAPHEDGE_BIN` (default `target/release/graphedge`) for the gateway;
//! `scripts/test` runs it after the Worker's conformance run. Otherwise it is skipped.
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use graphedge_tests::http::Client;
use graphedge_tests::server::start_worker;
use serde_json::{json, Value};

const SECRET: &str = "edge-webhook-secret";

/// A GET-mode hook on loopback: `Bearer <user>` is that user of role `user` (with a cookie),
/// anything else 401. Returns its URL and the `authorization` headers it was sent.
fn start_hook() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/auth", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let sink = sink.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let mut auth = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("authorization") {
                            auth = v.trim().to_string();
                        }
                    }
                    line.clear();
                }
                sink.lock().unwrap().push(auth.clone());
                let answer = match auth.strip_prefix("Bearer ") {
                    Some(user) if user.starts_with('u') => {
                        let body = json!({"x-hasura-role": "user", "x-hasura-user-id": user});
                        let body = body.to_string();
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                             Set-Cookie: seen={user}\r\nContent-Length: {}\r\n\
                             Connection: close\r\n\r\n{body}",
                            body.len()
                        )
                    }
                    _ => "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\
                          Connection: close\r\n\r\n{}"
                        .to_string(),
                };
                let _ = (&stream).write_all(answer.as_bytes());
            });
        }
    });
    (url, seen)
}

#[test]
fn the_worker_authenticates_through_the_hook() {
    let (hook, seen) = start_hook();
    let env = [
        ("HASURA_GRAPHQL_ADMIN_SECRET", SECRET),
        ("HASURA_GRAPHQL_AUTH_HOOK", hook.as_str()),
    ];
    let Some((pg, edge)) = start_worker(&env, "edge-webhook") else {
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
    let calls = || seen.lock().unwrap().len();
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
    assert_eq!(
        seen.lock().unwrap().last().map(String::as_str),
        Some("Bearer u2")
    );

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
}
