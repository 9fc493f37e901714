//! The author/article schema of the mutation and data-operation snapshots:
//! `author(id serial pk, name text unique, bio text, is_registered bool default false)`,
//! `article(id serial pk, title, content, author_id → author, is_published bool)`, with a
//! `user` role whose permissions use `X-Hasura-User-Id`, and a `publish_articles` mutation.
use super::{obj, root_fields};
use graphedge_core::model::*;
use graphedge_core::Value;
use std::collections::BTreeMap;

/// [`super::col`] with or without a default.
pub fn col(name: &str, udt: &str, has_default: bool) -> Column {
    Column {
        has_default,
        ..super::col(name, udt)
    }
}

pub fn s(v: &str) -> Value {
    Value::String(v.into())
}

pub fn uc(name: &str, columns: Vec<usize>, is_primary: bool) -> UniqueConstraint {
    UniqueConstraint {
        name: name.into(),
        columns,
        is_primary,
    }
}

pub fn schema() -> Schema {
    let mut author_perms = BTreeMap::new();
    author_perms.insert(
        "user".to_string(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 1, 3],
                filter: obj(&[("id", s("X-Hasura-User-Id"))]),
                ..Default::default()
            }),
            insert: Some(InsertPermission {
                check: obj(&[(
                    "$and",
                    Value::List(vec![
                        obj(&[("id", s("X-HASURA-USER-ID"))]),
                        obj(&[("is_registered", Value::Boolean(false))]),
                    ]),
                )]),
                columns: vec![0, 1, 2, 3],
                ..Default::default()
            }),
            update: Some(UpdatePermission {
                filter: obj(&[("id", s("X-Hasura-User-Id"))]),
                check: None,
                columns: vec![1, 2],
                set: vec![],
                backend_only: false,
            }),
            ..Default::default()
        },
    );
    let mut article_perms = BTreeMap::new();
    article_perms.insert(
        "user".to_string(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 1, 2, 3, 4],
                filter: obj(&[(
                    "$or",
                    Value::List(vec![
                        obj(&[("author_id", s("X-HASURA-USER-ID"))]),
                        obj(&[("is_published", Value::Boolean(true))]),
                    ]),
                )]),
                ..Default::default()
            }),
            insert: Some(InsertPermission {
                check: obj(&[("author_id", s("X-Hasura-User-Id"))]),
                columns: vec![0, 1, 2, 3],
                set: vec![(4, Value::Boolean(false))],
                backend_only: false,
            }),
            update: Some(UpdatePermission {
                filter: obj(&[("author_id", s("X-Hasura-User-Id"))]),
                check: Some(obj(&[("is_published", Value::Boolean(false))])),
                columns: vec![1, 2, 4],
                set: vec![],
                backend_only: false,
            }),
            delete: Some(DeletePermission {
                filter: obj(&[("author_id", s("X-Hasura-User-Id"))]),
                backend_only: false,
            }),
        },
    );
    let author = Table {
        name: QualifiedName::new("public", "author"),
        gql_name: "author".into(),
        root_fields: root_fields("author"),
        columns: vec![
            col("id", "int4", true),
            col("name", "text", false),
            col("bio", "text", false),
            col("is_registered", "bool", true),
        ],
        primary_key: vec![0],
        unique_constraints: vec![
            uc("author_pkey", vec![0], true),
            uc("author_name_key", vec![1], false),
        ],
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
            col("id", "int4", true),
            col("title", "text", false),
            col("content", "text", false),
            col("author_id", "int4", false),
            col("is_published", "bool", false),
        ],
        primary_key: vec![0],
        unique_constraints: vec![uc("article_pkey", vec![0], true)],
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
    let publish = Function {
        name: QualifiedName::new("public", "publish_articles"),
        gql_name: "publish_articles".into(),
        gql_aggregate_name: "publish_articles_aggregate".into(),
        args: vec![FunctionArg {
            name: Some("author".into()),
            pg_type: PgType::scalar("int4"),
            has_default: false,
        }],
        session_argument: None,
        returns: FunctionReturn::Table {
            table: 1,
            set: true,
        },
        exposed_as: ExposedAs::Mutation,
        volatility: 'v',
        permissions: vec![],
        comment: None,
    };
    Schema {
        tables: vec![author, article],
        functions: vec![publish],
        ..Default::default()
    }
}
