//! JWT verification in Hasura's mode (`HASURA_GRAPHQL_JWT_SECRET` / `_SECRETS`): the secret's
//! JSON config, signature check (HS256/384/512, RS256/384/512, ES256, ES384, EdDSA — see
//! [`keys`](super::keys); with a static `key` the algorithm is fixed by the config's `type`, never
//! by the token; with `jwk_url` by the JWK and its key type), time claims checked against the
//! host's clock with `allowed_skew`, `audience` / `issuer`, and the Hasura claims
//! (`claims_namespace`, `claims_namespace_path`, `claims_format`, `claims_map`).
//!
//! Error codes and messages follow Hasura's (`invalid-jwt` `Could not verify JWT: JWTExpired`,
//! `jwt-invalid-claims`, `jwt-missing-role-claims`, ...).
use graphedge_core::jsonpath::{parse as parse_json_path, Seg};
use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use jwt_compact::{UntrustedToken, ValidationError};
use serde_json::{Map, Value as Json};

use super::jwks::Jwk;
use super::keys::{Alg, VerifyKey};
use crate::error::EdgeError;

/// Tokens longer than this are rejected before any parsing (16 KiB: far above real tokens, which
/// are well under 8 KiB since most servers cap a header line at 8 KiB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Hasura's default claims namespace.
pub const DEFAULT_NAMESPACE: &str = "https://hasura.io/jwt/claims";

/// Registered claims (RFC 7519 §4.1); `claims_namespace_path` is looked up without them, like
/// Hasura does (it reads the unregistered claims).
const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// Where a secret's verification keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// `type` + `key`.
    Static(Alg, VerifyKey),
    /// `jwk_url`: a JWK set fetched (and cached) by the engine.
    Url(String),
}

