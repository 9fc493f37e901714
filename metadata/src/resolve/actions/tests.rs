//! Custom types and actions against tracked tables `user` and `article` (Hasura's fixtures'
//! schema, with a PostGIS column): what resolves, and every inconsistency with Hasura's
//! wording. One `check()` over the cases.
use super::*;
use crate::raw::Metadata;
use serde_json::{json, Value as Json};

fn col(name: &str, udt: &str) -> Json {
    json!({"name": name, "type": {"udt": udt, "schema": "pg_catalog", "kind": "b"},
           "nullable": true, "has_default": false, "is_generated": false})
}

fn catalog(scalars: &[&str]) -> Catalog {
    serde_json::from_value(json!({"tables": [
        {"schema": "public", "name": "user", "kind": "r",
         "columns": [col("id", "int4"), col("name", "text"), col("email", "text"),
                     {"name": "location", "type": {"udt": "geography", "schema": "public", "kind": "b"},
                      "nullable": true, "has_default": false, "is_generated": false}],
         "primary_key": {"name": "user_pkey", "columns": ["id"]}},
        {"schema": "public", "name": "article", "kind": "r",
         "columns": [col("id", "int4"), col("name", "text"), col("user_id", "int4")],
         "primary_key": {"name": "article_pkey", "columns": ["id"]}}
    ], "scalars": scalars}))
    .unwrap()
}

/// The metadata with both tables tracked and the given top-level keys.
fn metadata(rest: Json) -> Metadata {
    let mut doc = json!({"version": 3, "sources": [{"name": "default", "kind": "postgres",
        "configuration": {}, "tables": [{"table": "user"}, {"table": "article"}]}]});
    for (k, v) in rest.as_object().unwrap() {
        doc[k] = v.clone();
    }
    serde_json::from_value(doc).unwrap()
}

/// Resolves `rest` (custom types, actions, inherited roles) and compares the inconsistencies
/// (`"<name>: <reason>"`) with `want`; returns the schema for further checks.
fn check(rest: Json, want: &[&str]) -> Schema {
    check_with(rest, &[], want)
}

fn check_with(rest: Json, scalars: &[&str], want: &[&str]) -> Schema {
    let md = metadata(rest.clone());
    let (schema, found) =
        crate::resolve::resolve(&md, &catalog(scalars), &crate::Config::default());
    let got: Vec<String> = found
        .iter()
        .map(|i| format!("{}: {}", i.name, i.reason))
        .collect();
    assert_eq!(got, want, "{rest:#}");
    schema
}

fn user_id_type() -> Json {
    json!({"name": "UserId", "fields": [{"name": "id", "type": "Int!"}],
           "relationships": [
               {"name": "user", "type": "object", "remote_table": "user", "field_mapping": {"id": "id"}},
               {"name": "articles", "type": "array", "remote_table": "article",
                "field_mapping": {"id": "user_id"}}]})
}

