//! graphedge as a Spin / wasi:http component: turns the incoming request into a
//! [`graphedge_edge::Request`], hands it to the instance's [`EdgeApp`], and turns the answer back.
//!
//! Configuration comes from the component's environment (`spin.toml` `[component.*.environment]`
//! or `wasmtime serve --env`): Hasura's variable names, `HASURA_GRAPHQL_DATABASE_URL` and
//! `GRAPHEDGE_SQL_ENDPOINT` (the Neon-protocol `/sql` URL). Spin and `wasmtime serve` create an
//! instance per request, so every request is a cold start: one catalog read, then the query.
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use graphedge_edge::app::EdgeApp;
use graphedge_edge::http::{HttpClient, HttpRequest, HttpResponse};
use graphedge_edge::app::neon_from_env;
use graphedge_edge::Clock;
use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;

static APP: OnceLock<Result<EdgeApp, String>> = OnceLock::new();

struct WasiClock;

impl Clock for WasiClock {
    fn now_unix(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

fn method(m: &str) -> Method {
    match m.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    }
}

fn method_name(m: &Method) -> String {
    match m {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Patch => "PATCH".into(),
        Method::Options => "OPTIONS".into(),
        Method::Connect => "CONNECT".into(),
        Method::Trace => "TRACE".into(),
        Method::Other(o) => o.clone(),
    }
}

/// Outbound HTTP through wasi:http.
struct WasiHttp;

impl HttpClient for WasiHttp {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let mut builder = Request::builder();
        builder.method(method(&req.method)).uri(req.url.as_str());
        for (k, v) in &req.headers {
            builder.header(k.as_str(), v.as_str());
        }
        let out = builder.body(req.body).build();
        let resp: Response = spin_sdk::http::send(out)
            .await
            .map_err(|e| format!("{}: {e}", req.url))?;
        Ok(HttpResponse {
            status: *resp.status(),
            headers: resp
                .headers()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect(),
            body: resp.into_body(),
        })
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn json_error(status: u16, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{"message": message, "extensions": {"path": "$", "code": "unexpected"}}]
    });
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_string())
        .build()
}

#[http_component]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let app = match APP.get_or_init(|| EdgeApp::from_env(env, Arc::new(WasiClock))) {
        Ok(app) => app,
        Err(e) => return Ok(json_error(500, &format!("invalid configuration: {e}"))),
    };
    let db = match neon_from_env(env, WasiHttp) {
        Ok(db) => db,
        Err(e) => return Ok(json_error(500, &format!("invalid configuration: {e}"))),
    };
    let path = match req.query() {
        "" => req.path().to_string(),
        q => format!("{}?{q}", req.path()),
    };
    let request = graphedge_edge::Request {
        method: method_name(req.method()),
        path,
        headers: req
            .headers()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: req.into_body(),
    };
    let resp = app.handle(&db, &WasiHttp, request).await;
    let mut builder = Response::builder();
    builder.status(resp.status);
    for (k, v) in &resp.headers {
        builder.header(k.as_str(), v.as_str());
    }
    Ok(builder.body(resp.body).build())
}
