//! Routing: one function from a [`Request`] to a [`Response`], Hasura's routes and statuses.
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/graphql`, `/v1beta1/relay` | GraphQL; every error with HTTP 200 (Hasura's `allMod200`) |
//! | `POST /v1alpha1/graphql` | GraphQL; errors keep their status |
//! | `POST /v1/query`, `/v2/query` with `select`/`count`/`insert`/`update`/`delete` | any role → [`crate::dataops`] |
//! | `POST /v1/metadata`, `/v1/query`, `/v2/query` | admin only → the metadata crate |
//! | `POST /v1/graphql/explain`, `/v1alpha1/graphql/explain` | admin only → [`crate::ops::explain`] |
//! | `GET /healthz`, `/hasura/healthz` | `OK` / `WARN: …` / `ERROR…` ([`crate::ops::healthz`]) |
//! | `GET /v1/version` | `{"version","server_type"}` |
//! | `GET /v1alpha1/config` | admin only → [`crate::ops::config_json`] |
//! | `GET /dev/*` | admin only → [`crate::ops::dev`] |
//! | `GET /console[/…]`, `/favicon.ico` | the console page and its assets when the console is enabled |
//! | `OPTIONS` from an allowed origin | CORS preflight ([`crate::cors`]) |
//! | a path of a disabled API (`HASURA_GRAPHQL_ENABLED_APIS`), anything else | `404 resource does not exist` |
use graphedge_core::Session;
use serde_json::Value as Json;

use crate::auth::{authenticate_request, header};
use crate::error::EdgeError;
use crate::graphql::{self, GqlBody, GqlRequest};
use crate::http::{HttpClient, NoHttp};
use crate::limits;
use crate::md::{Database, Endpoint};
use crate::ops::{self, Api};
use crate::reqlog::RequestLog;
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
pub(crate) enum Style {
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
    handle_logged(engine, db, http, req).await.0
}

/// [`handle_with`], also returning what Hasura's `http-log` / `query-log` lines need of the
/// request (see [`crate::reqlog`]); the host writes the lines. CORS headers, the echoed
/// `x-request-id` and gzip (when the client accepts it, for successful API answers) are added
/// here.
pub async fn handle_logged(
    engine: &Engine,
    db: &impl Database,
    http: &impl HttpClient,
    req: Request,
) -> (Response, RequestLog) {
    let ops = &engine.config.ops;
    let request_id = header(&req.headers, "x-request-id");
    let mut log = RequestLog::new(&ops.log, request_id);
    log.trace = engine.tracing();
    if log.trace {
        log.traceparent = header(&req.headers, "traceparent").map(str::to_string);
    }
    let mut resp = match ops.cors.preflight(&req) {
        Some(r) => r,
        None => {
            let mut r = route(engine, db, http, &req, &mut log).await;
            ops.cors.add_headers(&req, &mut r);
            r
        }
    };
    if log.error.is_some() && log.parsed.is_none() && log.record_sql {
        log.raw_body = Some(String::from_utf8_lossy(&req.body).into_owned());
    }
    if ops.compress && compressible(&req, &resp, &log) {
        let size = resp.body.len();
        if crate::compress::maybe_gzip(&req.headers, &mut resp) {
            log.uncompressed_size = Some(size);
        }
    }
    if let Some(id) = request_id {
        resp.headers.push(("x-request-id".into(), id.to_string()));
    }
    for cookie in log.set_cookies.drain(..) {
        resp.headers.push(("Set-Cookie".into(), cookie));
    }
    crate::metrics::global().http_bytes(req.body.len(), resp.body.len());
    (resp, log)
}

/// Hasura compresses the successful answers of its API handlers only (not errors, not
/// `/healthz`, `/v1/version` or the console page).
fn compressible(req: &Request, resp: &Response, log: &RequestLog) -> bool {
    let path = req.path.split(['?', '#']).next().unwrap_or("");
    resp.status == 200
        && log.error.is_none()
        && path != "/v1/version"
        && resp
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
}

/// Renders `e` in the route's style and records it for the log.
pub(crate) fn fail(
    log: &mut RequestLog,
    style: Style,
    e: &EdgeError,
    include_internal: bool,
) -> Response {
    log.error = Some(e.to_api_json(false));
    error_response(style, e, include_internal)
}

/// The rarer routes' futures are boxed, so that a GraphQL request's future (moved as it is
/// wrapped, then boxed by the host) is as small as its own path needs.
async fn route(
    engine: &Engine,
    db: &impl Database,
    http: &impl HttpClient,
    req: &Request,
    log: &mut RequestLog,
) -> Response {
    let (path, query) = match req.path.split('#').next().unwrap_or("").split_once('?') {
        Some((p, q)) => (p, q),
        None => (req.path.split('#').next().unwrap_or(""), ""),
    };
    let method = req.method.to_ascii_uppercase();
    if let Some(api) = Api::of_path(path) {
        if !engine.config.ops.apis.has(api) {
            return fail(log, Style::Api, &EdgeError::not_found(), false);
        }
    }
    if let Some(rest) = path.strip_prefix("/api/rest/") {
        return Box::pin(crate::rest::route(
            engine,
            db,
            http,
            req,
            log,
            (&method, rest, query),
        ))
        .await;
    }
    match (method.as_str(), path) {
        ("POST", "/v1/graphql") => {
            let body = graphql::decode_body(&req.body);
            graphql_route(engine, db, http, req, log, Style::Graphql200, false, body).await
        }
        ("POST", "/v1beta1/relay") => {
            let body = graphql::decode_body(&req.body);
            graphql_route(engine, db, http, req, log, Style::Graphql200, true, body).await
        }
        ("POST", "/v1alpha1/graphql") => {
            let body = graphql::decode_body(&req.body);
            graphql_route(engine, db, http, req, log, Style::Graphql, false, body).await
        }
        ("GET", "/v1/graphql") | ("GET", "/v1beta1/relay") => {
            let relay = path == "/v1beta1/relay";
            match graphql::decode_get(query) {
                Ok(Some(r)) => {
                    let body = Ok(GqlBody::Single(r));
                    graphql_route(engine, db, http, req, log, Style::Graphql200, relay, body).await
                }
                // Hasura wires a GET without a query to persisted queries, unsupported in its
                // OSS build.
                Ok(None) => {
                    let e = EdgeError::new(400, "not-supported", "PersistedQueryNotSupported");
                    fail(log, Style::Graphql200, &e, false)
                }
                Err(e) => fail(log, Style::Graphql200, &e, false),
            }
        }
        ("GET", "/api/swagger/json") => Box::pin(openapi_route(engine, http, req, log)).await,
        ("GET", "/v1/metrics") => Box::pin(metrics_route(engine, http, req, log)).await,
        ("POST", "/v1/metadata") => {
            Box::pin(metadata_route(
                engine,
                db,
                http,
                req,
                log,
                Endpoint::V1Metadata,
            ))
            .await
        }
        ("POST", "/v1/query") | ("POST", "/v2/query") => {
            let ep = if path == "/v1/query" {
                Endpoint::V1Query
            } else {
                Endpoint::V2Query
            };
            match Box::pin(crate::dataops::route(engine, db, http, req, ep)).await {
                Some(r) => r,
                None => Box::pin(metadata_route(engine, db, http, req, log, ep)).await,
            }
        }
        ("POST", "/v1/graphql/explain") | ("POST", "/v1alpha1/graphql/explain") => {
            Box::pin(explain_route(engine, db, http, req, log)).await
        }
        ("POST", "/v1alpha1/pg_dump") => Box::pin(pg_dump_route(engine, db, http, req, log)).await,
        ("GET", "/healthz") | ("HEAD", "/healthz") | ("GET", "/hasura/healthz") => {
            Box::pin(ops::healthz(engine, db, query)).await
        }
        ("GET", "/v1/version") => Response::json(
            200,
            &serde_json::json!({"version": ops::version(), "server_type": "ce"}),
        ),
        ("GET", "/v1alpha1/config") => {
            admin_get(engine, http, req, log, |_| {
                Some(ops::config_json(&engine.config))
            })
            .await
        }
        ("GET", p) if p.starts_with("/dev/") && ops::dev(engine, p).is_some() => {
            admin_get(engine, http, req, log, |p| ops::dev(engine, p)).await
        }
        ("GET", "/")
            if engine.config.enable_console && engine.config.ops.apis.has(Api::Metadata) =>
        {
            let mut r = Response::new(302, "text/plain; charset=utf-8", "");
            r.headers.push(("Location".into(), "/console".into()));
            r
        }
        ("GET", p) if engine.config.enable_console && console::is_console_path(p) => {
            match console::serve(p, &req.headers) {
                Some(r) => r,
                None => fail(log, Style::Api, &EdgeError::not_found(), false),
            }
        }
        _ => fail(log, Style::Api, &EdgeError::not_found(), false),
    }
}

/// Authenticates `req` and returns the session, or the error answer (recorded for the log).
pub(crate) async fn session_of(
    engine: &Engine,
    http: &impl HttpClient,
    req: &Request,
    log: &mut RequestLog,
    style: Style,
) -> Result<Session, Response> {
    let started = log.trace.then(|| engine.monotonic()).flatten();
    let authed = authenticate_request(engine, req, http).await;
    if let Some(hook) = engine
        .config
        .auth_hook
        .as_ref()
        .filter(|_| started.is_some())
    {
        let attributes = vec![("http.url", hook.url.clone())];
        log.span(engine.clock.as_deref(), "auth webhook", started, attributes);
    }
    match authed {
        Ok(authed) => {
            log.session(&authed.session);
            log.set_cookies = authed.set_cookies;
            Ok(authed.session)
        }
        Err(e) => Err(fail(log, style, &e, false)),
    }
}

/// Hasura's `onlyAdmin`.
fn only_admin(session: &Session, log: &mut RequestLog) -> Result<(), Response> {
    if session.is_admin() {
        return Ok(());
    }
    let e = EdgeError::new(
        400,
        "access-denied",
        "You have to be an admin to access this endpoint",
    );
    Err(fail(log, Style::Api, &e, false))
}

/// An admin-only GET answered with `answer(path)`'s JSON.
async fn admin_get(
    engine: &Engine,
    http: &impl HttpClient,
    req: &Request,
    log: &mut RequestLog,
    answer: impl Fn(&str) -> Option<serde_json::Value>,
) -> Response {
    let session = match session_of(engine, http, req, log, Style::Api).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = only_admin(&session, log) {
        return r;
    }
    let path = req.path.split(['?', '#']).next().unwrap_or("");
    match answer(path) {
        Some(v) => Response::json(200, &v),
        None => fail(log, Style::Api, &EdgeError::not_found(), false),
    }
}

async fn explain_route(
    engine: &Engine,
    db: &impl Database,
    http: &impl HttpClient,
    req: &Request,
    log: &mut RequestLog,
) -> Response {
    let (session, body) = match admin_request(engine, http, req, log).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match ops::explain::explain(engine, db, &body).await {
        Ok(v) => Response::json(200, &v),
        Err(e) => fail(log, Style::Api, &e, engine.include_internal(&session)),
    }
}

async fn pg_dump_route(
    engine: &Engine,
    db: &impl Database,
    http: &impl HttpClient,
    req: &Request,
    log: &mut RequestLog,
) -> Response {
    let (session, body) = match admin_request(engine, http, req, log).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match ops::pgdump::pg_dump(engine, db, &body).await {
        Ok(sql) => Response::new(200, "application/sql", sql),
        Err(e) => fail(log, Style::Api, &e, engine.include_internal(&session)),
    }
}

/// [`api_request`] of an admin-only route.
async fn admin_request(
    engine: &Engine,
    http: &impl HttpClient,
    req: &Request,
    log: &mut RequestLog,
) -> Result<(Session, Json), Response> {
    let (session, body) = api_request(engine, http, req, log).await?;
    only_admin(&session, log)?;
    Ok((session, body))
}

/// The first steps of Hasura's JSON API routes: authenticate, bound the body, parse it
/// (recorded for the log).
async fn api_request(
    engine: &Engine,
    http: &impl HttpClient,
    req: &Request,
    log: &mut RequestLog,
) -> Result<(Session, Json), Response> {
    let session = session_of(engine, http, req, log, Style::Api).await?;
    check_size(engine, req)?;
    let body: Json = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(_) => {
            let e = EdgeError::invalid_json("Error in $: Failed reading: not a valid json value");
            return Err(fail(log, Style::Api, &e, true));
        }
    };
    log.request_type = body.get("type").and_then(Json::as_str).map(str::to_string);
    if log.record_sql {
        log.parsed = Some(body.clone());
    }
    Ok((session, body))
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
    log: &mut RequestLog,
    style: Style,
    relay: bool,
    body: Result<GqlBody, EdgeError>,
) -> Response {
    let session = match session_of(engine, http, req, log, style).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let internal = engine.include_internal(&session);
    if let Err(r) = check_size(engine, req) {
        return r;
    }
    let get = req.method.eq_ignore_ascii_case("GET");
    let body = match body {
        Ok(GqlBody::Single(r)) => GqlBody::Single(GqlRequest { relay, ..r }),
        Ok(GqlBody::Batch(rs)) => {
            GqlBody::Batch(rs.into_iter().map(|r| GqlRequest { relay, ..r }).collect())
        }
        Err(e) => return fail(log, style, &e, internal),
    };
    if let GqlBody::Single(r) = &body {
        if get && !graphql::is_query(r) {
            // GraphQL over HTTP: GET runs queries only (a link or a cache must never mutate).
            let e = EdgeError::new(
                405,
                "validation-failed",
                "only queries can be sent with GET; send mutations and subscriptions with POST",
            );
            let mut r = fail(log, Style::Graphql, &e, internal);
            r.headers.push(("allow".into(), "POST".into()));
            return r;
        }
    }
    if log.record_sql && !get {
        // `query-log` is on: the http-log line carries the request itself.
        log.parsed = serde_json::from_slice(&req.body).ok();
    }
    // Clone the state's Arc (the lock guard is dropped here, before any await).
    let loaded = engine.loaded();
    // GraphQL statements go to the served source's database.
    let db = &crate::md::On::source(db, loaded.source.as_ref());
    let (operations, batched) = match &body {
        GqlBody::Single(_) => (1, false),
        GqlBody::Batch(rs) => (rs.len(), true),
    };
    log.mode = if batched { "batched" } else { "single" };
    let admitted = limits::admit(engine, &loaded, &session, &req.headers, operations, batched);
    if let Err(e) = admitted {
        return fail(log, style, &e, internal);
    }
    let outbound = crate::actions::Outbound {
        http,
        client_headers: &req.headers,
        query: "",
    };
    match body {
        GqlBody::Single(r) => {
            let (status, text) =
                graphql::run(engine, &loaded, db, &session, &r, &outbound, log).await;
            // `/v1/graphql` answers errors with 200 (Hasura's allMod200); `/v1alpha1` keeps them.
            let status = if matches!(style, Style::Graphql) {
                status
            } else {
                200
            };
            let mut resp = Response::json_text(status, text);
            if let Some(served) = log.cache.take().filter(|_| status == 200) {
                served.apply(&mut resp);
            }
            resp
        }
        GqlBody::Batch(rs) => {
            let mut out = String::from("[");
            for (i, r) in rs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let answer = graphql::run(engine, &loaded, db, &session, r, &outbound, log).await;
                out.push_str(&answer.1);
            }
            out.push(']');
            Response::json_text(200, out)
        }
    }
}

/// Hasura's answer to a non-admin on an admin-only route.
fn admin_only(session: &Session, log: &mut RequestLog) -> Result<(), Response> {
    if session.is_admin() {
        return Ok(());
    }
    let e = EdgeError::new(400, "access-denied", "restricted access : admin only");
    Err(fail(log, Style::Api, &e, false))
}

/// `GET /v1/metrics`: the Prometheus text. With `HASURA_GRAPHQL_METRICS_SECRET`, only with
/// `Authorization: Bearer <secret>`; without one, for the admin.
async fn metrics_route(
    engine: &Engine,
    http: &impl HttpClient,
    req: &Request,
    log: &mut RequestLog,
) -> Response {
    match &engine.config.ops.metrics_secret {
        Some(secret) => {
            let given = header(&req.headers, "authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            let secrets = std::slice::from_ref(secret);
            if !given.is_some_and(|g| crate::auth::admin_secret_matches(secrets, g)) {
                let e = EdgeError::new(401, "access-denied", "invalid metrics secret");
                return fail(log, Style::Api, &e, false);
            }
        }
        None => {
            let session = match session_of(engine, http, req, log, Style::Api).await {
                Ok(s) => s,
                Err(r) => return r,
            };
            if let Err(r) = admin_only(&session, log) {
                return r;
            }
        }
    }
    let gauges = engine
        .metrics_gauges
        .as_ref()
        .map(|g| g())
        .unwrap_or_default();
    let mut resp = Response::json_text(200, crate::metrics::global().render(&gauges));
    resp.headers = vec![(
        "content-type".into(),
        "text/plain; version=0.0.4; charset=utf-8".into(),
    )];
    resp
}

/// `GET /api/swagger/json` (admin): the OpenAPI document of the REST endpoints.
async fn openapi_route(
    engine: &Engine,
    http: &impl HttpClient,
    req: &Request,
    log: &mut RequestLog,
) -> Response {
    let session = match session_of(engine, http, req, log, Style::Api).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = admin_only(&session, log) {
        return r;
    }
    let loaded = engine.loaded();
    let ts = graphedge_core::introspection::build(
        &loaded.md.schema,
        &session.role,
        &engine.core_options(false),
    );
    Response::json(200, &crate::openapi::document(&loaded.rest, &ts))
}

async fn metadata_route(
    engine: &Engine,
    db: &impl Database,
    http: &impl HttpClient,
    req: &Request,
    log: &mut RequestLog,
    endpoint: Endpoint,
) -> Response {
    let (session, body) = match api_request(engine, http, req, log).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Err(r) = admin_only(&session, log) {
        return r;
    }
    let loaded = engine.loaded();
    let introspector = crate::remote_schemas::HttpIntrospector { engine, http };
    match graphedge_metadata::execute_with(
        &loaded.md,
        endpoint,
        &body,
        db,
        &engine.config.metadata_config(),
        &introspector,
    )
    .await
    {
        Ok((out, new_state)) => {
            if let Some(state) = new_state {
                engine.install(loaded.md.resource_version, state);
                if endpoint == Endpoint::V1Metadata {
                    engine.bump_socket_epoch();
                }
            }
            Response::json(200, &out)
        }
        Err(e) => fail(log, Style::Api, &EdgeError::from(e), true),
    }
}
