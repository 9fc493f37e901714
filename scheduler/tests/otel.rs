//! OpenTelemetry traces against the real binary, a throwaway Postgres and a loopback OTLP/HTTP
//! receiver:
//! * `requests_are_traced_over_otlp` — `set_opentelemetry_config` (Hasura's metadata) turns
//!   export on; a GraphQL request carrying a W3C `traceparent` becomes a `SERVER` span of that
//!   trace, with `compile` and `database` (the SQL) children; the configured header and
//!   resource attributes are sent; the bodies parse as `ExportTraceServiceRequest` with the
//!   official opentelemetry-proto classes (tests/otlp-check, a venv made on first use; that
//!   part is skipped with a message only when python3 is missing); `set_opentelemetry_status
//!   disabled` stops the export.
//! * `event_deliveries_continue_the_mutations_trace` — a traced mutation's event carries its
//!   span (`trace_context`) and the webhook gets a `traceparent` in the mutation's trace.
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{database, http_stub, Server, StubRequest, StubResponse};
use serde_json::{json, Value};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn attr(attrs: &Value, key: &str) -> Option<String> {
    attrs
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .and_then(|a| a["value"]["stringValue"].as_str().map(str::to_string))
}

/// Every span received so far, with the request it came in.
fn spans(received: &[StubRequest]) -> Vec<(Value, Value)> {
    let mut out = Vec::new();
    for r in received {
        let body = r.json();
        for rs in body["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for s in ss["spans"].as_array().into_iter().flatten() {
                    out.push((rs["resource"].clone(), s.clone()));
                }
            }
        }
    }
    out
}

/// A loopback server answering 200 to everything and keeping the requests (served by the
/// returned runtime), and its URL.
fn recorder() -> (
    tokio::runtime::Runtime,
    String,
    Arc<Mutex<Vec<StubRequest>>>,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let received: Arc<Mutex<Vec<StubRequest>>> = Arc::default();
    let sink = received.clone();
    let url = rt.block_on(http_stub(move |req| {
        let sink = sink.clone();
        async move {
            sink.lock().unwrap().push(req);
            StubResponse::new(200, "{}")
        }
    }));
    (rt, url, received)
}

