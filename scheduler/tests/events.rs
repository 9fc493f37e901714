//! Event triggers end to end: a throwaway Postgres, `graphedge serve` for the metadata API
//! (its own delivery loop switched off), `graphedge scheduler` processes doing the delivery, and
//! a real HTTP receiver (hyper) recording every webhook call.
//!
//! * `hasura_behaviour` — payload shape, session variables, column-filtered updates, manual
//!   invoke, headers and webhook from the environment, request transforms, the log operations,
//!   export shape, delete and the legacy `/v1/query` name.
//! * `malformed_definitions_install_nothing` — clear errors, no Postgres trigger left behind.
//! * `retries_and_failures` — 500 / timeout / down / Retry-After: attempts, spacing, final state.
//! * `crash_burst_and_two_schedulers` — two processes share work without double delivery;
//!   `kill -9` during a 10,000-event burst loses nothing.
//! * `postgres_restart_and_graceful_shutdown` — reconnects; SIGTERM returns claimed events.
//!   (More on shutdown: `tests/shutdown.rs`.)
//! * `bench_deliveries` (ignored; `scripts/bench-events.sh`) — deliveries/s and write latency.
mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{database, free_port, http_stub, Server, StubRequest, StubResponse};
use graphedge_scheduler::pgtemp::TempPostgres;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// The webhook receiver

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    method: String,
    /// Path and query.
    path: String,
    headers: HashMap<String, String>,
    body: Value,
    at: Instant,
}

/// A [`http_stub`] (hyper on a tokio listener: a real listen backlog) on its own runtime. Paths
/// decide the answer: `/fail` 500, `/slow` answers after 3 s, `/held` answers once the test
/// [`opens`](Receiver::open) it, `/retry-after` 503 with `Retry-After: 2` on the first call then
/// 200, else 200. `/burst` calls are only counted per event id (a burst is tens of thousands of
/// calls: the receiver must stay cheap under load, and so must the test's polling).
struct Receiver {
    base: String,
    log: Arc<Mutex<Log>>,
    held: Arc<tokio::sync::watch::Sender<bool>>,
    _rt: tokio::runtime::Runtime,
}

#[derive(Default)]
struct Log {
    hits: Vec<Hit>,
    /// Calls per path (path and query).
    per_path: HashMap<String, usize>,
    /// `/burst` calls per `event.data.new.id`.
    burst: HashMap<i64, usize>,
    /// When the last id not seen before came in.
    last_new_burst: Option<Instant>,
    /// `/held` calls not answered yet.
    held_now: usize,
}

impl Receiver {
    fn start() -> Receiver {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let log: Arc<Mutex<Log>> = Arc::default();
        let held = Arc::new(tokio::sync::watch::channel(false).0);
        let (l, h) = (log.clone(), held.clone());
        let base = rt.block_on(http_stub(move |req| handle(l.clone(), h.subscribe(), req)));
        Receiver {
            base,
            log,
            held,
            _rt: rt,
        }
    }

    /// Hits whose path starts with `prefix` (`/burst` calls are not kept).
    fn hits(&self, prefix: &str) -> Vec<Hit> {
        let log = self.log.lock().unwrap();
        log.hits
            .iter()
            .filter(|h| h.path.starts_with(prefix))
            .cloned()
            .collect()
    }

