//! Snapshot tests of the emitted SQL per role. One `check()` is the only caller of the API;
//! each test is a query and a role. The schema is a small author/article model built by hand.
use graphedge_core::model::*;
use graphedge_core::{compile, Options, PlanKind, Request, Session, Value};
use std::collections::BTreeMap;

fn col(name: &str, udt: &str) -> Column {
    Column {
        name: name.into(),
        gql_name: name.into(),
        pg_type: PgType::scalar(udt),
        nullable: true,
        has_default: false,
        is_generated: false,
        is_identity: false,
        description: None,
        enum_table: None,
    }
}

fn root_fields(n: &str) -> RootFieldNames {
    RootFieldNames {
        select: n.into(),
        select_by_pk: format!("{n}_by_pk"),
        select_aggregate: format!("{n}_aggregate"),
        insert: format!("insert_{n}"),
        insert_one: format!("insert_{n}_one"),
        update: format!("update_{n}"),
        update_by_pk: format!("update_{n}_by_pk"),
        update_many: format!("update_{n}_many"),
        delete: format!("delete_{n}"),
        delete_by_pk: format!("delete_{n}_by_pk"),
    }
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn schema() -> Schema {
    let mut author_perms = BTreeMap::new();
    author_perms.insert(
        "user".to_string(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 1],
                filter: obj(&[(
                    "id",
                    obj(&[("_eq", Value::String("X-Hasura-User-Id".into()))]),
                )]),
                limit: Some(10),
                allow_aggregations: false,
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    let mut article_perms = BTreeMap::new();
    article_perms.insert(
        "user".to_string(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 1, 2, 3],
                filter: obj(&[("is_published", obj(&[("_eq", Value::Boolean(true))]))]),
                allow_aggregations: true,
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    let author = Table {
        name: QualifiedName::new("public", "author"),
        gql_name: "author".into(),
        root_fields: root_fields("author"),
        columns: vec![
            col("id", "int4"),
            col("name", "text"),
            col("secret", "text"),
        ],
        primary_key: vec![0],
        unique_constraints: vec![],
        relationships: vec![Relationship {
            name: "articles".into(),
            kind: RelKind::Array,
            target: 1,
            mapping: vec![(0, 3)],
            comment: None,
        }],
        computed_fields: vec![],
        permissions: author_perms,
        kind: 'r',
        is_enum: false,
        enum_values: vec![],
        description: None,
    };
    let article = Table {
        name: QualifiedName::new("public", "article"),
        gql_name: "article".into(),
        root_fields: root_fields("article"),
        columns: vec![
            col("id", "int4"),
            col("title", "text"),
            col("rating", "int8"),
            col("author_id", "int4"),
            col("is_published", "bool"),
        ],
        primary_key: vec![0],
        unique_constraints: vec![],
        relationships: vec![Relationship {
            name: "author".into(),
            kind: RelKind::Object,
            target: 0,
            mapping: vec![(3, 0)],
            comment: None,
        }],
        computed_fields: vec![],
        permissions: article_perms,
        kind: 'r',
        is_enum: false,
        enum_values: vec![],
        description: None,
    };
    Schema {
        tables: vec![author, article],
        ..Default::default()
    }
}

/// Compiles `query` as `role` and renders the plan (SQL and parameters) or the error.
fn check(role: &str, query: &str, variables: &[(&str, Value)]) -> String {
    let schema = schema();
    let session = Session {
        role: role.into(),
        vars: [("x-hasura-user-id".to_string(), "1".to_string())]
            .into_iter()
            .collect(),
    };
    let vars: Vec<(String, Value)> = variables
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let req = Request {
        query,
        operation_name: None,
        variables: &vars,
    };
    let opts = Options {
        stringify_numeric: true,
        ..Default::default()
    };
    match compile(&schema, &session, &req, &opts) {
        Ok(plan) => match plan.kind {
            PlanKind::Static(json) => format!("static: {json}"),
            _ => format!(
                "{}\nparams: {:?}\nbound: {:?}\nshaping: {:?}",
                plan.sql,
                plan.params,
                plan.bind(&vars, &session),
                plan.shaping_variables
            ),
        },
        Err(e) => format!("error: {} {} {}", e.code.as_str(), e.path, e.message),
    }
}

macro_rules! snap {
    ($name:ident, $role:expr, $query:expr) => {
        snap!($name, $role, $query, &[]);
    };
    ($name:ident, $role:expr, $query:expr, $vars:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(check($role, $query, $vars));
        }
    };
}

snap!(admin_list_with_args, "admin", "{ author(where: {name: {_ilike: \"%a%\"}}, order_by: {name: desc}, limit: 5, offset: 1) { id name } }");
snap!(
    admin_nested_relationships,
    "admin",
    "{ author { name articles(where: {rating: {_gt: 2}}) { title author { name } } } }"
);
snap!(
    admin_by_pk_variable,
    "admin",
    "query q($id: Int!) { author_by_pk(id: $id) { id } }",
    &[("id", Value::Number("7".into()))]
);
snap!(admin_aggregate, "admin", "{ article_aggregate(where: {author_id: {_in: [1, 2]}}) { aggregate { count sum { rating } max { title } } nodes { id } } }");
snap!(
    user_permissions,
    "user",
    "{ author { id name articles { title } } article_aggregate { aggregate { count } } }"
);
snap!(user_hidden_column, "user", "{ author { secret } }");
snap!(
    user_no_aggregation,
    "user",
    "{ author_aggregate { aggregate { count } } }"
);
snap!(typename_only, "admin", "{ __typename }");
snap!(order_by_relationship_and_aggregate, "admin", "{ article(order_by: [{author: {name: asc}}, {id: desc_nulls_last}]) { id } author(order_by: {articles_aggregate: {count: desc}}) { id } }");
snap!(
    distinct_on_mismatch,
    "admin",
    "{ article(distinct_on: [title], order_by: {id: asc}) { id } }"
);
snap!(
    fragments_and_directives,
    "admin",
    "query($s: Boolean!) { author { ...F name @skip(if: $s) } } fragment F on author { id }",
    &[("s", Value::Boolean(true))]
);
snap!(unknown_root_field, "admin", "{ nope { id } }");
snap!(parse_error, "admin", "{ author { id }");
snap!(negative_limit, "admin", "{ author(limit: -1) { id } }");
snap!(where_relationship_and_or, "user", "{ article(where: {_or: [{author: {name: {_eq: \"x\"}}}, {_not: {title: {_is_null: true}}}]}) { id } }");
