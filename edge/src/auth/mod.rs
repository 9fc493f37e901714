//! Turning request headers into a [`Session`] (role + `x-hasura-*` variables), Hasura's way:
//!
//! - no admin secret configured: every request is trusted; role = `x-hasura-role` or `admin`,
//!   variables = all `x-hasura-*` headers;
//! - admin secret configured: a matching `x-hasura-admin-secret` (or legacy
//!   `x-hasura-access-key`) makes the request admin (or the `x-hasura-role` it asks for, with
//!   the header variables); a wrong one is `access-denied`; otherwise the auth webhook when
//!   configured ([`webhook`]); otherwise a JWT when configured; otherwise the unauthorized role
//!   when configured; otherwise `access-denied`.
//!
//! With several JWT secrets (Hasura's rule): every (secret, token) pair whose token location
//! matches the secret's (`Authorization`, a cookie, a custom header) is a candidate; a candidate
//! whose secret names an `issuer` is dropped when the token's (unverified) `iss` differs. No
//! candidate at all: unauthorized role or `invalid-headers`; only dropped ones:
//! `JWTNotInIssuer`; exactly one: it is verified (and its error, if any, is the answer); more
//! than one: `Multiple JWTs found`.
//!
//! [`authenticate`] is synchronous and verifies static keys only; [`authenticate_with`] also
//! resolves `jwk_url` keys through the engine's [`JwksCache`] and the host's [`HttpClient`], and
//! calls the auth webhook; [`authenticate_request`] also hands the webhook the GraphQL request
//! and returns the headers it wants on the answer.
pub mod jwks;
pub mod jwt;
pub mod keys;
pub mod webhook;

use std::collections::BTreeMap;

use graphedge_core::Session;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::EdgeError;
use crate::http::HttpClient;
use crate::Request;
use jwks::JwksCache;
use jwt::{JwtSecret, TokenSource};
use webhook::{AuthHook, Hooked};

/// Case-insensitive header lookup (first match).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Hasura's message when no credentials were sent.
pub const SECRET_REQUIRED: &str =
    "x-hasura-admin-secret/x-hasura-access-key required, but not found";
/// Hasura's message for a wrong admin secret.
pub const SECRET_INVALID: &str = "invalid x-hasura-admin-secret/x-hasura-access-key";
/// Hasura's message in JWT mode when no token was sent and there is no unauthorized role.
pub const TOKEN_REQUIRED: &str =
    "Missing 'Authorization' or 'Cookie' header in JWT authentication mode";

