//! JSON log lines on stdout, batched.
//!
//! Every request writes one `http` line, so the cost of a line matters: a channel to a writer
//! thread (tracing-appender) costs a wake-up, and often a `write` and some spinning, per line.
//! Here a line is appended to a shared buffer under a mutex, nothing more; a flusher thread
//! writes the buffer out every [`FLUSH_INTERVAL`] (one `write` for all the lines of that
//! interval), or as soon as it holds [`FLUSH_AT`] bytes (the writer that crosses it wakes the
//! flusher, once), so under load the `write`s stay off the request threads. The buffer is
//! bounded: a writer that finds it above [`MAX_BUFFERED`] (the flusher cannot keep up) writes
//! it out itself (back-pressure instead of unbounded memory when stdout is slow). Lines are never
//! split or interleaved: the formatter hands over whole lines. Dropping the [`LogGuard`]
//! flushes what is left.
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use graphedge_edge::reqlog::{HttpInfo, Level, LogSettings, RequestLog};
use serde_json::Value as Json;

/// How long a line may wait in the buffer.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// At this many buffered bytes the flusher is woken before its interval is up.
pub const FLUSH_AT: usize = 256 << 10;
/// Above this many buffered bytes the logging thread writes the buffer out itself.
pub const MAX_BUFFERED: usize = 4 << 20;

struct Shared {
    buf: Mutex<Vec<u8>>,
    /// Serialises writes to the sink, so batches keep their order.
    sink: Mutex<Box<dyn Write + Send>>,
    stop: Mutex<bool>,
    wake: Condvar,
    /// The flusher was woken for a full buffer and has not flushed since.
    woken: AtomicBool,
}

impl Shared {
    fn flush(&self) {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        let batch = std::mem::take(&mut *self.buf.lock().unwrap_or_else(|e| e.into_inner()));
        self.woken.store(false, Ordering::Relaxed);
        if !batch.is_empty() {
            // Nothing sensible to do when stdout is gone; the lines are dropped.
            let _ = sink.write_all(&batch);
            let _ = sink.flush();
        }
    }
}

/// The `MakeWriter` handed to tracing-subscriber.
#[derive(Clone)]
pub struct BatchWriter(Arc<Shared>);

/// Flushes and stops the flusher thread when dropped.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        *self.shared.stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.shared.flush();
    }
}

