//! Synchronous actions: the handler call of an action root field ([`ActionCall`]), as Hasura
//! makes it (`GraphQL/Execute/Action.hs`): `POST <handler>` with
//! `{"action":{"name"},"input","session_variables","request_query"}`, the configured headers
//! (`value` with `{{ENV}}` templates, `value_from_env`) and, with `forward_client_headers`,
//! the client's headers but the ignored ones and `x-hasura-*`, plus `X-Forwarded-*`; the
//! action's `timeout`. A 2xx answer is checked against the output type and cut to the
//! selection in core ([`graphedge_core::actions::shape_output`]); relationships to tables are
//! answered like remote relationships (one statement per relationship with every key). A 4xx
//! answer's `message`/`extensions`/`code` become the GraphQL error; anything else is Hasura's
//! `unexpected` error, with the request and response as `internal` details.
use graphedge_core::actions::{Action, HeaderValue};
use graphedge_core::{ActionCall, CallMode, Session, Value};
use serde_json::{json, Value as Json};

use crate::error::EdgeError;
use crate::http::{HttpClient, HttpRequest, HttpResponse};
use crate::md::{json_to_value, Database, Statement, Target};
use crate::reqlog::RequestLog;
use crate::{Engine, Loaded};

/// What an action call needs from the request beyond the plan: outbound HTTP, the client's
/// headers and the GraphQL query text (`request_query`).
pub struct Outbound<'a, H: HttpClient> {
    pub http: &'a H,
    pub client_headers: &'a [(String, String)],
    pub query: &'a str,
}

/// Client headers never forwarded to a handler (Hasura's default `ignored_client_headers`).
const IGNORED: &[&str] = &[
    "Content-Length",
    "Content-MD5",
    "User-Agent",
    "Host",
    "Origin",
    "Referer",
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Accept-Datetime",
    "Cache-Control",
    "Connection",
    "DNT",
    "Content-Type",
];

/// `{{NAME}}` templates of a handler URL or header value, resolved through `env`; an unset
/// variable is an error naming it.
pub(crate) fn resolve_templates(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, EdgeError> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + 2 + len].trim();
        out.push_str(&rest[..start]);
        let value = env(name).ok_or_else(|| {
            EdgeError::new(
                500,
                "unexpected",
                format!("environment variable '{name}' not set"),
            )
        })?;
        out.push_str(&value);
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The client's headers a handler or remote schema is sent (`forward_client_headers`): all but
/// the `ignored` ones (`None`: Hasura's default list) and `x-hasura-*`, plus
/// `X-Forwarded-Host`, `-User-Agent` and `-Origin` from the client's.
pub(crate) fn forwarded_client_headers(
    client: &[(String, String)],
    ignored: Option<&[String]>,
) -> Vec<(String, String)> {
    let ignored: Vec<&str> = match ignored {
        Some(list) => list.iter().map(String::as_str).collect(),
        None => IGNORED.to_vec(),
    };
    let mut out = Vec::new();
    for (k, v) in client {
        let lower = k.to_ascii_lowercase();
        if lower.starts_with("x-hasura-")
            || lower == crate::limits::PEER_IP_HEADER
            || ignored.iter().any(|i| i.eq_ignore_ascii_case(k))
        {
            continue;
        }
        out.push((k.clone(), v.clone()));
    }
    for (from, to) in [
        ("Host", "X-Forwarded-Host"),
        ("User-Agent", "X-Forwarded-User-Agent"),
        ("Origin", "X-Forwarded-Origin"),
    ] {
        if let Some(v) = crate::auth::header(client, from) {
            out.push((to.into(), v.to_string()));
        }
    }
    out
}

/// The W3C trace context of the request (`traceparent`, `tracestate`; the host sets
/// `traceparent` to the request's span when traces are exported), for outbound calls.
pub(crate) fn trace_headers(client: &[(String, String)]) -> Vec<(String, String)> {
    client
        .iter()
        .filter(|(k, _)| {
            k.eq_ignore_ascii_case("traceparent") || k.eq_ignore_ascii_case("tracestate")
        })
        .cloned()
        .collect()
}

