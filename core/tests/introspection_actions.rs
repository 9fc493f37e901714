//! Actions and custom types in the type system per role: SDL snapshots (admin, `user`, a role
//! without permissions), `__type` lookups, Hasura's harness expectation
//! (`queries/actions/introspection/output_types_query.yaml`), Relay and customized sources.
use std::collections::BTreeMap;

use graphedge_core::actions::*;
use graphedge_core::customize::Customization;
use graphedge_core::introspection::{self, TypeSystem};
use graphedge_core::model::*;
use graphedge_core::parse::{ast, parse};
use graphedge_core::{Options, Session, Value};
use serde_json::{json, Value as Json};

mod common;
use common::root_fields;

// ------------------------------------------------------------------ fixtures

/// A GraphQL type reference in SDL notation (`[T!]!`).
fn ty(s: &str) -> Type {
    if let Some(inner) = s.strip_suffix('!') {
        Type::NonNull(Box::new(ty(inner)))
    } else if let Some(inner) = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        Type::List(Box::new(ty(inner)))
    } else {
        Type::Named(s.into())
    }
}

fn field(name: &str, t: &str) -> FieldDef {
    FieldDef {
        name: name.into(),
        ty: ty(t),
        description: None,
    }
}

fn described(name: &str, t: &str, d: &str) -> FieldDef {
    FieldDef {
        description: Some(d.into()),
        ..field(name, t)
    }
}

fn col(name: &str, udt: &str, nullable: bool) -> Column {
    Column {
        nullable,
        ..common::col(name, udt)
    }
}

fn table(name: &str, columns: Vec<Column>) -> Table {
    Table {
        name: QualifiedName::new("public", name),
        gql_name: name.into(),
        root_fields: root_fields(name),
        columns,
        primary_key: vec![0],
        unique_constraints: vec![UniqueConstraint {
            name: format!("{name}_pkey"),
            columns: vec![0],
            is_primary: true,
        }],
        relationships: vec![],
        remote_relationships: vec![],
        remote_schema_relationships: Vec::new(),
        computed_fields: vec![],
        permissions: BTreeMap::new(),
        kind: 'r',
        mutable: Mutable::ALL,
        is_enum: false,
        enum_values: vec![],
        description: None,
    }
}

fn action(
    name: &str,
    root: ActionRoot,
    kind: ActionKind,
    args: Vec<FieldDef>,
    out: &str,
) -> Action {
    Action {
        name: name.into(),
        comment: None,
        kind,
        root,
        arguments: args,
        output_type: ty(out),
        handler: "http://localhost:3000".into(),
        headers: vec![],
        forward_client_headers: false,
        ignored_client_headers: None,
        timeout: 30,
        request_transform: None,
        response_transform: None,
        permissions: vec![],
    }
}

