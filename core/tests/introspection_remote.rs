//! Remote schemas in the type system per role: SDL snapshots (admin, `user` with a permission
//! on the remote, `guest` without), `__type` lookups, remote schema permissions on and off,
//! the root fields' merge with the sources' (mutation_root created, a name a table has kept),
//! customized sources, Relay, bounds, and `remote_schemas::root_field_of`.
use std::collections::BTreeMap;

use graphedge_core::customize::Customization;
use graphedge_core::introspection::{self, TypeKind as Kind, TypeSystem};
use graphedge_core::model::*;
use graphedge_core::parse::{ast, parse};
use graphedge_core::remote_schemas::{
    root_field_of, FieldNameCustomization, InputValue, NameCustomization, RemoteCustomization,
    RemoteField, RemoteRoot, RemoteSchema, RemoteType, RemoteUrl, Type, TypeKind,
};
use graphedge_core::{Options, Session, Value};
use serde_json::Value as Json;

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

fn arg(name: &str, t: &str) -> InputValue {
    InputValue {
        name: name.into(),
        description: None,
        ty: ty(t),
        default_value: None,
        preset: None,
    }
}

fn arg_default(name: &str, t: &str, default: &str) -> InputValue {
    InputValue {
        default_value: Some(default.into()),
        ..arg(name, t)
    }
}

fn field(name: &str, t: &str) -> RemoteField {
    RemoteField {
        name: name.into(),
        description: None,
        args: vec![],
        ty: ty(t),
        deprecation: None,
    }
}

fn with_args(name: &str, t: &str, args: Vec<InputValue>) -> RemoteField {
    RemoteField {
        args,
        ..field(name, t)
    }
}

fn described(mut f: RemoteField, d: &str) -> RemoteField {
    f.description = Some(d.into());
    f
}

fn rtype(kind: TypeKind, name: &str) -> RemoteType {
    RemoteType {
        kind,
        name: name.into(),
        description: None,
        fields: vec![],
        input_fields: vec![],
        enum_values: vec![],
        interfaces: vec![],
        possible_types: vec![],
    }
}

fn object(name: &str, fields: Vec<RemoteField>) -> RemoteType {
    RemoteType {
        fields,
        ..rtype(TypeKind::Object, name)
    }
}

