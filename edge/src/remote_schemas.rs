//! Remote schema root fields ([`RemoteCall`]): one POST per field to its remote, as Hasura
//! makes it (`GraphQL/RemoteServer.hs` `execRemoteGQ`): `{"query", "variables"}`, the
//! configured headers first, then the session's variables as `x-hasura-*` headers, then (with
//! `forward_client_headers`) the client's headers but the ignored ones and `x-hasura-*`, plus
//! `X-Forwarded-*` — the first of one name wins; the remote's `timeout_seconds`; its
//! `Set-Cookie` to the client. The answer's `data.<key>` is the field's value; `errors` from
//! the remote are the request's errors, verbatim.
use graphedge_core::remote_schemas::{HeaderValue, RemoteSchema, RemoteUrl};
use graphedge_core::{RemoteCall, Session, Value};
use serde_json::{json, Value as Json};

use crate::actions::{
    forwarded_client_headers, http_exception, resolve_templates, send, trace_headers, Outbound,
};
use crate::error::EdgeError;
use crate::http::{HttpClient, HttpRequest};
use crate::reqlog::RequestLog;
use crate::{Engine, Loaded};

fn remote_error(message: impl Into<String>) -> EdgeError {
    EdgeError::new(200, "unexpected", message)
}

/// The URL and headers of a request to `remote` for `session`.
pub(crate) fn target(
    engine: &Engine,
    remote: &RemoteSchema,
    session: Option<&Session>,
    client_headers: &[(String, String)],
) -> Result<(String, Vec<(String, String)>), EdgeError> {
    let env = engine.env();
    let url = match &remote.url {
        RemoteUrl::Url(u) => resolve_templates(u, &*env)?,
        RemoteUrl::FromEnv(var) => {
            env(var).ok_or_else(|| remote_error(format!("environment variable '{var}' not set")))?
        }
    };
    let mut all: Vec<(String, String)> = Vec::new();
    for (name, value) in &remote.headers {
        let v = match value {
            HeaderValue::Value(v) => resolve_templates(v, &*env)?,
            HeaderValue::FromEnv(var) => env(var)
                .ok_or_else(|| remote_error(format!("environment variable '{var}' not set")))?,
        };
        all.push((name.clone(), v));
    }
    if let Some(session) = session {
        if session.var("x-hasura-role").is_none() {
            all.push(("x-hasura-role".into(), session.role.clone()));
        }
        for (k, v) in &session.vars {
            all.push((k.clone(), v.clone()));
        }
    }
    if remote.forward_client_headers {
        all.extend(forwarded_client_headers(client_headers, None));
    }
    all.extend(trace_headers(client_headers));
    all.push(("Content-Type".into(), "application/json".into()));
    all.push((
        "User-Agent".into(),
        format!("hasura-graphql-engine/{}", crate::ops::version()),
    ));
    let mut unique: Vec<(String, String)> = Vec::new();
    for (k, v) in all {
        if !unique.iter().any(|(u, _)| u.eq_ignore_ascii_case(&k)) {
            unique.push((k, v));
        }
    }
    Ok((url, unique))
}

/// The value of a remote root field (JSON text).
pub(crate) async fn run_call(
    engine: &Engine,
    loaded: &Loaded,
    session: &Session,
    out: &Outbound<'_, impl HttpClient>,
    call: &RemoteCall,
    variables: &[(String, Value)],
    mut log: Option<(&mut RequestLog, &crate::graphql::GqlRequest)>,
) -> Result<String, EdgeError> {
    let remote = loaded
        .md
        .schema
        .remote_schemas
        .iter()
        .find(|r| r.name == call.remote)
        .ok_or_else(|| remote_error(format!("remote schema {:?} not found", call.remote)))?;
    let (url, headers) = target(engine, remote, Some(session), out.client_headers)?;
    let mut vars = serde_json::Map::new();
    for name in &call.variables {
        if let Some((_, v)) = variables.iter().find(|(n, _)| n == name) {
            vars.insert(name.clone(), value_json(v));
        }
    }
    let mut body = json!({"query": call.query, "variables": Json::Object(vars)});
    if let Some(name) = &call.operation_name {
        body["operationName"] = Json::String(name.clone());
    }
    let request = HttpRequest {
        method: "POST".into(),
        url: url.clone(),
        headers,
        body: body.to_string().into_bytes(),
        timeout: Some(std::time::Duration::from_secs(remote.timeout_seconds)),
    };
    // The URL as configured: a `{{ENV}}` template is not resolved in the message.
    let configured = match &remote.url {
        RemoteUrl::Url(u) => u.clone(),
        RemoteUrl::FromEnv(_) => url.clone(),
    };
    let response = send(engine, out.http, request, remote.timeout_seconds)
        .await
        .map_err(|e| {
            remote_error(format!(
                "HTTP exception occurred while sending the request to {configured:?}"
            ))
            .with_internal(http_exception(&e))
        })?;
    if let Some((l, _)) = log.as_mut() {
        l.set_cookies.extend(
            response
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
                .map(|(_, v)| v.clone()),
        );
    }
    let answer: Json = serde_json::from_slice(&response.body).map_err(|_| {
        remote_error("Invalid response from remote server").with_internal(json!({
            "status": response.status,
            "body": String::from_utf8_lossy(&response.body),
        }))
    })?;
    if let Some(errors) = answer.get("errors").filter(|e| !e.is_null()) {
        let mut e = remote_error("Errors from remote server");
        e.errors = Some(errors.clone());
        return Err(e);
    }
    let data = answer
        .get("data")
        .ok_or_else(|| remote_error("\"data\" field not found in remote response"))?;
    Ok(data
        .get(&call.key)
        .map_or_else(|| "null".to_string(), Json::to_string))
}

