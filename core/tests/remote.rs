//! Remote schema root fields: the document each one sends to its remote (alias kept,
//! fragments inlined with their type conditions, the variables it uses and their
//! definitions), beside the sources' fields; unknown arguments refused. One `check()`.
use graphedge_core::remote_schemas::*;
use graphedge_core::{compile, Options, PlanKind, Request};

mod common;
use common::*;

fn named(n: &str) -> Type {
    Type::Named(n.into())
}
fn non_null(t: Type) -> Type {
    Type::NonNull(Box::new(t))
}
fn arg(name: &str, ty: Type) -> InputValue {
    InputValue {
        name: name.into(),
        description: None,
        ty,
        default_value: None,
        preset: None,
    }
}
fn field(name: &str, args: Vec<InputValue>, ty: Type) -> RemoteField {
    RemoteField {
        name: name.into(),
        description: None,
        args,
        ty,
        deprecation: None,
    }
}
fn object(name: &str, fields: Vec<RemoteField>) -> RemoteType {
    RemoteType {
        kind: TypeKind::Object,
        name: name.into(),
        description: None,
        fields,
        input_fields: vec![],
        enum_values: vec![],
        interfaces: vec![],
        possible_types: vec![],
    }
}

/// The blog schema and a remote `users` (`hello: String`, `user(id: Int!): User`, mutation
/// `rename(id: Int!, name: String!): User`).
fn schema() -> graphedge_core::Schema {
    let mut schema = blog_schema();
    schema.remote_schemas = vec![RemoteSchema {
        name: "users".into(),
        url: RemoteUrl::Url("http://remote/graphql".into()),
        headers: vec![],
        forward_client_headers: false,
        timeout_seconds: 60,
        types: vec![
            object(
                "Query",
                vec![
                    field("hello", vec![], named("String")),
                    field(
                        "user",
                        vec![arg("id", non_null(named("Int")))],
                        named("User"),
                    ),
                ],
            ),
            object(
                "Mutation",
                vec![field(
                    "rename",
                    vec![
                        arg("id", non_null(named("Int"))),
                        arg("name", non_null(named("String"))),
                    ],
                    named("User"),
                )],
            ),
            object(
                "User",
                vec![
                    field("id", vec![], non_null(named("Int"))),
                    field("name", vec![], named("String")),
                ],
            ),
        ],
        query_type: Some("Query".into()),
        mutation_type: Some("Mutation".into()),
        subscription_type: Some("Query".into()),
        permissions: vec![],
        customization: Default::default(),
        role_schemas: Vec::new(),
        relationships: Vec::new(),
    }];
    schema
}

fn iface(name: &str, fields: Vec<RemoteField>, possible: &[&str]) -> RemoteType {
    let mut t = object(name, fields);
    t.kind = TypeKind::Interface;
    t.possible_types = possible.iter().map(|s| s.to_string()).collect();
    t
}

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

