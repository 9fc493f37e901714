//! Property test over parse + compile: no input, however malformed, may panic; every failure
//! is an `Error` with a Hasura code. Runs in CI for a bounded number of cases
//! (`PROPTEST_CASES`, default 3000 per property).
mod common;

use common::{blog_schema, user_session};
use graphedge_core::{compile, Options, Request, Value};
use proptest::prelude::*;

/// Pieces that make mostly-valid GraphQL so the compiler (not only the parser) is exercised.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    "$",
    "!",
    "=",
    "@",
    "...",
    "query",
    "mutation",
    "subscription",
    "fragment",
    "on",
    "author",
    "article",
    "author_by_pk",
    "article_aggregate",
    "author_aggregate",
    "articles",
    "articles_aggregate",
    "author",
    "id",
    "name",
    "title",
    "rating",
    "secret",
    "where",
    "order_by",
    "limit",
    "offset",
    "distinct_on",
    "_eq",
    "_in",
    "_nin",
    "_gt",
    "_is_null",
    "_like",
    "_and",
    "_or",
    "_not",
    "aggregate",
    "count",
    "sum",
    "avg",
    "max",
    "nodes",
    "asc",
    "desc",
    "desc_nulls_last",
    "__typename",
    "__schema",
    "__type",
    "types",
    "kind",
    "@skip",
    "@include",
    "if",
    "true",
    "false",
    "null",
    "1",
    "-1",
    "2.5",
    "\"x\"",
    "\"%a%\"",
    "$v",
    "$id",
    "F",
    "_set",
    "insert_author",
    "objects",
    "returning",
    "update_article",
    "delete_author",
    "affected_rows",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|t| t.join(" "))
}

fn run(query: &str, role: &str) {
    let schema = blog_schema();
    let session = user_session(role, "1");
    let vars = vec![
        ("v".to_string(), Value::Number("3".into())),
        ("id".to_string(), Value::String("abc".into())),
    ];
    let req = Request {
        query,
        operation_name: None,
        variables: &vars,
    };
    for relay in [false, true] {
        let opts = Options {
            stringify_numeric: true,
            relay,
            ..Default::default()
        };
        if let Ok(plan) = compile(&schema, &session, &req, &opts) {
            let _ = plan.bind(&vars, &session);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000)
    ))]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        run(&s, "admin");
    }

    #[test]
    fn token_soup_never_panics(q in token_soup(), user in any::<bool>()) {
        run(&q, if user { "user" } else { "admin" });
    }

    #[test]
    fn wrapped_token_soup_never_panics(q in token_soup(), user in any::<bool>()) {
        run(&format!("query Q($v: Int, $id: String) {{ author {{ {q} }} }}"), if user { "user" } else { "admin" });
    }
}
