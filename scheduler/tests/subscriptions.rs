//! The pollers of live queries and streams (`scheduler/src/subscriptions.rs`) against a real
//! Postgres: the real `graphedge serve` sets up the metadata and takes the writes; the test
//! builds an `Engine` on the same database and subscribes through the `Manager` directly (the
//! websocket transport has its own tests).
//!
//! * `live_queries_push_on_change_only` — two subscribers with the same variables share one
//!   cohort (one poller, one cohort); each gets the first answer, then an answer only when a
//!   write changed it; a second cohort (another variable) gets its own answers; a third subscriber
//!   joining late gets the current answer at once; a dropped subscriber's cohort goes away.
//! * `permissions_and_session_variables` — a role's filter on `x-hasura-user-id`: users see
//!   only their rows; sessions differing only in unused variables share a cohort.
//! * `idle_subscriptions_run_no_sql` — a live query on a view over `item` whose every run
//!   draws from a sequence: with no writes it runs once in 2 s (10 intervals); a write to
//!   another table runs nothing; a write to `item` runs it again and pushes the new count.
//! * `full_queues_lose_nothing` — a socket's queue with room for one push, three live queries
//!   and two streams on it: every first answer and every stream batch still arrives, in order
//!   per stream (a subscriber whose push did not fit is served again at the next round).
//! * `streams_advance_their_cursor` — `<t>_stream` batches of 2 over 5 rows, then new rows
//!   arrive as a new batch; empty batches are not sent.
mod common;

use std::time::Duration;

use common::{database, Server};
use graphedge_core::Session;
use graphedge_edge::graphql::GqlRequest;
use graphedge_scheduler::backend::Backend;
use graphedge_scheduler::db::PgDatabase;
use graphedge_scheduler::subscriptions::{Manager, Pace, Payload, Push, Settings};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const SCHEMA_SQL: &str = "
CREATE TABLE item (id serial PRIMARY KEY, owner int NOT NULL, name text NOT NULL);
INSERT INTO item (owner, name) VALUES (1, 'a'), (1, 'b'), (2, 'c'), (2, 'd'), (1, 'e');
CREATE TABLE other (id int PRIMARY KEY);
-- Every run of a statement reading this view draws one number.
CREATE SEQUENCE runs;
CREATE VIEW item_count AS SELECT count(*) AS n, (SELECT nextval('runs')) AS run FROM item;
";

struct Fixture {
    _pg: graphedge_scheduler::pgtemp::TempPostgres,
    server: Server,
    engine: graphedge_edge::Engine,
    manager: Manager,
}

fn setup() -> Fixture {
    let (pg, url) = database();
    let server = Server::start(&url);
    server.run_sql(SCHEMA_SQL);
    server.track("item");
    server.track("item_count");
    server.metadata(json!({"type": "pg_create_select_permission", "args": {
        "source": "default", "table": "item", "role": "user",
        "permission": {"columns": ["id", "owner", "name"],
                       "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}}}));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = PgDatabase::connect(&url, 2).unwrap();
    let config = graphedge_edge::Config::from_env(|_| None).unwrap();
    let engine = rt
        .block_on(graphedge_edge::Engine::new(config, &db))
        .unwrap();
    let fast = Pace {
        interval: Duration::from_millis(200),
        batch_size: 100,
    };
    let settings = Settings {
        live: fast,
        streaming: fast,
        watch_changes: true,
        full_refresh: Duration::from_secs(60),
    };
    let manager = Manager::start(settings, move || {
        Ok(Backend::Pool(PgDatabase::connect(&url, 2)?))
    })
    .unwrap();
    Fixture {
        _pg: pg,
        server,
        engine,
        manager,
    }
}

fn request(query: &str, variables: Value) -> GqlRequest {
    let variables = variables
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), graphedge_edge::md::json_to_value(v)))
                .collect()
        })
        .unwrap_or_default();
    GqlRequest {
        query: query.to_string(),
        operation_name: None,
        variables,
        relay: false,
    }
}

fn user(id: &str, extra: &[(&str, &str)]) -> Session {
    let mut s = Session::admin();
    s.role = "user".into();
    s.vars.insert("x-hasura-user-id".into(), id.into());
    for (k, v) in extra {
        s.vars.insert((*k).into(), (*v).into());
    }
    s
}

