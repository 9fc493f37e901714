//! `test_webhook_transform` (`/v1/metadata`): what a `request_transform` makes of a request,
//! without sending it. Args: `webhook_url` (a URL or `{"from_env": VAR}` read from `env`),
//! `body`, `env`, `session_variables`, `request_transform`, `response_transform` (validated).
//! Answer: `{"webhook_url", "method", "headers": [[name, value]…] (by name), "body"}` — the body
//! as JSON when it is JSON, else its text (`""` when removed). Like Hasura, the request starts
//! as a `GET` of the URL with no headers. A template that does not parse (either transform) or
//! evaluate (the request's) is a `validation-failed` error whose `internal` is Kriti's error
//! with its source position.
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::transform::{RequestTransform, TransformError};
use crate::error::ApiError;

#[derive(Deserialize)]
struct Args {
    webhook_url: Json,
    #[serde(default)]
    body: Json,
    #[serde(default)]
    env: serde_json::Map<String, Json>,
    #[serde(default)]
    session_variables: Option<Json>,
    request_transform: Json,
    #[serde(default)]
    response_transform: Option<Json>,
}

/// Hasura's answer for a transform that does not parse or evaluate: its Kriti error
/// (`error_code`, `message`, `source_position`) in `internal`.
fn invalid(which: &str, error: TransformError) -> ApiError {
    let mut e = ApiError::new(
        "validation-failed",
        format!("{which} transform validation failed"),
    );
    e.internal = Some(error.internal());
    e
}

/// The URL as Hasura's HTTP client has it: a bare authority gets the path `/`.
fn normalized(url: &str) -> String {
    match url.split_once("://") {
        Some((_, rest)) if !rest.contains(['/', '?', '#']) => format!("{url}/"),
        _ => url.to_string(),
    }
}