/// A remote `chars` like the harness's `character-iface-graphql` (`hero(episode: Int!):
/// Character`, `heroes: [Character]`; `Character` implemented by `Human` (with `droid`) and
/// `Droid`), customized like `TestValidateRemoteSchemaCustomizeAllTheThings` (with
/// `namespace`: under `star_wars`).
fn customized(namespace: bool) -> graphedge_core::Schema {
    let mut schema = blog_schema();
    let character = |extra: Vec<RemoteField>| {
        let mut f = vec![
            field("id", vec![], non_null(named("ID"))),
            field("name", vec![], named("String")),
        ];
        f.extend(extra);
        f
    };
    let mut droid = object(
        "Droid",
        character(vec![field("primaryFunction", vec![], named("String"))]),
    );
    droid.interfaces = vec!["Character".into()];
    let mut human = object(
        "Human",
        character(vec![field("droid", vec![], named("Droid"))]),
    );
    human.interfaces = vec!["Character".into()];
    schema.remote_schemas = vec![RemoteSchema {
        name: "chars".into(),
        url: RemoteUrl::Url("http://remote/graphql".into()),
        headers: vec![],
        forward_client_headers: false,
        timeout_seconds: 60,
        types: vec![
            object(
                "CharacterIFaceQuery",
                vec![
                    field(
                        "hero",
                        vec![arg("episode", non_null(named("Int")))],
                        named("Character"),
                    ),
                    field("heroes", vec![], Type::List(Box::new(named("Character")))),
                ],
            ),
            iface("Character", character(vec![]), &["Human", "Droid"]),
            human,
            droid,
        ],
        query_type: Some("CharacterIFaceQuery".into()),
        mutation_type: None,
        subscription_type: None,
        permissions: vec![],
        role_schemas: Vec::new(),
        relationships: Vec::new(),
        customization: RemoteCustomization {
            root_fields_namespace: namespace.then(|| "star_wars".into()),
            type_names: Some(names(
                Some("Foo"),
                Some("_x"),
                &[("Droid", "Android"), ("Int", "MyInt")],
            )),
            field_names: vec![
                FieldNameCustomization {
                    parent_type: "Character".into(),
                    names: names(Some("foo_"), Some("_f"), &[("id", "ident")]),
                },
                FieldNameCustomization {
                    parent_type: "Human".into(),
                    names: names(
                        None,
                        None,
                        &[
                            ("id", "ident"),
                            ("name", "foo_name_f"),
                            ("droid", "android"),
                        ],
                    ),
                },
                FieldNameCustomization {
                    parent_type: "Droid".into(),
                    names: names(Some("foo_"), Some("_f"), &[("id", "ident")]),
                },
                FieldNameCustomization {
                    parent_type: "CharacterIFaceQuery".into(),
                    names: names(Some("super_"), None, &[]),
                },
            ],
        },
    }];
    schema
}

fn check(role: &str, query: &str) -> String {
    check_in(schema(), role, query)
}

fn check_in(schema: graphedge_core::Schema, role: &str, query: &str) -> String {
    check_with(schema, role, query, &Options::default())
}

fn check_with(
    schema: graphedge_core::Schema,
    role: &str,
    query: &str,
    options: &Options,
) -> String {
    let session = user_session(role, "1");
    let vars = owned_vars(&[
        ("n", graphedge_core::Value::String("Ann".into())),
        ("skip", graphedge_core::Value::Boolean(false)),
        ("ep", graphedge_core::Value::Number("4".into())),
        (
            "w",
            graphedge_core::Value::Object(vec![
                ("name".into(), graphedge_core::Value::String("Bo".into())),
                ("owner".into(), graphedge_core::Value::Number("5".into())),
            ]),
        ),
    ]);
    let req = Request {
        query,
        operation_name: None,
        variables: &vars,
    };
    match compile(&schema, &session, &req, options) {
        Ok(plan) => match plan.kind {
            PlanKind::Sources {
                slots,
                parts,
                remotes,
                ..
            } => {
                let mut out = format!("slots: {slots:?}\nparts: {}\n", parts.len());
                for r in remotes {
                    out.push_str(&format!(
                        "{} as {}: {}\nvariables: {:?}\n",
                        r.remote, r.key, r.query, r.variables
                    ));
                    if !r.session_presets.is_empty() {
                        out.push_str(&format!("session presets: {:?}\n", r.session_presets));
                    }
                    if let Some(ns) = &r.namespace {
                        out.push_str(&format!("namespace: {ns:?}\n"));
                    }
                    if !r.typename_paths.is_empty() {
                        out.push_str(&format!(
                            "typename paths: {:?}\ntype renames: {:?}\n",
                            r.typename_paths, r.type_renames
                        ));
                    }
                }
                out
            }
            other => format!("not a remote plan: {other:?}"),
        },
        Err(e) => format!("error: {} {} {}", e.code.as_str(), e.path, e.message),
    }
}

macro_rules! snap {
    ($name:ident, $role:expr, $query:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(check($role, $query));
        }
    };
}

snap!(
    one_field_per_request_with_fragments_and_variables,
    "user",
    "query q($id: Int! = 3, $skip: Boolean!) { a: user(id: $id) { ...U name @skip(if: $skip) } hello author { name } __typename } fragment U on User { id }"
);
snap!(
    mutation,
    "admin",
    "mutation ($n: String!) { rename(id: 1, name: $n) { id name } }"
);
snap!(
    unknown_argument,
    "admin",
    "query { user(id: 1, foo: 1) { id } }"
);
snap!(
    subscription_not_supported,
    "admin",
    "subscription { hello }"
);

