//! `request_transform` of event triggers and actions (and actions' `response_transform`), with
//! Hasura's Kriti templates ([`kriti`]).
//!
//! Supported keys: `version` (1 or 2), `template_engine` ("Kriti"), `method`, `url`,
//! `query_params` (object of templates), `request_headers {add_headers, remove_headers}`,
//! `content_type`, and `body` — v2 `{"action": "remove"}` / `{"action": "transform", "template"}`
//! / `{"action": "x_www_form_urlencoded", "form_template": {field: template}}` (fields sorted,
//! encoded, `content-type` set unless the transform sets one) or v1 a template string.
//!
//! A body template is a whole Kriti template (JSON with `{{ }}` expressions, `{{ if }}`,
//! `{{ range }}`, functions: see [`kriti`]) and becomes the body's JSON. The URL, query
//! parameters, headers and form fields are interpolation templates: text with `{{ }}`
//! expressions, a string becoming its text and any other value its JSON. Variables: `$body`,
//! `$base_url` (the webhook), `$session_variables`; functions: Kriti's basic ones and
//! `getSessionVariable("name")`. Templates are parsed when the transform is validated;
//! evaluation errors (a missing field, a non-boolean condition) fail the request. Errors are
//! Kriti's (code, message, source position: [`TransformError::internal`]).
//! `test_webhook_transform` (`test_transform.rs`) shows a transform's result without sending
//! anything.
use serde_json::{json, Value as Json};

pub mod kriti;

use kriti::{Expr, KritiError};

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template(Expr);

#[derive(Clone, Debug, PartialEq)]
enum Body {
    Keep,
    Remove,
    Transform(Template),
    /// `x_www_form_urlencoded`: `form_template` fields, each rendered as text.
    Form(Vec<(String, Template)>),
}

/// A validated `request_transform`.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestTransform {
    method: Option<String>,
    url: Option<Template>,
    query_params: Vec<(String, Template)>,
    add_headers: Vec<(String, Template)>,
    remove_headers: Vec<String>,
    content_type: Option<String>,
    body: Body,
}

/// The request after the transform.
#[derive(Clone, Debug, PartialEq)]
pub struct Transformed {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// `None`: no body.
    pub body: Option<Vec<u8>>,
}

/// Why a transform is invalid or failed.
#[derive(Clone, Debug, PartialEq)]
pub enum TransformError {
    /// A Kriti parse or evaluation error in the template at `at` (`body`, `url`,
    /// `query_params.id`, …).
    Kriti { at: String, error: KritiError },
    /// A malformed transform (an unknown key, a value of the wrong type).
    Invalid(String),
}

impl std::fmt::Display for TransformError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransformError::Kriti { at, error } => write!(f, "{at}: {error}"),
            TransformError::Invalid(m) => f.write_str(m),
        }
    }
}

impl TransformError {
    /// Hasura's `internal` of a failed transform: `[{"error_code", "message",
    /// "source_position"}]` (no position for a malformed transform).
    pub fn internal(&self) -> Json {
        match self {
            TransformError::Kriti { error, .. } => json!([error.to_json()]),
            TransformError::Invalid(m) => json!([{"error_code": "Parse Error", "message": m}]),
        }
    }
}

impl From<String> for TransformError {
    fn from(m: String) -> Self {
        TransformError::Invalid(m)
    }
}

fn kriti_at(at: &str) -> impl Fn(KritiError) -> TransformError + '_ {
    move |error| TransformError::Kriti {
        at: at.to_string(),
        error,
    }
}

impl Template {
    /// Parses an interpolation template (a URL, header, query parameter, form field).
    pub fn parse(s: &str) -> Result<Template, String> {
        kriti::parse(s, true)
            .map(Template)
            .map_err(|e| e.to_string())
    }

    fn interpolation(s: &str, at: &str) -> Result<Template, TransformError> {
        kriti::parse(s, true).map(Template).map_err(kriti_at(at))
    }

    fn body(s: &str) -> Result<Template, TransformError> {
        kriti::parse(s, false)
            .map(Template)
            .map_err(kriti_at("body"))
    }

