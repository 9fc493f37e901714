//! Cron triggers and one-off scheduled events end to end: a real Postgres (TempPostgres), the
//! metadata API (`graphedge_metadata::execute`, what `/v1/metadata` runs), the scheduler loop
//! of `graphedge_scheduler::scheduled`, and a real HTTP receiver on loopback.
//!
//! Nothing waits for the wall clock to reach a cron minute: the scheduler runs with an
//! [`OffsetClock`] ("N minutes from now"), so events generated for the next minutes are due.
//!
//! Scenarios (one cluster, one database each):
//! * `delivery` — cron payload (`id`, `name`, `scheduled_time`, `payload`, `comment`, headers
//!   from value and env), one-off payload (`created_at`), statuses and invocation logs;
//! * `retries` — a webhook answering 500: `1 + num_retries` attempts spaced by the interval,
//!   then `error`;
//! * `catch_up` — events missed "while down" are delivered within the tolerance and `dead`
//!   beyond it;
//! * `metadata` — invalid definitions are rejected with nothing stored, export/replace/clear
//!   round trip (`include_in_metadata`), deletes;
//! * `owners` — a dead owner's claims are recovered; two schedulers never deliver an event twice.
mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{http_stub, StubResponse};
use graphedge_metadata::cron::{format_timestamp, parse_timestamp};
use graphedge_metadata::db::{Database, Statement};
use graphedge_metadata::{Config, Endpoint, MetadataState};
use graphedge_scheduler::db::PgDatabase;
use graphedge_scheduler::deliver::Deliverer;
use graphedge_scheduler::pgtemp::TempPostgres;
use graphedge_scheduler::scheduled::{Clock, OffsetClock, Scheduler, Settings, SystemClock};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Harness

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    headers: HashMap<String, String>,
    body: Value,
    at: Instant,
}

/// A loopback webhook: `/ok` → 200, `/fail` → 500, anything else → 404. Records every request.
struct Receiver {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let h = hits.clone();
        let base = http_stub(move |req| {
            let path = req.path_only().to_string();
            h.lock().unwrap().push(Hit {
                path: path.clone(),
                body: req.json(),
                headers: req.headers,
                at: Instant::now(),
            });
            let status = match path.as_str() {
                "/ok" => 200,
                "/fail" => 500,
                _ => 404,
            };
            async move { StubResponse::new(status, b"{\"ok\":true}".as_slice()) }
        })
        .await;
        Receiver { base, hits }
    }

    fn hits(&self, path: &str) -> Vec<Hit> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }
}

/// One database with the metadata API.
struct Env {
    db: PgDatabase,
    state: MetadataState,
    config: Config,
    hook: Receiver,
}

impl Env {
    async fn new(pg: &TempPostgres, name: &str) -> Env {
        pg.create_database(name).unwrap();
        let db = PgDatabase::connect(&pg.url(name), 8).unwrap();
        let config = Config::default();
        let state = graphedge_metadata::load(&db, &config).await.unwrap();
        Env {
            db,
            state,
            config,
            hook: Receiver::start().await,
        }
    }

    /// A `/v1/metadata` request: the response JSON, or the error JSON (`{path, error, code}`).
    async fn api(&mut self, body: Value) -> Result<Value, Value> {
        match graphedge_metadata::execute(
            &self.state,
            Endpoint::V1Metadata,
            &body,
            &self.db,
            &self.config,
        )
        .await
        {
            Ok((v, new)) => {
                if let Some(s) = new {
                    self.state = s;
                }
                Ok(v)
            }
            Err(e) => Err(e.to_json()),
        }
    }

    async fn ok(&mut self, body: Value) -> Value {
        let b = body.clone();
        self.api(body)
            .await
            .unwrap_or_else(|e| panic!("{b}\nfailed: {e}"))
    }

    async fn sql(&self, sql: &str) -> Option<String> {
        self.db
            .query_one(&Statement {
                sql: sql.into(),
                params: vec![],
            })
            .await
            .unwrap()
    }

