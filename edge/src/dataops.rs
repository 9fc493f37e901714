//! Hasura's data operations on `/v1/query` and `/v2/query`: `select`, `count`, `insert`,
//! `update`, `delete`, alone or inside `bulk`, for admin and for any role (the session's, from
//! the admin secret with `x-hasura-role`, a JWT or the webhook).
//!
//! Each operation is compiled by core ([`graphedge_core::compile_data`]: the GraphQL compiler,
//! so the role's permissions apply exactly as on `/v1/graphql`) and run like a GraphQL plan
//! ([`crate::graphql::run_plan`]: one statement, or one transaction with the session in
//! `hasura.user` for event triggers). A body without a data operation is the metadata crate's.
//! A `bulk` mixing data and metadata operations runs them in order, each on its own
//! (metadata operations stay admin-only); the first error answers the request.
use graphedge_core::{compile_data, Session, DATA_OPERATIONS};
use serde_json::Value as Json;

use crate::auth::authenticate_request;
use crate::error::EdgeError;
use crate::http::HttpClient;
use crate::md::{execute as md_execute, json_to_value, Database, Endpoint};
use crate::{Engine, Request, Response};

fn is_data_op(op: &Json) -> bool {
    op.get("type")
        .and_then(Json::as_str)
        .is_some_and(|t| DATA_OPERATIONS.contains(&t))
}

/// Whether the body is (or is a `bulk` holding) a data operation.
fn has_data_op(body: &Json) -> bool {
    if is_data_op(body) {
        return true;
    }
    body.get("type").and_then(Json::as_str) == Some("bulk")
        && body
            .get("args")
            .and_then(Json::as_array)
            .is_some_and(|items| items.iter().any(is_data_op))
}

fn api_error(e: &EdgeError, internal: bool) -> Response {
    Response::json(e.status, &e.to_api_json(internal))
}

/// Answers a `/v1/query` or `/v2/query` request that holds a data operation; `None` leaves the
/// request to the metadata route.
pub(crate) async fn route(
    engine: &Engine,
    db: &impl Database,
    http: &impl HttpClient,
    req: &Request,
    endpoint: Endpoint,
) -> Option<Response> {
    if req.body.len() > engine.config.max_body_bytes {
        return None; // the metadata route refuses it
    }
    let body: Json = serde_json::from_slice(&req.body).ok()?;
    if !has_data_op(&body) {
        return None;
    }
    let (session, set_cookies) = match authenticate_request(engine, req, http).await {
        Ok(a) => (a.session, a.set_cookies),
        Err(e) => return Some(api_error(&e, false)),
    };
    let internal = engine.include_internal(&session);
    let out = if is_data_op(&body) {
        run_op(engine, db, &session, &body).await
    } else {
        bulk(engine, db, &session, &body, endpoint).await
    };
    let mut resp = match out {
        Ok(text) => Response::json_text(200, text),
        Err(e) => api_error(&e, internal),
    };
    resp.headers
        .extend(set_cookies.into_iter().map(|c| ("Set-Cookie".into(), c)));
    Some(resp)
}

/// One data operation `{type, args}`; the answer's JSON text.
async fn run_op(
    engine: &Engine,
    db: &impl Database,
    session: &Session,
    op: &Json,
) -> Result<String, EdgeError> {
    let kind = op.get("type").and_then(Json::as_str).unwrap_or_default();
    let args = json_to_value(op.get("args").unwrap_or(&Json::Null));
    let loaded = engine.loaded();
    let plan = compile_data(
        &loaded.md.schema,
        session,
        kind,
        &args,
        &engine.core_options(false),
    )?;
    // Like GraphQL statements, data operations go to the served source's database.
    let db = &crate::md::On::source(db, loaded.source.as_ref());
    let outbound = crate::actions::Outbound {
        http: &crate::http::NoHttp,
        client_headers: &[],
        query: "",
    };
    crate::graphql::run_plan(engine, &loaded, db, session, &plan, &[], &outbound, None).await
}

/// `bulk`: every operation in order; the answers as an array.
async fn bulk(
    engine: &Engine,
    db: &impl Database,
    session: &Session,
    body: &Json,
    endpoint: Endpoint,
) -> Result<String, EdgeError> {
    let items = body.get("args").and_then(Json::as_array).cloned();
    let mut out = String::from("[");
    for (i, item) in items.unwrap_or_default().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if is_data_op(item) {
            out.push_str(&run_op(engine, db, session, item).await?);
            continue;
        }
        if !session.is_admin() {
            return Err(EdgeError::new(
                400,
                "access-denied",
                "restricted access : admin only",
            ));
        }
        let loaded = engine.loaded();
        let config = engine.config.metadata_config();
        let (answer, state) = md_execute(&loaded.md, endpoint, item, db, &config).await?;
        if let Some(state) = state {
            engine.install(loaded.md.resource_version, state);
        }
        out.push_str(&answer.to_string());
    }
    out.push(']');
    Ok(out)
}