macro_rules! snap_customized {
    ($name:ident, $namespace:expr, $query:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(check_in(customized($namespace), "admin", $query));
        }
    };
}

snap_customized!(
    customized_names_aliases_and_typenames,
    false,
    "query Hero($ep: MyInt!) { h: super_hero(episode: $ep) { ident foo_name_f __typename t: __typename ... on Android { foo_primaryFunction_f } ... on FooHuman_x { my: android { foo_name_f __typename } } ... on Droid { ident } } super_heroes { ...F } } fragment F on FooCharacter_x { name: ident __typename: ident }"
);
snap_customized!(
    customized_missing_field_on_interface,
    false,
    "{ super_hero(episode: 4) { id } }"
);
snap_customized!(
    customized_missing_field_in_fragment,
    false,
    "{ super_hero(episode: 4) { ... on Android { nope } } }"
);
snap_customized!(
    customized_variable_of_the_remote_type_name,
    false,
    "query ($ep: Int!) { super_hero(episode: $ep) { ident } }"
);
snap_customized!(
    customized_original_root_field_name,
    false,
    "{ hero(episode: 4) { ident } }"
);
snap_customized!(
    namespace_one_call,
    true,
    "query ($ep: MyInt!) { sw: star_wars { __typename super_hero(episode: $ep) { ident __typename } all: super_heroes { foo_name_f } } }"
);
snap_customized!(
    namespace_typename_only,
    true,
    "{ star_wars { __typename } }"
);
snap_customized!(
    namespace_unknown_field,
    true,
    "{ star_wars { hero(episode: 4) { ident } } }"
);

/// Remote schema permissions: `user` sees `user(id)` with `id` preset from the session, and
/// `search(where: W)` with `W.owner` preset to 1 (injected into literals and variables).
fn with_presets() -> graphedge_core::Schema {
    let mut schema = schema();
    let base = schema.remote_schemas[0].clone();
    let mut view = base.clone();
    let mut w = object("W", vec![]);
    w.kind = TypeKind::InputObject;
    w.input_fields = vec![arg("owner", named("Int")), arg("name", named("String"))];
    w.input_fields[0].preset = Some(Preset::Value(graphedge_core::Value::Number("1".into())));
    let mut id = arg("id", non_null(named("Int")));
    id.preset = Some(Preset::Session {
        var: "x-hasura-user-id".into(),
        ty: non_null(named("Int")),
        enum_values: None,
    });
    view.types[0].fields = vec![
        field("user", vec![id], named("User")),
        field("search", vec![arg("where", named("W"))], named("User")),
    ];
    view.types.push(w);
    view.mutation_type = None;
    schema.remote_schemas[0].role_schemas = vec![("user".into(), view)];
    schema.remote_schemas[0].types[0].fields.push(field(
        "search",
        vec![arg("where", named("W"))],
        named("User"),
    ));
    schema
}

#[test]
fn permissions_presets() {
    let options = Options {
        remote_schema_permissions: true,
        ..Options::default()
    };
    let run = |role: &str, q: &str| check_with(with_presets(), role, q, &options);
    insta::assert_snapshot!(
        "permissions_presets",
        [
            run("user", "{ user { id } }"),
            run(
                "user",
                "query ($n: String) { search(where: {name: $n}) { id } }"
            ),
            run("user", "query ($w: W) { search(where: $w) { id } }"),
            run("user", "{ user(id: 2) { id } }"),
            run("user", "mutation { rename(id: 1, name: \"x\") { id } }"),
            run("guest", "{ hello }"),
            run("admin", "{ user(id: 2) { id } }"),
        ]
        .join("---\n")
    );
}