/// Where the token is read from (`header` of the JWT config).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (default).
    Authorization,
    /// A cookie with this name.
    Cookie(String),
    /// A header with this name (lower-cased); its whole value is the token.
    CustomHeader(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClaimsFormat {
    Json,
    StringifiedJson,
}

/// Where the Hasura claims are (`claims_namespace` / `claims_namespace_path`).
#[derive(Debug, Clone)]
enum Namespace {
    Key(String),
    Path(String),
}

/// One `claims_map` value: a JSON path into the token's claims (with an optional default), or
/// a literal.
#[derive(Debug, Clone)]
enum MapValue {
    Path(String, Option<Json>),
    Literal(Json),
}

#[derive(Debug, Clone)]
enum ClaimsConfig {
    Namespace(Namespace, ClaimsFormat),
    /// `(session variable, value)`, allowed roles and default role first.
    Map(Vec<(String, MapValue)>),
}

/// One configured JWT secret.
#[derive(Clone)]
pub struct JwtSecret {
    key: KeySource,
    claims: ClaimsConfig,
    audience: Option<Vec<String>>,
    issuer: Option<String>,
    allowed_skew: i64,
    pub source: TokenSource,
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        let key = match &self.key {
            KeySource::Static(alg, _) => alg.name().to_string(),
            KeySource::Url(u) => u.clone(),
        };
        f.debug_struct("JwtSecret")
            .field("key", &key)
            .field("issuer", &self.issuer)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The Hasura claims of a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HasuraClaims {
    pub allowed_roles: Vec<String>,
    pub default_role: String,
    /// Every other `x-hasura-*` claim (lower-cased), as session-variable text.
    pub vars: BTreeMap<String, String>,
}

fn jwt_error(code: &str, message: impl Into<String>) -> EdgeError {
    EdgeError::new(400, code, message)
}

/// `invalid-jwt` with Hasura's `Could not verify JWT: ` prefix.
pub fn invalid_jwt(what: impl fmt::Display) -> EdgeError {
    jwt_error("invalid-jwt", format!("Could not verify JWT: {what}"))
}

fn invalid_claims(message: impl Into<String>) -> EdgeError {
    jwt_error("jwt-invalid-claims", message)
}

const ALLOWED_ROLES: &str = "x-hasura-allowed-roles";
const DEFAULT_ROLE: &str = "x-hasura-default-role";

impl JwtSecret {
    /// Seconds a token is still accepted after its `exp` (and before its `nbf`).
    pub fn allowed_skew(&self) -> i64 {
        self.allowed_skew
    }

    /// Parses one JWT secret config object (Hasura's format).
    pub fn from_json(v: &Json) -> Result<JwtSecret, String> {
        let o = v.as_object().ok_or("expected a JSON object")?;
        let string = |name: &str| -> Result<Option<String>, String> {
            match o.get(name) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("`{name}` must be a string")),
            }
        };
        let key = match (string("key")?, string("jwk_url")?) {
            (None, None) => return Err("key and jwk_url both cannot be empty".into()),
            (Some(_), Some(_)) => return Err("key, jwk_url both cannot be present".into()),
            (Some(key), None) => {
                let ty = string("type")?.ok_or("`type` is required with `key`")?;
                let alg = Alg::from_config_type(&ty)
                    .ok_or_else(|| format!("Invalid JWK: Key type: {ty} is not supported"))?;
                KeySource::Static(alg, VerifyKey::from_config(alg, &key)?)
            }
            (None, Some(url)) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(format!("jwk_url must be an http(s) URL, got {url:?}"));
                }
                KeySource::Url(url)
            }
        };
        let claims_format = match o.get("claims_format") {
            None | Some(Json::Null) => ClaimsFormat::Json,
            Some(Json::String(s)) if s == "json" => ClaimsFormat::Json,
            Some(Json::String(s)) if s == "stringified_json" => ClaimsFormat::StringifiedJson,
            Some(other) => return Err(format!("unknown claims_format {other}")),
        };
        let namespace = match (
            string("claims_namespace")?,
            string("claims_namespace_path")?,
        ) {
            (Some(_), Some(_)) => {
                return Err("claims_namespace and claims_namespace_path both cannot be set".into())
            }
            (Some(ns), None) => Namespace::Key(ns),
            (None, Some(p)) => {
                parse_json_path(&p).ok_or_else(|| {
                    format!("invalid JSON path claims_namespace_path error: {p:?}")
                })?;
                Namespace::Path(p)
            }
            (None, None) => Namespace::Key(DEFAULT_NAMESPACE.into()),
        };
        let claims = match o.get("claims_map") {
            None | Some(Json::Null) => ClaimsConfig::Namespace(namespace, claims_format),
            Some(Json::Object(m)) => ClaimsConfig::Map(parse_claims_map(m)?),
            Some(_) => return Err("`claims_map` must be an object".into()),
        };
        let audience = match o.get("audience") {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) => Some(vec![s.clone()]),
            Some(Json::Array(a)) => Some(
                a.iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or("`audience` must be strings")?,
            ),
            Some(_) => return Err("`audience` must be a string or a list of strings".into()),
        };
        let allowed_skew = match o.get("allowed_skew") {
            None | Some(Json::Null) => 0,
            Some(v) => {
                let n = v.as_f64().ok_or("`allowed_skew` must be a number")?;
                if !(0.0..=1e9).contains(&n) {
                    return Err("`allowed_skew` must be a non-negative number of seconds".into());
                }
                n as i64
            }
        };
        let source = match o.get("header") {
            None | Some(Json::Null) => TokenSource::Authorization,
            Some(h) => {
                let ty = h
                    .get("type")
                    .and_then(Json::as_str)
                    .ok_or("`header.type` is required")?;
                let name = h.get("name").and_then(Json::as_str).map(str::to_string);
                // Hasura compares the type case-insensitively.
                match ty.to_ascii_lowercase().as_str() {
                    "authorization" => TokenSource::Authorization,
                    "cookie" => {
                        TokenSource::Cookie(name.ok_or("`header.name` is required for Cookie")?)
                    }
                    "customheader" => TokenSource::CustomHeader(
                        name.ok_or("`header.name` is required for CustomHeader")?
                            .to_ascii_lowercase(),
                    ),
                    _ => {
                        return Err(
                            "expected 'type' is 'Authorization' or 'Cookie' or 'CustomHeader'"
                                .into(),
                        )
                    }
                }
            }
        };
        Ok(JwtSecret {
            key,
            claims,
            audience,
            issuer: string("issuer")?,
            allowed_skew,
            source,
        })
    }

    /// The configured issuer (used to pick among several secrets).
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The `jwk_url` of this secret, if its keys come from one.
    pub fn jwk_url(&self) -> Option<&str> {
        match &self.key {
            KeySource::Url(u) => Some(u),
            KeySource::Static(..) => None,
        }
    }

    /// Verifies `token` with a static `key` at unix time `now` (seconds; `None`: the host has no
    /// clock, so tokens with time claims are rejected) and extracts the Hasura claims. A
    /// `jwk_url` secret needs its keys: [`JwtSecret::verify_with_jwks`].
    pub fn verify(&self, token: &str, now: Option<i64>) -> Result<HasuraClaims, EdgeError> {
        self.verify_with_jwks(token, now, &[])
    }

    /// Like [`JwtSecret::verify`], with the current JWK set of a `jwk_url` secret (ignored for a
    /// static key).
    pub fn verify_with_jwks(
        &self,
        token: &str,
        now: Option<i64>,
        jwks: &[Jwk],
    ) -> Result<HasuraClaims, EdgeError> {
        let payload = self.verify_payload(token, now, jwks)?;
        self.hasura_claims(&payload)
    }

    /// Signature, time, audience and issuer checks; returns the whole claims object.
    fn verify_payload(
        &self,
        token: &str,
        now: Option<i64>,
        jwks: &[Jwk],
    ) -> Result<Map<String, Json>, EdgeError> {
        let untrusted = parse_token(token)?;
        let alg = Alg::from_header(untrusted.algorithm()).ok_or_else(|| {
            invalid_jwt(format!(
                "JWSError (AlgorithmNotImplemented {:?})",
                untrusted.algorithm()
            ))
        })?;
        let checked = match &self.key {
            KeySource::Static(configured, key) => {
                if *configured != alg {
                    return Err(invalid_jwt(format!(
                        "JWSError (AlgorithmMismatch \"expected {}, the token has {}\")",
                        configured.name(),
                        alg.name()
                    )));
                }
                key.verify(alg, &untrusted)
            }
            KeySource::Url(_) => {
                let kid = untrusted.header().key_id.as_deref();
                let mut result = None;
                for jwk in jwks.iter().filter(|j| {
                    (kid.is_none() || j.kid.is_none() || j.kid.as_deref() == kid)
                        && j.key.supports(alg)
                        && j.alg.as_deref().is_none_or(|a| a == alg.name())
                }) {
                    let r = jwk.key.verify(alg, &untrusted);
                    let ok = r.is_ok();
                    result = Some(r);
                    if ok {
                        break;
                    }
                }
                result.ok_or_else(|| invalid_jwt("JWSError NoUsableKeys"))?
            }
        };
        let token = checked.map_err(|e| match e {
            ValidationError::MalformedClaims(e) => {
                invalid_jwt(format!("JWTClaimsSetDecodeError {:?}", e.to_string()))
            }
            _ => invalid_jwt("JWSError JWSInvalidSignature"),
        })?;
        let claims = token.claims();
        let skew = self.allowed_skew;
        let has_time_claims = claims.expiration.is_some()
            || claims.not_before.is_some()
            || claims.issued_at.is_some();
        if has_time_claims {
            let now = now.ok_or_else(|| invalid_jwt("no clock available to check exp/nbf"))?;
            if let Some(exp) = claims.expiration {
                if now > exp.timestamp().saturating_add(skew) {
                    return Err(invalid_jwt("JWTExpired"));
                }
            }
            if let Some(nbf) = claims.not_before {
                if now.saturating_add(skew) < nbf.timestamp() {
                    return Err(invalid_jwt("JWTNotYetValid"));
                }
            }
            if let Some(iat) = claims.issued_at {
                if now.saturating_add(skew) < iat.timestamp() {
                    return Err(invalid_jwt("JWTIssuedAtFuture"));
                }
            }
        }
        let custom = &claims.custom;
        if let Some(aud) = &self.audience {
            // Stricter than RFC 7519 (and Hasura's JOSE library), which let a token without
            // `aud` through: with an audience configured, the token must name it.
            let ok = match custom.get("aud") {
                Some(Json::String(s)) => aud.contains(s),
                Some(Json::Array(a)) => a
                    .iter()
                    .any(|x| x.as_str().is_some_and(|s| aud.iter().any(|w| w == s))),
                _ => false,
            };
            if !ok {
                return Err(invalid_jwt("JWTNotInAudience"));
            }
        }
        if let Some(iss) = &self.issuer {
            if custom.get("iss").and_then(Json::as_str) != Some(iss.as_str()) {
                return Err(invalid_jwt("JWTNotInIssuer"));
            }
        }
        Ok(token.into_parts().1.custom)
    }

    /// Finds the Hasura claims (namespace, namespace path or claims_map) and reads them.
    fn hasura_claims(&self, payload: &Map<String, Json>) -> Result<HasuraClaims, EdgeError> {
        let claims: Vec<(String, Json)> = match &self.claims {
            ClaimsConfig::Map(map) => {
                let whole = Json::Object(payload.clone());
                let mut out = Vec::new();
                for (name, spec) in map {
                    let v = match spec {
                        MapValue::Literal(v) => v.clone(),
                        MapValue::Path(path, default) => {
                            match (lookup_path(&whole, path), default) {
                                (Some(v), _) => v.clone(),
                                (None, Some(d)) => d.clone(),
                                (None, None) if name == ALLOWED_ROLES || name == DEFAULT_ROLE => {
                                    return Err(jwt_error(
                                        "jwt-missing-role-claims",
                                        format!("JWT claim does not contain {name}"),
                                    ))
                                }
                                (None, None) => {
                                    return Err(invalid_claims(format!(
                                        "JWT claim from claims_map, {name} not found"
                                    )))
                                }
                            }
                        }
                    };
                    out.push((name.clone(), v));
                }
                out
            }
            ClaimsConfig::Namespace(ns, format) => {
                let found: Option<Json> = match ns {
                    Namespace::Key(k) => payload.get(k).cloned(),
                    Namespace::Path(p) => {
                        let mut unregistered = payload.clone();
                        for r in REGISTERED {
                            unregistered.remove(r);
                        }
                        lookup_path(&Json::Object(unregistered), p).cloned()
                    }
                };
                let found = found.ok_or_else(|| match ns {
                    Namespace::Key(k) => invalid_claims(format!("claims key: '{k}' not found")),
                    Namespace::Path(p) => {
                        invalid_claims(format!("claims not found at claims_namespace_path: '{p}'"))
                    }
                })?;
                return self.claims_from_value(&found, ns, *format);
            }
        };
        read_hasura_claims(claims)
    }

    fn claims_from_value(
        &self,
        found: &Json,
        ns: &Namespace,
        format: ClaimsFormat,
    ) -> Result<HasuraClaims, EdgeError> {
        let obj = match (format, found) {
            (ClaimsFormat::StringifiedJson, Json::String(s)) => {
                match serde_json::from_str::<Json>(s) {
                    Ok(Json::Object(o)) => o,
                    _ => {
                        let location = match ns {
                            Namespace::Key(k) => format!("claims_namespace {k}"),
                            Namespace::Path(p) => format!("claims_namespace_path {p}"),
                        };
                        return Err(invalid_claims(format!(
                            "expecting stringified json at: '{location}', but found: {s}"
                        )));
                    }
                }
            }
            (ClaimsFormat::StringifiedJson, _) => {
                return Err(invalid_claims(
                    "expecting a string when claims_format is stringified_json",
                ))
            }
            (ClaimsFormat::Json, Json::Object(o)) => o.clone(),
            (ClaimsFormat::Json, _) => {
                return Err(invalid_claims(
                    "expecting a json object when claims_format is json",
                ))
            }
        };
        read_hasura_claims(
            obj.into_iter()
                .filter(|(k, _)| is_session_variable(k))
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        )
    }
}

