//! Turning request headers into a [`Session`] (role + `x-hasura-*` variables), Hasura's way:
//!
//! - no admin secret configured: every request is trusted; role = `x-hasura-role` or `admin`,
//!   variables = all `x-hasura-*` headers;
//! - admin secret configured: a matching `x-hasura-admin-secret` (or legacy
//!   `x-hasura-access-key`) makes the request admin (or the `x-hasura-role` it asks for, with
//!   the header variables); otherwise a JWT when configured; otherwise the unauthorized role
//!   when configured; otherwise `access-denied`.
pub mod jwt;

use std::collections::BTreeMap;

use graphedge_core::Session;

use crate::config::Config;
use crate::error::EdgeError;
use jwt::TokenSource;

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

/// Resolves the session of a request. `now` is the host clock (unix seconds) for JWT checks.
pub fn authenticate(
    config: &Config,
    headers: &[(String, String)],
    now: Option<i64>,
) -> Result<Session, EdgeError> {
    if !config.auth_enabled() {
        return Ok(session_from_headers(headers, Session::ADMIN));
    }
    let sent =
        header(headers, "x-hasura-admin-secret").or_else(|| header(headers, "x-hasura-access-key"));
    if let Some(sent) = sent {
        return if config
            .admin_secrets
            .iter()
            .any(|s| constant_time_eq(s.as_bytes(), sent.as_bytes()))
        {
            Ok(session_from_headers(headers, Session::ADMIN))
        } else {
            Err(EdgeError::access_denied(SECRET_INVALID))
        };
    }
    if !config.jwt_secrets.is_empty() {
        return authenticate_jwt(config, headers, now);
    }
    match &config.unauthorized_role {
        Some(role) => Ok(unauthorized(role)),
        None => Err(EdgeError::access_denied(SECRET_REQUIRED)),
    }
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

/// Finds the token a JWT secret reads from the headers.
fn token_for<'a>(
    source: &TokenSource,
    headers: &'a [(String, String)],
) -> Result<Option<&'a str>, EdgeError> {
    match source {
        TokenSource::Authorization => match header(headers, "authorization") {
            None => Ok(None),
            Some(v) => {
                let v = v.trim();
                match v.split_once(' ') {
                    Some((scheme, token))
                        if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
                    {
                        Ok(Some(token.trim()))
                    }
                    _ => Err(EdgeError::new(
                        400,
                        "invalid-headers",
                        "Malformed Authorization header",
                    )),
                }
            }
        },
        TokenSource::CustomHeader(name) => Ok(header(headers, name)),
        TokenSource::Cookie(name) => Ok(headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim())),
    }
}

fn authenticate_jwt(
    config: &Config,
    headers: &[(String, String)],
    now: Option<i64>,
) -> Result<Session, EdgeError> {
    let mut first_error = None;
    let mut any_token = false;
    for secret in &config.jwt_secrets {
        let token = match token_for(&secret.source, headers) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        any_token = true;
        match secret.verify(token, now) {
            Ok(claims) => return session_from_claims(claims, headers),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    debug_assert!(!any_token);
    match &config.unauthorized_role {
        Some(role) => Ok(unauthorized(role)),
        None => Err(EdgeError::new(
            400,
            "invalid-headers",
            "Missing 'Authorization' or 'Cookie' header in JWT authentication mode",
        )),
    }
}

fn session_from_claims(
    claims: jwt::HasuraClaims,
    headers: &[(String, String)],
) -> Result<Session, EdgeError> {
    let role = match header(headers, "x-hasura-role") {
        Some(r) if claims.allowed_roles.iter().any(|a| a == r) => r.to_string(),
        Some(_) => {
            return Err(EdgeError::new(
                400,
                "access-denied",
                "Your requested role is not in allowed roles",
            ))
        }
        None => claims.default_role.clone(),
    };
    let mut vars = claims.vars;
    vars.insert("x-hasura-role".to_string(), role.clone());
    Ok(Session { role, vars })
}

/// Compares two secrets without leaking where they differ (the length still shows).
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

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
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
