//! The allowlist (`HASURA_GRAPHQL_ENABLE_ALLOWLIST`): non-admin requests must match a query of
//! a collection of `metadata.allowlist` with scope `global`. Entries scoped to `roles` are
//! kept in the metadata but grant nothing, as in Hasura CE (role-based allowlists are an
//! enterprise feature there).
//!
//! Queries are compared by a normalized form: the document's tokens (whitespace, commas and
//! comments dropped) with `__typename` selections removed, like Hasura which ignores
//! `__typename` when matching.
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

/// The allowed queries, normalized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    global: BTreeSet<String>,
}

impl Allowlist {
    /// Reads `query_collections` and `allowlist` from the export_metadata JSON (version 3).
    pub fn from_metadata(md: &Json) -> Allowlist {
        let mut collections: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for c in md
            .get("query_collections")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = c.get("name").and_then(Json::as_str) else {
                continue;
            };
            let queries = c
                .pointer("/definition/queries")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|q| q.get("query").and_then(Json::as_str))
                .map(normalize)
                .collect();
            collections.insert(name, queries);
        }
        let mut out = Allowlist::default();
        for entry in md
            .get("allowlist")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let Some(coll) = entry.get("collection").and_then(Json::as_str) else {
                continue;
            };
            let Some(queries) = collections.get(coll) else {
                continue;
            };
            let is_global = entry
                .pointer("/scope/global")
                .and_then(Json::as_bool)
                .unwrap_or(true);
            if is_global {
                out.global.extend(queries.iter().cloned());
            }
        }
        out
    }

    /// Whether `query` may run (for any role but admin).
    pub fn allows(&self, query: &str) -> bool {
        self.global.contains(&normalize(query))
    }
}

/// Lexes a GraphQL document into tokens (punctuators, names, numbers, strings as written).
fn tokens(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            0xEF if b[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => i += 3,
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' => {
                let start = i;
                if b[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                    i = (i + 3).min(b.len());
                } else {
                    i += 1;
                    while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                    i = (i + 1).min(b.len());
                }
                out.push(String::from_utf8_lossy(&b[start..i.min(b.len())]).into_owned());
            }
            b'.' if b[i..].starts_with(b"...") => {
                out.push("...".into());
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'+' => {
                let start = i;
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'.'
                        || b[i] == b'-'
                        || b[i] == b'+')
                {
                    i += 1;
                }
                out.push(String::from_utf8_lossy(&b[start..i]).into_owned());
            }
            _ => {
                // One punctuator (or any other character, kept as is).
                let ch_len = src[i..].chars().next().map(char::len_utf8).unwrap_or(1);
                out.push(src[i..i + ch_len].to_string());
                i += ch_len;
            }
        }
    }
    out
}

/// The normalized text of a document: tokens joined by single spaces, without `__typename`
/// selections (`__typename` or `alias: __typename`); the shorthand `{ … }` is spelled
/// `query { … }`.
pub fn normalize(src: &str) -> String {
    let toks = tokens(src);
    let mut kept: Vec<&str> = Vec::with_capacity(toks.len());
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match toks[i].as_str() {
            "{" => {
                if depth == 0 && kept.last().is_none_or(|t| *t == "}") {
                    kept.push("query");
                }
                depth += 1;
            }
            "}" => depth = depth.saturating_sub(1),
            _ => {}
        }
        if toks[i] == "__typename" && toks.get(i + 1).map(String::as_str) != Some(":") {
            // Drop an alias `a :` before it too.
            if kept.len() >= 2 && kept[kept.len() - 1] == ":" {
                kept.truncate(kept.len() - 2);
            }
            i += 1;
            continue;
        }
        kept.push(&toks[i]);
        i += 1;
    }
    kept.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        assert_eq!(
            normalize("query {\n  user { id, name }  # c\n}"),
            normalize("query{user{id name}}")
        );
        assert_eq!(
            normalize("{ user { id __typename name } }"),
            normalize("{user{id name}}")
        );
        assert_eq!(
            normalize("{ user { id t: __typename } }"),
            normalize("{user{id}}")
        );
        assert_ne!(
            normalize("{ user { id name } }"),
            normalize("{user{id company}}")
        );
        assert_ne!(
            normalize(r#"{ a(x: "a b") }"#),
            normalize(r#"{ a(x: "a  b") }"#)
        );
    }

    #[test]
    fn scopes() {
        let md = serde_json::json!({
            "query_collections": [
                {"name": "c1", "definition": {"queries": [{"name": "q", "query": "query { user { id } }"}]}},
                {"name": "c2", "definition": {"queries": [{"name": "q", "query": "query { secret { id } }"}]}}
            ],
            "allowlist": [
                {"collection": "c1"},
                {"collection": "c2", "scope": {"global": false, "roles": ["editor"]}}
            ]
        });
        let a = Allowlist::from_metadata(&md);
        assert!(a.allows("{ user { id } }"));
        assert!(a.allows("query { user { id __typename } }"));
        // Role-scoped entries grant nothing (Hasura CE), not even to the roles they name.
        assert!(!a.allows("query { secret { id } }"));
    }
}
