//! Source customization and naming conventions: type names (prefix, suffix, mapping,
//! graphql-default PascalCase with custom table names kept), namespace types, camelCase and
//! PascalCase words.
use graphedge_core::customize::{camel, pascal, Customization};
use graphedge_core::model::{SourceInfo, UniqueConstraint};
use graphedge_core::{introspection, Options, Request, Session, Value};

mod common;

fn custom(prefix: &str, suffix: &str, mapping: &[(&str, &str)], pascal: bool) -> Customization {
    Customization {
        namespace: Some("my_source".into()),
        type_prefix: prefix.into(),
        type_suffix: suffix.into(),
        type_mapping: mapping
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        pascal_types: pascal,
        custom_bases: vec!["authorDetails".into()],
    }
}

/// (customization, type name, expected)
fn check(cases: &[(&Customization, &str, &str)]) {
    for (c, name, want) in cases {
        assert_eq!(c.type_name(name), *want, "{name} with {c:?}");
    }
}

#[test]
fn type_names() {
    let affixed = custom("tpref_", "_tsuff", &[("author_aggregate", "Tally")], false);
    let graphql_default = custom("", "", &[], true);
    let both = custom("T", "X", &[], true);
    check(&[
        (&affixed, "author", "tpref_author_tsuff"),
        (&affixed, "author_aggregate", "Tally"),
        (
            &affixed,
            "String_comparison_exp",
            "tpref_String_comparison_exp_tsuff",
        ),
        // Built-in scalars and the root types keep their names.
        (&affixed, "String", "String"),
        (&affixed, "query_root", "query_root"),
        (&affixed, "__Type", "__Type"),
        (
            &graphql_default,
            "AuthorLocal_aggregate_fields",
            "AuthorLocalAggregateFields",
        ),
        (
            &graphql_default,
            "author_local_mutation_response",
            "AuthorLocalMutationResponse",
        ),
        (&graphql_default, "authorDetails", "authorDetails"),
        (
            &graphql_default,
            "authorDetails_aggregate",
            "authorDetailsAggregate",
        ),
        (&graphql_default, "order_by", "OrderBy"),
        (&both, "author_local", "TAuthorLocalX"),
    ]);
    assert_eq!(
        affixed.namespace_type("query_root").as_deref(),
        Some("tpref_my_source_query_tsuff")
    );
    assert_eq!(
        affixed.namespace_type("mutation_root").as_deref(),
        Some("tpref_my_source_mutation_frontend_tsuff")
    );
    assert_eq!(
        graphql_default.namespace_type("query_root").as_deref(),
        Some("MySourceQuery")
    );
}

#[test]
fn words() {
    for (name, camel_case, pascal_case) in [
        ("author_local_by_pk", "authorLocalByPk", "AuthorLocalByPk"),
        ("authorDetails", "authorDetails", "AuthorDetails"),
        ("a__b_", "aB", "AB"),
        ("", "", ""),
    ] {
        assert_eq!(
            (camel(name), pascal(name)),
            (camel_case.into(), pascal_case.into()),
            "{name}"
        );
    }
}

/// `graphql-default` spells Hasura's generated names in camelCase (values in upper case); the
/// compiler reads the client's spelling back, and refuses the default spelling.
#[test]
fn generated_names() {
    let gd = custom("", "", &[], true);
    let hd = custom("", "", &[], false);
    for (name, client) in [
        ("order_by", "orderBy"),
        ("distinct_on", "distinctOn"),
        ("pk_columns", "pkColumns"),
        ("_is_null", "_isNull"),
        ("_st_d_within", "_stDWithin"),
        ("affected_rows", "affectedRows"),
        ("asc_nulls_first", "ASC_NULLS_FIRST"),
        ("where", "where"),
        ("_eq", "_eq"),
    ] {
        assert_eq!(gd.generated(name), client);
        assert_eq!(gd.canonical(client), name);
        assert_eq!(hd.generated(name), name);
        assert_eq!(hd.canonical(name), name);
        if client != name {
            assert_eq!(
                gd.canonical(name),
                "",
                "{name} is not a name under graphql-default"
            );
            assert_eq!(hd.canonical(client), client);
        }
    }
}

/// A `graphql-default` source end to end: introspection shows the camelCase names and the
/// compiler takes them (and only them).
#[test]
fn graphql_default_arguments_and_operators() {
    let mut s = common::blog_schema();
    s.tables[1].unique_constraints = vec![UniqueConstraint {
        name: "article_pkey".into(),
        columns: vec![0],
        is_primary: true,
    }];
    s.sources = vec![SourceInfo {
        name: "default".into(),
        tables_end: s.tables.len(),
        functions_end: s.functions.len(),
        customization: Customization {
            pascal_types: true,
            ..Default::default()
        },
    }];
    let sdl = introspection::build(&s, "admin", &Options::default()).to_sdl();
    for want in [
        "orderBy: [ArticleOrderBy!]",
        "distinctOn: [ArticleSelectColumn!]",
        "_isNull: Boolean",
        "affectedRows: Int!",
        "pkColumns: ArticlePkColumnsInput!",
        "onConflict: ArticleOnConflict",
        "updateColumns: [ArticleUpdateColumn!]",
        "ASC_NULLS_FIRST",
        "articlesAggregate",
        "stddevPop",
        "batchSize: Int!",
        "initialValue: ArticleStreamCursorValueInput!",
    ] {
        assert!(sdl.contains(want), "{want} missing from\n{sdl}");
    }
    for gone in ["order_by:", "_is_null", "affected_rows", "asc_nulls_first"] {
        assert!(!sdl.contains(gone), "{gone} still in the schema");
    }
    let compile = |query: &str| {
        let vars: Vec<(String, Value)> = Vec::new();
        let req = Request {
            query,
            operation_name: None,
            variables: &vars,
        };
        graphedge_core::compile(&s, &Session::admin(), &req, &Options::default())
            .map(|p| p.sql)
            .map_err(|e| e.message)
    };
    for ok in [
        "{ article(orderBy: {id: DESC_NULLS_LAST}, distinctOn: [id], where: {title: {_isNull: false}}) { id } }",
        "{ author { articlesAggregate { aggregate { count stddevPop { id } } } } }",
        "{ author(orderBy: {articlesAggregate: {count: ASC}}) { id } }",
        "{ author(where: {articlesAggregate: {count: {predicate: {_gt: 1}}}}) { id } }",
        "subscription { article_stream(batchSize: 2, cursor: {initialValue: {id: 1}, ordering: DESC}) { id } }",
        "mutation { update_article_by_pk(pkColumns: {id: 1}, _set: {title: \"x\"}) { id } }",
        "mutation { insert_article(objects: [{id: 1}], onConflict: {constraint: article_pkey, updateColumns: [title]}) { affectedRows } }",
    ] {
        if let Err(e) = compile(ok) {
            panic!("{ok}: {e}");
        }
    }
    for (bad, message) in [
        (
            "{ article(order_by: {id: desc}) { id } }",
            "has no argument named 'order_by'",
        ),
        (
            "{ article(orderBy: {id: desc}) { id } }",
            "but found 'desc'",
        ),
        (
            "{ article(where: {title: {_is_null: false}}) { id } }",
            "'_is_null' not found",
        ),
        (
            "mutation { update_article_by_pk(pk_columns: {id: 1}) { id } }",
            "has no argument named 'pk_columns'",
        ),
        (
            "mutation { delete_article(where: {}) { affected_rows } }",
            "'affected_rows' not found",
        ),
    ] {
        let e = compile(bad).unwrap_err();
        assert!(e.contains(message), "{bad}: {e}");
    }
}
