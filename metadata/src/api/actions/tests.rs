//! The action and custom type operations through [`crate::execute`] (dispatch, `bulk`, the
//! consistency check, persistence) against an in-memory database, replaying Hasura's
//! fixtures (`queries/actions/custom-types`, `metadata`, `nested-relation`) and the error
//! cases of `Action.hs`. One `check()` runs a list of steps.
use super::*;
use std::cell::Cell;
use std::sync::Arc;

use serde_json::json;

use crate::db::{DbError, Rows, SqlResult, Statement};
use crate::introspect::Catalog;
use crate::{Config, MetadataState};

/// The metadata database: a version number the writes bump, and an empty action log (the
/// `drop_action` deletion).
struct Memory {
    version: Cell<i64>,
}

impl Database for Memory {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        if stmt.sql.contains("resource_version::text") {
            return Ok(Some(self.version.get().to_string()));
        }
        if stmt.sql.contains("DELETE FROM graphedge.hdb_action_log") {
            return Ok(Some("0".into()));
        }
        Err(DbError {
            message: format!("unexpected statement: {}", stmt.sql),
            ..Default::default()
        })
    }
    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        self.version.set(self.version.get() + 1);
        Ok(stmts.iter().map(|_| Rows::default()).collect())
    }
    async fn run_sql(&self, _sql: &str) -> Result<Vec<SqlResult>, DbError> {
        Err(DbError {
            message: "no SQL here".into(),
            ..Default::default()
        })
    }
}

fn col(name: &str, udt: &str) -> Json {
    json!({"name": name, "type": {"udt": udt, "schema": "pg_catalog", "kind": "b"},
           "nullable": true, "has_default": false, "is_generated": false})
}

/// Tables `user` and `article` tracked (Hasura's fixtures' schema).
fn state() -> MetadataState {
    let catalog: Catalog = serde_json::from_value(json!({"tables": [
        {"schema": "public", "name": "user", "kind": "r",
         "columns": [col("id", "int4"), col("name", "text"), col("email", "text"),
                     {"name": "location", "type": {"udt": "geography", "schema": "public", "kind": "b"},
                      "nullable": true, "has_default": false, "is_generated": false}],
         "primary_key": {"name": "user_pkey", "columns": ["id"]}},
        {"schema": "public", "name": "article", "kind": "r",
         "columns": [col("id", "int4"), col("name", "text"), col("user_id", "int4")],
         "primary_key": {"name": "article_pkey", "columns": ["id"]}}
    ], "scalars": ["bool", "geography", "int4", "jsonb", "text", "timestamptz", "uuid"]}))
    .unwrap();
    let metadata: Metadata = serde_json::from_value(json!({"version": 3, "sources": [
        {"name": "default", "kind": "postgres", "configuration": {},
         "tables": [{"table": "user"}, {"table": "article"}]}]}))
    .unwrap();
    let (schema, inconsistencies) =
        crate::resolve::resolve(&metadata, &catalog, &Config::default());
    assert!(inconsistencies.is_empty(), "{inconsistencies:?}");
    MetadataState {
        metadata,
        schema: Arc::new(schema),
        inconsistencies,
        resource_version: 0,
        catalog: Arc::new(catalog),
    }
}

/// A request and what it answers: the body, or `{status, code, error, path}`.
struct Step {
    endpoint: Endpoint,
    body: Json,
    want: Result<Json, Json>,
}

fn q(body: Json, want: Result<Json, Json>) -> Step {
    Step {
        endpoint: Endpoint::V1Query,
        body,
        want,
    }
}

fn m(body: Json, want: Result<Json, Json>) -> Step {
    Step {
        endpoint: Endpoint::V1Metadata,
        body,
        want,
    }
}

fn ok() -> Result<Json, Json> {
    Ok(json!({"message": "success"}))
}

fn err(status: u16, code: &str, error: &str, path: &str) -> Result<Json, Json> {
    Err(json!({"status": status, "code": code, "error": error, "path": path}))
}

