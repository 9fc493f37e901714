//! Round-trip tests of the raw model: JSON → struct → JSON is the identity for export-shaped
//! metadata, and the YAML directory round-trips.
use super::*;
use serde_json::json;

fn sample() -> Json {
    json!({
      "version": 3,
      "sources": [{
        "name": "default",
        "kind": "postgres",
        "tables": [
          {
            "table": {"schema": "public", "name": "author"},
            "configuration": {
              "custom_name": "writer",
              "custom_root_fields": {"select": "writers", "select_by_pk": {"name": "writer", "comment": "one"}},
              "column_config": {"id": {"custom_name": "writerId"}},
              "custom_column_names": {"id": "writerId"}
            },
            "object_relationships": [
              {"name": "profile", "using": {"manual_configuration": {
                "remote_table": {"schema": "public", "name": "profile"},
                "column_mapping": {"id": "author_id"},
                "insertion_order": "after_parent"}}}
            ],
            "array_relationships": [
              {"name": "articles", "using": {"foreign_key_constraint_on": {
                "table": {"schema": "public", "name": "article"}, "column": "author_id"}}},
              {"name": "articles2", "using": {"foreign_key_constraint_on": {
                "table": {"schema": "public", "name": "article"}, "columns": ["author_id"]}}, "comment": "c"}
            ],
            "computed_fields": [
              {"name": "full_name", "definition": {"function": {"schema": "public", "name": "author_full_name"},
               "table_argument": "author_row", "session_argument": "hasura_session"}}
            ],
            "insert_permissions": [
              {"role": "user", "permission": {"check": {"id": {"_eq": "X-Hasura-User-Id"}},
               "set": {"id": "x-hasura-User-Id"}, "columns": ["name"], "backend_only": true}}
            ],
            "select_permissions": [
              {"role": "user", "permission": {"columns": "*", "computed_fields": ["full_name"],
               "filter": {"_or": [{"id": {"_eq": "X-Hasura-User-Id"}}]}, "limit": 10,
               "allow_aggregations": true, "query_root_fields": ["select"], "subscription_root_fields": []}},
              {"role": "anon", "permission": {"columns": ["id"], "filter": {}}}
            ],
            "update_permissions": [
              {"role": "user", "permission": {"columns": ["name"], "filter": {}, "check": {"id": {"_gt": 0}}}}
            ],
            "delete_permissions": [
              {"role": "user", "permission": {"filter": {"id": {"_eq": 1}}}}
            ],
            "event_triggers": [{"name": "t", "definition": {"enable_manual": false}, "webhook": "http://x"}]
          },
          {"table": {"schema": "public", "name": "article"},
           "object_relationships": [
             {"name": "author", "using": {"foreign_key_constraint_on": "author_id"}},
             {"name": "author2", "using": {"foreign_key_constraint_on": ["author_id"]}}
           ]},
          {"table": {"schema": "public", "name": "colors"}, "is_enum": true}
        ],
        "functions": [
          {"function": {"schema": "public", "name": "search"},
           "configuration": {"custom_name": "find", "custom_root_fields": {"function": "f", "function_aggregate": "fa"},
                             "session_argument": "s", "exposed_as": "query"},
           "permissions": [{"role": "user"}]},
          {"function": {"schema": "public", "name": "plain"}}
        ],
        "configuration": {"connection_info": {"database_url": {"from_env": "DB"}, "use_prepared_statements": true}}
      }],
      "remote_schemas": [{"name": "r", "definition": {"url": "http://x"}}],
      "query_collections": [{"name": "allowed", "definition": {"queries": [{"name": "q", "query": "query { a }"}]}}],
      "allowlist": [{"collection": "allowed", "scope": {"global": true}},
                    {"collection": "c2", "scope": {"global": false, "roles": ["user"]}}],
      "inherited_roles": [{"role_name": "both", "role_set": ["user", "anon"]}],
      "actions": [
        {"name": "a", "definition": {"handler": "http://h", "output_type": "UserId",
          "forward_client_headers": true, "headers": [{"name": "x", "value_from_env": "X"}],
          "arguments": [{"name": "email", "type": "String!", "description": "who"},
                        {"name": "input", "type": "[UserInput!]!"}],
          "request_transform": {"version": 2, "template_engine": "Kriti"},
          "type": "mutation", "kind": "asynchronous", "timeout": 60},
         "comment": "c", "permissions": [{"role": "user"}]},
        {"name": "b", "definition": {"handler": "http://h", "output_type": "Color", "type": "query"}}
      ],
      "custom_types": {
        "input_objects": [{"name": "UserInput", "fields": [{"name": "name", "type": "String"}]}],
        "objects": [{"name": "UserId", "fields": [{"name": "id", "type": "Int!", "description": "d"}],
          "description": "an id",
          "relationships": [{"name": "author", "type": "object", "source": "default",
            "remote_table": {"schema": "public", "name": "author"}, "field_mapping": {"id": "id"}}]}],
        "scalars": [{"name": "Date"}],
        "enums": [{"name": "Color", "values": [
          {"value": "RED", "description": null, "is_deprecated": null},
          {"value": "BLUE", "description": "b", "is_deprecated": false}]}]
      },
      "api_limits": {"disabled": false}
    })
}

