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
    first_of_each_name, forwarded_client_headers, http_exception, resolve_templates, send,
    trace_headers, Outbound,
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
    Ok((url, first_of_each_name(all)))
}

/// The value of a remote root field (JSON text).
pub(crate) async fn run_call(
    engine: &Engine,
    loaded: &Loaded,
    session: &Session,
    out: &Outbound<'_, impl HttpClient>,
    call: &RemoteCall,
    variables: &[(String, Value)],
    log: Option<(&mut RequestLog, &crate::graphql::GqlRequest)>,
) -> Result<String, EdgeError> {
    if call.query.is_empty() {
        // A namespace of known `__typename`s only.
        return Ok(shape(call, &Json::Null));
    }
    let document = Document {
        remote: &call.remote,
        query: &call.query,
        variables: &call.variables,
        session_presets: &call.session_presets,
        operation_name: call.operation_name.as_deref(),
    };
    let answer = post(engine, loaded, session, out, &document, variables, log).await?;
    let has_data = answer.get("data").is_some_and(|d| !d.is_null());
    if let Some(errors) = answer
        .get("errors")
        .filter(|e| !e.is_null())
        .filter(|_| !(has_data && engine.config.remote_prioritize_data))
    {
        let mut e = remote_error("Errors from remote server");
        e.errors = Some(errors.clone());
        return Err(e);
    }
    let mut data = answer
        .get("data")
        .cloned()
        .ok_or_else(|| remote_error("\"data\" field not found in remote response"))?;
    for path in &call.typename_paths {
        rename_types(&mut data, path, &call.type_renames);
    }
    for phantom in &call.phantoms {
        put_key(&mut data, &phantom.objects, phantom);
    }
    Ok(shape(call, &data))
}

/// In every object at `path` (through lists) of `value`: the relationship's key from its
/// phantom fields (null when one is null), the phantom fields removed.
fn put_key(value: &mut Json, path: &[String], phantom: &graphedge_core::PhantomKey) {
    match value {
        Json::Array(items) => {
            for item in items {
                put_key(item, path, phantom);
            }
        }
        Json::Object(object) => match path.split_first() {
            Some((first, rest)) => {
                if let Some(v) = object.get_mut(first) {
                    put_key(v, rest, phantom);
                }
            }
            None => {
                let values: Vec<Json> = phantom
                    .fields
                    .iter()
                    .map(|f| object.shift_remove(f).unwrap_or(Json::Null))
                    .collect();
                let key = if values.iter().any(Json::is_null) {
                    Json::Null
                } else {
                    Json::Array(values)
                };
                object.insert(phantom.key.clone(), key);
            }
        },
        _ => {}
    }
}

/// The values of a relationship to a remote schema for `keys` (each the row's join column
/// values), in order: ONE call with a field `f<i>` per key; each value is `data.f<i>` followed
/// along the relationship's path (through lists). The remote's errors are Hasura's "Errors
/// from remote server" with them in `extensions.internal`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_join(
    engine: &Engine,
    loaded: &Loaded,
    session: &Session,
    out: &Outbound<'_, impl HttpClient>,
    join: &graphedge_core::RemoteSchemaJoin,
    keys: &[Vec<Value>],
    variables: &[(String, Value)],
    log: Option<(&mut RequestLog, &crate::graphql::GqlRequest)>,
) -> Result<Vec<Box<serde_json::value::RawValue>>, EdgeError> {
    let query = join.document(keys)?;
    let document = Document {
        remote: &join.remote,
        query: &query,
        variables: &join.variables,
        session_presets: &join.session_presets,
        operation_name: None,
    };
    let answer = post(engine, loaded, session, out, &document, variables, log).await?;
    if let Some(errors) = answer.get("errors").filter(|e| !e.is_null()) {
        return Err(
            remote_error("Errors from remote server").with_internal(json!({ "errors": errors }))
        );
    }
    let data = answer
        .get("data")
        .ok_or_else(|| remote_error("\"data\" field not found in remote response"))?;
    let names: Vec<&str> = join
        .fields
        .iter()
        .skip(1)
        .map(|(n, _)| n.as_str())
        .collect();
    (0..keys.len())
        .map(|i| {
            let mut v = data
                .get(format!("f{i}"))
                .map_or(Json::Null, |v| follow(v, &names));
            for path in &join.typename_paths {
                rename_types(&mut v, path, &join.type_renames);
            }
            serde_json::value::RawValue::from_string(v.to_string())
                .map_err(|_| remote_error("Invalid response from remote server"))
        })
        .collect()
}

/// `value` followed along `names` (through lists).
fn follow(value: &Json, names: &[&str]) -> Json {
    let Some((first, rest)) = names.split_first() else {
        return value.clone();
    };
    match value {
        Json::Array(items) => Json::Array(items.iter().map(|i| follow(i, names)).collect()),
        Json::Object(o) => o.get(*first).map_or(Json::Null, |v| follow(v, rest)),
        _ => Json::Null,
    }
}