/// A batching writer over `sink`, and the guard that owns its flusher thread.
pub fn batch_writer(sink: Box<dyn Write + Send>) -> (BatchWriter, LogGuard) {
    let shared = Arc::new(Shared {
        buf: Mutex::new(Vec::with_capacity(64 * 1024)),
        sink: Mutex::new(sink),
        stop: Mutex::new(false),
        wake: Condvar::new(),
        woken: AtomicBool::new(false),
    });
    let flusher = shared.clone();
    let thread = std::thread::Builder::new()
        .name("log-flush".into())
        .spawn(move || loop {
            let mut stop = flusher.stop.lock().unwrap_or_else(|e| e.into_inner());
            // A wake-up sent while it was writing is not waited for again.
            if !flusher.woken.load(Ordering::Relaxed) {
                stop = flusher
                    .wake
                    .wait_timeout(stop, FLUSH_INTERVAL)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            let stopping = *stop;
            drop(stop);
            flusher.flush();
            if stopping {
                break;
            }
        })
        .ok();
    (BatchWriter(shared.clone()), LogGuard { shared, thread })
}

impl Write for BatchWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let len = {
            let mut buf = self.0.buf.lock().unwrap_or_else(|e| e.into_inner());
            buf.extend_from_slice(data);
            buf.len()
        };
        if len > MAX_BUFFERED {
            self.0.flush();
        } else if len >= FLUSH_AT && !self.0.woken.swap(true, Ordering::Relaxed) {
            self.0.wake.notify_one();
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Lines go out with the next batch; an explicit flush per line is what this avoids.
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Where the Hasura lines are written (set by [`init`]).
static SINK: std::sync::OnceLock<BatchWriter> = std::sync::OnceLock::new();
/// What is logged (set by [`init`] from the environment).
static SETTINGS: std::sync::OnceLock<LogSettings> = std::sync::OnceLock::new();

fn settings() -> &'static LogSettings {
    SETTINGS
        .get_or_init(|| LogSettings::from_env(&|k: &str| std::env::var(k).ok()).unwrap_or_default())
}

/// Sets what is logged from the engine's configuration (flags included); the first call wins.
/// Before it, the environment's settings apply.
pub fn configure(settings: &LogSettings) {
    let _ = SETTINGS.set(settings.clone());
}

/// One line of Hasura's envelope (see [`graphedge_edge::reqlog::envelope`]), with its newline.
fn line(level: &str, ty: &str, detail: &str, now: std::time::SystemTime) -> String {
    let ms = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut out = graphedge_edge::reqlog::envelope(level, ty, detail, ms);
    out.push('\n');
    out
}

/// Writes a line of log type `ty` when that type is enabled and `level` passes the log level.
fn emit(level: &str, ty: &str, detail: &Json) {
    emit_text(level, ty, &detail.to_string());
}

/// [`emit`] with `detail` as JSON text.
fn emit_text(level: &str, ty: &str, detail: &str) {
    let s = settings();
    if !s.enabled(ty) || Level::parse(level) < s.level {
        return;
    }
    write_line(line(level, ty, detail, std::time::SystemTime::now()));
}

fn write_line(text: String) {
    match SINK.get() {
        Some(sink) => {
            let _ = sink.clone().write_all(text.as_bytes());
        }
        // Not initialised by `init` (tests with their own subscriber): through tracing.
        None => tracing::info!(target: "http", line = text.trim_end()),
    }
}

/// Logs a served request: Hasura's `http-log` line, then a `query-log` line per statement
/// (each when its type is enabled, `HASURA_GRAPHQL_ENABLED_LOG_TYPES`).
pub fn request(log: &RequestLog, info: &HttpInfo<'_>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    for mut text in log.lines(settings(), info, now) {
        text.push('\n');
        write_line(text);
    }
}

/// Hasura's `jwk-refresh-log` line for one fetch of a `jwk_url` JWK set.
pub fn jwk_refresh(url: &str, result: &Result<graphedge_edge::http::HttpResponse, String>) {
    let (level, detail) = match result {
        Ok(r) if (200..300).contains(&r.status) => (
            "info",
            serde_json::json!({"message": format!("refreshed the JWK set from {url}"), "http_error": null}),
        ),
        Ok(r) => (
            "error",
            serde_json::json!({"message": null, "http_error": {
                "url": url, "status_code": r.status, "http_exception": null,
                "response": String::from_utf8_lossy(&r.body),
            }}),
        ),
        Err(e) => (
            "error",
            serde_json::json!({"message": null, "http_error": {
                "url": url, "status_code": null, "http_exception": e, "response": null,
            }}),
        ),
    };
    emit(level, "jwk-refresh-log", &detail);
}

/// Hasura's `websocket-log` line: `event` (`{"type": "accepted" | "rejected" | "closed" |
/// "jwt_expired" | "operation", "detail"?}`), the socket's `connection_info` and the session's
/// variables once it has one.
pub fn websocket(
    event: Json,
    websocket_id: &str,
    jwt_expiry: Option<i64>,
    session: Option<&graphedge_core::Session>,
) {
    if !settings().enabled("websocket-log") {
        return;
    }
    let user_vars = session.map(|s| {
        let mut vars = serde_json::Map::new();
        vars.insert("x-hasura-role".into(), Json::String(s.role.clone()));
        for (k, v) in &s.vars {
            vars.insert(k.clone(), Json::String(v.clone()));
        }
        Json::Object(vars)
    });
    let expiry = jwt_expiry.map(|e| {
        let c = graphedge_metadata::cron::Civil::from_unix(e);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    });
    let detail = serde_json::json!({
        "event": event,
        "connection_info": {"websocket_id": websocket_id, "jwt_expiry": expiry, "msg": null},
        "user_vars": user_vars,
    });
    emit("info", "websocket-log", &detail);
}

