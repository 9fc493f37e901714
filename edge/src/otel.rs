//! OpenTelemetry traces, host-independent: a request's place in a trace ([`TraceContext`]),
//! its spans ([`request_spans`]: a `SERVER` span `<METHOD> <path>` with `http.*` attributes,
//! the edge's [`SpanRecord`]s — `compile`, `database` with the SQL, `auth webhook` — as its
//! children) and the OTLP/HTTP request that exports them ([`export_request`]: the JSON encoding
//! of `ExportTraceServiceRequest`, which every OTLP/HTTP receiver accepts, with the metadata's
//! headers — `value` or `value_from_env` — and resource attributes, `service.name` =
//! `graphedge` unless set).
//!
//! The edge draws no random numbers and reads no clock: the host passes the ids and the
//! times. The native host queues spans to an exporter thread (`scheduler/src/otel.rs`); the
//! edge hosts send one request's spans after answering it (`app::EdgeApp::serve`).
use serde_json::{json, Value as Json};

use crate::http::HttpRequest;
use crate::reqlog::SpanRecord;
use graphedge_metadata::api::opentelemetry::OtelConfig;

/// One finished span.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent: Option<[u8; 8]>,
    pub name: String,
    /// OTLP `SpanKind`: 1 internal, 2 server, 3 client.
    pub kind: u8,
    pub start_ns: u128,
    pub end_ns: u128,
    pub attributes: Vec<(String, String)>,
    pub error: bool,
}

/// `(trace id, parent span id)` of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`).
pub fn parse_traceparent(v: &str) -> Option<([u8; 16], [u8; 8])> {
    let parts: Vec<&str> = v.trim().split('-').collect();
    let [version, trace, parent, _flags] = parts.as_slice() else {
        return None;
    };
    if version.len() != 2 || *version == "ff" {
        return None;
    }
    let trace: [u8; 16] = from_hex(trace)?.try_into().ok()?;
    let parent: [u8; 8] = from_hex(parent)?.try_into().ok()?;
    (trace != [0; 16] && parent != [0; 8]).then_some((trace, parent))
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Lower-case hex of `b`.
pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Hasura's `trace_context` of an event (`{"trace_id", "span_id"}`, hex): the span of the
/// request whose mutation created it.
pub fn trace_context_json(trace_id: &[u8; 16], span_id: &[u8; 8]) -> String {
    json!({"trace_id": to_hex(trace_id), "span_id": to_hex(span_id)}).to_string()
}

/// The `traceparent` of an event's stored `trace_context`, when it names a valid trace.
pub fn traceparent_of_context(context: &Json) -> Option<String> {
    let t = context.get("trace_id")?.as_str()?;
    let s = context.get("span_id")?.as_str()?;
    let tp = format!("00-{t}-{s}-01");
    parse_traceparent(&tp).map(|_| tp)
}

/// A request's place in a trace, decided when it arrives: the caller's trace (a valid W3C
/// `traceparent`) or a new one, and the id of the request's own span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    /// The caller's span, when it sent one.
    pub parent: Option<[u8; 8]>,
    /// The request's span.
    pub span_id: [u8; 8],
}

impl TraceContext {
    /// The context of a request that came with `traceparent`; `random` draws the new ids.
    pub fn begin(traceparent: Option<&str>, random: &mut dyn FnMut() -> u64) -> TraceContext {
        let (trace_id, parent) = match traceparent.and_then(parse_traceparent) {
            Some((t, p)) => (t, Some(p)),
            None => {
                let mut t = [0u8; 16];
                t[..8].copy_from_slice(&random().to_le_bytes());
                t[8..].copy_from_slice(&random().to_le_bytes());
                (t, None)
            }
        };
        TraceContext {
            trace_id,
            parent,
            span_id: random().to_le_bytes(),
        }
    }

    /// The `traceparent` the request's outbound calls carry (their parent: the request's span).
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", to_hex(&self.trace_id), to_hex(&self.span_id))
    }
}

/// What the host knows of a served request, for its span.
pub struct RequestSpan<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub trace: TraceContext,
    /// Wall-clock end of the request (unix nanoseconds) and how long it took.
    pub end_ns: u128,
    pub elapsed_ns: u128,
    /// The host's monotonic clock at the end (microseconds), to place the edge's spans.
    pub monotonic_now_us: Option<u64>,
}