/// The remote `users`, as its introspection describes it (fields in the remote's order, not
/// sorted): a query type with `hello: String`, `user(id: Int!): User`, an interface
/// (`Character`: `Human`, `Droid`), a union (`SearchResult`), enums, an input object with
/// defaults (recursive), a custom scalar, a deprecated field and enum value, the built-in
/// `String` with graphql-js' description; a mutation type with one field, a subscription type
/// with one; `Unused`/`UnusedInput` no root field reaches.
fn remote(permissions: &[&str]) -> RemoteSchema {
    let mut user = object(
        "User",
        vec![
            field("name", "String"),
            described(field("id", "Int!"), "the user's id"),
            field("role", "Role"),
            field("created", "DateTime"),
            with_args(
                "friends",
                "[Character!]",
                vec![arg_default("first", "Int", "5")],
            ),
        ],
    );
    user.description = Some("a user of the remote".into());
    let mut character = rtype(TypeKind::Interface, "Character");
    character.description = Some("a character".into());
    character.fields = vec![field("name", "String"), field("id", "ID!")];
    character.possible_types = vec!["Human".into(), "Droid".into()];
    let mut human = object(
        "Human",
        vec![
            field("id", "ID!"),
            field("name", "String"),
            field("height", "Float"),
        ],
    );
    human.interfaces = vec!["Character".into()];
    let mut droid = object(
        "Droid",
        vec![
            field("primaryFunction", "String"),
            field("id", "ID!"),
            field("name", "String"),
        ],
    );
    droid.interfaces = vec!["Character".into()];
    let mut search = rtype(TypeKind::Union, "SearchResult");
    search.description = Some("what a search finds".into());
    search.possible_types = vec!["User".into(), "Human".into()];
    let mut role = rtype(TypeKind::Enum, "Role");
    role.description = Some("what a user may do".into());
    role.enum_values = vec![
        ("MEMBER".into(), Some("a member".into()), None),
        ("ADMIN".into(), None, None),
        ("GUEST".into(), None, Some("no more guests".into())),
    ];
    let mut order = rtype(TypeKind::Enum, "Order");
    order.enum_values = vec![("DESC".into(), None, None), ("ASC".into(), None, None)];
    let mut filter = rtype(TypeKind::InputObject, "UserFilter");
    filter.description = Some("which users".into());
    filter.input_fields = vec![
        InputValue {
            description: Some("a name to match".into()),
            ..arg("name", "String")
        },
        arg_default("role", "Role", "MEMBER"),
        arg_default("names", "[String!]", "[\"a\", \"b\"]"),
        arg("and", "[UserFilter!]"),
        arg_default("limit", "Int!", "10"),
    ];
    let mut datetime = rtype(TypeKind::Scalar, "DateTime");
    datetime.description = Some("an ISO 8601 instant".into());
    let mut string = rtype(TypeKind::Scalar, "String");
    string.description = Some("The `String` scalar type represents textual data".into());
    let mut unused_input = rtype(TypeKind::InputObject, "UnusedInput");
    unused_input.input_fields = vec![arg("x", "Int")];
    let mut old = field("old_hello", "String");
    old.deprecation = Some("use hello".into());
    let query = object(
        "Query",
        vec![
            described(field("hello", "String"), "says hello"),
            with_args("user", "User", vec![arg("id", "Int!")]),
            with_args(
                "users",
                "[User!]!",
                vec![
                    arg("where", "UserFilter"),
                    arg_default("order", "Order", "ASC"),
                ],
            ),
            with_args(
                "search",
                "[SearchResult!]!",
                vec![
                    arg("text", "String!"),
                    InputValue {
                        description: Some("at most".into()),
                        ..arg_default("limit", "Int", "10")
                    },
                ],
            ),
            with_args("character", "Character", vec![arg("id", "ID!")]),
            old,
        ],
    );
    let mutation = object(
        "Mutation",
        vec![described(
            with_args(
                "createUser",
                "User!",
                vec![
                    arg("name", "String!"),
                    arg_default("role", "Role", "MEMBER"),
                ],
            ),
            "creates a user",
        )],
    );
    let subscription = object("Subscription", vec![field("userAdded", "User!")]);
    RemoteSchema {
        name: "users".into(),
        url: RemoteUrl::Url("http://localhost:4000/graphql".into()),
        headers: vec![],
        forward_client_headers: false,
        timeout_seconds: 60,
        types: vec![
            query,
            mutation,
            subscription,
            user,
            character,
            human,
            droid,
            search,
            role,
            order,
            filter,
            datetime,
            string,
            rtype(TypeKind::Scalar, "Int"),
            rtype(TypeKind::Scalar, "ID"),
            rtype(TypeKind::Scalar, "Float"),
            object("Unused", vec![field("x", "Int")]),
            unused_input,
        ],
        query_type: Some("Query".into()),
        mutation_type: Some("Mutation".into()),
        subscription_type: Some("Subscription".into()),
        permissions: permissions.iter().map(|r| r.to_string()).collect(),
        customization: Default::default(),
        role_schemas: Vec::new(),
        relationships: Vec::new(),
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

/// Table `article(id, title)`, selectable by role `user` (no aggregations, no mutations);
/// the remote `users` with a permission for role `user`.
fn schema() -> graphedge_core::Schema {
    let mut article = table(
        "article",
        vec![col("id", "int4", false), col("title", "text", false)],
    );
    article.permissions.insert(
        "user".into(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 1],
                filter: Value::Object(vec![]),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    graphedge_core::Schema {
        tables: vec![article],
        remote_schemas: vec![remote(&["user"])],
        ..Default::default()
    }
}

// ------------------------------------------------------------------ helpers

/// Remote schema permissions enabled (`HASURA_GRAPHQL_ENABLE_REMOTE_SCHEMA_PERMISSIONS`).
fn perms() -> Options {
    Options {
        remote_schema_permissions: true,
        ..Default::default()
    }
}

fn ts(schema: &graphedge_core::Schema, role: &str, options: &Options) -> TypeSystem {
    introspection::build(schema, role, options)
}

fn sdl(schema: &graphedge_core::Schema, role: &str, options: &Options) -> String {
    ts(schema, role, options).to_sdl()
}

fn field_names<'a>(t: &'a TypeSystem, ty: &str) -> Vec<&'a str> {
    t.type_def(ty)
        .map(|d| d.fields.iter().map(|f| f.name.as_str()).collect())
        .unwrap_or_default()
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

/// The remote's types (none of them may appear for a role without the remote).
const REMOTE_TYPES: [&str; 15] = [
    "Query",
    "Mutation",
    "Subscription",
    "User",
    "Character",
    "Human",
    "Droid",
    "SearchResult",
    "Role",
    "Order",
    "UserFilter",
    "DateTime",
    "Unused",
    "UnusedInput",
    "Float",
];

// ------------------------------------------------------------------ tests

#[test]
fn admin_sdl_snapshot() {
    insta::assert_snapshot!("remote_admin_sdl", sdl(&schema(), "admin", &perms()));
}

#[test]
fn user_sdl_snapshot() {
    insta::assert_snapshot!("remote_user_sdl", sdl(&schema(), "user", &perms()));
}

#[test]
fn guest_sdl_snapshot() {
    insta::assert_snapshot!("remote_guest_sdl", sdl(&schema(), "guest", &perms()));
}

#[test]
fn root_fields_per_role() {
    let s = schema();
    let user = ts(&s, "user", &perms());
    // Sorted by name like every field list (Hasura's introspection sorts them).
    assert_eq!(
        field_names(&user, "query_root"),
        [
            "article",
            "article_by_pk",
            "character",
            "hello",
            "old_hello",
            "search",
            "user",
            "users"
        ]
    );
    // The sources give `user` no mutation: mutation_root is created for the remote's field.
    assert_eq!(field_names(&user, "mutation_root"), ["createUser"]);
    assert_eq!(user.mutation_type.as_deref(), Some("mutation_root"));
    assert_eq!(
        user.type_def("mutation_root")
            .unwrap()
            .description
            .as_deref(),
        Some("mutation root")
    );
    assert_eq!(
        field_names(&user, "subscription_root"),
        ["article", "article_by_pk", "article_stream", "userAdded"]
    );
    let f = |root: &str, name: &str| user.field(root, name).unwrap();
    assert_eq!(f("query_root", "hello").ty.to_sdl(), "String");
    assert_eq!(
        f("query_root", "hello").description.as_deref(),
        Some("says hello")
    );
    let u = f("query_root", "user");
    assert_eq!(u.ty.to_sdl(), "User");
    assert_eq!(u.description, None);
    assert_eq!(u.args.len(), 1);
    assert_eq!(
        (u.args[0].name.as_str(), u.args[0].ty.to_sdl()),
        ("id", "Int!".into())
    );
    let search = f("query_root", "search");
    let args: Vec<(String, String, Option<String>)> = search
        .args
        .iter()
        .map(|a| (a.name.clone(), a.ty.to_sdl(), a.default_value.clone()))
        .collect();
    assert_eq!(
        args,
        [
            ("limit".into(), "Int".into(), Some("10".into())),
            ("text".into(), "String!".into(), None),
        ]
    );
    assert_eq!(search.args[0].description.as_deref(), Some("at most"));
    assert_eq!(f("mutation_root", "createUser").ty.to_sdl(), "User!");
    assert_eq!(f("subscription_root", "userAdded").ty.to_sdl(), "User!");

    // Admin: everything, without a permission.
    let admin = ts(&s, "admin", &perms());
    assert!(admin.field("query_root", "hello").is_some());
    // The sources give admin mutations: the remote's field joins them.
    let m = field_names(&admin, "mutation_root");
    assert!(m.contains(&"createUser") && m.contains(&"insert_article"));
    assert!(admin.field("subscription_root", "userAdded").is_some());
}

#[test]
fn roles_without_the_remote_see_none_of_it() {
    let s = schema();
    let mut without = schema();
    without.remote_schemas.clear();
    for role in ["guest", "editor"] {
        let t = ts(&s, role, &perms());
        for n in REMOTE_TYPES {
            assert!(t.type_def(n).is_none(), "{role}: {n}");
        }
        assert!(t.field("query_root", "hello").is_none());
        assert!(t.mutation_type.is_none());
        // Exactly the type system without the remote.
        assert_eq!(t, ts(&without, role, &perms()), "{role}");
    }
    // `user` without its permission: the same.
    let mut s2 = schema();
    s2.remote_schemas[0].permissions.clear();
    assert_eq!(ts(&s2, "user", &perms()), ts(&without, "user", &perms()));
    assert!(ts(&s2, "admin", &perms())
        .field("query_root", "hello")
        .is_some());
}

#[test]
fn without_remote_schema_permissions_every_role_may() {
    // Hasura's default: remote schema permissions disabled, every role sees every remote.
    let s = schema();
    let guest = ts(&s, "guest", &Options::default());
    assert_eq!(
        field_names(&guest, "query_root"),
        ["character", "hello", "old_hello", "search", "user", "users"]
    );
    assert_eq!(field_names(&guest, "mutation_root"), ["createUser"]);
    assert_eq!(field_names(&guest, "subscription_root"), ["userAdded"]);
    assert_eq!(
        guest.subscription_type.as_deref(),
        Some("subscription_root")
    );
    assert!(guest.type_def("SearchResult").is_some());
    // The same remote part as `user`'s.
    let user = ts(&s, "user", &Options::default());
    for n in REMOTE_TYPES {
        assert_eq!(guest.type_def(n), user.type_def(n), "{n}");
    }
}

#[test]
fn only_reachable_types_with_remote_names() {
    let s = schema();
    let t = ts(&s, "user", &perms());
    // Root types of the remote are not types of the role (no field returns them).
    for n in ["Query", "Mutation", "Subscription", "Unused", "UnusedInput"] {
        assert!(t.type_def(n).is_none(), "{n}");
    }
    let kind = |n: &str| t.type_def(n).map(|d| d.kind);
    assert_eq!(kind("User"), Some(Kind::Object));
    assert_eq!(kind("Character"), Some(Kind::Interface));
    assert_eq!(kind("SearchResult"), Some(Kind::Union));
    assert_eq!(kind("Role"), Some(Kind::Enum));
    assert_eq!(kind("Order"), Some(Kind::Enum));
    assert_eq!(kind("UserFilter"), Some(Kind::InputObject));
    assert_eq!(kind("DateTime"), Some(Kind::Scalar));
    // Reached through the interface's possible types only.
    assert_eq!(kind("Droid"), Some(Kind::Object));
    assert_eq!(kind("Float"), Some(Kind::Scalar));
    // Built-in scalars are reused, never with the remote's description.
    assert_eq!(t.type_def("String").unwrap().description, None);
    assert_eq!(t.type_def("Int").unwrap().description, None);
    assert_eq!(
        t.type_def("DateTime").unwrap().description.as_deref(),
        Some("an ISO 8601 instant")
    );
    // Interfaces, possible types and members sorted by name.
    let refs =
        |v: &[introspection::TypeRef]| -> Vec<String> { v.iter().map(|r| r.to_sdl()).collect() };
    assert_eq!(
        refs(&t.type_def("Character").unwrap().possible_types),
        ["Droid", "Human"]
    );
    assert_eq!(
        refs(&t.type_def("SearchResult").unwrap().possible_types),
        ["Human", "User"]
    );
    assert_eq!(
        refs(&t.type_def("Human").unwrap().interfaces),
        ["Character"]
    );
    // Input object defaults as the remote gives them; a recursive input once.
    let filter = t.type_def("UserFilter").unwrap();
    let defaults: Vec<(&str, Option<&str>)> = filter
        .input_fields
        .iter()
        .map(|f| (f.name.as_str(), f.default_value.as_deref()))
        .collect();
    assert_eq!(
        defaults,
        [
            ("and", None),
            ("limit", Some("10")),
            ("name", None),
            ("names", Some("[\"a\", \"b\"]")),
            ("role", Some("MEMBER")),
        ]
    );
    assert_eq!(
        filter.input_field("and").unwrap().ty.to_sdl(),
        "[UserFilter!]"
    );
    // Enum values sorted, the deprecated one kept.
    let role = t.type_def("Role").unwrap();
    let values: Vec<&str> = role.enum_values.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(values, ["ADMIN", "GUEST", "MEMBER"]);
}

#[test]
fn type_lookups_per_role() {
    let s = schema();
    let q = r#"{
      user: __type(name: "User") {
        kind name description
        fields(includeDeprecated: true) {
          name description isDeprecated deprecationReason
          args { name description defaultValue type { kind name ofType { kind name } } }
          type { kind name ofType { kind name ofType { kind name } } }
        }
        interfaces { name } possibleTypes { name } enumValues { name } inputFields { name }
      }
      character: __type(name: "Character") {
        kind name description fields { name type { kind name ofType { name } } }
        interfaces { name } possibleTypes { kind name }
      }
      human: __type(name: "Human") { kind name fields { name } interfaces { kind name } possibleTypes { name } }
      search: __type(name: "SearchResult") {
        kind name description fields { name } interfaces { name } possibleTypes { kind name }
        enumValues { name } inputFields { name }
      }
      role: __type(name: "Role") {
        kind name description
        enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
        fields { name } possibleTypes { name }
      }
      filter: __type(name: "UserFilter") {
        kind name description
        inputFields { name description defaultValue type { kind name ofType { kind name ofType { kind name } } } }
        fields { name }
      }
      datetime: __type(name: "DateTime") { kind name description fields { name } }
      query_root: __type(name: "query_root") {
        fields(includeDeprecated: true) { name description isDeprecated deprecationReason args { name defaultValue } }
      }
      mutation_root: __type(name: "mutation_root") {
        name description fields { name description args { name defaultValue type { kind name ofType { name } } } }
      }
      unused: __type(name: "Unused") { name }
      remote_query: __type(name: "Query") { name }
    }"#;
    let user = run(&s, "user", &perms(), q);
    assert_eq!(user["unused"], Json::Null);
    assert_eq!(user["remote_query"], Json::Null);
    insta::assert_snapshot!("remote_user_type_lookups", pretty(&user));
    // Admin sees the same remote types.
    let admin = run(&s, "admin", &perms(), q);
    for k in [
        "user",
        "character",
        "human",
        "search",
        "role",
        "filter",
        "datetime",
    ] {
        assert_eq!(admin[k], user[k], "admin: {k}");
    }
    // Guest (no permission on the remote): none of them; query_root has the sources' only.
    let guest = run(&s, "guest", &perms(), q);
    for k in [
        "user",
        "character",
        "human",
        "search",
        "role",
        "filter",
        "datetime",
        "mutation_root",
        "unused",
        "remote_query",
    ] {
        assert_eq!(guest[k], Json::Null, "guest: {k}");
    }
    assert_eq!(
        guest["query_root"]["fields"],
        serde_json::json!([{
            "name": "no_queries_available",
            "description": null,
            "isDeprecated": false,
            "deprecationReason": null,
            "args": []
        }])
    );
}

#[test]
fn full_introspection_lists_every_referenced_type() {
    let s = schema();
    for (role, options) in [
        ("admin", perms()),
        ("user", perms()),
        ("guest", perms()),
        ("guest", Options::default()),
    ] {
        let v = run(&s, role, &options, FULL_QUERY);
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
        // UNION and INTERFACE kinds: possibleTypes listed, fields only for the interface.
        if role == "user" {
            let by_name = |n: &str| types.iter().find(|t| t["name"] == n).unwrap();
            assert_eq!(by_name("SearchResult")["kind"], "UNION");
            assert_eq!(by_name("SearchResult")["fields"], Json::Null);
            assert_eq!(by_name("SearchResult")["interfaces"], Json::Null);
            assert_eq!(by_name("Character")["kind"], "INTERFACE");
            assert_eq!(
                by_name("Character")["possibleTypes"]
                    .as_array()
                    .unwrap()
                    .len(),
                2
            );
            assert_eq!(by_name("User")["possibleTypes"], Json::Null);
            // Nothing is deprecated (Hasura's introspection does not track deprecation).
            let q = by_name("query_root")["fields"].as_array().unwrap();
            let old = q.iter().find(|f| f["name"] == "old_hello").unwrap();
            assert_eq!(old["isDeprecated"], false);
            assert_eq!(old["deprecationReason"], Json::Null);
        }
    }
}

#[test]
fn source_and_earlier_remote_fields_keep_their_names() {
    // A table `hello` (admin's `hello` root field is the table's) and a second remote that
    // also has `hello` and `user` — conflicts metadata refuses; the first definition stays.
    let mut s = schema();
    s.tables
        .push(table("hello", vec![col("id", "int4", false)]));
    let mut second = remote(&["user"]);
    second.name = "second".into();
    for t in &mut second.types {
        if t.name == "Query" {
            t.fields = vec![
                field("hello", "Int"),
                field("user", "Int"),
                field("ping", "Boolean"),
            ];
        }
    }
    second.mutation_type = None;
    second.subscription_type = None;
    s.remote_schemas.push(second);
    let admin = ts(&s, "admin", &perms());
    assert_eq!(
        admin.field("query_root", "hello").unwrap().ty.to_sdl(),
        "[hello!]!"
    );
    assert_eq!(
        admin.field("query_root", "user").unwrap().ty.to_sdl(),
        "User"
    );
    assert_eq!(
        admin.field("query_root", "ping").unwrap().ty.to_sdl(),
        "Boolean"
    );
    // root_field_of agrees for the remotes' names.
    let (i, f) = root_field_of(&s, "admin", true, "query", "user").unwrap();
    let RemoteRoot::Field(f) = f else {
        panic!("not a field")
    };
    assert_eq!((i, f.ty.clone()), (0, ty("User")));
    let (i, _) = root_field_of(&s, "admin", true, "query", "ping").unwrap();
    assert_eq!(i, 1);
    // Role `user` may not select table `hello`: the remote's `hello` is the role's.
    let user = ts(&s, "user", &perms());
    assert_eq!(
        user.field("query_root", "hello").unwrap().ty.to_sdl(),
        "String"
    );
}

#[test]
fn root_field_of_per_role_and_root() {
    let s = schema();
    let name_of = |r: Option<(usize, RemoteRoot<'_>)>| {
        r.map(|(i, f)| match f {
            RemoteRoot::Field(f) => (i, f.name.clone()),
            RemoteRoot::Namespace => (i, "<namespace>".into()),
        })
    };
    assert_eq!(
        name_of(root_field_of(&s, "user", true, "query", "hello")),
        Some((0, "hello".into()))
    );
    assert_eq!(
        name_of(root_field_of(&s, "user", true, "mutation", "createUser")),
        Some((0, "createUser".into()))
    );
    assert_eq!(
        name_of(root_field_of(&s, "user", true, "subscription", "userAdded")),
        Some((0, "userAdded".into()))
    );
    // A field of another root, an unknown root, an unknown name.
    assert!(root_field_of(&s, "user", true, "mutation", "hello").is_none());
    assert!(root_field_of(&s, "user", true, "subscription", "hello").is_none());
    assert!(root_field_of(&s, "user", true, "other", "hello").is_none());
    assert!(root_field_of(&s, "user", true, "query", "nope").is_none());
    assert!(root_field_of(&s, "user", true, "query", "__typename").is_none());
    // Permissions: guest only when they are off; admin always.
    assert!(root_field_of(&s, "guest", true, "query", "hello").is_none());
    assert!(root_field_of(&s, "guest", false, "query", "hello").is_some());
    assert!(root_field_of(&s, "admin", true, "query", "hello").is_some());
    // No remotes at all.
    let none = graphedge_core::Schema::default();
    assert!(root_field_of(&none, "admin", false, "query", "hello").is_none());
}

#[test]
fn customized_sources_leave_remote_fields_at_the_root() {
    let mut s = schema();
    s.sources = vec![SourceInfo {
        name: "default".into(),
        tables_end: 1,
        functions_end: 0,
        customization: Customization {
            namespace: Some("db".into()),
            type_prefix: "db_".into(),
            ..Default::default()
        },
    }];
    let t = ts(&s, "user", &perms());
    assert_eq!(
        field_names(&t, "query_root"),
        [
            "character",
            "db",
            "hello",
            "old_hello",
            "search",
            "user",
            "users"
        ]
    );
    assert_eq!(field_names(&t, "mutation_root"), ["createUser"]);
    // Remote types keep the remote's names.
    assert!(t.type_def("User").is_some() && t.type_def("db_User").is_none());
    assert!(t.type_def("db_article").is_some());
    let guest = ts(&s, "guest", &perms());
    assert!(guest.type_def("User").is_none());
}

#[test]
fn relay_has_no_remote_fields() {
    let s = schema();
    let options = Options {
        relay: true,
        ..Default::default()
    };
    let t = ts(&s, "admin", &options);
    for n in ["hello", "user", "users", "search"] {
        assert!(t.field("query_root", n).is_none(), "relay query_root.{n}");
    }
    assert!(t.field("mutation_root", "createUser").is_none());
    for n in REMOTE_TYPES {
        assert!(t.type_def(n).is_none(), "relay: {n}");
    }
}

#[test]
fn types_nested_beyond_the_bound_are_left_out() {
    // A field type, an argument type and an object field nested 1,000 deep (beyond the
    // parser's bound): left out, nothing else changes.
    let mut deep = Type::Named("String".into());
    for i in 0..1_000 {
        deep = if i % 2 == 0 {
            Type::List(Box::new(deep))
        } else {
            Type::NonNull(Box::new(deep))
        };
    }
    let mut s = schema();
    for t in &mut s.remote_schemas[0].types {
        match t.name.as_str() {
            "Query" => {
                t.fields.push(RemoteField {
                    ty: deep.clone(),
                    ..field("deep", "String")
                });
                t.fields.push(with_args(
                    "deep_arg",
                    "String",
                    vec![InputValue {
                        ty: deep.clone(),
                        ..arg("x", "String")
                    }],
                ));
            }
            "User" => t.fields.push(RemoteField {
                ty: deep.clone(),
                ..field("deep", "String")
            }),
            _ => {}
        }
    }
    let t = ts(&s, "user", &perms());
    assert!(t.field("query_root", "deep").is_none());
    assert!(t.field("query_root", "deep_arg").is_none());
    assert!(t.field("User", "deep").is_none());
    assert!(t.field("User", "name").is_some());
    assert!(root_field_of(&s, "user", true, "query", "deep").is_none());
    assert!(root_field_of(&s, "user", true, "query", "deep_arg").is_none());
    assert!(root_field_of(&s, "user", true, "query", "hello").is_some());
}

#[test]
fn a_remote_without_usable_root_fields_changes_nothing() {
    // A mutation type the remote names but does not define, an empty query type.
    let mut s = schema();
    let r = &mut s.remote_schemas[0];
    r.mutation_type = Some("Missing".into());
    r.subscription_type = None;
    for t in &mut r.types {
        if t.name == "Query" {
            t.fields.clear();
        }
    }
    let mut without = schema();
    without.remote_schemas.clear();
    assert_eq!(ts(&s, "user", &perms()), ts(&without, "user", &perms()));
    let guest = ts(&s, "guest", &Options::default());
    assert_eq!(field_names(&guest, "query_root"), ["no_queries_available"]);
    assert!(guest.mutation_type.is_none());
}

// ------------------------------------------------------------------ customization

fn names(
    prefix: Option<&str>,
    suffix: Option<&str>,
    mapping: &[(&str, &str)],
) -> NameCustomization {
    NameCustomization {
        prefix: prefix.map(Into::into),
        suffix: suffix.map(Into::into),
        mapping: mapping
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    }
}

/// The remote customized: types prefixed `Foo` and suffixed `_x` (`Droid` → `Android`,
/// `String` → `MyString`), fields of `Character`, `Droid` and `Query` renamed; `namespace`:
/// the root fields under `ns`.
fn customized(namespace: bool) -> graphedge_core::Schema {
    let mut s = schema();
    s.remote_schemas[0].customization = RemoteCustomization {
        root_fields_namespace: namespace.then(|| "ns".into()),
        type_names: Some(names(
            Some("Foo"),
            Some("_x"),
            &[("Droid", "Android"), ("String", "MyString")],
        )),
        field_names: vec![
            FieldNameCustomization {
                parent_type: "Character".into(),
                names: names(Some("c_"), None, &[("id", "ident")]),
            },
            FieldNameCustomization {
                parent_type: "Droid".into(),
                names: names(Some("c_"), None, &[("id", "ident")]),
            },
            FieldNameCustomization {
                parent_type: "Query".into(),
                names: names(Some("q_"), None, &[("hello", "greet")]),
            },
        ],
    };
    s
}

#[test]
fn customized_sdl_snapshot() {
    insta::assert_snapshot!(
        "remote_customized_sdl",
        sdl(&customized(false), "admin", &perms())
    );
}

#[test]
fn namespaced_sdl_snapshot() {
    insta::assert_snapshot!(
        "remote_namespaced_sdl",
        sdl(&customized(true), "admin", &perms())
    );
}

#[test]
fn customized_names_and_root_field_of() {
    let s = customized(false);
    let t = ts(&s, "admin", &perms());
    assert!(t.type_def("Droid").is_none());
    assert!(t.type_def("User").is_none());
    assert_eq!(
        field_names(&t, "Android"),
        ["c_name", "c_primaryFunction", "ident"]
    );
    assert_eq!(field_names(&t, "FooHuman_x"), ["height", "id", "name"]);
    assert!(t.type_def("MyString").is_some());
    assert!(t.type_def("Int").is_some());
    assert!(t.field("query_root", "greet").is_some());
    assert!(t.field("query_root", "hello").is_none());
    assert!(t.field("mutation_root", "createUser").is_some());
    let found = root_field_of(&s, "admin", true, "query", "q_user");
    assert!(matches!(found, Some((0, RemoteRoot::Field(f))) if f.name == "user"));
    assert!(root_field_of(&s, "admin", true, "query", "user").is_none());

    let s = customized(true);
    let t = ts(&s, "admin", &perms());
    assert_eq!(t.field("query_root", "ns").unwrap().ty.to_sdl(), "nsQuery!");
    assert_eq!(
        t.field("mutation_root", "ns").unwrap().ty.to_sdl(),
        "nsMutation!"
    );
    assert_eq!(field_names(&t, "nsMutation")[..], ["createUser"]);
    assert!(t.field("query_root", "greet").is_none());
    assert!(field_names(&t, "nsQuery").contains(&"greet"));
    assert!(matches!(
        root_field_of(&s, "admin", true, "query", "ns"),
        Some((0, RemoteRoot::Namespace))
    ));
    assert!(root_field_of(&s, "admin", true, "query", "greet").is_none());
}