/// One document for a remote.
struct Document<'a> {
    remote: &'a str,
    query: &'a str,
    variables: &'a [String],
    session_presets: &'a [graphedge_core::SessionPreset],
    operation_name: Option<&'a str>,
}

/// POSTs a document to its remote (Hasura's headers, timeout, `Set-Cookie`) and answers the
/// response's JSON.
async fn post(
    engine: &Engine,
    loaded: &Loaded,
    session: &Session,
    out: &Outbound<'_, impl HttpClient>,
    doc: &Document<'_>,
    variables: &[(String, Value)],
    mut log: Option<(&mut RequestLog, &crate::graphql::GqlRequest)>,
) -> Result<Json, EdgeError> {
    let remote = loaded
        .md
        .schema
        .remote_schemas
        .iter()
        .find(|r| r.name == doc.remote)
        .ok_or_else(|| remote_error(format!("remote schema {:?} not found", doc.remote)))?;
    let (url, headers) = target(engine, remote, Some(session), out.client_headers)?;
    let mut vars = serde_json::Map::new();
    for name in doc.variables {
        if let Some((_, v)) = variables.iter().find(|(n, _)| n == name) {
            vars.insert(name.clone(), value_json(v));
        }
    }
    for preset in doc.session_presets {
        let text = graphedge_core::remote_schemas::session_preset_json(session, preset)?;
        let value = serde_json::from_str(&text).unwrap_or(Json::String(text));
        vars.insert(preset.variable.clone(), value);
    }
    let mut body = json!({"query": doc.query, "variables": Json::Object(vars)});
    if let Some(name) = doc.operation_name {
        body["operationName"] = Json::String(name.to_string());
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
    serde_json::from_slice(&response.body).map_err(|_| {
        remote_error("Invalid response from remote server").with_internal(json!({
            "status": response.status,
            "body": String::from_utf8_lossy(&response.body),
        }))
    })
}

/// The field's value (JSON text) from the remote's `data`: `data.<key>`, or the namespace's
/// object of its keys.
fn shape(call: &RemoteCall, data: &Json) -> String {
    match &call.namespace {
        None => data
            .get(&call.key)
            .map_or_else(|| "null".to_string(), Json::to_string),
        Some(entries) => {
            let mut object = serde_json::Map::new();
            for (key, known) in entries {
                let value = match known {
                    Some(name) => Json::String(name.clone()),
                    None => data.get(key).cloned().unwrap_or(Json::Null),
                };
                object.insert(key.clone(), value);
            }
            Json::Object(object).to_string()
        }
    }
}

/// Renames the type names (`renames`: the remote's → the client's) found at the response
/// path `path` of `value`, through lists.
fn rename_types(value: &mut Json, path: &[String], renames: &[(String, String)]) {
    match value {
        Json::Array(items) => {
            for item in items {
                rename_types(item, path, renames);
            }
        }
        Json::Object(object) => {
            let Some((first, rest)) = path.split_first() else {
                return;
            };
            let Some(v) = object.get_mut(first) else {
                return;
            };
            if rest.is_empty() {
                if let Json::String(name) = v {
                    if let Some((_, to)) = renames.iter().find(|(from, _)| from == name) {
                        *name = to.clone();
                    }
                }
            } else {
                rename_types(v, rest, renames);
            }
        }
        _ => {}
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn call(namespace: Option<Vec<(String, Option<String>)>>) -> RemoteCall {
        RemoteCall {
            remote: "r".into(),
            key: "h".into(),
            query: "query { h: hero { __typename t: __typename d { __typename } } }".into(),
            variables: vec![],
            operation_name: None,
            namespace,
            typename_paths: vec![
                vec!["h".into(), "__typename".into()],
                vec!["h".into(), "t".into()],
                vec!["h".into(), "d".into(), "__typename".into()],
            ],
            type_renames: vec![("Droid".into(), "Android".into())],
            session_presets: vec![],
            phantoms: vec![],
            joins: vec![],
        }
    }

    #[test]
    fn typenames_renamed_along_their_paths_through_lists() {
        let c = call(None);
        let mut data = json!({"h": [
            {"__typename": "Droid", "t": "Droid", "d": [{"__typename": "Droid"}, null], "x": "Droid"},
            {"__typename": "Human", "t": "Human", "d": null}
        ]});
        for p in &c.typename_paths {
            rename_types(&mut data, p, &c.type_renames);
        }
        assert_eq!(
            data,
            json!({"h": [
                {"__typename": "Android", "t": "Android", "d": [{"__typename": "Android"}, null], "x": "Droid"},
                {"__typename": "Human", "t": "Human", "d": null}
            ]})
        );
        assert_eq!(shape(&c, &json!({"h": 1})), "1");
    }

    #[test]
    fn namespace_object_in_order_with_known_typenames() {
        let c = call(Some(vec![
            ("__typename".into(), Some("fooQuery".into())),
            ("h".into(), None),
            ("missing".into(), None),
        ]));
        assert_eq!(
            shape(&c, &json!({"h": {"id": 1}})),
            r#"{"__typename":"fooQuery","h":{"id":1},"missing":null}"#
        );
    }
}
