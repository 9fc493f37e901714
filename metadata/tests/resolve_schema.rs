//! resolve(): JSON metadata + a hand-built catalog → core Schema and inconsistencies.
//! One `check`-style helper per expectation; snapshots hold the Debug form of the results.
use graphedge_metadata::introspect::Catalog;
use graphedge_metadata::raw;
use graphedge_metadata::resolve::{resolve, Inconsistency};
use serde_json::{json, Value as Json};

/// A column: `name:udt` with optional flags after `!` (`n` nullable, `d` has default,
/// `g` generated).
fn col(spec: &str) -> Json {
    let (main, flags) = spec.split_once('!').unwrap_or((spec, ""));
    let (name, udt) = main.split_once(':').unwrap();
    let (udt, element, kind, schema) = match udt {
        u if u.starts_with('_') => (u.to_string(), Some(u[1..].to_string()), "b", "pg_catalog"),
        u if u.starts_with("public.") => (u[7..].to_string(), None, "c", "public"),
        u => (u.to_string(), None, "b", "pg_catalog"),
    };
    json!({
        "name": name,
        "type": {"udt": udt, "schema": schema, "element": element, "kind": kind},
        "nullable": flags.contains('n'),
        "has_default": flags.contains('d'),
        "is_generated": flags.contains('g'),
    })
}

fn catalog() -> Catalog {
    serde_json::from_value(json!({
        "tables": [
            {"schema": "public", "name": "author", "kind": "r", "comment": "authors",
             "columns": [col("id:int4!d"), col("name:text"), col("bio:text!n"), col("is_active:bool!d")],
             "primary_key": {"name": "author_pkey", "columns": ["id"]}},
            {"schema": "public", "name": "article", "kind": "r",
             "columns": [col("id:int4!d"), col("title:text"), col("author_id:int4"), col("status:text"),
                         col("is_published:bool"), col("tags:_text!n")],
             "primary_key": {"name": "article_pkey", "columns": ["id"]},
             "unique_constraints": [{"name": "article_title_key", "columns": ["title"]}],
             "foreign_keys": [
                {"name": "article_author_id_fkey", "columns": ["author_id"], "ref_schema": "public", "ref_table": "author", "ref_columns": ["id"]},
                {"name": "article_status_fkey", "columns": ["status"], "ref_schema": "public", "ref_table": "status", "ref_columns": ["value"]}
             ]},
            {"schema": "public", "name": "status", "kind": "r",
             "columns": [col("value:text"), col("comment:text!n")],
             "primary_key": {"name": "status_pkey", "columns": ["value"]}},
            {"schema": "public", "name": "bad_enum", "kind": "r",
             "columns": [col("id:int4"), col("x:text"), col("y:text")],
             "primary_key": {"name": "bad_enum_pkey", "columns": ["id"]}},
            {"schema": "public", "name": "counter", "kind": "r",
             "columns": [col("id:int4!dg"), col("n:int4"), col("doubled:int4!g")],
             "primary_key": {"name": "counter_pkey", "columns": ["id"]}},
            {"schema": "hge", "name": "tag", "kind": "v",
             "columns": [col("article_id:int4!n"), col("label:text!n")]}
        ],
        "functions": [
            {"schema": "public", "name": "author_articles_count",
             "args": [{"name": "a", "type": {"udt": "author", "schema": "public", "kind": "c"}, "mode": "i"}],
             "return_type": {"udt": "int8", "schema": "pg_catalog", "kind": "b"}, "returns_set": false, "volatility": "s"},
            {"schema": "public", "name": "author_published",
             "args": [{"name": "a", "type": {"udt": "author", "schema": "public", "kind": "c"}, "mode": "i"},
                      {"name": "hasura_session", "type": {"udt": "json", "schema": "pg_catalog", "kind": "b"}, "mode": "i"}],
             "return_type": {"udt": "article", "schema": "public", "kind": "c"}, "returns_set": true,
             "return_table": {"schema": "public", "name": "article"}, "volatility": "s"},
            {"schema": "public", "name": "search_articles",
             "args": [{"name": "search", "type": {"udt": "text", "schema": "pg_catalog", "kind": "b"}, "mode": "i", "has_default": false},
                      {"name": null, "type": {"udt": "int4", "schema": "pg_catalog", "kind": "b"}, "mode": "i", "has_default": true}],
             "num_defaults": 1,
             "return_type": {"udt": "article", "schema": "public", "kind": "c"}, "returns_set": true,
             "return_table": {"schema": "public", "name": "article"}, "volatility": "s", "comment": "search"},
            {"schema": "public", "name": "touch",
             "args": [],
             "return_type": {"udt": "author", "schema": "public", "kind": "c"}, "returns_set": false,
             "return_table": {"schema": "public", "name": "author"}, "volatility": "v"},
            {"schema": "public", "name": "over", "args": [], "return_type": {"udt": "int4", "schema": "pg_catalog", "kind": "b"}, "returns_set": false, "volatility": "s"},
            {"schema": "public", "name": "over", "args": [], "return_type": {"udt": "int4", "schema": "pg_catalog", "kind": "b"}, "returns_set": false, "volatility": "s"}
        ],
        "enums": [
            {"schema": "public", "name": "status", "values": [{"value": "draft", "comment": "not yet"}, {"value": "published"}]}
        ]
    }))
    .unwrap()
}

