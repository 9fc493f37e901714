//! Source customization and naming conventions: type names (prefix, suffix, mapping,
//! graphql-default PascalCase with custom table names kept), namespace types, camelCase and
//! PascalCase words.
use graphedge_core::customize::{camel, pascal, Customization};

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