/// Runs the steps in order on one state (a failed step changes nothing); returns the state.
async fn check(steps: Vec<Step>) -> MetadataState {
    let db = Memory {
        version: Cell::new(0),
    };
    let mut state = state();
    for (i, s) in steps.into_iter().enumerate() {
        let got = match crate::execute(&state, s.endpoint, &s.body, &db, &Config::default()).await {
            Ok((out, new)) => {
                if let Some(n) = new {
                    state = n;
                }
                Ok(out)
            }
            Err(e) => {
                Err(json!({"status": e.status, "code": e.code, "error": e.error, "path": e.path}))
            }
        };
        assert_eq!(got, s.want, "step {i}: {:#}", s.body);
    }
    state
}

fn setup() -> Vec<Step> {
    // Hasura's queries/actions/metadata/setup.yaml.
    vec![q(
        json!({"type": "bulk", "args": [
            {"type": "set_custom_types", "args": {"objects": [{"name": "User", "fields": [
                {"name": "user_id", "type": "ID!"}, {"name": "name", "type": "String!"}]}]}},
            {"type": "create_action", "args": {"name": "create_user", "definition": {
                "kind": "synchronous", "arguments": [{"name": "name", "type": "String!"}],
                "output_type": "User!", "handler": "{{ACTION_WEBHOOK_HANDLER}}/create-user"}}}
        ]}),
        Ok(json!([{"message": "success"}, {"message": "success"}])),
    )]
}