/// What the synchronous part of authentication decided.
enum Step<'c> {
    Done(Session),
    /// Verify `token` with `secret` (possibly after fetching its JWK set).
    Verify(&'c JwtSecret, String),
    /// Ask the auth webhook.
    Hook(&'c AuthHook),
}

/// Resolves the session of a request. `now` is the host clock (unix seconds) for JWT checks.
/// Secrets with a `jwk_url` cannot be verified here (no outbound HTTP): use
/// [`authenticate_with`].
pub fn authenticate(
    config: &Config,
    headers: &[(String, String)],
    now: Option<i64>,
) -> Result<Session, EdgeError> {
    match prepare(config, headers)? {
        Step::Done(s) => Ok(s),
        Step::Verify(secret, token) => {
            if secret.jwk_url().is_some() {
                return Err(jwt::invalid_jwt("JWSError NoUsableKeys"));
            }
            let claims = secret.verify(&token, now)?;
            session_from_claims(claims, headers)
        }
        Step::Hook(_) => Err(EdgeError::unexpected(webhook::CALL_FAILED)),
    }
}

/// [`authenticate`], with `jwk_url` keys from `jwks` (fetched through `http` when missing,
/// stale, or when the token names an unknown `kid`) and the auth webhook (sent no GraphQL
/// request; its `Set-Cookie` headers are dropped: use [`authenticate_request`]).
pub async fn authenticate_with(
    config: &Config,
    headers: &[(String, String)],
    now: Option<i64>,
    jwks: &JwksCache,
    http: &impl HttpClient,
) -> Result<Session, EdgeError> {
    resolve(config, headers, || None, now, jwks, None, http)
        .await
        .map(|h| h.session)
}

/// [`authenticate_with`] for a whole request, with the engine's caches: a POST-mode webhook is
/// sent the GraphQL request of the GraphQL routes, its answers are kept as their headers say,
/// and its `Set-Cookie` headers come back with the session.
pub async fn authenticate_request(
    engine: &crate::Engine,
    req: &Request,
    http: &impl HttpClient,
) -> Result<Hooked, EdgeError> {
    let now = engine.now();
    let cache = Some(&engine.hook_cache);
    let request = || graphql_request(req);
    resolve(
        &engine.config,
        &req.headers,
        request,
        now,
        &engine.jwks,
        cache,
        http,
    )
    .await
}

/// [`authenticate_request`] for a list of headers alone (a websocket's `connection_init`):
/// the engine's caches are used, and a POST-mode webhook is sent no GraphQL request (Hasura
/// sends `null` there).
pub async fn authenticate_headers(
    engine: &crate::Engine,
    headers: &[(String, String)],
    http: &impl HttpClient,
) -> Result<Hooked, EdgeError> {
    let now = engine.now();
    let cache = Some(&engine.hook_cache);
    resolve(
        &engine.config,
        headers,
        || None,
        now,
        &engine.jwks,
        cache,
        http,
    )
    .await
}

/// When the session `headers` authenticated ends: the first unix second at which the JWT they
/// were authenticated with is refused (its `exp` claim plus the secret's `allowed_skew`, plus
/// one: a token is accepted while `now <= exp + skew`), `None` without one. The claim is read
/// without verification: call this only after `headers` authenticated (the same token was
/// then verified).
pub fn jwt_expiry(config: &Config, headers: &[(String, String)]) -> Option<i64> {
    use base64::Engine as _;
    let Ok(Step::Verify(secret, token)) = prepare(config, headers) else {
        return None;
    };
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    let exp = exp.as_i64().or_else(|| exp.as_f64().map(|f| f as i64))?;
    Some(exp.saturating_add(secret.allowed_skew()).saturating_add(1))
}

/// The GraphQL request a webhook is sent (Hasura's `request`): the body of a POST to a GraphQL
/// route as JSON (whatever it holds), the parameters of a GET one; `None` elsewhere.
fn graphql_request(req: &Request) -> Option<serde_json::Value> {
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    if !matches!(path, "/v1/graphql" | "/v1alpha1/graphql" | "/v1beta1/relay") {
        return None;
    }
    if req.method.eq_ignore_ascii_case("GET") {
        return crate::graphql::get_request_json(query)
            .ok()
            .map(serde_json::Value::Object);
    }
    serde_json::from_slice(&req.body).ok()
}

async fn resolve(
    config: &Config,
    headers: &[(String, String)],
    request: impl FnOnce() -> Option<serde_json::Value>,
    now: Option<i64>,
    jwks: &JwksCache,
    hook_cache: Option<&webhook::HookCache>,
    http: &impl HttpClient,
) -> Result<Hooked, EdgeError> {
    let session = match prepare(config, headers)? {
        Step::Done(s) => s,
        Step::Hook(hook) => {
            let cache = hook_cache.zip(now);
            // Boxed, like the JWKS look-up below: a request's future would otherwise be as
            // large as an outbound HTTP call's, though most requests make none.
            return Box::pin(webhook::call(hook, headers, request(), http, cache)).await;
        }
        Step::Verify(secret, token) => {
            let claims = match secret.jwk_url() {
                None => secret.verify(&token, now)?,
                Some(url) => {
                    // Malformed tokens are rejected before anything is fetched.
                    jwt::parse_token(&token)?;
                    let kid = jwt::token_kid(&token);
                    let keys = Box::pin(jwks.keys(url, kid.as_deref(), now.unwrap_or(0), http))
                        .await
                        .map_err(jwt::invalid_jwt)?;
                    secret.verify_with_jwks(&token, now, &keys)?
                }
            };
            session_from_claims(claims, headers)?
        }
    };
    Ok(Hooked {
        session,
        set_cookies: Vec::new(),
        expires_at: None,
    })
}

fn prepare<'c>(config: &'c Config, headers: &[(String, String)]) -> Result<Step<'c>, EdgeError> {
    if !config.auth_enabled() {
        return Ok(Step::Done(session_from_headers(headers, Session::ADMIN)));
    }
    let sent =
        header(headers, "x-hasura-admin-secret").or_else(|| header(headers, "x-hasura-access-key"));
    if let Some(sent) = sent {
        return if admin_secret_matches(&config.admin_secrets, sent) {
            Ok(Step::Done(session_from_headers(headers, Session::ADMIN)))
        } else {
            Err(EdgeError::access_denied(SECRET_INVALID))
        };
    }
    if let Some(hook) = &config.auth_hook {
        return Ok(Step::Hook(hook));
    }
    if !config.jwt_secrets.is_empty() {
        return select_jwt(config, headers);
    }
    match &config.unauthorized_role {
        Some(role) => Ok(Step::Done(unauthorized(role))),
        None => Err(EdgeError::access_denied(SECRET_REQUIRED)),
    }
}