#[test]
fn json_round_trip() {
    let v = sample();
    let md: Metadata = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&md).unwrap(), v);
    let md2 = Metadata::from_json(&v, &json!({})).unwrap();
    assert_eq!(md, md2);
}

#[test]
fn shapes() {
    let md: Metadata = serde_json::from_value(sample()).unwrap();
    let src = md.source("default").unwrap();
    let author = src.table(&QualifiedTable::new("public", "author")).unwrap();
    assert_eq!(author.configuration.column_name("id"), Some("writerId"));
    assert_eq!(
        author.select_permissions[0].permission.columns,
        Columns::All
    );
    assert!(matches!(
        author.array_relationships[0]
            .using
            .foreign_key_constraint_on,
        Some(FkOn::Remote(_))
    ));
    let article = src
        .table(&QualifiedTable::new("public", "article"))
        .unwrap();
    assert_eq!(
        article.object_relationships[0]
            .using
            .foreign_key_constraint_on,
        Some(FkOn::Column("author_id".into()))
    );
    assert_eq!(
        article.object_relationships[1]
            .using
            .foreign_key_constraint_on,
        Some(FkOn::Columns(vec!["author_id".into()]))
    );
    assert_eq!(
        md.remote_schemas[0].definition.url.as_deref(),
        Some("http://x")
    );
    assert!(!md.extra.contains_key("remote_schemas"));
}

#[test]
fn bare_names_and_defaults() {
    let v = json!({"version": 3, "sources": [{"name": "default", "tables": [
        {"table": "author", "select_permissions": [{"role": "u", "permission": {"columns": []}}]}
    ]}]});
    let md: Metadata = serde_json::from_value(v).unwrap();
    let t = &md.sources[0].tables[0];
    assert_eq!(t.table, QualifiedTable::new("public", "author"));
    assert_eq!(md.sources[0].kind, "postgres");
    assert_eq!(t.select_permissions[0].permission.filter, json!({}));
    // Export: empty lists omitted, empty configuration omitted.
    let out = serde_json::to_value(&md).unwrap();
    assert_eq!(
        out,
        json!({"version": 3, "sources": [{"name": "default", "kind": "postgres", "tables": [
            {"table": {"schema": "public", "name": "author"},
             "select_permissions": [{"role": "u", "permission": {"columns": [], "filter": {}}}]}
        ], "configuration": {}}]})
    );
}

#[test]
fn bad_columns_rejected() {
    let v = json!({"columns": "id", "filter": {}});
    assert!(serde_json::from_value::<SelectPermission>(v).is_err());
}

