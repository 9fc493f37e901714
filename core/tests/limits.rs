//! `graphedge_core::limits::measure`: documents → depth, nodes, fields, aliases, introspection.
//! One table of cases, one `check()`.
use graphedge_core::limits::{measure_query, Measure};

/// `(depth, nodes, fields, aliases, introspection)` of `query` (operation `op`), or `None`.
fn check(query: &str, op: Option<&str>) -> Option<(u64, u64, u64, u64, bool)> {
    let m: Option<Measure> = measure_query(query, op).expect("measurable");
    m.map(|m| (m.depth, m.nodes, m.fields, m.aliases, m.introspection))
}

#[test]
fn measures() {
    let cases: &[(&str, Option<&str>, Option<(u64, u64, u64, u64, bool)>)] = &[
        // Hasura's documented depth examples.
        (
            "query deep1_1 { viewer { name } }",
            None,
            Some((1, 1, 2, 0, false)),
        ),
        (
            "query deep1_2 { viewer { ... on User { name } } }",
            None,
            Some((1, 1, 2, 0, false)),
        ),
        (
            "query deep2 { viewer { albums { title } } }",
            None,
            Some((2, 2, 3, 0, false)),
        ),
        (
            "query deep3 { viewer { albums { ...musicInfo songs { ...musicInfo } } } }
             fragment musicInfo on Music { id title artists }",
            None,
            Some((3, 3, 9, 0, false)),
        ),
        // Hasura's documented node example: author, articles, homepage_entries.
        (
            "{ author { name articles { id title } } homepage_entries { article_id } }",
            None,
            Some((2, 3, 7, 0, false)),
        ),
        // Leaves only: depth 0.
        ("{ __typename }", None, Some((0, 0, 1, 0, true))),
        // Aliases: each aliased selection counts, and so do its nodes.
        (
            "{ a: author { id } b: author { id } c: author { x: id } }",
            None,
            Some((1, 3, 6, 4, false)),
        ),
        // Introspection: all root fields introspect (through fragments too).
        (
            "{ __schema { types { name fields { name type { name ofType { name } } } } } }",
            None,
            Some((5, 5, 9, 0, true)),
        ),
        (
            "query Q { ...F } fragment F on query_root { __type(name: \"x\") { name } }",
            None,
            Some((1, 1, 2, 0, true)),
        ),
        (
            "{ __schema { queryType { name } } author { id } }",
            None,
            Some((2, 3, 5, 0, false)),
        ),
        // The operation is picked by name; unknown names and ambiguity are left to the compiler.
        (
            "query A { a { b { c } } } query B { x }",
            Some("A"),
            Some((2, 2, 3, 0, false)),
        ),
        (
            "query A { a { b { c } } } query B { x }",
            Some("B"),
            Some((0, 0, 1, 0, false)),
        ),
        ("query A { a } query B { x }", None, None),
        ("query A { a }", Some("Z"), None),
        // Unparsable: left to the compiler.
        ("{ a { ", None, None),
        // A fragment cycle adds nothing (the compiler reports it); unknown fragments neither.
        (
            "{ ...A } fragment A on query_root { a { id ...B } } fragment B on t { b { ...A } }",
            None,
            Some((2, 2, 3, 0, false)),
        ),
        ("{ ...Nope x { y } }", None, Some((1, 1, 2, 0, false))),
        // @skip/@include are ignored: the measure does not depend on variables.
        (
            "query($s: Boolean!) { a @skip(if: $s) { b } c @include(if: false) { d } }",
            None,
            Some((1, 2, 4, 0, false)),
        ),
    ];
    for (query, op, want) in cases {
        assert_eq!(check(query, *op), *want, "{query}");
    }
}

/// A fragment bomb: 30 fragments, each spreading the next twice (2^30 expanded fields), is
/// measured at once with saturating counts, not expanded.
#[test]
fn fragment_bomb_is_counted_not_expanded() {
    let mut q = String::from("{ ...F0 }\n");
    for i in 0..30 {
        q.push_str(&format!(
            "fragment F{i} on T {{ a{i}: f {{ ...F{n} }} b{i}: f {{ ...F{n} }} }}\n",
            n = i + 1
        ));
    }
    q.push_str("fragment F30 on T { leaf }\n");
    let (depth, nodes, fields, aliases, _) = check(&q, None).unwrap();
    assert_eq!(depth, 30);
    assert_eq!(fields, (1u64 << 31) - 2 + (1u64 << 30));
    assert_eq!(nodes, (1u64 << 31) - 2);
    assert_eq!(aliases, nodes);
}

/// A chain of fragments nested deeper than `MAX_NESTING` is an error, not a stack overflow.
#[test]
fn deep_fragment_chains_are_rejected() {
    let n = graphedge_core::limits::MAX_NESTING + 10;
    let mut q = String::from("{ ...F0 }\n");
    for i in 0..n {
        q.push_str(&format!("fragment F{i} on T {{ f {{ ...F{} }} }}\n", i + 1));
    }
    let e = measure_query(&q, None).unwrap_err();
    assert_eq!(e.code.as_str(), "validation-failed");
}
