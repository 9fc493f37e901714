//! The operational API on the real binary: gzip answers, CORS, Hasura's JSON log lines
//! (`startup`, `http-log`, `query-log`) on stdout, generated request ids.
mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{database, Server};
use serde_json::{json, Value};

/// One HTTP/1.1 exchange over a fresh connection: status, headers, body bytes (as sent).
fn raw(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let text = String::from_utf8_lossy(&out[..split]).to_string();
    let mut lines = text.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, out[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn gunzip(bytes: &[u8]) -> Value {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Waits (generously) until some log line satisfies `pred`, and returns it.
fn wait_line(
    lines: &std::sync::Mutex<Vec<String>>,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| pred(v));
        if let Some(v) = found {
            return v;
        }
        assert!(Instant::now() < deadline, "no log line {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn gzip_cors_and_hasura_log_lines() {
    let (_pg, url) = database();
    let (server, lines) = Server::start_logged(
        &url,
        &["--stringify-numeric-types"],
        &[
            (
                "HASURA_GRAPHQL_CORS_DOMAIN",
                "http://*.localhost, http://localhost:3000",
            ),
            (
                "HASURA_GRAPHQL_ENABLED_LOG_TYPES",
                "startup,http-log,query-log",
            ),
        ],
    );
    server.run_sql(&format!(
        "CREATE TABLE article (id int PRIMARY KEY, body text); INSERT INTO article VALUES (1, '{}')",
        "x".repeat(2000)
    ));
    server.metadata(
        json!({"type": "pg_track_table", "args": {"source": "default", "table": "article"}}),
    );

    // gzip: a large answer when asked for; small answers and clients without gzip as they are.
    let q = json!({"query": "query { article { id body } }"}).to_string();
    let (status, h, body) = raw(
        &server.base,
        "POST",
        "/v1/graphql",
        &[("Accept-Encoding", "gzip"), ("x-request-id", "ops-1")],
        &q,
    );
    assert_eq!(
        (status, header(&h, "content-encoding")),
        (200, Some("gzip"))
    );
    assert_eq!(header(&h, "x-request-id"), Some("ops-1"));
    let data = gunzip(&body);
    assert_eq!(
        data["data"]["article"][0]["body"].as_str().unwrap().len(),
        2000
    );
    let small = json!({"query": "{ __typename }"}).to_string();
    for (accept, q) in [("gzip", &small), ("deflate", &q)] {
        let (_, h, body) = raw(
            &server.base,
            "POST",
            "/v1/graphql",
            &[("Accept-Encoding", accept)],
            q,
        );
        assert_eq!(header(&h, "content-encoding"), None, "{accept}");
        assert!(serde_json::from_slice::<Value>(&body).is_ok());
    }

    // CORS: listed origins get the headers and their preflight answered; others nothing.
    for (origin, allowed) in [
        ("http://app.localhost", true),
        ("http://localhost:3000", true),
        ("https://example.com", false),
    ] {
        let (_, h, _) = raw(
            &server.base,
            "GET",
            "/v1/version",
            &[("Origin", origin)],
            "",
        );
        assert_eq!(
            header(&h, "access-control-allow-origin") == Some(origin),
            allowed,
            "{origin}"
        );
        let (status, h, _) = raw(
            &server.base,
            "OPTIONS",
            "/v1/graphql",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            "",
        );
        assert_eq!(status == 204, allowed, "{origin} preflight");
        if allowed {
            assert_eq!(
                header(&h, "access-control-allow-headers"),
                Some("content-type")
            );
            assert_eq!(header(&h, "access-control-max-age"), Some("1728000"));
        }
    }

    // A request without x-request-id gets a generated one, echoed and logged.
    let (_, h, _) = raw(&server.base, "GET", "/v1/version", &[], "");
    let generated = header(&h, "x-request-id")
        .expect("x-request-id")
        .to_string();
    assert_eq!(generated.len(), 36, "{generated}");

    // Logs: Hasura's envelope on every line, one startup configuration, http-log and query-log.
    let http = wait_line(&lines, "http-log ops-1", |v| {
        v["type"] == "http-log" && v["detail"]["request_id"] == "ops-1"
    });
    assert_eq!(http["level"], "info");
    let op = &http["detail"]["operation"];
    assert_eq!(
        op["query"],
        json!({"query": "query { article { id body } }"})
    );
    assert_eq!(op["user_vars"], json!({"x-hasura-role": "admin"}));
    assert!(op["query_execution_time"].is_number() && op["response_size"].is_number());
    assert_eq!(http["detail"]["http_info"]["status"], 200);
    assert_eq!(http["detail"]["http_info"]["url"], "/v1/graphql");
    assert_eq!(http["detail"]["http_info"]["content_encoding"], "gzip");
    let query_log = wait_line(&lines, "query-log ops-1", |v| {
        v["type"] == "query-log" && v["detail"]["request_id"] == "ops-1"
    });
    let sql = query_log["detail"]["generated_sql"]["article"]["query"]
        .as_str()
        .unwrap();
    assert!(sql.contains("article"), "{sql}");
    wait_line(&lines, "http-log of the generated id", |v| {
        v["type"] == "http-log" && v["detail"]["request_id"] == generated.as_str()
    });
    let all = lines.lock().unwrap().clone();
    let parsed: Vec<Value> = all
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for v in &parsed {
        for key in ["timestamp", "level", "type", "detail"] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
    }
    let startup: Vec<&Value> = parsed
        .iter()
        .filter(|v| v["type"] == "startup" && v["detail"]["kind"] == "server_configuration")
        .collect();
    assert_eq!(startup.len(), 1);
    let info = &startup[0]["detail"]["info"];
    assert_eq!(
        info["enabled_log_types"],
        json!(["startup", "http-log", "query-log"])
    );
    assert_eq!(info["admin_secret_set"], false);
}

/// `/v1alpha1/pg_dump`: the source's schema as SQL text, cleaned like Hasura (no comments,
/// preamble or event-trigger triggers); admin only; a failing pg_dump is Hasura's 500.
#[test]
fn pg_dump_of_the_source() {
    let (_pg, url) = database();
    let server = Server::start(&url);
    server.run_sql("CREATE TABLE author (id serial PRIMARY KEY, name text NOT NULL)");
    server.track("author");
    server.metadata(
        json!({"type": "pg_create_event_trigger", "args": {"name": "author_ev",
        "table": "author", "insert": {"columns": "*"}, "webhook": "http://127.0.0.1:9/x"}}),
    );
    let dump = |headers: &[(&str, &str)], body: Value| {
        let (status, h, bytes) = raw(
            &server.base,
            "POST",
            "/v1alpha1/pg_dump",
            headers,
            &body.to_string(),
        );
        (
            status,
            header(&h, "content-type").map(str::to_string),
            String::from_utf8(bytes).unwrap(),
        )
    };
    let opts = json!(["-O", "-x", "--schema-only", "--schema", "public"]);
    let (status, ctype, text) = dump(&[], json!({"opts": opts, "clean_output": true}));
    assert_eq!(
        (status, ctype.as_deref()),
        (200, Some("application/sql")),
        "{text}"
    );
    assert!(
        text.contains(
            "CREATE TABLE public.author (\n    id integer NOT NULL,\n    name text NOT NULL\n);\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("ADD CONSTRAINT author_pkey PRIMARY KEY (id);"),
        "{text}"
    );
    for gone in ["--", "SET statement_timeout", "graphedge_author_ev", "\n\n"] {
        assert!(!text.contains(gone), "{gone:?} in {text}");
    }
    // Without clean_output, pg_dump's text as it is.
    let (status, _, text) = dump(&[], json!({"opts": opts}));
    assert_eq!(status, 200);
    assert!(
        text.contains("-- PostgreSQL database dump") && text.contains("graphedge_author_ev"),
        "{text}"
    );
    // A role other than admin, a missing source, a pg_dump failure.
    let (status, _, text) = dump(&[("x-hasura-role", "user")], json!({"opts": opts}));
    assert_eq!(status, 400, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["code"],
        json!("access-denied")
    );
    let (status, _, text) = dump(&[], json!({"opts": [], "source": "nope"}));
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap()["code"].clone()
        ),
        (400, json!("not-exists")),
        "{text}"
    );
    let (status, _, text) = dump(&[], json!({"opts": ["--no-such-option"]}));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((status, &v["code"]), (500, &json!("unexpected")), "{text}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("error while executing pg_dump: "),
        "{text}"
    );
}
