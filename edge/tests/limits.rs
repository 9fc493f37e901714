//! API limits through `handle`: metadata `api_limits` per role / global / disabled, the admin
//! exemption, and the engine's own bounds. One table of cases and one `check()`; rate and time
//! limits (which need a clock) have their own sequences.
mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use common::*;
use graphedge_edge::md::{Database, DbError, Rows, SqlResult, Statement};
use graphedge_edge::{handle, Clock, Config, Engine};
use serde_json::{json, Value as Json};

/// A clock the test moves by hand; its timers fire at once.
#[derive(Default)]
struct TestClock {
    ms: AtomicU64,
}

impl Clock for TestClock {
    fn now_unix(&self) -> i64 {
        (self.ms.load(Ordering::SeqCst) / 1000) as i64
    }
    fn monotonic_micros(&self) -> Option<u64> {
        Some(self.ms.load(Ordering::SeqCst) * 1000)
    }
    fn sleep(&self, _: Duration) -> Option<Pin<Box<dyn Future<Output = ()> + Send>>> {
        Some(Box::pin(std::future::ready(())))
    }
}

/// A database whose answers take one turn of the executor (so a timer that is already due wins).
struct SlowDb;

struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

impl Database for SlowDb {
    async fn query_one(&self, _: &Statement) -> Result<Option<String>, DbError> {
        YieldOnce(false).await;
        Ok(Some("{\"ok\":1}".into()))
    }
    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        YieldOnce(false).await;
        Ok(stmts.iter().map(|_| Rows::default()).collect())
    }
    async fn run_sql(&self, _: &str) -> Result<Vec<SqlResult>, DbError> {
        Ok(vec![SqlResult::Command])
    }
}

fn engine_with(api_limits: Json, config: Config) -> Engine {
    let mut md = json!({"version": 3, "sources": []});
    if !api_limits.is_null() {
        md["api_limits"] = api_limits;
    }
    Engine::from_state(config, state_with(md)).with_compiler(fake_compile)
}

