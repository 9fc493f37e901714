//! Identical concurrent queries share one run (`edge::coalesce`), end to end: a throwaway
//! Postgres, the real `graphedge serve`, concurrent clients on `/v1/graphql`.
//!
//! * `identical_queries_share_runs` — a tracked view that draws `nextval` counts the runs:
//!   with coalescing on, 8 clients × 40 identical requests make fewer runs than requests, every
//!   client gets a well-formed answer, and no answer is shared by more requests than there
//!   are clients; with `--coalesce-queries=false`, every request is its own run.
//! * `a_read_after_a_write_sees_it` — while 8 clients hammer a ~2 ms read of `kv`, a writer sets
//!   the value and at once reads it back with the identical query: it must see its own write
//!   every time (a request joins only a run not yet sent).
//! * `a_hung_run_does_not_hold_the_next` — while the first run of a query hangs (3 s), an
//!   identical request waits at most ~10 ms for it and then runs on its own.
//! * `other_variables_share_batches` — 8 clients × 40 requests of one query, each with its own
//!   variable and `X-Hasura-User-Id` (a permission filter on it): every answer is exactly the
//!   rows that request may see (values with quotes, backslashes, braces, commas, non-ASCII,
//!   empty and NULL included), and requests with other parameters were answered by one
//!   statement (they share a `statement_timestamp()`): they are batched; with
//!   `--batch-budget-us 0` never.
//! * `function_queries_are_never_shared` — a VOLATILE function tracked with
//!   `exposed_as: query` runs once per request (plans that call user functions are never
//!   coalesced).
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{database, post, Server};
use graphedge_scheduler::pgtemp::TempPostgres;
use serde_json::{json, Value};

const SCHEMA_SQL: &str = "
CREATE SEQUENCE runs;
CREATE SEQUENCE calls;
-- Every run of a query on this view draws one number, and takes ~2 ms (quick enough to be
-- coalesced, long enough for runs to overlap).
CREATE VIEW tick AS SELECT nextval('runs') AS n FROM (SELECT pg_sleep(0.002)) s;
-- The first run of a query on this view hangs for 3 s, later ones do not.
CREATE SEQUENCE stalls;
CREATE VIEW stall AS SELECT s.n FROM (SELECT nextval('stalls') AS n) s,
  LATERAL (SELECT pg_sleep(CASE WHEN s.n = 1 THEN 3 ELSE 0 END)) z;
CREATE TABLE kv (k int PRIMARY KEY, v int NOT NULL);
INSERT INTO kv VALUES (1, 0);
-- Reads of kv taking ~2 ms, so that runs are in flight while the writer writes.
CREATE VIEW kv_slow AS SELECT k, v FROM kv, (SELECT pg_sleep(0.002)) s;
CREATE TABLE item (id int PRIMARY KEY, owner int NOT NULL, v text);
INSERT INTO item SELECT i, i % 4, CASE i % 8
  WHEN 0 THEN 'say \"hi\", {x}' WHEN 1 THEN 'back\\slash' WHEN 2 THEN 'naïve €'
  WHEN 3 THEN '' WHEN 4 THEN NULL ELSE 'v' || i END
  FROM generate_series(1, 64) i;
-- ~2 ms per statement (and per row of a batch), with the statement's start time.
CREATE VIEW item_at AS SELECT i.id, i.owner, i.v, statement_timestamp()::text AS at
  FROM item i, (SELECT pg_sleep(0.002)) s;
CREATE FUNCTION kv_calls() RETURNS SETOF kv LANGUAGE sql VOLATILE AS
  $$ SELECT k, nextval('calls')::int FROM kv, (SELECT pg_sleep(0.002)) s $$;
";