/// Hasura's choice of the (secret, token) pair to verify; see the module docs.
fn select_jwt<'c>(config: &'c Config, headers: &[(String, String)]) -> Result<Step<'c>, EdgeError> {
    let mut matched: Vec<(&JwtSecret, String)> = Vec::new();
    let mut any_candidate = false;
    for secret in &config.jwt_secrets {
        for token in tokens_at(&secret.source, headers)? {
            any_candidate = true;
            let issuer_ok = match (secret.issuer(), jwt::unverified_issuer(&token)) {
                (Some(want), Some(got)) => want == got,
                _ => true,
            };
            if issuer_ok {
                matched.push((secret, token));
            }
        }
    }
    if matched.len() > 1 {
        return Err(EdgeError::new(
            400,
            "invalid-headers",
            "Could not verify JWT: Multiple JWTs found",
        ));
    }
    if let Some((secret, token)) = matched.pop() {
        return Ok(Step::Verify(secret, token));
    }
    if any_candidate {
        return Err(jwt::invalid_jwt("JWTNotInIssuer"));
    }
    match &config.unauthorized_role {
        Some(role) => Ok(Step::Done(unauthorized(role))),
        None => Err(EdgeError::new(400, "invalid-headers", TOKEN_REQUIRED)),
    }
}

