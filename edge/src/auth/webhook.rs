//! Hasura's auth webhook mode (`HASURA_GRAPHQL_AUTH_HOOK`): a request that does not send the
//! admin secret is authenticated by calling the hook, whose answer is the session.
//!
//! - `GET` mode (default): `GET <hook>` with the client's headers, less the ones Hasura never
//!   forwards ([`IGNORED`]) and the hop-by-hop ones.
//! - `POST` mode: `POST <hook>` with `{"headers": {<every client header>}, "request": <the
//!   GraphQL request, or null off the GraphQL routes>}`; `request` is left out with
//!   `HASURA_GRAPHQL_AUTH_HOOK_SEND_REQUEST_BODY=false`. Hasura passes the names as the client
//!   wrote them; every host here receives them lower-cased (HTTP/2 always is), so the standard
//!   headers get the spelling HTTP/1 clients send ([`CANONICAL`]: `Authorization`, `Cookie`, …)
//!   and other names stay lower case. The W3C `traceparent` / `tracestate` also go as headers.
//! - `200`: a JSON object whose `x-hasura-*` keys are the session (string values; numbers and
//!   booleans are taken as their text, where Hasura refuses them); `x-hasura-role` is required
//!   (400 `invalid-params`). No allowed-roles check, as in Hasura. The hook's `Set-Cookie`
//!   headers go on the answer (in Hasura's order: the last one first).
//! - `401`: 401 `access-denied` "Authentication hook unauthorized this request"; any other
//!   status, a body that is not such an object, or a failed call: 500.
//! - A 200 answer is kept ([`HookCache`]) as long as its `Cache-Control` (`max-age`) or
//!   `Expires` header says — what Hasura's paid edition does — for the same hook request
//!   (headers and body compared in full), on the engine's clock, at most [`CACHE_ENTRIES`].
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use graphedge_core::Session;
use serde_json::Value as Json;

use crate::error::EdgeError;
use crate::http::{HttpClient, HttpRequest};

/// The hook's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHook {
    /// `HASURA_GRAPHQL_AUTH_HOOK`.
    pub url: String,
    /// `HASURA_GRAPHQL_AUTH_HOOK_MODE=POST` (default `GET`).
    pub post: bool,
    /// `HASURA_GRAPHQL_AUTH_HOOK_SEND_REQUEST_BODY` (default true; POST mode only).
    pub send_request_body: bool,
}

/// Client headers Hasura never forwards to a GET-mode hook (`commonClientHeadersIgnored`),
/// and the hop-by-hop ones, which describe the client's connection, not the request.
const IGNORED: &[&str] = &[
    "content-length",
    "content-md5",
    "user-agent",
    "host",
    "origin",
    "referer",
    "accept",
    "accept-encoding",
    "accept-language",
    "accept-datetime",
    "cache-control",
    "connection",
    "dnt",
    "content-type",
    // hop-by-hop
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    // the host's own (`limits::set_peer_ip`)
    crate::limits::PEER_IP_HEADER,
];

/// Headers that name one request, not its credentials: left out of the [`HookCache`] key.
const PER_REQUEST: &[&str] = &["x-request-id", "traceparent", "tracestate"];

/// Standard request headers in the spelling HTTP/1 clients send, for POST-mode bodies: a hook
/// written against Hasura reads `headers["Authorization"]`.
const CANONICAL: &[&str] = &[
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Authorization",
    "Cache-Control",
    "Connection",
    "Content-Length",
    "Content-Type",
    "Cookie",
    "Forwarded",
    "Host",
    "If-Modified-Since",
    "If-None-Match",
    "Origin",
    "Pragma",
    "Referer",
    "User-Agent",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
];

/// `name` in its [`CANONICAL`] spelling when it is a standard header, else as received.
fn canonical(name: &str) -> &str {
    CANONICAL
        .iter()
        .find(|c| c.eq_ignore_ascii_case(name))
        .copied()
        .unwrap_or(name)
}

/// Hasura's message for a 401 from the hook.
pub const UNAUTHORIZED: &str = "Authentication hook unauthorized this request";
/// Hasura's message for a hook that could not be called.
pub const CALL_FAILED: &str = "webhook authentication request failed";
/// Hasura's message for any status but 200 and 401.
pub const INVALID_RESPONSE: &str = "Invalid response from authorization hook";