/// A request variable's value as JSON.
fn value_json(v: &Value) -> Json {
    let mut text = String::new();
    graphedge_core::encode::write_json(&mut text, v);
    serde_json::from_str(&text).unwrap_or(Json::Null)
}

/// The metadata API's remote schema introspection through the host's outbound HTTP.
pub(crate) struct HttpIntrospector<'a, H> {
    pub engine: &'a Engine,
    pub http: &'a H,
}

impl<H: HttpClient> graphedge_metadata::Introspector for HttpIntrospector<'_, H> {
    async fn introspect(&self, _name: &str, definition: &Json) -> Result<Json, String> {
        introspect(self.engine, self.http, definition).await
    }
}

/// Sends Hasura's introspection query to the remote a metadata `definition` describes
/// (`url` / `url_from_env`, `headers`, `timeout_seconds`) as admin, and returns the answer's
/// `data`; an error names what failed, as Hasura reports an unreachable remote.
async fn introspect(
    engine: &Engine,
    http: &impl HttpClient,
    definition: &Json,
) -> Result<Json, String> {
    let env = engine.env();
    let url = match (definition.get("url"), definition.get("url_from_env")) {
        (Some(Json::String(u)), _) => resolve_templates(u, &*env).map_err(|e| e.message)?,
        (_, Some(Json::String(var))) => {
            env(var).ok_or_else(|| format!("environment variable '{var}' not set"))?
        }
        _ => return Err("the remote schema has no url".into()),
    };
    let mut headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        (
            "User-Agent".to_string(),
            format!("hasura-graphql-engine/{}", crate::ops::version()),
        ),
    ];
    for h in definition
        .get("headers")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = h.get("name").and_then(Json::as_str) else {
            continue;
        };
        let value = match (h.get("value"), h.get("value_from_env")) {
            (Some(Json::String(v)), _) => resolve_templates(v, &*env).map_err(|e| e.message)?,
            (_, Some(Json::String(var))) => {
                env(var).ok_or_else(|| format!("environment variable '{var}' not set"))?
            }
            _ => continue,
        };
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        headers.push((name.to_string(), value));
    }
    let timeout = definition
        .get("timeout_seconds")
        .and_then(Json::as_u64)
        .unwrap_or(60);
    let request = HttpRequest {
        method: "POST".into(),
        url: url.clone(),
        headers,
        body: graphedge_metadata::introspection_request()
            .to_string()
            .into_bytes(),
        timeout: Some(std::time::Duration::from_secs(timeout)),
    };
    let configured = definition
        .get("url")
        .and_then(Json::as_str)
        .unwrap_or(url.as_str())
        .to_string();
    let response = send(engine, http, request, timeout).await.map_err(|_| {
        format!("HTTP exception occurred while sending the request to {configured:?}")
    })?;
    if !(200..300).contains(&response.status) {
        return Err(format!(
            "introspection of the remote schema at {url:?} failed with status {}",
            response.status
        ));
    }
    let answer: Json = serde_json::from_slice(&response.body)
        .map_err(|e| format!("the remote schema's introspection is not JSON: {e}"))?;
    if let Some(errors) = answer.get("errors").filter(|e| !e.is_null()) {
        return Err(format!(
            "the remote schema's introspection failed: {errors}"
        ));
    }
    answer
        .get("data")
        .cloned()
        .ok_or_else(|| "\"data\" field not found in remote response".to_string())
}