pub(crate) fn test_webhook_transform(args: &Json) -> Result<Json, ApiError> {
    let a: Args = crate::api::parse(args)?;
    let url = match &a.webhook_url {
        Json::String(u) => u.clone(),
        Json::Object(o) => match o.get("from_env").and_then(Json::as_str) {
            Some(var) => a
                .env
                .get(var)
                .and_then(Json::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::new("not-found", format!("Environment variable '{var}' not set"))
                        .at("$.args.webhook_url")
                })?,
            None => {
                return Err(
                    ApiError::parse_failed("expected a URL or from_env").at("$.args.webhook_url")
                )
            }
        },
        _ => {
            return Err(
                ApiError::parse_failed("expected a URL or from_env").at("$.args.webhook_url")
            )
        }
    };
    if let Some(rt) = &a.response_transform {
        RequestTransform::parse_checked(rt).map_err(|e| invalid("response", e))?;
    }
    let transform =
        RequestTransform::parse_checked(&a.request_transform).map_err(|e| invalid("request", e))?;
    let out = transform
        .apply_checked(
            &normalized(&url),
            &[],
            &a.body,
            Some(a.session_variables.as_ref().unwrap_or(&Json::Null)),
            "GET",
        )
        .map_err(|e| invalid("request", e))?;
    let mut headers = out.headers;
    headers.sort();
    let body = match out.body {
        None => json!(""),
        Some(bytes) => serde_json::from_slice::<Json>(&bytes)
            .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&bytes).into_owned())),
    };
    Ok(json!({
        "webhook_url": out.url,
        "method": out.method,
        "headers": headers,
        "body": body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `want`: the answer, or the error's message (and its `internal` when given).
    fn check(args: Json, want: Result<Json, (&str, Option<Json>)>) {
        let got = test_webhook_transform(&args);
        match (got, want) {
            (Ok(g), Ok(w)) => assert_eq!(g, w, "{args}"),
            (Err(g), Err((w, internal))) => {
                assert_eq!(g.error, w, "{args}");
                if let Some(i) = internal {
                    assert_eq!((g.path.as_str(), g.internal), ("$.args", Some(i)), "{args}");
                }
            }
            (g, w) => panic!("got {g:?}, want {w:?} for {args}"),
        }
    }

    fn kriti_error(code: &str, message: &str, pos: [usize; 4]) -> Option<Json> {
        Some(
            json!([{"error_code": code, "message": message, "source_position": {
            "start_line": pos[0], "start_column": pos[1], "end_line": pos[2], "end_column": pos[3]}}]),
        )
    }

    #[test]
    fn transforms_of_a_test_request() {
        let hello = json!({"hello": "world"});
        check(
            json!({"webhook_url": "http://localhost:1234", "body": hello,
                "request_transform": {"version": 2, "url": "http://example.com",
                    "body": {"action": "transform", "template": "\"hello_{{ $body.hello }}\""},
                    "method": "POST", "query_params": {"foo": "bar"},
                    "request_headers": {"add_headers": {"foo": "bar", "content-type": "application/json"}}}}),
            Ok(
                json!({"webhook_url": "http://example.com?foo=bar", "method": "POST",
                "headers": [["content-type", "application/json"], ["foo", "bar"]],
                "body": "hello_world"}),
            ),
        );
        check(
            json!({"webhook_url": {"from_env": "HOOK"}, "env": {"HOOK": "http://h:1"}, "body": hello,
                "request_transform": {"body": {"action": "x_www_form_urlencoded",
                    "form_template": {"foo": "bar", "baz": "{{$body.hello}}"}}}}),
            Ok(json!({"webhook_url": "http://h:1/", "method": "GET",
                "headers": [["content-type", "application/x-www-form-urlencoded"]],
                "body": "baz=world&foo=bar"})),
        );
        check(
            json!({"webhook_url": "http://h/x", "body": hello,
                "session_variables": {"X-Hasura-My-Variable": "some value"},
                "request_transform": {"body": "{{ getSessionVariable(\"x-hasura-my-variable\") }}",
                    "method": "GET", "request_headers": {"add_headers": {"foo": "bar"}}}}),
            Ok(
                json!({"webhook_url": "http://h/x", "method": "GET", "headers": [["foo", "bar"]],
                "body": "some value"}),
            ),
        );
        check(
            json!({"webhook_url": "http://h", "request_transform": {"body": {"action": "remove"}}}),
            Ok(json!({"webhook_url": "http://h/", "method": "GET", "headers": [], "body": ""})),
        );
        check(
            json!({"webhook_url": "http://h", "request_transform": {"body": "{{ $body.x | f }}"}}),
            Err((
                "request transform validation failed",
                kriti_error("Lex Error", "Invalid Lexeme: '| f }}'", [0, 12, 0, 18]),
            )),
        );
        // Hasura's test_webhook_transform_bad_parse, _bad_eval and _custom_functions.
        check(
            json!({"webhook_url": "http://h", "body": hello,
                "request_transform": {"version": 2, "body": {"action": "transform", "template": "$body.hello }}"}}}),
            Err((
                "request transform validation failed",
                kriti_error("Parse Error", "Unexpected token '}'.", [0, 14, 0, 15]),
            )),
        );
        check(
            json!({"webhook_url": "http://h", "body": hello,
                "request_transform": {"body": {"action": "transform", "template": " {{ $body.hello }}"}},
                "response_transform": {"body": {"action": "transform", "template": "$body.hello }}"}}}),
            Err((
                "response transform validation failed",
                kriti_error("Parse Error", "Unexpected token '}'.", [0, 14, 0, 15]),
            )),
        );
        check(
            json!({"webhook_url": "http://h", "body": hello,
                "request_transform": {"body": {"action": "transform", "template": "{{ $body.world }}"}}}),
            Err((
                "request transform validation failed",
                kriti_error(
                    "Attribute Error",
                    "'Object' has no attribute 'world'.",
                    [0, 4, 0, 15],
                ),
            )),
        );
        check(
            json!({"webhook_url": "http://h", "body": hello,
                "session_variables": {"x-hasura-my-variable": "some value"},
                "request_transform": {"body": "{{ getSessionVariable(\"this_variable_doesnt_exist\") }}"}}),
            Err((
                "request transform validation failed",
                kriti_error(
                    "Function Error",
                    "Session variable \"this_variable_doesnt_exist\" not found",
                    [0, 23, 0, 51],
                ),
            )),
        );
        check(
            json!({"webhook_url": "http://h", "request_transform": {},
                "response_transform": {"body": "{{ nope"}}),
            Err(("response transform validation failed", None)),
        );
        check(
            json!({"webhook_url": {"from_env": "UNSET"}, "request_transform": {}}),
            Err(("Environment variable 'UNSET' not set", None)),
        );
    }
}