fn is_session_variable(k: &str) -> bool {
    k.len() >= 9 && k[..9].eq_ignore_ascii_case("x-hasura-")
}

/// Hasura's `claims_map`: `x-hasura-allowed-roles` and `x-hasura-default-role` are required;
/// each value is `{"path": "$...", "default": ...}` or a literal.
fn parse_claims_map(m: &Map<String, Json>) -> Result<Vec<(String, MapValue)>, String> {
    let mut out = Vec::new();
    for required in [ALLOWED_ROLES, DEFAULT_ROLE] {
        if !m.keys().any(|k| k.eq_ignore_ascii_case(required)) {
            return Err(format!("{required} is expected but not found"));
        }
    }
    let mut entries: Vec<(&String, &Json)> = m.iter().collect();
    // Allowed roles, then the default role, then the rest in config order.
    entries.sort_by_key(|(k, _)| {
        let k = k.to_ascii_lowercase();
        if k == ALLOWED_ROLES {
            0
        } else if k == DEFAULT_ROLE {
            1
        } else {
            2
        }
    });
    for (k, v) in entries {
        let name = k.to_ascii_lowercase();
        let value = match v {
            Json::Object(o) => {
                let path = o
                    .get("path")
                    .and_then(Json::as_str)
                    .ok_or_else(|| format!("claims_map.{k}: `path` is required"))?;
                parse_json_path(path)
                    .ok_or_else(|| format!("claims_map.{k}: invalid JSON path {path:?}"))?;
                MapValue::Path(path.to_string(), o.get("default").cloned())
            }
            literal => MapValue::Literal(literal.clone()),
        };
        out.push((name, value));
    }
    Ok(out)
}