#[test]
fn version_2_upgrades() {
    let v = json!({"version": 2, "tables": [{"table": "author"}], "functions": [
        {"function": "f", "configuration": {}}, "g", {"schema": "s", "name": "h"}
    ], "remote_schemas": []});
    let md = Metadata::from_json(&v, &json!({"connection_info": {}})).unwrap();
    assert_eq!(md.version, 3);
    assert_eq!(md.sources[0].name, "default");
    assert_eq!(md.sources[0].tables.len(), 1);
    let names: Vec<_> = md.sources[0]
        .functions
        .iter()
        .map(|f| f.function.dotted())
        .collect();
    assert_eq!(names, ["public.f", "public.g", "s.h"]);
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "graphedge-md-{tag}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn yaml_dir_round_trip() {
    let md: Metadata = serde_json::from_value(sample()).unwrap();
    let dir = temp_dir("yaml");
    to_yaml_dir(&md, &dir).unwrap();
    assert!(dir
        .join("databases/default/tables/public_author.yaml")
        .exists());
    assert!(dir
        .join("databases/default/functions/functions.yaml")
        .exists());
    // The CLI's split: signatures and fields in the SDL, the rest in actions.yaml.
    let sdl = std::fs::read_to_string(dir.join("actions.graphql")).unwrap();
    assert!(sdl.contains("type Mutation {\n  a(\n"), "{sdl}");
    assert!(sdl.contains("type Query {\n  b: Color\n}"), "{sdl}");
    let actions_yaml = std::fs::read_to_string(dir.join("actions.yaml")).unwrap();
    assert!(!actions_yaml.contains("output_type"), "{actions_yaml}");
    assert!(actions_yaml.contains("remote_table"), "{actions_yaml}");
    let back = from_yaml_dir(&dir).unwrap();
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&md).unwrap()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn yaml_dir_without_actions_graphql() {
    // An actions.yaml with whole definitions (as graphedge wrote it before the split) reads
    // as is; empty actions files read as no actions.
    let dir = temp_dir("actions-yaml");
    std::fs::write(dir.join("version.yaml"), "version: 3\n").unwrap();
    std::fs::write(
        dir.join("actions.yaml"),
        "actions:\n- name: a\n  definition:\n    handler: h\n    output_type: T\ncustom_types:\n  scalars:\n  - name: T\n",
    )
    .unwrap();
    let md = from_yaml_dir(&dir).unwrap();
    assert_eq!(md.actions[0].definition.output_type.to_string(), "T");
    assert_eq!(md.custom_types.scalars[0].name, "T");
    std::fs::write(
        dir.join("actions.yaml"),
        "actions: []\ncustom_types:\n  enums: []\n  input_objects: []\n  objects: []\n  scalars: []\n",
    )
    .unwrap();
    std::fs::write(dir.join("actions.graphql"), "").unwrap();
    let md = from_yaml_dir(&dir).unwrap();
    assert!(md.actions.is_empty() && md.custom_types.is_empty());
    assert!(md.extra.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn yaml_dir_cli_layout() {
    // As `hasura metadata export` writes it, with both include spellings.
    let dir = temp_dir("cli");
    let w = |p: &str, s: &str| {
        let p = dir.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    };
    w("version.yaml", "version: 3\n");
    w(
        "databases/databases.yaml",
        "- name: default\n  kind: postgres\n  configuration:\n    connection_info:\n      database_url:\n        from_env: HASURA_GRAPHQL_DATABASE_URL\n  tables: \"!include default/tables/tables.yaml\"\n",
    );
    w(
        "databases/default/tables/tables.yaml",
        "- \"!include public_author.yaml\"\n- !include public_article.yaml\n",
    );
    w(
        "databases/default/tables/public_author.yaml",
        "table:\n  name: author\n  schema: public\nselect_permissions:\n  - role: user\n    permission:\n      columns: '*'\n      filter: {}\n",
    );
    w(
        "databases/default/tables/public_article.yaml",
        "table:\n  name: article\n  schema: public\n",
    );
    w("allow_list.yaml", "[]\n");
    w(
        "query_collections.yaml",
        "- name: c\n  definition:\n    queries:\n      - name: q\n        query: query { a }\n",
    );
    w("inherited_roles.yaml", "");
    w("remote_schemas.yaml", "[]\n");
    let md = from_yaml_dir(&dir).unwrap();
    assert_eq!(md.sources[0].tables.len(), 2);
    assert_eq!(
        md.sources[0].tables[0].select_permissions[0]
            .permission
            .columns,
        Columns::All
    );
    assert_eq!(
        md.query_collections[0].definition.queries[0].query,
        "query { a }"
    );
    assert!(md.extra.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}
