//! REST endpoints (`create_rest_endpoint`): a query of a query collection served at
//! `/api/rest/<url>` for the listed HTTP methods. The URL is a template of `/`-separated
//! segments, each a literal or a `:variable` that takes the query variable of that name from
//! the request's path.
//!
//! What makes an endpoint inconsistent (Hasura's reasons, reported as `rest_endpoint`
//! inconsistencies by [`inconsistencies`]): an empty segment or an unnamed variable, a variable
//! named twice, a collection or query that does not exist, a query that is a subscription.
//! Two endpoints are ambiguous ([`ambiguous`]) when some URL matches both templates and they
//! share a method; `create_rest_endpoint` refuses that.
use serde_json::{json, Value as Json};

use graphedge_core::parse::ast::OperationKind;

use crate::raw::{Metadata, RestEndpoint};
use crate::resolve::Inconsistency;

/// One segment of a URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Variable(String),
}

/// A consistent endpoint, ready to serve.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub name: String,
    pub segments: Vec<Segment>,
    /// Upper case.
    pub methods: Vec<String>,
    /// The collection query's text.
    pub query: String,
    /// The variables of its (first) operation, with their base type names.
    pub variables: Vec<(String, String)>,
    /// The endpoint's `comment`.
    pub comment: Option<String>,
}

impl Route {
    /// The variables of `path`'s segments when it matches this template (`path` split on `/`,
    /// each segment already percent-decoded).
    pub fn matches(&self, path: &[String]) -> Option<Vec<(String, String)>> {
        if path.len() != self.segments.len() {
            return None;
        }
        let mut vars = Vec::new();
        for (seg, part) in self.segments.iter().zip(path) {
            match seg {
                Segment::Literal(l) if l == part => {}
                Segment::Literal(_) => return None,
                Segment::Variable(v) => vars.push((v.clone(), part.clone())),
            }
        }
        Some(vars)
    }
}

/// The segments of `url`, or Hasura's reason why it is not a template.
pub fn parse_url(url: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    for part in url.split('/') {
        match part.strip_prefix(':') {
            _ if part.is_empty() => {
                return Err(format!(
                    "Empty segments or unnamed variables are not allowed: {url}"
                ))
            }
            Some("") => {
                return Err(format!(
                    "Empty segments or unnamed variables are not allowed: {url}"
                ))
            }
            Some(v) => {
                if out.contains(&Segment::Variable(v.to_string())) {
                    return Err(format!("Duplicate variables found in endpoint path: {url}"));
                }
                out.push(Segment::Variable(v.to_string()));
            }
            None => out.push(Segment::Literal(part.to_string())),
        }
    }
    Ok(out)
}

/// The text of the endpoint's collection query.
pub fn query_text<'m>(md: &'m Metadata, e: &RestEndpoint) -> Option<&'m str> {
    let q = &e.definition.query;
    md.query_collections
        .iter()
        .find(|c| c.name == q.collection_name)?
        .definition
        .queries
        .iter()
        .find(|x| x.name == q.query_name)
        .map(|x| x.query.as_str())
}

/// The endpoint as a route, or the reason it is inconsistent.
pub fn route(md: &Metadata, e: &RestEndpoint) -> Result<Route, String> {
    let segments = parse_url(&e.url)?;
    let q = &e.definition.query;
    let Some(query) = query_text(md, e) else {
        return Err(format!(
            "Inconsistent object: in endpoint {}: query with name {} not found in collection {}",
            e.name, q.query_name, q.collection_name
        ));
    };
    let operations = graphedge_core::parse::parse(query)
        .map(|d| d.operations)
        .unwrap_or_default();
    if operations
        .iter()
        .any(|o| o.kind == OperationKind::Subscription)
    {
        return Err(format!(
            "Inconsistent object: in endpoint {}: query with name {} is a subscription",
            e.name, q.query_name
        ));
    }
    let variables = operations
        .into_iter()
        .next()
        .map(|op| {
            op.variables
                .into_iter()
                .map(|d| (d.name.clone(), d.ty.base().to_string()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Route {
        name: e.name.clone(),
        segments,
        methods: e.methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
        query: query.to_string(),
        variables,
        comment: e.comment.clone(),
    })
}

/// The consistent endpoints of `md`, in metadata order.
pub fn routes(md: &Metadata) -> Vec<Route> {
    md.rest_endpoints
        .iter()
        .filter_map(|e| route(md, e).ok())
        .collect()
}

/// The `rest_endpoint` inconsistencies of `md`.
pub fn inconsistencies(md: &Metadata) -> Vec<Inconsistency> {
    md.rest_endpoints
        .iter()
        .filter_map(|e| {
            let reason = route(md, e).err()?;
            Some(Inconsistency {
                definition: serde_json::to_value(e).unwrap_or(Json::Null),
                reason,
                name: format!("rest_endpoint {}", e.name),
                kind: "rest_endpoint".into(),
            })
        })
        .collect()
}

/// Whether some URL matches both templates.
fn overlap(a: &[Segment], b: &[Segment]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Segment::Literal(l), Segment::Literal(m)) => l == m,
            _ => true,
        })
}

