//! OpenTelemetry traces of the HTTP requests, exported over OTLP/HTTP (the JSON encoding of
//! `ExportTraceServiceRequest`, which every OTLP/HTTP receiver accepts) to the metadata's
//! `opentelemetry.exporter_otlp.otlp_traces_endpoint` while its `status` is `enabled`.
//!
//! Each request is one `SERVER` span (`<METHOD> <path>`, with `http.*` attributes); the edge's
//! steps (`compile`, `database` with the SQL) are its children. A W3C `traceparent` on the
//! request makes the span part of the caller's trace. Spans go through a bounded queue
//! (a full queue drops spans, never blocks a request) to one exporter thread, which posts
//! batches of at most `batch_span_processor.max_export_batch_size` at least every second,
//! with the configured headers (`value` or `value_from_env`) and resource attributes
//! (`service.name` = `graphedge` unless set).
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graphedge_edge::reqlog::SpanRecord;
use graphedge_metadata::api::opentelemetry::OtelConfig;
use serde_json::{json, Value as Json};

/// Spans waiting for the exporter; more are dropped.
const QUEUE: usize = 8192;
/// Longest wait before a partial batch is sent.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// One finished span.
#[derive(Debug, Clone)]
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

/// A span and the configuration in force when it ended.
struct Queued(Span, std::sync::Arc<OtelConfig>);

fn queue() -> &'static SyncSender<Queued> {
    static TX: OnceLock<SyncSender<Queued>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("graphedge-otel".into())
            .spawn(move || export_loop(rx))
            .expect("spawn the OpenTelemetry exporter thread");
        tx
    })
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
    let trace: [u8; 16] = hex(trace)?.try_into().ok()?;
    let parent: [u8; 8] = hex(parent)?.try_into().ok()?;
    (trace != [0; 16] && parent != [0; 8]).then_some((trace, parent))
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Random bytes (ids): the process's random hasher keys over a counter.
fn random<const N: usize>() -> [u8; N] {
    use std::hash::{BuildHasher, Hasher};
    static KEYS: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let keys = KEYS.get_or_init(std::collections::hash_map::RandomState::new);
    let mut out = [0u8; N];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h = keys.build_hasher();
        h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        h.write_usize(i);
        let bytes = h.finish().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    out
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
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
    /// The context of a request that came with `traceparent`.
    pub fn begin(traceparent: Option<&str>) -> TraceContext {
        let (trace_id, parent) = match traceparent.and_then(parse_traceparent) {
            Some((t, p)) => (t, Some(p)),
            None => (random::<16>(), None),
        };
        TraceContext {
            trace_id,
            parent,
            span_id: random::<8>(),
        }
    }

    /// The `traceparent` the request's outbound calls carry (their parent: the request's span).
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", to_hex(&self.trace_id), to_hex(&self.span_id))
    }
}

/// What the host knows of a served request.
pub struct RequestSpan<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub trace: TraceContext,
    /// How long the request took.
    pub elapsed: Duration,
    /// The host's monotonic clock now (microseconds), to place the edge's spans.
    pub monotonic_now_us: Option<u64>,
}

/// Queues the request's span and its children (`records`) for export under `config`.
pub fn record(config: &std::sync::Arc<OtelConfig>, req: &RequestSpan<'_>, records: &[SpanRecord]) {
    let end = now_ns();
    let start = end.saturating_sub(req.elapsed.as_nanos());
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
                span_id: random::<8>(),
                parent: Some(root),
                name: r.name.to_string(),
                kind: if r.name == "database" { 3 } else { 1 },
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
    let tx = queue();
    for s in spans {
        match tx.try_send(Queued(s, config.clone())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("OpenTelemetry: the export queue is full; spans dropped");
                return;
            }
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

/// The exporter thread: batches per endpoint configuration, posts them.
fn export_loop(rx: Receiver<Queued>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "OpenTelemetry: no runtime for the exporter");
            return;
        }
    };
    let http = match crate::http_client::NativeHttp::new(Duration::from_secs(10)) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "OpenTelemetry: no HTTP client for the exporter");
            return;
        }
    };
    let mut batch: Vec<Span> = Vec::new();
    let mut config: Option<std::sync::Arc<OtelConfig>> = None;
    let mut last_flush = std::time::Instant::now();
    loop {
        let got = rx.recv_timeout(FLUSH_EVERY.saturating_sub(last_flush.elapsed()));
        let disconnected = matches!(got, Err(std::sync::mpsc::RecvTimeoutError::Disconnected));
        let idle = got.is_err();
        if let Ok(Queued(span, c)) = got {
            // A new configuration starts a new batch.
            if config.as_ref().is_some_and(|old| **old != *c) {
                if let Some(old) = config.take() {
                    runtime.block_on(send(&http, &old, std::mem::take(&mut batch)));
                }
            }
            config = Some(c);
            batch.push(span);
        }
        let full = config
            .as_ref()
            .is_some_and(|c| batch.len() >= c.batch_span_processor.max_export_batch_size.max(1));
        let due = last_flush.elapsed() >= FLUSH_EVERY;
        if !batch.is_empty() && (full || idle || due) {
            if let Some(c) = &config {
                runtime.block_on(send(&http, c, std::mem::take(&mut batch)));
            }
        }
        if due || idle {
            last_flush = std::time::Instant::now();
        }
        if disconnected {
            return;
        }
    }
}

async fn send(http: &crate::http_client::NativeHttp, config: &OtelConfig, spans: Vec<Span>) {
    let Some(url) = config.traces_endpoint() else {
        return;
    };
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    for h in &config.exporter_otlp.headers {
        let Some(name) = h.get("name").and_then(Json::as_str) else {
            continue;
        };
        let value = match (h.get("value"), h.get("value_from_env")) {
            (Some(Json::String(v)), _) => Some(v.clone()),
            (_, Some(Json::String(var))) => std::env::var(var).ok(),
            _ => None,
        };
        if let Some(v) = value {
            headers.push((name.to_string(), v));
        }
    }
    let count = spans.len();
    let body = export_request(config, &spans).to_string().into_bytes();
    let req = graphedge_edge::http::HttpRequest {
        method: "POST".into(),
        url: url.to_string(),
        headers,
        body,
    };
    match graphedge_edge::http::HttpClient::send(http, req).await {
        Ok(r) if (200..300).contains(&r.status) => {}
        Ok(r) => tracing::warn!(
            status = r.status,
            spans = count,
            "OpenTelemetry: export refused"
        ),
        Err(e) => tracing::warn!(error = %e, spans = count, "OpenTelemetry: export failed"),
    }
}

fn attribute(key: &str, value: &str) -> Json {
    json!({"key": key, "value": {"stringValue": value}})
}

/// The OTLP/HTTP JSON body (`ExportTraceServiceRequest`) of `spans`.
pub fn export_request(config: &OtelConfig, spans: &[Span]) -> Json {
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
        assert_ne!(random::<8>(), random::<8>());
    }
}