fn setup(flags: &[&str]) -> (TempPostgres, Server) {
    let (pg, url) = database();
    let server = Server::start_with(&url, flags);
    server.run_sql(SCHEMA_SQL);
    server.track("tick");
    server.track("kv");
    server.track("stall");
    server.track("kv_slow");
    server.track("item_at");
    server.metadata(
        json!({"type": "pg_create_select_permission", "args": {"source": "default",
        "table": "item_at", "role": "user", "permission": {"columns": "*",
        "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}}}),
    );
    server.metadata(
        json!({"type": "pg_track_function", "args": {"source": "default",
        "function": "kv_calls", "configuration": {"exposed_as": "query"}}}),
    );
    (pg, server)
}

/// Sends `query` from `clients` threads, `each` times per thread; returns every answer's
/// `data`, asserting status 200 and no errors.
fn hammer(server: &Server, query: &str, clients: usize, each: usize) -> Vec<Value> {
    let body = json!({ "query": query }).to_string();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (base, body) = (server.base.clone(), body.clone());
            std::thread::spawn(move || {
                (0..each)
                    .map(|_| {
                        let (status, out) = post(&base, "/v1/graphql", &[], &body);
                        assert_eq!(status, 200, "{out}");
                        assert!(out.get("errors").is_none(), "{out}");
                        out["data"].clone()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

/// How many requests got each value of `field` (a bigint, returned as a string or number).
fn histogram(answers: &[Value], pick: impl Fn(&Value) -> &Value) -> HashMap<String, usize> {
    let mut h = HashMap::new();
    for a in answers {
        *h.entry(pick(a).to_string()).or_default() += 1;
    }
    h
}

fn sequence(server: &Server, name: &str) -> i64 {
    let rows = server.run_sql(&format!(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {name}"
    ));
    rows[0][0].as_str().unwrap().parse().unwrap()
}

#[test]
fn identical_queries_share_runs() {
    const CLIENTS: usize = 8;
    const EACH: usize = 40;
    for (flags, shared) in [(&[][..], true), (&["--coalesce-queries=false"][..], false)] {
        let (_pg, server) = setup(flags);
        let answers = hammer(&server, "{ tick { n } }", CLIENTS, EACH);
        assert_eq!(answers.len(), CLIENTS * EACH);
        let runs = histogram(&answers, |a| &a["tick"][0]["n"]);
        assert_eq!(
            runs.len() as i64,
            sequence(&server, "runs"),
            "every run answered somebody"
        );
        let widest = runs.values().copied().max().unwrap();
        if shared {
            assert!(
                runs.len() < CLIENTS * EACH,
                "{} runs for {} requests",
                runs.len(),
                CLIENTS * EACH
            );
            assert!(widest <= CLIENTS, "a run answered {widest} requests");
        } else {
            assert_eq!(widest, 1, "coalescing is off");
        }
    }
}

#[test]
fn a_read_after_a_write_sees_it() {
    let (_pg, server) = setup(&[]);
    let read = "{ kv_slow(where: {k: {_eq: 1}}) { v } }";
    let stop = Arc::new(AtomicBool::new(false));
    let noise: Vec<_> = (0..8)
        .map(|_| {
            let (base, stop) = (server.base.clone(), stop.clone());
            let body = json!({ "query": read }).to_string();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (status, out) = post(&base, "/v1/graphql", &[], &body);
                    assert_eq!(status, 200, "{out}");
                }
            })
        })
        .collect();
    for i in 1..=150 {
        let (status, out) = server.graphql(
            &[],
            &format!(
                "mutation {{ update_kv_by_pk(pk_columns: {{k: 1}}, _set: {{v: {i}}}) {{ v }} }}"
            ),
        );
        assert_eq!(
            (status, &out["data"]["update_kv_by_pk"]["v"]),
            (200, &json!(i)),
            "{out}"
        );
        let (status, out) = server.graphql(&[], read);
        assert_eq!(status, 200, "{out}");
        assert_eq!(
            out["data"]["kv_slow"][0]["v"],
            json!(i),
            "the read after write {i} missed it"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for t in noise {
        t.join().unwrap();
    }
}

#[test]
fn other_variables_share_batches() {
    // A budget far over the view's ~2 ms per row, so batches form however loaded the machine;
    // and a zero budget, which batches nothing.
    for (budget, batched) in [("1000000", true), ("0", false)] {
        let (_pg, server) = setup(&["--batch-budget-us", budget]);
        let widest = widest_statement(&server);
        if batched {
            assert!(widest > 1, "nothing was batched");
        } else {
            assert_eq!(widest, 1, "batching is off");
        }
    }
}

/// 8 clients × 40 requests of one query with their own variable and user, each answer checked
/// against the table; returns the most distinct (item, user) pairs one statement answered.
fn widest_statement(server: &Server) -> usize {
    const CLIENTS: usize = 8;
    const EACH: usize = 40;
    let rows = server.run_sql("SELECT id, owner, v FROM item");
    let item: HashMap<i64, (i64, Value)> = rows
        .iter()
        .map(|r| {
            let n = |v: &Value| v.as_str().unwrap().parse::<i64>().unwrap();
            let v = if r[2] == json!("NULL") {
                Value::Null
            } else {
                r[2].clone()
            };
            (n(&r[0]), (n(&r[1]), v))
        })
        .collect();
    assert_eq!(item.len(), 64);
    let query = "query($id: Int!) { item_at(where: {id: {_eq: $id}}) { id owner v at } }";
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let base = server.base.clone();
            std::thread::spawn(move || {
                (0..EACH)
                    .map(|i| {
                        let id = (c * 7 + i * 13) % 64 + 1;
                        // Half the requests ask for their own item.
                        let user = (id + i % 2) % 4;
                        let body = json!({ "query": query, "variables": { "id": id } });
                        let user = user.to_string();
                        let headers = [("x-hasura-role", "user"), ("x-hasura-user-id", &*user)];
                        let (status, out) = post(&base, "/v1/graphql", &headers, &body.to_string());
                        assert_eq!(status, 200, "{out}");
                        (id as i64, user.parse::<i64>().unwrap(), out)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let answers: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    // Statement start time → the (item, user) pairs it answered.
    let mut statements: HashMap<String, std::collections::HashSet<(i64, i64)>> = HashMap::new();
    for (id, user, out) in &answers {
        let got = out["data"]["item_at"]
            .as_array()
            .unwrap_or_else(|| panic!("{out}"));
        let (owner, v) = &item[id];
        if owner != user {
            assert!(got.is_empty(), "user {user} sees item {id}: {out}");
            continue;
        }
        assert_eq!(got.len(), 1, "{out}");
        assert_eq!(
            (&got[0]["id"], &got[0]["owner"], &got[0]["v"]),
            (&json!(id), &json!(owner), v),
            "item {id} for user {user}"
        );
        let at = got[0]["at"].as_str().unwrap().to_string();
        statements.entry(at).or_default().insert((*id, *user));
    }
    let visible = answers
        .iter()
        .filter(|(id, user, _)| item[id].0 == *user)
        .count();
    assert!(visible > 50, "{visible} answers with a row");
    statements.values().map(|s| s.len()).max().unwrap()
}

#[test]
fn function_queries_are_never_shared() {
    const CLIENTS: usize = 8;
    const EACH: usize = 20;
    let (_pg, server) = setup(&[]);
    let answers = hammer(&server, "{ kv_calls { v } }", CLIENTS, EACH);
    let calls = histogram(&answers, |a| &a["kv_calls"][0]["v"]);
    assert_eq!(calls.len(), CLIENTS * EACH, "each request ran its own call");
    assert_eq!(sequence(&server, "calls"), (CLIENTS * EACH) as i64);
}

#[test]
fn a_hung_run_does_not_hold_the_next() {
    let (_pg, server) = setup(&[]);
    let query = "{ stall { n } }";
    let base = server.base.clone();
    let body = json!({ "query": query }).to_string();
    let first = std::thread::spawn(move || post(&base, "/v1/graphql", &[], &body));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let started = std::time::Instant::now();
    let (status, out) = server.graphql(&[], query);
    let took = started.elapsed();
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["data"]["stall"][0]["n"], json!(2), "{out}");
    assert!(
        took < std::time::Duration::from_millis(1500),
        "the second request waited {took:?} behind the hung run"
    );
    let (status, out) = first.join().unwrap();
    assert_eq!((status, &out["data"]["stall"][0]["n"]), (200, &json!(1)));
}
