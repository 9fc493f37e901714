//! Relay API (`Options::relay`) snapshot tests over the schema of Hasura's relay fixtures
//! (author / article / article_view / "user" / search_articles).
//!
//! Setting `RELAY_DUMP=<dir>` also writes each case's SQL with its parameters inlined as
//! literals (`<dir>/<name>.sql`) so it can be run by hand with psql against the fixtures'
//! setup SQL.
use graphedge_core::model::*;
use graphedge_core::{compile, Options, PlanKind, Request, Value};
use std::collections::BTreeMap;

mod common;
use common::*;

fn root_fields(n: &str) -> RootFieldNames {
    RootFieldNames {
        select: n.into(),
        select_by_pk: format!("{n}_by_pk"),
        select_aggregate: format!("{n}_aggregate"),
        ..Default::default()
    }
}

fn table(
    name: &str,
    columns: Vec<Column>,
    pk: Vec<usize>,
    relationships: Vec<Relationship>,
    permissions: BTreeMap<String, Permissions>,
) -> Table {
    Table {
        name: QualifiedName::new("public", name),
        gql_name: name.into(),
        root_fields: root_fields(name),
        columns,
        primary_key: pk,
        unique_constraints: vec![],
        relationships,
        remote_relationships: Vec::new(),
        remote_schema_relationships: Vec::new(),
        computed_fields: vec![],
        permissions,
        kind: 'r',
        mutable: Mutable::ALL,
        is_enum: false,
        enum_values: vec![],
        description: None,
    }
}

fn rel(name: &str, kind: RelKind, target: usize, mapping: Vec<(usize, usize)>) -> Relationship {
    Relationship {
        name: name.into(),
        kind,
        target,
        mapping,
        comment: None,
        local_fk: kind == RelKind::Object,
    }
}