#[tokio::test]
async fn action_operations() {
    let mut steps = setup();
    steps.extend([
        // recreate_permission.yaml
        q(json!({"type": "create_action_permission", "args": {"action": "create_user", "role": "user"}}), ok()),
        q(json!({"type": "drop_action_permission", "args": {"action": "create_user", "role": "user"}}), ok()),
        q(json!({"type": "create_action_permission", "args": {"action": "create_user", "role": "user"}}), ok()),
        q(
            json!({"type": "create_action_permission", "args": {"action": "create_user", "role": "user"}}),
            err(400, "already-exists", "permission for role \"user\" is already defined on \"create_user\"", "$.args"),
        ),
        m(json!({"type": "create_action_permission", "args": {"action": "create_user", "role": "editor",
            "comment": "edits", "definition": {}}}), ok()),
        q(
            json!({"type": "drop_action_permission", "args": {"action": "create_user", "role": "nope"}}),
            err(400, "not-exists", "permission for role: \"nope\" is not defined on \"create_user\"", "$.args"),
        ),
        q(
            json!({"type": "create_action_permission", "args": {"action": "nope", "role": "user"}}),
            err(400, "not-exists", "action with name \"nope\" does not exist", "$.args"),
        ),
        // create_with_headers.yaml, and the same on /v1/metadata
        q(
            json!({"type": "create_action", "args": {"name": "create_user_1", "definition": {
                "kind": "synchronous", "arguments": [{"name": "name", "type": "String!"}],
                "output_type": "User!", "handler": "{{ACTION_WEBHOOK_HANDLER}}/create-user",
                "headers": [{"name": "x-client-id", "value_from_env": "HASURA_GRAPHQL_CLIENT_NAME"}]}}}),
            err(400, "parse-failed", "env variables starting with \"HASURA_GRAPHQL_\" are not allowed in value_from_env: HASURA_GRAPHQL_CLIENT_NAME", "$.definition.headers[0]"),
        ),
        m(
            json!({"type": "create_action", "args": {"name": "a", "definition": {
                "output_type": "User!", "handler": "h",
                "headers": [{"name": "ok", "value": "1"}, {"name": "x", "value": "1", "value_from_env": "E"}]}}}),
            err(400, "parse-failed", "expecting only one of value or value_from_env keys", "$.args.definition.headers[1]"),
        ),
        m(
            json!({"type": "create_action", "args": {"name": "a", "definition": {"output_type": "[User", "handler": "h"}}}),
            err(400, "parse-failed", "not a valid GraphQL type: [User", "$.args.definition"),
        ),
        m(
            json!({"type": "create_action", "args": {"definition": {"output_type": "User", "handler": "h"}}}),
            err(400, "parse-failed", "key \"name\" not found", "$.args"),
        ),
        q(
            json!({"type": "create_action", "args": {"name": "create_user", "definition": {"output_type": "User", "handler": "h"}}}),
            err(400, "already-exists", "action with name \"create_user\" already exists", "$.args"),
        ),
        q(
            json!({"type": "update_action", "args": {"name": "nope", "definition": {"output_type": "User", "handler": "h"}}}),
            err(400, "not-exists", "action with name \"nope\" does not exist", "$.args"),
        ),
        q(
            json!({"type": "drop_action", "args": {"name": "nope"}}),
            err(400, "not-exists", "action with name \"nope\" does not exist", "$.args"),
        ),
        // An argument that is not an input type: the action's own inconsistency.
        q(
            json!({"type": "create_action", "args": {"name": "bad", "definition": {
                "arguments": [{"name": "u", "type": "User"}], "output_type": "User", "handler": "h"}}}),
            err(400, "invalid-configuration", "Inconsistent object: in action \"bad\"; the type: \"User\" is not defined in custom types or it is not a scalar/enum/input_object", "$.args"),
        ),
        // Dropping a type an action uses breaks the action: Hasura's generic refusal.
        q(
            json!({"type": "set_custom_types", "args": {}}),
            err(400, "unexpected", "cannot continue due to newly found inconsistent metadata", "$.args"),
        ),
        // create_action_pg_scalar.yaml (with a query action and a comment).
        q(
            json!({"type": "create_action", "args": {"name": "some_action", "comment": "pg", "definition": {
                "kind": "synchronous", "arguments": [{"name": "user_id", "type": "ID!"},
                    {"name": "location", "type": "geography!"}],
                "output_type": "User!", "handler": "{{ACTION_WEBHOOK_HANDLER}}/create-user"}}}),
            ok(),
        ),
        m(
            json!({"type": "update_action", "args": {"name": "some_action", "definition": {
                "type": "query", "output_type": "[User!]", "handler": "h2", "timeout": 10}}}),
            ok(),
        ),
        m(json!({"type": "create_action", "args": {"name": "another", "definition": {
            "kind": "asynchronous", "output_type": "User", "handler": "h"}}}), ok()),
        q(json!({"type": "drop_action", "args": {"name": "another", "clear_data": false}}), ok()),
        // The export: sorted by name, Hasura's keys.
        m(
            json!({"type": "export_metadata", "args": {}}),
            Ok(json!({"version": 3, "sources": [{"name": "default", "kind": "postgres",
                "tables": [{"table": {"schema": "public", "name": "user"}},
                           {"table": {"schema": "public", "name": "article"}}],
                "configuration": {}}],
                "actions": [
                    {"name": "create_user", "definition": {
                        "handler": "{{ACTION_WEBHOOK_HANDLER}}/create-user", "output_type": "User!",
                        "arguments": [{"name": "name", "type": "String!"}],
                        "type": "mutation", "kind": "synchronous"},
                     "permissions": [{"role": "editor", "comment": "edits"}, {"role": "user"}]},
                    {"name": "some_action", "definition": {"handler": "h2", "output_type": "[User!]",
                        "type": "query", "timeout": 10}}
                ],
                "custom_types": {"objects": [{"name": "User", "fields": [
                    {"name": "user_id", "type": "ID!"}, {"name": "name", "type": "String!"}]}]}
            })),
        ),
    ]);
    let st = check(steps).await;
    assert_eq!(st.schema.actions.len(), 2);
    assert!(st.schema.action("create_user").unwrap().allowed("editor"));
    assert_eq!(
        st.schema.action("some_action").unwrap().root,
        graphedge_core::actions::ActionRoot::Query
    );
}