/// The next push within `secs`, as `(op, data or errors JSON)`.
fn next(rx: &mut mpsc::Receiver<Push>, secs: u64) -> Option<(String, Value)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match rx.try_recv() {
            Ok(p) => {
                let v = match &p.payload {
                    Payload::Data(t) => serde_json::from_str(t).unwrap(),
                    Payload::Errors(t) => serde_json::from_str(t).unwrap(),
                };
                return Some((p.op.to_string(), v));
            }
            Err(mpsc::error::TryRecvError::Empty) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => return None,
        }
    }
}

fn names(v: &Value, field: &str) -> Vec<String> {
    v["data"][field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} in {v}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

const LIVE: &str =
    "subscription ($n: Int!) { item(order_by: {id: asc}, where: {id: {_lte: $n}}) { id name } }";

#[test]
fn live_queries_push_on_change_only() {
    let f = setup();
    let (tx, mut rx) = mpsc::channel(64);
    let admin = Session::admin();
    let s1 = f
        .manager
        .subscribe(
            &f.engine,
            &admin,
            &request(LIVE, json!({"n": 2})),
            "a".into(),
            tx.clone(),
        )
        .unwrap();
    let s2 = f
        .manager
        .subscribe(
            &f.engine,
            &admin,
            &request(LIVE, json!({"n": 2})),
            "b".into(),
            tx.clone(),
        )
        .unwrap();
    let s3 = f
        .manager
        .subscribe(
            &f.engine,
            &admin,
            &request(LIVE, json!({"n": 3})),
            "c".into(),
            tx.clone(),
        )
        .unwrap();
    let dump = f.manager.dump();
    assert_eq!(dump.len(), 1, "one poller: {dump:?}");
    assert_eq!(
        (dump[0].3, dump[0].4),
        (2, 3),
        "two cohorts, three subscribers"
    );
    let mut first: Vec<_> = (0..3).map(|_| next(&mut rx, 10).unwrap()).collect();
    first.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(names(&first[0].1, "item"), ["a", "b"]);
    assert_eq!(names(&first[1].1, "item"), ["a", "b"]);
    assert_eq!(names(&first[2].1, "item"), ["a", "b", "c"]);
    // Nothing changed: nothing is pushed.
    assert!(next(&mut rx, 1).is_none(), "no change, no push");
    // A change seen only by the third cohort.
    f.server.run_sql("UPDATE item SET name = 'C' WHERE id = 3");
    let (op, v) = next(&mut rx, 10).unwrap();
    assert_eq!(
        (op.as_str(), names(&v, "item")),
        ("c", vec!["a".into(), "b".into(), "C".into()])
    );
    assert!(
        next(&mut rx, 1).is_none(),
        "the first cohort did not change"
    );
    // A late subscriber gets the current answer at once.
    let s4 = f
        .manager
        .subscribe(
            &f.engine,
            &admin,
            &request(LIVE, json!({"n": 2})),
            "d".into(),
            tx.clone(),
        )
        .unwrap();
    let (op, v) = next(&mut rx, 10).unwrap();
    assert_eq!(
        (op.as_str(), names(&v, "item")),
        ("d", vec!["a".into(), "b".into()])
    );
    assert!(next(&mut rx, 1).is_none(), "only the new subscriber got it");
    // Gone subscribers: their cohort, then the poller, go away.
    drop(s3);
    assert_eq!(f.manager.dump()[0].3, 1);
    drop((s1, s2, s4));
    // The poller notices at its next round (one interval; later on a busy machine).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !f.manager.dump().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(f.manager.dump().is_empty(), "{:?}", f.manager.dump());
}

#[test]
fn permissions_and_session_variables() {
    let f = setup();
    let (tx, mut rx) = mpsc::channel(64);
    let q = request(
        "subscription { item(order_by: {id: asc}) { name } }",
        json!({}),
    );
    let _a = f
        .manager
        .subscribe(&f.engine, &user("1", &[]), &q, "1".into(), tx.clone())
        .unwrap();
    let _b = f
        .manager
        .subscribe(
            &f.engine,
            &user("1", &[("x-hasura-other", "z")]),
            &q,
            "1b".into(),
            tx.clone(),
        )
        .unwrap();
    let _c = f
        .manager
        .subscribe(&f.engine, &user("2", &[]), &q, "2".into(), tx.clone())
        .unwrap();
    assert_eq!(
        f.manager.dump()[0].3,
        2,
        "unused session variables do not split cohorts"
    );
    let mut got: Vec<_> = (0..3).map(|_| next(&mut rx, 10).unwrap()).collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(names(&got[0].1, "item"), ["a", "b", "e"]);
    assert_eq!(names(&got[1].1, "item"), ["a", "b", "e"]);
    assert_eq!(names(&got[2].1, "item"), ["c", "d"]);
    // A user's write reaches only that user's subscribers.
    f.server
        .run_sql("INSERT INTO item (owner, name) VALUES (2, 'f')");
    let (op, v) = next(&mut rx, 10).unwrap();
    assert_eq!(
        (op.as_str(), names(&v, "item")),
        ("2", vec!["c".into(), "d".into(), "f".into()])
    );
    assert!(next(&mut rx, 1).is_none());
}

#[test]
fn idle_subscriptions_run_no_sql() {
    let f = setup();
    let (tx, mut rx) = mpsc::channel(64);
    let q = request("subscription { item_count { n } }", json!({}));
    let _s = f
        .manager
        .subscribe(&f.engine, &Session::admin(), &q, "n".into(), tx.clone())
        .unwrap();
    let runs = || f.server.run_sql("SELECT last_value FROM runs")[0][0].clone();
    let (_, v) = next(&mut rx, 10).unwrap();
    assert_eq!(v["data"]["item_count"][0]["n"], json!(5), "{v}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(runs(), json!("1"), "no write, no run");
    f.server.run_sql("INSERT INTO other VALUES (1)");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(runs(), json!("1"), "a write elsewhere runs nothing");
    assert!(next(&mut rx, 0).is_none());
    f.server
        .run_sql("INSERT INTO item (owner, name) VALUES (3, 'x')");
    let (_, v) = next(&mut rx, 10).unwrap();
    assert_eq!(v["data"]["item_count"][0]["n"], json!(6), "{v}");
    assert_eq!(runs(), json!("2"));
}

#[test]
fn streams_advance_their_cursor() {
    let f = setup();
    let (tx, mut rx) = mpsc::channel(64);
    let q = request(
        "subscription ($c: Int) { item_stream(batch_size: 2, cursor: {initial_value: {id: $c}}) { id name } }",
        json!({"c": 0}),
    );
    let _s = f
        .manager
        .subscribe(&f.engine, &Session::admin(), &q, "s".into(), tx.clone())
        .unwrap();
    let mut batches = Vec::new();
    for _ in 0..3 {
        batches.push(names(&next(&mut rx, 10).unwrap().1, "item_stream"));
    }
    assert_eq!(batches, [vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
    assert!(next(&mut rx, 1).is_none(), "empty batches are not sent");
    f.server
        .run_sql("INSERT INTO item (owner, name) VALUES (1, 'g'), (1, 'h'), (1, 'i')");
    let got = [
        names(&next(&mut rx, 10).unwrap().1, "item_stream"),
        names(&next(&mut rx, 10).unwrap().1, "item_stream"),
    ];
    assert_eq!(got, [vec!["g", "h"], vec!["i"]]);
}

#[test]
fn full_queues_lose_nothing() {
    let f = setup();
    let (tx, mut rx) = mpsc::channel(1);
    let mut subs = Vec::new();
    for n in 1..=3 {
        let q = request(LIVE, json!({ "n": n }));
        let op = format!("live{n}");
        subs.push(
            f.manager
                .subscribe(&f.engine, &Session::admin(), &q, op.into(), tx.clone())
                .unwrap(),
        );
    }
    let stream = request(
        "subscription { item_stream(batch_size: 2, cursor: {initial_value: {id: 0}}) { name } }",
        json!({}),
    );
    for op in ["s1", "s2"] {
        subs.push(
            f.manager
                .subscribe(&f.engine, &Session::admin(), &stream, op.into(), tx.clone())
                .unwrap(),
        );
    }
    // Read slowly: the queue is full most of the time.
    let mut got: std::collections::BTreeMap<String, Vec<Vec<String>>> = Default::default();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while got.values().map(Vec::len).sum::<usize>() < 3 + 2 * 3
        && std::time::Instant::now() < deadline
    {
        if let Some((op, v)) = next(&mut rx, 1) {
            let field = if op.starts_with('s') {
                "item_stream"
            } else {
                "item"
            };
            got.entry(op).or_default().push(names(&v, field));
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    for n in 1..=3 {
        let want: Vec<String> = ["a", "b", "c"][..n].iter().map(|s| s.to_string()).collect();
        assert_eq!(got.get(&format!("live{n}")), Some(&vec![want]), "{got:?}");
    }
    let batches = vec![vec!["a", "b"], vec!["c", "d"], vec!["e"]];
    for op in ["s1", "s2"] {
        assert_eq!(
            got.get(op).cloned().unwrap_or_default(),
            batches,
            "{op}: {got:?}"
        );
    }
    drop(subs);
}
