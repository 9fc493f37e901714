//! Routing: one function from a [`Request`] to a [`Response`], Hasura's routes and statuses.
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/graphql`, `/v1beta1/relay` | GraphQL; every error with HTTP 200 (Hasura's `allMod200`) |
//! | `POST /v1alpha1/graphql` | GraphQL; errors keep their status |
//! | `POST /v1/query`, `/v2/query` with `select`/`count`/`insert`/`update`/`delete` | any role → [`crate::dataops`] |
//! | `POST /v1/metadata`, `/v1/query`, `/v2/query` | admin only → the metadata crate |
//! | `GET /healthz` | `200 OK` |
//! | `GET /v1/version` | `{"version","server_type"}` |
//! | `GET /console[/…]` | the GraphiQL page when the console is enabled |
//! | `OPTIONS *` | CORS preflight |
//! | anything else | `404 resource does not exist` |
use graphedge_core::Session;
use serde_json::Value as Json;

use crate::auth::{authenticate_with, header};
use crate::error::EdgeError;
use crate::graphql::{self, GqlBody, GqlRequest};
use crate::http::{HttpClient, NoHttp};
use crate::limits;
use crate::md::{execute as md_execute, Database, Endpoint};
use crate::{console, Engine, Request, Response};

const JSON_TYPE: &str = "application/json; charset=utf-8";

impl Response {
    /// A response with a body and a content type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }
    pub fn json(status: u16, body: &Json) -> Response {
        Response::new(status, JSON_TYPE, body.to_string())
    }
    pub fn json_text(status: u16, body: String) -> Response {
        Response::new(status, JSON_TYPE, body)
    }
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// Which error rendering and status policy a route uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    /// GraphQL errors, always HTTP 200.
    Graphql200,
    /// GraphQL errors with the error's status.
    Graphql,
    /// `{"path","error","code"}` with the error's status.
    Api,
}

fn error_response(style: Style, e: &EdgeError, include_internal: bool) -> Response {
    match style {
        Style::Graphql200 => Response::json(200, &e.to_graphql_json(include_internal)),
        Style::Graphql => Response::json(e.status, &e.to_graphql_json(include_internal)),
        Style::Api => Response::json(e.status, &e.to_api_json(include_internal)),
    }
}

/// Handles one HTTP request. Never panics on bad input; never holds a lock across `.await`.
/// A host without outbound HTTP: JWT secrets with a `jwk_url` cannot verify tokens (use
/// [`handle_with`]).
pub async fn handle(engine: &Engine, db: &impl Database, req: Request) -> Response {
    handle_with(engine, db, &NoHttp, req).await
}

/// [`handle`] with the host's outbound HTTP, used to fetch the JWK sets of `jwk_url` secrets.
pub async fn handle_with(
    engine: &Engine,
    db: &impl Database,
    http: &impl HttpClient,
    req: Request,
) -> Response {
    let mut resp = route(engine, db, http, &req).await;
    add_cors(&req, &mut resp);
    if let Some(id) = header(&req.headers, "x-request-id") {
        resp.headers.push(("x-request-id".into(), id.to_string()));
    }
    resp
}

async fn route(
    engine: &Engine,
    db: &impl Database,
    http: &impl HttpClient,
    req: &Request,
) -> Response {
    let path = req.path.split(['?', '#']).next().unwrap_or("");
    let method = req.method.to_ascii_uppercase();
    if method == "OPTIONS" {
        return Response {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        };
    }
    match (method.as_str(), path) {
        ("POST", "/v1/graphql") => {
            graphql_route(engine, db, http, req, Style::Graphql200, false).await
        }
        ("POST", "/v1beta1/relay") => {
            graphql_route(engine, db, http, req, Style::Graphql200, true).await
        }
        ("POST", "/v1alpha1/graphql") => {
            graphql_route(engine, db, http, req, Style::Graphql, false).await
        }
        ("GET", "/v1/graphql") | ("GET", "/v1beta1/relay") => {
            // Hasura wires GET to persisted queries, unsupported in its OSS build.
            let e = EdgeError::new(400, "not-supported", "PersistedQueryNotSupported");
            error_response(Style::Graphql200, &e, false)
        }
        ("POST", "/v1/metadata") => {
            metadata_route(engine, db, http, req, Endpoint::V1Metadata).await
        }
        ("POST", "/v1/query") | ("POST", "/v2/query") => {
            let ep = if path == "/v1/query" {
                Endpoint::V1Query
            } else {
                Endpoint::V2Query
            };
            match crate::dataops::route(engine, db, http, req, ep).await {
                Some(r) => r,
                None => metadata_route(engine, db, http, req, ep).await,
            }
        }
        ("GET", "/healthz") | ("HEAD", "/healthz") => {
            Response::new(200, "text/plain; charset=utf-8", "OK")
        }
        ("GET", "/v1/version") => Response::json(
            200,
            &serde_json::json!({"version": env!("CARGO_PKG_VERSION"), "server_type": "graphedge"}),
        ),
        ("GET", "/") if engine.config.enable_console => {
            let mut r = Response::new(302, "text/plain; charset=utf-8", "");
            r.headers.push(("Location".into(), "/console".into()));
            r
        }
        ("GET", p)
            if engine.config.enable_console && (p == "/console" || p.starts_with("/console/")) =>
        {
            Response::new(200, "text/html; charset=utf-8", console::CONSOLE_HTML)
        }
        _ => error_response(Style::Api, &EdgeError::not_found(), false),
    }
}

/// Checks the body size against `GRAPHEDGE_MAX_BODY_BYTES`.
fn check_size(engine: &Engine, req: &Request) -> Result<(), Response> {
    if req.body.len() > engine.config.max_body_bytes {
        return Err(body_too_large(&req.path, engine.config.max_body_bytes));
    }
    Ok(())
}

/// The answer to a body over `limit` bytes sent to `path`: 413 in the route's error shape.
/// Hosts that can refuse before reading the body (natively) answer this too.
pub fn body_too_large(path: &str, limit: usize) -> Response {
    let e = EdgeError::new(
        413,
        "bad-request",
        format!("request body is larger than {limit} bytes"),
    );
    let graphql = matches!(
        path.split(['?', '#']).next(),
        Some("/v1/graphql" | "/v1beta1/relay" | "/v1alpha1/graphql")
    );
    // Status 413 on every route: the body was refused, not executed.
    error_response(if graphql { Style::Graphql } else { Style::Api }, &e, false)
}

async fn graphql_route(
    engine: &Engine,
    db: &impl Database,
    http: &impl HttpClient,
    req: &Request,
    style: Style,
    relay: bool,
) -> Response {
    let session = match authenticate_with(
        &engine.config,
        &req.headers,
        engine.now(),
        &engine.jwks,
        http,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return error_response(style, &e, false),
    };
    let internal = engine.include_internal(&session);
    if let Err(r) = check_size(engine, req) {
        return r;
    }
    let body = match graphql::decode_body(&req.body) {
        Ok(GqlBody::Single(r)) => GqlBody::Single(GqlRequest { relay, ..r }),
        Ok(GqlBody::Batch(rs)) => {
            GqlBody::Batch(rs.into_iter().map(|r| GqlRequest { relay, ..r }).collect())
        }
        Err(e) => return error_response(style, &e, internal),
    };
    // Clone the state's Arc (the lock guard is dropped here, before any await).
    let loaded = engine.loaded();
    // GraphQL statements go to the served source's database.
    let db = &crate::md::On::source(db, loaded.source.as_ref());
    let (operations, batched) = match &body {
        GqlBody::Single(_) => (1, false),
        GqlBody::Batch(rs) => (rs.len(), true),
    };
    let admitted = limits::admit(engine, &loaded, &session, &req.headers, operations, batched);
    if let Err(e) = admitted {
        return error_response(style, &e, internal);
    }
    match body {
        GqlBody::Single(r) => {
            let (status, text) = graphql::run(engine, &loaded, db, &session, &r).await;
            // `/v1/graphql` answers errors with 200 (Hasura's allMod200); `/v1alpha1` keeps them.
            let status = if matches!(style, Style::Graphql) {
                status
            } else {
                200
            };
            Response::json_text(status, text)
        }
        GqlBody::Batch(rs) => {
            let mut out = String::from("[");
            for (i, r) in rs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&graphql::run(engine, &loaded, db, &session, r).await.1);
            }
            out.push(']');
            Response::json_text(200, out)
        }
    }
}

async fn metadata_route(
    engine: &Engine,
    db: &impl Database,
    http: &impl HttpClient,
    req: &Request,
    endpoint: Endpoint,
) -> Response {
    let session: Session = match authenticate_with(
        &engine.config,
        &req.headers,
        engine.now(),
        &engine.jwks,
        http,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return error_response(Style::Api, &e, false),
    };
    if !session.is_admin() {
        let e = EdgeError::new(400, "access-denied", "restricted access : admin only");
        return error_response(Style::Api, &e, false);
    }
    if let Err(r) = check_size(engine, req) {
        return r;
    }
    let body: Json = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(_) => {
            let e = EdgeError::invalid_json("Error in $: Failed reading: not a valid json value");
            return error_response(Style::Api, &e, true);
        }
    };
    let loaded = engine.loaded();
    match md_execute(
        &loaded.md,
        endpoint,
        &body,
        db,
        &engine.config.metadata_config(),
    )
    .await
    {
        Ok((out, new_state)) => {
            if let Some(state) = new_state {
                engine.install(loaded.md.resource_version, state);
            }
            Response::json(200, &out)
        }
        Err(e) => error_response(Style::Api, &EdgeError::from(e), true),
    }
}

/// Hasura's default CORS (`HASURA_GRAPHQL_CORS_DOMAIN=*`): echo the Origin with credentials,
/// or `*` without one; preflights get the allowed methods and the requested headers.
fn add_cors(req: &Request, resp: &mut Response) {
    match header(&req.headers, "origin") {
        Some(origin) => {
            resp.headers
                .push(("Access-Control-Allow-Origin".into(), origin.to_string()));
            resp.headers
                .push(("Access-Control-Allow-Credentials".into(), "true".into()));
            resp.headers.push(("Vary".into(), "Origin".into()));
        }
        None => resp
            .headers
            .push(("Access-Control-Allow-Origin".into(), "*".into())),
    }
    if req.method.eq_ignore_ascii_case("OPTIONS") {
        resp.headers.push((
            "Access-Control-Allow-Methods".into(),
            "GET,POST,PUT,PATCH,DELETE,OPTIONS".into(),
        ));
        let allow_headers = header(&req.headers, "access-control-request-headers")
            .unwrap_or("*")
            .to_string();
        resp.headers
            .push(("Access-Control-Allow-Headers".into(), allow_headers));
        resp.headers
            .push(("Access-Control-Max-Age".into(), "1728000".into()));
    }
}
