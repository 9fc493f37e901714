//! OpenTelemetry traces of the HTTP requests, exported over OTLP/HTTP while the metadata's
//! `opentelemetry` section says so. The spans and the export request are the edge's
//! (`graphedge_edge::otel`); here the ids are drawn, and spans go through a bounded queue (a
//! full queue drops spans, never blocks a request) to one exporter thread, which posts batches
//! of at most `batch_span_processor.max_export_batch_size` at least every second.
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graphedge_edge::otel::{self, RequestSpan, Span, TraceContext};
use graphedge_edge::reqlog::SpanRecord;
use graphedge_metadata::api::opentelemetry::OtelConfig;

/// Spans waiting for the exporter; more are dropped.
const QUEUE: usize = 8192;
/// Longest wait before a partial batch is sent.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

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

/// The wall clock in unix nanoseconds.
pub fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// A random id for a span or a trace.
pub fn random_u64() -> u64 {
    u64::from_le_bytes(random::<8>())
}

/// The context of a request that came with `traceparent`.
pub fn begin(traceparent: Option<&str>) -> TraceContext {
    TraceContext::begin(traceparent, &mut random_u64)
}

/// Queues the request's span and its children (`records`) for export under `config`.
pub fn record(config: &std::sync::Arc<OtelConfig>, span: &RequestSpan<'_>, records: &[SpanRecord]) {
    let spans = otel::request_spans(&span, records, &mut random_u64);
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
    let count = spans.len();
    let Some(req) = otel::export_request(config, &spans, &|var| std::env::var(var).ok()) else {
        return;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ() {
        assert_ne!(random::<8>(), random::<8>());
    }
}