    fn count(&self, prefix: &str) -> usize {
        let log = self.log.lock().unwrap();
        log.per_path
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// Ids delivered to `/burst`, with how often each came, and when the last new one came.
    fn burst(&self) -> (HashMap<i64, usize>, Option<Instant>) {
        let log = self.log.lock().unwrap();
        (log.burst.clone(), log.last_new_burst)
    }

    fn distinct_burst_ids(&self) -> usize {
        self.log.lock().unwrap().burst.len()
    }

    /// `/held` calls waiting for their answer.
    fn held_now(&self) -> usize {
        self.log.lock().unwrap().held_now
    }

    /// From now on `/held` calls are answered (also those waiting).
    fn open(&self) {
        self.held.send_replace(true);
    }
}

async fn handle(
    log: Arc<Mutex<Log>>,
    mut open: tokio::sync::watch::Receiver<bool>,
    req: StubRequest,
) -> StubResponse {
    let path = req.path.clone();
    let earlier = {
        let mut log = log.lock().unwrap();
        let n = log.per_path.entry(path.clone()).or_insert(0);
        *n += 1;
        let earlier = *n - 1;
        if path == "/burst" {
            let id = req.json()["event"]["data"]["new"]["id"].as_i64().unwrap();
            let seen = log.burst.entry(id).or_insert(0);
            *seen += 1;
            if *seen == 1 {
                log.last_new_burst = Some(Instant::now());
            }
        } else {
            log.hits.push(Hit {
                body: req.json(),
                method: req.method,
                path: req.path,
                headers: req.headers,
                at: Instant::now(),
            });
        }
        earlier
    };
    let ok = b"{\"ok\":true}".as_slice();
    if path.starts_with("/fail") {
        StubResponse::new(500, ok)
    } else if path.starts_with("/slow") {
        tokio::time::sleep(Duration::from_secs(3)).await;
        StubResponse::new(200, ok)
    } else if path.starts_with("/held") {
        /// Counts a waiting call, also one the sender gives up on (its future is dropped).
        struct Waiting(Arc<Mutex<Log>>);
        impl Drop for Waiting {
            fn drop(&mut self) {
                self.0.lock().unwrap().held_now -= 1;
            }
        }
        log.lock().unwrap().held_now += 1;
        let _waiting = Waiting(log.clone());
        let _ = open.wait_for(|open| *open).await;
        StubResponse::new(200, ok)
    } else if path.starts_with("/retry-after") && earlier == 0 {
        StubResponse::new(503, ok).header("retry-after", "2")
    } else {
        StubResponse::new(200, ok)
    }
}

// ---------------------------------------------------------------------------------------------
// Processes and helpers

/// A `graphedge scheduler` process (killed on drop).
struct Scheduler {
    child: Child,
}

impl Scheduler {
    /// Fast polling, a 2 s lease and a 1 s shutdown grace unless `env` overrides them.
    fn start(db_url: &str, env: &[(&str, &str)]) -> Scheduler {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_graphedge"));
        cmd.args(["scheduler", "--database-url", db_url])
            .env("HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL", "50")
            .env("GRAPHEDGE_EVENTS_LOCK_LEASE_SECONDS", "2")
            .env("HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Scheduler {
            child: cmd.spawn().expect("spawn graphedge scheduler"),
        }
    }

