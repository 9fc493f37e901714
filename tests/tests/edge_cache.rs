//! `@cached` answers in the Workers Cache API, through real workerd: the Worker under
//! `wrangler dev` (`tests/edge-server.sh`, Postgres reached through the SQL gateway) with its
//! memory tier off (`GRAPHEDGE_RESPONSE_CACHE_BYTES=0`), so only `caches.default` can answer a
//! repeated query.
//! * `the_workers_cache_answers_a_repeated_query` — the second identical `@cached` query shows
//!   the row as it was (a row written since, straight into Postgres, does not show: no database
//!   run), with the same Hasura headers; `refresh` and queries without the directive see the
//!   new row.
//!
//! Runs only with `GRAPHEDGE_EDGE_HOST=worker`, the Worker built (`scripts/build-edge.sh
//! worker`) and `GRAPHEDGE_BIN` (default `target/release/graphedge`) for the gateway;
//! `scripts/test` runs it after the Worker's conformance run. Otherwise it is skipped.
use std::time::{Duration, Instant};

use graphedge_tests::http::{Client, HttpResponse};
use graphedge_tests::server::start_edge;
use serde_json::{json, Value};

const SECRET: &str = "edge-cache-secret";

fn header<'a>(r: &'a HttpResponse, name: &str) -> Option<&'a str> {
    let h = r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name));
    h.map(|(_, v)| v.as_str())
}

/// The note's body and the cache headers of the answer to `query`.
fn note(client: &Client, query: &str) -> (String, Vec<Option<String>>) {
    let admin = [("x-hasura-admin-secret".to_string(), SECRET.to_string())];
    let r = client.post_json("/v1/graphql", &admin, &json!({ "query": query }));
    let r = r.unwrap_or_else(|e| panic!("{query}: {e}"));
    let body = r.body.clone().unwrap_or_else(Value::String);
    let text = body["data"]["note"][0]["body"].as_str();
    let text = text.unwrap_or_else(|| panic!("{query}: {body}"));
    let names = ["cache-control", "x-hasura-query-cache-key"];
    let names = names
        .iter()
        .chain(&["x-hasura-query-family-cache-key", "vary"]);
    let headers = names.map(|n| header(&r, n).map(str::to_string)).collect();
    (text.to_string(), headers)
}

#[test]
fn the_workers_cache_answers_a_repeated_query() {
    let env = [
        ("HASURA_GRAPHQL_ADMIN_SECRET", SECRET),
        ("GRAPHEDGE_RESPONSE_CACHE_BYTES", "0"),
        ("GRAPHEDGE_WORKERS_CACHE", "true"),
    ];
    let Some((pg, edge)) = start_edge(&["worker"], &env, "edge-cache") else {
        return;
    };
    let client = Client::new(edge.base_url());

    pg.psql(
        "graphedge",
        "CREATE TABLE note (id int PRIMARY KEY, body text NOT NULL); \
         INSERT INTO note VALUES (1, 'before');",
    )
    .unwrap();
    let admin = [("x-hasura-admin-secret".to_string(), SECRET.to_string())];
    let track = json!({"type": "pg_track_table", "args": {"source": "default", "table": "note"}});
    let r = client.post_json("/v1/metadata", &admin, &track).unwrap();
    assert_eq!(r.status, 200, "{:?}\n{}", r.body, edge.log_tail(40));

    // A value of this run in the statement: wrangler may keep its cache between runs.
    let nonce = format!("{:?}", Instant::now());
    let query = |directive: &str| {
        format!("query {directive} {{ note(where: {{body: {{_neq: \"{nonce}\"}}}}) {{ body }} }}")
    };
    let cached = query("@cached(ttl: 120)");

    let (first, headers) = note(&client, &cached);
    assert_eq!(first, "before");
    assert_eq!(headers[0].as_deref(), Some("max-age=120"), "{headers:?}");
    assert!(headers.iter().all(Option::is_some), "{headers:?}");
    // The write to the cache runs under `waitUntil`, after the answer.
    std::thread::sleep(Duration::from_millis(500));

    pg.psql("graphedge", "UPDATE note SET body = 'after'")
        .unwrap();
    assert_eq!(
        note(&client, &query("")).0,
        "after",
        "the database moved on"
    );
    let (again, kept) = note(&client, &cached);
    assert_eq!(
        again,
        "before",
        "answered by the Workers cache, not the database\n{}",
        edge.log_tail(40)
    );
    assert_eq!(kept[1..], headers[1..], "the same headers from either tier");
    let age = kept[0].as_deref().and_then(|v| v.strip_prefix("max-age="));
    let age: u64 = age.and_then(|a| a.parse().ok()).unwrap();
    assert!((100..=120).contains(&age), "{kept:?}");

    let refreshed = query("@cached(ttl: 120, refresh: true)");
    assert_eq!(note(&client, &refreshed).0, "after");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        note(&client, &cached).0,
        "after",
        "refresh rewrote the entry"
    );
}