/// Every token found at a secret's location.
fn tokens_at(source: &TokenSource, headers: &[(String, String)]) -> Result<Vec<String>, EdgeError> {
    let mut out = Vec::new();
    for (k, v) in headers {
        match source {
            TokenSource::Authorization if k.eq_ignore_ascii_case("authorization") => {
                let mut words = v.split_ascii_whitespace();
                match (words.next(), words.next(), words.next()) {
                    (Some(scheme), Some(token), None) if scheme.eq_ignore_ascii_case("bearer") => {
                        out.push(token.to_string())
                    }
                    _ => {
                        return Err(EdgeError::new(
                            400,
                            "invalid-headers",
                            "Malformed Authorization header",
                        ))
                    }
                }
            }
            TokenSource::Cookie(name) if k.eq_ignore_ascii_case("cookie") => {
                for pair in v.split(';') {
                    if let Some((ck, cv)) = pair.trim().split_once('=') {
                        if ck.trim() == name {
                            out.push(cv.trim().trim_matches('"').to_string());
                        }
                    }
                }
            }
            TokenSource::CustomHeader(name) if k.eq_ignore_ascii_case(name) => {
                out.push(v.trim().to_string())
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Compares the sent secret with every configured one without leaking where (or whether, by
/// length) they differ: both sides are hashed first and every secret is compared.
pub(crate) fn admin_secret_matches(secrets: &[String], sent: &str) -> bool {
    let sent = Sha256::digest(sent.as_bytes());
    let mut any = 0u8;
    for s in secrets {
        let want = Sha256::digest(s.as_bytes());
        any |= constant_time_eq(&want, &sent) as u8;
    }
    std::hint::black_box(any) == 1
}

/// The unauthorized role's session: no client-supplied variables (they are not authenticated).
fn unauthorized(role: &str) -> Session {
    let mut vars = BTreeMap::new();
    vars.insert("x-hasura-role".to_string(), role.to_string());
    Session {
        role: role.to_string(),
        vars,
    }
}

/// Trusted headers: role from `x-hasura-role` (or `default_role`), every `x-hasura-*` header
/// (except the credentials) as a session variable.
fn session_from_headers(headers: &[(String, String)], default_role: &str) -> Session {
    let mut vars = BTreeMap::new();
    for (k, v) in headers {
        let lk = k.to_ascii_lowercase();
        if lk.starts_with("x-hasura-")
            && lk != "x-hasura-admin-secret"
            && lk != "x-hasura-access-key"
        {
            vars.insert(lk, v.clone());
        }
    }
    let role = vars
        .get("x-hasura-role")
        .cloned()
        .unwrap_or_else(|| default_role.to_string());
    Session { role, vars }
}

/// The role: `x-hasura-role` when it is among the allowed roles, else the default role.
fn session_from_claims(
    claims: jwt::HasuraClaims,
    headers: &[(String, String)],
) -> Result<Session, EdgeError> {
    let role = match header(headers, "x-hasura-role").filter(|r| !r.is_empty()) {
        Some(r) => r.to_string(),
        None => claims.default_role.clone(),
    };
    if !claims.allowed_roles.contains(&role) {
        return Err(EdgeError::new(
            400,
            "access-denied",
            "Your requested role is not in allowed roles",
        ));
    }
    let mut vars = claims.vars;
    vars.insert("x-hasura-role".to_string(), role.clone());
    Ok(Session { role, vars })
}

/// Compares two byte strings in time independent of their contents (the length still shows;
/// callers compare fixed-length digests).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headers from pairs (also used by the submodules' tests).
    pub(super) fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn trusted_mode() {
        let c = Config::new();
        let s = authenticate(&c, &h(&[]), None).unwrap();
        assert!(s.is_admin());
        let s = authenticate(
            &c,
            &h(&[("X-Hasura-Role", "user"), ("X-Hasura-User-Id", "1")]),
            None,
        )
        .unwrap();
        assert_eq!(s.role, "user");
        assert_eq!(s.var("x-hasura-user-id"), Some("1"));
    }

    #[test]
    fn admin_secret_mode() {
        let mut c = Config::new();
        c.admin_secrets = vec!["sekret".into()];
        assert_eq!(
            authenticate(&c, &h(&[]), None).unwrap_err().message,
            SECRET_REQUIRED
        );
        assert_eq!(
            authenticate(&c, &h(&[("x-hasura-admin-secret", "nope")]), None)
                .unwrap_err()
                .message,
            SECRET_INVALID
        );
        assert!(
            authenticate(&c, &h(&[("X-Hasura-Admin-Secret", "sekret")]), None)
                .unwrap()
                .is_admin()
        );
        assert!(
            authenticate(&c, &h(&[("x-hasura-access-key", "sekret")]), None)
                .unwrap()
                .is_admin()
        );
        let s = authenticate(
            &c,
            &h(&[
                ("x-hasura-admin-secret", "sekret"),
                ("x-hasura-role", "user"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(s.role, "user");
        assert_eq!(s.var("x-hasura-admin-secret"), None);
        c.unauthorized_role = Some("anonymous".into());
        let s = authenticate(
            &c,
            &h(&[("x-hasura-role", "user"), ("x-hasura-user-id", "1")]),
            None,
        )
        .unwrap();
        assert_eq!(s.role, "anonymous");
        assert_eq!(s.var("x-hasura-user-id"), None);
    }
}
