//! The remote schemas' serde model: Hasura's input forms and its export.
use super::*;
use crate::raw::Metadata;

#[test]
fn check() {
    // Nulls as absent, defaults left out of the export, Hasura's key order, unknown keys kept.
    let rs: RemoteSchemaMetadata = serde_json::from_value(json!({
        "name": "simple 1", "comment": "testing simple 1",
        "definition": {"url": "http://localhost:5000/hello-graphql", "headers": null,
                       "forward_client_headers": null, "timeout_seconds": null,
                       "customization": null, "x_future": 1},
        "permissions": null, "remote_relationships": null
    }))
    .unwrap();
    assert_eq!(rs.definition.timeout(), 60);
    let out = serde_json::to_value(&rs).unwrap();
    assert_eq!(
        serde_json::to_string(&out).unwrap(),
        r#"{"name":"simple 1","definition":{"url":"http://localhost:5000/hello-graphql","x_future":1},"comment":"testing simple 1"}"#
    );
    // Every key, in Hasura's order: url, url_from_env, timeout_seconds, customization,
    // headers, forward_client_headers.
    let full: RemoteSchemaMetadata = serde_json::from_value(json!({
        "name": "r",
        "definition": {"forward_client_headers": true, "headers": [{"name": "h", "value_from_env": "H"}],
                       "customization": {"root_fields_namespace": "ns"}, "timeout_seconds": 120,
                       "url_from_env": "REMOTE_URL"},
        "permissions": [{"role": "user", "definition": {"schema": "type Query { a: Int }"}}],
        "remote_relationships": [{"type_name": "User", "relationships": []}]
    }))
    .unwrap();
    assert_eq!(
        serde_json::to_string(&full).unwrap(),
        r#"{"name":"r","definition":{"url_from_env":"REMOTE_URL","timeout_seconds":120,"customization":{"root_fields_namespace":"ns"},"headers":[{"name":"h","value_from_env":"H"}],"forward_client_headers":true},"permissions":[{"role":"user","definition":{"schema":"type Query { a: Int }"}}],"remote_relationships":[{"type_name":"User","relationships":[]}]}"#
    );
    assert_eq!(full.definition.check_url(), Ok(()));
    // Empty headers are not exported; the inconsistency definition shows them.
    let empty: RemoteSchemaDef =
        serde_json::from_value(json!({"url": "u", "headers": []})).unwrap();
    assert_eq!(serde_json::to_value(&empty).unwrap(), json!({"url": "u"}));
    assert_eq!(
        def_json(&empty),
        json!({"url": "u", "headers": [], "forward_client_headers": false})
    );
    assert_eq!(
        remote_schema_definition(&rs),
        json!({"name": "simple 1", "comment": "testing simple 1",
               "definition": {"url": "http://localhost:5000/hello-graphql", "forward_client_headers": false},
               "permissions": [], "remote_relationships": []})
    );
    // url / url_from_env: exactly one.
    assert_eq!(
        RemoteSchemaDef::default().check_url(),
        Err("both `url` and `url_from_env` can't be empty".into())
    );
    let both: RemoteSchemaDef =
        serde_json::from_value(json!({"url": "u", "url_from_env": "U"})).unwrap();
    assert_eq!(
        both.check_url(),
        Err("both `url` and `url_from_env` can't be present".into())
    );
    assert!(both.same_url(&empty));
    assert!(!empty.same_url(&full.definition));
    // In the whole metadata: after the sources, sorted by name on export; the YAML directory
    // keeps round-tripping.
    let md: Metadata = serde_json::from_value(json!({"version": 3, "sources": [],
        "remote_schemas": [{"name": "z", "definition": {"url": "u"}}, {"name": "a", "definition": {"url": "v"}}]}))
    .unwrap();
    let exported = md.exported();
    let names: Vec<&str> = exported
        .remote_schemas
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(names, ["a", "z"]);
    let dir = std::env::temp_dir().join(format!("graphedge-rs-yaml-{}", std::process::id()));
    crate::raw::to_yaml_dir(&md, &dir).unwrap();
    let text = std::fs::read_to_string(dir.join("remote_schemas.yaml")).unwrap();
    assert!(text.contains("name: z"), "{text}");
    assert_eq!(crate::raw::from_yaml_dir(&dir).unwrap(), md);
    std::fs::remove_dir_all(&dir).ok();
}