impl AuthHook {
    /// The hook's settings from Hasura's variables; `None` when no hook is configured.
    pub fn from_env(get: &impl Fn(&str) -> Option<String>) -> Result<Option<AuthHook>, String> {
        let nonempty = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let Some(url) = nonempty("HASURA_GRAPHQL_AUTH_HOOK") else {
            return Ok(None);
        };
        let post = match nonempty("HASURA_GRAPHQL_AUTH_HOOK_MODE") {
            None => false,
            Some(m) if m.trim().eq_ignore_ascii_case("GET") => false,
            Some(m) if m.trim().eq_ignore_ascii_case("POST") => true,
            Some(m) => {
                return Err(format!(
                    "HASURA_GRAPHQL_AUTH_HOOK_MODE: expected GET or POST, got {m:?}"
                ))
            }
        };
        let send_request_body = match nonempty("HASURA_GRAPHQL_AUTH_HOOK_SEND_REQUEST_BODY") {
            None => true,
            Some(v) => crate::config::parse_bool(&v).ok_or_else(|| {
                format!(
                    "HASURA_GRAPHQL_AUTH_HOOK_SEND_REQUEST_BODY: expected true or false, got {v:?}"
                )
            })?,
        };
        Ok(Some(AuthHook {
            url: url.trim().to_string(),
            post,
            send_request_body,
        }))
    }

    /// The request sent to the hook for a client request with `headers`; `request` is the
    /// GraphQL request (POST mode only; `None` off the GraphQL routes).
    pub fn request(&self, headers: &[(String, String)], request: Option<Json>) -> HttpRequest {
        let user_agent = format!("hasura-graphql-engine/{}", crate::ops::version());
        if !self.post {
            let mut out: Vec<(String, String)> = headers
                .iter()
                .filter(|(k, _)| !IGNORED.iter().any(|i| k.eq_ignore_ascii_case(i)))
                .cloned()
                .collect();
            out.push(("User-Agent".into(), user_agent));
            return HttpRequest {
                timeout: None,
                method: "GET".into(),
                url: self.url.clone(),
                headers: out,
                body: Vec::new(),
            };
        }
        let mut all = serde_json::Map::new();
        for (k, v) in headers {
            if !k.eq_ignore_ascii_case(crate::limits::PEER_IP_HEADER) {
                all.insert(canonical(k).to_string(), Json::String(v.clone()));
            }
        }
        let mut body = serde_json::Map::new();
        body.insert("headers".into(), Json::Object(all));
        if self.send_request_body {
            body.insert("request".into(), request.unwrap_or(Json::Null));
        }
        let mut out = vec![
            ("Content-Type".into(), "application/json".into()),
            ("User-Agent".into(), user_agent),
        ];
        // W3C trace context (the host sets `traceparent` to the request's span when traced).
        out.extend(
            headers
                .iter()
                .filter(|(k, _)| {
                    ["traceparent", "tracestate"]
                        .iter()
                        .any(|t| k.eq_ignore_ascii_case(t))
                })
                .cloned(),
        );
        HttpRequest {
            timeout: None,
            method: "POST".into(),
            url: self.url.clone(),
            headers: out,
            body: Json::Object(body).to_string().into_bytes(),
        }
    }
}

/// What the hook decided: the session and the headers to add to the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hooked {
    pub session: Session,
    /// `Set-Cookie` headers of the hook's answer.
    pub set_cookies: Vec<String>,
    /// When the hook's answer stops being fresh (unix seconds; its `Cache-Control` `max-age`,
    /// else its `Expires`): a websocket authenticated with it closes then, as in Hasura.
    pub expires_at: Option<i64>,
}

/// The most answers a [`HookCache`] keeps.
pub const CACHE_ENTRIES: usize = 4096;

/// The hook's answers that said how long they stay fresh, by the request that got them.
#[derive(Default)]
pub struct HookCache {
    entries: Mutex<HashMap<[u8; 32], CacheEntry>>,
}

struct CacheEntry {
    /// The whole request ([`cache_key`]), compared on every hit (the map key is its digest).
    request: HttpRequest,
    hooked: Hooked,
    expires_at: i64,
}

/// The hook request less the headers that only name it ([`PER_REQUEST`]; POST bodies keep
/// them, as Hasura sends them).
fn cache_key(req: &HttpRequest) -> HttpRequest {
    let mut key = req.clone();
    key.headers
        .retain(|(k, _)| !PER_REQUEST.iter().any(|p| k.eq_ignore_ascii_case(p)));
    key
}