    fn kill9(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// SIGTERM; the exit status (within 20 s).
    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "scheduler ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Postgres, a metadata server (no background loops) and a receiver.
fn setup(sql: &str) -> (TempPostgres, String, Server, Receiver) {
    let (pg, url) = database();
    let server = Server::start_with(&url, &["--enable-background=false"]);
    server.run_sql(sql);
    (pg, url, server, Receiver::start())
}

fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn metadata(server: &Server, body: Value) -> (u16, Value) {
    server.post_json("/v1/metadata", body)
}

/// `pg_create_event_trigger` with `args`; the status and response.
fn create_trigger(server: &Server, args: Value) -> (u16, Value) {
    metadata(
        server,
        json!({"type": "pg_create_event_trigger", "args": args}),
    )
}

/// One scalar of a `run_sql` query.
fn scalar(server: &Server, sql: &str) -> Value {
    server.run_sql(sql)[0][0].clone()
}

fn count(server: &Server, sql: &str) -> i64 {
    scalar(server, sql).as_str().unwrap().parse().unwrap()
}

/// A count through `psql` (independent of the server's pool, e.g. after a Postgres restart).
fn psql_count(pg: &TempPostgres, sql: &str) -> i64 {
    let out = pg.psql("graphedge", sql).unwrap();
    out.lines().nth(2).unwrap().trim().parse().unwrap()
}

/// Postgres triggers we installed.
fn installed(server: &Server) -> i64 {
    count(
        server,
        "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'graphedge\\_%' AND NOT tgisinternal",
    )
}

// ---------------------------------------------------------------------------------------------
// Hasura's documented behaviour

#[test]
fn hasura_behaviour() {
    let (_pg, url, server, recv) =
        setup("CREATE TABLE t (id int PRIMARY KEY, name text, note text)");
    server.track("t");
    let (s, r) = create_trigger(
        &server,
        json!({"name": "t_all", "table": "t", "webhook_from_env": "HOOK_URL",
            "insert": {"columns": "*"}, "update": {"columns": ["name"]}, "delete": {"columns": "*"},
            "enable_manual": true,
            "headers": [{"name": "X-Static", "value": "s1"}, {"name": "X-Env", "value_from_env": "HOOK_SECRET"}],
            "retry_conf": {"num_retries": 0, "interval_sec": 1, "timeout_sec": 5}}),
    );
    assert_eq!(s, 200, "{r}");
    let (s, r) = create_trigger(
        &server,
        json!({"name": "t_transform", "table": {"schema": "public", "name": "t"},
            "webhook": format!("{}/transformed", recv.base), "insert": {"columns": "*"},
            "request_transform": {"version": 2, "template_engine": "Kriti", "method": "PUT",
                "url": "{{$base_url}}/x", "query_params": {"id": "{{$body.event.data.new.id}}"},
                "request_headers": {"add_headers": {"foo": "bar"}, "remove_headers": ["user-agent"]},
                "body": {"action": "transform",
                    "template": "{\"id\": {{$body.event.data.new.id}}, \"op\": {{$body.event.op}}}"}}}),
    );
    assert_eq!(s, 200, "{r}");
    // A `{{VAR}}` template in `webhook`, resolved from the environment at delivery.
    let (s, r) = create_trigger(
        &server,
        json!({"name": "t_template", "table": "t", "webhook": "{{HOOK_BASE}}/templated",
            "insert": {"columns": "*"}}),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(installed(&server), 5); // t_all: 3 ops, t_transform and t_template: insert
    let hook = format!("{}/all", recv.base);
    let _sched = Scheduler::start(
        &url,
        &[
            ("HOOK_URL", &hook),
            ("HOOK_SECRET", "sekret"),
            ("HOOK_BASE", &recv.base),
        ],
    );

    let (s, r) = server.graphql(
        &[("x-hasura-role", "admin")],
        r#"mutation { insert_t_one(object: {id: 1, name: "a", note: "n"}) { id } }"#,
    );
    assert_eq!(s, 200, "{r}");
    server.run_sql("UPDATE t SET note = 'm' WHERE id = 1"); // not a watched column
    server.run_sql("UPDATE t SET name = 'b' WHERE id = 1");
    server.run_sql("DELETE FROM t WHERE id = 1");
    let (s, inv) = metadata(
        &server,
        json!({"type": "pg_invoke_event_trigger", "args": {"name": "t_all", "payload": {"hello": 1}}}),
    );
    assert_eq!(s, 200, "{inv}");
    let manual_id = inv["event_id"].as_str().unwrap().to_string();
    // Every event the changes made is settled (an unexpected one, e.g. for the update of an
    // unwatched column, would be in the log): the receiver has all there will be.
    wait_until("4 + 1 + 1 deliveries", Duration::from_secs(60), || {
        recv.count("/all") >= 4 && recv.count("/transformed") >= 1 && recv.count("/templated") >= 1
    });
    wait_until("every event settled", Duration::from_secs(60), || {
        count(
            &server,
            "SELECT count(*) FROM graphedge.event_log WHERE NOT delivered AND NOT error",
        ) == 0
    });
    let all = recv.hits("/all");
    let ops: Vec<&str> = all
        .iter()
        .map(|h| h.body["event"]["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops.len(), 4, "{ops:?}");
    for op in ["INSERT", "UPDATE", "DELETE", "MANUAL"] {
        assert!(ops.contains(&op), "{ops:?}");
    }
    let by_op = |op: &str| {
        all.iter()
            .find(|h| h.body["event"]["op"] == op)
            .unwrap()
            .clone()
    };

    let ins = by_op("INSERT");
    let keys: Vec<&String> = ins.body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "event",
            "created_at",
            "id",
            "delivery_info",
            "trigger",
            "table"
        ]
    );
    assert_eq!(
        ins.body["event"]["data"],
        json!({"old": null, "new": {"id": 1, "name": "a", "note": "n"}})
    );
    assert_eq!(
        ins.body["event"]["session_variables"]["x-hasura-role"],
        "admin"
    );
    assert!(ins.body["event"]["trace_context"].is_object());
    assert_eq!(
        ins.body["delivery_info"],
        json!({"max_retries": 0, "current_retry": 0})
    );
    assert_eq!(ins.body["trigger"], json!({"name": "t_all"}));
    assert_eq!(ins.body["table"], json!({"schema": "public", "name": "t"}));
    assert!(ins.body["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(ins.method, "POST");
    assert_eq!(ins.headers["x-static"], "s1");
    assert_eq!(ins.headers["x-env"], "sekret");
    assert_eq!(ins.headers["content-type"], "application/json");
    assert!(ins.headers["user-agent"].starts_with("graphedge/"));

    let upd = by_op("UPDATE");
    assert_eq!(upd.body["event"]["data"]["old"]["name"], "a");
    assert_eq!(upd.body["event"]["data"]["new"]["name"], "b");
    assert_eq!(upd.body["event"]["session_variables"], Value::Null); // run_sql sets none
    let del = by_op("DELETE");
    assert_eq!(del.body["event"]["data"]["new"], Value::Null);
    let man = by_op("MANUAL");
    assert_eq!(
        man.body["event"]["data"],
        json!({"old": null, "new": {"hello": 1}})
    );
    assert_eq!(man.body["id"], manual_id.as_str());

    let tr = &recv.hits("/transformed")[0];
    assert_eq!(tr.method, "PUT");
    assert_eq!(tr.path, "/transformed/x?id=1");
    // A transform may remove the default headers.
    assert_eq!(tr.headers["foo"], "bar");
    assert!(!tr.headers.contains_key("user-agent"), "{:?}", tr.headers);
    assert_eq!(tr.body, json!({"id": 1, "op": "INSERT"}));

    // The log operations.
    wait_until("recorded", Duration::from_secs(60), || {
        count(
            &server,
            "SELECT count(*) FROM graphedge.event_log WHERE delivered",
        ) == 6 // t_all: 3 + 1 manual; t_transform, t_template: 1 each
    });
    let (s, logs) = metadata(
        &server,
        json!({"type": "pg_get_event_logs", "args": {"name": "t_all"}}),
    );
    assert_eq!(s, 200, "{logs}");
    let logs = logs.as_array().unwrap();
    assert_eq!(logs.len(), 4);
    assert!(logs
        .iter()
        .all(|e| e["delivered"] == true && e["tries"] == 1));
    for k in [
        "id",
        "schema_name",
        "table_name",
        "trigger_name",
        "payload",
        "delivered",
        "error",
        "tries",
        "created_at",
        "locked",
        "next_retry_at",
        "archived",
    ] {
        assert!(logs[0].get(k).is_some(), "{k} in {}", logs[0]);
    }
    let (_, pending) = metadata(
        &server,
        json!({"type": "pg_get_event_logs", "args": {"name": "t_all", "status": "pending"}}),
    );
    assert_eq!(pending, json!([]));
    let (s, invs) = metadata(
        &server,
        json!({"type": "pg_get_event_invocation_logs", "args": {"name": "t_all", "limit": 2}}),
    );
    assert_eq!(s, 200, "{invs}");
    assert_eq!(invs.as_array().unwrap().len(), 2);
    assert_eq!(invs[0]["http_status"], 200);
    assert_eq!(invs[0]["response"]["type"], "webhook_response");
    let (s, by_id) = metadata(
        &server,
        json!({"type": "pg_get_event_by_id", "args": {"event_id": manual_id}}),
    );
    assert_eq!(s, 200, "{by_id}");
    assert_eq!(by_id["event"]["id"], manual_id.as_str());
    assert_eq!(by_id["invocations"].as_array().unwrap().len(), 1);
    assert_eq!(
        by_id["invocations"][0]["request"]["payload"]["id"],
        manual_id.as_str()
    );
    // Redeliver: delivered again.
    let (s, r) = metadata(
        &server,
        json!({"type": "pg_redeliver_event", "args": {"event_id": manual_id}}),
    );
    assert_eq!(s, 200, "{r}");
    wait_until("redelivery", Duration::from_secs(60), || {
        recv.count("/all") == 5
    });

    // Export: Hasura's shape.
    let (_, md) = metadata(&server, json!({"type": "export_metadata", "args": {}}));
    let triggers = &md["sources"][0]["tables"][0]["event_triggers"];
    assert_eq!(
        triggers[0],
        json!({"name": "t_all", "definition": {"enable_manual": true, "insert": {"columns": "*"},
            "update": {"columns": ["name"]}, "delete": {"columns": "*"}},
            "retry_conf": {"num_retries": 0, "interval_sec": 1, "timeout_sec": 5},
            "webhook_from_env": "HOOK_URL",
            "headers": [{"name": "X-Static", "value": "s1"}, {"name": "X-Env", "value_from_env": "HOOK_SECRET"}]})
    );

    let (s, r) = metadata(
        &server,
        json!({"type": "pg_delete_event_trigger", "args": {"name": "t_template"}}),
    );
    assert_eq!(s, 200, "{r}");

    // Delete removes the Postgres triggers; the legacy name creates on /v1/query.
    let (s, r) = metadata(
        &server,
        json!({"type": "pg_delete_event_trigger", "args": {"name": "t_all"}}),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(installed(&server), 1);
    let (s, r) = metadata(
        &server,
        json!({"type": "pg_delete_event_trigger", "args": {"name": "t_all"}}),
    );
    assert_eq!((s, r["code"].as_str()), (400, Some("not-exists")), "{r}");
    let (s, r) = server.post_json(
        "/v1/query",
        json!({"type": "create_event_trigger", "args": {"name": "legacy", "table": "t",
            "webhook": format!("{}/legacy", recv.base), "delete": {"columns": "*"}}}),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(installed(&server), 2);
    // `replace` swaps the definition in place.
    let (s, r) = create_trigger(
        &server,
        json!({"name": "legacy", "table": "t", "replace": true,
        "webhook": format!("{}/legacy", recv.base), "insert": {"columns": "*"}, "delete": {"columns": "*"}}),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(installed(&server), 3);
}

#[test]
fn malformed_definitions_install_nothing() {
    let (_pg, _url, server, recv) = setup("CREATE TABLE m (id int PRIMARY KEY, v text)");
    server.track("m");
    let hook = format!("{}/m", recv.base);
    // (arguments, error code, error path)
    let cases = [
        (
            json!({"name": "x", "table": "m", "webhook": "not a url", "insert": {"columns": "*"}}),
            "parse-failed",
            "$.args.webhook",
        ),
        (
            json!({"name": "bad name!", "table": "m", "webhook": hook, "insert": {"columns": "*"}}),
            "parse-failed",
            "$.args.name",
        ),
        (
            json!({"name": "x", "table": "m", "webhook": hook, "update": {"columns": ["nope"]}}),
            "not-exists",
            "$.args.update.columns",
        ),
        (
            json!({"name": "x", "table": "nope", "webhook": hook, "insert": {"columns": "*"}}),
            "not-exists",
            "$.args.table",
        ),
        (
            json!({"name": "x", "table": "m", "insert": {"columns": "*"}}),
            "parse-failed",
            "$.args",
        ),
        (
            json!({"name": "x", "table": "m", "webhook": hook, "webhook_from_env": "E", "insert": {"columns": "*"}}),
            "parse-failed",
            "$.args",
        ),
        (
            json!({"name": "x", "table": "m", "webhook": hook, "insert": {"columns": "*"},
            "request_transform": {"body": {"action": "transform", "template": "{{ if $body.x }}1"}}}),
            "parse-failed",
            "$.args.request_transform",
        ),
        (
            json!({"name": "x", "table": "m", "webhook": hook, "insert": {"columns": "*"},
            "headers": [{"name": "X-A"}]}),
            "parse-failed",
            "$.args.headers",
        ),
        (
            json!({"name": "x", "table": "m", "webhook": hook, "insert": {"columns": "*"}, "graphedge_ordering": "sideways"}),
            "parse-failed",
            "$.args.graphedge_ordering",
        ),
    ];
    for (args, code, path) in cases {
        let (s, r) = create_trigger(&server, args.clone());
        assert_eq!(s, 400, "{args} → {r}");
        assert_eq!(r["code"], code, "{args} → {r}");
        assert_eq!(r["path"], path, "{args} → {r}");
        assert!(!r["error"].as_str().unwrap().is_empty());
    }
    assert_eq!(installed(&server), 0);
    let (_, md) = metadata(&server, json!({"type": "export_metadata", "args": {}}));
    assert!(
        md["sources"][0]["tables"][0]
            .get("event_triggers")
            .is_none(),
        "{md}"
    );

    // replace_metadata: a bad trigger fails the whole request; a good one installs; clear drops.
    let mut doc = md.clone();
    doc["sources"][0]["tables"][0]["event_triggers"] = json!([{"name": "ok1", "definition": {"insert": {"columns": "*"}}, "webhook": hook},
               {"name": "bad", "definition": {"update": {"columns": ["nope"]}}, "webhook": hook}]);
    let (s, r) = metadata(&server, json!({"type": "replace_metadata", "args": doc}));
    assert_eq!(s, 400, "{r}");
    assert!(r["error"].as_str().unwrap().contains("nope"), "{r}");
    assert_eq!(installed(&server), 0);
    doc["sources"][0]["tables"][0]["event_triggers"] = json!([{"name": "ok1", "definition": {"enable_manual": false, "insert": {"columns": "*"}},
            "retry_conf": {"num_retries": 0, "interval_sec": 10, "timeout_sec": 60}, "webhook": hook}]);
    let (s, r) = metadata(
        &server,
        json!({"type": "replace_metadata", "args": doc.clone()}),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(installed(&server), 1);
    let (_, md) = metadata(&server, json!({"type": "export_metadata", "args": {}}));
    assert_eq!(md, doc, "export round-trips");
    let (s, _) = metadata(&server, json!({"type": "reload_metadata", "args": {}}));
    assert_eq!(s, 200);
    assert_eq!(installed(&server), 1);
    let (s, _) = metadata(&server, json!({"type": "clear_metadata", "args": {}}));
    assert_eq!(s, 200);
    assert_eq!(installed(&server), 0);
}

#[test]
fn retries_and_failures() {
    let (_pg, url, server, recv) = setup(
        "CREATE TABLE f1 (id int PRIMARY KEY); CREATE TABLE f2 (id int PRIMARY KEY);
         CREATE TABLE f3 (id int PRIMARY KEY); CREATE TABLE f4 (id int PRIMARY KEY);",
    );
    let down = format!("http://127.0.0.1:{}/down", free_port());
    // (table, webhook, retry_conf)
    let cases = [
        (
            "f1",
            format!("{}/fail", recv.base),
            json!({"num_retries": 2, "interval_sec": 1, "timeout_sec": 5}),
        ),
        (
            "f2",
            format!("{}/slow", recv.base),
            json!({"num_retries": 1, "interval_sec": 1, "timeout_sec": 1}),
        ),
        (
            "f3",
            down,
            json!({"num_retries": 1, "interval_sec": 1, "timeout_sec": 5}),
        ),
        (
            "f4",
            format!("{}/retry-after", recv.base),
            json!({"num_retries": 1, "interval_sec": 1, "timeout_sec": 5}),
        ),
    ];
    for (table, hook, retry) in &cases {
        server.track(table);
        let (s, r) = create_trigger(
            &server,
            json!({"name": format!("{table}_t"), "table": table,
            "webhook": hook, "insert": {"columns": "*"}, "retry_conf": retry}),
        );
        assert_eq!(s, 200, "{r}");
    }
    let _sched = Scheduler::start(&url, &[]);
    server.run_sql("INSERT INTO f1 VALUES (1); INSERT INTO f2 VALUES (1); INSERT INTO f3 VALUES (1); INSERT INTO f4 VALUES (1);");
    wait_until("every event final", Duration::from_secs(120), || {
        count(
            &server,
            "SELECT count(*) FROM graphedge.event_log WHERE delivered OR error",
        ) == 4
    });
    let state = |t: &str| -> Value {
        scalar(&server, &format!(
            "SELECT json_build_object('delivered', delivered, 'error', error, 'tries', tries, 'locked', locked_by IS NOT NULL, \
             'responses', (SELECT json_agg(json_build_object('status', i.status, 'type', i.response->>'type', 'message', i.response->'data'->>'message') ORDER BY i.created_at) \
               FROM graphedge.event_invocation_logs i WHERE i.event_id = e.id))::text \
             FROM graphedge.event_log e WHERE trigger_name = '{t}_t'"))
        .as_str().map(|s| serde_json::from_str(s).unwrap()).unwrap()
    };
    let gaps = |hits: &[Hit]| -> Vec<f64> {
        hits.windows(2)
            .map(|w| (w[1].at - w[0].at).as_secs_f64())
            .collect()
    };
    // 500: 1 + 2 attempts, 1 s apart, current_retry counting up, then a recorded failure.
    let f1 = recv.hits("/fail");
    assert_eq!(f1.len(), 3);
    assert!(
        gaps(&f1).iter().all(|g| *g >= 0.9 && *g < 3.0),
        "{:?}",
        gaps(&f1)
    );
    let retries: Vec<&Value> = f1
        .iter()
        .map(|h| &h.body["delivery_info"]["current_retry"])
        .collect();
    assert_eq!(retries, [&json!(0), &json!(1), &json!(2)]);
    let s1 = state("f1");
    assert_eq!(
        (
            s1["delivered"].clone(),
            s1["error"].clone(),
            s1["tries"].clone(),
            s1["locked"].clone()
        ),
        (json!(false), json!(true), json!(3), json!(false))
    );
    assert_eq!(
        s1["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].clone())
            .collect::<Vec<_>>(),
        [json!(500), json!(500), json!(500)]
    );
    // Timeout: 2 attempts, each a client error naming the timeout.
    let s2 = state("f2");
    assert_eq!(
        (s2["error"].clone(), s2["tries"].clone()),
        (json!(true), json!(2)),
        "{s2}"
    );
    assert!(
        s2["responses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["type"] == "client_error"
                && r["message"].as_str().unwrap().contains("timeout")),
        "{s2}"
    );
    // Down: connection errors.
    let s3 = state("f3");
    assert_eq!(
        (s3["error"].clone(), s3["tries"].clone()),
        (json!(true), json!(2)),
        "{s3}"
    );
    assert!(
        s3["responses"][0]["message"]
            .as_str()
            .unwrap()
            .contains("connection"),
        "{s3}"
    );
    // Retry-After: 2 s honoured over the 1 s interval; the second attempt succeeds.
    let f4 = recv.hits("/retry-after");
    assert_eq!(f4.len(), 2);
    assert!(gaps(&f4)[0] >= 1.9, "{:?}", gaps(&f4));
    let s4 = state("f4");
    assert_eq!(
        (s4["delivered"].clone(), s4["tries"].clone()),
        (json!(true), json!(2)),
        "{s4}"
    );
}

// ---------------------------------------------------------------------------------------------
// Faults

/// Events of the trigger `burst` not delivered yet, per the event log.
fn undelivered(server: &Server) -> i64 {
    count(
        server,
        "SELECT count(*) FROM graphedge.event_log WHERE trigger_name = 'burst' AND NOT delivered",
    )
}

/// Waits (polling every 200 ms, so the polling itself costs little on a busy machine).
fn wait_slowly(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Deterministic on a busy machine: every wait is on a condition (receiver counts, the event
/// log) with a generous deadline; duplicates are counted only once the delivering processes are
/// gone (nothing can arrive late).
#[test]
fn crash_burst_and_two_schedulers() {
    let (_pg, url, server, recv) = setup("CREATE TABLE b (id int PRIMARY KEY)");
    server.track("b");
    let (s, r) = create_trigger(
        &server,
        json!({"name": "burst", "table": "b",
        "webhook": format!("{}/burst", recv.base), "insert": {"columns": "*"}}),
    );
    assert_eq!(s, 200, "{r}");

    // Two schedulers at once, no crash: every event exactly once.
    server.run_sql("INSERT INTO b SELECT generate_series(1, 2000)");
    let mut a = Scheduler::start(&url, &[("HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE", "20")]);
    let mut b = Scheduler::start(&url, &[("HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE", "20")]);
    wait_slowly("2000 deliveries recorded", Duration::from_secs(240), || {
        undelivered(&server) == 0
    });
    // Both processes gone: no delivery can still be on its way.
    assert!(a.terminate().success());
    assert!(b.terminate().success());
    let (ids, _) = recv.burst();
    assert_eq!(ids.len(), 2000);
    assert!(
        ids.values().all(|n| *n == 1),
        "an event was delivered twice without a crash"
    );
    let owners = count(
        &server,
        "SELECT count(DISTINCT event_id) FROM graphedge.event_invocation_logs",
    );
    assert_eq!(owners, 2000);

    // kill -9 in the middle of a 10,000-event burst, then restart: none lost.
    server.run_sql("INSERT INTO b SELECT generate_series(10001, 20000)");
    let mut c = Scheduler::start(&url, &[]);
    wait_until("part of the burst", Duration::from_secs(240), || {
        recv.distinct_burst_ids() >= 2000 + 2500
    });
    c.kill9();
    let before_restart = recv.distinct_burst_ids();
    assert!(
        before_restart < 12_000,
        "the burst finished before the kill"
    );
    let restarted = Instant::now();
    let mut d = Scheduler::start(&url, &[]);
    wait_slowly("the whole burst", Duration::from_secs(300), || {
        recv.distinct_burst_ids() == 12_000
    });
    wait_slowly("all recorded", Duration::from_secs(120), || {
        undelivered(&server) == 0
    });
    assert!(d.terminate().success());
    let (ids, last) = recv.burst();
    assert_eq!(ids.len(), 12_000);
    let dups: usize = ids.values().map(|n| n - 1).sum();
    let took = last.unwrap().duration_since(restarted).as_secs_f64();
    eprintln!(
        "kill -9 during the burst: {before_restart} delivered before, {dups} redelivered after \
         restart; restart to last delivery: {took:.2} s"
    );
}

#[test]
fn postgres_restart_and_graceful_shutdown() {
    let (pg, url, server, recv) =
        setup("CREATE TABLE r (id int PRIMARY KEY); CREATE TABLE s (id int PRIMARY KEY)");
    let _ = &server;
    server.track("r");
    server.track("s");
    for (name, table, path, ordering) in [
        ("r_t", "r", "/ok-r", None),
        ("s_t", "s", "/held", Some("primary_key")),
    ] {
        let mut args = json!({"name": name, "table": table, "webhook": format!("{}{path}", recv.base),
            "insert": {"columns": "*"}, "update": {"columns": "*"},
            "retry_conf": {"num_retries": 0, "interval_sec": 1, "timeout_sec": 10}});
        if let Some(o) = ordering {
            args["graphedge_ordering"] = json!(o);
        }
        let (s, r) = create_trigger(&server, args);
        assert_eq!(s, 200, "{r}");
    }
    let mut sched = Scheduler::start(&url, &[]);
    pg.psql("graphedge", "INSERT INTO r VALUES (1)").unwrap();
    wait_until("first delivery", Duration::from_secs(60), || {
        recv.count("/ok-r") == 1
    });
    pg.restart().unwrap();
    pg.psql("graphedge", "INSERT INTO r VALUES (2)").unwrap();
    wait_until(
        "delivery after the Postgres restart",
        Duration::from_secs(120),
        || recv.count("/ok-r") == 2,
    );

    // Ordered trigger: three changes of one row are delivered one at a time.
    pg.psql(
        "graphedge",
        "INSERT INTO s VALUES (1); UPDATE s SET id = 1 WHERE id = 1; INSERT INTO s VALUES (2);",
    )
    .unwrap();
    wait_until("held deliveries in flight", Duration::from_secs(60), || {
        recv.held_now() == 2
    });
    // Row 1's second event waits for its first (not even claimed while it is in flight); row 2
    // goes in parallel.
    let claimed = psql_count(
        &pg,
        "SELECT count(*) FROM graphedge.event_log WHERE trigger_name = 's_t' AND locked_by IS NOT NULL",
    );
    assert_eq!((claimed, recv.count("/held")), (2, 2));
    // SIGTERM with a 1 s grace while the deliveries are held: exits, unlocks them.
    let started = Instant::now();
    assert!(sched.terminate().success());
    assert!(started.elapsed() < Duration::from_secs(10));
    let locked = psql_count(
        &pg,
        "SELECT count(*) FROM graphedge.event_log WHERE locked_by IS NOT NULL",
    );
    assert_eq!(locked, 0, "claimed events are returned on shutdown");
    assert_eq!(
        psql_count(&pg, "SELECT count(*) FROM graphedge.event_processors"),
        0
    );
    // Another process delivers them all, row 1's in commit order.
    recv.open();
    let _next = Scheduler::start(&url, &[]);
    wait_until("the returned events", Duration::from_secs(120), || {
        psql_count(
            &pg,
            "SELECT count(*) FROM graphedge.event_log WHERE trigger_name = 's_t' AND delivered",
        ) == 3
    });
    let ops: Vec<String> = recv
        .hits("/held")
        .iter()
        .filter(|h| h.body["event"]["data"]["new"]["id"] == 1)
        .map(|h| h.body["event"]["op"].as_str().unwrap().to_string())
        .collect();
    // INSERT (interrupted), INSERT again, then UPDATE — never UPDATE before INSERT.
    assert_eq!(ops.first().map(String::as_str), Some("INSERT"));
    assert_eq!(ops.last().map(String::as_str), Some("UPDATE"), "{ops:?}");
}

// ---------------------------------------------------------------------------------------------
// Measurement (scripts/bench-events.sh)

#[test]
#[ignore]
fn bench_deliveries() {
    let n: i64 = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let (pg, url, server, recv) = setup(
        "CREATE TABLE plain (id int PRIMARY KEY, v text); CREATE TABLE watched (id int PRIMARY KEY, v text)",
    );
    server.track("watched");
    let (s, r) = create_trigger(
        &server,
        json!({"name": "bench", "table": "watched",
        "webhook": format!("{}/burst", recv.base), "insert": {"columns": "*"}}),
    );
    assert_eq!(s, 200, "{r}");
    // Write latency: single-row INSERT transactions, without and with the trigger.
    let per_insert = |table: &str| -> f64 {
        let rows = 5000;
        let sql: String = (1..=rows)
            .map(|i| format!("INSERT INTO {table} VALUES ({i}, 'x');\n"))
            .collect();
        let t = Instant::now();
        pg.psql("graphedge", &sql).unwrap();
        t.elapsed().as_secs_f64() * 1e6 / rows as f64
    };
    let plain = per_insert("plain");
    let watched = per_insert("watched");
    server.run_sql("TRUNCATE graphedge.event_log");
    server.run_sql(&format!(
        "INSERT INTO watched SELECT generate_series(100001, {}), 'x'",
        100_000 + n
    ));
    let t = Instant::now();
    let _sched = Scheduler::start(&url, &[]);
    wait_until("the burst", Duration::from_secs(600), || {
        recv.count("/burst") as i64 >= n
    });
    let secs = t.elapsed().as_secs_f64();
    wait_until("recorded", Duration::from_secs(60), || {
        count(
            &server,
            "SELECT count(*) FROM graphedge.event_log WHERE NOT delivered",
        ) == 0
    });
    println!(
        "BENCH deliveries: {n} events in {secs:.2} s = {:.0}/s (incl. process start)\n\
         BENCH insert latency: {plain:.0} µs without trigger, {watched:.0} µs with (+{:.0} µs)",
        n as f64 / secs,
        watched - plain
    );
}