/// Allowed roles, default role and the other session variables of a claims list.
fn read_hasura_claims(claims: Vec<(String, Json)>) -> Result<HasuraClaims, EdgeError> {
    let get = |name: &str| claims.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let allowed_roles = match get(ALLOWED_ROLES) {
        Some(Json::Array(a)) => a
            .iter()
            .map(|r| r.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                invalid_claims("invalid x-hasura-allowed-roles; should be a list of roles")
            })?,
        Some(_) => {
            return Err(invalid_claims(
                "invalid x-hasura-allowed-roles; should be a list of roles",
            ))
        }
        None => {
            return Err(jwt_error(
                "jwt-missing-role-claims",
                "JWT claim does not contain x-hasura-allowed-roles",
            ))
        }
    };
    let default_role = match get(DEFAULT_ROLE) {
        Some(Json::String(s)) => s.clone(),
        Some(_) => {
            return Err(invalid_claims(
                "invalid x-hasura-default-role; should be a single role name",
            ))
        }
        None => {
            return Err(jwt_error(
                "jwt-missing-role-claims",
                "JWT claim does not contain x-hasura-default-role",
            ))
        }
    };
    let mut vars = BTreeMap::new();
    for (k, v) in &claims {
        if k == ALLOWED_ROLES || k == DEFAULT_ROLE || !is_session_variable(k) {
            continue;
        }
        vars.insert(k.clone(), session_text(v));
    }
    Ok(HasuraClaims {
        allowed_roles,
        default_role,
        vars,
    })
}

