//! `@cached` answers in two tiers through the whole `handle`: several engines (isolates) share
//! one fake host cache (`Store`, the Workers Cache API's stand-in), each with its own memory.
//! * `a_shared_answer_serves_other_isolates_with_the_same_headers` — memory → shared →
//!   database; a shared hit refills memory; the headers are the same whichever tier answered;
//!   another user's statement is never served from it.
//! * `a_colliding_or_expired_shared_entry_is_never_served` — an entry under the right id but
//!   for another key (a hash collision), or past its expiry, runs the statement.
//! * `refresh_mutations_and_memory_off` — `refresh` rewrites both tiers, mutations are never
//!   stored, and `GRAPHEDGE_RESPONSE_CACHE_BYTES=0` leaves the shared tier alone at work.
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{body_json, fake_compile, post_graphql, FakeDb};
use graphedge_core::{Cached, Options, Plan, Request as CoreRequest, Schema, Session};
use graphedge_edge::response_cache::{BoxFuture, SharedCache};
use graphedge_edge::{Clock, Config, Engine, Response};

/// The host's shared cache: bytes per id, with the ttl each was put with.
#[derive(Default)]
struct Store {
    entries: Mutex<HashMap<String, (Vec<u8>, u64)>>,
    gets: AtomicUsize,
}

impl Store {
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

impl SharedCache for Store {
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<Vec<u8>>> {
        self.gets.fetch_add(1, Ordering::Relaxed);
        let found = self.entries.lock().unwrap().get(id).map(|e| e.0.clone());
        Box::pin(async move { found })
    }

    fn put<'a>(&'a self, id: &'a str, entry: Vec<u8>, ttl: u64) -> BoxFuture<'a, ()> {
        self.entries
            .lock()
            .unwrap()
            .insert(id.to_string(), (entry, ttl));
        Box::pin(async {})
    }
}

/// A clock the test moves.
#[derive(Default)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_unix(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// `fake_compile`, with `@cached(ttl: 60)` on queries that say `@cached` (`refresh` too when
/// they say so).
fn compile_cached(
    s: &Schema,
    session: &Session,
    req: &CoreRequest<'_>,
    o: &Options,
) -> Result<Plan, graphedge_core::Error> {
    let mut plan = fake_compile(s, session, req, o)?;
    // The directive is not part of the statement.
    plan.sql = plan.sql.replace(", refresh: true", "");
    if req.query.contains("@cached") {
        plan.cached = Some(Cached {
            ttl: 60,
            refresh: req.query.contains("refresh"),
        });
    }
    Ok(plan)
}

const QUERY: &str = "query q @cached(ttl: 60) { note { body } }";
const REFRESH: &str = "query q @cached(ttl: 60, refresh: true) { note { body } }";

fn isolate(config: Config, clock: &Arc<TestClock>, store: &Arc<Store>) -> Engine {
    Engine::from_state(config, common::empty_state())
        .with_compiler(compile_cached)
        .with_clock(clock.clone())
        .with_shared_cache(store.clone())
}

fn as_user(user: &str) -> [(&str, &str); 2] {
    [("x-hasura-role", "user"), ("x-hasura-user-id", user)]
}

/// The answer's body and its cache headers, in a fixed order.
fn seen(r: &Response) -> (serde_json::Value, Vec<(String, String)>) {
    assert_eq!(r.status, 200, "{}", body_json(r));
    let mut headers: Vec<_> = r
        .headers
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k == "cache-control" || k == "vary" || k.starts_with("x-hasura-query")
        })
        .cloned()
        .collect();
    headers.sort();
    (body_json(r), headers)
}

/// A clock at 1000, an empty host store and a fake database.
fn start() -> (Arc<TestClock>, Arc<Store>, FakeDb) {
    let clock = Arc::new(TestClock(AtomicI64::new(1000)));
    (clock, Arc::default(), FakeDb::default())
}

/// The note's body in an answer [`seen`].
fn note(seen: &(serde_json::Value, Vec<(String, String)>)) -> &str {
    seen.0["data"]["note"][0]["body"]
        .as_str()
        .unwrap_or_default()
}

fn answer(db: &FakeDb, text: &str) {
    db.answer(Ok(Some(text.into())));
}

