//! JWT verification in Hasura's mode (`HASURA_GRAPHQL_JWT_SECRET`): the secret's JSON config,
//! token lookup (Authorization header, cookie or custom header), signature check with
//! jwt-compact (HS256/384/512, RS256/384/512; the algorithm is fixed by the config, never by
//! the token), time claims checked against the host's clock, audience/issuer, and extraction
//! of the Hasura claims (`x-hasura-allowed-roles`, `x-hasura-default-role`, `x-hasura-*`).
//!
//! Error messages follow Hasura's (`Could not verify JWT: JWTExpired`, ...).
use std::collections::BTreeMap;
use std::fmt;

use jwt_compact::alg::{Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key, Rsa};
use jwt_compact::{AlgorithmExt, UntrustedToken, ValidationError};
use serde_json::{Map, Value as Json};

use crate::error::EdgeError;

/// Tokens longer than this are rejected before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Hasura's default claims namespace.
pub const DEFAULT_NAMESPACE: &str = "https://hasura.io/jwt/claims";

#[derive(Clone)]
enum Key {
    Hs256(Vec<u8>),
    Hs384(Vec<u8>),
    Hs512(Vec<u8>),
    Rsa(Rsa, rsa::RsaPublicKey),
}

/// Where the token is read from (`header` of the JWT config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (default).
    Authorization,
    /// A cookie with this name.
    Cookie(String),
    /// A header with this name (lower-cased).
    CustomHeader(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClaimsFormat {
    Json,
    StringifiedJson,
}

/// One configured JWT secret.
#[derive(Clone)]
pub struct JwtSecret {
    alg: String,
    key: Key,
    claims_namespace: String,
    claims_namespace_path: Option<String>,
    claims_format: ClaimsFormat,
    claims_map: Option<Map<String, Json>>,
    audience: Option<Vec<String>>,
    issuer: Option<String>,
    allowed_skew: i64,
    pub source: TokenSource,
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("JwtSecret")
            .field("alg", &self.alg)
            .field("claims_namespace", &self.claims_namespace)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The Hasura claims of a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HasuraClaims {
    pub allowed_roles: Vec<String>,
    pub default_role: String,
    /// Every `x-hasura-*` claim (lower-cased), as session-variable text.
    pub vars: BTreeMap<String, String>,
}

fn jwt_error(code: &str, message: impl Into<String>) -> EdgeError {
    EdgeError::new(400, code, message)
}

fn invalid_jwt(what: impl fmt::Display) -> EdgeError {
    jwt_error("invalid-jwt", format!("Could not verify JWT: {what}"))
}

impl JwtSecret {
    /// Parses one JWT secret config object (Hasura's format).
    pub fn from_json(v: &Json) -> Result<JwtSecret, String> {
        let o = v.as_object().ok_or("expected a JSON object")?;
        if o.contains_key("jwk_url") {
            return Err("jwk_url is not supported yet; configure `type` and `key`".into());
        }
        let alg = o
            .get("type")
            .and_then(Json::as_str)
            .ok_or("`type` is required")?
            .to_string();
        let key_text = o
            .get("key")
            .and_then(Json::as_str)
            .ok_or("`key` is required")?;
        let key = match alg.as_str() {
            "HS256" => Key::Hs256(key_text.as_bytes().to_vec()),
            "HS384" => Key::Hs384(key_text.as_bytes().to_vec()),
            "HS512" => Key::Hs512(key_text.as_bytes().to_vec()),
            "RS256" | "RS384" | "RS512" => {
                let rsa_alg: Rsa = alg.parse().map_err(|_| format!("unsupported type {alg}"))?;
                Key::Rsa(rsa_alg, parse_rsa_public_key(key_text)?)
            }
            other => {
                return Err(format!(
                    "unsupported JWT type {other:?} (HS256/384/512, RS256/384/512)"
                ))
            }
        };
        let string = |name: &str| -> Result<Option<String>, String> {
            match o.get(name) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("`{name}` must be a string")),
            }
        };
        let claims_format = match string("claims_format")?.as_deref() {
            None | Some("json") => ClaimsFormat::Json,
            Some("stringified_json") => ClaimsFormat::StringifiedJson,
            Some(other) => return Err(format!("unknown claims_format {other:?}")),
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
            Some(v) => v.as_f64().ok_or("`allowed_skew` must be a number")? as i64,
        };
        let source = match o.get("header") {
            None | Some(Json::Null) => TokenSource::Authorization,
            Some(h) => {
                let ty = h
                    .get("type")
                    .and_then(Json::as_str)
                    .ok_or("`header.type` is required")?;
                let name = h.get("name").and_then(Json::as_str).map(str::to_string);
                match ty {
                    "Authorization" => TokenSource::Authorization,
                    "Cookie" => {
                        TokenSource::Cookie(name.ok_or("`header.name` is required for Cookie")?)
                    }
                    "CustomHeader" => TokenSource::CustomHeader(
                        name.ok_or("`header.name` is required for CustomHeader")?
                            .to_ascii_lowercase(),
                    ),
                    other => return Err(format!("unknown header type {other:?}")),
                }
            }
        };
        let claims_namespace_path = string("claims_namespace_path")?;
        if let Some(p) = &claims_namespace_path {
            parse_json_path(p).ok_or_else(|| format!("invalid claims_namespace_path {p:?}"))?;
        }
        let claims_map = match o.get("claims_map") {
            None | Some(Json::Null) => None,
            Some(Json::Object(m)) => Some(m.clone()),
            Some(_) => return Err("`claims_map` must be an object".into()),
        };
        Ok(JwtSecret {
            alg,
            key,
            claims_namespace: string("claims_namespace")?
                .unwrap_or_else(|| DEFAULT_NAMESPACE.into()),
            claims_namespace_path,
            claims_format,
            claims_map,
            audience,
            issuer: string("issuer")?,
            allowed_skew,
            source,
        })
    }

    /// Verifies `token` at unix time `now` (seconds; `None`: the host has no clock, so tokens
    /// with time claims are rejected) and extracts the Hasura claims.
    pub fn verify(&self, token: &str, now: Option<i64>) -> Result<HasuraClaims, EdgeError> {
        let payload = self.verify_payload(token, now)?;
        self.hasura_claims(&payload)
    }

    /// Signature, time, audience and issuer checks; returns the whole claims object.
    fn verify_payload(
        &self,
        token: &str,
        now: Option<i64>,
    ) -> Result<Map<String, Json>, EdgeError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid_jwt("JWSError (CompactDecodeError token too large)"));
        }
        let parts = token.split('.').count();
        if parts != 3 {
            return Err(invalid_jwt(format!(
                "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got {parts})"
            )));
        }
        let untrusted = UntrustedToken::new(token)
            .map_err(|e| invalid_jwt(format!("JWSError (CompactDecodeError {e})")))?;
        if untrusted.algorithm() != self.alg {
            return Err(invalid_jwt("JWSError (AlgorithmMismatch \"token algorithm does not match the configured one\")"));
        }
        let checked = match &self.key {
            Key::Hs256(k) => Hs256
                .validator::<Map<String, Json>>(&Hs256Key::new(k))
                .validate(&untrusted),
            Key::Hs384(k) => Hs384
                .validator::<Map<String, Json>>(&Hs384Key::new(k))
                .validate(&untrusted),
            Key::Hs512(k) => Hs512
                .validator::<Map<String, Json>>(&Hs512Key::new(k))
                .validate(&untrusted),
            Key::Rsa(alg, k) => alg.validator::<Map<String, Json>>(k).validate(&untrusted),
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

    /// Finds the Hasura claims object (namespace, namespace path or claims_map) and reads it.
    fn hasura_claims(&self, payload: &Map<String, Json>) -> Result<HasuraClaims, EdgeError> {
        let whole = Json::Object(payload.clone());
        let claims: Map<String, Json> = if let Some(map) = &self.claims_map {
            let mut out = Map::new();
            for (k, spec) in map {
                let v = match spec {
                    Json::Object(o) if o.contains_key("path") => {
                        let path = o.get("path").and_then(Json::as_str).unwrap_or("$");
                        match lookup_path(&whole, path) {
                            Some(v) => v.clone(),
                            None => match o.get("default") {
                                Some(d) => d.clone(),
                                None => {
                                    return Err(jwt_error(
                                        "jwt-invalid-claims",
                                        format!(
                                            "value for the claim {k:?} not found at path {path:?}"
                                        ),
                                    ))
                                }
                            },
                        }
                    }
                    literal => literal.clone(),
                };
                out.insert(k.clone(), v);
            }
            out
        } else {
            let found = match &self.claims_namespace_path {
                Some(p) => lookup_path(&whole, p).ok_or_else(|| {
                    jwt_error(
                        "jwt-invalid-claims",
                        format!("claims not found at claims_namespace_path: '{p}'"),
                    )
                })?,
                None => payload.get(&self.claims_namespace).ok_or_else(|| {
                    jwt_error(
                        "jwt-invalid-claims",
                        format!("claims key: '{}' not found", self.claims_namespace),
                    )
                })?,
            };
            let obj = match (self.claims_format, found) {
                (ClaimsFormat::StringifiedJson, Json::String(s)) => serde_json::from_str::<Json>(s)
                    .map_err(|e| {
                        jwt_error(
                            "jwt-invalid-claims",
                            format!("invalid stringified JSON claims: {e}"),
                        )
                    })?,
                (_, v) => v.clone(),
            };
            match obj {
                Json::Object(o) => o,
                _ => {
                    return Err(jwt_error(
                        "jwt-invalid-claims",
                        "hasura claims must be an object",
                    ))
                }
            }
        };
        let get = |name: &str| {
            claims
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let allowed_roles = match get("x-hasura-allowed-roles") {
            Some(Json::Array(a)) => a
                .iter()
                .map(|r| r.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    jwt_error(
                        "jwt-invalid-claims",
                        "invalid x-hasura-allowed-roles; should be a list of roles",
                    )
                })?,
            Some(_) => {
                return Err(jwt_error(
                    "jwt-invalid-claims",
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
        let default_role = match get("x-hasura-default-role") {
            Some(Json::String(s)) => s.clone(),
            Some(_) => {
                return Err(jwt_error(
                    "jwt-invalid-claims",
                    "invalid x-hasura-default-role; should be a role",
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
            let lk = k.to_ascii_lowercase();
            if !lk.starts_with("x-hasura-")
                || lk == "x-hasura-allowed-roles"
                || lk == "x-hasura-default-role"
            {
                continue;
            }
            vars.insert(lk, session_text(v));
        }
        Ok(HasuraClaims {
            allowed_roles,
            default_role,
            vars,
        })
    }
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
                let text = session_text(item);
                out.push('"');
                for ch in text.chars() {
                    if ch == '"' || ch == '\\' {
                        out.push('\\');
                    }
                    out.push(ch);
                }
                out.push('"');
            }
            out.push('}');
            out
        }
        other => other.to_string(),
    }
}

/// Parses an RSA public key in PEM: SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
fn parse_rsa_public_key(pem: &str) -> Result<rsa::RsaPublicKey, String> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    let pem = pem.trim();
    if pem.contains("BEGIN CERTIFICATE") {
        return Err("X.509 certificates are not supported yet; give the public key PEM".into());
    }
    rsa::RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|e| format!("invalid RSA public key: {e}"))
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Parses Hasura's JSON paths: `$`, `$.a.b`, `$['a.b']`, `$["a"][0]`.
fn parse_json_path(p: &str) -> Option<Vec<Seg>> {
    let mut rest = p.trim().strip_prefix('$')?;
    let mut segs = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            segs.push(Seg::Key(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let quote = r.chars().next()?;
            if quote == '\'' || quote == '"' {
                let body = &r[1..];
                let end = body.find(quote)?;
                segs.push(Seg::Key(body[..end].to_string()));
                rest = body[end + 1..].strip_prefix(']')?;
            } else {
                let end = r.find(']')?;
                segs.push(Seg::Index(r[..end].trim().parse().ok()?));
                rest = &r[end + 1..];
            }
        } else {
            return None;
        }
    }
    Some(segs)
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
        assert_eq!(parse_json_path("a.b"), None);
        assert_eq!(parse_json_path("$.."), None);
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