#[test]
fn custom_types() {
    // Hasura's reuse_pgscalars: uuid and geography are Postgres scalars.
    let s = check(
        json!({"custom_types": {
            "objects": [{"name": "User", "fields": [{"name": "user_id", "type": "uuid!"},
                {"name": "location", "type": "geography"}],
                "relationships": [{"name": "user", "type": "object", "remote_table": "user",
                                   "field_mapping": {"user_id": "id"}}]}],
            "input_objects": [{"name": "UserInput", "fields": [{"name": "name", "type": "String!"},
                {"name": "id", "type": "uuid!"}, {"name": "meta", "type": "jsonb"}]}]}}),
        &[],
    );
    let user = &s.custom_types.objects[0];
    assert_eq!(user.relationships[0].target, 0);
    assert_eq!(
        user.relationships[0].mapping,
        vec![("user_id".to_string(), 0)]
    );
    assert_eq!(user.fields[1].ty, core::Type::Named("geography".into()));
    assert_eq!(s.custom_types.input_objects[0].fields.len(), 3);

    let inconsistent = |reason: &str| {
        vec![format!(
            "custom_types custom_types: Inconsistent object: validation for the given custom types failed because {reason}"
        )]
    };
    // (custom types, the reason of the one inconsistency)
    let cases: Vec<(Json, String)> = vec![
        (
            json!({"objects": [{"name": "User", "fields": [{"name": "user_id", "type": "uuid!"},
                {"name": "unknown_pgtype", "type": "unknown_type"}]}]}),
            "the type \"unknown_type\" for field \"unknown_pgtype\" in  object type \"User\" does not exist".into(),
        ),
        (
            json!({"objects": [{"name": "User", "fields": [{"name": "user_id", "type": "uuid!"},
                {"name": "names", "type": "[String!]"}],
                "relationships": [{"name": "Names", "type": "array", "remote_table": "user",
                                   "field_mapping": {"names": "name"}}]}]}),
            "the type of the field \"names\" for relationship \"Names\" in object type \"User\" is a list type".into(),
        ),
        (
            json!({"input_objects": [{"name": "I", "fields": [{"name": "o", "type": "O"}]}],
                   "objects": [{"name": "O", "fields": [{"name": "a", "type": "Int"}]}]}),
            "the type \"O\" for field \"o\" in  input object type \"I\" does not exist".into(),
        ),
        (
            json!({"scalars": [{"name": "T"}], "enums": [{"name": "T", "values": [{"value": "A"}]}]}),
            "duplicate type names: \"T\"".into(),
        ),
        (
            json!({"enums": [{"name": "E", "values": [{"value": "A"}, {"value": "A"}]}]}),
            "the enum type \"E\" has duplicate values: \"A\"".into(),
        ),
        (
            json!({"input_objects": [{"name": "I", "fields": [{"name": "a", "type": "Int"}, {"name": "a", "type": "Int"}]}]}),
            "the input object \"I\" has duplicate fields: \"a\"".into(),
        ),
        (
            json!({"objects": [{"name": "O", "fields": [{"name": "user", "type": "Int"}],
                "relationships": [{"name": "user", "type": "object", "remote_table": "user",
                                   "field_mapping": {"user": "id"}}]}]}),
            "the object \"O\" has duplicate fields: \"user\"".into(),
        ),
        (
            json!({"objects": [{"name": "O", "fields": [{"name": "a", "type": "Int", "arguments": {}}]}]}),
            "the object \"O\" can't have arguments".into(),
        ),
        (
            json!({"objects": [{"name": "O", "fields": [{"name": "a", "type": "Int"}],
                "relationships": [{"name": "r", "type": "object", "remote_table": {"schema": "s", "name": "nope"},
                                   "field_mapping": {"a": "id"}}]}]}),
            "the remote table \"s.nope\" for relationship \"r\" of object type \"O\" does not exist".into(),
        ),
        (
            json!({"objects": [{"name": "O", "fields": [{"name": "a", "type": "Int"}],
                "relationships": [{"name": "r", "type": "object", "remote_table": "user",
                                   "source": "other", "field_mapping": {"a": "id"}}]}]}),
            "the remote table \"user\" for relationship \"r\" of object type \"O\" does not exist".into(),
        ),
        (
            json!({"objects": [{"name": "O", "fields": [{"name": "a", "type": "Int"}],
                "relationships": [{"name": "r", "type": "object", "remote_table": "user",
                                   "field_mapping": {"a": "nope"}}]}]}),
            "the column \"nope\" of remote table \"user\" for relationship \"r\" of object type \"O\" does not exist".into(),
        ),
        (
            json!({"objects": [{"name": "O", "fields": [{"name": "a", "type": "Int"}],
                "relationships": [
                    {"name": "r", "type": "object", "remote_table": "user", "field_mapping": {"a": "id"}},
                    {"name": "s", "type": "object", "remote_table": "user", "source": "two",
                     "field_mapping": {"a": "id"}}]}]}),
            "the object \"O\" has relationships refers to tables in multiple sources".into(),
        ),
        (
            json!({"scalars": [{"name": "my-scalar"}]}),
            "\"my-scalar\" is not a valid GraphQL name".into(),
        ),
    ];
    for (ct, reason) in cases {
        let want = inconsistent(&reason);
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        let s = check(json!({ "custom_types": ct }), &want);
        assert!(s.custom_types.objects.is_empty());
    }
    // Several problems: listed, up to the first one Hasura stops at.
    check(
        json!({"custom_types": {"objects": [{"name": "O", "fields": [
            {"name": "a", "type": "Int", "arguments": {}}, {"name": "a", "type": "Nope"}]}]}}),
        &["custom_types custom_types: Inconsistent object: validation for the given custom types failed for the following reasons:\n  \u{2022} the object \"O\" has duplicate fields: \"a\"\n  \u{2022} the object \"O\" can't have arguments\n  \u{2022} the type \"Nope\" for field \"a\" in  object type \"O\" does not exist\n"],
    );
}