#[tokio::test]
async fn custom_type_operations() {
    let list_type = "Inconsistent object: validation for the given custom types failed because the type of the field \"names\" for relationship \"Names\" in object type \"User\" is a list type";
    let nested = "Inconsistent object: in action \"action_create_fail\"; Async action relations cannot be used with object fields: \"someNestedObj\"";
    check(vec![
        // custom-types/setup.yaml's types, then reuse_pgscalars.yaml
        q(json!({"type": "set_custom_types", "args": {"objects": [{"name": "User", "fields": [
            {"name": "user_id", "type": "ID!"}]}]}}), ok()),
        q(
            json!({"type": "set_custom_types", "args": {
                "objects": [{"name": "User", "fields": [{"name": "user_id", "type": "uuid!"},
                    {"name": "location", "type": "geography"}],
                    "relationships": [{"name": "user", "type": "object", "remote_table": "user",
                                       "field_mapping": {"user_id": "id"}}]}],
                "input_objects": [{"name": "UserInput", "fields": [{"name": "name", "type": "String!"},
                    {"name": "id", "type": "uuid!"}]}]}}),
            ok(),
        ),
        // list_type_relationship.yaml
        q(
            json!({"type": "set_custom_types", "args": {"objects": [{"name": "User", "fields": [
                {"name": "user_id", "type": "uuid!"}, {"name": "names", "type": "[String!]"}],
                "relationships": [{"name": "Names", "type": "array", "remote_table": "user",
                                   "field_mapping": {"names": "name"}}]}]}}),
            err(400, "invalid-configuration", list_type, "$.args"),
        ),
        // reuse_unknown_pgscalar.yaml
        q(
            json!({"type": "set_custom_types", "args": {
                "objects": [{"name": "User", "fields": [{"name": "user_id", "type": "uuid!"},
                    {"name": "location", "type": "geography"}, {"name": "unknown_pgtype", "type": "unknown_type"}]}],
                "input_objects": [{"name": "UserInput", "fields": [{"name": "name", "type": "String!"}]}]}}),
            err(400, "invalid-configuration", "Inconsistent object: validation for the given custom types failed because the type \"unknown_type\" for field \"unknown_pgtype\" in  object type \"User\" does not exist", "$.args"),
        ),
        // drop_relationship.yaml
        q(json!({"type": "set_custom_types", "args": {"objects": [{"name": "User", "fields": [
            {"name": "user_id", "type": "uuid!"}, {"name": "name", "type": "String!"}],
            "relationships": [{"name": "Names", "type": "array", "remote_table": "user",
                               "field_mapping": {"name": "name"}}]}]}}), ok()),
        q(json!({"type": "set_custom_types", "args": {"objects": [{"name": "User", "fields": [
            {"name": "user_id", "type": "uuid!"}, {"name": "name", "type": "String!"}],
            "relationships": []}]}}), ok()),
        m(
            json!({"type": "set_custom_types", "args": {"enums": [{"name": "E", "values": []}]}}),
            err(400, "parse-failed", "parsing NonEmpty failed, unexpected empty list", "$.args.enums[0].values"),
        ),
        // nested-relation: an async action whose output type has object fields and relationships
        q(
            json!({"type": "bulk", "args": [
                {"type": "set_custom_types", "args": {"objects": [
                    {"name": "UserIdObj", "fields": [{"name": "id", "type": "Int"}]},
                    {"name": "UserIdNested", "fields": [{"name": "userObj", "type": "UserIdObj"}]},
                    {"name": "UserIdObj_Fail", "fields": [{"name": "id", "type": "Int!"},
                        {"name": "someNestedObj", "type": "UserIdObj"}],
                     "relationships": [{"name": "relationship_failure", "type": "object",
                        "remote_table": "user", "field_mapping": {"id": "id"}}]}]}},
                {"type": "create_action", "args": {"name": "action_create_fail", "definition": {
                    "kind": "asynchronous", "arguments": [{"name": "someInput", "type": "String!"}],
                    "output_type": "UserIdObj_Fail", "handler": "http://some.random/endpoint"}}}
            ]}),
            err(400, "invalid-configuration", nested, "$.args[1].args"),
        ),
        // …and the synchronous one with a nested relationship succeeds.
        q(
            json!({"type": "bulk", "args": [
                {"type": "set_custom_types", "args": {"objects": [
                    {"name": "UserId", "fields": [{"name": "id", "type": "Int!"}],
                     "relationships": [{"name": "user", "type": "object", "remote_table": "user",
                                        "field_mapping": {"id": "id"}}]},
                    {"name": "UserIdObj", "fields": [{"name": "user_id", "type": "UserId"}]}]}},
                {"type": "create_action", "args": {"name": "action_create", "definition": {
                    "kind": "synchronous", "arguments": [{"name": "someInput", "type": "String!"}],
                    "output_type": "UserIdObj", "handler": "http://some.random/endpoint"}}},
                {"type": "drop_action", "args": {"name": "action_create", "clear_data": true}},
                {"type": "set_custom_types", "args": {}}
            ]}),
            Ok(json!([{"message": "success"}, {"message": "success"}, {"message": "success"}, {"message": "success"}])),
        ),
    ])
    .await;
}

