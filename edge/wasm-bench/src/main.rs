//! Per-request CPU time of the engine for the five ../shared/bench queries (the Chinook
//! fixtures of `edge/benches/`), through the full request path `graphedge_edge::handle`
//! (`POST /v1/graphql`: auth, parse, validate, compile or plan-cache hit, bind, respond).
//!
//! The database is an in-process [`Database`] answering every statement with a fixed small JSON
//! text, so only the engine is measured, not Postgres or the transport. Runs natively
//! (`cargo run --release`) and as a `wasm32-wasip2` command under wasmtime
//! (scripts/bench-wasm.sh builds and runs both). Everything is embedded: no filesystem.
//!
//! - cold: the first request on a fresh `Engine` (plan-cache miss: parse → SQL → bind);
//! - warm: the same request again (plan-cache hit: lookup → bind).
//!
//! Each figure is the mean and the median over many timed requests, in µs.
//! Arguments: `[cold_iters] [warm_iters]`.
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use graphedge_edge::{handle, Config, Engine, Request};
use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement};
use graphedge_metadata::introspect::Catalog;
use graphedge_metadata::raw::Metadata;
use graphedge_metadata::MetadataState;
use std::sync::Arc;

const METADATA: &str = include_str!("../../benches/fixtures/chinook-metadata.json");
const CATALOG: &str = include_str!("../../benches/fixtures/chinook-catalog.json");
const QUERIES: [(&str, &str, &str); 5] = [
    (
        "q1",
        include_str!("../../benches/fixtures/q1.graphql"),
        include_str!("../../benches/fixtures/q1.vars.json"),
    ),
    (
        "q2",
        include_str!("../../benches/fixtures/q2.graphql"),
        include_str!("../../benches/fixtures/q2.vars.json"),
    ),
    (
        "q3",
        include_str!("../../benches/fixtures/q3.graphql"),
        include_str!("../../benches/fixtures/q3.vars.json"),
    ),
    (
        "q4",
        include_str!("../../benches/fixtures/q4.graphql"),
        include_str!("../../benches/fixtures/q4.vars.json"),
    ),
    (
        "q5",
        include_str!("../../benches/fixtures/q5.graphql"),
        include_str!("../../benches/fixtures/q5.vars.json"),
    ),
];

/// The canned answer of every query: what Postgres' json aggregate would return.
const ANSWER: &str = r#"{"x":1}"#;

/// A database that answers at once, without I/O.
struct Canned;

impl Database for Canned {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        black_box(stmt);
        Ok(Some(ANSWER.to_string()))
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        Ok(vec![Rows::default(); stmts.len()])
    }

    async fn run_sql(&self, _sql: &str) -> Result<Vec<SqlResult>, DbError> {
        Ok(Vec::new())
    }
}

/// Polls a future that completes without waiting (the canned database never pends).
fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// The metadata state the engine serves: the fixtures resolved as `edge/benches/compile.rs` does.
fn state() -> MetadataState {
    let md_json: serde_json::Value = serde_json::from_str(METADATA).expect("metadata json");
    let metadata = Metadata::from_json(&md_json, &serde_json::json!({})).expect("metadata");
    let catalog: Catalog = serde_json::from_str(CATALOG).expect("catalog json");
    let (schema, inconsistencies) =
        graphedge_metadata::resolve::resolve(&metadata, &catalog, &Default::default());
    assert!(inconsistencies.is_empty(), "{inconsistencies:?}");
    MetadataState {
        metadata,
        schema: Arc::new(schema),
        inconsistencies,
        resource_version: 1,
        catalog: Arc::new(catalog),
    }
}

fn request(query: &str, vars: &str) -> Request {
    let vars: serde_json::Value = serde_json::from_str(vars).expect("vars json");
    let body = serde_json::json!({ "query": query, "variables": vars });
    Request {
        method: "POST".into(),
        path: "/v1/graphql".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&body).expect("body"),
    }
}

fn engine(state: &MetadataState) -> Engine {
    let mut config = Config::new();
    config.stringify_numeric = true;
    Engine::from_state(config, state.clone())
}

/// Sends `req` once and checks the answer is the canned data.
fn send(engine: &Engine, req: &Request) {
    let resp = run(handle(engine, &Canned, req.clone()));
    if resp.status != 200 || !resp.body.ends_with(format!("{ANSWER}}}").as_bytes()) {
        panic!(
            "unexpected answer {}: {}",
            resp.status,
            String::from_utf8_lossy(&resp.body)
        );
    }
    black_box(resp);
}

/// Mean and median of the samples (ns), in µs. The median is what to quote on a busy machine:
/// preempted iterations inflate the mean.
fn stats(samples: &mut [u64]) -> (f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0);
    }
    samples.sort_unstable();
    let mean = samples.iter().sum::<u64>() as f64 / samples.len() as f64;
    (mean / 1000.0, samples[samples.len() / 2] as f64 / 1000.0)
}

fn arg(i: usize, default: u32) -> u32 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let cold_iters = arg(1, 1000);
    let warm_iters = arg(2, 5000);
    let state = state();
    let target = if cfg!(target_arch = "wasm32") {
        "wasm32"
    } else {
        "native"
    };
    println!("engine time per request in µs ({target}; {cold_iters} cold / {warm_iters} warm)");
    println!(
        "{:<6} {:>10} {:>10} {:>10} {:>10}",
        "query", "cold mean", "cold med", "warm mean", "warm med"
    );
    for (name, query, vars) in QUERIES {
        let req = request(query, vars);
        // Warm-up (allocator, caches); also checks the answer once.
        for _ in 0..10 {
            send(&engine(&state), &req);
        }
        // Cold: a fresh engine per iteration, built outside the timed region. Only the request
        // (moved into `handle` as a host does) is timed.
        let mut cold = Vec::with_capacity(cold_iters as usize);
        for _ in 0..cold_iters {
            let e = engine(&state);
            let r = req.clone();
            let t = Instant::now();
            black_box(run(handle(&e, &Canned, r)));
            cold.push(t.elapsed().as_nanos() as u64);
        }
        // Warm: one engine whose plan cache already holds the query.
        let e = engine(&state);
        send(&e, &req);
        let mut warm = Vec::with_capacity(warm_iters as usize);
        for _ in 0..warm_iters {
            let r = req.clone();
            let t = Instant::now();
            black_box(run(handle(&e, &Canned, r)));
            warm.push(t.elapsed().as_nanos() as u64);
        }
        let (hits, misses) = e.cache_stats();
        assert_eq!(
            misses, 1,
            "warm requests missed the plan cache ({hits} hits)"
        );
        let (cold_mean, cold_median) = stats(&mut cold);
        let (warm_mean, warm_median) = stats(&mut warm);
        println!(
            "{name:<6} {cold_mean:>10.1} {cold_median:>10.1} {warm_mean:>10.1} {warm_median:>10.1}"
        );
    }
}