    fn value(&self, ctx: &Ctx, at: &str) -> Result<Json, TransformError> {
        let session = ctx.session();
        let base_url = Json::String(ctx.base_url.to_string());
        let env = kriti::Env {
            vars: vec![
                ("$body", ctx.body),
                ("$base_url", &base_url),
                ("$session_variables", session),
            ],
            session,
        };
        kriti::eval(&self.0, &env).map_err(kriti_at(at))
    }

    /// The value as text: a string's own text, anything else its JSON.
    fn text(&self, ctx: &Ctx, at: &str) -> Result<String, TransformError> {
        Ok(match self.value(ctx, at)? {
            Json::String(s) => s,
            other => other.to_string(),
        })
    }
}

struct Ctx<'a> {
    body: &'a Json,
    base_url: &'a str,
    /// The session variables (an event's own when `None`).
    session: Option<&'a Json>,
}

impl Ctx<'_> {
    fn session(&self) -> &Json {
        self.session
            .or_else(|| self.body.pointer("/event/session_variables"))
            .unwrap_or(&Json::Null)
    }
}

fn templates_of(v: Option<&Json>, what: &str) -> Result<Vec<(String, Template)>, TransformError> {
    match v {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Json::String(s) => Ok((
                    k.clone(),
                    Template::interpolation(s, &format!("{what}.{k}"))?,
                )),
                _ => Err(format!("{what}.{k}: expected a string").into()),
            })
            .collect(),
        Some(_) => Err(format!("{what}: expected an object of strings").into()),
    }
}

impl RequestTransform {
    /// Validates a `request_transform` object.
    pub fn parse(v: &Json) -> Result<RequestTransform, String> {
        Self::parse_checked(v).map_err(|e| e.to_string())
    }