#[tokio::test]
async fn replace_export_and_drop_inconsistent() {
    let doc = json!({"version": 3, "sources": [{"name": "default", "kind": "postgres",
            "tables": [{"table": {"schema": "public", "name": "user"}},
                       {"table": {"schema": "public", "name": "article"}}],
            "configuration": {}}],
        "actions": [
            {"name": "a", "definition": {"handler": "h", "output_type": "O",
                "headers": [{"name": "x", "value": "1"}],
                "arguments": [{"name": "i", "type": "[I!]", "description": "d"}],
                "request_transform": {"version": 2, "method": "POST"},
                "type": "mutation", "kind": "asynchronous", "timeout": 5},
             "comment": "c", "permissions": [{"role": "user"}]},
            {"name": "b", "definition": {"handler": "h", "output_type": "jsonb", "type": "query"}}],
        "custom_types": {
            "input_objects": [{"name": "I", "fields": [{"name": "n", "type": "String"}]}],
            "objects": [{"name": "O", "fields": [{"name": "id", "type": "Int!"}],
                "relationships": [{"name": "u", "type": "object", "source": "default",
                    "remote_table": {"schema": "public", "name": "user"}, "field_mapping": {"id": "id"}}]}]}
    });
    let mut broken = doc.clone();
    broken["actions"][1]["definition"]["output_type"] = json!("Nope");
    let mut without_b = doc.clone();
    without_b["actions"].as_array_mut().unwrap().pop();
    let st = check(vec![
        q(json!({"type": "replace_metadata", "args": doc}), ok()),
        m(json!({"type": "export_metadata", "args": {}}), Ok(doc.clone())),
        // Broken metadata is refused, or kept with allow_inconsistent_metadata…
        m(
            json!({"type": "replace_metadata", "args": {"metadata": broken}}),
            err(400, "unexpected", "cannot continue due to inconsistent metadata", "$.args"),
        ),
        m(
            json!({"type": "replace_metadata", "args": {"metadata": broken, "allow_inconsistent_metadata": true}}),
            Ok(json!({"is_consistent": false, "inconsistent_objects": [{
                "definition": {"name": "b", "comment": null, "definition": {
                    "arguments": [], "output_type": "Nope", "headers": [],
                    "forward_client_headers": false, "handler": "h", "timeout": 30, "type": "query"}},
                "reason": "Inconsistent object: in action \"b\"; the type: \"Nope\" is not an object or scalar type defined in custom types",
                "name": "action b", "type": "action"}]})),
        ),
        // …and drop_inconsistent_metadata removes the action.
        m(json!({"type": "drop_inconsistent_metadata", "args": {}}), ok()),
        m(json!({"type": "export_metadata", "args": {}}), Ok(without_b)),
    ])
    .await;
    assert!(st.inconsistencies.is_empty());
    assert_eq!(st.schema.actions.len(), 1);
}
