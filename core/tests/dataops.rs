//! Snapshot tests of the `/v1/query` data operations (`select`, `count`, `insert`, `update`,
//! `delete`) per role, on the author/article schema of the mutation snapshots. One `check()`
//! compiles an operation (arguments written as JSON) and renders the plan or the error.
use graphedge_core::{compile_data, Options, Value};
use serde_json::Value as Json;

mod common;
use common::authors::schema;
use common::*;

fn value(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => Value::Number(n.to_string()),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::List(items.iter().map(value).collect()),
        Json::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), value(v))).collect()),
    }
}

/// Compiles `op` with `args` (JSON) as `role` (user id 1) and renders the plan or the error.
fn check(role: &str, op: &str, args: &str) -> String {
    let args: Json = serde_json::from_str(args).expect("test JSON");
    let session = user_session(role, "1");
    match compile_data(&schema(), &session, op, &value(&args), &Options::default()) {
        Ok(plan) => {
            let mut out = render_steps(&plan, &[], &session);
            out.push_str(&format!(
                "final: {}\nparams: {:?}\nbound: {:?}",
                plan.sql,
                plan.params,
                plan.bind(&[], &session)
            ));
            out
        }
        Err(e) => format!("error: {} {} {}", e.code.as_str(), e.path, e.message),
    }
}

/// (snapshot name, role, operation, arguments)
const CASES: &[(&str, &str, &str, &str)] = &[
    // select
    (
        "select_admin_star",
        "admin",
        "select",
        r#"{"table": "author", "columns": ["*"]}"#,
    ),
    (
        "select_user_star",
        "user",
        "select",
        r#"{"table": "author", "columns": ["*"]}"#,
    ),
    (
        "select_nested_where_order",
        "user",
        "select",
        r#"{"table": {"schema": "public", "name": "author"},
            "columns": ["id", {"name": "articles", "alias": "posts", "columns": ["title"],
                               "where": {"is_published": true}, "order_by": "-id", "limit": 2}],
            "where": {"$or": [{"id": {"$gt": 0}}, {"name": "x"}]},
            "order_by": [{"column": "name", "type": "desc", "nulls": "last"}, "+id"],
            "limit": 10, "offset": 1}"#,
    ),
    (
        "select_object_relationship",
        "admin",
        "select",
        r#"{"table": "article", "columns": ["id", {"name": "author", "columns": ["name"]}],
            "order_by": "author.name"}"#,
    ),
    (
        "select_column_denied",
        "user",
        "select",
        r#"{"table": "author", "columns": ["id", "bio"]}"#,
    ),
    (
        "select_no_column",
        "admin",
        "select",
        r#"{"table": "author", "columns": ["nope"]}"#,
    ),
    (
        "select_no_table",
        "admin",
        "select",
        r#"{"table": "nope", "columns": ["id"]}"#,
    ),
    (
        "select_no_permission",
        "anonymous",
        "select",
        r#"{"table": "author", "columns": ["id"]}"#,
    ),
    (
        "select_negative_limit",
        "admin",
        "select",
        r#"{"table": "author", "columns": ["id"], "limit": -1}"#,
    ),
    (
        "select_string_offset",
        "admin",
        "select",
        r#"{"table": "author", "columns": ["id"], "offset": "1"}"#,
    ),
    // count
    (
        "count_user",
        "user",
        "count",
        r#"{"table": "article", "where": {"is_published": false}}"#,
    ),
    (
        "count_distinct",
        "admin",
        "count",
        r#"{"table": "article", "distinct": ["author_id"]}"#,
    ),
    (
        "count_no_permission",
        "anonymous",
        "count",
        r#"{"table": "article"}"#,
    ),
    (
        "count_distinct_unknown",
        "admin",
        "count",
        r#"{"table": "article", "distinct": ["x"]}"#,
    ),
    // insert
    (
        "insert_user_check",
        "user",
        "insert",
        r#"{"table": "article", "objects": [{"title": "t", "author_id": 1}], "returning": ["id", "title"]}"#,
    ),
    (
        "insert_upsert_constraint_on",
        "admin",
        "insert",
        r#"{"table": "author", "objects": [{"id": 1, "name": "a"}],
            "on_conflict": {"constraint_on": ["id"], "action": "update"}}"#,
    ),
    (
        "insert_ignore",
        "admin",
        "insert",
        r#"{"table": "author", "objects": [{"name": "a"}], "on_conflict": {"constraint": "author_name_key", "action": "ignore"}}"#,
    ),
    (
        "insert_column_denied",
        "user",
        "insert",
        r#"{"table": "article", "objects": [{"is_published": true}]}"#,
    ),
    (
        "insert_no_permission",
        "anonymous",
        "insert",
        r#"{"table": "article", "objects": [{}]}"#,
    ),
    (
        "insert_no_action",
        "admin",
        "insert",
        r#"{"table": "author", "objects": [{"name": "a"}], "on_conflict": {"constraint_on": ["id"]}}"#,
    ),
    // update
    (
        "update_user",
        "user",
        "update",
        r#"{"table": "article", "where": {"id": 1}, "$set": {"title": "x"}, "returning": ["id"]}"#,
    ),
    (
        "update_mul_inc_default",
        "admin",
        "update",
        r#"{"table": "article", "where": {"id": {"$eq": 1}}, "$inc": {"author_id": 1},
            "$mul": {"id": 2}, "$default": ["title"]}"#,
    ),
    (
        "update_column_denied",
        "user",
        "update",
        r#"{"table": "article", "where": {}, "$set": {"id": 1}}"#,
    ),
    (
        "update_no_operator",
        "admin",
        "update",
        r#"{"table": "article", "where": {}}"#,
    ),
    (
        "update_no_where",
        "admin",
        "update",
        r#"{"table": "article", "$set": {"title": "x"}}"#,
    ),
    // delete
    (
        "delete_user",
        "user",
        "delete",
        r#"{"table": "article", "where": {"title": {"$like": "%a%"}}, "returning": ["id"]}"#,
    ),
    (
        "delete_no_permission",
        "user",
        "delete",
        r#"{"table": "author", "where": {}}"#,
    ),
];

