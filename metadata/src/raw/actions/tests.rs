//! The raw model of actions and custom types: what Hasura's `export_metadata` prints for a
//! given input (defaults filled in and left out, enum values with their nulls, relationships
//! with their source), unknown keys kept, and the parse errors. One `check()` per area.
use super::*;
use crate::raw::Metadata;
use serde_json::json;

/// `input` (a metadata document's `actions` and `custom_types`) exports as `want`, or fails to
/// parse with a message containing the error.
fn check(input: Json, want: Result<Json, &str>) {
    let mut doc = json!({"version": 3, "sources": []});
    for (k, v) in input.as_object().unwrap() {
        doc[k] = v.clone();
    }
    let got = serde_json::from_value::<Metadata>(doc)
        .map(|md| serde_json::to_value(md.exported()).unwrap())
        .map_err(|e| e.to_string());
    match (got, want) {
        (Ok(got), Ok(mut want)) => {
            want["version"] = json!(3);
            want["sources"] = json!([]);
            assert_eq!(got, want, "{input:#}");
            // And the export reads back as itself.
            let again: Metadata = serde_json::from_value(got.clone()).unwrap();
            assert_eq!(serde_json::to_value(again.exported()).unwrap(), got);
        }
        (Err(e), Err(w)) => assert!(e.contains(w), "{input:#}: {e}"),
        (got, want) => panic!("{input:#}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn actions_export_like_hasura() {
    // The minimum: type and kind filled in, timeout left out.
    check(
        json!({"actions": [{"name": "a", "definition": {"handler": "http://h", "output_type": "T"}}]}),
        Ok(json!({"actions": [{"name": "a", "definition": {
            "handler": "http://h", "output_type": "T", "type": "mutation", "kind": "synchronous"}}]})),
    );
    // A query has no kind (one given is dropped); the default timeout is left out.
    check(
        json!({"actions": [{"name": "q", "definition": {"handler": "h", "output_type": "[T!]!",
            "type": "query", "kind": "asynchronous", "timeout": 30}}]}),
        Ok(json!({"actions": [{"name": "q", "definition": {
            "handler": "h", "output_type": "[T!]!", "type": "query"}}]})),
    );
    // Everything, in Hasura's key order; sorted by name; unknown keys kept.
    check(
        json!({"actions": [
            {"name": "z", "definition": {"handler": "h", "output_type": "T"}},
            {"name": "create_user", "comment": "makes users", "future": 1,
             "permissions": [{"role": "user", "comment": "c"}, {"role": "anon"}],
             "definition": {
                "kind": "asynchronous", "timeout": 60, "forward_client_headers": true,
                "arguments": [{"name": "email", "type": " String ! ", "description": "d"},
                              {"name": "tags", "type": "[String]"}],
                "headers": [{"name": "x-a", "value": "1"}, {"name": "x-b", "value_from_env": "B"}],
                "request_transform": {"version": 2, "template_engine": "Kriti"},
                "response_transform": {"version": 2},
                "handler": "{{BASE}}/create", "output_type": "UserId", "unknown": [1]}}]}),
        Ok(json!({"actions": [
            {"name": "create_user",
             "definition": {
                "handler": "{{BASE}}/create", "output_type": "UserId",
                "forward_client_headers": true,
                "headers": [{"name": "x-a", "value": "1"}, {"name": "x-b", "value_from_env": "B"}],
                "arguments": [{"name": "email", "type": "String!", "description": "d"},
                              {"name": "tags", "type": "[String]"}],
                "request_transform": {"version": 2, "template_engine": "Kriti"},
                "response_transform": {"version": 2},
                "type": "mutation", "kind": "asynchronous", "timeout": 60, "unknown": [1]},
             "comment": "makes users",
             "permissions": [{"role": "user", "comment": "c"}, {"role": "anon"}],
             "future": 1},
            {"name": "z", "definition": {"handler": "h", "output_type": "T",
                "type": "mutation", "kind": "synchronous"}}]})),
    );
    // Parse errors: Hasura's messages.
    check(
        json!({"actions": [{"name": "a", "definition": {"handler": "h", "output_type": "T", "type": "subscription"}}]}),
        Err("expected mutation or query, but found subscription"),
    );
    check(
        json!({"actions": [{"name": "a", "definition": {"handler": "h", "output_type": "[T"}}]}),
        Err("not a valid GraphQL type: [T"),
    );
    check(
        json!({"actions": [{"name": "a", "definition": {"output_type": "T"}}]}),
        Err("missing field `handler`"),
    );
    check(
        json!({"actions": [{"name": "a", "definition": {"handler": "h", "output_type": "T",
            "headers": [{"name": "x", "value_from_env": "HASURA_GRAPHQL_ADMIN_SECRET"}]}}]}),
        Err("env variables starting with \"HASURA_GRAPHQL_\" are not allowed in value_from_env: HASURA_GRAPHQL_ADMIN_SECRET"),
    );
    check(
        json!({"actions": [{"name": "a", "definition": {"handler": "h", "output_type": "T",
            "headers": [{"name": "x"}]}}]}),
        Err("expecting value or value_from_env keys"),
    );
}

#[test]
fn custom_types_export_like_hasura() {
    // Empty: absent.
    check(
        json!({"custom_types": {"objects": [], "enums": []}}),
        Ok(json!({})),
    );
    check(
        json!({"custom_types": {
            "enums": [{"name": "Color", "values": [{"value": "RED"},
                      {"value": "OLD", "is_deprecated": true, "description": "gone"}]}],
            "scalars": [{"name": "Date", "description": "a day"}],
            "objects": [{"name": "User", "description": "a user", "fields": [
                {"name": "id", "type": "uuid!"}, {"name": "tags", "type": "[ String ]", "description": "t"}],
                "relationships": [{"name": "profile", "type": "object", "remote_table": "profile",
                                   "field_mapping": {"id": "user_id"}}]}],
            "input_objects": [{"name": "UserInput", "fields": [{"name": "name", "type": "String!"}],
                               "extra": true}],
            "later": {"x": 1}
        }}),
        Ok(json!({"custom_types": {
            "input_objects": [{"name": "UserInput", "fields": [{"name": "name", "type": "String!"}],
                               "extra": true}],
            "objects": [{"name": "User", "fields": [
                    {"name": "id", "type": "uuid!"}, {"name": "tags", "type": "[String]", "description": "t"}],
                "description": "a user",
                "relationships": [{"name": "profile", "type": "object", "source": "default",
                    "remote_table": {"schema": "public", "name": "profile"},
                    "field_mapping": {"id": "user_id"}}]}],
            "scalars": [{"name": "Date", "description": "a day"}],
            "enums": [{"name": "Color", "values": [
                {"value": "RED", "description": null, "is_deprecated": null},
                {"value": "OLD", "description": "gone", "is_deprecated": true}]}],
            "later": {"x": 1}
        }})),
    );
    check(
        json!({"custom_types": {"objects": [{"name": "U", "fields": [{"name": "a", "type": "Int"}],
            "relationships": [{"name": "r", "type": "many", "remote_table": "t", "field_mapping": {}}]}]}}),
        Err("unknown variant `many`"),
    );
}

#[test]
fn type_references() {
    // (text, printed or error)
    let cases: Vec<(&str, Result<&str, ()>)> = vec![
        ("Int", Ok("Int")),
        ("uuid!", Ok("uuid!")),
        ("[User!]!", Ok("[User!]!")),
        (" [ [ _x1 ] ! ] ", Ok("[[_x1]!]")),
        ("[Int,]", Ok("[Int]")),
        ("", Err(())),
        ("[Int", Err(())),
        ("Int]", Err(())),
        ("Int!!", Err(())),
        ("1a", Err(())),
        ("a-b", Err(())),
        ("!", Err(())),
        ("[]", Err(())),
        ("Int String", Err(())),
    ];
    for (text, want) in cases {
        match (parse_type(text), want) {
            (Ok(t), Ok(w)) => assert_eq!(type_text(&t), w, "{text:?}"),
            (Err(e), Err(())) => assert_eq!(e, format!("not a valid GraphQL type: {text}")),
            (got, want) => panic!("{text:?}: got {got:?}, want {want:?}"),
        }
    }
    // Nesting is bounded (no stack exhaustion), not refused below the bound.
    let deep = format!("{}Int{}", "[".repeat(20), "]".repeat(20));
    assert!(parse_type(&deep).is_ok());
    let hostile = format!("{}Int{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_type(&hostile).is_err());
    let t = GqlType::parse("[[A!]]!").unwrap();
    assert!(t.is_list());
    assert_eq!(t.base(), "A");
    assert!(!GqlType::parse("A!").unwrap().is_list());
}

#[test]
fn inconsistency_definitions() {
    let ct: CustomTypes = serde_json::from_value(json!({
        "objects": [{"name": "User", "fields": [{"name": "id", "type": "uuid!"}],
                     "relationships": [{"name": "r", "type": "array", "remote_table": "user",
                                        "field_mapping": {"id": "id"}}]}],
        "input_objects": [{"name": "I", "fields": [{"name": "n", "type": "String!"}]}]
    }))
    .unwrap();
    assert_eq!(
        custom_types_definition(&ct),
        json!({
            "input_objects": [{"name": "I", "description": null,
                               "fields": [{"name": "n", "description": null, "type": "String!"}]}],
            "objects": [{"name": "User", "description": null,
                "fields": [{"arguments": null, "name": "id", "description": null, "type": "uuid!"}],
                "relationships": [{"name": "r", "type": "array", "source": "default",
                    "remote_table": {"schema": "public", "name": "user"}, "field_mapping": {"id": "id"}}]}],
            "scalars": [],
            "enums": []
        })
    );
    let a: ActionMetadata = serde_json::from_value(json!({"name": "act", "definition": {
        "kind": "asynchronous", "handler": "http://some.random/endpoint", "output_type": "O",
        "arguments": [{"name": "someInput", "type": "String!"}]}}))
    .unwrap();
    assert_eq!(
        action_definition(&a),
        json!({"name": "act", "comment": null, "definition": {
            "arguments": [{"description": null, "name": "someInput", "type": "String!"}],
            "forward_client_headers": false, "handler": "http://some.random/endpoint",
            "headers": [], "kind": "asynchronous", "output_type": "O", "timeout": 30,
            "type": "mutation"}})
    );
}
