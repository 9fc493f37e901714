//! `request_transform` of event triggers: a documented subset of Hasura's Kriti templates.
//!
//! Supported keys: `version` (1 or 2), `template_engine` ("Kriti"), `method`, `url`,
//! `query_params` (object of templates), `request_headers {add_headers, remove_headers}`,
//! `content_type`, and `body` — v2 `{"action": "remove"}` / `{"action": "transform", "template"}`
//! / `{"action": "x_www_form_urlencoded", "form_template": {field: template}}` (fields sorted,
//! encoded, `content-type` set unless the transform sets one) or v1 a template string.
//!
//! Templates are text with `{{ ... }}` holes, each one of: `$body` followed by a path
//! (`.field`, `['field']`, `[0]`), `$base_url` (the trigger's webhook), `$session_variables`
//! followed by a path, `getSessionVariable("name")`. In a body template a hole becomes the
//! value's JSON, or inside a JSON string literal its text (Kriti's string interpolation); in the
//! URL, query parameters, headers and form fields a string becomes its text and other values
//! their JSON. Anything else (`{{ if }}`, `{{ range }}`, other functions, operators) is rejected
//! when the trigger is created. `test_webhook_transform` (`test_transform.rs`) shows a
//! transform's result without sending anything.
use serde_json::Value as Json;