/// The error code of the answer to `body` sent as `role` (`ok` when it has data; one code per
/// element for batches answered with an array).
fn outcome(
    engine: &Engine,
    db: &impl Database,
    role: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> String {
    let mut h = vec![("x-hasura-role", role)];
    h.extend_from_slice(headers);
    if !headers.iter().any(|(k, _)| *k == "x-hasura-user-id") {
        h.push(("x-hasura-user-id", "1"));
    }
    let r = block_on(handle(engine, db, req("POST", "/v1/graphql", &h, body)));
    assert_eq!(r.status, 200);
    let code = |v: &Json| match v["errors"][0]["extensions"]["code"].as_str() {
        Some(c) => format!("{c}: {}", v["errors"][0]["message"].as_str().unwrap_or("")),
        None => "ok".to_string(),
    };
    match body_json(&r) {
        Json::Array(items) => items.iter().map(code).collect::<Vec<_>>().join(" | "),
        v => code(&v),
    }
}

const DEPTH_3: &str = "query { a { b { c { d } } } }";
const DEPTH_2_NODES_3: &str = "query { a { b { c } } x { y } }";
const INTROSPECTION: &str = "query { __schema { types { fields { type { name } } } } }";

fn batch(n: usize) -> String {
    Json::Array(
        (0..n)
            .map(|_| json!({"query": "query { a { b } }"}))
            .collect(),
    )
    .to_string()
}

#[test]
fn limits_per_role_global_disabled_and_admin() {
    let limits = json!({
        "depth_limit": {"global": 2, "per_role": {"deep": 5}},
        "node_limit": {"global": 2, "per_role": {"wide": 10, "deep": 10}},
        "batch_limit": {"global": 2, "per_role": {"batcher": 5}}
    });
    let q = |query: &str| gql(query);
    let cases: Vec<(Json, &str, String, &str)> = vec![
        // depth: global, per-role override, admin exempt, introspection exempt.
        (
            limits.clone(),
            "user",
            q(DEPTH_3),
            "depth-limit-exceeded: depth limit of 2 exceeded",
        ),
        (limits.clone(), "deep", q(DEPTH_3), "ok"),
        (limits.clone(), "admin", q(DEPTH_3), "ok"),
        // Introspection is exempt from depth limits only (Hasura), not from node limits.
        (limits.clone(), "wide", q(INTROSPECTION), "ok"),
        (
            limits.clone(),
            "user",
            q(INTROSPECTION),
            "node-limit-exceeded: node limit of 2 exceeded",
        ),
        // nodes: 3 fields with selection sets.
        (
            limits.clone(),
            "user",
            q(DEPTH_2_NODES_3),
            "node-limit-exceeded: node limit of 2 exceeded",
        ),
        (limits.clone(), "wide", q(DEPTH_2_NODES_3), "ok"),
        // batch: only arrays count; per role; admin exempt.
        (limits.clone(), "user", batch(2), "ok | ok"),
        (
            limits.clone(),
            "user",
            batch(3),
            "batch-limit-exceeded: batch limit of 2 exceeded",
        ),
        (
            limits.clone(),
            "batcher",
            batch(5),
            "ok | ok | ok | ok | ok",
        ),
        (limits.clone(), "admin", batch(3), "ok | ok | ok"),
        // disabled: nothing applies; no metadata: nothing applies.
        (
            json!({"disabled": true, "depth_limit": {"global": 1}}),
            "user",
            q(DEPTH_3),
            "ok",
        ),
        (Json::Null, "user", q(DEPTH_3), "ok"),
        (json!({"disabled": false}), "user", batch(3), "ok | ok | ok"),
    ];
    for (limits, role, body, want) in cases {
        let e = engine_with(limits.clone(), Config::new());
        assert_eq!(
            outcome(&e, &FakeDb::default(), role, &[], &body),
            want,
            "{limits} {role} {body}"
        );
    }
}

#[test]
fn engine_bounds_apply_without_metadata() {
    let mut config = Config::new();
    config.limits.max_fields = 4;
    config.limits.max_aliases = 1;
    config.limits.max_variable_values = 3;
    config.limits.max_batch = 2;
    let vars = |v: Json| json!({"query": "query { a { b } }", "variables": v}).to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        ("user", gql("query { a { b c d } }"), "ok"),
        (
            "user",
            gql("query { a { b c d e } }"),
            "validation-failed: the operation selects 5 fields, more than the limit of 4",
        ),
        (
            "user",
            gql("query { x: a { b } y: a { b } }"),
            "validation-failed: the operation has 2 aliases, more than the limit of 1",
        ),
        ("user", vars(json!({"id": [1, 2]})), "ok"),
        (
            "user",
            vars(json!({"id": [1, 2, 3]})),
            "validation-failed: the variables hold more than 3 values",
        ),
        (
            "user",
            batch(3),
            "validation-failed: a batch of 3 operations is more than the limit of 2",
        ),
        // The admin role is exempt.
        ("admin", gql("query { x: a { b } y: a { b c d e } }"), "ok"),
        ("admin", vars(json!({"id": [1, 2, 3]})), "ok"),
        ("admin", batch(3), "ok | ok | ok"),
    ];
    let e = engine_with(Json::Null, config);
    for (role, body, want) in cases {
        assert_eq!(
            outcome(&e, &FakeDb::default(), role, &[], &body),
            want,
            "{role} {body}"
        );
    }
}

#[test]
fn a_cached_plan_is_not_measured_again() {
    let e = engine_with(json!({"depth_limit": {"global": 1}}), Config::new());
    let db = FakeDb::default();
    let shallow = gql("query { a { b } }");
    assert_eq!(outcome(&e, &db, "user", &[], &shallow), "ok");
    assert_eq!(outcome(&e, &db, "user", &[], &shallow), "ok");
    assert_eq!(e.compile_count(), 1);
    // A rejected document is never cached: it is rejected every time.
    for _ in 0..2 {
        assert!(outcome(&e, &db, "user", &[], &gql(DEPTH_3)).starts_with("depth-limit-exceeded"));
    }
    assert_eq!(e.compile_count(), 1);
}