/// `user(id, name, created_at)` ← `article(id, user_id, title)`; role `user` selects
/// `user(id, name, created_at)` (no aggregations) and nothing of `article`. Custom types:
/// `UserOutput` (relationships `user` → table `user`, `articles` → table `article`, a nested
/// `Details`), `UserInput` (recursive, an enum, a custom scalar, a reused Postgres scalar),
/// `Role`, `Email`, `String` re-declared, `Unused`, `SecretInput`. Actions:
/// `create_user` (sync mutation, user), `get_users` (query, user), `ping` (query returning a
/// nullable scalar, user), `place_order` (async, admin only), `export_data` (async with a
/// scalar output, user), `admin_only` (sync mutation with `SecretInput`, admin only).
fn schema() -> graphedge_core::Schema {
    let mut user = table(
        "user",
        vec![
            col("id", "int4", false),
            col("name", "text", false),
            col("created_at", "timestamptz", false),
        ],
    );
    user.permissions.insert(
        "user".into(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 1, 2],
                filter: Value::Object(vec![]),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    let article = table(
        "article",
        vec![
            col("id", "int4", false),
            col("user_id", "int4", false),
            col("title", "text", false),
        ],
    );
    let custom_types = CustomTypes {
        scalars: vec![
            CustomScalar {
                name: "Email".into(),
                description: Some("an email address".into()),
            },
            CustomScalar {
                name: "String".into(),
                description: Some("never shown: String is the built-in".into()),
            },
        ],
        enums: vec![CustomEnum {
            name: "Role".into(),
            description: Some("what a user may do".into()),
            values: vec![
                CustomEnumValue {
                    value: "editor".into(),
                    description: Some("edits".into()),
                    is_deprecated: false,
                },
                CustomEnumValue {
                    value: "reader".into(),
                    description: None,
                    is_deprecated: true,
                },
            ],
        }],
        input_objects: vec![
            InputObject {
                name: "UserInput".into(),
                description: Some("a new user".into()),
                fields: vec![
                    field("name", "String!"),
                    described("email", "Email!", "where to write"),
                    field("role", "Role"),
                    field("since", "timestamptz"),
                    field("referrer", "UserInput"),
                    field("tags", "[String!]"),
                ],
            },
            InputObject {
                name: "SecretInput".into(),
                description: None,
                fields: vec![field("code", "String!")],
            },
        ],
        objects: vec![
            ObjectType {
                name: "UserOutput".into(),
                description: Some("the created user".into()),
                fields: vec![
                    field("id", "Int!"),
                    described("token", "String", "a session token"),
                    field("role", "Role!"),
                    field("created", "timestamptz"),
                    field("details", "Details"),
                    field("tags", "[String!]!"),
                ],
                relationships: vec![
                    ObjectRelationship {
                        name: "user".into(),
                        kind: RelKind::Object,
                        target: 0,
                        mapping: vec![("id".into(), 0)],
                    },
                    ObjectRelationship {
                        name: "articles".into(),
                        kind: RelKind::Array,
                        target: 1,
                        mapping: vec![("id".into(), 1)],
                    },
                ],
            },
            ObjectType {
                name: "Details".into(),
                description: None,
                fields: vec![field("bio", "String"), field("emails", "[Email!]")],
                relationships: vec![],
            },
            ObjectType {
                name: "Unused".into(),
                description: None,
                fields: vec![field("x", "Int")],
                relationships: vec![],
            },
        ],
    };
    let mut create_user = action(
        "create_user",
        ActionRoot::Mutation,
        ActionKind::Synchronous,
        vec![
            described("input", "UserInput!", "the user"),
            field("role", "Role"),
        ],
        "UserOutput",
    );
    create_user.comment = Some("Create a user".into());
    create_user.permissions = vec!["user".into()];
    let mut get_users = action(
        "get_users",
        ActionRoot::Query,
        ActionKind::Synchronous,
        vec![field("ids", "[Int!]!")],
        "[UserOutput!]",
    );
    get_users.permissions = vec!["user".into()];
    let mut ping = action(
        "ping",
        ActionRoot::Query,
        ActionKind::Synchronous,
        vec![],
        "String",
    );
    ping.permissions = vec!["user".into()];
    let place_order = action(
        "place_order",
        ActionRoot::Mutation,
        ActionKind::Asynchronous,
        vec![field("order_id", "uuid!"), field("note", "String")],
        "UserOutput!",
    );
    let mut export_data = action(
        "export_data",
        ActionRoot::Mutation,
        ActionKind::Asynchronous,
        vec![],
        "Email",
    );
    export_data.comment = Some("".into()); // an empty comment is no description
    export_data.permissions = vec!["user".into()];
    let admin_only = action(
        "admin_only",
        ActionRoot::Mutation,
        ActionKind::Synchronous,
        vec![field("secret", "SecretInput!")],
        "Details",
    );
    graphedge_core::Schema {
        tables: vec![user, article],
        custom_types,
        actions: vec![
            create_user,
            get_users,
            ping,
            place_order,
            export_data,
            admin_only,
        ],
        ..Default::default()
    }
}

// ------------------------------------------------------------------ helpers

fn ts(schema: &graphedge_core::Schema, role: &str) -> TypeSystem {
    introspection::build(schema, role, &Options::default())
}

fn sdl(schema: &graphedge_core::Schema, role: &str) -> String {
    ts(schema, role).to_sdl()
}

/// Runs a document selecting only introspection root fields; returns `data` as JSON.
fn run(schema: &graphedge_core::Schema, role: &str, options: &Options, query: &str) -> Json {
    let doc = parse(query).unwrap();
    let session = Session {
        role: role.into(),
        vars: BTreeMap::new(),
    };
    let mut out = serde_json::Map::new();
    for sel in &doc.operations[0].selection_set {
        let ast::Selection::Field(f) = sel else {
            panic!("only fields at the root")
        };
        let v =
            introspection::resolve_root_field(schema, &session, options, f, &doc.fragments, &[])
                .unwrap();
        out.insert(
            f.response_key().to_string(),
            serde_json::from_str(&v).unwrap(),
        );
    }
    Json::Object(out)
}

fn pretty(v: &Json) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

fn type_names(t: &TypeSystem) -> Vec<&str> {
    t.types.keys().map(|k| k.as_str()).collect()
}

/// graphql-js `getIntrospectionQuery()`.
const FULL_QUERY: &str = r#"
    query IntrospectionQuery {
      __schema {
        queryType { name } mutationType { name } subscriptionType { name }
        types { ...FullType }
        directives { name description locations args { ...InputValue } }
      }
    }
    fragment FullType on __Type {
      kind name description
      fields(includeDeprecated: true) {
        name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
      }
      inputFields { ...InputValue }
      interfaces { ...TypeRef }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { ...TypeRef }
    }
    fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
    fragment TypeRef on __Type {
      kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
    }
"#;

// ------------------------------------------------------------------ tests

#[test]
fn admin_sdl_snapshot() {
    insta::assert_snapshot!("actions_admin_sdl", sdl(&schema(), "admin"));
}

#[test]
fn user_sdl_snapshot() {
    insta::assert_snapshot!("actions_user_sdl", sdl(&schema(), "user"));
}

#[test]
fn root_fields_per_role() {
    let s = schema();
    let admin = ts(&s, "admin");
    let q = |t: &TypeSystem, root: &str, f: &str| t.field(root, f).map(|f| f.ty.to_sdl());
    // Synchronous mutation and query actions: the output type as declared.
    assert_eq!(
        q(&admin, "mutation_root", "create_user").as_deref(),
        Some("UserOutput")
    );
    assert_eq!(
        q(&admin, "query_root", "get_users").as_deref(),
        Some("[UserOutput!]")
    );
    // A scalar output is always non-null (Hasura, hasura/graphql-engine#9546).
    assert_eq!(q(&admin, "query_root", "ping").as_deref(), Some("String!"));
    // Asynchronous: the id, and the result on query and subscription roots.
    assert_eq!(
        q(&admin, "mutation_root", "place_order").as_deref(),
        Some("uuid!")
    );
    assert_eq!(
        q(&admin, "query_root", "place_order").as_deref(),
        Some("place_order")
    );
    assert_eq!(
        q(&admin, "subscription_root", "place_order").as_deref(),
        Some("place_order")
    );
    let result = admin.field("query_root", "place_order").unwrap();
    assert_eq!(result.args.len(), 1);
    assert_eq!(result.args[0].name, "id");
    assert_eq!(result.args[0].ty.to_sdl(), "uuid!");
    assert_eq!(
        q(&admin, "place_order", "output").as_deref(),
        Some("UserOutput!")
    );
    assert_eq!(
        q(&admin, "place_order", "created_at").as_deref(),
        Some("timestamptz!")
    );
    assert_eq!(q(&admin, "place_order", "errors").as_deref(), Some("json"));
    assert_eq!(q(&admin, "place_order", "id").as_deref(), Some("uuid!"));
    // Asynchronous with a scalar output: the query field returns the scalar itself.
    assert_eq!(
        q(&admin, "query_root", "export_data").as_deref(),
        Some("Email!")
    );
    assert!(admin.type_def("export_data").is_none());
    // Sync query actions are not subscriptions.
    assert!(admin.field("subscription_root", "get_users").is_none());
    assert!(admin.field("subscription_root", "ping").is_none());
    // Descriptions: the comment, none without one (an empty one is none).
    let d =
        |t: &TypeSystem, root: &str, f: &str| t.field(root, f).and_then(|f| f.description.clone());
    assert_eq!(
        d(&admin, "mutation_root", "create_user").as_deref(),
        Some("Create a user")
    );
    assert_eq!(d(&admin, "query_root", "get_users"), None);
    assert_eq!(d(&admin, "mutation_root", "export_data"), None);

    let user = ts(&s, "user");
    for (root, f) in [
        ("mutation_root", "create_user"),
        ("query_root", "get_users"),
        ("query_root", "ping"),
        ("mutation_root", "export_data"),
        ("query_root", "export_data"),
        ("subscription_root", "export_data"),
    ] {
        assert!(user.field(root, f).is_some(), "user: {root}.{f}");
    }
    for (root, f) in [
        ("mutation_root", "place_order"),
        ("query_root", "place_order"),
        ("subscription_root", "place_order"),
        ("mutation_root", "admin_only"),
    ] {
        assert!(user.field(root, f).is_none(), "user: {root}.{f}");
    }
    for t in ["place_order", "SecretInput", "Unused"] {
        assert!(user.type_def(t).is_none(), "user: {t}");
    }
    // The role's mutation_root has only actions (it may not mutate a table).
    let m = user.type_def("mutation_root").unwrap();
    let names: Vec<&str> = m.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["create_user", "export_data"]);
    assert_eq!(m.description.as_deref(), Some("mutation root"));
}

