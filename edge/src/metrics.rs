//! Prometheus metrics (`GET /v1/metrics`, the text format 0.0.4) with Hasura Enterprise's
//! metric names where it has them.
//!
//! One registry per process (per isolate on the edge hosts): [`global`]. The edge counts
//! GraphQL requests (by operation type and outcome) and their execution time, HTTP bytes
//! and `@cached` lookups; the native process adds HTTP connections, event-trigger, cron and
//! one-off deliveries and its Postgres pools ([`Metrics::render`] takes those gauges).
//!
//! Access: with `HASURA_GRAPHQL_METRICS_SECRET`, `Authorization: Bearer <secret>` (Hasura's);
//! without one, the admin (when an admin secret is set), like the other operational APIs. The
//! `metrics` API can be switched off with `HASURA_GRAPHQL_ENABLED_APIS`.
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;

/// `hasura_graphql_execution_time_seconds` buckets (Hasura's).
const TIME_BUCKETS: [f64; 7] = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0];

/// GraphQL operation types, as Hasura labels them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationType {
    Query = 0,
    Mutation = 1,
    Subscription = 2,
    Unknown = 3,
}

const OPERATION_TYPES: [&str; 4] = ["query", "mutation", "subscription", "unknown"];

/// A delivery's outcome (`status` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success = 0,
    Failed = 1,
}

const STATUSES: [&str; 2] = ["success", "failed"];

/// A Prometheus histogram of seconds (per shard; summed when rendered).
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; TIME_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe_micros(&self, micros: u64) {
        let secs = micros as f64 / 1e6;
        for (i, le) in TIME_BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// Renders the sum of `parts` as one histogram.
fn render_histogram(out: &mut String, name: &str, labels: &str, parts: &[&Histogram]) {
    let total = |f: &dyn Fn(&Histogram) -> &AtomicU64| -> u64 {
        parts.iter().map(|h| f(h).load(Ordering::Relaxed)).sum()
    };
    for (i, le) in TIME_BUCKETS.iter().enumerate() {
        let n = total(&|h| &h.buckets[i]);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{le}\"}} {n}");
    }
    let count = total(&|h| &h.count);
    let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {count}");
    let sum = total(&|h| &h.sum_micros) as f64 / 1e6;
    let bare = labels.trim_end_matches(',');
    let _ = writeln!(out, "{name}_sum{{{bare}}} {sum}");
    let _ = writeln!(out, "{name}_count{{{bare}}} {count}");
}

/// The per-request counters of one shard. Each HTTP thread counts into its own shard (a cache
/// line of its own), so threads never contend on a counter; a scrape sums the shards.
#[derive(Default)]
#[repr(align(128))]
struct Shard {
    /// `hasura_graphql_requests_total{operation_type, response_status}`.
    graphql_requests: [[AtomicU64; 2]; 4],
    /// `hasura_graphql_execution_time_seconds{operation_type}` (query, mutation).
    graphql_time: [Histogram; 2],
    /// `hasura_http_request_bytes_total`, `hasura_http_response_bytes_total`.
    request_bytes: AtomicU64,
    response_bytes: AtomicU64,
    /// `hasura_cache_request_count{status}`: hit, miss.
    cache_requests: [AtomicU64; 2],
}

const SHARDS: usize = 16;

/// This thread's shard.
fn shard_index() -> usize {
    use std::sync::atomic::AtomicUsize;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    INDEX.with(|i| *i)
}

/// Every counter of the process.
#[derive(Default)]
pub struct Metrics {
    shards: [Shard; SHARDS],
    /// `hasura_http_connections` (set by the native server).
    pub http_connections: AtomicI64,
    /// `hasura_event_invocations_total{status}`, `hasura_event_processed_total{status}`.
    event_invocations: [AtomicU64; 2],
    event_processed: [AtomicU64; 2],
    /// `hasura_cron_events_invocation_total{status}`, `..._processed_total{status}`.
    cron_invocations: [AtomicU64; 2],
    cron_processed: [AtomicU64; 2],
    /// `hasura_oneoff_events_invocation_total{status}`, `..._processed_total{status}`.
    oneoff_invocations: [AtomicU64; 2],
    oneoff_processed: [AtomicU64; 2],
}