#[test]
fn session_presets_are_coerced() {
    use graphedge_core::remote_schemas::session_preset_json;
    use graphedge_core::SessionPreset;
    let preset = |t: &str, values: Option<Vec<String>>| SessionPreset {
        variable: "v".into(),
        session_var: "x-hasura-user-id".into(),
        type_name: t.into(),
        enum_values: values,
    };
    let s = |id: &str| user_session("user", id);
    assert_eq!(
        session_preset_json(&s("7"), &preset("Int", None)).unwrap(),
        "7"
    );
    assert_eq!(
        session_preset_json(&s("7"), &preset("ID", None)).unwrap(),
        "\"7\""
    );
    assert_eq!(
        session_preset_json(&s("true"), &preset("Boolean", None)).unwrap(),
        "true"
    );
    let e = session_preset_json(&s("randomid123"), &preset("Int", None)).unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        (
            "coercion-error",
            "\"randomid123\" cannot be coerced into an Int value"
        )
    );
    let e =
        session_preset_json(&graphedge_core::Session::admin(), &preset("Int", None)).unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        (
            "not-found",
            "\"x-hasura-user-id\" session variable expected, but not found"
        )
    );
    let values = Some(vec!["A".to_string()]);
    assert_eq!(
        session_preset_json(&s("A"), &preset("E", values.clone())).unwrap(),
        "\"A\""
    );
    assert!(session_preset_json(&s("B"), &preset("E", values)).is_err());
}

/// A table's relationship to a remote field: the key columns in the statement, ONE document
/// for all keys (`f<i>` per key, the client's arguments merged into the relationship's).
#[test]
fn relationship_to_a_remote_schema() {
    use graphedge_core::model::{join_key_variable, RemoteSchemaRelationship};
    use graphedge_core::Value;
    let mut schema = schema();
    schema.remote_schemas[0].types[0].fields.push(field(
        "search",
        vec![arg("where", named("W")), arg("limit", named("Int"))],
        named("User"),
    ));
    let mut w = object("W", vec![]);
    w.kind = TypeKind::InputObject;
    w.input_fields = vec![arg("id", named("Int")), arg("name", named("String"))];
    schema.remote_schemas[0].types.push(w);
    let author = schema
        .tables
        .iter()
        .position(|t| t.gql_name == "author")
        .unwrap();
    let id = schema.tables[author].column("id").unwrap();
    schema.tables[author].remote_schema_relationships = vec![RemoteSchemaRelationship {
        name: "remoteUser".into(),
        remote: "users".into(),
        lhs: vec![graphedge_core::model::JoinField::Column(id)],
        path: vec![(
            "search".into(),
            vec![(
                "where".into(),
                Value::Object(vec![("id".into(), Value::Variable(join_key_variable(0)))]),
            )],
        )],
        comment: None,
    }];
    let session = graphedge_core::Session::admin();
    let vars = owned_vars(&[("n", Value::String("Ann".into()))]);
    let req = Request {
        query: "query ($n: String) { author { id remoteUser(where: {name: $n, id: 7}, limit: 2) { name } } }",
        operation_name: None,
        variables: &vars,
    };
    let plan = compile(&schema, &session, &req, &Options::default()).unwrap();
    let join = plan.remote_joins[0].remote.as_ref().unwrap();
    let keys = [
        vec![Value::Number("1".into())],
        vec![Value::Number("2".into())],
    ];
    insta::assert_snapshot!(
        "relationship_to_a_remote_schema",
        format!(
            "sql: {}\npath: {:?}\ndocument: {}\nvariables: {:?}",
            plan.sql,
            plan.remote_joins[0].path,
            join.document(&keys).unwrap(),
            join.variables
        )
    );
    // Introspection: the argument the relationship sets part of has a type of its own,
    // without the set field (Hasura's `<type>_remote_rel_<table><relationship>`).
    let ts = graphedge_core::introspection::build(&schema, "admin", &Options::default());
    let rel = ts.types["author"].field("remoteUser").unwrap();
    let args: Vec<String> = rel
        .args
        .iter()
        .map(|a| format!("{}: {}", a.name, a.ty.to_sdl()))
        .collect();
    assert_eq!(args, ["limit: Int", "where: W_remote_rel_authorremoteUser"]);
    let generated = &ts.types["W_remote_rel_authorremoteUser"];
    let fields: Vec<&str> = generated
        .input_fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(fields, ["name"]);
}