/// The request's `SERVER` span and a child per record; `random` draws the children's ids.
pub fn request_spans(
    req: &RequestSpan<'_>,
    records: &[SpanRecord],
    random: &mut dyn FnMut() -> u64,
) -> Vec<Span> {
    let end = req.end_ns;
    let start = end.saturating_sub(req.elapsed_ns);
    let TraceContext {
        trace_id,
        parent,
        span_id: root,
    } = req.trace;
    let mut spans = vec![Span {
        trace_id,
        span_id: root,
        parent,
        name: format!("{} {}", req.method, req.path),
        kind: 2,
        start_ns: start,
        end_ns: end,
        attributes: vec![
            ("http.request.method".into(), req.method.to_string()),
            ("url.path".into(), req.path.to_string()),
            ("http.response.status_code".into(), req.status.to_string()),
        ],
        error: req.status >= 500,
    }];
    if let Some(mono_now) = req.monotonic_now_us {
        let at = |us: u64| end.saturating_sub(u128::from(mono_now.saturating_sub(us)) * 1000);
        for r in records {
            spans.push(Span {
                trace_id,
                span_id: random().to_le_bytes(),
                parent: Some(root),
                name: r.name.to_string(),
                // `database` and the webhook call leave the process: CLIENT spans.
                kind: if r.name == "compile" { 1 } else { 3 },
                start_ns: at(r.start_us),
                end_ns: at(r.end_us),
                attributes: r
                    .attributes
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
                error: false,
            });
        }
    }
    spans
}

fn attribute(key: &str, value: &str) -> Json {
    json!({"key": key, "value": {"stringValue": value}})
}

/// The OTLP/HTTP JSON body (`ExportTraceServiceRequest`) of `spans`.
pub fn export_body(config: &OtelConfig, spans: &[Span]) -> Json {
    let mut resource: Vec<Json> = Vec::new();
    let mut has_service = false;
    for a in &config.exporter_otlp.resource_attributes {
        if let (Some(k), Some(v)) = (
            a.get("name").and_then(Json::as_str),
            a.get("value").and_then(Json::as_str),
        ) {
            has_service |= k == "service.name";
            resource.push(attribute(k, v));
        }
    }
    if !has_service {
        resource.push(attribute("service.name", "graphedge"));
    }
    let spans: Vec<Json> = spans
        .iter()
        .map(|s| {
            let mut span = json!({
                "traceId": to_hex(&s.trace_id),
                "spanId": to_hex(&s.span_id),
                "name": s.name,
                "kind": s.kind,
                "startTimeUnixNano": s.start_ns.to_string(),
                "endTimeUnixNano": s.end_ns.to_string(),
                "attributes": s.attributes.iter().map(|(k, v)| attribute(k, v)).collect::<Vec<_>>(),
                "status": {"code": if s.error { 2 } else { 0 }},
            });
            if let Some(p) = s.parent {
                span["parentSpanId"] = json!(to_hex(&p));
            }
            span
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": resource},
        "scopeSpans": [{
            "scope": {"name": "graphedge", "version": env!("CARGO_PKG_VERSION")},
            "spans": spans,
        }],
    }]})
}

/// The request that exports `spans` under `config` (`None` while traces are not exported);
/// `env` resolves the headers' `value_from_env`.
pub fn export_request(
    config: &OtelConfig,
    spans: &[Span],
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<HttpRequest> {
    let url = config.traces_endpoint()?;
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    for h in &config.exporter_otlp.headers {
        let Some(name) = h.get("name").and_then(Json::as_str) else {
            continue;
        };
        let value = match (h.get("value"), h.get("value_from_env")) {
            (Some(Json::String(v)), _) => Some(v.clone()),
            (_, Some(Json::String(var))) => env(var),
            _ => None,
        };
        if let Some(v) = value {
            headers.push((name.to_string(), v));
        }
    }
    Some(HttpRequest {
        timeout: None,
        method: "POST".into(),
        url: url.to_string(),
        headers,
        body: export_body(config, spans).to_string().into_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_parsing() {
        let (t, p) =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(to_hex(&t), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(to_hex(&p), "00f067aa0ba902b7");
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn spans_of_a_request() {
        let mut n = 0u64;
        let mut random = || {
            n += 1;
            n
        };
        let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let trace = TraceContext::begin(Some(caller), &mut random);
        assert_eq!(
            trace.traceparent(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0100000000000000-01"
        );
        let records = [SpanRecord {
            name: "database",
            start_us: 1_000,
            end_us: 3_000,
            attributes: vec![("db.statement", "SELECT 1".into())],
        }];
        let req = RequestSpan {
            method: "POST",
            path: "/v1/graphql",
            status: 200,
            trace,
            end_ns: 10_000_000,
            elapsed_ns: 5_000_000,
            monotonic_now_us: Some(4_000),
        };
        let spans = request_spans(&req, &records, &mut random);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].parent, Some(trace.parent.unwrap()));
        assert_eq!(
            (spans[0].start_ns, spans[0].end_ns),
            (5_000_000, 10_000_000)
        );
        assert_eq!(spans[1].parent, Some(trace.span_id));
        assert_eq!((spans[1].start_ns, spans[1].end_ns), (7_000_000, 9_000_000));
        assert_eq!(spans[1].kind, 3);
    }
}