    /// [`RequestTransform::parse`], its error Kriti's when a template does not parse.
    pub fn parse_checked(v: &Json) -> Result<RequestTransform, TransformError> {
        let Json::Object(m) = v else {
            return Err("expected an object".to_string().into());
        };
        for k in m.keys() {
            if !matches!(
                k.as_str(),
                "version"
                    | "template_engine"
                    | "method"
                    | "url"
                    | "query_params"
                    | "request_headers"
                    | "content_type"
                    | "body"
            ) {
                return Err(format!("unsupported key {k:?} in request_transform").into());
            }
        }
        if let Some(e) = m.get("template_engine").and_then(Json::as_str) {
            if e != "Kriti" {
                return Err(format!("unsupported template_engine {e:?} (only \"Kriti\")").into());
            }
        }
        let str_of = |k: &str| -> Result<Option<String>, TransformError> {
            match m.get(k) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("{k}: expected a string").into()),
            }
        };
        let method = str_of("method")?;
        if let Some(me) = &method {
            if !me.bytes().all(|b| b.is_ascii_alphabetic()) || me.is_empty() {
                return Err(format!("method: invalid HTTP method {me:?}").into());
            }
        }
        let url = str_of("url")?
            .map(|u| Template::interpolation(&u, "url"))
            .transpose()?;
        let query_params = templates_of(m.get("query_params"), "query_params")?;
        let (add_headers, remove_headers) = match m.get("request_headers") {
            None | Some(Json::Null) => (Vec::new(), Vec::new()),
            Some(Json::Object(h)) => {
                let add = templates_of(h.get("add_headers"), "request_headers.add_headers")?;
                let remove = match h.get("remove_headers") {
                    None | Some(Json::Null) => Vec::new(),
                    Some(Json::Array(a)) => a
                        .iter()
                        .map(|x| {
                            x.as_str().map(str::to_string).ok_or_else(|| {
                                "request_headers.remove_headers: expected strings".to_string()
                            })
                        })
                        .collect::<Result<_, _>>()?,
                    Some(_) => {
                        return Err("request_headers.remove_headers: expected an array"
                            .to_string()
                            .into())
                    }
                };
                (add, remove)
            }
            Some(_) => return Err("request_headers: expected an object".to_string().into()),
        };
        let body = match m.get("body") {
            None | Some(Json::Null) => Body::Keep,
            Some(Json::String(t)) => Body::Transform(Template::body(t)?),
            Some(Json::Object(b)) => match b.get("action").and_then(Json::as_str) {
                Some("remove") => Body::Remove,
                Some("transform") => match b.get("template") {
                    Some(Json::String(t)) => Body::Transform(Template::body(t)?),
                    _ => return Err("body.template: expected a string".to_string().into()),
                },
                Some("x_www_form_urlencoded") => {
                    Body::Form(templates_of(b.get("form_template"), "body.form_template")?)
                }
                other => {
                    return Err(format!(
                        "body.action: expected \"transform\", \"x_www_form_urlencoded\" or \"remove\", got {other:?}"
                    )
                    .into())
                }
            },
            Some(_) => {
                return Err("body: expected an object or a template string"
                    .to_string()
                    .into())
            }
        };
        Ok(RequestTransform {
            method,
            url,
            query_params,
            add_headers,
            remove_headers,
            content_type: str_of("content_type")?,
            body,
        })
    }

    /// Applies the transform to the default request (POST `base_url`, JSON `body`, `headers`).
    pub fn apply(
        &self,
        base_url: &str,
        headers: &[(String, String)],
        body: &Json,
    ) -> Result<Transformed, String> {
        self.apply_with(base_url, headers, body, None, "POST")
    }

    /// [`RequestTransform::apply`] with the session variables `session` (`None`: an event's,
    /// `body.event.session_variables`) and the method when the transform sets none.
    pub fn apply_with(
        &self,
        base_url: &str,
        headers: &[(String, String)],
        body: &Json,
        session: Option<&Json>,
        default_method: &str,
    ) -> Result<Transformed, String> {
        self.apply_checked(base_url, headers, body, session, default_method)
            .map_err(|e| e.to_string())
    }

    /// [`RequestTransform::apply_with`], its error Kriti's when a template fails.
    pub fn apply_checked(
        &self,
        base_url: &str,
        headers: &[(String, String)],
        body: &Json,
        session: Option<&Json>,
        default_method: &str,
    ) -> Result<Transformed, TransformError> {
        let ctx = Ctx {
            body,
            base_url,
            session,
        };
        let mut url = match &self.url {
            Some(t) => t.text(&ctx, "url")?,
            None => base_url.to_string(),
        };
        if !self.query_params.is_empty() {
            let mut q = Vec::new();
            for (k, t) in &self.query_params {
                let v = t.text(&ctx, &format!("query_params.{k}"))?;
                q.push(format!("{}={}", encode(k), encode(&v)));
            }
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&q.join("&"));
        }
        let mut out_headers: Vec<(String, String)> = headers
            .iter()
            .filter(|(k, _)| {
                !self
                    .remove_headers
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(k))
            })
            .cloned()
            .collect();
        for (k, t) in &self.add_headers {
            let v = t.text(&ctx, &format!("request_headers.add_headers.{k}"))?;
            out_headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
            out_headers.push((k.clone(), v));
        }
        if let Some(ct) = &self.content_type {
            out_headers.retain(|(h, _)| !h.eq_ignore_ascii_case("content-type"));
            out_headers.push(("content-type".into(), ct.clone()));
        }
        let body = match &self.body {
            Body::Keep => Some(serde_json::to_vec(body).unwrap_or_default()),
            Body::Remove => None,
            Body::Transform(t) => {
                Some(serde_json::to_vec(&t.value(&ctx, "body")?).unwrap_or_default())
            }
            Body::Form(fields) => {
                let mut pairs = Vec::new();
                for (k, t) in fields {
                    pairs.push((k.clone(), t.text(&ctx, &format!("body.form_template.{k}"))?));
                }
                pairs.sort();
                let text: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .collect();
                if !out_headers
                    .iter()
                    .any(|(h, _)| h.eq_ignore_ascii_case("content-type"))
                {
                    out_headers.push((
                        "content-type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ));
                }
                Some(text.join("&").into_bytes())
            }
        };
        Ok(Transformed {
            method: self
                .method
                .clone()
                .unwrap_or_else(|| default_method.into())
                .to_ascii_uppercase(),
            url,
            headers: out_headers,
            body,
        })
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(transform: Json, want: Result<Json, &str>) {
        let body = json!({"event": {"op": "INSERT", "data": {"new": {"id": 7, "name": "a b"}},
            "session_variables": {"x-hasura-role": "admin"}}, "table": {"name": "t"}});
        let got = RequestTransform::parse(&transform)
            .and_then(|t| {
                t.apply(
                    "http://h/hook",
                    &[("X-Keep".into(), "1".into()), ("X-Drop".into(), "2".into())],
                    &body,
                )
            })
            .map(|t| {
                json!({"method": t.method, "url": t.url, "headers": t.headers,
                    "body": t.body.map(|b| serde_json::from_slice::<Json>(&b).unwrap())})
            });
        match (got, want) {
            (Ok(g), Ok(w)) => assert_eq!(g, w),
            (Err(g), Err(w)) => assert!(g.contains(w), "{g}"),
            (g, w) => panic!("got {g:?}, want {w:?}"),
        }
    }

    #[test]
    fn transforms() {
        check(
            json!({"version": 2, "template_engine": "Kriti", "method": "put",
                "url": "{{$base_url}}/{{$body.table.name}}",
                "query_params": {"id": "{{$body.event.data.new.id}}", "n": "{{$body.event.data.new['name']}}"},
                "request_headers": {"add_headers": {"X-Role": "{{$session_variables['x-hasura-role']}}"}, "remove_headers": ["x-drop"]},
                "body": {"action": "transform", "template": "{\"id\": {{$body.event.data.new.id}}, \"op\": {{ $body.event.op }}}"}}),
            Ok(
                json!({"method": "PUT", "url": "http://h/hook/t?id=7&n=a%20b",
                "headers": [["X-Keep", "1"], ["X-Role", "admin"]],
                "body": {"id": 7, "op": "INSERT"}}),
            ),
        );
        check(
            json!({"body": {"action": "remove"}}),
            Ok(json!({"method": "POST", "url": "http://h/hook",
                "headers": [["X-Keep", "1"], ["X-Drop", "2"]], "body": null})),
        );
        check(
            json!({"body": "{{ if $body.event.op == \"INSERT\" }} {{ range _, x := [1, 2] }} {\"n\": {{x}}} {{ end }} {{ else }} null {{ end }}",
                "request_headers": {"add_headers": {"X-Op": "{{ toLower($body.event.op) }}-{{ getSessionVariable(\"X-Hasura-Role\") }}"}}}),
            Ok(json!({"method": "POST", "url": "http://h/hook",
                "headers": [["X-Keep", "1"], ["X-Drop", "2"], ["X-Op", "insert-admin"]],
                "body": [{"n": 1}, {"n": 2}]})),
        );
        check(
            json!({"body": "{{ $body.x }}"}),
            Err("body: Attribute Error: 'Object' has no attribute 'x'. (line 0, column 4)"),
        );
        check(
            json!({"url": "{{$body.a | upper}}"}),
            Err("url: Lex Error: Invalid Lexeme: '| upper}}'"),
        );
        check(
            json!({"url": "{{$body.a"}),
            Err("url: Parse Error: Unexpected end of input."),
        );
        check(json!({"frobnicate": 1}), Err("unsupported key"));
        check(
            json!({"body": {"action": "transform", "template": "{{$body.event.data.new.name}} x"}}),
            Err("Name Error: Variable 'x' not in scope"),
        );
        check(
            json!({"query_params": {"q": "{{ getSessionVariable(\"x-nope\") }}"}}),
            Err("query_params.q: Function Error: Session variable \"x-nope\" not found"),
        );
    }

    #[test]
    fn errors_for_the_api() {
        let t = RequestTransform::parse_checked(&json!({"body": "$body.hello }}"}));
        assert_eq!(
            t.map_err(|e| e.internal()),
            Err(
                json!([{"error_code": "Parse Error", "message": "Unexpected token '}'.",
                "source_position": {"start_line": 0, "start_column": 14, "end_line": 0, "end_column": 15}}])
            )
        );
        let t = RequestTransform::parse_checked(&json!({"url": 1})).map_err(|e| e.internal());
        assert_eq!(
            t,
            Err(json!([{"error_code": "Parse Error", "message": "url: expected a string"}]))
        );
    }
}
