//! The SDL of `actions.graphql`: reading (actions under `Query`/`Mutation`, types, descriptions
//! in both spellings, directives, default values, errors), writing, and the merge with
//! `actions.yaml`. One `check()` per area.
use super::*;
use crate::raw::Metadata;
use serde_json::json;

/// `sdl` reads as `want` (actions as `{name, type, arguments, output_type, description}` and
/// the types as custom-types JSON), or fails with a message containing the error.
fn check(sdl: &str, want: Result<Json, &str>) {
    let got = parse(sdl).map(|s| {
        json!({
            "actions": s.actions.iter().map(|a| json!({
                "name": a.name, "type": a.action_type, "arguments": a.arguments,
                "output_type": a.output_type, "description": a.description,
            })).collect::<Vec<_>>(),
            "types": s.types,
        })
    });
    match (got, want) {
        (Ok(got), Ok(want)) => assert_eq!(got, want, "{sdl}"),
        (Err(e), Err(w)) => assert!(e.contains(w), "{sdl}: {e}"),
        (got, want) => panic!("{sdl}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn reads_the_cli_sdl() {
    check(
        r#"
type Mutation {
  login(
    username: String!
    """ the password """ password: String!
  ): LoginOutput
}

# a comment
extend type Query {
  "who am I"
  me: User!, users(ids: [uuid!]! = [], limit: Int = 10 @deprecated): [User]
}

"""
  An input
    indented
"""
input SampleInput { username: String! password: String = "x" }

type LoginOutput {
  accessToken: String!
  """a "quoted" word"""
  user: User
}

scalar Date @specifiedBy(url: "https://x")

enum Color {
  "red" RED
  GREEN @deprecated(reason: "no")
}
"#,
        Ok(json!({
            "actions": [
                {"name": "login", "type": "mutation", "output_type": "LoginOutput", "description": null,
                 "arguments": [{"name": "username", "type": "String!"},
                               {"name": "password", "type": "String!", "description": "the password"}]},
                {"name": "me", "type": "query", "output_type": "User!", "description": "who am I",
                 "arguments": []},
                {"name": "users", "type": "query", "output_type": "[User]", "description": null,
                 "arguments": [{"name": "ids", "type": "[uuid!]!"}, {"name": "limit", "type": "Int"}]}
            ],
            "types": {
                "input_objects": [{"name": "SampleInput", "description": "An input\n  indented",
                    "fields": [{"name": "username", "type": "String!"}, {"name": "password", "type": "String"}]}],
                "objects": [{"name": "LoginOutput", "fields": [
                    {"name": "accessToken", "type": "String!"},
                    {"name": "user", "type": "User", "description": "a \"quoted\" word"}]}],
                "scalars": [{"name": "Date"}],
                "enums": [{"name": "Color", "values": [
                    {"value": "RED", "description": "red", "is_deprecated": null},
                    {"value": "GREEN", "description": null, "is_deprecated": true}]}]
            }
        })),
    );
    check("", Ok(json!({"actions": [], "types": {}})));
    check(
        "type Query { a: [Int }",
        Err("line 1: expected \"]\", found \"}\""),
    );
    check("type Query { a(x: Int): }", Err("expected a name"));
    check(
        "schema { query: Q }",
        Err("schema definitions are not allowed"),
    );
    check(
        "interface I { a: Int }",
        Err("interface types are not supported"),
    );
    check("union U = A | B", Err("union types are not supported"));
    check("type A { a: \"x }", Err("unterminated string"));
    check(
        "type A { a: Int }\n\"\"\"never ends",
        Err("line 2: unterminated block string"),
    );
    check("type A { a: Int ~ }", Err("unexpected character '~'"));
    check("directive @x on FIELD", Err("unexpected \"directive\""));
    check(
        &format!(
            "type Query {{ a(x: Int = {}1{}): Int }}",
            "[".repeat(500),
            "]".repeat(500)
        ),
        Err("value nested too deeply"),
    );
}

fn sample() -> Metadata {
    serde_json::from_value(json!({
        "version": 3,
        "sources": [],
        "actions": [
            {"name": "create_user", "comment": "makes users",
             "permissions": [{"role": "user"}],
             "definition": {"kind": "asynchronous", "handler": "{{BASE}}/create", "timeout": 60,
                "forward_client_headers": true,
                "headers": [{"name": "x-b", "value_from_env": "B"}],
                "arguments": [{"name": "email", "type": "String!", "description": "the e-mail"},
                              {"name": "input", "type": "[UserInput!]"}],
                "output_type": "UserId",
                "request_transform": {"version": 2, "body": {"action": "transform", "template": "{{$body}}"}}}},
            {"name": "me", "definition": {"type": "query", "handler": "h", "output_type": "[User]!"}}
        ],
        "custom_types": {
            "input_objects": [{"name": "UserInput", "description": "in",
                "fields": [{"name": "name", "type": "String!", "description": "line one\nline two"}]}],
            "objects": [
                {"name": "UserId", "fields": [{"name": "id", "type": "Int!"}],
                 "relationships": [{"name": "user", "type": "object", "remote_table": "user",
                                    "field_mapping": {"id": "id"}}]},
                {"name": "User", "description": "ends with a \"quote\"",
                 "fields": [{"name": "id", "type": "Int!", "description": "  padded  "}]}],
            "scalars": [{"name": "Date", "description": "a \"\"\" b"}],
            "enums": [{"name": "Color", "values": [{"value": "RED", "description": "red"},
                {"value": "OLD", "is_deprecated": true}, {"value": "NEW", "is_deprecated": false}]}]
        }
    }))
    .unwrap()
}

#[test]
fn writes_like_the_cli() {
    let md = sample();
    let sdl = print(&md.actions, &md.custom_types);
    assert_eq!(
        sdl,
        r#"type Mutation {
  create_user(
    """the e-mail"""
    email: String!
    input: [UserInput!]
  ): UserId
}

type Query {
  me: [User]!
}

"""in"""
input UserInput {
  "line one\nline two"
  name: String!
}

type UserId {
  id: Int!
}

"ends with a \"quote\""
type User {
  "  padded  "
  id: Int!
}

"a \"\"\" b"
scalar Date

enum Color {
  """red"""
  RED
  OLD @deprecated
  NEW
}
"#
    );
    assert_eq!(print(&[], &CustomTypes::default()), "");
    let doc = yaml_document(&md.actions, &md.custom_types);
    assert_eq!(
        doc,
        json!({
            "actions": [
                {"name": "create_user",
                 "definition": {"kind": "asynchronous", "handler": "{{BASE}}/create",
                    "forward_client_headers": true,
                    "headers": [{"name": "x-b", "value_from_env": "B"}], "timeout": 60,
                    "request_transform": {"version": 2, "body": {"action": "transform", "template": "{{$body}}"}}},
                 "permissions": [{"role": "user"}], "comment": "makes users"},
                {"name": "me", "definition": {"kind": "", "handler": "h"}}
            ],
            "custom_types": {
                "enums": [{"name": "Color", "values": [
                    {"value": "RED", "description": "red", "is_deprecated": null},
                    {"value": "OLD", "description": null, "is_deprecated": true},
                    {"value": "NEW", "description": null, "is_deprecated": false}]}],
                "input_objects": [{"name": "UserInput", "description": "in"}],
                "objects": [
                    {"name": "UserId", "relationships": [{"name": "user", "type": "object",
                        "source": "default", "remote_table": {"schema": "public", "name": "user"},
                        "field_mapping": {"id": "id"}}]},
                    {"name": "User", "description": "ends with a \"quote\""}],
                "scalars": [{"name": "Date", "description": "a \"\"\" b"}]
            }
        })
    );
    // Read back: the same actions and types.
    let (actions, types) = merge(&doc, &sdl).unwrap();
    let back: Metadata = serde_json::from_value(
        json!({"version": 3, "sources": [], "actions": actions, "custom_types": types}),
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&md).unwrap()
    );
}

