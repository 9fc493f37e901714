//! Structure-aware fuzzer of parse + compile + bind (`grammar/`), against the Chinook-like bench
//! schema and the `graphedge dev` demo schema with permissions, for several roles.
//!
//! * `corpus_replays`: every document of `tests/fuzz-corpus/` (`*.graphql`, or `*.json`
//!   request bodies with `query`/`operationName`/`variables`) on both schemas, every role
//!   (`GRAPHEDGE_FUZZ_ONLY=<part of a file name>` replays only the matching files).
//! * `grammar_fuzz`: proptest over generated requests for `GRAPHEDGE_FUZZ_SECS` seconds
//!   (default 10; CI runs 120 in release), in batches whose failures are shrunk and persisted in
//!   `tests/fuzz_grammar.proptest-regressions` (replayed first by every batch).
//!
//! Both run on a thread with a 1 MiB stack (`GRAPHEDGE_FUZZ_STACK_KB`), a Cloudflare
//! Worker's: a stack overflow aborts the test process, which fails the run. Before each case
//! its request is written to `fuzz-inflight-{corpus,grammar}.json` in cargo's test temp dir
//! (`target/tmp`), so the case that aborted (stack overflow, out of memory) is on disk; a case
//! that runs longer than `GRAPHEDGE_FUZZ_HANG_SECS` (default 60) fails the test as a hang.
//! Prints the executions and failures found.
mod common;
mod grammar;

use grammar::schemas::{chinook_schema, demo_schema};
use grammar::{generate, Case};
use graphedge_core::{compile, Options, Request, Schema, Session, Value};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestError, TestRunner};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz-corpus");
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fuzz_grammar.proptest-regressions"
);
/// Where each test writes its running case (`<test>` in the name).
const INFLIGHT: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/fuzz-inflight-<test>.json");

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A schema and the sessions each case compiles for.
struct Target {
    name: &'static str,
    schema: Schema,
    sessions: Vec<Session>,
}