/// `headers` with only the first of each name (case-insensitive), in order: Hasura's
/// `uniquesOn fst` for outbound calls.
pub(crate) fn first_of_each_name(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut unique: Vec<(String, String)> = Vec::new();
    for (k, v) in headers {
        if !unique.iter().any(|(u, _)| u.eq_ignore_ascii_case(&k)) {
            unique.push((k, v));
        }
    }
    unique
}

/// The headers sent to the handler: the forwarded client headers first, then Hasura's
/// defaults, then the configured ones; the first of one name wins (Hasura's `uniquesOn fst`).
fn headers(
    action: &Action,
    client: &[(String, String)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<(String, String)>, Vec<(String, String)>), EdgeError> {
    let mut all: Vec<(String, String)> = Vec::new();
    if action.forward_client_headers {
        all.extend(forwarded_client_headers(
            client,
            action.ignored_client_headers.as_deref(),
        ));
    }
    all.push(("Content-Type".into(), "application/json".into()));
    all.push((
        "User-Agent".into(),
        format!("hasura-graphql-engine/{}", crate::ops::version()),
    ));
    all.extend(trace_headers(client));
    let mut configured = Vec::new();
    for (name, value) in &action.headers {
        let v = match value {
            HeaderValue::Value(v) => resolve_templates(v, env)?,
            HeaderValue::FromEnv(var) => env(var).ok_or_else(|| {
                EdgeError::new(
                    500,
                    "unexpected",
                    format!("environment variable '{var}' not set"),
                )
            })?,
        };
        configured.push((name.clone(), v));
    }
    all.extend(configured.iter().cloned());
    Ok((first_of_each_name(all), configured))
}

fn header_list(headers: &[(String, String)]) -> Json {
    Json::Array(
        headers
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect(),
    )
}

/// The body as JSON when it is, else as a string.
fn body_json(body: &[u8]) -> Json {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(body).into_owned()))
}

/// The value of an action root field (JSON text).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_call(
    engine: &Engine,
    loaded: &Loaded,
    db: &impl Database,
    session: &Session,
    out: &Outbound<'_, impl HttpClient>,
    call: &ActionCall,
    variables: &[(String, Value)],
    mut log: Option<(&mut RequestLog, &crate::graphql::GqlRequest)>,
) -> Result<String, EdgeError> {
    let schema = &loaded.md.schema;
    let action = called(schema, call)?;
    let session_json = graphedge_core::encode::session_json(session);
    let value = match call.mode {
        CallMode::AsyncStart => {
            let input = graphedge_core::actions::input_json(schema, call, variables)?;
            return start_async(db, action, &input, &session_json, out.client_headers).await;
        }
        CallMode::AsyncResult => {
            let id = graphedge_core::actions::result_id(call, variables)?;
            let Some(row) = async_result(db, session, action, &id).await? else {
                return Ok("null".into());
            };
            json_to_value(&row)
        }
        CallMode::Sync => {
            let input = graphedge_core::actions::input_json(schema, call, variables)?;
            let cookies = log.as_mut().map(|(l, _)| &mut l.set_cookies);
            let answer = call_handler(
                engine,
                out.http,
                schema,
                action,
                &input,
                &session_json,
                out.client_headers,
                out.query,
                cookies,
            )
            .await?;
            json_to_value(&answer)
        }
    };
    let log = log.as_mut().map(|(l, r)| (&mut **l, *r));
    answer(
        engine, loaded, db, session, out, call, &value, variables, log,
    )
    .await
}

/// The action `call` names.
fn called<'a>(
    schema: &'a graphedge_core::Schema,
    call: &ActionCall,
) -> Result<&'a Action, EdgeError> {
    schema.action(&call.action).ok_or_else(|| {
        EdgeError::new(
            400,
            "validation-failed",
            format!("action '{}' not found", call.action),
        )
    })
}