#[test]
fn custom_types_are_reused_and_reachable_only() {
    let s = schema();
    for role in ["admin", "user"] {
        let t = ts(&s, role);
        // Never defined twice, built-ins and Postgres scalars without a custom description.
        assert_eq!(t.type_def("String").unwrap().description, None, "{role}");
        assert_eq!(
            t.type_def("timestamptz").unwrap().kind,
            introspection::TypeKind::Scalar
        );
        assert_eq!(t.type_def("timestamptz").unwrap().description, None);
        assert_eq!(
            t.type_def("Email").unwrap().description.as_deref(),
            Some("an email address")
        );
        // Not reachable from any action: absent, admin included.
        assert!(t.type_def("Unused").is_none(), "{role}");
        // Nested objects and recursive inputs are there, once.
        assert!(t.type_def("Details").is_some());
        assert_eq!(
            t.type_def("UserInput")
                .unwrap()
                .input_field("referrer")
                .unwrap()
                .ty
                .to_sdl(),
            "UserInput"
        );
        // Hasura ignores `is_deprecated` (enum values are never deprecated in its schema).
        let role_enum = t.type_def("Role").unwrap();
        assert_eq!(role_enum.enum_values.len(), 2);
    }
    // A role that may call no action sees none of its types, and no mutation_root.
    let nobody = ts(&s, "nobody");
    for n in [
        "UserOutput",
        "UserInput",
        "Role",
        "Email",
        "Details",
        "place_order",
    ] {
        assert!(nobody.type_def(n).is_none(), "nobody: {n}");
    }
    assert!(nobody.mutation_type.is_none());
    assert!(nobody.subscription_type.is_none());
    assert!(nobody.field("query_root", "no_queries_available").is_some());
}