/// Which scheduled deliveries a count is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Event,
    Cron,
    OneOff,
}

/// The process's registry.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

/// A gauge the host reports at render time (e.g. a pool's connections).
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    /// `(labels, value)`; labels as `k="v",…` (values escaped by [`label`]).
    pub samples: Vec<(String, f64)>,
}

/// `name="value"` with the value escaped as the text format requires.
pub fn label(name: &str, value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("{name}=\"{escaped}\"")
}

impl Metrics {
    /// One GraphQL request: its type, whether it succeeded and (when the host has a clock)
    /// how long it took.
    fn shard(&self) -> &Shard {
        &self.shards[shard_index()]
    }

    /// The sum over the shards of one counter.
    fn total(&self, f: impl Fn(&Shard) -> &AtomicU64) -> u64 {
        self.shards
            .iter()
            .map(|s| f(s).load(Ordering::Relaxed))
            .sum()
    }

    pub fn graphql_request(&self, ty: OperationType, ok: bool, micros: Option<u64>) {
        let shard = self.shard();
        shard.graphql_requests[ty as usize][usize::from(!ok)].fetch_add(1, Ordering::Relaxed);
        if let (Some(m), OperationType::Query | OperationType::Mutation) = (micros, ty) {
            shard.graphql_time[ty as usize].observe_micros(m);
        }
    }

    pub fn http_bytes(&self, request: usize, response: usize) {
        let shard = self.shard();
        shard
            .request_bytes
            .fetch_add(request as u64, Ordering::Relaxed);
        shard
            .response_bytes
            .fetch_add(response as u64, Ordering::Relaxed);
    }

    pub fn cache_lookup(&self, hit: bool) {
        self.shard().cache_requests[usize::from(!hit)].fetch_add(1, Ordering::Relaxed);
    }