/// The merge of an `actions.yaml` document with an SDL: `want` is the resulting
/// `{actions, custom_types}` as metadata exports them, or an error.
fn check_merge(yaml: Json, sdl: &str, want: Result<Json, &str>) {
    let got = merge(&yaml, sdl).and_then(|(actions, types)| {
        let md: Metadata = serde_json::from_value(
            json!({"version": 3, "sources": [], "actions": actions, "custom_types": types}),
        )
        .map_err(|e| e.to_string())?;
        let mut v = serde_json::to_value(md).unwrap();
        v.as_object_mut().unwrap().shift_remove("version");
        v.as_object_mut().unwrap().shift_remove("sources");
        Ok(v)
    });
    match (got, want) {
        (Ok(got), Ok(want)) => assert_eq!(got, want, "{sdl}"),
        (Err(e), Err(w)) => assert!(e.contains(w), "{sdl}: {e}"),
        (got, want) => panic!("{sdl}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn merges_like_metadata_apply() {
    // The SDL decides type, arguments and output type; actions.yaml the rest (its own
    // `arguments` are ignored); a comment from the SDL's description when the YAML has none;
    // type descriptions from actions.yaml when it has one.
    check_merge(
        json!({"actions": [{"name": "a", "definition": {"kind": "", "handler": "h", "type": "mutation",
                "arguments": [{"name": "stale", "type": "Int"}]}}],
               "custom_types": {"objects": [{"name": "O", "description": "from yaml"}],
                                "scalars": [], "enums": null}}),
        "type Query {\n  \"says hi\" a(x: Int): O\n}\n\"from sdl\" type O { f: Int }\n\"s\" scalar S",
        Ok(json!({
            "actions": [{"name": "a", "definition": {"handler": "h", "output_type": "O",
                "arguments": [{"name": "x", "type": "Int"}], "type": "query"}, "comment": "says hi"}],
            "custom_types": {
                "objects": [{"name": "O", "fields": [{"name": "f", "type": "Int"}], "description": "from yaml"}],
                "scalars": [{"name": "S", "description": "s"}]}
        })),
    );
    // No actions.yaml entry: the SDL alone (no handler: the definition is incomplete, but read).
    check_merge(
        json!(null),
        "type Mutation { b: Int }",
        Ok(
            json!({"actions": [{"name": "b", "definition": {"handler": "", "output_type": "Int",
            "type": "mutation", "kind": "synchronous"}}]}),
        ),
    );
    check_merge(
        json!({"actions": [{"name": "gone", "definition": {"kind": "synchronous", "handler": "h"}}]}),
        "type Mutation { b: Int }",
        Err("action gone is not present in actions.graphql"),
    );
    check_merge(
        json!({"custom_types": {"input_objects": [{"name": "Gone"}]}}),
        "type Mutation { b: Int }",
        Err("custom type Gone is not present in actions.graphql"),
    );
    check_merge(json!({}), "type Mutation { b: Int", Err("line 1"));
}
