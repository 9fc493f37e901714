//! `GET /v1/metrics` against the real binary and a throwaway Postgres:
//! * `prometheus_scrape_counts_requests` — with `HASURA_GRAPHQL_METRICS_SECRET` only a
//!   `Bearer` of it may scrape; the text parses with the official `prometheus_client` parser
//!   (tests/prometheus-parser, a venv made on first use; that part is skipped with a message
//!   only when python3 is missing) and counts the requests made: queries and mutations by
//!   outcome, execution-time histograms, `@cached` hits, HTTP bytes and connections, the
//!   Postgres pool.
mod common;

use common::{database, Server};
use serde_json::{json, Value};

const SECRET: &str = "admin-secret";
const METRICS: &str = "metrics-secret";

fn scrape(server: &Server, auth: Option<&str>) -> (u16, Option<String>, String) {
    let mut req = ureq::get(&format!("{}/v1/metrics", server.base));
    if let Some(a) = auth {
        req = req.set("authorization", a);
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET /v1/metrics: {e}"),
    };
    let ct = resp.header("content-type").map(str::to_string);
    (resp.status(), ct, resp.into_string().unwrap())
}

/// The value of the sample `name` with exactly `labels`.
fn sample(parsed: &Value, name: &str, labels: Value) -> f64 {
    parsed["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s[0] == name && s[1] == labels)
        .unwrap_or_else(|| panic!("no sample {name} {labels}"))[2]
        .as_f64()
        .unwrap()
}

#[test]
fn prometheus_scrape_counts_requests() {
    let (_pg, url) = database();
    let (server, _lines) = Server::start_logged(
        &url,
        &["--admin-secret", SECRET],
        &[("HASURA_GRAPHQL_METRICS_SECRET", METRICS)],
    );
    let post = |path: &str, body: Value| {
        server.post(
            path,
            &[("x-hasura-admin-secret", SECRET)],
            &body.to_string(),
        )
    };
    let (status, out) = post(
        "/v2/query",
        json!({"type": "run_sql", "args": {"sql": "CREATE TABLE t (id serial PRIMARY KEY, v int)"}}),
    );
    assert_eq!(status, 200, "{out}");
    let (status, out) = post(
        "/v1/metadata",
        json!({"type": "pg_track_table", "args": {"table": "t"}}),
    );
    assert_eq!(status, 200, "{out}");
    let gql = |q: &str| post("/v1/graphql", json!({ "query": q }));
    for _ in 0..3 {
        assert!(gql("{ t { id } }").1.get("data").is_some());
    }
    assert!(gql("{ nope { id } }").1.get("errors").is_some());
    assert!(gql("mutation { insert_t_one(object: {v: 1}) { id } }")
        .1
        .get("data")
        .is_some());
    for _ in 0..2 {
        assert!(gql("query @cached(ttl: 60) { t { v } }")
            .1
            .get("data")
            .is_some());
    }

    // Only the metrics secret opens it.
    assert_eq!(scrape(&server, None).0, 401);
    assert_eq!(scrape(&server, Some("Bearer wrong")).0, 401);
    let (status, ct, text) = scrape(&server, Some(&format!("Bearer {METRICS}")));
    assert_eq!(status, 200, "{text}");
    assert!(ct.unwrap().starts_with("text/plain; version=0.0.4"));

    // The official client's parser reads it (else this panics with its error).
    let Some(out) = common::run_python(
        "prometheus-parser",
        "parse.py",
        text.as_bytes(),
        "the Prometheus parser check",
    ) else {
        return;
    };
    let parsed: Value = serde_json::from_str(&out).unwrap();
    let requests = |ty: &str, status: &str| {
        sample(
            &parsed,
            "hasura_graphql_requests_total",
            json!({"operation_type": ty, "response_status": status}),
        )
    };
    assert_eq!(requests("query", "success"), 5.0);
    assert_eq!(requests("mutation", "success"), 1.0);
    assert_eq!(requests("unknown", "failed"), 1.0);
    assert_eq!(
        parsed["families"]["hasura_graphql_execution_time_seconds"],
        "histogram"
    );
    assert_eq!(
        sample(
            &parsed,
            "hasura_graphql_execution_time_seconds_count",
            json!({"operation_type": "query"})
        ),
        5.0
    );
    assert_eq!(
        sample(
            &parsed,
            "hasura_cache_request_count_total",
            json!({"status": "hit"})
        ),
        1.0
    );
    assert!(sample(&parsed, "hasura_http_request_bytes_total", json!({})) > 0.0);
    assert!(sample(&parsed, "hasura_http_connections", json!({})) >= 1.0);
    let pool = parsed["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s[0] == "hasura_postgres_connections")
        .expect("a pool gauge");
    assert!(
        pool[1]["conn_info"]
            .as_str()
            .unwrap()
            .ends_with("/graphedge"),
        "{pool}"
    );
}