/// A call's answer `value` cut to its selection, with its relationships to tables.
#[allow(clippy::too_many_arguments)]
async fn answer(
    engine: &Engine,
    loaded: &Loaded,
    db: &impl Database,
    session: &Session,
    out: &Outbound<'_, impl HttpClient>,
    call: &ActionCall,
    value: &Value,
    variables: &[(String, Value)],
    log: Option<(&mut RequestLog, &crate::graphql::GqlRequest)>,
) -> Result<String, EdgeError> {
    let shaped = graphedge_core::actions::select_output(call, value)?;
    // The relationships' paths start at the field's response key.
    crate::remote_join::apply_under_key(
        engine,
        loaded,
        db,
        session,
        &call.key,
        shaped,
        &call.joins,
        variables,
        out,
        log,
    )
    .await
}

/// One poll of an asynchronous action's result subscription (a
/// [`graphedge_core::PlanKind::ActionSubscription`] plan): the `data` object's JSON text, and
/// whether the call has ended (its output or errors are recorded, or there is no such call
/// for the session), after which nothing changes.
pub async fn poll_result(
    engine: &Engine,
    loaded: &Loaded,
    db: &impl Database,
    session: &Session,
    out: &Outbound<'_, impl HttpClient>,
    plan: &graphedge_core::Plan,
    variables: &[(String, Value)],
) -> Result<(String, bool), EdgeError> {
    let graphedge_core::PlanKind::ActionSubscription(call) = &plan.kind else {
        return Err(EdgeError::unexpected(
            "the plan is not an action's result subscription",
        ));
    };
    let action = called(&loaded.md.schema, call)?;
    let id = graphedge_core::actions::result_id(call, variables)?;
    let row = async_result(db, session, action, &id).await?;
    let ended = row.as_ref().is_none_or(|r| {
        !r.get("output").is_none_or(Json::is_null) || !r.get("errors").is_none_or(Json::is_null)
    });
    let value = match row {
        None => "null".to_string(),
        Some(row) => {
            let value = json_to_value(&row);
            answer(
                engine, loaded, db, session, out, call, &value, variables, None,
            )
            .await?
        }
    };
    let mut data = String::with_capacity(value.len() + call.key.len() + 4);
    data.push('{');
    graphedge_core::encode::write_json_string(&mut data, &call.key);
    data.push(':');
    data.push_str(&value);
    data.push('}');
    Ok((data, ended))
}

/// Logs an asynchronous action's call (on the metadata database) and answers its id: the
/// native process calls the handler later with the stored input, session and headers.
async fn start_async(
    db: &impl Database,
    action: &Action,
    input: &str,
    session_json: &str,
    client_headers: &[(String, String)],
) -> Result<String, EdgeError> {
    let headers: serde_json::Map<String, Json> = client_headers
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("x-hasura-") && k != crate::limits::PEER_IP_HEADER
        })
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    let stmt = Statement {
        sql: "INSERT INTO graphedge.hdb_action_log \
              (action_name, input_payload, request_headers, session_variables) \
              VALUES ($1::text, $2::jsonb, $3::jsonb, $4::jsonb) RETURNING to_json(id)::text"
            .into(),
        params: vec![
            Some(action.name.clone()),
            Some(input.to_string()),
            Some(Json::Object(headers).to_string()),
            Some(session_json.to_string()),
        ],
    };
    let id = db
        .query_one_on(Target::Metadata, &stmt)
        .await
        .map_err(|e| crate::error::db_error(&e))?;
    id.ok_or_else(|| EdgeError::unexpected("the action log returned no id"))
}