fn digest(req: &HttpRequest) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [req.method.as_bytes(), req.url.as_bytes()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    for (k, v) in &req.headers {
        for part in [k.as_bytes(), v.as_bytes()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }
    h.update((req.body.len() as u64).to_le_bytes());
    h.update(&req.body);
    h.finalize().into()
}

impl HookCache {
    fn get(&self, req: &HttpRequest, now: i64) -> Option<Hooked> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = entries.get(&digest(req))?;
        (e.expires_at > now && e.request == *req).then(|| e.hooked.clone())
    }

    fn put(&self, request: HttpRequest, hooked: Hooked, expires_at: i64, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_ENTRIES {
            entries.retain(|_, e| e.expires_at > now);
        }
        if entries.len() >= CACHE_ENTRIES {
            // Still full of fresh answers: the one closest to expiry goes.
            let first = entries
                .iter()
                .min_by_key(|(_, e)| e.expires_at)
                .map(|(k, _)| *k);
            if let Some(k) = first {
                entries.remove(&k);
            }
        }
        let entry = CacheEntry {
            request,
            hooked,
            expires_at,
        };
        entries.insert(digest(&entry.request), entry);
    }

    /// Answers kept (fresh or not yet dropped).
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Calls the hook for a client request and reads its answer; with a `cache` and the time
/// `now`, a kept answer is used and a cacheable one kept.
pub async fn call(
    hook: &AuthHook,
    headers: &[(String, String)],
    request: Option<Json>,
    http: &impl HttpClient,
    cache: Option<(&HookCache, i64)>,
) -> Result<Hooked, EdgeError> {
    let req = hook.request(headers, request);
    let key = cache.map(|_| cache_key(&req));
    if let Some(hit) = cache
        .zip(key.as_ref())
        .and_then(|((c, now), k)| c.get(k, now))
    {
        return Ok(hit);
    }
    let resp = http
        .send(req)
        .await
        .map_err(|_| EdgeError::unexpected(CALL_FAILED))?;
    match resp.status {
        200 => {
            let session = session_of(&resp.body)?;
            let mut set_cookies: Vec<String> = resp
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
                .map(|(_, v)| v.clone())
                .collect();
            set_cookies.reverse();
            // How long the answer holds: Hasura reads `Cache-Control` / `Expires` from the
            // answer's JSON (its documented form), and graphedge also from its headers.
            let (body_cc, body_expires) = freshness_keys(&resp.body);
            let fresh = cache.and_then(|(_, now)| {
                let ttl = match (body_cc.as_deref(), body_expires.as_deref()) {
                    (None, None) => super::jwks::freshness(
                        resp.header("cache-control"),
                        resp.header("expires"),
                        now,
                    ),
                    (cc, expires) => super::jwks::freshness(cc, expires, now),
                }?;
                Some((ttl, now))
            });
            let hooked = Hooked {
                session,
                set_cookies,
                expires_at: fresh
                    .filter(|(ttl, _)| *ttl > 0)
                    .map(|(ttl, now)| now.saturating_add(ttl)),
            };
            if let (Some((c, now)), Some((ttl, _)), Some(key)) = (cache, fresh, key) {
                if ttl > 0 {
                    c.put(key, hooked.clone(), now.saturating_add(ttl), now);
                }
            }
            Ok(hooked)
        }
        401 => Err(EdgeError::new(401, "access-denied", UNAUTHORIZED)),
        _ => Err(EdgeError::unexpected(INVALID_RESPONSE)),
    }
}

/// The `Cache-Control` and `Expires` keys (any case) of a 200 answer's JSON object.
fn freshness_keys(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(Json::Object(o)) = serde_json::from_slice::<Json>(body) else {
        return (None, None);
    };
    let key = |name: &str| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str().map(str::to_string))
    };
    (key("cache-control"), key("expires"))
}

