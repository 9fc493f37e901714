//! The only place SQL text fragments are made: identifier quoting, string literals for
//! engine-owned constants (JSON keys, type names), type casts and JSON object building.
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::model::{PgType, QualifiedName};

/// Quotes an identifier: `"a""b"`. Every identifier in emitted SQL goes through here.
pub fn ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('"');
    for ch in name.chars() {
        if ch == '"' {
            s.push('"');
        }
        if ch != '\0' {
            s.push(ch);
        }
    }
    s.push('"');
    s
}

/// `"schema"."name"`.
pub fn qualified(q: &QualifiedName) -> String {
    format!("{}.{}", ident(&q.schema), ident(&q.name))
}

/// A SQL string literal for engine-owned text (response keys, type names): `'it''s'`.
/// User *values* never go through here: they are bind parameters.
pub fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for ch in s.chars() {
        if ch == '\'' {
            out.push('\'');
        }
        if ch != '\0' {
            out.push(ch);
        }
    }
    out.push('\'');
    out
}

/// The SQL name of a type: `"pg_catalog"."int4"`, arrays as `"pg_catalog"."int4"[]`.
pub fn type_name(t: &PgType) -> String {
    match &t.element {
        Some(elem) => format!("{}.{}[]", ident(&t.schema), ident(elem)),
        None => format!("{}.{}", ident(&t.schema), ident(&t.udt)),
    }
}

/// The SQL name of an array of `t` (for `_in`/`_nin`).
pub fn array_type_name(t: &PgType) -> String {
    format!("{}.{}[]", ident(&t.schema), ident(&t.udt))
}

/// `json_build_object(k1, v1, ...)` that keeps key order and has no 100-argument limit:
/// chunks of 50 pairs are merged as text.
pub fn json_object(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return String::from("'{}'::json");
    }
    let chunks: Vec<String> = pairs
        .chunks(50)
        .map(|chunk| {
            let mut s = String::from("json_build_object(");
            for (i, (k, v)) in chunk.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(&literal(k));
                s.push_str(", ");
                s.push_str(v);
            }
            s.push(')');
            s
        })
        .collect();
    if chunks.len() == 1 {
        return chunks.into_iter().next().unwrap_or_default();
    }
    // {"a":1} + {"b":2} + {"c":3} → {"a":1,"b":2,"c":3}, textually, preserving order: the
    // first chunk loses its `}`, the last its `{`, the ones between both.
    let last = chunks.len() - 1;
    let mut s = String::from("(");
    for (i, c) in chunks.iter().enumerate() {
        if i > 0 {
            s.push_str(" || ',' || ");
        }
        if i == 0 {
            s.push_str(&format!("left(({})::text, -1)", c));
        } else if i == last {
            s.push_str(&format!("substr(({})::text, 2)", c));
        } else {
            s.push_str(&format!("substr(left(({})::text, -1), 2)", c));
        }
    }
    s.push_str(")::json");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn quoting() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(
            type_name(&PgType::scalar("int4")),
            "\"pg_catalog\".\"int4\""
        );
    }

    /// Every width gives one JSON object: one `json_build_object` up to 50 pairs, else chunks
    /// whose braces are removed where they meet (the outer two kept).
    #[test]
    fn json_object_of_any_width() {
        for n in [1usize, 49, 50, 51, 100, 101, 150, 151, 1_000, 10_000] {
            let pairs: Vec<(String, String)> =
                (0..n).map(|i| (format!("k{i}"), format!("v{i}"))).collect();
            let sql = json_object(&pairs);
            let chunks = n.div_ceil(50);
            assert_eq!(sql.matches("json_build_object(").count(), chunks, "{n}");
            if chunks == 1 {
                assert!(sql.starts_with("json_build_object('k0', v0"), "{n}");
                continue;
            }
            assert!(sql.starts_with("(left((json_build_object('k0', v0"), "{n}");
            assert_eq!(sql.matches("left((").count(), chunks - 1, "{n}");
            assert_eq!(sql.matches("substr((").count(), 1, "{n}");
            assert_eq!(sql.matches("substr(left((").count(), chunks - 2, "{n}");
            assert!(sql.ends_with(")::text, 2))::json"), "{n}");
            let last = format!("'k{}', v{})", n - 1, n - 1);
            assert!(sql.contains(&last), "{n}");
        }
        assert_eq!(json_object(&[]), "'{}'::json");
    }
}