#[test]
fn rate_limits_per_role_ip_and_session_variables() {
    let clock = Arc::new(TestClock::default());
    let e = engine_with(
        json!({"rate_limit": {
            "global": {"max_reqs_per_min": 2, "unique_params": "IP"},
            "per_role": {"member": {"max_reqs_per_min": 1, "unique_params": ["x-hasura-user-id"]},
                         "plain": {"max_reqs_per_min": 1}}}}),
        Config::new(),
    )
    .with_clock(clock.clone());
    let db = FakeDb::default();
    let body = gql("query { a { b } }");
    let ip = |a: &'static str| [("x-forwarded-for", a)];
    let run = |role: &str, headers: &[(&str, &str)]| outcome(&e, &db, role, headers, &body);
    let limited = |n: u64| format!("rate-limit-exceeded: rate limit of {n} exceeded");
    // Per IP (global): two per minute from 1.1.1.1, then refused; 2.2.2.2 has its own count.
    assert_eq!(run("user", &ip("1.1.1.1")), "ok");
    assert_eq!(run("user", &ip("1.1.1.1")), "ok");
    assert_eq!(run("user", &ip("1.1.1.1")), limited(2));
    assert_eq!(run("user", &ip("2.2.2.2")), "ok");
    // Another role from the same IP is counted apart.
    assert_eq!(run("guest", &ip("1.1.1.1")), "ok");
    // Per session variable.
    let user = |id: &'static str| [("x-hasura-user-id", id)];
    assert_eq!(run("member", &user("1")), "ok");
    assert_eq!(run("member", &user("1")), limited(1));
    assert_eq!(run("member", &user("2")), "ok");
    // No unique_params: the role alone.
    assert_eq!(run("plain", &ip("1.1.1.1")), "ok");
    assert_eq!(run("plain", &ip("3.3.3.3")), limited(1));
    // Admin is never counted; a batch counts each of its operations.
    for _ in 0..5 {
        assert_eq!(outcome(&e, &db, "admin", &[], &body), "ok");
    }
    assert_eq!(
        outcome(&e, &db, "user", &ip("4.4.4.4"), &batch(3)),
        limited(2)
    );
    // Two minutes later the window has moved on.
    clock.ms.store(120_000, Ordering::SeqCst);
    assert_eq!(run("user", &ip("1.1.1.1")), "ok");
    assert_eq!(run("member", &user("1")), "ok");
}

#[test]
fn time_limits_drop_the_database_call() {
    let clock = Arc::new(TestClock::default());
    let slow = |limits: Json, limit: Option<u64>| {
        let mut config = Config::new();
        config.limits.time_limit = limit.map(Duration::from_secs);
        engine_with(limits, config).with_clock(clock.clone())
    };
    let body = gql("query { a { b } }");
    let mutation = gql("mutation { a { b } }");
    let md = json!({"time_limit": {"global": 2.5, "per_role": {"patient": 30}}});
    let cases: Vec<(Engine, &str, &String, &str)> = vec![
        (
            slow(md.clone(), Some(60)),
            "user",
            &body,
            "time-limit-exceeded: time limit of 2.5s exceeded",
        ),
        (
            slow(md.clone(), Some(60)),
            "user",
            &mutation,
            "time-limit-exceeded: time limit of 2.5s exceeded",
        ),
        // The engine's own limit is the lower one: Hasura Cloud's tenant limit code.
        (
            slow(md.clone(), Some(10)),
            "patient",
            &body,
            "tenant-time-limit-exceeded: time limit of 10s exceeded",
        ),
        (
            slow(Json::Null, Some(60)),
            "user",
            &body,
            "tenant-time-limit-exceeded: time limit of 60s exceeded",
        ),
        (
            slow(md.clone(), None),
            "patient",
            &body,
            "time-limit-exceeded: time limit of 30s exceeded",
        ),
        // No limit at all, or admin: the call runs to its end.
        (slow(Json::Null, None), "user", &body, "ok"),
        (slow(md.clone(), Some(60)), "admin", &body, "ok"),
        (
            slow(json!({"disabled": true, "time_limit": {"global": 1}}), None),
            "user",
            &body,
            "ok",
        ),
    ];
    for (e, role, body, want) in cases {
        assert_eq!(outcome(&e, &SlowDb, role, &[], body), want, "{role} {body}");
    }
}