/// The session in a 200 answer's body.
fn session_of(body: &[u8]) -> Result<Session, EdgeError> {
    let invalid = |why: String| EdgeError::unexpected(format!("{INVALID_RESPONSE}: {why}"));
    let v: Json = serde_json::from_slice(body).map_err(|e| invalid(e.to_string()))?;
    let Json::Object(o) = v else {
        return Err(invalid("expected an object of session variables".into()));
    };
    let mut vars = BTreeMap::new();
    for (k, v) in o {
        let k = k.to_ascii_lowercase();
        if !k.starts_with("x-hasura-") {
            continue;
        }
        let text = match v {
            Json::String(s) => s,
            Json::Number(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            other => {
                return Err(invalid(format!(
                    "the session variable {k} is not a string: {other}"
                )))
            }
        };
        vars.insert(k, text);
    }
    let Some(role) = vars.get("x-hasura-role").filter(|r| !r.is_empty()).cloned() else {
        return Err(EdgeError::new(
            400,
            "invalid-params",
            "\"x-hasura-role\" not found in session variables",
        ));
    };
    Ok(Session { role, vars })
}

#[cfg(test)]
mod tests {
    use super::super::tests::h;
    use super::*;
    use crate::http::HttpResponse;
    use std::future::Future;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    /// A hook that answers `status`, `body` and `headers`, and records what it was sent.
    struct Hook {
        status: u16,
        body: &'static str,
        headers: Vec<(String, String)>,
        sent: std::cell::RefCell<Vec<HttpRequest>>,
    }

    impl HttpClient for Hook {
        async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
            self.sent.borrow_mut().push(req);
            if self.status == 0 {
                return Err("connection refused".into());
            }
            Ok(HttpResponse {
                status: self.status,
                headers: self.headers.clone(),
                body: self.body.as_bytes().to_vec(),
            })
        }
    }

    fn hook(status: u16, body: &'static str, headers: &[(&str, &str)]) -> Hook {
        Hook {
            status,
            body,
            headers: h(headers),
            sent: Default::default(),
        }
    }

    fn run(
        settings: &AuthHook,
        answer: &Hook,
        headers: &[(&str, &str)],
    ) -> Result<Hooked, EdgeError> {
        let request = Some(serde_json::json!({"query": "{ a }"}));
        // The fake hook answers at once: one poll finishes the call.
        let headers = h(headers);
        let mut f = std::pin::pin!(call(settings, &headers, request, answer, None));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => unreachable!("the fake hook never waits"),
        }
    }

    const GET: AuthHook = AuthHook {
        url: String::new(),
        post: false,
        send_request_body: true,
    };

    #[test]
    fn settings() {
        assert_eq!(AuthHook::from_env(&env(&[])).unwrap(), None);
        let got = AuthHook::from_env(&env(&[
            ("HASURA_GRAPHQL_AUTH_HOOK", "http://h/auth"),
            ("HASURA_GRAPHQL_AUTH_HOOK_MODE", "post"),
            ("HASURA_GRAPHQL_AUTH_HOOK_SEND_REQUEST_BODY", "false"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            (got.url.as_str(), got.post, got.send_request_body),
            ("http://h/auth", true, false)
        );
        let bad = AuthHook::from_env(&env(&[
            ("HASURA_GRAPHQL_AUTH_HOOK", "http://h/auth"),
            ("HASURA_GRAPHQL_AUTH_HOOK_MODE", "PUT"),
        ]));
        assert!(bad.unwrap_err().contains("GET or POST"));
    }

    #[test]
    fn get_mode_forwards_headers_hasura_does_not_drop() {
        let answer = hook(
            200,
            r#"{"X-Hasura-Role":"user","x-hasura-user-id":1,"other":[1]}"#,
            &[],
        );
        let got = run(
            &GET,
            &answer,
            &[
                ("authorization", "Bearer t"),
                ("content-type", "application/json"),
                ("host", "example"),
                ("transfer-encoding", "chunked"),
                ("cookie", "a=b"),
            ],
        )
        .unwrap();
        assert_eq!(got.session.role, "user");
        assert_eq!(got.session.vars["x-hasura-user-id"], "1");
        assert_eq!(got.session.vars.len(), 2);
        let sent = &answer.sent.borrow()[0];
        assert_eq!(sent.method, "GET");
        let names: Vec<&str> = sent.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["authorization", "cookie", "User-Agent"]);
    }

    #[test]
    fn post_mode_sends_headers_and_request() {
        let post = AuthHook { post: true, ..GET };
        let answer = hook(200, r#"{"x-hasura-role":"admin"}"#, &[]);
        let got = run(
            &post,
            &answer,
            &[("Auth-User-Id", "4"), ("content-type", "x")],
        )
        .unwrap();
        assert!(got.session.is_admin());
        let body: Json = serde_json::from_slice(&answer.sent.borrow()[0].body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"headers": {"Auth-User-Id": "4", "Content-Type": "x"},
                               "request": {"query": "{ a }"}})
        );
        let no_body = AuthHook {
            send_request_body: false,
            ..post
        };
        let answer = hook(200, r#"{"x-hasura-role":"admin"}"#, &[]);
        run(&no_body, &answer, &[]).unwrap();
        let body: Json = serde_json::from_slice(&answer.sent.borrow()[0].body).unwrap();
        assert_eq!(body, serde_json::json!({"headers": {}}));
    }

    #[test]
    fn answers_map_to_hasura_errors() {
        let check = |answer: Hook, status: u16, code: &str, message: &str| {
            let e = run(&GET, &answer, &[]).unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (status, code), "{}", e.message);
            assert!(e.message.starts_with(message), "{}", e.message);
        };
        check(hook(401, "{}", &[]), 401, "access-denied", UNAUTHORIZED);
        check(hook(403, "{}", &[]), 500, "unexpected", INVALID_RESPONSE);
        check(hook(200, "nope", &[]), 500, "unexpected", INVALID_RESPONSE);
        check(hook(200, "[]", &[]), 500, "unexpected", INVALID_RESPONSE);
        check(
            hook(200, r#"{"x-hasura-role":{}}"#, &[]),
            500,
            "unexpected",
            INVALID_RESPONSE,
        );
        check(
            hook(200, r#"{"x-hasura-user-id":"1"}"#, &[]),
            400,
            "invalid-params",
            "\"x-hasura-role\" not found",
        );
        check(hook(0, "", &[]), 500, "unexpected", CALL_FAILED);
    }

    #[test]
    fn set_cookies_come_back_last_first() {
        let answer = hook(
            200,
            r#"{"x-hasura-role":"user"}"#,
            &[
                ("Set-Cookie", "a=1"),
                ("content-type", "x"),
                ("set-cookie", "b=2"),
            ],
        );
        let got = run(&GET, &answer, &[]).unwrap();
        assert_eq!(got.set_cookies, ["b=2", "a=1"]);
    }

    #[test]
    fn an_answer_expires_as_its_json_or_headers_say() {
        let cache = HookCache::default();
        let expiry = |body: &'static str, headers: &[(&str, &str)]| {
            let answer = hook(200, body, headers);
            let get = GET;
            let sent = h(&[("authorization", body)]);
            let mut f = std::pin::pin!(call(&get, &sent, None, &answer, Some((&cache, 1000))));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match f.as_mut().poll(&mut cx) {
                std::task::Poll::Ready(r) => r.unwrap().expires_at,
                std::task::Poll::Pending => unreachable!(),
            }
        };
        // Hasura's documented form: keys of the answer's JSON; `Cache-Control` wins.
        let both = r#"{"x-hasura-role":"u","Expires":"Thu, 01 Jan 1970 00:16:46 GMT","cache-control":"max-age=10"}"#;
        assert_eq!(expiry(both, &[]), Some(1010));
        let expires = r#"{"x-hasura-role":"u","Expires":"Thu, 01 Jan 1970 00:16:46 GMT"}"#;
        assert_eq!(expiry(expires, &[]), Some(1006));
        // Else the answer's headers; neither: no expiry.
        let plain = r#"{"x-hasura-role":"u"}"#;
        assert_eq!(expiry(plain, &[("Cache-Control", "max-age=6")]), Some(1006));
        assert_eq!(expiry(r#"{"x-hasura-role":"v"}"#, &[]), None);
        // Unparsable values: no expiry.
        let bad = r#"{"x-hasura-role":"u","Expires":"1 1 1970","Cache-Control":"maxage=3"}"#;
        assert_eq!(expiry(bad, &[]), None);
    }

    #[test]
    fn answers_are_kept_as_long_as_their_headers_say() {
        let cache = HookCache::default();
        let ask = |answer: &Hook, headers: &[(&str, &str)], now: i64| {
            let headers = h(headers);
            let get = GET;
            let mut f = std::pin::pin!(call(&get, &headers, None, answer, Some((&cache, now))));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match f.as_mut().poll(&mut cx) {
                std::task::Poll::Ready(r) => r.unwrap(),
                std::task::Poll::Pending => unreachable!(),
            }
        };
        let kept = hook(
            200,
            r#"{"x-hasura-role":"user"}"#,
            &[("Cache-Control", "max-age=60")],
        );
        let alice = [("authorization", "alice")];
        ask(&kept, &alice, 1000);
        ask(
            &kept,
            &[("authorization", "alice"), ("x-request-id", "r2")],
            1059,
        );
        assert_eq!(
            kept.sent.borrow().len(),
            1,
            "the second call was answered from the cache"
        );
        ask(&kept, &[("authorization", "bob")], 1059);
        assert_eq!(
            kept.sent.borrow().len(),
            2,
            "another credential is another request"
        );
        ask(&kept, &alice, 1060);
        assert_eq!(kept.sent.borrow().len(), 3, "expired");
        for never in [
            &[][..],
            &[("Cache-Control", "no-store, max-age=60")],
            &[("Expires", "soon")],
        ] {
            let answer = hook(200, r#"{"x-hasura-role":"user"}"#, never);
            let headers = [("authorization", "carol")];
            ask(&answer, &headers, 2000);
            ask(&answer, &headers, 2000);
            assert_eq!(answer.sent.borrow().len(), 2, "{never:?}");
        }
    }
}