#[derive(Clone, Debug, PartialEq)]
enum Root {
    Body,
    BaseUrl,
    Session,
    /// `getSessionVariable("name")`: one session variable, by case-insensitive name.
    SessionVariable(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(String),
    Hole(Root, Vec<Seg>),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template(Vec<Part>);

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

const SUPPORTED: &str = "supported: {{$body.<path>}}, {{$base_url}}, {{$session_variables.<path>}}, {{getSessionVariable(\"name\")}}";

impl Template {
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(i) = rest.find("{{") {
            if i > 0 {
                parts.push(Part::Text(rest[..i].to_string()));
            }
            let after = &rest[i + 2..];
            let j = after
                .find("}}")
                .ok_or_else(|| format!("unterminated {{{{ in template {s:?}"))?;
            let expr = after[..j].trim();
            parts.push(parse_hole(expr).ok_or_else(|| {
                format!("unsupported Kriti template expression {{{{{expr}}}}} ({SUPPORTED})")
            })?);
            rest = &after[j + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template(parts))
    }

    /// Renders the template. `json_holes`: a JSON template (a body), where a hole becomes its
    /// value's JSON — or, inside a JSON string literal (Kriti's string interpolation), the
    /// value's text escaped for that string.
    fn render(&self, ctx: &Ctx, json_holes: bool) -> String {
        let mut out = String::new();
        let (mut in_string, mut escaped) = (false, false);
        for p in &self.0 {
            match p {
                Part::Text(t) => {
                    out.push_str(t);
                    for c in t.chars() {
                        match c {
                            _ if escaped => escaped = false,
                            '\\' if in_string => escaped = true,
                            '"' => in_string = !in_string,
                            _ => {}
                        }
                    }
                }
                Part::Hole(root, path) => {
                    let v = ctx.lookup(root, path);
                    match (&v, json_holes) {
                        (Json::String(s), false) => out.push_str(s),
                        (_, true) if in_string => {
                            let text = match &v {
                                Json::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            let quoted = Json::String(text).to_string();
                            out.push_str(&quoted[1..quoted.len() - 1]);
                        }
                        _ => out.push_str(&v.to_string()),
                    }
                }
            }
        }
        out
    }
}

fn parse_hole(expr: &str) -> Option<Part> {
    if let Some(arg) = expr
        .strip_prefix("getSessionVariable(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let name = arg.trim().strip_prefix('"')?.strip_suffix('"')?;
        return Some(Part::Hole(
            Root::SessionVariable(name.to_string()),
            Vec::new(),
        ));
    }
    let (root, mut rest) = if let Some(r) = expr.strip_prefix("$body") {
        (Root::Body, r)
    } else if let Some(r) = expr.strip_prefix("$base_url") {
        (Root::BaseUrl, r)
    } else if let Some(r) = expr.strip_prefix("$session_variables") {
        (Root::Session, r)
    } else {
        return None;
    };
    let mut path = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            path.push(Seg::Key(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            let seg = if let Some(q) = inner
                .strip_prefix('\'')
                .and_then(|q| q.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|q| q.strip_suffix('"')))
            {
                Seg::Key(q.to_string())
            } else {
                Seg::Index(inner.parse().ok()?)
            };
            path.push(seg);
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    if root == Root::BaseUrl && !path.is_empty() {
        return None;
    }
    Some(Part::Hole(root, path))
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

    fn lookup(&self, root: &Root, path: &[Seg]) -> Json {
        let start = match root {
            Root::BaseUrl => return Json::String(self.base_url.to_string()),
            Root::Body => self.body,
            Root::Session => self.session(),
            Root::SessionVariable(name) => {
                return self
                    .session()
                    .as_object()
                    .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .map_or(Json::Null, |(_, v)| v.clone())
            }
        };
        let mut cur = start;
        for s in path {
            let next = match s {
                Seg::Key(k) => cur.get(k.as_str()),
                Seg::Index(i) => cur.get(*i),
            };
            match next {
                Some(n) => cur = n,
                None => return Json::Null,
            }
        }
        cur.clone()
    }
}

fn templates_of(v: Option<&Json>, what: &str) -> Result<Vec<(String, Template)>, String> {
    match v {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Json::String(s) => Ok((k.clone(), Template::parse(s)?)),
                _ => Err(format!("{what}.{k}: expected a string")),
            })
            .collect(),
        Some(_) => Err(format!("{what}: expected an object of strings")),
    }
}

impl RequestTransform {
    /// Validates a `request_transform` object.
    pub fn parse(v: &Json) -> Result<RequestTransform, String> {
        let Json::Object(m) = v else {
            return Err("expected an object".into());
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
                return Err(format!("unsupported key {k:?} in request_transform"));
            }
        }
        if let Some(e) = m.get("template_engine").and_then(Json::as_str) {
            if e != "Kriti" {
                return Err(format!(
                    "unsupported template_engine {e:?} (only \"Kriti\")"
                ));
            }
        }
        let str_of = |k: &str| -> Result<Option<String>, String> {
            match m.get(k) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("{k}: expected a string")),
            }
        };
        let method = str_of("method")?;
        if let Some(me) = &method {
            if !me.bytes().all(|b| b.is_ascii_alphabetic()) || me.is_empty() {
                return Err(format!("method: invalid HTTP method {me:?}"));
            }
        }
        let url = str_of("url")?.map(|u| Template::parse(&u)).transpose()?;
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
                        return Err("request_headers.remove_headers: expected an array".into())
                    }
                };
                (add, remove)
            }
            Some(_) => return Err("request_headers: expected an object".into()),
        };
        let body = match m.get("body") {
            None | Some(Json::Null) => Body::Keep,
            Some(Json::String(t)) => Body::Transform(Template::parse(t)?),
            Some(Json::Object(b)) => match b.get("action").and_then(Json::as_str) {
                Some("remove") => Body::Remove,
                Some("transform") => match b.get("template") {
                    Some(Json::String(t)) => Body::Transform(Template::parse(t)?),
                    _ => return Err("body.template: expected a string".into()),
                },
                Some("x_www_form_urlencoded") => {
                    Body::Form(templates_of(b.get("form_template"), "body.form_template")?)
                }
                other => {
                    return Err(format!(
                        "body.action: expected \"transform\", \"x_www_form_urlencoded\" or \"remove\", got {other:?}"
                    ))
                }
            },
            Some(_) => return Err("body: expected an object or a template string".into()),
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
    /// A body template that does not render to JSON is an error.
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
        let ctx = Ctx {
            body,
            base_url,
            session,
        };
        let mut url = match &self.url {
            Some(t) => t.render(&ctx, false),
            None => base_url.to_string(),
        };
        if !self.query_params.is_empty() {
            let q: Vec<String> = self
                .query_params
                .iter()
                .map(|(k, t)| format!("{}={}", encode(k), encode(&t.render(&ctx, false))))
                .collect();
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
            out_headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
            out_headers.push((k.clone(), t.render(&ctx, false)));
        }
        if let Some(ct) = &self.content_type {
            out_headers.retain(|(h, _)| !h.eq_ignore_ascii_case("content-type"));
            out_headers.push(("content-type".into(), ct.clone()));
        }
        let body = match &self.body {
            Body::Keep => Some(serde_json::to_vec(body).unwrap_or_default()),
            Body::Remove => None,
            Body::Transform(t) => {
                let text = t.render(&ctx, true);
                let v: Json = serde_json::from_str(&text)
                    .map_err(|e| format!("request_transform body is not JSON: {e}: {text}"))?;
                Some(serde_json::to_vec(&v).unwrap_or_default())
            }
            Body::Form(fields) => {
                let mut pairs: Vec<(String, String)> = fields
                    .iter()
                    .map(|(k, t)| (k.clone(), t.render(&ctx, false)))
                    .collect();
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
            json!({"body": "{{ if $body.x }}1{{ end }}"}),
            Err("unsupported Kriti template"),
        );
        check(
            json!({"url": "{{$body.a | upper}}"}),
            Err("unsupported Kriti template"),
        );
        check(json!({"url": "{{$body.a"}), Err("unterminated"));
        check(json!({"frobnicate": 1}), Err("unsupported key"));
        check(
            json!({"body": {"action": "transform", "template": "{{$body.event.data.new.name}} x"}}),
            Err("not JSON"),
        );
    }
}