/// Size and shape checks, then jwt-compact's parse (header + base64).
pub fn parse_token(token: &str) -> Result<UntrustedToken<'_>, EdgeError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid_jwt(format!(
            "JWSError (CompactDecodeError token larger than {MAX_TOKEN_BYTES} bytes)"
        )));
    }
    let parts = token.split('.').count();
    if parts != 3 {
        return Err(invalid_jwt(format!(
            "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got {parts})"
        )));
    }
    UntrustedToken::new(token)
        .map_err(|e| invalid_jwt(format!("JWSError (CompactDecodeError {e})")))
}

/// The `kid` of a token's header (unverified), to pick JWKs.
pub fn token_kid(token: &str) -> Option<String> {
    parse_token(token).ok()?.header().key_id.clone()
}

/// The `iss` claim of a token, read WITHOUT verification: only to choose which secret verifies
/// it (Hasura's rule for several secrets).
pub fn unverified_issuer(token: &str) -> Option<String> {
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let v: Json = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_string)
}

/// A claim value as session-variable text: strings as they are, lists as a Postgres array
/// literal (Hasura's format), everything else as JSON.
fn session_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Array(items) => {
            let mut out = String::from("{");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                graphedge_core::encode::write_array_element(&mut out, &session_text(item));
            }
            out.push('}');
            out
        }
        other => other.to_string(),
    }
}

fn lookup_path<'a>(v: &'a Json, path: &str) -> Option<&'a Json> {
    let mut cur = v;
    for seg in parse_json_path(path)? {
        cur = match (seg, cur) {
            (Seg::Key(k), Json::Object(o)) => o.get(&k)?,
            (Seg::Index(i), Json::Array(a)) => a.get(i)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths() {
        assert_eq!(parse_json_path("$"), Some(vec![]));
        assert_eq!(
            parse_json_path("$.a['b.c'][2]"),
            Some(vec![
                Seg::Key("a".into()),
                Seg::Key("b.c".into()),
                Seg::Index(2)
            ])
        );
        // Hasura's grammar: `$` and the first dot are optional, a dot may precede a bracket.
        let key = |k: &str| Seg::Key(k.into());
        assert_eq!(parse_json_path("a.b"), Some(vec![key("a"), key("b")]));
        assert_eq!(
            parse_json_path("$.['https://myapp.com/jwt/claims'].role.allowed"),
            Some(vec![
                key("https://myapp.com/jwt/claims"),
                key("role"),
                key("allowed")
            ])
        );
        assert_eq!(
            parse_json_path(r#"$["a\"b"]['it\'s "x"'][10]"#),
            Some(vec![key("a\"b"), key("it's \"x\""), Seg::Index(10)])
        );
        for bad in [
            "", "$.", "$..", "$.1a", "$[a]", "$['a'", "$['a']x!", "$.a b", "$[-1]",
        ] {
            assert_eq!(parse_json_path(bad), None, "{bad}");
        }
        let v = serde_json::json!({"a": {"b.c": [0, 1, {"x": 1}]}});
        assert_eq!(
            lookup_path(&v, "$.a['b.c'][2].x"),
            Some(&serde_json::json!(1))
        );
    }

    #[test]
    fn list_claims_become_pg_arrays() {
        assert_eq!(
            session_text(&serde_json::json!(["a", "b\"c"])),
            "{\"a\",\"b\\\"c\"}"
        );
        assert_eq!(session_text(&serde_json::json!(42)), "42");
    }
}
