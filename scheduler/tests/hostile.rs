//! Hostile single requests against the real `graphedge serve` (issue 21): none may take the
//! server down, hang it, or get a wrong answer. One server and one `check()` over a table of
//! requests; after every answer `/healthz` must still answer.
//!
//! * `hostile_requests` — fragment cycles and undefined fragments (Hasura's error, code and
//!   path), the 30-fragment fan-out document (an error, while `/healthz` keeps answering),
//!   selections 1, 100, 101, 1,000 and 10,000 fields wide (correct data, keys in order), wide
//!   root selections, deep `where` nesting and deep input lists within and beyond the bounds
//!   (data, or a clean error), as admin and as a role with permissions.
mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{database, post, Server};
use serde_json::{json, Map, Value};

const SETUP_SQL: &str = "
CREATE TABLE author (id int PRIMARY KEY, name text NOT NULL, parent_id int REFERENCES author(id));
CREATE TABLE article (id int PRIMARY KEY, title text NOT NULL,
                      author_id int NOT NULL REFERENCES author(id));
INSERT INTO author VALUES (1, 'Ada', NULL), (2, 'Brian', 1);
INSERT INTO article VALUES (1, 'On engines', 1), (2, 'On compilers', 2);";

fn setup(server: &Server) {
    server.run_sql(SETUP_SQL);
    server.track("author");
    server.track("article");
    for step in [
        json!({"type": "pg_create_object_relationship", "args": {
            "source": "default", "table": "article", "name": "author",
            "using": {"foreign_key_constraint_on": "author_id"}}}),
        json!({"type": "pg_create_object_relationship", "args": {
            "source": "default", "table": "author", "name": "parent",
            "using": {"foreign_key_constraint_on": "parent_id"}}}),
        json!({"type": "pg_create_array_relationship", "args": {
            "source": "default", "table": "author", "name": "articles",
            "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}}}),
        json!({"type": "pg_create_select_permission", "args": {
            "source": "default", "table": "author", "role": "user",
            "permission": {"columns": ["id", "name"], "filter": {}}}}),
        json!({"type": "pg_create_select_permission", "args": {
            "source": "default", "table": "article", "role": "user",
            "permission": {"columns": ["id", "title"],
                           "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}}),
    ] {
        server.metadata(step);
    }
}

const USER: &[(&str, &str)] = &[("x-hasura-role", "user"), ("x-hasura-user-id", "1")];
const ADMIN: &[(&str, &str)] = &[];

/// What a request must get: `data` equal to this, or one error with this code, path and
/// message.
enum Expect {
    Data(Value),
    Error(&'static str, String, String),
}

fn error(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Expect {
    Expect::Error(code, path.into(), message.into())
}

/// A request: name, headers, body, expected answer.
type Case = (
    String,
    &'static [(&'static str, &'static str)],
    Value,
    Expect,
);

/// `n` copies of `open`, then `inner`, then `n` copies of `close`.
fn nest(n: usize, open: &str, inner: &str, close: &str) -> String {
    format!("{}{}{}", open.repeat(n), inner, close.repeat(n))
}

/// `{ author(where: {id: {_eq: 1}}) { f0: name … f{n-1}: name } }` and its data.
fn wide(n: usize) -> (String, Value) {
    let fields: Vec<String> = (0..n).map(|i| format!("f{i}: name")).collect();
    let row: Map<String, Value> = (0..n).map(|i| (format!("f{i}"), json!("Ada"))).collect();
    (
        format!(
            "{{ author(where: {{id: {{_eq: 1}}}}) {{ {} }} }}",
            fields.join(" ")
        ),
        json!({"author": [row]}),
    )
}

/// `n` root fields `r0: author_by_pk(id: 1) { name }` … and their data.
fn wide_root(n: usize) -> (String, Value) {
    let fields: Vec<String> = (0..n)
        .map(|i| format!("r{i}: author_by_pk(id: 1) {{ name }}"))
        .collect();
    let data: Map<String, Value> = (0..n)
        .map(|i| (format!("r{i}"), json!({"name": "Ada"})))
        .collect();
    (format!("{{ {} }}", fields.join(" ")), Value::Object(data))
}

/// 30 fragments, each spreading the next twice: 2^30 fields from 1.3 KB.
fn fan_out(n: usize) -> String {
    let mut s = String::from("query { author { ...F0 } }\n");
    for i in 0..n {
        let body = if i + 1 < n {
            format!("id ...F{} ...F{}", i + 1, i + 1)
        } else {
            "id name".into()
        };
        s.push_str(&format!("fragment F{i} on author {{ {body} }}\n"));
    }
    s
}

/// Posts `body` as `headers` and compares the answer; then `/healthz` must answer.
fn check(server: &Server, name: &str, headers: &[(&str, &str)], body: &Value, want: &Expect) {
    let (status, got) = server.post("/v1/graphql", headers, &body.to_string());
    match want {
        Expect::Data(data) => {
            assert_eq!(status, 200, "{name}: {got}");
            let want = json!({ "data": data });
            assert_eq!(got, want, "{name}");
            // Keys keep the order of the selection (JSON objects are built in chunks): the
            // texts (in key order, both) are equal too.
            assert_eq!(got.to_string(), want.to_string(), "{name}: key order");
        }
        Expect::Error(code, path, message) => {
            let want = json!({"errors": [{"extensions": {"path": path, "code": code},
                                          "message": message}]});
            assert_eq!(got, want, "{name} (status {status})");
        }
    }
    let health = ureq::get(&format!("{}/healthz", server.base)).call();
    assert!(
        health.is_ok_and(|r| r.status() == 200),
        "{name}: /healthz no longer answers"
    );
}

#[test]
fn hostile_requests() {
    let (_pg, url) = database();
    let server = Server::start(&url);
    setup(&server);

    let q = |query: &str| json!({ "query": query });
    let invalid_query = || error("validation-failed", "$.query", "not a valid graphql query");
    let mut cases: Vec<Case> = vec![
        (
            "fragment cycle".into(),
            ADMIN,
            q("query { author { ...A } }
               fragment A on author { id articles { ...B } }
               fragment B on article { title author { ...A } }"),
            error(
                "validation-failed",
                "$.selectionSet.author.selectionSet.A.selectionSet.articles.selectionSet.B.selectionSet.author.selectionSet",
                "the fragment definition(s) A and B form a cycle",
            ),
        ),
        (
            "undefined fragment".into(),
            USER,
            q("{ author { ...Nope } }"),
            error(
                "validation-failed",
                "$.selectionSet.author.selectionSet",
                "reference to undefined fragment \"Nope\"",
            ),
        ),
        (
            "unused cyclic fragments".into(),
            USER,
            q("{ author(where: {id: {_eq: 2}}) { name } }
               fragment A on author { ...B } fragment B on author { ...A }"),
            Expect::Data(json!({"author": [{"name": "Brian"}]})),
        ),
        (
            "a fragment shared by many fields".into(),
            USER,
            q("{ a: author(where: {id: {_eq: 1}}) { ...F articles { title author { ...F } } }
                 b: author(where: {id: {_eq: 2}}) { ...F } }
               fragment F on author { id name }"),
            Expect::Data(json!({
                "a": [{"id": 1, "name": "Ada",
                       "articles": [{"title": "On engines", "author": {"id": 1, "name": "Ada"}}]}],
                "b": [{"id": 2, "name": "Brian"}]})),
        ),
        (
            "selections nested beyond the bound".into(),
            ADMIN,
            q(&format!("{{ author {} }}", nest(70, "{ parent ", "{ id }", " }"))),
            error(
                "validation-failed",
                format!("$.selectionSet.author{}", ".selectionSet.parent".repeat(64)),
                "the query is nested too deeply (more than 64 levels of fields or 256 of selection sets)",
            ),
        ),
        (
            "_and nested 100 deep".into(),
            USER,
            q(&format!(
                "{{ author(where: {}) {{ name }} }}",
                nest(100, "{_and: ", "{id: {_eq: 1}}", "}")
            )),
            Expect::Data(json!({"author": [{"name": "Ada"}]})),
        ),
        (
            "_or lists nested 60 deep".into(),
            USER,
            q(&format!(
                "{{ author(where: {}) {{ name }} }}",
                nest(60, "{_or: [", "{id: {_eq: 2}}", "]}")
            )),
            Expect::Data(json!({"author": [{"name": "Brian"}]})),
        ),
        (
            "where relationship path 100 deep".into(),
            USER,
            q(&format!(
                "{{ author(where: {}) {{ name }} }}",
                nest(100, "{parent: ", "{id: {_eq: 1}}", "}")
            )),
            Expect::Data(json!({"author": []})),
        ),
        (
            "order_by relationship path 100 deep".into(),
            USER,
            q(&format!(
                "{{ author(order_by: [{}, {{id: desc}}]) {{ name }} }}",
                nest(100, "{parent: ", "{name: asc}", "}")
            )),
            Expect::Data(json!({"author": [{"name": "Brian"}, {"name": "Ada"}]})),
        ),
        (
            "_and nested beyond the parser".into(),
            USER,
            q(&format!(
                "{{ author(where: {}) {{ name }} }}",
                nest(1000, "{_and: ", "{id: {_eq: 1}}", "}")
            )),
            invalid_query(),
        ),
        (
            "input list nested beyond the parser".into(),
            USER,
            q(&format!(
                "{{ author(where: {{id: {{_in: {}}}}}) {{ name }} }}",
                nest(1000, "[", "1", "]")
            )),
            invalid_query(),
        ),
        (
            "where variable nested 100 deep".into(),
            USER,
            json!({
                "query": "query($w: author_bool_exp) { author(where: $w) { name } }",
                "variables": {"w": serde_json::from_str::<Value>(
                    &nest(100, "{\"_and\": ", "{\"id\": {\"_eq\": 2}}", "}")).unwrap()}
            }),
            Expect::Data(json!({"author": [{"name": "Brian"}]})),
        ),
    ];
    // Variables nested beyond what the JSON decoder accepts: the body is refused as a whole.
    let deep_variable = format!(
        "{{\"query\": \"query($l: [Int!]) {{ author(where: {{id: {{_in: $l}}}}) {{ name }} }}\", \
         \"variables\": {{\"l\": {}}}}}",
        nest(5000, "[", "1", "]")
    );
    for (n, role) in [
        (1, USER),
        (100, USER),
        (101, ADMIN),
        (1_000, USER),
        (10_000, ADMIN),
    ] {
        let (query, data) = wide(n);
        cases.push((format!("{n} fields"), role, q(&query), Expect::Data(data)));
    }
    for n in [49, 51, 101, 151] {
        let (query, data) = wide_root(n);
        cases.push((
            format!("{n} root fields"),
            USER,
            q(&query),
            Expect::Data(data),
        ));
    }
    for (name, headers, body, want) in &cases {
        check(&server, name, headers, body, want);
    }
    let (_, got) = server.post("/v1/graphql", USER, &deep_variable);
    // (Every other walk over variables is bounded in core too: `core/tests/bounds.rs`.)
    assert_eq!(
        got["errors"][0]["extensions"]["code"], "invalid-json",
        "variable nested 5000 deep: {got}"
    );

    // The fan-out document answers with an error, and /healthz answers while it runs.
    let (tx, rx) = mpsc::channel();
    let base = server.base.clone();
    let body = q(&fan_out(30)).to_string();
    assert!(body.len() < 2_000, "the fan-out document is small");
    std::thread::spawn(move || {
        let _ = tx.send(post(&base, "/v1/graphql", &[], &body));
    });
    let health = ureq::get(&format!("{}/healthz", server.base)).call();
    assert!(
        health.is_ok_and(|r| r.status() == 200),
        "/healthz during the fan-out"
    );
    let (_, got) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the fan-out document got no answer within 60 s");
    assert_eq!(
        got,
        json!({"errors": [{"extensions": {"path": "$", "code": "validation-failed"},
               "message": "the query has more than 200000 fields once its fragments are expanded"}]})
    );
    check(
        &server,
        "after the fan-out",
        USER,
        &q("{ author(where: {id: {_eq: 1}}) { name } }"),
        &Expect::Data(json!({"author": [{"name": "Ada"}]})),
    );
}