    /// A scheduler on this database running `offset_secs` in the future.
    fn scheduler(&self, offset_secs: i64, owner: &str) -> Scheduler {
        let settings = Settings {
            fetch_interval: Duration::from_millis(50),
            owner: owner.into(),
            ..Settings::default()
        };
        let env: graphedge_scheduler::scheduled::Env =
            Arc::new(|k: &str| (k == "HOOK_TOKEN").then(|| "from-env".to_string()));
        Scheduler::new(self.db.clone(), Deliverer::new(16).unwrap(), settings)
            .with_clock(Arc::new(OffsetClock(offset_secs * 1_000_000)))
            .with_env(env)
    }

    /// `get_scheduled_events` statuses of one trigger (or the one-off events): status → count.
    async fn statuses(&mut self, kind: &str, trigger: Option<&str>) -> HashMap<String, usize> {
        let mut args = json!({ "type": kind });
        if let Some(t) = trigger {
            args["trigger_name"] = json!(t);
        }
        let r = self
            .ok(json!({ "type": "get_scheduled_events", "args": args }))
            .await;
        let mut out = HashMap::new();
        for e in r["events"].as_array().unwrap() {
            *out.entry(e["status"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        out
    }
}

/// Ticks `schedulers` until `done()` or the timeout (then panics with `what`).
async fn drive(schedulers: &[&Scheduler], what: &str, timeout: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        let ticks: Vec<_> = schedulers.iter().map(|s| s.tick()).collect();
        for r in futures_util::future::join_all(ticks).await {
            r.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn now_text(offset_secs: i64) -> String {
    format_timestamp(SystemClock.now_micros() + offset_secs * 1_000_000)
}

// ---------------------------------------------------------------------------------------------
// Scenarios

async fn delivery(pg: &TempPostgres) {
    let mut env = Env::new(pg, "delivery").await;
    let hook = format!("{}/ok", env.hook.base);
    env.ok(json!({"type": "create_cron_trigger", "args": {
        "name": "every_minute", "webhook": hook, "schedule": "* * * * *",
        "payload": {"k": "v"}, "include_in_metadata": true, "comment": "tick",
        "headers": [{"name": "X-Static", "value": "s"}, {"name": "X-Env", "value_from_env": "HOOK_TOKEN"}]
    }}))
    .await;
    // Events are generated at creation (100 ahead).
    let st = env.statuses("cron", Some("every_minute")).await;
    assert_eq!(st.get("scheduled"), Some(&100), "{st:?}");

    let at = now_text(-1);
    let created = env
        .ok(json!({"type": "create_scheduled_event", "args": {
            "webhook": hook, "schedule_at": at, "payload": {"one": 1}, "comment": "once"
        }}))
        .await;
    assert_eq!(created["message"], "success");
    let event_id = created["event_id"].as_str().unwrap().to_string();

    // 90 s in the future the first cron event is due.
    let s = env.scheduler(90, "a");
    let hits = || env.hook.hits("/ok");
    drive(
        &[&s],
        "cron + one-off delivery",
        Duration::from_secs(60),
        || {
            let h = hits();
            h.iter().any(|h| h.body.get("name").is_some())
                && h.iter().any(|h| h.body["id"] == json!(event_id))
        },
    )
    .await;

    let h = hits();
    let cron = h.iter().find(|h| h.body.get("name").is_some()).unwrap();
    let keys: Vec<&str> = cron
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys, ["id", "name", "scheduled_time", "payload", "comment"]);
    assert_eq!(cron.body["name"], "every_minute");
    assert_eq!(cron.body["payload"], json!({"k": "v"}));
    assert_eq!(cron.body["comment"], "tick");
    let t = cron.body["scheduled_time"].as_str().unwrap();
    assert!(t.ends_with(":00Z"), "{t}");
    assert_eq!(cron.headers.get("x-static").map(String::as_str), Some("s"));
    assert_eq!(
        cron.headers.get("x-env").map(String::as_str),
        Some("from-env")
    );
    assert_eq!(
        cron.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );

    let one = h.iter().find(|h| h.body["id"] == json!(event_id)).unwrap();
    let keys: Vec<&str> = one
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        ["id", "scheduled_time", "payload", "comment", "created_at"]
    );
    assert_eq!(one.body["payload"], json!({"one": 1}));
    assert_eq!(
        parse_timestamp(one.body["scheduled_time"].as_str().unwrap()).unwrap(),
        parse_timestamp(&at).unwrap()
    );

    // Statuses and invocation logs through the metadata API.
    let r = env
        .ok(json!({"type": "get_scheduled_events", "args": {
            "type": "one_off", "get_rows_count": true, "status": ["delivered"]
        }}))
        .await;
    assert_eq!(r["count"], 1, "{r}");
    let ev = &r["events"][0];
    assert_eq!(ev["id"], json!(event_id));
    assert_eq!(ev["tries"], 1);
    assert_eq!(ev["webhook_conf"], json!(hook));
    assert_eq!(ev["comment"], "once");
    let inv = env
        .ok(json!({"type": "get_scheduled_event_invocations", "args": {
            "type": "one_off", "event_id": event_id, "get_rows_count": true
        }}))
        .await;
    assert_eq!(inv["count"], 1, "{inv}");
    let i = &inv["invocations"][0];
    assert_eq!(i["status"], 200);
    assert_eq!(i["event_id"], json!(event_id));
    assert_eq!(i["request"]["payload"]["payload"], json!({"one": 1}));
    assert_eq!(i["response"]["type"], "webhook_response");
    assert_eq!(i["response"]["data"]["status"], 200);
    let inv = env
        .ok(json!({"type": "get_scheduled_event_invocations", "args": {
            "type": "cron", "trigger_name": "every_minute"
        }}))
        .await;
    assert!(inv.get("count").is_none());
    assert!(!inv["invocations"].as_array().unwrap().is_empty());
    // The env header is logged by name, not value.
    let logged = &inv["invocations"][0]["request"]["headers"];
    assert_eq!(
        logged[1],
        json!({"name": "X-Env", "value_from_env": "HOOK_TOKEN"})
    );
}

async fn retries(pg: &TempPostgres) {
    let mut env = Env::new(pg, "retries").await;
    let created = env
        .ok(json!({"type": "create_scheduled_event", "args": {
            "webhook": format!("{}/fail", env.hook.base), "schedule_at": now_text(-1),
            "retry_conf": {"num_retries": 2, "retry_interval_seconds": 1, "timeout_seconds": 5}
        }}))
        .await;
    let id = created["event_id"].clone();
    let s = env.scheduler(0, "a");
    drive(&[&s], "3 attempts", Duration::from_secs(60), || {
        env.hook.hits("/fail").len() >= 3
    })
    .await;
    // Tick until the event is final (a 4th attempt, if one were wrongly scheduled, comes
    // first): nothing can be claimed after that, so the count below is all there will be.
    let start = Instant::now();
    while env.statuses("one_off", None).await.get("error") != Some(&1) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the event never became final"
        );
        s.tick().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let h = env.hook.hits("/fail");
    assert_eq!(h.len(), 3, "1 + num_retries attempts");
    for w in h.windows(2) {
        let gap = w[1].at - w[0].at;
        assert!(gap >= Duration::from_millis(900), "retry spacing {gap:?}");
    }
    let r = env
        .ok(json!({"type": "get_scheduled_events", "args": {"type": "one_off"}}))
        .await;
    assert_eq!(r["events"][0]["status"], "error", "{r}");
    assert_eq!(r["events"][0]["tries"], 3);
    let inv = env
        .ok(json!({"type": "get_scheduled_event_invocations", "args": {
            "type": "one_off", "event_id": id, "get_rows_count": true
        }}))
        .await;
    assert_eq!(inv["count"], 3);
    assert!(inv["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["status"] == 500));
}

async fn catch_up(pg: &TempPostgres) {
    let mut env = Env::new(pg, "catch_up").await;
    let hook = format!("{}/ok", env.hook.base);
    for (name, retry) in [
        ("lenient", json!({})),
        ("strict", json!({"tolerance_seconds": 300})),
    ] {
        env.ok(json!({"type": "create_cron_trigger", "args": {
            "name": name, "webhook": hook, "schedule": "* * * * *",
            "include_in_metadata": false, "retry_conf": retry
        }}))
        .await;
    }
    // The process "comes back" 10 minutes later: ~10 events of each trigger are overdue.
    let s = env.scheduler(600, "a");
    let base = SystemClock.now_micros() / 1_000_000;
    drain(&s).await;
    let lenient = env.statuses("cron", Some("lenient")).await;
    let strict = env.statuses("cron", Some("strict")).await;
    let n = |m: &HashMap<String, usize>, k: &str| m.get(k).copied().unwrap_or(0);
    assert!(n(&lenient, "delivered") >= 9, "{lenient:?}");
    assert_eq!(n(&lenient, "dead"), 0, "{lenient:?}");
    assert!(n(&strict, "delivered") >= 4, "{strict:?}");
    assert!(n(&strict, "dead") >= 4, "{strict:?}");
    // Every delivered strict event was at most 300 s late (in scheduler time), every dead one more.
    let hits = env.hook.hits("/ok");
    for h in hits.iter().filter(|h| h.body["name"] == "strict") {
        let t = parse_timestamp(h.body["scheduled_time"].as_str().unwrap()).unwrap() / 1_000_000;
        assert!(t >= base + 600 - 300 - 5, "{t} vs {base}");
    }
    assert_eq!(
        hits.iter().filter(|h| h.body["name"] == "strict").count(),
        n(&strict, "delivered")
    );
}

/// Ticks until a tick finds nothing to claim.
async fn drain(s: &Scheduler) {
    for _ in 0..100 {
        if s.tick().await.unwrap().claimed == 0 {
            return;
        }
    }
    panic!("scheduler never became idle");
}

async fn metadata(pg: &TempPostgres) {
    let mut env = Env::new(pg, "metadata").await;
    let hook = format!("{}/ok", env.hook.base);
    // Invalid input: a clear error, nothing stored.
    let bad: &[(Value, &str, &str)] = &[
        (
            json!({"name": "c", "webhook": hook, "schedule": "61 * * * *", "include_in_metadata": true}),
            "$.args.schedule",
            "minute field",
        ),
        (
            json!({"name": "c", "webhook": "not a url", "schedule": "* * * * *", "include_in_metadata": true}),
            "$.args.webhook",
            "invalid webhook URL",
        ),
        (
            json!({"name": "c", "webhook": hook, "schedule": "* * * * *", "include_in_metadata": true,
                "headers": [{"name": "X", "value": "a", "value_from_env": "B"}]}),
            "$.args.headers",
            "only one of",
        ),
        (
            json!({"name": "c", "webhook": hook, "schedule": "* * * * *"}),
            "$.args",
            "include_in_metadata",
        ),
    ];
    for (args, path, msg) in bad {
        let e = env
            .api(json!({"type": "create_cron_trigger", "args": args}))
            .await
            .unwrap_err();
        assert_eq!(e["path"], *path, "{e}");
        assert!(e["error"].as_str().unwrap().contains(msg), "{e}");
    }
    let e = env
        .api(json!({"type": "create_scheduled_event", "args": {"webhook": hook, "schedule_at": "tomorrow"}}))
        .await
        .unwrap_err();
    assert_eq!(e["path"], "$.args.schedule_at", "{e}");
    assert_eq!(
        env.ok(json!({"type": "get_cron_triggers", "args": {}}))
            .await,
        json!({"cron_triggers": []})
    );
    assert_eq!(
        env.sql("SELECT count(*)::text FROM graphedge.cron_events")
            .await
            .as_deref(),
        Some("0")
    );
    assert_eq!(
        env.sql("SELECT count(*)::text FROM graphedge.one_off_scheduled_events")
            .await
            .as_deref(),
        Some("0")
    );

    // Export shows include_in_metadata triggers only, in Hasura's shape.
    env.ok(json!({"type": "create_cron_trigger", "args": {
        "name": "nightly", "webhook": hook, "schedule": "0 19-23/2,0-8/2 * * *",
        "include_in_metadata": true, "payload": {"a": 1}, "comment": "c",
        "retry_conf": {"num_retries": 3}, "headers": [{"name": "X", "value": "1"}]
    }}))
    .await;
    env.ok(json!({"type": "create_cron_trigger", "args": {
        "name": "hidden", "webhook": hook, "schedule": "@daily", "include_in_metadata": false
    }}))
    .await;
    let e = env
        .api(json!({"type": "create_cron_trigger", "args": {
            "name": "hidden", "webhook": hook, "schedule": "@daily", "include_in_metadata": false
        }}))
        .await
        .unwrap_err();
    assert_eq!(e["code"], "already-exists", "{e}");
    let exported = env.ok(json!({"type": "export_metadata", "args": {}})).await;
    assert_eq!(
        exported["cron_triggers"],
        json!([{
            "name": "nightly", "webhook": hook, "schedule": "0 19-23/2,0-8/2 * * *",
            "include_in_metadata": true, "payload": {"a": 1},
            "retry_conf": {"num_retries": 3, "retry_interval_seconds": 10, "timeout_seconds": 60, "tolerance_seconds": 21600},
            "headers": [{"name": "X", "value": "1"}], "comment": "c"
        }])
    );
    let all = env
        .ok(json!({"type": "get_cron_triggers", "args": {}}))
        .await;
    assert_eq!(all["cron_triggers"].as_array().unwrap().len(), 2);

    // replace_metadata with the export (minus nothing) keeps both; the hidden one is retained.
    env.ok(json!({"type": "replace_metadata", "args": exported.clone()}))
        .await;
    let all = env
        .ok(json!({"type": "get_cron_triggers", "args": {}}))
        .await;
    assert_eq!(all["cron_triggers"].as_array().unwrap().len(), 2);
    assert_eq!(
        env.ok(json!({"type": "export_metadata", "args": {}})).await,
        exported
    );
    // A schedule change through replace_metadata regenerates the future events.
    let mut changed = exported.clone();
    changed["cron_triggers"][0]["schedule"] = json!("*/5 * * * *");
    env.ok(json!({"type": "replace_metadata", "args": changed}))
        .await;
    let times = env.sql("SELECT json_agg(extract(minute FROM scheduled_time)::int % 5)::text FROM graphedge.cron_events WHERE trigger_name = 'nightly'").await.unwrap();
    let times: Vec<i64> = serde_json::from_str(&times).unwrap();
    assert_eq!(times.len(), 100);
    assert!(times.iter().all(|m| *m == 0));
    // Hasura's catalog names read the same events (what users' SQL and Hasura's harness read).
    assert_eq!(
        env.sql("SELECT count(*)::text FROM hdb_catalog.hdb_cron_events WHERE trigger_name = 'nightly' AND status = 'scheduled'")
            .await
            .as_deref(),
        Some("100")
    );
    assert_eq!(
        env.sql("SELECT count(*)::text FROM hdb_catalog.hdb_scheduled_events")
            .await
            .as_deref(),
        env.sql("SELECT count(*)::text FROM graphedge.one_off_scheduled_events")
            .await
            .as_deref()
    );
    // An invalid schedule in replace_metadata is rejected.
    let mut broken = exported.clone();
    broken["cron_triggers"][0]["schedule"] = json!("* * *");
    let e = env
        .api(json!({"type": "replace_metadata", "args": broken}))
        .await
        .unwrap_err();
    assert_eq!(e["path"], "$.args.cron_triggers[0]", "{e}");

    // clear_metadata drops exported triggers (and their events), keeps hidden ones.
    env.ok(json!({"type": "clear_metadata", "args": {}})).await;
    let all = env
        .ok(json!({"type": "get_cron_triggers", "args": {}}))
        .await;
    assert_eq!(all["cron_triggers"][0]["name"], "hidden");
    // get_cron_triggers shows the retry defaults Hasura applies.
    assert_eq!(
        all["cron_triggers"][0]["retry_conf"],
        json!({"num_retries": 0, "retry_interval_seconds": 10, "timeout_seconds": 60, "tolerance_seconds": 21600})
    );
    assert_eq!(all["cron_triggers"].as_array().unwrap().len(), 1);
    assert_eq!(
        env.sql("SELECT count(*)::text FROM graphedge.cron_events WHERE trigger_name = 'nightly'")
            .await
            .as_deref(),
        Some("0")
    );

    // delete_cron_trigger removes the trigger and its events.
    env.ok(json!({"type": "delete_cron_trigger", "args": {"name": "hidden"}}))
        .await;
    assert_eq!(
        env.sql("SELECT count(*)::text FROM graphedge.cron_events")
            .await
            .as_deref(),
        Some("0")
    );
    let e = env
        .api(json!({"type": "delete_cron_trigger", "args": {"name": "hidden"}}))
        .await
        .unwrap_err();
    assert_eq!(e["code"], "not-exists");

    // delete_scheduled_event.
    let created = env
        .ok(json!({"type": "create_scheduled_event", "args": {"webhook": hook, "schedule_at": now_text(3600)}}))
        .await;
    let args = json!({"type": "one_off", "event_id": created["event_id"]});
    env.ok(json!({"type": "delete_scheduled_event", "args": args}))
        .await;
    let e = env
        .api(json!({"type": "delete_scheduled_event", "args": args}))
        .await
        .unwrap_err();
    assert_eq!(e["code"], "not-exists");
}

async fn owners(pg: &TempPostgres) {
    let mut env = Env::new(pg, "owners").await;
    let hook = format!("{}/ok", env.hook.base);
    let n = 60;
    let events: Vec<Value> = (0..n)
        .map(|i| {
            json!({"type": "create_scheduled_event", "args": {
                "webhook": hook, "schedule_at": now_text(-1), "payload": {"i": i}
            }})
        })
        .collect();
    env.ok(json!({"type": "bulk", "args": events})).await;
    // A crashed process holds 10 of them (lease already expired).
    env.sql(
        "WITH c AS (SELECT id FROM graphedge.one_off_scheduled_events LIMIT 10), \
         u AS (UPDATE graphedge.one_off_scheduled_events e SET status = 'locked', \
         locked_by = 'dead', locked_until = now() - interval '1 minute' FROM c \
         WHERE e.id = c.id RETURNING 1) SELECT count(*)::text FROM u",
    )
    .await;
    // Two live schedulers with small batches share the rest.
    let (a, b) = (small_batches(&env, "a"), small_batches(&env, "b"));
    drive(&[&a, &b], "all events", Duration::from_secs(120), || {
        env.hook.hits("/ok").len() >= n
    })
    .await;
    for _ in 0..3 {
        a.tick().await.unwrap();
    }
    let hits = env.hook.hits("/ok");
    let mut ids: Vec<&str> = hits
        .iter()
        .map(|h| h.body["id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "every event delivered");
    assert_eq!(hits.len(), n, "no event delivered twice");
    assert_eq!(
        env.statuses("one_off", None).await.get("delivered"),
        Some(&n)
    );
}

fn small_batches(env: &Env, owner: &str) -> Scheduler {
    let settings = Settings {
        batch_size: 7,
        owner: owner.into(),
        ..Settings::default()
    };
    Scheduler::new(env.db.clone(), Deliverer::new(4).unwrap(), settings)
}

#[test]
fn scheduled_triggers() {
    let pg = TempPostgres::start().expect("start postgres");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            metadata(&pg).await;
            delivery(&pg).await;
            retries(&pg).await;
            catch_up(&pg).await;
            owners(&pg).await;
        });
}
