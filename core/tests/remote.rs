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
    }];
    schema
}

fn check(role: &str, query: &str) -> String {
    let schema = schema();
    let session = user_session(role, "1");
    let vars = owned_vars(&[
        ("n", graphedge_core::Value::String("Ann".into())),
        ("skip", graphedge_core::Value::Boolean(false)),
    ]);
    let req = Request {
        query,
        operation_name: None,
        variables: &vars,
    };
    match compile(&schema, &session, &req, &Options::default()) {
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