#[test]
fn relationships_follow_table_permissions() {
    let s = schema();
    let admin = ts(&s, "admin");
    let out = admin.type_def("UserOutput").unwrap();
    assert_eq!(out.field("user").unwrap().ty.to_sdl(), "user");
    assert_eq!(out.field("user").unwrap().description, None);
    let articles = out.field("articles").unwrap();
    assert_eq!(articles.ty.to_sdl(), "[article!]!");
    let args: Vec<String> = articles
        .args
        .iter()
        .map(|a| format!("{}: {}", a.name, a.ty.to_sdl()))
        .collect();
    assert_eq!(
        args,
        [
            "distinct_on: [article_select_column!]",
            "limit: Int",
            "offset: Int",
            "order_by: [article_order_by!]",
            "where: article_bool_exp",
        ]
    );
    assert_eq!(
        out.field("articles_aggregate").unwrap().ty.to_sdl(),
        "article_aggregate!"
    );
    // The role selects `user` (no aggregations) but not `article`.
    let user = ts(&s, "user");
    let out = user.type_def("UserOutput").unwrap();
    assert_eq!(out.field("user").unwrap().ty.to_sdl(), "user");
    assert!(out.field("articles").is_none());
    assert!(out.field("articles_aggregate").is_none());
    assert!(user.type_def("article").is_none());
}