#[test]
fn postgres_scalars() {
    // Introspected base types, by Hasura's names; without them (an older catalog) the
    // standard types and those of columns.
    let ct = |t: &str| {
        json!({"custom_types": {"scalars": [{"name": "S"}],
        "input_objects": [{"name": "I", "fields": [{"name": "a", "type": t}]}]}})
    };
    let bad = |t: &str| {
        format!("custom_types custom_types: Inconsistent object: validation for the given custom types failed because the type \"{t}\" for field \"a\" in  input object type \"I\" does not exist")
    };
    check_with(ct("citext"), &["int4", "citext", "float8"], &[]);
    check_with(ct("integer"), &["int4", "citext", "float8"], &[]);
    check_with(ct("int4"), &["int4"], &[&bad("int4")]);
    check_with(ct("geography"), &["int4"], &[&bad("geography")]);
    check_with(ct("geography"), &[], &[]);
    check_with(ct("timestamptz"), &[], &[]);
    check_with(ct("citext"), &[], &[&bad("citext")]);
}

#[test]
fn actions() {
    let types = json!({
        "scalars": [{"name": "myCustomScalar"}],
        "enums": [{"name": "Color", "values": [{"value": "RED"}]}],
        "input_objects": [{"name": "UserInput", "fields": [{"name": "name", "type": "String!"},
                                                           {"name": "parent", "type": "UserInput"}]}],
        "objects": [
            user_id_type(),
            {"name": "UserIdObj", "fields": [{"name": "user_id", "type": "UserId"}]},
            {"name": "Nested", "fields": [{"name": "id", "type": "Int!"}, {"name": "obj", "type": "UserIdObj"}],
             "relationships": [{"name": "r", "type": "object", "remote_table": "user", "field_mapping": {"id": "id"}}]},
            {"name": "ViaNested", "fields": [{"name": "obj", "type": "UserIdObj"}],
             "relationships": [{"name": "r", "type": "object", "remote_table": "user", "field_mapping": {"obj": "id"}}]}
        ]
    });
    let action = |name: &str, def: Json| json!({"name": name, "definition": def});
    let ok = check(
        json!({"custom_types": types, "actions": [
            action("create_user", json!({"kind": "synchronous", "handler": "{{H}}/create-user",
                "arguments": [{"name": "email", "type": "String!"}, {"name": "users", "type": "[UserInput!]!"},
                              {"name": "when", "type": "timestamptz"}, {"name": "c", "type": "Color"},
                              {"name": "s", "type": "myCustomScalar"}],
                "output_type": "UserId", "headers": [{"name": "x", "value_from_env": "X"}],
                "request_transform": {"version": 2}})),
            action("q", json!({"type": "query", "handler": "h", "output_type": "[UserIdObj]!", "timeout": 5})),
            action("scalar_out", json!({"handler": "h", "output_type": "jsonb"})),
            action("custom_scalar_out", json!({"handler": "h", "output_type": "[myCustomScalar]"})),
            action("nested_sync", json!({"handler": "h", "output_type": "Nested"})),
            action("async_plain", json!({"kind": "asynchronous", "handler": "h", "output_type": "UserId"}))
        ]}),
        &[],
    );
    let a = ok.action("create_user").unwrap();
    assert_eq!(a.kind, core::ActionKind::Synchronous);
    assert_eq!(a.root, core::ActionRoot::Mutation);
    assert_eq!(a.arguments.len(), 5);
    assert_eq!(a.timeout, 30);
    assert_eq!(
        a.headers,
        vec![("x".into(), core::HeaderValue::FromEnv("X".into()))]
    );
    assert_eq!(a.request_transform.as_deref(), Some("{\"version\":2}"));
    let q = ok.action("q").unwrap();
    assert_eq!(q.root, core::ActionRoot::Query);
    assert_eq!(q.timeout, 5);
    assert_eq!(ok.custom_types.objects.len(), 4);
    assert_eq!(ok.custom_types.enums[0].values[0].value, "RED");

    // (definition, the reason after `in action "a"; `)
    let cases: Vec<(Json, &str)> = vec![
        (
            json!({"handler": "h", "output_type": "UserId", "arguments": [{"name": "x", "type": "UserId"}]}),
            "the type: \"UserId\" is not defined in custom types or it is not a scalar/enum/input_object",
        ),
        (
            json!({"handler": "h", "output_type": "UserId", "arguments": [{"name": "x", "type": "geometry"}]}),
            "the type: \"geometry\" is not defined in custom types or it is not a scalar/enum/input_object",
        ),
        (
            json!({"handler": "h", "output_type": "UserInput"}),
            "the type: \"UserInput\" is not an object or scalar type defined in custom types",
        ),
        (
            json!({"handler": "h", "output_type": "Color"}),
            "the type: \"Color\" is not an object or scalar type defined in custom types",
        ),
        (
            json!({"kind": "asynchronous", "handler": "h", "output_type": "Nested"}),
            "Async action relations cannot be used with object fields: \"obj\"",
        ),
        (
            json!({"handler": "h", "output_type": "ViaNested"}),
            "Relationships cannot be defined with nested object fields: \"r\"",
        ),
    ];
    for (def, reason) in cases {
        let want = format!("action a: Inconsistent object: in action \"a\"; {reason}");
        let s = check(
            json!({"custom_types": types, "actions": [action("a", def)]}),
            &[want.as_str()],
        );
        assert!(s.actions.is_empty());
    }
    // A bad name, a repeated name.
    check(
        json!({"custom_types": types, "actions": [action("my-action", json!({"handler": "h", "output_type": "Int"}))]}),
        &["action my-action: Inconsistent object: in action \"my-action\"; \"my-action\" is not a valid GraphQL name"],
    );
    check(
        json!({"custom_types": types, "actions": [action("a", json!({"handler": "h", "output_type": "Int"})),
                                                  action("a", json!({"handler": "h", "output_type": "String"}))]}),
        &["action a: Inconsistent object: in action \"a\"; multiple definitions of action \"a\""],
    );
    // Inconsistent custom types make every action inconsistent.
    check(
        json!({"custom_types": {"scalars": [{"name": "A"}, {"name": "A"}]},
               "actions": [action("a", json!({"handler": "h", "output_type": "Int"}))]}),
        &[
            "custom_types custom_types: Inconsistent object: validation for the given custom types failed because duplicate type names: \"A\"",
            "action a: Inconsistent object: custom types are inconsistent",
        ],
    );
    // An action whose output type is gone (set_custom_types replaced them).
    check(
        json!({"actions": [action("a", json!({"handler": "h", "output_type": "UserId"}))]}),
        &["action a: Inconsistent object: in action \"a\"; the type: \"UserId\" is not an object or scalar type defined in custom types"],
    );
}

#[test]
fn permissions_and_inherited_roles() {
    let s = check(
        json!({
            "custom_types": {"objects": [user_id_type()]},
            "actions": [{"name": "create_user",
                         "definition": {"handler": "h", "output_type": "UserId"},
                         "permissions": [{"role": "role1"}, {"role": "role2"}]}],
            "inherited_roles": [
                {"role_name": "inherited_role1", "role_set": ["role1", "role2", "role3"]},
                {"role_name": "inherited_role2", "role_set": ["role3", "role4"]},
                {"role_name": "outer", "role_set": ["inherited_role1"]}
            ]
        }),
        &[],
    );
    let a = s.action("create_user").unwrap();
    assert_eq!(
        a.permissions,
        ["role1", "role2", "inherited_role1", "outer"]
    );
    assert!(a.allowed("admin") && a.allowed("outer") && !a.allowed("inherited_role2"));
}
