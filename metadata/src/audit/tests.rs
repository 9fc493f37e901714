//! The permission matrix over a resolved schema: column lists, relationship filters, presets,
//! inherited roles (union of columns, OR of filters, per-column conditions) and the filters of
//! the operation's arguments. One `check()` per expectation: a JSON pointer and its value.
use serde_json::{json, Value as Json};

use super::matrix;
use crate::introspect::Catalog;
use crate::raw;

fn col(name: &str, udt: &str) -> Json {
    json!({"name": name, "type": {"udt": udt, "schema": "pg_catalog", "kind": "b"},
           "nullable": false, "has_default": false, "is_generated": false})
}

fn schema() -> graphedge_core::Schema {
    schema_with(Json::Null)
}

/// The test schema with its source's `customization` (null: none).
fn schema_with(customization: Json) -> graphedge_core::Schema {
    let catalog: Catalog = serde_json::from_value(json!({"tables": [
        {"schema": "public", "name": "author", "kind": "r",
         "columns": [col("id", "int4"), col("name", "text"), col("email", "text")],
         "primary_key": {"name": "author_pkey", "columns": ["id"]}},
        {"schema": "public", "name": "article", "kind": "r",
         "columns": [col("id", "int4"), col("title", "text"), col("author_id", "int4"),
                     col("published", "bool")],
         "primary_key": {"name": "article_pkey", "columns": ["id"]},
         "foreign_keys": [{"name": "article_author_id_fkey", "columns": ["author_id"],
                           "ref_schema": "public", "ref_table": "author", "ref_columns": ["id"]}]}
    ]}))
    .unwrap();
    let mut md = json!({
        "version": 3,
        "sources": [{"name": "default", "kind": "postgres", "configuration": {}, "tables": [
            {"table": {"schema": "public", "name": "author"},
             "array_relationships": [{"name": "articles", "using": {"foreign_key_constraint_on":
                 {"table": "article", "column": "author_id"}}}],
             "select_permissions": [
                {"role": "user", "permission": {"columns": ["id", "name"], "filter": {}}},
                {"role": "editor", "permission": {"columns": "*",
                    "filter": {"id": {"_eq": "X-Hasura-User-Id"}}}}]},
            {"table": {"schema": "public", "name": "article"},
             "object_relationships": [{"name": "author", "using": {"foreign_key_constraint_on": "author_id"}}],
             "select_permissions": [
                {"role": "user", "permission": {"columns": ["id", "title"], "limit": 10,
                    "filter": {"_or": [{"published": {"_eq": true}},
                                       {"author": {"id": {"_eq": "X-Hasura-User-Id"}}}]}}},
                {"role": "editor", "permission": {"columns": ["id", "title", "published"],
                    "filter": {}, "allow_aggregations": true}}],
             "insert_permissions": [
                {"role": "user", "permission": {"columns": ["title"],
                    "check": {"author_id": {"_eq": "X-Hasura-User-Id"}},
                    "set": {"author_id": "X-Hasura-User-Id", "published": false}}}],
             "update_permissions": [
                {"role": "user", "permission": {"columns": ["title"],
                    "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}, "check": null}}],
             "delete_permissions": [
                {"role": "editor", "permission": {"filter": {"published": {"_is_null": false}}}}]}
        ]}],
        "inherited_roles": [{"role_name": "reviewer", "role_set": ["user", "editor"]}]
    });
    if !customization.is_null() {
        md["sources"][0]["customization"] = customization;
    }
    let md: raw::Metadata = serde_json::from_value(md).unwrap();
    let config = crate::Config {
        naming_conventions: true,
        ..crate::Config::default()
    };
    let (schema, bad) = crate::resolve::resolve(&md, &catalog, &config);
    assert!(bad.is_empty(), "{bad:?}");
    schema
}

/// `pointer` of the matrix for `args` is `want`.
fn check(args: Json, pointer: &str, want: Json) {
    check_in(&schema(), args, pointer, want)
}

fn check_in(schema: &graphedge_core::Schema, args: Json, pointer: &str, want: Json) {
    let got = matrix(schema, &args).unwrap();
    let at = got
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in {got:#}"));
    assert_eq!(at, &want, "{pointer}");
}

#[test]
fn roles_and_their_session_variables() {
    check(json!({}), "/roles", json!(["editor", "reviewer", "user"]));
    check(
        json!({}),
        "/inherited_roles/reviewer",
        json!(["user", "editor"]),
    );
    check(json!({}), "/inherited_roles/user", json!(null));
    check(
        json!({}),
        "/session_variables/user",
        json!(["x-hasura-user-id"]),
    );
    check(
        json!({}),
        "/session_variables/editor",
        json!(["x-hasura-user-id"]),
    );
}

#[test]
fn each_operation_of_each_role() {
    let article = "/tables/1/roles";
    check(
        json!({}),
        "/tables/1/table",
        json!({"schema": "public", "name": "article"}),
    );
    check(
        json!({}),
        &format!("{article}/user/select/columns"),
        json!(["id", "title"]),
    );
    check(
        json!({}),
        &format!("{article}/user/select/limit"),
        json!(10),
    );
    check(
        json!({}),
        &format!("{article}/user/select/filter_text"),
        json!("(published = true) or (author where (id = X-Hasura-User-Id))"),
    );
    check(
        json!({}),
        &format!("{article}/user/insert/set"),
        json!({"author_id": "X-Hasura-User-Id", "published": false}),
    );
    check(
        json!({}),
        &format!("{article}/user/insert/check_text"),
        json!("author_id = X-Hasura-User-Id"),
    );
    check(
        json!({}),
        &format!("{article}/user/update/columns"),
        json!(["title"]),
    );
    check(json!({}), &format!("{article}/user/delete"), json!(null));
    check(
        json!({}),
        &format!("{article}/editor/delete/filter_text"),
        json!("published is not null"),
    );
    check(
        json!({}),
        &format!("{article}/editor/select/filter_text"),
        json!("all rows"),
    );
    check(
        json!({}),
        "/tables/0/roles/user/select/columns",
        json!(["id", "name"]),
    );
}

#[test]
fn inherited_roles_get_their_effective_permissions() {
    let select = "/tables/1/roles/reviewer/select";
    check(
        json!({}),
        &format!("{select}/columns"),
        json!(["id", "title", "published"]),
    );
    check(
        json!({}),
        &format!("{select}/allow_aggregations"),
        json!(true),
    );
    // editor reads every row (OR with `{}` is all rows) and `published` on each: no cell
    // condition.
    check(json!({}), &format!("{select}/column_conditions"), json!({}));
    check(
        json!({}),
        &format!("{select}/filter_text"),
        json!("all rows"),
    );
    // `email` of authors: editor only, on the editor's own row.
    check(
        json!({}),
        "/tables/0/roles/reviewer/select/column_conditions/email",
        json!("id = X-Hasura-User-Id"),
    );
}

#[test]
fn who_can_use_each_column() {
    check(
        json!({}),
        "/tables/1/columns/published",
        json!({"select": ["editor", "reviewer"], "insert": [], "update": []}),
    );
    check(
        json!({}),
        "/tables/1/columns/title",
        json!({"select": ["editor", "reviewer", "user"], "insert": ["reviewer", "user"],
               "update": ["reviewer", "user"]}),
    );
}

#[test]
fn arguments_narrow_the_matrix() {
    check(json!({"role": "user"}), "/roles", json!(["user"]));
    check(
        json!({"table": "author"}),
        "/tables",
        matrix(&schema(), &json!({})).unwrap()["tables"]
            .as_array()
            .unwrap()[..1]
            .into(),
    );
    check(json!({"source": "other"}), "/tables", json!([]));
    let e = matrix(&schema(), &json!({"role": 1})).unwrap_err();
    assert_eq!(e.path, "$.args.role");
}

#[test]
fn where_the_rows_are_in_the_graphql_schema() {
    check(
        json!({}),
        "/tables/1/graphql",
        json!({"namespace": null, "select": "article", "select_by_pk": "article_by_pk",
               "select_aggregate": "article_aggregate", "order_by": "order_by", "asc": "asc",
               "desc": "desc"}),
    );
    let customized = schema_with(json!({
        "root_fields": {"namespace": "shop", "prefix": "my", "suffix": "x"},
        "naming_convention": "graphql-default"
    }));
    let got = matrix(&customized, &json!({})).unwrap();
    let names = &got["tables"][1]["graphql"];
    assert_eq!(names["namespace"], json!("shop"), "{got:#}");
    assert_eq!(names["select"], json!("myArticleX"), "{got:#}");
    assert_eq!(
        (&names["order_by"], &names["desc"]),
        (&json!("orderBy"), &json!("DESC")),
        "{got:#}"
    );
}