#[test]
fn dataops() {
    for (name, role, op, args) in CASES {
        insta::assert_snapshot!(*name, check(role, op, args));
    }
}

/// `source` picks the source whose table the operation names and whose database runs it.
#[test]
fn data_operations_on_another_source() {
    use graphedge_core::customize::Customization;
    use graphedge_core::model::SourceInfo;
    let mut s = schema();
    let source = |name: &str, tables_end: usize| SourceInfo {
        name: name.into(),
        tables_end,
        functions_end: s.functions.len(),
        customization: Customization::default(),
    };
    s.sources = vec![source("default", 1), source("other", s.tables.len())];
    let t = s.tables[1].name.clone();
    let admin = graphedge_core::Session::admin();
    let op =
        |op: &str, args: Json| compile_data(&s, &admin, op, &value(&args), &Options::default());
    let table = serde_json::json!({"schema": t.schema, "name": t.name});
    let select = op(
        "select",
        serde_json::json!({"source": "other", "table": table, "columns": ["*"]}),
    )
    .unwrap();
    assert_eq!(select.source, 1);
    let insert = op(
        "insert",
        serde_json::json!({"source": "other", "table": table, "objects": [{}]}),
    )
    .unwrap();
    assert_eq!(insert.source, 1);
    let e = op(
        "select",
        serde_json::json!({"table": table, "columns": ["*"]}),
    )
    .unwrap_err();
    assert_eq!(e.code.as_str(), "not-exists", "{}", e.message);
    let e = op(
        "count",
        serde_json::json!({"source": "nowhere", "table": table}),
    )
    .unwrap_err();
    assert_eq!(e.message, "source with name \"nowhere\" does not exist");
}