fn metadata(sources_tables: Json, functions: Json, inherited_roles: Json) -> raw::Metadata {
    serde_json::from_value(json!({
        "version": 3,
        "sources": [{"name": "default", "kind": "postgres", "configuration": {},
                     "tables": sources_tables, "functions": functions}],
        "inherited_roles": inherited_roles
    }))
    .unwrap()
}

fn run(md: &raw::Metadata) -> (graphedge_core::Schema, Vec<Inconsistency>) {
    resolve(
        md,
        &catalog(),
        &graphedge_metadata::Config {
            infer_function_permissions: true,
            ..Default::default()
        },
    )
}

fn inconsistencies_json(list: &[Inconsistency]) -> Json {
    serde_json::to_value(list).unwrap()
}

#[test]
fn resolves_names_relationships_computed_fields_functions() {
    let md = metadata(
        json!([
            {"table": "author",
             "configuration": {
                "custom_name": "writer",
                "custom_root_fields": {"select": "writers", "select_by_pk": {"name": "writer", "comment": "one"}, "insert_one": null},
                "column_config": {"bio": {"custom_name": "biography", "comment": "about"}},
                "custom_column_names": {"is_active": "active"}
             },
             "array_relationships": [
                {"name": "articles", "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}},
                {"name": "tags_manual", "using": {"manual_configuration": {"remote_table": {"schema": "hge", "name": "tag"}, "column_mapping": {"id": "article_id"}}}}
             ],
             "computed_fields": [
                {"name": "articles_count", "definition": {"function": "author_articles_count"}},
                {"name": "published", "definition": {"function": "author_published", "table_argument": "a", "session_argument": "hasura_session"}, "comment": "mine"}
             ]},
            {"table": "article",
             "object_relationships": [{"name": "author", "using": {"foreign_key_constraint_on": "author_id"}}]},
            {"table": "status", "is_enum": true},
            {"table": {"schema": "hge", "name": "tag"}}
        ]),
        json!([
            {"function": "search_articles", "configuration": {"custom_root_fields": {"function_aggregate": "search_agg"}}, "permissions": [{"role": "user"}]},
            {"function": "touch"}
        ]),
        json!([]),
    );
    let (schema, inconsistencies) = run(&md);
    assert_eq!(inconsistencies_json(&inconsistencies), json!([]));
    insta::assert_debug_snapshot!("schema_basic", schema);
}

#[test]
fn reports_every_inconsistency() {
    let md = metadata(
        json!([
            {"table": "missing"},
            {"table": {"schema": "other", "name": "gone"}},
            {"table": "author",
             "configuration": {"custom_column_names": {"bio": "name"}}},
            {"table": "article",
             "configuration": {"custom_column_names": {"is_published": "published"}},
             "object_relationships": [
                {"name": "author", "using": {"foreign_key_constraint_on": "author_id"}},
                {"name": "published", "using": {"foreign_key_constraint_on": "author_id"}},
                {"name": "by_title", "using": {"foreign_key_constraint_on": "title"}},
                {"name": "title", "using": {"manual_configuration": {"remote_table": "status", "column_mapping": {"status": "value"}}}},
                {"name": "st", "using": {"manual_configuration": {"remote_table": "status", "column_mapping": {"status": "nope"}}}}
             ],
             "computed_fields": [
                {"name": "nothing", "definition": {"function": "no_such_fn"}},
                {"name": "status", "definition": {"function": "author_articles_count"}},
                {"name": "ov", "definition": {"function": "over"}},
                {"name": "wrong_table", "definition": {"function": "author_articles_count"}}
             ],
             "select_permissions": [
                {"role": "user", "permission": {"columns": ["id", "ghost"], "filter": {}}},
                {"role": "editor", "permission": {"columns": "*", "filter": {"_and": [{"author": {"name": {"_eq": "X-Hasura-User-Id"}}}, {"phantom": {"_eq": 1}}]}}},
                {"role": "admin", "permission": {"columns": "*", "filter": {}}},
                {"role": "viewer", "permission": {"columns": "*", "filter": {"_exists": {"_table": "nowhere", "_where": {}}}}}
             ],
             "update_permissions": [
                {"role": "user", "permission": {"columns": ["title"], "filter": {}, "set": {"ghost": "x"}}}
             ]},
            {"table": "status", "is_enum": true,
             "array_relationships": [
                {"name": "gone", "using": {"foreign_key_constraint_on": {"table": "missing", "column": "status"}}}
             ]},
            {"table": "bad_enum", "is_enum": true}
        ]),
        json!([{"function": "search_articles"}, {"function": "no_fn"}, {"function": "author_articles_count"}]),
        json!([]),
    );
    let (schema, inconsistencies) = run(&md);
    insta::assert_json_snapshot!("inconsistencies", inconsistencies);
    // Inconsistent objects are left out.
    let names: Vec<&str> = schema.tables.iter().map(|t| t.name.name.as_str()).collect();
    assert_eq!(names, ["article", "status"]);
    let article = &schema.tables[0];
    // `author` is untracked (its table is inconsistent), so every relationship is left out.
    assert!(article.relationships.is_empty());
    assert!(article.permissions.is_empty());
    assert_eq!(schema.functions.len(), 1);
}

#[test]
fn inherited_roles_combine_parents() {
    let md = metadata(
        json!([
            {"table": "author",
             "select_permissions": [
                {"role": "author", "permission": {"columns": ["id", "name", "bio"], "filter": {"id": {"_eq": "X-Hasura-User-Id"}}, "limit": 5}},
                {"role": "editor", "permission": {"columns": ["id", "name"], "filter": {"is_active": {"_eq": true}}, "allow_aggregations": true, "limit": 10}},
                {"role": "public", "permission": {"columns": ["name"], "filter": {}}}
             ],
             "update_permissions": [
                {"role": "author", "permission": {"columns": ["name"], "filter": {"id": "X-Hasura-User-Id"}}},
                {"role": "editor", "permission": {"columns": ["bio"], "filter": {}}}
             ],
             "delete_permissions": [
                {"role": "editor", "permission": {"filter": {}}}
             ]},
            {"table": "article",
             "select_permissions": [
                {"role": "author", "permission": {"columns": "*", "filter": {"author_id": "X-Hasura-User-Id"}}},
                {"role": "author_editor", "permission": {"columns": ["id"], "filter": {}}}
             ]}
        ]),
        json!([{"function": "search_articles", "permissions": [{"role": "editor"}]}]),
        json!([
            {"role_name": "author_editor", "role_set": ["author", "editor"]},
            {"role_name": "everyone", "role_set": ["author_editor", "public"]},
            {"role_name": "loop_a", "role_set": ["loop_b"]},
            {"role_name": "loop_b", "role_set": ["loop_a", "author"]}
        ]),
    );
    let (schema, inconsistencies) = run(&md);
    insta::assert_json_snapshot!("inherited_inconsistencies", inconsistencies);
    let perms: Vec<_> = schema
        .tables
        .iter()
        .map(|t| (&t.name.name, &t.permissions))
        .collect();
    insta::assert_debug_snapshot!("inherited_permissions", perms);
    assert_eq!(
        schema.functions[0].permissions,
        ["editor", "author_editor", "everyone"]
    );
    assert_eq!(
        schema.inherited_roles.keys().collect::<Vec<_>>(),
        ["author_editor", "everyone"]
    );
}

#[test]
fn empty_metadata_gives_empty_schema() {
    let (schema, inconsistencies) = resolve(
        &raw::Metadata::default(),
        &Catalog::default(),
        &graphedge_metadata::Config {
            infer_function_permissions: true,
            ..Default::default()
        },
    );
    assert_eq!(schema, graphedge_core::Schema::default());
    assert!(inconsistencies.is_empty());
}

#[test]
fn star_in_mutation_permissions_leaves_out_generated_columns() {
    let md = metadata(
        json!([{"table": "counter",
                "select_permissions": [{"role": "u", "permission": {"columns": "*", "filter": {}}}],
                "insert_permissions": [{"role": "u", "permission": {"columns": "*", "check": {}}}],
                "update_permissions": [{"role": "u", "permission": {"columns": "*", "filter": {}, "check": null}}]}]),
        json!([]),
        json!([]),
    );
    let (schema, inconsistencies) = run(&md);
    assert!(inconsistencies.is_empty());
    let p = &schema.tables[0].permissions["u"];
    assert_eq!(p.select.as_ref().unwrap().columns, [0, 1, 2]);
    assert_eq!(p.insert.as_ref().unwrap().columns, [1]);
    assert_eq!(p.update.as_ref().unwrap().columns, [1]);
    assert_eq!(p.update.as_ref().unwrap().check, None);
}