/// The endpoints `new` is ambiguous with (it included), ordered by URL, as Hasura lists them:
/// `{definition: {query: <text>}, url, methods, name, comment}`. Empty: not ambiguous.
pub fn ambiguous(md: &Metadata, new: &RestEndpoint) -> Vec<Json> {
    let Ok(mine) = parse_url(&new.url) else {
        return Vec::new();
    };
    let shares_method = |e: &RestEndpoint| {
        e.methods
            .iter()
            .any(|m| new.methods.iter().any(|n| n.eq_ignore_ascii_case(m)))
    };
    let mut found: Vec<&RestEndpoint> = md
        .rest_endpoints
        .iter()
        .filter(|e| e.name != new.name && shares_method(e))
        .filter(|e| parse_url(&e.url).is_ok_and(|s| overlap(&mine, &s)))
        .collect();
    if found.is_empty() {
        return Vec::new();
    }
    found.push(new);
    found.sort_by(|a, b| a.url.cmp(&b.url));
    found
        .into_iter()
        .map(|e| {
            json!({
                "definition": {"query": query_text(md, e)},
                "url": e.url,
                "methods": e.methods,
                "name": e.name,
                "comment": e.comment,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(name: &str, url: &str, methods: &[&str]) -> RestEndpoint {
        serde_json::from_value(json!({
            "name": name, "url": url, "methods": methods,
            "definition": {"query": {"collection_name": "c", "query_name": "q"}},
        }))
        .unwrap()
    }

    #[test]
    fn templates() {
        use Segment::*;
        assert_eq!(
            parse_url("a/:id/b").unwrap(),
            [
                Literal("a".into()),
                Variable("id".into()),
                Literal("b".into())
            ]
        );
        for (url, reason) in [
            ("", "Empty segments or unnamed variables are not allowed: "),
            (
                "foo/",
                "Empty segments or unnamed variables are not allowed: foo/",
            ),
            (
                "foo//bar",
                "Empty segments or unnamed variables are not allowed: foo//bar",
            ),
            (
                "foo/:/bar",
                "Empty segments or unnamed variables are not allowed: foo/:/bar",
            ),
            (
                "foo/:id/bar/:id",
                "Duplicate variables found in endpoint path: foo/:id/bar/:id",
            ),
        ] {
            assert_eq!(parse_url(url).unwrap_err(), reason);
        }
        let r = Route {
            name: "r".into(),
            segments: parse_url("a/:id").unwrap(),
            methods: vec!["GET".into()],
            query: String::new(),
            variables: Vec::new(),
            comment: None,
        };
        let path = |p: &str| p.split('/').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            r.matches(&path("a/7")),
            Some(vec![("id".into(), "7".into())])
        );
        assert_eq!(r.matches(&path("b/7")), None);
        assert_eq!(r.matches(&path("a/7/x")), None);
    }

    #[test]
    fn ambiguity_needs_an_overlapping_url_and_a_shared_method() {
        let mut md = Metadata::default();
        md.rest_endpoints = vec![
            endpoint("simple", "simple", &["GET"]),
            endpoint("post", "other", &["POST"]),
            endpoint("deep", "a/:b", &["GET"]),
        ];
        let names = |v: Vec<Json>| {
            v.iter()
                .map(|e| e["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(ambiguous(&md, &endpoint("new", ":x", &["get"]))),
            ["new", "simple"]
        );
        assert!(ambiguous(&md, &endpoint("new", "fresh", &["GET"])).is_empty());
        assert!(ambiguous(&md, &endpoint("new", ":x/:y/:z", &["GET"])).is_empty());
        assert_eq!(
            names(ambiguous(&md, &endpoint("new", "a/c", &["GET", "PUT"]))),
            ["deep", "new"]
        );
    }
}