/// An asynchronous action's logged call as `{id, created_at, errors, output}`, for the session
/// that made it (admin: any); `None` when there is none.
async fn async_result(
    db: &impl Database,
    session: &Session,
    action: &Action,
    id: &str,
) -> Result<Option<Json>, EdgeError> {
    let stmt = Statement {
        sql: "SELECT json_build_object('id', id, 'created_at', created_at, 'errors', errors, \
              'output', response_payload)::text FROM graphedge.hdb_action_log \
              WHERE id = $1::uuid AND action_name = $2::text \
              AND ($3::jsonb IS NULL OR session_variables = $3::jsonb)"
            .into(),
        params: vec![
            Some(id.to_string()),
            Some(action.name.clone()),
            (!session.is_admin()).then(|| graphedge_core::encode::session_json(session)),
        ],
    };
    let row = db
        .query_one_on(Target::Metadata, &stmt)
        .await
        .map_err(|e| crate::error::db_error(&e))?;
    Ok(row.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Calls `action`'s handler with `input` (JSON text) for the session `session_json` and
/// returns its answer, checked against the output type (after the response transform). The
/// handler's `Set-Cookie` headers go to `cookies` when given. Used for synchronous actions and
/// by the native process for logged asynchronous ones.
#[allow(clippy::too_many_arguments)]
pub async fn call_handler(
    engine: &Engine,
    http: &impl HttpClient,
    schema: &graphedge_core::Schema,
    action: &Action,
    input: &str,
    session_json: &str,
    client_headers: &[(String, String)],
    query: &str,
    cookies: Option<&mut Vec<String>>,
) -> Result<Json, EdgeError> {
    let env = engine.env();
    let url = resolve_templates(&action.handler, &*env)?;
    let (headers, configured) = headers(action, client_headers, &*env)?;
    let body = format!(
        "{{\"action\":{{\"name\":{}}},\"input\":{},\"session_variables\":{},\"request_query\":{}}}",
        Json::String(action.name.clone()),
        input,
        session_json,
        Json::String(query.to_string()),
    );
    let body_value = serde_json::from_str::<Json>(&body).unwrap_or(Json::Null);
    let mut request = HttpRequest {
        method: "POST".into(),
        url: url.clone(),
        headers,
        body: body.into_bytes(),
        timeout: Some(std::time::Duration::from_secs(action.timeout)),
    };
    let mut transformed = Json::Null;
    if let Some(t) = &action.request_transform {
        let session: Json = serde_json::from_str(&session_json).unwrap_or(Json::Null);
        let t = transform(t)
            .and_then(|t| t.apply_with(&url, &request.headers, &body_value, Some(&session), "POST"))
            .map_err(|e| {
                EdgeError::new(500, "transform-error", "Request Transformation Failed")
                    .with_internal(json!({"error": e}))
            })?;
        transformed = json!({
            "method": t.method,
            "url": t.url,
            "headers": header_list(&t.headers),
            "body": t.body.as_deref().map(body_json),
        });
        request.method = t.method;
        request.url = t.url;
        request.headers = t.headers;
        request.body = t.body.unwrap_or_default();
    }
    let request_details = json!({
        "url": url,
        "headers": header_list(&configured),
        "body": body_value,
        "transformed_request": transformed,
    });
    let response = send(engine, http, request, action.timeout).await;
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            return Err(
                EdgeError::new(200, "unexpected", "http exception when calling webhook")
                    .with_internal(
                        json!({"error": http_exception(&e), "request": request_details}),
                    ),
            );
        }
    };
    let internal = |error: &str, r: &HttpResponse| {
        json!({
            "error": error,
            "request": request_details,
            "response": {
                "status": r.status,
                "headers": header_list(&r.headers),
                "body": body_json(&r.body),
            },
        })
    };
    // The handler's cookies reach the client (Hasura's issue 4021).
    if let Some(cookies) = cookies {
        cookies.extend(
            response
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
                .map(|(_, v)| v.clone()),
        );
    }
    let mut parsed: Option<Json> = serde_json::from_slice(&response.body).ok();
    if let (Some(t), Some(answer), 200..=299) =
        (&action.response_transform, &parsed, response.status)
    {
        // The response template sees the handler's answer as `$body`.
        let body = transform(t)
            .and_then(|t| t.apply(&url, &[], answer))
            .and_then(|t| {
                serde_json::from_slice::<Json>(&t.body.unwrap_or_default())
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| {
                EdgeError::new(500, "transform-error", "Response Transformation Failed")
                    .with_internal(json!({"error": e}))
            })?;
        parsed = Some(body);
    }
    match response.status {
        200..=299 => {
            let Some(answer) = parsed else {
                return Err(EdgeError::new(
                    200,
                    "unexpected",
                    "not a valid json response from webhook",
                )
                .with_internal(internal("invalid json", &response)));
            };
            let value = json_to_value(&answer);
            graphedge_core::actions::check_answer(schema, action, &value).map_err(|e| {
                EdgeError::from(e).with_internal(internal("unexpected response", &response))
            })?;
            Ok(answer)
        }
        400..=499 => {
            let Some(Json::Object(o)) = parsed else {
                return Err(EdgeError::new(
                    200,
                    "unexpected",
                    "not a valid json response from webhook",
                )
                .with_internal(internal("invalid json", &response)));
            };
            let message = match o.get("message") {
                Some(Json::String(m)) => m.clone(),
                Some(other) => other.to_string(),
                None => "internal error".to_string(),
            };
            let code = o
                .get("code")
                .and_then(Json::as_str)
                .unwrap_or("unexpected")
                .to_string();
            let mut e = EdgeError::new(200, &code, message);
            if let Some(ext) = o.get("extensions").filter(|x| !x.is_null()) {
                e = e.with_extensions(ext.clone());
            }
            Err(e)
        }
        status => Err(
            EdgeError::new(200, "unexpected", "internal error").with_internal(internal(
                &format!("expecting 2xx or 4xx status code, but found {status}"),
                &response,
            )),
        ),
    }
}

/// A transform of the action's metadata (its JSON text), parsed as an event trigger's
/// `request_transform` (the same Kriti subset).
fn transform(
    text: &str,
) -> Result<graphedge_metadata::events::transform::RequestTransform, String> {
    let v: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
    graphedge_metadata::events::transform::RequestTransform::parse(&v)
}

/// `http.send(request)`, given up after `timeout` seconds on the host's clock (when it has
/// one).
pub(crate) async fn send(
    engine: &Engine,
    http: &impl HttpClient,
    request: HttpRequest,
    timeout: u64,
) -> Result<HttpResponse, String> {
    let timer = engine
        .clock
        .as_ref()
        .and_then(|c| c.sleep(std::time::Duration::from_secs(timeout)));
    crate::within(http.send(request), timer)
        .await
        .unwrap_or_else(|| Err(format!("{TIMED_OUT} (no answer within {timeout} s)")))
}

/// How [`send`] names a request that ran out of time.
pub(crate) const TIMED_OUT: &str = "Response timeout";

/// Hasura's `internal` of an HTTP exception: `{type: "http_exception", message}`, the message
/// `Response timeout` when the call ran out of time (ours or the host's client's).
pub(crate) fn http_exception(error: &str) -> Json {
    let timeout = error.starts_with(TIMED_OUT) || error.contains("timed out");
    json!({
        "type": "http_exception",
        "message": if timeout { TIMED_OUT } else { error },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_resolved_from_the_environment() {
        let env = |k: &str| (k == "BASE").then(|| "http://h:1".to_string());
        assert_eq!(
            resolve_templates("{{BASE}}/create", &env).unwrap(),
            "http://h:1/create"
        );
        assert_eq!(
            resolve_templates("{{ BASE }}/x", &env).unwrap(),
            "http://h:1/x"
        );
        assert!(resolve_templates("{{NOPE}}/x", &env).is_err());
        assert_eq!(
            resolve_templates("http://plain", &env).unwrap(),
            "http://plain"
        );
    }
}