#[test]
fn a_shared_answer_serves_other_isolates_with_the_same_headers() {
    let (clock, store, db) = start();
    let a = isolate(Config::new(), &clock, &store);
    let b = isolate(Config::new(), &clock, &store);

    answer(&db, r#"{"note":[{"body":"u1's"}]}"#);
    let first = seen(&post_graphql(&a, &db, &as_user("1"), QUERY));
    assert_eq!(db.statements.borrow().len(), 1);
    assert_eq!(note(&first), "u1's");
    assert!(first
        .1
        .contains(&("cache-control".into(), "max-age=60".into())));
    assert!(
        first
            .1
            .iter()
            .any(|(k, v)| k == "vary" && v.to_ascii_lowercase().contains("x-hasura-user-id")),
        "{:?}",
        first.1
    );
    let kept = store.entries.lock().unwrap().values().next().cloned();
    assert_eq!(kept.map(|e| e.1), Some(60), "put with the ttl");

    // Another isolate, no memory of it: the shared tier answers, same body, same headers.
    let from_shared = seen(&post_graphql(&b, &db, &as_user("1"), QUERY));
    assert_eq!(db.statements.borrow().len(), 1, "no database run");
    assert_eq!(from_shared, first);
    let gets = store.gets.load(Ordering::Relaxed);

    // Refilled memory: the next one does not ask the shared tier; later, the age shows.
    clock.0.store(1010, Ordering::Relaxed);
    let from_memory = seen(&post_graphql(&b, &db, &as_user("1"), QUERY));
    assert_eq!(store.gets.load(Ordering::Relaxed), gets, "memory answered");
    assert_eq!(from_memory.0, first.0);
    assert!(from_memory
        .1
        .contains(&("cache-control".into(), "max-age=50".into())));
    // And the shared tier, asked at the same time by a third isolate, says the same age.
    let c = isolate(Config::new(), &clock, &store);
    assert_eq!(
        seen(&post_graphql(&c, &db, &as_user("1"), QUERY)),
        from_memory
    );
    assert_eq!(db.statements.borrow().len(), 1);

    // Another user of the role: another statement, never the first user's answer.
    answer(&db, r#"{"note":[{"body":"u2's"}]}"#);
    let other = seen(&post_graphql(&c, &db, &as_user("2"), QUERY));
    assert_eq!(db.statements.borrow().len(), 2);
    assert_eq!(note(&other), "u2's");
    assert_eq!(store.len(), 2);
}

#[test]
fn a_colliding_or_expired_shared_entry_is_never_served() {
    let (clock, store, db) = start();
    let a = isolate(Config::new(), &clock, &store);
    answer(&db, r#"{"note":[{"body":"u1's"}]}"#);
    post_graphql(&a, &db, &as_user("1"), QUERY);
    answer(&db, r#"{"note":[{"body":"u2's"}]}"#);
    post_graphql(&a, &db, &as_user("2"), QUERY);
    assert_eq!(db.statements.borrow().len(), 2);

    // Every id now holds u1's entry: as if u2's key hashed to u1's id.
    {
        let mut entries = store.entries.lock().unwrap();
        let u1 = entries
            .values()
            .find(|e| String::from_utf8_lossy(&e.0).contains("u1's"))
            .cloned()
            .unwrap();
        for e in entries.values_mut() {
            *e = u1.clone();
        }
    }
    let b = isolate(Config::new(), &clock, &store);
    answer(&db, r#"{"note":[{"body":"u2's again"}]}"#);
    let r = seen(&post_graphql(&b, &db, &as_user("2"), QUERY));
    assert_eq!(note(&r), "u2's again");
    assert_eq!(
        db.statements.borrow().len(),
        3,
        "the collision ran the statement"
    );
    let r = seen(&post_graphql(&b, &db, &as_user("1"), QUERY));
    assert_eq!(note(&r), "u1's", "the right key still answers");
    assert_eq!(db.statements.borrow().len(), 3);

    // Past the expiry the entry says (the host store may keep bytes longer): a run.
    clock.0.store(1060, Ordering::Relaxed);
    let c = isolate(Config::new(), &clock, &store);
    answer(&db, r#"{"note":[{"body":"u1's later"}]}"#);
    let r = seen(&post_graphql(&c, &db, &as_user("1"), QUERY));
    assert_eq!(note(&r), "u1's later");
    assert_eq!(db.statements.borrow().len(), 4);
}

#[test]
fn refresh_mutations_and_memory_off() {
    let (clock, store, db) = start();
    let no_memory = Config {
        response_cache_bytes: 0,
        ..Config::new()
    };
    let a = isolate(no_memory.clone(), &clock, &store);
    answer(&db, r#"{"note":[{"body":"old"}]}"#);
    let first = seen(&post_graphql(&a, &db, &[], QUERY));
    // No memory: the same isolate is answered by the shared tier.
    let again = seen(&post_graphql(&a, &db, &[], QUERY));
    assert_eq!(again, first);
    assert_eq!(db.statements.borrow().len(), 1);
    assert_eq!(store.gets.load(Ordering::Relaxed), 2);

    // `refresh` runs and rewrites the shared entry.
    answer(&db, r#"{"note":[{"body":"new"}]}"#);
    let r = seen(&post_graphql(&a, &db, &[], REFRESH));
    assert_eq!(note(&r), "new");
    let r = seen(&post_graphql(&a, &db, &[], QUERY));
    assert_eq!(note(&r), "new");
    assert_eq!(db.statements.borrow().len(), 2);

    // Mutations are never stored.
    let before = store.len();
    post_graphql(&a, &db, &[], "mutation m @cached(ttl: 60) { x }");
    assert_eq!(store.len(), before);

    // Neither tier: not cached at all (no headers, every request runs).
    let plain = Engine::from_state(no_memory, common::empty_state())
        .with_compiler(compile_cached)
        .with_clock(clock.clone());
    let runs = db.statements.borrow().len();
    let r = seen(&post_graphql(&plain, &db, &[], QUERY));
    assert!(r.1.is_empty(), "{:?}", r.1);
    post_graphql(&plain, &db, &[], QUERY);
    assert_eq!(db.statements.borrow().len(), runs + 2);
}