/// Tables: 0 author, 1 article, 2 article_view (no primary key), 3 "user" (two-column key).
/// Role `user` has the permissions of the relay/permissions fixture.
fn schema() -> Schema {
    let mut author_perms = BTreeMap::new();
    author_perms.insert(
        "user".to_string(),
        Permissions {
            select: Some(SelectPermission {
                columns: vec![0, 1],
                filter: obj(&[(
                    "id",
                    obj(&[("_eq", Value::String("x-hasura-user-id".into()))]),
                )]),
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
                columns: vec![1, 2, 3, 4],
                filter: obj(&[(
                    "_or",
                    Value::List(vec![
                        obj(&[(
                            "author_id",
                            obj(&[("_eq", Value::String("x-hasura-user-id".into()))]),
                        )]),
                        obj(&[("is_published", obj(&[("_eq", Value::Boolean(true))]))]),
                    ]),
                )]),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    let article_cols = || {
        vec![
            col("id", "int4"),
            col("title", "text"),
            col("content", "text"),
            col("author_id", "int4"),
            col("is_published", "bool"),
        ]
    };
    let author = table(
        "author",
        vec![col("id", "int4"), col("name", "text")],
        vec![0],
        vec![
            rel("articles", RelKind::Array, 1, vec![(0, 3)]),
            rel("articles_view", RelKind::Array, 2, vec![(0, 3)]),
        ],
        author_perms,
    );
    let article = table(
        "article",
        article_cols(),
        vec![0],
        vec![rel("author", RelKind::Object, 0, vec![(3, 0)])],
        article_perms,
    );
    let article_view = table(
        "article_view",
        article_cols(),
        vec![],
        vec![],
        BTreeMap::new(),
    );
    let user = table(
        "user",
        vec![
            col("first_name", "text"),
            col("last_name", "text"),
            col("age", "int4"),
            col("address", "text"),
        ],
        vec![0, 1],
        vec![],
        BTreeMap::new(),
    );
    Schema {
        tables: vec![author, article, article_view, user],
        functions: vec![search_articles_fn()],
        ..Default::default()
    }
}

fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Compiles `query` in relay mode as `role` (user id `uid`) and renders the plan or the error.
fn check(name: &str, role: &str, uid: &str, query: &str) -> String {
    let schema = schema();
    let session = user_session(role, uid);
    let req = Request {
        query,
        operation_name: None,
        variables: &[],
    };
    let opts = Options {
        relay: true,
        ..Default::default()
    };
    match compile(&schema, &session, &req, &opts) {
        Ok(plan) => match plan.kind {
            PlanKind::Static(json) => format!("static: {json}"),
            _ => {
                let bound = plan.bind(&[], &session);
                if let (Ok(dir), Ok(values)) = (std::env::var("RELAY_DUMP"), &bound) {
                    let mut sql = plan.sql.clone();
                    for (i, v) in values.iter().enumerate().rev() {
                        let lit = v
                            .as_deref()
                            .map(sql_literal)
                            .unwrap_or_else(|| "NULL".into());
                        sql = sql.replace(&format!("${}", i + 1), &lit);
                    }
                    std::fs::write(format!("{dir}/{name}.sql"), sql + ";\n").unwrap();
                }
                format!(
                    "{}\nparams: {:?}\nbound: {:?}",
                    plan.sql, plan.params, bound
                )
            }
        },
        Err(e) => format!("error: {} {} {}", e.code.as_str(), e.path, e.message),
    }
}

macro_rules! snap {
    ($name:ident, $role:expr, $uid:expr, $query:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(check(stringify!($name), $role, $uid, $query));
        }
    };
}

const PAGE: &str = "pageInfo { startCursor endCursor hasPreviousPage hasNextPage }";
const ART_EDGES: &str = "edges { cursor node { title content author_id } }";

macro_rules! articles {
    ($name:ident, $args:expr) => {
        snap!(
            $name,
            "admin",
            "1",
            &format!(
                "query {{ article_connection({}) {{ {PAGE} {ART_EDGES} }} }}",
                $args
            )
        );
    };
}

articles!(article_forward_1, "first: 3");
articles!(article_forward_2, "first: 2, after: \"eyJpZCIgOiAzfQ==\"");
articles!(article_forward_3, "first: 3, after: \"eyJpZCIgOiA1fQ==\"");
articles!(article_backward_1, "last: 3");
articles!(article_backward_2, "last: 2, before: \"eyJpZCIgOiA0fQ==\"");
articles!(article_backward_3, "last: 2, before: \"eyJpZCIgOiAyfQ==\"");

const AUTHOR_EDGES: &str =
    "edges { cursor node { name articles_aggregate { aggregate { count } } } }";

macro_rules! authors {
    ($name:ident, $args:expr) => {
        snap!(
            $name,
            "admin",
            "1",
            &format!(
                "query {{ author_connection(order_by: {{articles_aggregate: {{count: asc}}}}, {}) {{ {PAGE} {AUTHOR_EDGES} }} }}",
                $args
            )
        );
    };
}

authors!(author_agg_forward_1, "first: 2");
authors!(
    author_agg_forward_2,
    "first: 2, after: \"eyJhcnRpY2xlc19hZ2dyZWdhdGUiIDogeyJjb3VudCIgOiAxfSwgImlkIiA6IDN9\""
);
authors!(author_agg_backward_1, "last: 1");
authors!(
    author_agg_backward_2,
    "last: 2, before: \"eyJhcnRpY2xlc19hZ2dyZWdhdGUiIDogeyJjb3VudCIgOiAzfSwgImlkIiA6IDF9\""
);
authors!(
    author_agg_backward_3,
    "last: 1, before: \"eyJhcnRpY2xlc19hZ2dyZWdhdGUiIDogeyJjb3VudCIgOiAxfSwgImlkIiA6IDN9\""
);

snap!(
    only_pageinfo,
    "admin",
    "1",
    "query { article_connection(order_by: {title: asc}, last: 2) { pageInfo { startCursor endCursor hasPreviousPage hasNextPage } startCursor: pageInfo { startCursor } endCursor: pageInfo { endCursor } hasPreviousPage: pageInfo { hasPreviousPage } hasNextPage: pageInfo { hasNextPage } } }"
);
snap!(
    after_and_before,
    "admin",
    "1",
    "query { author_connection(after: \"eyJpZCIgOiAyfQ==\", before: \"eyJpZCIgOiA0fQ==\") { edges { cursor } } }"
);
snap!(
    view_connection_not_found,
    "admin",
    "1",
    "query { author_connection { edges { cursor node { id name articles { id title content } articles_aggregate { aggregate { count } } articles_view_connection { edges { cursor node { id title content } } } } } } }"
);
snap!(
    function_connection,
    "admin",
    "1",
    "query { search_articles_connection(args: {search: \"3\"}, first: 1) { edges { node { id title } } } }"
);
snap!(
    node_user,
    "admin",
    "1",
    "query { node(id: \"WzEsICJwdWJsaWMiLCAidXNlciIsICJmaXJzdF8xIiwgImxhc3RfMSJdCg==\") { __typename ... on user { first_name age address } } }"
);

macro_rules! node_error {
    ($name:ident, $id:expr) => {
        snap!(
            $name,
            "admin",
            "1",
            &format!(
                "query {{ node(id: \"{}\") {{ __typename ... on user {{ first_name }} }} }}",
                $id
            )
        );
    };
}
node_error!(node_insufficient_data, "WzEsICJwdWJsaWMiLCAidXNlciJdCg==");
node_error!(
    node_invalid_column_value,
    "WzEsICJwdWJsaWMiLCAidXNlciIsIDEsICJsYXN0XzIiXQo="
);
node_error!(node_invalid_id, "random");
node_error!(node_invalid_version, "WzIsICJwdWJsaWMiLCAiYXV0aG9yIiwgMV0K");
node_error!(
    node_missing_columns,
    "WzEsICJwdWJsaWMiLCAidXNlciIsICJmaXJzdF8yIl0K"
);
node_error!(node_non_array, "eyJpZCIgOiA0fQ==");
node_error!(
    node_non_integer_version,
    "WyIxIiwgInB1YmxpYyIsICJ1c2VyIiwgImZpcnN0XzIiLCAibGFzdF8yIiwgMl0K"
);

snap!(
    perm_author_connection,
    "user",
    "2",
    "query { author_connection { pageInfo { startCursor endCursor hasPreviousPage hasNextPage } edges { cursor node { id name articles_connection { edges { node { id title } } } } } } }"
);
snap!(
    perm_author_node,
    "user",
    "2",
    "query { node(id: \"WzEsICJwdWJsaWMiLCAiYXV0aG9yIiwgMl0K\") { ... on author { name } } }"
);
snap!(
    perm_author_node_null,
    "user",
    "1",
    "query { node(id: \"WzEsICJwdWJsaWMiLCAiYXV0aG9yIiwgMl0K\") { ... on author { name } } }"
);
snap!(
    plain_root_field_absent,
    "admin",
    "1",
    "query { author { id } }"
);
snap!(
    introspection_roots,
    "admin",
    "1",
    "query { __schema { queryType { fields { name args { name } } } } }"
);
snap!(
    introspection_types,
    "user",
    "2",
    "query { author: __type(name: \"author\") { kind interfaces { name } fields { name type { kind name ofType { name } } } } node: __type(name: \"Node\") { kind fields { name } possibleTypes { name } } edge: __type(name: \"articleEdge\") { fields { name } } page: __type(name: \"PageInfo\") { fields { name } } }"
);
