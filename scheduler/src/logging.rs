//! JSON log lines on stdout, batched.
//!
//! Every request writes one `http` line, so the cost of a line matters: a channel to a writer
//! thread (tracing-appender) costs a wake-up, and often a `write` and some spinning, per line.
//! Here a line is appended to a shared buffer under a mutex, nothing more; a flusher thread
//! writes the buffer out every [`FLUSH_INTERVAL`] (one `write` for all the lines of that
//! interval). The buffer is bounded: a writer that finds it above [`MAX_BUFFERED`] writes it
//! out itself (back-pressure instead of unbounded memory when stdout is slow). Lines are never
//! split or interleaved: the formatter hands over whole lines. Dropping the [`LogGuard`]
//! flushes what is left.
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long a line may wait in the buffer.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Above this many buffered bytes the logging thread writes the buffer out itself.
pub const MAX_BUFFERED: usize = 1 << 20;

struct Shared {
    buf: Mutex<Vec<u8>>,
    /// Serialises writes to the sink, so batches keep their order.
    sink: Mutex<Box<dyn Write + Send>>,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn flush(&self) {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        let batch = std::mem::take(&mut *self.buf.lock().unwrap_or_else(|e| e.into_inner()));
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
    });
    let flusher = shared.clone();
    let thread = std::thread::Builder::new()
        .name("log-flush".into())
        .spawn(move || loop {
            let stop = flusher.stop.lock().unwrap_or_else(|e| e.into_inner());
            let (stop, _) = flusher
                .wake
                .wait_timeout(stop, FLUSH_INTERVAL)
                .unwrap_or_else(|e| e.into_inner());
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
        let full = {
            let mut buf = self.0.buf.lock().unwrap_or_else(|e| e.into_inner());
            buf.extend_from_slice(data);
            buf.len() > MAX_BUFFERED
        };
        if full {
            self.0.flush();
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

/// Where [`http`] writes its lines directly (set by [`init`]).
static HTTP_SINK: std::sync::OnceLock<BatchWriter> = std::sync::OnceLock::new();

/// One served request.
pub struct HttpLog<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration: Duration,
    pub peer: std::net::IpAddr,
}

/// Logs a served request: the `http` target at INFO, the same JSON line tracing's formatter
/// writes (`timestamp`, `level`, `method`, `path`, `status`, `duration_ms`, `peer`, `target`),
/// formatted here in one pass because it is written for every request.
pub fn http(r: &HttpLog<'_>) {
    if !tracing::enabled!(target: "http", tracing::Level::INFO) {
        return;
    }
    let duration_ms = (r.duration.as_secs_f64() * 1e6).round() / 1e3;
    let Some(sink) = HTTP_SINK.get() else {
        // Not initialised by `init` (tests with their own subscriber): through tracing.
        tracing::info!(
            target: "http",
            method = r.method,
            path = r.path,
            status = r.status,
            duration_ms,
            peer = %r.peer,
        );
        return;
    };
    let line = http_line(r, duration_ms, std::time::SystemTime::now());
    let _ = sink.clone().write_all(line.as_bytes());
}

fn http_line(r: &HttpLog<'_>, duration_ms: f64, now: std::time::SystemTime) -> String {
    use std::fmt::Write as _;
    let since = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let c = graphedge_metadata::cron::Civil::from_unix(since.as_secs() as i64);
    let mut line = String::with_capacity(192 + r.path.len());
    let _ = write!(
        line,
        "{{\"timestamp\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z\",\"level\":\"INFO\",\"method\":{},\"path\":{},\"status\":{},\"duration_ms\":{},\"peer\":\"{}\",\"target\":\"http\"}}",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        since.subsec_micros(),
        serde_json::Value::from(r.method),
        serde_json::Value::from(r.path),
        r.status,
        serde_json::Value::from(duration_ms),
        r.peer,
    );
    line.push('\n');
    line
}

/// JSON lines on stdout; `RUST_LOG` overrides the `info` default. Keep the guard alive:
/// dropping it flushes the remaining lines.
pub fn init() -> LogGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = batch_writer(Box::new(std::io::stdout()));
    let _ = HTTP_SINK.set(writer.clone());
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(filter)
        .try_init();
    guard
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
    fn the_http_line_is_json_with_tracings_fields() {
        let r = HttpLog {
            method: "POST",
            path: "/v1/graphql?x=\"\\\n",
            status: 200,
            duration: Duration::from_micros(1234),
            peer: "127.0.0.1".parse().unwrap(),
        };
        let at = std::time::UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        let line = http_line(&r, 1.234, at);
        assert!(
            line.ends_with("}\n") && line.matches('\n').count() == 1,
            "{line}"
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"timestamp": "2023-11-14T22:13:20.123456Z", "level": "INFO",
                "method": "POST", "path": "/v1/graphql?x=\"\\\n", "status": 200,
                "duration_ms": 1.234, "peer": "127.0.0.1", "target": "http"})
        );
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