#[test]
fn a_table_only_actions_lead_to_is_kept() {
    // Role `user` has no root field on table `user`: the relationship keeps its types.
    let mut s = schema();
    let sel = s.tables[0]
        .permissions
        .get_mut("user")
        .unwrap()
        .select
        .as_mut()
        .unwrap();
    sel.query_root_fields = Some(vec![]);
    sel.subscription_root_fields = Some(vec![]);
    let t = ts(&s, "user");
    assert!(t.field("query_root", "user").is_none());
    assert_eq!(t.field("UserOutput", "user").unwrap().ty.to_sdl(), "user");
    assert!(t.type_def("user").is_some());
    // Without actions, it is pruned as before.
    s.actions.clear();
    assert!(ts(&s, "user").type_def("user").is_none());
}

#[test]
fn type_lookups_per_role() {
    let s = schema();
    let q = r#"{
      output: __type(name: "UserOutput") {
        kind name description
        fields { name description args { name } type { kind name ofType { kind name ofType { kind name } } } }
      }
      input: __type(name: "UserInput") {
        kind name description inputFields { name description defaultValue type { kind name ofType { kind name } } }
      }
      enum: __type(name: "Role") {
        kind name description enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      }
      scalar: __type(name: "Email") { kind name description }
      async: __type(name: "place_order") {
        kind name description fields { name description type { kind name ofType { kind name } } }
      }
      secret: __type(name: "SecretInput") { name }
      unused: __type(name: "Unused") { name }
    }"#;
    let user = run(&s, "user", &Options::default(), q);
    assert_eq!(user["async"], Json::Null);
    assert_eq!(user["secret"], Json::Null);
    assert_eq!(user["unused"], Json::Null);
    insta::assert_snapshot!("actions_user_type_lookups", pretty(&user));
    let admin = run(&s, "admin", &Options::default(), q);
    assert_eq!(admin["unused"], Json::Null);
    assert_eq!(admin["secret"]["name"], "SecretInput");
    insta::assert_snapshot!("actions_admin_async_type", pretty(&admin["async"]));
    // Nobody: no action types at all.
    let nobody = run(&s, "nobody", &Options::default(), q);
    for k in [
        "output", "input", "enum", "scalar", "async", "secret", "unused",
    ] {
        assert_eq!(nobody[k], Json::Null, "nobody: {k}");
    }
}