#[test]
fn requests_are_traced_over_otlp() {
    let (_rt, receiver, received) = recorder();
    let (_pg, url) = database();
    let server = Server::start(&url);
    server.run_sql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);");
    server.track("t");
    server.metadata(json!({"type": "set_opentelemetry_config", "args": {
        "status": "enabled",
        "data_types": ["traces"],
        "exporter_otlp": {
            "otlp_traces_endpoint": format!("{receiver}/v1/traces"),
            "protocol": "http/protobuf",
            "headers": [{"name": "x-test", "value": "sent"}],
            "resource_attributes": [{"name": "deployment.environment", "value": "test"}],
        },
        "batch_span_processor": {"max_export_batch_size": 100},
    }}));
    let (status, out) = server.post(
        "/v1/graphql",
        &[("traceparent", &format!("00-{TRACE}-{PARENT}-01"))],
        &json!({"query": "{ t { id } }"}).to_string(),
    );
    assert_eq!(status, 200, "{out}");

    // The exporter sends within about a second.
    let deadline = Instant::now() + Duration::from_secs(30);
    let all = loop {
        let got = spans(&received.lock().unwrap());
        if got.iter().any(|(_, s)| s["name"] == "database") {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "no database span exported: {got:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let root = all
        .iter()
        .map(|(_, s)| s)
        .find(|s| s["name"] == "POST /v1/graphql" && s["traceId"] == TRACE)
        .expect("the request's span, in the caller's trace");
    assert_eq!(root["parentSpanId"], PARENT);
    assert_eq!(root["kind"], 2);
    assert_eq!(
        attr(&root["attributes"], "http.response.status_code").as_deref(),
        Some("200")
    );
    for name in ["compile", "database"] {
        let child = all
            .iter()
            .map(|(_, s)| s)
            .find(|s| s["name"] == name && s["traceId"] == TRACE)
            .unwrap_or_else(|| panic!("no {name} span"));
        assert_eq!(child["parentSpanId"], root["spanId"], "{child}");
        let (start, end) = (
            child["startTimeUnixNano"]
                .as_str()
                .unwrap()
                .parse::<u128>()
                .unwrap(),
            child["endTimeUnixNano"]
                .as_str()
                .unwrap()
                .parse::<u128>()
                .unwrap(),
        );
        let (rs, re) = (
            root["startTimeUnixNano"]
                .as_str()
                .unwrap()
                .parse::<u128>()
                .unwrap(),
            root["endTimeUnixNano"]
                .as_str()
                .unwrap()
                .parse::<u128>()
                .unwrap(),
        );
        assert!(
            rs <= start && start <= end && end <= re,
            "{name} within the request"
        );
    }
    let database = all
        .iter()
        .map(|(_, s)| s)
        .find(|s| s["name"] == "database")
        .unwrap();
    assert!(attr(&database["attributes"], "db.statement")
        .unwrap()
        .contains("SELECT"));
    let resource = &all[0].0["attributes"];
    assert_eq!(attr(resource, "service.name").as_deref(), Some("graphedge"));
    assert_eq!(
        attr(resource, "deployment.environment").as_deref(),
        Some("test")
    );
    let bodies: Vec<String> = {
        let got = received.lock().unwrap();
        assert!(got
            .iter()
            .all(|r| r.path_only() == "/v1/traces" && r.method == "POST"));
        assert!(got
            .iter()
            .all(|r| r.headers.get("x-test").map(String::as_str) == Some("sent")));
        got.iter()
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect()
    };

    // Disabled: nothing more is sent.
    server.metadata(json!({"type": "set_opentelemetry_status", "args": "disabled"}));
    let before = received.lock().unwrap().len();
    server.post(
        "/v1/graphql",
        &[],
        &json!({"query": "{ t { id } }"}).to_string(),
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        received.lock().unwrap().len(),
        before,
        "exported while disabled"
    );

    // The bodies fit OTLP's schema (the official generated classes).
    let Some(out) = common::run_python(
        "otlp-check",
        "check.py",
        bodies.join("\n").as_bytes(),
        "the OTLP schema check",
    ) else {
        return;
    };
    assert!(out.starts_with("ok "), "{out}");
}

/// A traced mutation stores its span with the events it creates (Hasura's `trace_context`),
/// and their delivery sends the webhook a `traceparent` in the mutation's trace.
#[test]
fn event_deliveries_continue_the_mutations_trace() {
    let (_rt, stub, received) = recorder();
    let (_pg, url) = database();
    let server = Server::start(&url);
    server.run_sql("CREATE TABLE t (id int PRIMARY KEY)");
    server.track("t");
    server.metadata(json!({"type": "pg_create_event_trigger", "args": {
        "name": "t_ev", "table": "t", "insert": {"columns": "*"},
        "webhook": format!("{stub}/event")}}));
    server.metadata(json!({"type": "set_opentelemetry_config", "args": {
        "status": "enabled", "data_types": ["traces"],
        "exporter_otlp": {"otlp_traces_endpoint": format!("{stub}/v1/traces")}}}));
    let (status, out) = server.post(
        "/v1/graphql",
        &[("traceparent", &format!("00-{TRACE}-{PARENT}-01"))],
        &json!({"query": "mutation { insert_t_one(object: {id: 1}) { id } }"}).to_string(),
    );
    assert_eq!(status, 200, "{out}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let event = loop {
        let got = received.lock().unwrap();
        if let Some(e) = got.iter().find(|r| r.path_only() == "/event") {
            break e.clone();
        }
        drop(got);
        assert!(Instant::now() < deadline, "the event was not delivered");
        std::thread::sleep(Duration::from_millis(100));
    };
    let sent = event
        .headers
        .get("traceparent")
        .cloned()
        .unwrap_or_default();
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!(parts.get(1), Some(&TRACE), "{sent}");
    assert_ne!(
        parts.get(2),
        Some(&PARENT),
        "the mutation's span, not its caller's"
    );
    let context = &event.json()["event"]["trace_context"];
    assert_eq!(context["trace_id"], TRACE);
    assert_eq!(context["span_id"], parts[2]);
}
