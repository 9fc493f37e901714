//! `query @cached(ttl, refresh)` against the real binary and a throwaway Postgres:
//! * `cached_answers_are_kept_per_statement_and_never_cross_sessions` — a kept answer is served
//!   again (a row written since does not show) with Hasura's headers; another user of the same
//!   role, whose row filter reads `X-Hasura-User-Id`, never gets it; `refresh` runs again;
//!   queries without the directive and mutations carry no cache headers; `Vary` names the
//!   session variable the filter reads; GET and REST endpoints answer alike.
mod common;

use common::{database, Server};
use serde_json::{json, Value};

const SECRET: &str = "cached-secret";

const SCHEMA_SQL: &str = "
CREATE TABLE note (id serial PRIMARY KEY, owner text NOT NULL, body text NOT NULL);
INSERT INTO note (owner, body) VALUES ('u1', 'first of u1'), ('u2', 'first of u2');";

/// An answer: status, the headers we look at, and the JSON body.
struct Answer {
    status: u16,
    cache_control: Option<String>,
    key: Option<String>,
    family: Option<String>,
    vary: Option<String>,
    body: Value,
}

fn send(req: ureq::Request, body: Option<&str>) -> Answer {
    let resp = match body.map_or_else(|| req.clone().call(), |b| req.clone().send_string(b)) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let header = |n: &str| resp.header(n).map(str::to_string);
    let (cache_control, key, family, vary) = (
        header("cache-control"),
        header("x-hasura-query-cache-key"),
        header("x-hasura-query-family-cache-key"),
        header("vary"),
    );
    let status = resp.status();
    let text = resp.into_string().unwrap();
    Answer {
        status,
        cache_control,
        key,
        family,
        vary,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn as_user(req: ureq::Request, user: &str) -> ureq::Request {
    req.set("x-hasura-admin-secret", SECRET)
        .set("x-hasura-role", "user")
        .set("x-hasura-user-id", user)
}

fn graphql(server: &Server, user: Option<&str>, query: &str) -> Answer {
    let req = ureq::post(&format!("{}/v1/graphql", server.base));
    let req = match user {
        Some(u) => as_user(req, u),
        None => req.set("x-hasura-admin-secret", SECRET),
    };
    send(req, Some(&json!({ "query": query }).to_string()))
}

fn admin(server: &Server, path: &str, body: Value) {
    let (status, out) = server.post(
        path,
        &[("x-hasura-admin-secret", SECRET)],
        &body.to_string(),
    );
    assert_eq!(status, 200, "{body}: {out}");
}

fn bodies(a: &Answer) -> Vec<&str> {
    a.body["data"]["note"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", a.body))
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect()
}

#[test]
fn cached_answers_are_kept_per_statement_and_never_cross_sessions() {
    let (_pg, url) = database();
    let server = Server::start_with(&url, &["--admin-secret", SECRET]);
    admin(
        &server,
        "/v2/query",
        json!({"type": "run_sql", "args": {"sql": SCHEMA_SQL}}),
    );
    admin(
        &server,
        "/v1/metadata",
        json!({"type": "pg_track_table", "args": {"table": "note"}}),
    );
    admin(
        &server,
        "/v1/metadata",
        json!({"type": "pg_create_select_permission", "args": {"table": "note", "role": "user",
            "permission": {"columns": ["id", "body"], "filter": {"owner": {"_eq": "X-Hasura-User-Id"}}}}}),
    );
    let cached = "query @cached(ttl: 120) { note(order_by: {id: asc}) { body } }";

    // First run: kept, with Hasura's headers and Vary on the session variable it reads.
    let u1 = graphql(&server, Some("u1"), cached);
    assert_eq!((u1.status, bodies(&u1)), (200, vec!["first of u1"]));
    assert_eq!(u1.cache_control.as_deref(), Some("max-age=120"));
    let vary = u1.vary.clone().unwrap();
    assert!(
        vary.contains("x-hasura-user-id") && vary.contains("Authorization"),
        "{vary}"
    );
    let key = u1.key.clone().unwrap();

    // A row written since does not show: the kept answer is served.
    admin(
        &server,
        "/v2/query",
        json!({"type": "run_sql", "args": {"sql": "INSERT INTO note (owner, body) VALUES ('u1', 'second of u1')"}}),
    );
    let again = graphql(&server, Some("u1"), cached);
    assert_eq!(bodies(&again), vec!["first of u1"]);
    assert_eq!(again.key.as_deref(), Some(key.as_str()));
    let age: u64 = again.cache_control.unwrap()["max-age=".len()..]
        .parse()
        .unwrap();
    assert!(age <= 120, "{age}");

    // Another user of the same role runs the same SQL with another parameter: never u1's.
    let u2 = graphql(&server, Some("u2"), cached);
    assert_eq!(bodies(&u2), vec!["first of u2"]);
    assert_ne!(u2.key, u1.key);
    assert_eq!(u2.family, u1.family);

    // `refresh` runs the statement again and keeps the new answer.
    let refreshed = graphql(
        &server,
        Some("u1"),
        "query @cached(ttl: 120, refresh: true) { note(order_by: {id: asc}) { body } }",
    );
    assert_eq!(bodies(&refreshed), vec!["first of u1", "second of u1"]);
    assert_eq!(
        bodies(&graphql(&server, Some("u1"), cached)),
        vec!["first of u1", "second of u1"]
    );

    // Admin's statement has no row filter: its own answer.
    let all = graphql(&server, None, cached);
    assert_eq!(bodies(&all).len(), 3);
    assert_ne!(all.family, u1.family);

    // No directive, a mutation: no cache headers.
    let plain = graphql(&server, Some("u1"), "{ note { body } }");
    assert_eq!((plain.cache_control, plain.key), (None, None));
    let mutation = graphql(
        &server,
        None,
        "mutation { insert_note_one(object: {owner: \"u3\", body: \"x\"}) { id } }",
    );
    assert_eq!(mutation.status, 200, "{}", mutation.body);
    assert_eq!(mutation.cache_control, None);

    // GET, as a CDN sees it: the same kept answer and headers.
    let get = send(
        as_user(ureq::get(&format!("{}/v1/graphql", server.base)), "u2").query("query", cached),
        None,
    );
    assert_eq!(bodies(&get), vec!["first of u2"]);
    assert_eq!(get.key, u2.key);

    // A REST endpoint over a @cached query.
    admin(
        &server,
        "/v1/metadata",
        json!({"type": "create_query_collection", "args": {"name": "c",
            "definition": {"queries": [{"name": "notes", "query": cached}]}}}),
    );
    admin(
        &server,
        "/v1/metadata",
        json!({"type": "create_rest_endpoint", "args": {"name": "notes", "url": "notes",
            "methods": ["GET"], "definition": {"query": {"collection_name": "c", "query_name": "notes"}}}}),
    );
    let rest = send(
        as_user(ureq::get(&format!("{}/api/rest/notes", server.base)), "u2"),
        None,
    );
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(rest.body["note"], json!([{"body": "first of u2"}]));
    assert!(rest.cache_control.is_some());
}