/// Hasura's internal `ws-server` line (debug level; internal types are not subject to
/// `HASURA_GRAPHQL_ENABLED_LOG_TYPES`): a websocket event, with the operation it concerns.
pub fn ws_server(websocket_id: &str, event: &str, operation: Option<(&str, Option<&str>)>) {
    if Level::Debug < settings().level {
        return;
    }
    let metadata =
        operation.map(|(id, name)| serde_json::json!({"operation_id": id, "operation_name": name}));
    let detail = serde_json::json!({
        "websocket_id": websocket_id,
        "event": {"type": event},
        "metadata": metadata,
    });
    write_line(line(
        "debug",
        "ws-server",
        &detail.to_string(),
        std::time::SystemTime::now(),
    ));
}

/// The `startup` line of kind `server_configuration` (Hasura's keys; values graphedge has).
pub fn startup_configuration(config: &graphedge_edge::Config, addr: std::net::SocketAddr) {
    let ops = &config.ops;
    let detail = serde_json::json!({
        "kind": "server_configuration",
        "info": {
            "port": addr.port(),
            "server_host": addr.ip().to_string(),
            "admin_secret_set": config.auth_enabled(),
            "auth_hook": config.auth_hook.as_ref().map(|h| h.url.clone()),
            "auth_hook_mode": config.auth_hook.as_ref().map(|h| if h.post { "POST" } else { "GET" }),
            "jwt_secret": ops.jwt_info,
            "unauth_role": config.unauthorized_role,
            "cors_config": ops.cors.describe(),
            "enable_console": config.enable_console,
            "console_assets_dir": ops.console_assets_dir,
            "enable_telemetry": false,
            "use_prepared_statements": true,
            "stringify_numeric_types": config.stringify_numeric,
            "enabled_apis": ops.apis.names(),
            "live_query_options": {"batch_size": ops.live_queries.0, "refetch_delay": ops.live_queries.1 as f64 / 1000.0},
            "streaming_query_options": {"batch_size": ops.streaming_queries.0, "refetch_delay": ops.streaming_queries.1 as f64 / 1000.0},
            "enable_allowlist": config.enable_allowlist,
            "enabled_log_types": ops.log.types,
            "log_level": ops.log.level.as_str(),
            "dev_mode": config.dev_mode,
            "infer_function_permissions": config.infer_function_permissions,
            "default_naming_convention": ops.naming_convention,
            "experimental_features": ops.experimental_features,
            "enable_metadata_query_logging": ops.log.metadata_query_logging,
        }
    });
    emit("info", "startup", &detail);
}

/// Hasura's log type of the engine's own events (`tracing`), by target.
fn type_of(target: &str) -> &'static str {
    if target.contains("events") {
        "event-trigger"
    } else if target.contains("scheduled") {
        "scheduled-trigger"
    } else if target.contains("metadata_sync") {
        "schema-sync"
    } else {
        "unstructured"
    }
}

/// Writes `tracing` events as Hasura's envelope: `detail` holds the message, the fields and
/// the target. Always written (Hasura's internal log types are not filtered by
/// `HASURA_GRAPHQL_ENABLED_LOG_TYPES`); the level filter is `RUST_LOG`, else
/// `HASURA_GRAPHQL_LOG_LEVEL` for graphedge's own events and `info` for libraries.
struct HasuraLayer(BatchWriter);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for HasuraLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let meta = event.metadata();
        let mut fields = Fields(serde_json::Map::new());
        event.record(&mut fields);
        let mut detail = fields.0;
        detail.insert("target".into(), Json::from(meta.target()));
        let level = match *meta.level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warn",
            tracing::Level::INFO => "info",
            _ => "debug",
        };
        let text = line(
            level,
            type_of(meta.target()),
            &Json::Object(detail).to_string(),
            std::time::SystemTime::now(),
        );
        let _ = self.0.clone().write_all(text.as_bytes());
    }
}

/// A `tracing` field visitor collecting JSON values.
struct Fields(serde_json::Map<String, Json>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), Json::from(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.0.insert(field.name().into(), Json::from(value));
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().into(), Json::from(value));
    }
}