fn session(role: &str, vars: &[(&str, &str)]) -> Session {
    Session {
        role: role.into(),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn targets() -> Vec<Target> {
    let uid = |id| session("user", &[("x-hasura-user-id", id)]);
    vec![
        Target {
            name: "chinook",
            schema: chinook_schema(),
            sessions: vec![Session::admin(), uid("1"), uid("abc"), session("user", &[])],
        },
        Target {
            name: "demo",
            schema: demo_schema(),
            sessions: vec![
                Session::admin(),
                uid("1"),
                session("editor", &[("x-hasura-user-id", "7")]),
                session("anonymous", &[]),
            ],
        },
    ]
}

/// What the fuzzer counts.
#[derive(Default)]
struct Stats {
    cases: AtomicU64,
    compiles: AtomicU64,
    plans: AtomicU64,
}

/// Where the running case is visible to the watchdog and, on disk, after an abort.
struct Inflight {
    /// The file and the length of its meaningful content.
    file: Mutex<(std::fs::File, usize)>,
    current: Mutex<Option<(Instant, String)>>,
}

impl Inflight {
    fn new(test: &str) -> Inflight {
        let path = INFLIGHT.replace("<test>", test);
        Inflight {
            file: Mutex::new((std::fs::File::create(path).expect("the in-flight file"), 0)),
            current: Mutex::new(None),
        }
    }

    fn start(&self, target: &str, case: &Case) {
        let text = request_json(target, case);
        // Overwritten in place, the rest of a longer previous case blanked: JSON allows
        // trailing spaces, and truncating the file each time costs more than the case.
        if let Ok(mut guard) = self.file.lock() {
            let (file, len) = &mut *guard;
            let _ = file.write_all_at(text.as_bytes(), 0);
            if *len > text.len() {
                let _ = file.write_all_at(&vec![b' '; *len - text.len()], text.len() as u64);
            }
            *len = text.len();
        }
        *self.current.lock().unwrap() = Some((Instant::now(), text));
    }

    fn end(&self) {
        *self.current.lock().unwrap() = None;
    }
}

fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Boolean(b) => J::Bool(*b),
        Value::Number(n) => serde_json::from_str(n).unwrap_or_else(|_| J::String(n.clone())),
        Value::String(s) | Value::Enum(s) | Value::Variable(s) => J::String(s.clone()),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Object(o) => J::Object(o.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

fn from_json(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Boolean(*b),
        J::Number(n) => Value::Number(n.to_string()),
        J::String(s) => Value::String(s.clone()),
        J::Array(l) => Value::List(l.iter().map(from_json).collect()),
        J::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

/// The case as a `/v1/graphql` body (+ the schema it was generated for): a corpus file.
fn request_json(target: &str, case: &Case) -> String {
    let variables: serde_json::Map<_, _> = case
        .variables
        .iter()
        .map(|(k, v)| (k.clone(), to_json(v)))
        .collect();
    serde_json::json!({
        "schema": target,
        "query": case.query,
        "operationName": case.operation_name,
        "variables": variables,
    })
    .to_string()
}

/// Compiles and binds `case` for every session of `target` (with one option set chosen by
/// `flags`); panics propagate.
fn execute(target: &Target, case: &Case, flags: u8, stats: &Stats) {
    let req = Request {
        query: &case.query,
        operation_name: case.operation_name.as_deref(),
        variables: &case.variables,
    };
    let opts = Options {
        stringify_numeric: flags & 1 != 0,
        relay: flags & 2 != 0,
        infer_function_permissions: flags & 4 == 0,
        ..Default::default()
    };
    stats.cases.fetch_add(1, Relaxed);
    for session in &target.sessions {
        stats.compiles.fetch_add(1, Relaxed);
        if let Ok(plan) = compile(&target.schema, session, &req, &opts) {
            stats.plans.fetch_add(1, Relaxed);
            for i in 0..plan.steps.len() {
                let _ = plan.bind_step(i, &case.variables, session);
            }
            let _ = plan.bind(&case.variables, session);
        }
    }
}

/// Runs `work` on a thread with the fuzzer's stack while the calling thread watches for hangs.
fn with_watchdog(inflight: Arc<Inflight>, work: impl FnOnce() + Send + 'static) {
    let stack = env_num("GRAPHEDGE_FUZZ_STACK_KB", 1024) as usize * 1024;
    let hang = Duration::from_secs(env_num("GRAPHEDGE_FUZZ_HANG_SECS", 60));
    let worker = std::thread::Builder::new()
        .name("fuzz".into())
        .stack_size(stack)
        .spawn(work)
        .expect("spawn the fuzz thread");
    while !worker.is_finished() {
        std::thread::sleep(Duration::from_millis(200));
        if let Some((since, text)) = &*inflight.current.lock().unwrap() {
            if since.elapsed() > hang {
                panic!("a case ran longer than {hang:?} (a hang):\n{text}");
            }
        }
    }
    if let Err(e) = worker.join() {
        std::panic::resume_unwind(e);
    }
}

/// The corpus' requests (those whose file name contains `GRAPHEDGE_FUZZ_ONLY` when set; a
/// `schema` key in a JSON file is informational: every file runs on both schemas).
fn corpus() -> Vec<Case> {
    let mut out = vec![];
    let mut entries: Vec<_> = std::fs::read_dir(CORPUS)
        .expect("the fuzz corpus directory")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if std::env::var("GRAPHEDGE_FUZZ_ONLY").is_ok_and(|only| !name.contains(&only)) {
            continue;
        }
        let case = match path.extension().and_then(|e| e.to_str()) {
            Some("graphql") => Case {
                query: text,
                operation_name: None,
                variables: vec![],
            },
            Some("json") => {
                let body: serde_json::Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
                let variables = match body.get("variables") {
                    Some(serde_json::Value::Object(m)) => {
                        m.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()
                    }
                    _ => vec![],
                };
                Case {
                    query: body["query"].as_str().unwrap_or_default().to_string(),
                    operation_name: body["operationName"].as_str().map(str::to_string),
                    variables,
                }
            }
            _ => continue,
        };
        out.push(case);
    }
    out
}

#[test]
fn corpus_replays() {
    let inflight = Arc::new(Inflight::new("corpus"));
    let watched = inflight.clone();
    with_watchdog(inflight, move || {
        let (targets, stats, corpus) = (targets(), Stats::default(), corpus());
        assert!(!corpus.is_empty(), "the corpus is missing");
        for case in &corpus {
            for target in &targets {
                watched.start(target.name, case);
                for flags in [0, 3] {
                    execute(target, case, flags, &stats);
                }
                watched.end();
            }
        }
        println!(
            "fuzz corpus: {} documents, {} compilations, {} plans",
            corpus.len(),
            stats.compiles.load(Relaxed),
            stats.plans.load(Relaxed)
        );
    });
}

/// One proptest value: the target, the option flags and the generator's tape.
fn case_strategy() -> impl Strategy<Value = (usize, u8, Vec<u32>)> {
    (
        0..2usize,
        any::<u8>(),
        prop::collection::vec(any::<u32>(), 0..1500),
    )
}

#[test]
fn grammar_fuzz() {
    let secs = env_num("GRAPHEDGE_FUZZ_SECS", 10);
    let inflight = Arc::new(Inflight::new("grammar"));
    let watched = inflight.clone();
    with_watchdog(inflight, move || {
        let (targets, stats) = (targets(), Stats::default());
        let deadline = Instant::now() + Duration::from_secs(secs);
        let started = Instant::now();
        let mut failures = vec![];
        let mut batches = 0;
        // The first failure ends the run (it is persisted, so later batches would replay it).
        while Instant::now() < deadline && failures.is_empty() {
            batches += 1;
            let config = Config {
                cases: 256,
                failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
                max_shrink_iters: 100_000,
                max_shrink_time: 120_000,
                ..Config::default()
            };
            let mut runner = TestRunner::new(config);
            let result = runner.run(&case_strategy(), |(t, flags, tape)| {
                let target = &targets[t];
                let case = generate(&target.schema, flags & 2 != 0, &tape);
                watched.start(target.name, &case);
                execute(target, &case, flags, &stats);
                watched.end();
                Ok(())
            });
            match result {
                Ok(()) => {}
                Err(TestError::Fail(why, (t, flags, tape))) => {
                    let case = generate(&targets[t].schema, flags & 2 != 0, &tape);
                    failures.push(format!("{why}\n{}", request_json(targets[t].name, &case)));
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "fuzz: {} cases ({} compilations, {} plans) in {elapsed:.1} s = {:.0} cases/s, {batches} batches, {} failures",
            stats.cases.load(Relaxed),
            stats.compiles.load(Relaxed),
            stats.plans.load(Relaxed),
            stats.cases.load(Relaxed) as f64 / elapsed,
            failures.len()
        );
        assert!(failures.is_empty(), "failures:\n{}", failures.join("\n\n"));
    });
}
