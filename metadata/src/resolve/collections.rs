//! Stage 6: the queries of query collections checked against the admin's schema, as Hasura
//! does on every metadata change: a query selecting a field that does not exist (or a
//! document that is not one operation) is a `query_collections` inconsistency naming the REST
//! endpoints that serve it and whether it is allowlisted. The query stays in the metadata and
//! its endpoints keep their routes.
use graphedge_core::introspection::analyse;
use graphedge_core::model::Schema;
use serde_json::json;

use super::Inconsistency;
use crate::raw::{Metadata, QueryCollection};

/// The `query_collections` inconsistencies of `md` over `schema`.
pub fn inconsistencies(
    md: &Metadata,
    schema: &Schema,
    config: &crate::Config,
) -> Vec<Inconsistency> {
    let queries = || {
        md.query_collections
            .iter()
            .flat_map(|c| c.definition.queries.iter().map(move |q| (c, q)))
    };
    if queries().next().is_none() {
        return Vec::new();
    }
    let options = graphedge_core::Options {
        infer_function_permissions: config.infer_function_permissions,
        ..graphedge_core::Options::default()
    };
    let ts = graphedge_core::introspection::build(schema, "admin", &options);
    let routes = crate::rest::routes(md);
    let mut out = Vec::new();
    for (collection, q) in queries() {
        let errors = match graphedge_core::parse::parse(&q.query) {
            Err(e) => vec![e.message.clone()],
            Ok(doc) if doc.operations.len() != 1 => vec![
                "exactly one operation has to be present in the document when operationName is not specified"
                    .to_string(),
            ],
            Ok(doc) => analyse::diagnose(&ts, &doc),
        };
        if errors.is_empty() {
            continue;
        }
        let mut reason = format!(
            "Inconsistent object: In query collection \"{}\" the query \"{}\" is invalid with the following error(s): {}",
            collection.name,
            q.name,
            quoted(errors.iter().map(String::as_str))
        );
        let endpoints: Vec<&str> = routes
            .iter()
            .filter(|r| r.query == q.query)
            .map(|r| r.name.as_str())
            .collect();
        if !endpoints.is_empty() {
            reason.push_str(". This query is being used in the following REST endpoint(s): ");
            reason.push_str(&quoted(endpoints.into_iter()));
        }
        if allowlisted(md, &q.query) {
            reason.push_str(". This query is in allowlist.");
        }
        out.push(Inconsistency {
            definition: json!({"name": q.name, "query": q.query}),
            reason,
            name: format!("query_collections {} in {}", q.name, collection.name),
            kind: "query_collections".into(),
        });
    }
    out
}

/// `"a", "b"`.
fn quoted<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `query` is a query of a globally allowlisted collection.
fn allowlisted(md: &Metadata, query: &str) -> bool {
    md.allowlist.iter().filter(|e| e.scope.global).any(|e| {
        md.query_collections
            .iter()
            .filter(|c: &&QueryCollection| c.name == e.collection)
            .any(|c| c.definition.queries.iter().any(|q| q.query == query))
    })
}
