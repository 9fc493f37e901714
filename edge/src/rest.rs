//! `/api/rest/<url>`: REST endpoints (`create_rest_endpoint`; the templates and their rules are
//! `graphedge_metadata::rest`). The request's path picks the endpoint; its method must be one
//! of the endpoint's; the query's variables come from the path's `:variables`, the query string
//! and the body (a JSON object's members, or a form's fields). The answer is the query's `data` itself; an error
//! is Hasura's `{"path","error","code"}` with a 4xx status.
//!
//! Variables from the path and the query string are text: a `String` or `ID` variable takes
//! it as it is; any other type takes it as JSON when it parses (numbers, booleans, objects such
//! as GeoJSON) and as a string otherwise (dates, UUIDs).
use serde_json::Value as Json;

use crate::error::EdgeError;
use crate::graphql::{self, GqlRequest};
use crate::handle::{fail, session_of, Style};
use crate::http::HttpClient;
use crate::md::{json_to_value, Database};
use crate::reqlog::RequestLog;
use crate::{Engine, Request, Response};

/// Serves `req`, whose path is `/api/rest/{rest}?{query_string}`.
pub(crate) async fn route(
    engine: &Engine,
    db: &impl Database,
    http: &impl HttpClient,
    req: &Request,
    log: &mut RequestLog,
    (method, rest, query_string): (&str, &str, &str),
) -> Response {
    let loaded = engine.loaded();
    let parts: Result<Vec<String>, EdgeError> = rest
        .split('/')
        .map(|p| graphql::url_decode(p, false))
        .collect();
    let parts = match parts {
        Ok(p) => p,
        Err(e) => return fail(log, Style::Api, &e.at("$"), false),
    };
    let matching: Vec<_> = loaded
        .rest
        .iter()
        .filter_map(|r| r.matches(&parts).map(|vars| (r, vars)))
        .collect();
    let Some((endpoint, path_vars)) = matching
        .iter()
        .find(|(r, _)| r.methods.iter().any(|m| m == method))
    else {
        let e = match matching.first() {
            None => EdgeError::new(404, "not-found", "Endpoint not found"),
            Some((r, _)) => EdgeError::new(
                405,
                "method-not-allowed",
                format!("Allowed methods: {}", r.methods.join(", ")),
            ),
        };
        return fail(log, Style::Api, &e.at("$"), false);
    };
    let session = match session_of(engine, http, req, log, Style::Api).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let internal = engine.include_internal(&session);
    let variables = match variables(&endpoint.variables, req, query_string, path_vars) {
        Ok(v) => v,
        Err(e) => return fail(log, Style::Api, &e, internal),
    };
    let gql = GqlRequest {
        query: endpoint.query.clone(),
        operation_name: None,
        variables,
        relay: false,
    };
    log.mode = "single";
    let db = &crate::md::On::source(db, loaded.source.as_ref());
    let outbound = crate::actions::Outbound {
        http,
        client_headers: &req.headers,
        query: "",
    };
    match graphql::execute(engine, &loaded, db, &session, &gql, &outbound, log).await {
        Ok(data) => {
            let mut resp = Response::json_text(200, data);
            if let Some(served) = log.cache.take() {
                served.apply(&mut resp);
            }
            resp
        }
        Err(mut e) => {
            // GraphQL answers its errors with 200; REST with a client error.
            if e.status < 400 {
                e.status = 400;
            }
            fail(log, Style::Api, &e, internal)
        }
    }
}

/// The query's variables: the JSON body's members, then the query string's, then the path's.
fn variables(
    types: &[(String, String)],
    req: &Request,
    query_string: &str,
    path_vars: &[(String, String)],
) -> Result<Vec<(String, graphedge_core::Value)>, EdgeError> {
    let mut out: Vec<(String, Json)> = Vec::new();
    let mut set = |name: String, v: Json| match out.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = v,
        None => out.push((name, v)),
    };
    let text = |name: &str, value: String| {
        let stringly = types
            .iter()
            .find(|(n, _)| n == name)
            .is_none_or(|(_, base)| matches!(base.as_str(), "String" | "ID"));
        if stringly {
            Json::String(value)
        } else {
            serde_json::from_str(&value).unwrap_or(Json::String(value))
        }
    };
    let form = crate::auth::header(&req.headers, "content-type")
        .is_some_and(|t| t.contains("x-www-form-urlencoded"));
    let body = std::str::from_utf8(&req.body).unwrap_or("");
    if form {
        // A form body: text values, as in the query string.
        for (k, v) in graphql::form_pairs(body)? {
            let v = text(&k, v);
            set(k, v);
        }
    } else if !body.trim().is_empty() {
        // A JSON object's members; any other body carries no variables.
        if let Ok(Json::Object(m)) = serde_json::from_str::<Json>(body) {
            m.into_iter().for_each(|(k, v)| set(k, v));
        }
    }
    for (k, v) in graphql::form_pairs(query_string)? {
        let v = text(&k, v);
        set(k, v);
    }
    for (k, v) in path_vars {
        let v = text(k, v.clone());
        set(k.clone(), v);
    }
    Ok(out
        .iter()
        .map(|(k, v)| (k.clone(), json_to_value(v)))
        .collect())
}