/// Hasura's JSON log lines on stdout. `HASURA_GRAPHQL_ENABLED_LOG_TYPES`,
/// `HASURA_GRAPHQL_LOG_LEVEL` and `HASURA_GRAPHQL_ENABLE_METADATA_QUERY_LOGGING` are read from
/// the environment (invalid values fall back to the defaults here; the engine's start-up
/// refuses them). `RUST_LOG` overrides the filter of the engine's own events. Keep the guard
/// alive: dropping it flushes the remaining lines.
pub fn init() -> LogGuard {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let settings = LogSettings::from_env(&|k: &str| std::env::var(k).ok()).unwrap_or_default();
    let own = match settings.level {
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    };
    let default_filter = if settings.level == Level::Debug {
        "info,graphedge=debug,graphedge_scheduler=debug,graphedge_edge=debug".to_string()
    } else {
        own.to_string()
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let (writer, guard) = batch_writer(Box::new(std::io::stdout()));
    let _ = SINK.set(writer.clone());
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(HasuraLayer(writer))
        .try_init();
    guard
}

/// A fresh request id (a random UUID v4 text) for requests without `x-request-id`: 128 bits
/// from the process's randomly keyed SipHash over a counter, no system call per request.
pub fn request_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let keys = KEYS.get_or_init(std::collections::hash_map::RandomState::new);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let half = |salt: u64| {
        let mut h = keys.build_hasher();
        h.write_u64(n);
        h.write_u64(salt);
        h.finish()
    };
    let (a, b) = (half(1), half(2));
    let a = (a & !0xf000) | 0x4000; // version 4
    let b = (b & !(0xc000 << 48)) | (0x8000 << 48); // variant 10
                                                    // `xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx`: the 16 bytes of `a` and `b` in hex, written by
                                                    // hand (per request: `format!` with five padded fields cost more than the hashing).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for nibble in 0..32 {
        if matches!(nibble, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        let word = if nibble < 16 { a } else { b };
        let shift = 60 - 4 * (nibble % 16);
        out.push(HEX[((word >> shift) & 0xf) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read back.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_whole_in_order_and_the_guard_flushes() {
        let sink = Sink::default();
        let (writer, guard) = batch_writer(Box::new(sink.clone()));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        w.write_all(format!("{t} {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2000);
        for t in 0..4 {
            let mine: Vec<usize> = lines
                .iter()
                .filter_map(|l| l.strip_prefix(&format!("{t} ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..500).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_flusher_writes_without_a_guard_drop() {
        let sink = Sink::default();
        let (mut writer, _guard) = batch_writer(Box::new(sink.clone()));
        writer.write_all(b"hello\n").unwrap();
        std::thread::sleep(FLUSH_INTERVAL * 5);
        assert_eq!(&*sink.0.lock().unwrap(), b"hello\n");
    }

    #[test]
    fn lines_have_hasuras_envelope() {
        let at = std::time::UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        let text = line(
            "info",
            "http-log",
            &serde_json::json!({"a": "\"\n"}).to_string(),
            at,
        );
        assert!(
            text.ends_with("}\n") && text.matches('\n').count() == 1,
            "{text}"
        );
        let v: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"timestamp": "2023-11-14T22:13:20.123+0000", "level": "info",
                "type": "http-log", "detail": {"a": "\"\n"}})
        );
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| request_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| {
            let b = id.as_bytes();
            let dashes = [8, 13, 18, 23].iter().all(|&i| b[i] == b'-');
            let hex = b.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-');
            id.len() == 36 && dashes && hex && b[14] == b'4' && b"89ab".contains(&b[19])
        }));
    }

    #[test]
    fn a_full_buffer_is_written_by_the_writer() {
        let sink = Sink::default();
        let (mut writer, _guard) = batch_writer(Box::new(sink.clone()));
        let big = vec![b'x'; MAX_BUFFERED + 1];
        writer.write_all(&big).unwrap();
        assert_eq!(sink.0.lock().unwrap().len(), MAX_BUFFERED + 1);
    }
}