    /// One delivery attempt of an event, cron or one-off event; `done`: the event will not be
    /// tried again (delivered, or out of retries).
    pub fn delivery(&self, what: Delivery, status: Status, done: bool) {
        let (tries, processed) = match what {
            Delivery::Event => (&self.event_invocations, &self.event_processed),
            Delivery::Cron => (&self.cron_invocations, &self.cron_processed),
            Delivery::OneOff => (&self.oneoff_invocations, &self.oneoff_processed),
        };
        tries[status as usize].fetch_add(1, Ordering::Relaxed);
        if done {
            processed[status as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The text exposition of every metric, then the host's `gauges`.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let mut out = String::with_capacity(4096);
        header(
            &mut out,
            "hasura_graphql_requests_total",
            "counter",
            "GraphQL requests received, by operation type and outcome",
        );
        for (t, name) in OPERATION_TYPES.iter().enumerate() {
            for (s, status) in ["success", "failed"].iter().enumerate() {
                let n = self.total(|sh| &sh.graphql_requests[t][s]);
                let _ = writeln!(
                    out,
                    "hasura_graphql_requests_total{{operation_type=\"{name}\",response_status=\"{status}\"}} {n}"
                );
            }
        }
        header(
            &mut out,
            "hasura_graphql_execution_time_seconds",
            "histogram",
            "Execution time of GraphQL queries and mutations",
        );
        for (t, ty) in OPERATION_TYPES.iter().take(2).enumerate() {
            let parts: Vec<&Histogram> = self.shards.iter().map(|s| &s.graphql_time[t]).collect();
            let labels = format!("operation_type=\"{ty}\",");
            render_histogram(
                &mut out,
                "hasura_graphql_execution_time_seconds",
                &labels,
                &parts,
            );
        }
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            header(out, name, "counter", help);
            let _ = writeln!(out, "{name} {v}");
        };
        counter(
            &mut out,
            "hasura_http_request_bytes_total",
            "Bytes received in HTTP request bodies",
            self.total(|s| &s.request_bytes),
        );
        counter(
            &mut out,
            "hasura_http_response_bytes_total",
            "Bytes sent in HTTP response bodies",
            self.total(|s| &s.response_bytes),
        );
        header(
            &mut out,
            "hasura_http_connections",
            "gauge",
            "Open HTTP connections",
        );
        let _ = writeln!(
            out,
            "hasura_http_connections {}",
            self.http_connections.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "hasura_cache_request_count",
            "counter",
            "Lookups of @cached answers, by outcome",
        );
        for (i, status) in ["hit", "miss"].iter().enumerate() {
            let n = self.total(|s| &s.cache_requests[i]);
            let _ = writeln!(out, "hasura_cache_request_count{{status=\"{status}\"}} {n}");
        }
        let by_status = |out: &mut String, name: &str, help: &str, v: &[AtomicU64; 2]| {
            header(out, name, "counter", help);
            for (i, status) in STATUSES.iter().enumerate() {
                let n = v[i].load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}{{status=\"{status}\"}} {n}");
            }
        };
        by_status(
            &mut out,
            "hasura_event_invocations_total",
            "Event trigger deliveries attempted",
            &self.event_invocations,
        );
        by_status(
            &mut out,
            "hasura_event_processed_total",
            "Event trigger events finished (delivered, or out of retries)",
            &self.event_processed,
        );
        by_status(
            &mut out,
            "hasura_cron_events_invocation_total",
            "Cron event deliveries attempted",
            &self.cron_invocations,
        );
        by_status(
            &mut out,
            "hasura_cron_events_processed_total",
            "Cron events finished",
            &self.cron_processed,
        );
        by_status(
            &mut out,
            "hasura_oneoff_events_invocation_total",
            "One-off scheduled event deliveries attempted",
            &self.oneoff_invocations,
        );
        by_status(
            &mut out,
            "hasura_oneoff_events_processed_total",
            "One-off scheduled events finished",
            &self.oneoff_processed,
        );
        // A host that serves subscriptions reports them as a gauge of its own.
        if !gauges
            .iter()
            .any(|g| g.name == "hasura_active_subscriptions")
        {
            header(
                &mut out,
                "hasura_active_subscriptions",
                "gauge",
                "Active subscriptions (this host serves none)",
            );
            out.push_str("hasura_active_subscriptions 0\n");
        }
        for g in gauges {
            header(&mut out, g.name, "gauge", g.help);
            for (labels, v) in &g.samples {
                if labels.is_empty() {
                    let _ = writeln!(out, "{} {v}", g.name);
                } else {
                    let _ = writeln!(out, "{}{{{labels}}} {v}", g.name);
                }
            }
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_in_the_text_format() {
        let m = Metrics::default();
        m.graphql_request(OperationType::Query, true, Some(20_000));
        m.graphql_request(OperationType::Query, false, Some(5_000));
        m.graphql_request(OperationType::Unknown, false, None);
        m.http_bytes(10, 200);
        m.delivery(Delivery::Cron, Status::Failed, false);
        m.delivery(Delivery::Cron, Status::Success, true);
        let text = m.render(&[Gauge {
            name: "hasura_postgres_connections",
            help: "Open connections",
            samples: vec![(label("source_name", "de\"fault"), 3.0)],
        }]);
        for line in [
            "hasura_graphql_requests_total{operation_type=\"query\",response_status=\"success\"} 1",
            "hasura_graphql_requests_total{operation_type=\"query\",response_status=\"failed\"} 1",
            "hasura_graphql_requests_total{operation_type=\"unknown\",response_status=\"failed\"} 1",
            "hasura_graphql_execution_time_seconds_bucket{operation_type=\"query\",le=\"0.01\"} 1",
            "hasura_graphql_execution_time_seconds_bucket{operation_type=\"query\",le=\"0.03\"} 2",
            "hasura_graphql_execution_time_seconds_bucket{operation_type=\"query\",le=\"+Inf\"} 2",
            "hasura_graphql_execution_time_seconds_sum{operation_type=\"query\"} 0.025",
            "hasura_graphql_execution_time_seconds_count{operation_type=\"mutation\"} 0",
            "hasura_http_request_bytes_total 10",
            "hasura_cron_events_invocation_total{status=\"failed\"} 1",
            "hasura_cron_events_processed_total{status=\"success\"} 1",
            "hasura_cron_events_processed_total{status=\"failed\"} 0",
            "hasura_postgres_connections{source_name=\"de\\\"fault\"} 3",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
