//! The whole edge path (`handle`: body decoding, auth, the real compiler, binding, error
//! rendering) on a 1 MB stack — a Cloudflare Worker's — in this (debug) build, for the deepest
//! and most expanding requests each bound allows and one beyond. A stack overflow aborts the
//! test binary; every case must get a JSON answer. `core/tests/bounds.rs` checks the errors in
//! detail, `scheduler/tests/hostile.rs` the answers from Postgres.
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use graphedge_core::model::*;
use graphedge_edge::{Config, Engine};
use serde_json::{json, Value};

fn col(name: &str, udt: &str) -> Column {
    Column {
        name: name.into(),
        gql_name: name.into(),
        pg_type: PgType::scalar(udt),
        nullable: true,
        has_default: false,
        is_generated: false,
        is_identity: false,
        description: None,
        enum_table: None,
    }
}

fn rel(name: &str, kind: RelKind, target: usize, mapping: (usize, usize)) -> Relationship {
    Relationship {
        name: name.into(),
        kind,
        target,
        mapping: vec![mapping],
        comment: None,
        local_fk: kind == RelKind::Object,
    }
}

/// `author(id, name, parent_id)` with `parent` and `articles`; `article(id, title, author_id)`
/// with `author`; role `user` reads both (articles of its own user id).
fn schema() -> Schema {
    let table = |name: &str, columns: Vec<Column>, relationships, filter: Value| {
        let mut permissions = BTreeMap::new();
        permissions.insert(
            "user".to_string(),
            Permissions {
                select: Some(SelectPermission {
                    columns: (0..columns.len()).collect(),
                    filter: graphedge_edge::md::json_to_value(&filter),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        Table {
            name: QualifiedName::new("public", name),
            gql_name: name.into(),
            root_fields: RootFieldNames {
                select: name.into(),
                select_by_pk: format!("{name}_by_pk"),
                select_aggregate: format!("{name}_aggregate"),
                insert: format!("insert_{name}"),
                insert_one: format!("insert_{name}_one"),
                update: format!("update_{name}"),
                update_by_pk: format!("update_{name}_by_pk"),
                update_many: format!("update_{name}_many"),
                delete: format!("delete_{name}"),
                delete_by_pk: format!("delete_{name}_by_pk"),
                comments: Default::default(),
            },
            columns,
            primary_key: vec![0],
            unique_constraints: vec![],
            relationships,
            remote_relationships: Vec::new(),
            remote_schema_relationships: Vec::new(),
            computed_fields: vec![],
            permissions,
            kind: 'r',
            mutable: Mutable::ALL,
            is_enum: false,
            enum_values: vec![],
            description: None,
        }
    };
    let author = table(
        "author",
        vec![
            col("id", "int4"),
            col("name", "text"),
            col("parent_id", "int4"),
        ],
        vec![
            rel("parent", RelKind::Object, 0, (2, 0)),
            rel("articles", RelKind::Array, 1, (0, 2)),
        ],
        json!({}),
    );
    let article = table(
        "article",
        vec![
            col("id", "int4"),
            col("title", "text"),
            col("author_id", "int4"),
        ],
        vec![rel("author", RelKind::Object, 0, (2, 0))],
        json!({"author_id": {"_eq": "X-Hasura-User-Id"}}),
    );
    Schema {
        tables: vec![author, article],
        version: 1,
        ..Default::default()
    }
}

fn nest(n: usize, open: &str, inner: &str, close: &str) -> String {
    format!("{}{}{}", open.repeat(n), inner, close.repeat(n))
}

/// What an answer must be: data (the fake database's) or an error with this code.
enum Expect {
    Data,
    Error(&'static str),
}

/// Sends each body to `/v1/graphql` as admin and as `user` through one engine, on a 1 MB stack.
fn check(cases: Vec<(&'static str, String, Expect)>) {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let mut state = empty_state();
            state.schema = Arc::new(schema());
            let engine = Engine::from_state(Config::new(), state);
            let db = FakeDb::default();
            for (name, body, want) in &cases {
                for role in ["admin", "user"] {
                    let headers = [("x-hasura-role", role), ("x-hasura-user-id", "1")];
                    let r = send(&engine, &db, req("POST", "/v1/graphql", &headers, body));
                    let got = body_json(&r);
                    match want {
                        Expect::Data => {
                            assert_eq!(got, json!({"data": {"ok": 1}}), "{role}: {name}")
                        }
                        Expect::Error(code) => assert_eq!(
                            got["errors"][0]["extensions"]["code"], *code,
                            "{role}: {name}: {got}"
                        ),
                    }
                }
            }
        })
        .expect("spawn")
        .join()
        .expect("a case panicked");
}

#[test]
fn deepest_requests_fit_a_worker_stack() {
    let q = |query: String| json!({ "query": query }).to_string();
    let with = |query: &str, variables: Value| {
        json!({ "query": query, "variables": variables }).to_string()
    };
    let mut fan_out = String::from("query { author { ...F0 } }\n");
    for i in 0..30 {
        let body = if i < 29 {
            format!("id ...F{} ...F{}", i + 1, i + 1)
        } else {
            "id name".into()
        };
        fan_out.push_str(&format!("fragment F{i} on author {{ {body} }}\n"));
    }
    let deep_json = |n: usize, open: &str, inner: &str, close: &str| -> Value {
        serde_json::from_str(&nest(n, open, inner, close)).unwrap()
    };
    check(vec![
        (
            "fields nested at the bound",
            q(format!("{{ author {} }}", nest(63, "{ parent ", "{ id }", " }"))),
            Expect::Data,
        ),
        (
            "fields nested beyond the bound",
            q(format!("{{ author {} }}", nest(120, "{ parent ", "{ id }", " }"))),
            Expect::Error("validation-failed"),
        ),
        (
            "fragment cycle",
            q("{ author { ...A } } fragment A on author { articles { ...B } }
               fragment B on article { author { ...A } }"
                .into()),
            Expect::Error("validation-failed"),
        ),
        ("fragment fan-out", q(fan_out), Expect::Error("validation-failed")),
        (
            "_and nested as deep as the parser allows",
            q(format!("{{ author(where: {}) {{ id }} }}", nest(120, "{_and: ", "{id: {_eq: 1}}", "}"))),
            Expect::Data,
        ),
        (
            "where relationship path as deep as the parser allows",
            q(format!("{{ author(where: {}) {{ id }} }}", nest(120, "{parent: ", "{id: {_eq: 1}}", "}"))),
            Expect::Data,
        ),
        (
            "order_by relationship path as deep as the parser allows",
            q(format!("{{ author(order_by: {}) {{ id }} }}", nest(120, "{parent: ", "{id: asc}", "}"))),
            Expect::Data,
        ),
        (
            "where variable as deep as JSON allows, at the bottom of a deep literal",
            with(
                &format!(
                    "query($w: author_bool_exp) {{ author(where: {}) {{ id }} }}",
                    nest(120, "{_and: ", "$w", "}")
                ),
                json!({"w": deep_json(120, "{\"_and\": ", "{\"id\": {\"_eq\": 1}}", "}")}),
            ),
            Expect::Error("validation-failed"),
        ),
        (
            "list variable as deep as JSON allows",
            with(
                "query($l: [Int!]) { author(where: {id: {_in: $l}}) { id } }",
                json!({"l": deep_json(120, "[", "1", "]")}),
            ),
            Expect::Error("validation-failed"),
        ),
        (
            "variable deeper than JSON allows",
            format!(
                "{{\"query\": \"query($l: [Int!]) {{ author {{ id }} }}\", \"variables\": {{\"l\": {}}}}}",
                nest(300, "[", "1", "]")
            ),
            Expect::Error("invalid-json"),
        ),
        (
            "query nested beyond the parser",
            q(nest(5_000, "{ a ", "", " }")),
            Expect::Error("validation-failed"),
        ),
    ]);
}