#[test]
fn full_introspection_lists_every_referenced_type() {
    let s = schema();
    for role in ["admin", "user", "nobody"] {
        let v = run(&s, role, &Options::default(), FULL_QUERY);
        let types = v["__schema"]["types"].as_array().unwrap();
        let names: Vec<&str> = types.iter().map(|t| t["name"].as_str().unwrap()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted, "{role}: sorted, each once");
        fn refs<'a>(v: &'a Json, out: &mut Vec<&'a str>) {
            match v {
                Json::Object(m) => {
                    if let (Some(Json::String(n)), true) = (m.get("name"), m.contains_key("ofType"))
                    {
                        out.push(n);
                    }
                    m.values().for_each(|i| refs(i, out));
                }
                Json::Array(items) => items.iter().for_each(|i| refs(i, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(&v["__schema"], &mut all);
        for n in all {
            assert!(names.contains(&n), "{role}: {n} referenced but not listed");
        }
    }
}

/// Hasura's `TestActionIntrospection.test_output_types`
/// (`queries/actions/introspection/output_types_query.yaml`, its setup: no tables, two
/// synchronous mutations), queried as admin.
#[test]
fn hasura_output_types_query() {
    let ty_field = |name: &str, t: &str| field(name, t);
    let s = graphedge_core::Schema {
        custom_types: CustomTypes {
            input_objects: vec![InputObject {
                name: "SampleInput".into(),
                description: None,
                fields: vec![
                    ty_field("username", "String!"),
                    ty_field("password", "String!"),
                ],
            }],
            objects: vec![
                ObjectType {
                    name: "SampleOutput".into(),
                    description: None,
                    fields: vec![ty_field("id", "[String!]")],
                    relationships: vec![],
                },
                ObjectType {
                    name: "SampleOutput2".into(),
                    description: None,
                    fields: vec![ty_field("id", "String!")],
                    relationships: vec![],
                },
            ],
            ..Default::default()
        },
        actions: vec![
            action(
                "actionName",
                ActionRoot::Mutation,
                ActionKind::Synchronous,
                vec![
                    ty_field("text", "jsonb!"),
                    ty_field("attributes", "String!"),
                ],
                "[SampleOutput!]",
            ),
            action(
                "actionName2",
                ActionRoot::Mutation,
                ActionKind::Synchronous,
                vec![ty_field("a", "ID!"), ty_field("b", "ID!")],
                "SampleOutput2",
            ),
        ],
        ..Default::default()
    };
    let q = r#"query {
      __schema {
        mutationType {
          fields {
            name
            type {
              name kind
              fields { name type { kind ofType { name kind ofType { name kind } } } }
              ofType {
                name kind
                ofType {
                  name kind
                  fields { name type { kind ofType { name kind ofType { name kind } } } }
                }
              }
            }
          }
        }
      }
    }"#;
    let expected = json!({"__schema": {"mutationType": {"fields": [
        {"name": "actionName", "type": {
            "name": null, "kind": "LIST", "fields": null,
            "ofType": {"name": null, "kind": "NON_NULL", "ofType": {
                "name": "SampleOutput", "kind": "OBJECT", "fields": [
                    {"name": "id", "type": {"kind": "LIST", "ofType": {
                        "name": null, "kind": "NON_NULL",
                        "ofType": {"name": "String", "kind": "SCALAR"}}}}
                ]}}}},
        {"name": "actionName2", "type": {
            "name": "SampleOutput2", "kind": "OBJECT", "fields": [
                {"name": "id", "type": {"kind": "NON_NULL", "ofType": {
                    "name": "String", "kind": "SCALAR", "ofType": null}}}
            ],
            "ofType": null}}
    ]}}});
    assert_eq!(run(&s, "admin", &Options::default(), q), expected);
    // The harness's whole introspection query (`introspection_query.yaml`) answers.
    let full = run(&s, "admin", &Options::default(), FULL_QUERY);
    assert_eq!(full["__schema"]["mutationType"]["name"], "mutation_root");
    let t = ts(&s, "admin");
    assert!(t.field("query_root", "no_queries_available").is_some());
    assert!(t.type_def("SampleInput").is_none(), "unused input type");
    assert_eq!(
        t.type_def("jsonb").unwrap().kind,
        introspection::TypeKind::Scalar
    );
}

#[test]
fn relay_has_action_mutations_only() {
    let s = schema();
    let options = Options {
        relay: true,
        ..Default::default()
    };
    let t = introspection::build(&s, "admin", &options);
    assert_eq!(
        t.field("mutation_root", "create_user").unwrap().ty.to_sdl(),
        "UserOutput"
    );
    assert_eq!(
        t.field("mutation_root", "place_order").unwrap().ty.to_sdl(),
        "uuid!"
    );
    for f in ["get_users", "ping", "place_order", "export_data"] {
        assert!(t.field("query_root", f).is_none(), "relay query_root.{f}");
    }
    assert!(t.field("subscription_root", "place_order").is_none());
    assert!(t.type_def("place_order").is_none());
    let out = t.type_def("UserOutput").unwrap();
    assert!(out.field("user").is_none() && out.field("articles").is_none());
    assert!(out.field("token").is_some());
}

#[test]
fn customized_sources_keep_action_names_and_rename_table_types() {
    let mut s = schema();
    s.sources = vec![SourceInfo {
        name: "default".into(),
        tables_end: 2,
        functions_end: 0,
        customization: Customization {
            namespace: Some("db".into()),
            type_prefix: "db_".into(),
            ..Default::default()
        },
    }];
    let t = ts(&s, "admin");
    // Actions stay at the root, with their own type names.
    assert_eq!(
        t.field("mutation_root", "create_user").unwrap().ty.to_sdl(),
        "UserOutput"
    );
    assert!(t.field("query_root", "get_users").is_some());
    assert!(t.field("query_root", "db").is_some());
    assert!(t.field("query_root", "user").is_none());
    assert!(t.field("subscription_root", "place_order").is_some());
    // Relationships refer to the source's renamed types.
    let out = t.type_def("UserOutput").unwrap();
    assert_eq!(out.field("user").unwrap().ty.to_sdl(), "db_user");
    let articles = out.field("articles").unwrap();
    assert_eq!(articles.ty.to_sdl(), "[db_article!]!");
    assert_eq!(
        articles.arg("where").unwrap().ty.to_sdl(),
        "db_article_bool_exp"
    );
    assert_eq!(
        articles.arg("distinct_on").unwrap().ty.to_sdl(),
        "[db_article_select_column!]"
    );
    assert_eq!(
        out.field("articles_aggregate").unwrap().ty.to_sdl(),
        "db_article_aggregate!"
    );
    for n in [
        "db_user",
        "db_article",
        "db_article_bool_exp",
        "db_article_aggregate",
    ] {
        assert!(t.type_def(n).is_some(), "{n}");
    }
    assert!(t.type_def("user").is_none());
    // Role `user`: the relationship to the table it selects, with the renamed type.
    let u = ts(&s, "user");
    assert_eq!(
        u.field("UserOutput", "user").unwrap().ty.to_sdl(),
        "db_user"
    );
    assert!(u.field("UserOutput", "articles").is_none());
    // Every referenced type is defined.
    let full = run(&s, "user", &Options::default(), FULL_QUERY);
    let listed: Vec<&str> = full["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&"db_user") && listed.contains(&"UserOutput"));
}

#[test]
fn schemas_without_actions_are_unchanged() {
    let mut s = schema();
    s.actions.clear();
    let t = ts(&s, "admin");
    for n in [
        "UserOutput",
        "UserInput",
        "Role",
        "Email",
        "Details",
        "Unused",
    ] {
        assert!(t.type_def(n).is_none(), "{n}");
    }
    assert!(!type_names(&t).contains(&"uuid"));
    // Permissions name an action a role may not see: the role sees nothing of it.
    let mut s = schema();
    s.actions.retain(|a| a.name == "place_order");
    let u = ts(&s, "user");
    assert!(u.mutation_type.is_none());
    assert!(u.type_def("UserOutput").is_none());
}

#[test]
fn an_action_named_like_a_root_field_gives_way() {
    // A conflict metadata should refuse: the table's field stays, the action brings nothing.
    let mut s = schema();
    s.custom_types.objects.push(ObjectType {
        name: "Clash".into(),
        description: None,
        fields: vec![field("x", "Int")],
        relationships: vec![],
    });
    let mut clash = action(
        "user",
        ActionRoot::Query,
        ActionKind::Synchronous,
        vec![],
        "Clash",
    );
    clash.permissions = vec!["user".into()];
    s.actions.push(clash);
    for role in ["admin", "user"] {
        let t = ts(&s, role);
        assert_eq!(
            t.field("query_root", "user").unwrap().ty.to_sdl(),
            "[user!]!"
        );
        assert!(t.type_def("Clash").is_none(), "{role}");
        assert!(t.field("query_root", "get_users").is_some(), "{role}");
    }
}
