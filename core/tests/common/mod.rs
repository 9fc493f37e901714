//! Builders for hand-made schemas shared by core's test binaries.
#![allow(dead_code)]
use graphedge_core::model::*;
use graphedge_core::{Plan, Session, Value};
use std::collections::BTreeMap;

pub mod authors;

/// A nullable column without a default, GraphQL name = column name.
pub fn col(name: &str, udt: &str) -> Column {
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

/// Hasura's default root field names for a table named `n`.
pub fn root_fields(n: &str) -> RootFieldNames {
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
        comments: Default::default(),
    }
}

/// A session of `role` whose `x-hasura-user-id` is `uid`.
pub fn user_session(role: &str, uid: &str) -> Session {
    Session {
        role: role.into(),
        vars: [("x-hasura-user-id".to_string(), uid.to_string())]
            .into_iter()
            .collect(),
    }
}

/// Variables as the owned pairs a `Request` borrows.
pub fn owned_vars(variables: &[(&str, Value)]) -> Vec<(String, Value)> {
    variables
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// `search_articles(search text)`: a query function returning a set of table 1 (`article`).
pub fn search_articles_fn() -> Function {
    Function {
        name: QualifiedName::new("public", "search_articles"),
        gql_name: "search_articles".into(),
        gql_aggregate_name: "search_articles_aggregate".into(),
        args: vec![FunctionArg {
            name: Some("search".into()),
            pg_type: PgType::scalar("text"),
            has_default: false,
        }],
        session_argument: None,
        returns: FunctionReturn::Table {
            table: 1,
            set: true,
        },
        exposed_as: ExposedAs::Query,
        volatility: 's',
        permissions: vec![],
        comment: None,
    }
}

/// An object value from key/value pairs.
pub fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// author(id, name, secret) ←articles— article(id, title, rating int8, author_id, is_published);
/// role `user`: own author row (limit 10, no aggregations), published articles.
pub fn blog_schema() -> Schema {
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
        remote_relationships: Vec::new(),
        remote_schema_relationships: Vec::new(),
        relationships: vec![Relationship {
            name: "articles".into(),
            kind: RelKind::Array,
            target: 1,
            mapping: vec![(0, 3)],
            comment: None,
            local_fk: false,
        }],
        computed_fields: vec![],
        permissions: author_perms,
        kind: 'r',
        mutable: Mutable::ALL,
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
        remote_relationships: Vec::new(),
        remote_schema_relationships: Vec::new(),
        relationships: vec![Relationship {
            name: "author".into(),
            kind: RelKind::Object,
            target: 0,
            mapping: vec![(3, 0)],
            comment: None,
            local_fk: true,
        }],
        computed_fields: vec![],
        permissions: article_perms,
        kind: 'r',
        mutable: Mutable::ALL,
        is_enum: false,
        enum_values: vec![],
        description: None,
    };
    Schema {
        tables: vec![author, article],
        ..Default::default()
    }
}

/// A mutation plan's modification steps: SQL, parameter specs and bound values, one block each.
pub fn render_steps(plan: &Plan, vars: &[(String, Value)], session: &Session) -> String {
    let mut out = String::new();
    for (i, st) in plan.steps.iter().enumerate() {
        out.push_str(&format!(
            "step {i}: {}\nparams: {:?}\nbound: {:?}\n\n",
            st.sql,
            st.params,
            plan.bind_step(i, vars, session)
        ));
    }
    out
}
