//! JWT mode, data-driven: every algorithm accepts a valid token; a corpus that must all be
//! rejected (alg none, HS/RS key confusion, bad signature, expired, not yet valid, wrong
//! audience / issuer, role not allowed, malformed, oversized, missing claims); claims options
//! (namespace, namespace path, stringified, claims_map); token sources; several secrets.
//! Every case goes through one helper, [`check`]. `jwk_url` is tested against a real HTTP
//! server in `scheduler/tests/jwks.rs`.
mod common;

use std::sync::Arc;

use base64::Engine as _;
use common::*;
use graphedge_edge::auth::authenticate;
use graphedge_edge::auth::jwt::JwtSecret;
use graphedge_edge::auth::keys::Es384;
use graphedge_edge::{Config, FixedClock};
use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key, Rsa};
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde_json::{json, Value};

const NOW: i64 = 1_700_000_000;
/// 64 characters: long enough for HS512 (Hasura requires hash-size characters).
const HS_KEY: &str = "an-hmac-test-key-that-is-long-enough-for-hs512-0123456789abcdefg";

const RSA_PRIVATE: &str = include_str!("testdata/rsa_private.pem");
const RSA_PUBLIC: &str = include_str!("testdata/rsa_public.pem");
/// A self-signed certificate of RSA_PUBLIC (Hasura accepts certificates as `key`).
const RSA_CERT: &str = include_str!("testdata/rsa_cert.pem");
/// Another key: tokens it signs must not verify with RSA_PUBLIC.
const OTHER_RSA_PRIVATE: &str = include_str!("testdata/rsa_other_private.pem");

/// A key that signs test tokens (EC and Ed25519 keys are derived from fixed test seeds).
#[derive(Clone)]
enum Signer {
    Hs(&'static str, &'static str),
    Rs(&'static str, &'static str),
    Es256(u8),
    Es384(u8),
    Ed(u8),
}

fn p256_key(seed: u8) -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap()
}
fn p384_key(seed: u8) -> p384::ecdsa::SigningKey {
    p384::ecdsa::SigningKey::from_slice(&[seed; 48]).unwrap()
}
fn ed_key(seed: u8) -> ed25519_compact::KeyPair {
    ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([seed; 32]))
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

impl Signer {
    /// Signs `claims` with an optional `kid`.
    fn sign(&self, claims: &Value, kid: Option<&str>) -> String {
        let mut h = Header::empty();
        if let Some(k) = kid {
            h = h.with_key_id(k);
        }
        let c = Claims::new(claims.clone());
        match self {
            Signer::Hs("HS256", k) => Hs256.token(&h, &c, &Hs256Key::new(k.as_bytes())),
            Signer::Hs("HS384", k) => Hs384.token(&h, &c, &Hs384Key::new(k.as_bytes())),
            Signer::Hs(_, k) => Hs512.token(&h, &c, &Hs512Key::new(k.as_bytes())),
            Signer::Rs(alg, private) => {
                use rsa::pkcs8::DecodePrivateKey;
                let key = rsa::RsaPrivateKey::from_pkcs8_pem(private).unwrap();
                Rsa::with_name(alg).token(&h, &c, &key)
            }
            Signer::Es256(seed) => Es256.token(&h, &c, &p256_key(*seed)),
            Signer::Es384(seed) => Es384.token(&h, &c, &p384_key(*seed)),
            Signer::Ed(seed) => Ed25519.token(&h, &c, &ed_key(*seed).sk),
        }
        .unwrap()
    }

    /// The `type` and `key` of a JWT secret that verifies this signer's tokens.
    fn secret(&self) -> Value {
        use p256::pkcs8::EncodePublicKey;
        let le = p256::pkcs8::LineEnding::LF;
        let (ty, key) = match self {
            Signer::Hs(alg, k) => (alg.to_string(), k.to_string()),
            Signer::Rs(alg, _) => (alg.to_string(), RSA_PUBLIC.to_string()),
            Signer::Es256(s) => (
                "ES256".into(),
                p256_key(*s).verifying_key().to_public_key_pem(le).unwrap(),
            ),
            Signer::Es384(s) => (
                "ES384".into(),
                p384_key(*s).verifying_key().to_public_key_pem(le).unwrap(),
            ),
            Signer::Ed(s) => {
                let mut der = vec![
                    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
                ];
                der.extend_from_slice(ed_key(*s).pk.as_ref());
                ("Ed25519".into(), pem("PUBLIC KEY", &der))
            }
        };
        json!({"type": ty, "key": key})
    }
}

/// Standard claims, with `extra` merged in (a `null` removes a claim).
fn claims(extra: Value) -> Value {
    let mut c = json!({
        "sub": "42",
        "iat": NOW - 10,
        "exp": NOW + 3600,
        "https://hasura.io/jwt/claims": {
            "x-hasura-allowed-roles": ["user", "editor"],
            "x-hasura-default-role": "user",
            "x-hasura-user-id": "42",
            "X-Hasura-Org-Ids": ["1", "2"]
        }
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

/// A JWT-mode config with these secrets (objects; a list is several secrets).
fn config(secrets: Value) -> Config {
    let list = match secrets {
        Value::Array(a) => a,
        one => vec![one],
    };
    let mut c = Config::new();
    c.admin_secrets = vec!["sekret".into()];
    c.jwt_secrets = list
        .iter()
        .map(|s| JwtSecret::from_json(s).unwrap())
        .collect();
    c
}

/// `secret` with extra fields merged in.
fn with(mut secret: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        secret[k] = v.clone();
    }
    secret
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("Authorization".to_string(), format!("Bearer {token}"))]
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What a case must produce: a session (role and some variables) or an error (code and
/// message).
enum Expect<'a> {
    Ok(&'a str, &'a [(&'a str, &'a str)]),
    Err(&'a str, &'a str),
}

/// A named case: config, request headers, expectation.
type Case<'a> = (&'a str, &'a Config, Vec<(String, String)>, Expect<'a>);

/// The one checker: authenticates `headers` with `config` at `NOW` and compares.
fn check(name: &str, config: &Config, headers: &[(String, String)], expect: Expect<'_>) {
    let got = authenticate(config, headers, Some(NOW));
    match (expect, got) {
        (Expect::Ok(role, vars), Ok(s)) => {
            assert_eq!(s.role, role, "{name}: role");
            for (k, v) in vars {
                assert_eq!(s.var(k), Some(*v), "{name}: variable {k}");
            }
        }
        (Expect::Err(code, message), Err(e)) => {
            assert_eq!(
                (e.code.as_str(), e.message.as_str()),
                (code, message),
                "{name}"
            );
        }
        (Expect::Ok(..), Err(e)) => panic!("{name}: rejected: {} {}", e.code, e.message),
        (Expect::Err(..), Ok(s)) => panic!("{name}: accepted with role {}", s.role),
    }
}

fn all_signers() -> Vec<Signer> {
    vec![
        Signer::Hs("HS256", HS_KEY),
        Signer::Hs("HS384", HS_KEY),
        Signer::Hs("HS512", HS_KEY),
        Signer::Rs("RS256", RSA_PRIVATE),
        Signer::Rs("RS384", RSA_PRIVATE),
        Signer::Rs("RS512", RSA_PRIVATE),
        Signer::Es256(0x11),
        Signer::Es384(0x22),
        Signer::Ed(0x33),
    ]
}

#[test]
fn every_algorithm_accepts_a_valid_token_and_rejects_another_key() {
    for signer in all_signers() {
        let secret = signer.secret();
        let name = secret["type"].as_str().unwrap().to_string();
        let c = config(secret);
        let t = signer.sign(&claims(json!({})), None);
        check(
            &name,
            &c,
            &bearer(&t),
            Expect::Ok(
                "user",
                &[
                    ("x-hasura-user-id", "42"),
                    ("x-hasura-org-ids", "{\"1\",\"2\"}"),
                    ("x-hasura-role", "user"),
                ],
            ),
        );
        let mut h = bearer(&t);
        h.push(("X-Hasura-Role".into(), "editor".into()));
        check(&name, &c, &h, Expect::Ok("editor", &[]));
        let other = match signer {
            Signer::Hs(alg, _) => Signer::Hs(
                alg,
                "another-hmac-key-another-hmac-key-another-hmac-key-another-hmac!",
            ),
            Signer::Rs(alg, _) => Signer::Rs(alg, OTHER_RSA_PRIVATE),
            Signer::Es256(_) => Signer::Es256(0x44),
            Signer::Es384(_) => Signer::Es384(0x55),
            Signer::Ed(_) => Signer::Ed(0x66),
        };
        check(
            &format!("{name} signed by another key"),
            &c,
            &bearer(&other.sign(&claims(json!({})), None)),
            Expect::Err(
                "invalid-jwt",
                "Could not verify JWT: JWSError JWSInvalidSignature",
            ),
        );
    }
    // An X.509 certificate as the key.
    check(
        "RS256 certificate",
        &config(json!({"type": "RS256", "key": RSA_CERT})),
        &bearer(&Signer::Rs("RS256", RSA_PRIVATE).sign(&claims(json!({})), None)),
        Expect::Ok("user", &[]),
    );
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[test]
fn rejection_corpus() {
    let hs = config(json!({"type": "HS256", "key": HS_KEY}));
    let rs = config(json!({"type": "RS256", "key": RSA_PUBLIC}));
    let es384 = config(Signer::Es384(0x22).secret());
    let hs256 = Signer::Hs("HS256", HS_KEY);
    let good = claims(json!({}));
    let good_token = hs256.sign(&good, None);
    let mut parts = good_token.split('.');
    let (h, _p, sig) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&good)
    );
    let none_sig = format!("{}.{}.{}", b64(&json!({"alg": "none"})), b64(&good), sig);
    // HS/RS key confusion: an HS256 token whose HMAC key is the RSA public key's PEM text.
    let confused = Signer::Hs("HS256", RSA_PUBLIC).sign(&good, None);
    let tampered = format!("{h}.{}.{sig}", b64(&claims(json!({"sub": "43"}))));
    let truncated = format!("{h}.{}.{}", _p, &sig[..32]);
    let hs_sign = |extra: Value| hs256.sign(&claims(extra), None);
    let role_ns = |roles: Value| json!({"https://hasura.io/jwt/claims": roles});
    let sig_err = "Could not verify JWT: JWSError JWSInvalidSignature";
    let cases: Vec<(&str, &Config, String, &str, &str)> = vec![
        ("alg none (HS)", &hs, none.clone(), "invalid-jwt", "Could not verify JWT: JWSError (AlgorithmNotImplemented \"none\")"),
        ("alg none (RS)", &rs, none, "invalid-jwt", "Could not verify JWT: JWSError (AlgorithmNotImplemented \"none\")"),
        ("alg none with a signature", &hs, none_sig, "invalid-jwt", "Could not verify JWT: JWSError (AlgorithmNotImplemented \"none\")"),
        ("HS/RS key confusion", &rs, confused, "invalid-jwt", "Could not verify JWT: JWSError (AlgorithmMismatch \"expected RS256, the token has HS256\")"),
        ("RS token for an HS secret", &hs, Signer::Rs("RS256", RSA_PRIVATE).sign(&good, None), "invalid-jwt", "Could not verify JWT: JWSError (AlgorithmMismatch \"expected HS256, the token has RS256\")"),
        ("ES256 token for an ES384 secret", &es384, Signer::Es256(0x22).sign(&good, None), "invalid-jwt", "Could not verify JWT: JWSError (AlgorithmMismatch \"expected ES384, the token has ES256\")"),
        ("HS384 token for an HS256 secret", &hs, Signer::Hs("HS384", HS_KEY).sign(&good, None), "invalid-jwt", "Could not verify JWT: JWSError (AlgorithmMismatch \"expected HS256, the token has HS384\")"),
        ("bad signature (other RSA key)", &rs, Signer::Rs("RS256", OTHER_RSA_PRIVATE).sign(&good, None), "invalid-jwt", sig_err),
        ("tampered payload", &hs, tampered, "invalid-jwt", sig_err),
        ("truncated signature", &hs, truncated, "invalid-jwt", sig_err),
        ("expired", &hs, hs_sign(json!({"exp": NOW - 1})), "invalid-jwt", "Could not verify JWT: JWTExpired"),
        ("not yet valid", &hs, hs_sign(json!({"nbf": NOW + 600})), "invalid-jwt", "Could not verify JWT: JWTNotYetValid"),
        ("issued in the future", &hs, hs_sign(json!({"iat": NOW + 600})), "invalid-jwt", "Could not verify JWT: JWTIssuedAtFuture"),
        ("exp not a number", &hs, hs_sign(json!({"exp": "tomorrow"})), "invalid-jwt", "Could not verify JWT: JWTClaimsSetDecodeError \"invalid type: string \\\"tomorrow\\\", expected UTC timestamp at line 1 column 45\""),
        ("malformed: one part", &hs, "abc".into(), "invalid-jwt", "Could not verify JWT: JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)"),
        ("malformed: two parts", &hs, "a.b".into(), "invalid-jwt", "Could not verify JWT: JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 2)"),
        ("malformed: five parts", &hs, "....".into(), "invalid-jwt", "Could not verify JWT: JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 5)"),
        ("malformed: not base64", &hs, "a!.b.c".into(), "invalid-jwt", "Could not verify JWT: JWSError (CompactDecodeError invalid base64 decoding)"),
        ("malformed: header not JSON", &hs, format!("{}.{}.{sig}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("nope"), _p), "invalid-jwt", "Could not verify JWT: JWSError (CompactDecodeError malformed token header: expected ident at line 1 column 2)"),
        ("malformed: payload not JSON", &hs, format!("{h}.{}.{sig}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("[1")), "invalid-jwt", "Could not verify JWT: JWTClaimsSetDecodeError \"invalid type: sequence, expected struct Claims at line 1 column 0\""),
        ("oversized", &hs, hs_sign(json!({"pad": "x".repeat(20_000)})), "invalid-jwt", "Could not verify JWT: JWSError (CompactDecodeError token larger than 16384 bytes)"),
        ("missing namespace", &hs, hs_sign(json!({"https://hasura.io/jwt/claims": null})), "jwt-invalid-claims", "claims key: 'https://hasura.io/jwt/claims' not found"),
        ("namespace not an object", &hs, hs_sign(role_ns(json!("user"))), "jwt-invalid-claims", "expecting a json object when claims_format is json"),
        ("missing default role", &hs, hs_sign(role_ns(json!({"x-hasura-allowed-roles": ["user"]}))), "jwt-missing-role-claims", "JWT claim does not contain x-hasura-default-role"),
        ("missing allowed roles", &hs, hs_sign(role_ns(json!({"x-hasura-default-role": "user"}))), "jwt-missing-role-claims", "JWT claim does not contain x-hasura-allowed-roles"),
        ("allowed roles not a list", &hs, hs_sign(role_ns(json!({"x-hasura-allowed-roles": "user", "x-hasura-default-role": "user"}))), "jwt-invalid-claims", "invalid x-hasura-allowed-roles; should be a list of roles"),
        ("default role not a string", &hs, hs_sign(role_ns(json!({"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": 1}))), "jwt-invalid-claims", "invalid x-hasura-default-role; should be a single role name"),
        ("default role not allowed", &hs, hs_sign(role_ns(json!({"x-hasura-allowed-roles": ["editor"], "x-hasura-default-role": "user"}))), "access-denied", "Your requested role is not in allowed roles"),
    ];
    for (name, c, token, code, message) in cases {
        check(name, c, &bearer(&token), Expect::Err(code, message));
    }
    let mut admin = bearer(&good_token);
    admin.push(("x-hasura-role".into(), "admin".into()));
    check(
        "requested role not allowed",
        &hs,
        &admin,
        Expect::Err(
            "access-denied",
            "Your requested role is not in allowed roles",
        ),
    );
    for bad in ["Basic abc", "Bearer", "Bearer a b", "Token x.y.z"] {
        check(
            bad,
            &hs,
            &headers(&[("Authorization", bad)]),
            Expect::Err("invalid-headers", "Malformed Authorization header"),
        );
    }
    // Without a clock, tokens with time claims cannot be checked.
    let e = authenticate(&hs, &bearer(&good_token), None).unwrap_err();
    assert_eq!(
        e.message,
        "Could not verify JWT: no clock available to check exp/nbf"
    );
}

#[test]
fn audience_issuer_and_skew() {
    let hs256 = Signer::Hs("HS256", HS_KEY);
    let secret = json!({"type": "HS256", "key": HS_KEY, "audience": ["app", "other-app"], "issuer": "https://issuer", "allowed_skew": 60});
    let c = config(secret.clone());
    let single_aud = config(with(secret, json!({"audience": "app"})));
    let t = |extra: Value| bearer(&hs256.sign(&claims(extra), None));
    let ok = json!({"aud": "app", "iss": "https://issuer"});
    let cases: Vec<Case> = vec![
        ("aud string", &c, t(ok.clone()), Expect::Ok("user", &[])),
        (
            "aud list",
            &c,
            t(json!({"aud": ["x", "other-app"], "iss": "https://issuer"})),
            Expect::Ok("user", &[]),
        ),
        (
            "audience as a string",
            &single_aud,
            t(ok.clone()),
            Expect::Ok("user", &[]),
        ),
        (
            "expired within skew",
            &c,
            t(json!({"aud": "app", "iss": "https://issuer", "exp": NOW - 30})),
            Expect::Ok("user", &[]),
        ),
        (
            "nbf within skew",
            &c,
            t(json!({"aud": "app", "iss": "https://issuer", "nbf": NOW + 30})),
            Expect::Ok("user", &[]),
        ),
        (
            "expired beyond skew",
            &c,
            t(json!({"aud": "app", "iss": "https://issuer", "exp": NOW - 61})),
            Expect::Err("invalid-jwt", "Could not verify JWT: JWTExpired"),
        ),
        (
            "nbf beyond skew",
            &c,
            t(json!({"aud": "app", "iss": "https://issuer", "nbf": NOW + 61})),
            Expect::Err("invalid-jwt", "Could not verify JWT: JWTNotYetValid"),
        ),
        (
            "wrong audience",
            &c,
            t(json!({"aud": ["evil"], "iss": "https://issuer"})),
            Expect::Err("invalid-jwt", "Could not verify JWT: JWTNotInAudience"),
        ),
        (
            "missing audience",
            &c,
            t(json!({"iss": "https://issuer"})),
            Expect::Err("invalid-jwt", "Could not verify JWT: JWTNotInAudience"),
        ),
        // The token's issuer differs from the only secret's: no secret matches it.
        (
            "wrong issuer",
            &c,
            t(json!({"aud": "app", "iss": "https://evil"})),
            Expect::Err("invalid-jwt", "Could not verify JWT: JWTNotInIssuer"),
        ),
        (
            "missing issuer",
            &c,
            t(json!({"aud": "app"})),
            Expect::Err("invalid-jwt", "Could not verify JWT: JWTNotInIssuer"),
        ),
    ];
    for (name, c, h, expect) in cases {
        check(name, c, &h, expect);
    }
}

#[test]
fn claims_options() {
    let hs256 = Signer::Hs("HS256", HS_KEY);
    let base = json!({"type": "HS256", "key": HS_KEY});
    let inner = json!({"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "x-hasura-user-id": "7", "not-hasura": "x"});
    let t = |extra: Value| bearer(&hs256.sign(&claims(extra), None));
    let drop_ns = |mut v: Value| {
        v["https://hasura.io/jwt/claims"] = Value::Null;
        v
    };
    let custom_ns = config(with(
        base.clone(),
        json!({"claims_namespace": "https://myapp/claims"}),
    ));
    let path = config(with(
        base.clone(),
        json!({"claims_namespace_path": "$.hasura['claims.v1']"}),
    ));
    let stringified = config(with(
        base.clone(),
        json!({"claims_namespace_path": "$.hasura.claims", "claims_format": "stringified_json"}),
    ));
    let stringified_ns = config(with(
        base.clone(),
        json!({"claims_format": "stringified_json"}),
    ));
    let map = config(with(
        base.clone(),
        json!({"claims_map": {
            "x-hasura-allowed-roles": {"path": "$.roles"},
            "x-hasura-default-role": {"path": "$.roles[0]"},
            "x-hasura-user-id": {"path": "$.user.id", "default": "0"},
            "x-hasura-email": {"path": "$.email"},
            "x-hasura-tenant": "acme"
        }}),
    ));
    let map_defaults = config(with(
        base.clone(),
        json!({"claims_map": {
            "x-hasura-allowed-roles": {"path": "$.roles", "default": ["viewer"]},
            "x-hasura-default-role": {"path": "$.role", "default": "viewer"}
        }}),
    ));
    // Hasura's path grammar: a dot may precede a bracket.
    let map_bracket = config(with(
        base.clone(),
        json!({"claims_map": {
            "x-hasura-allowed-roles": {"path": "$.['https://myapp.com/jwt/claims'].role.allowed"},
            "x-hasura-default-role": {"path": "$.['https://myapp.com/jwt/claims'].role.default"},
            "x-hasura-user-id": {"path": "$.['https://myapp.com/jwt/claims'].user.id"}
        }}),
    ));
    let app_claims = json!({"https://myapp.com/jwt/claims": {"user": {"id": "3"}, "role": {"allowed": ["user", "editor"], "default": "editor"}}});
    let cases: Vec<Case> = vec![
        ("claims_map dotted bracket paths", &map_bracket, t(app_claims), Expect::Ok("editor", &[("x-hasura-user-id", "3")])),
        ("claims_namespace", &custom_ns, t(drop_ns(json!({"https://myapp/claims": inner.clone()}))), Expect::Ok("user", &[("x-hasura-user-id", "7")])),
        ("claims_namespace missing", &custom_ns, t(json!({})), Expect::Err("jwt-invalid-claims", "claims key: 'https://myapp/claims' not found")),
        ("claims_namespace_path", &path, t(drop_ns(json!({"hasura": {"claims.v1": inner.clone()}}))), Expect::Ok("user", &[("x-hasura-user-id", "7")])),
        ("claims_namespace_path missing", &path, t(json!({})), Expect::Err("jwt-invalid-claims", "claims not found at claims_namespace_path: '$.hasura['claims.v1']'")),
        ("stringified at a path", &stringified, t(json!({"hasura": {"claims": inner.to_string()}})), Expect::Ok("user", &[("x-hasura-user-id", "7")])),
        ("stringified in the namespace", &stringified_ns, t(json!({"https://hasura.io/jwt/claims": inner.to_string()})), Expect::Ok("user", &[("x-hasura-user-id", "7")])),
        ("stringified but an object", &stringified_ns, t(json!({})), Expect::Err("jwt-invalid-claims", "expecting a string when claims_format is stringified_json")),
        ("stringified but not JSON", &stringified_ns, t(json!({"https://hasura.io/jwt/claims": "{nope"})), Expect::Err("jwt-invalid-claims", "expecting stringified json at: 'claims_namespace https://hasura.io/jwt/claims', but found: {nope")),
        ("claims_map paths, default and literal", &map, t(json!({"roles": ["reader", "writer"], "email": "a@b.c"})), Expect::Ok("reader", &[("x-hasura-user-id", "0"), ("x-hasura-tenant", "acme"), ("x-hasura-email", "a@b.c")])),
        ("claims_map path found", &map, t(json!({"roles": ["reader"], "email": "a@b.c", "user": {"id": 9}})), Expect::Ok("reader", &[("x-hasura-user-id", "9")])),
        ("claims_map claim missing", &map, t(json!({"roles": ["reader"]})), Expect::Err("jwt-invalid-claims", "JWT claim from claims_map, x-hasura-email not found")),
        ("claims_map roles missing", &map, t(json!({"email": "a@b.c"})), Expect::Err("jwt-missing-role-claims", "JWT claim does not contain x-hasura-allowed-roles")),
        ("claims_map role defaults", &map_defaults, t(json!({})), Expect::Ok("viewer", &[])),
    ];
    for (name, c, h, expect) in cases {
        check(name, c, &h, expect);
    }
    // Config errors.
    for (bad, message) in [
        (json!({"type": "HS256"}), "key and jwk_url both cannot be empty"),
        (json!({"type": "HS256", "key": HS_KEY, "jwk_url": "https://x"}), "key, jwk_url both cannot be present"),
        (json!({"type": "HS256", "key": "short"}), "Invalid JWK: Key size too small; should be atleast 32 characters"),
        (json!({"type": "HS512", "key": &HS_KEY[..63]}), "Invalid JWK: Key size too small; should be atleast 64 characters"),
        (json!({"type": "PS256", "key": RSA_PUBLIC}), "Invalid JWK: Key type: PS256 is not supported"),
        (json!({"type": "ES256", "key": RSA_PUBLIC}), "Invalid JWK: invalid ES256 public key: unknown/unsupported algorithm OID: 1.2.840.10045.2.1"),
        (json!({"type": "RS256", "key": "not a pem"}), "Invalid JWK: expected a PEM public key"),
        (with(base.clone(), json!({"claims_namespace": "a", "claims_namespace_path": "$.b"})), "claims_namespace and claims_namespace_path both cannot be set"),
        (with(base.clone(), json!({"claims_namespace_path": "$..b"})), "invalid JSON path claims_namespace_path error: \"$..b\""),
        (with(base.clone(), json!({"claims_map": {"x-hasura-default-role": "user"}})), "x-hasura-allowed-roles is expected but not found"),
        (with(base.clone(), json!({"header": {"type": "Query"}})), "expected 'type' is 'Authorization' or 'Cookie' or 'CustomHeader'"),
        (json!({"jwk_url": "ftp://keys"}), "jwk_url must be an http(s) URL, got \"ftp://keys\""),
    ] {
        assert_eq!(JwtSecret::from_json(&bad).unwrap_err(), message, "{bad}");
    }
}

#[test]
fn token_sources() {
    let hs256 = Signer::Hs("HS256", HS_KEY);
    let base = json!({"type": "HS256", "key": HS_KEY});
    let t = hs256.sign(&claims(json!({})), None);
    let cookie = config(with(
        base.clone(),
        json!({"header": {"type": "Cookie", "name": "token"}}),
    ));
    let custom = config(with(
        base.clone(),
        json!({"header": {"type": "CustomHeader", "name": "X-Auth-Token"}}),
    ));
    let explicit = config(with(
        base.clone(),
        json!({"header": {"type": "authorization"}}),
    ));
    let mut anonymous = cookie.clone();
    anonymous.unauthorized_role = Some("anonymous".into());
    let cookie_header = format!("a=b; token={t}; c=d");
    let missing = Expect::Err(
        "invalid-headers",
        "Missing 'Authorization' or 'Cookie' header in JWT authentication mode",
    );
    let cases: Vec<Case> = vec![
        (
            "cookie",
            &cookie,
            headers(&[("Cookie", &cookie_header)]),
            Expect::Ok("user", &[]),
        ),
        (
            "cookie: Authorization ignored",
            &cookie,
            bearer(&t),
            missing,
        ),
        (
            "cookie: other cookies only",
            &cookie,
            headers(&[("Cookie", "refresh=1")]),
            Expect::Err(
                "invalid-headers",
                "Missing 'Authorization' or 'Cookie' header in JWT authentication mode",
            ),
        ),
        (
            "cookie: unauthorized role",
            &anonymous,
            headers(&[("Cookie", "refresh=1"), ("x-hasura-user-id", "1")]),
            Expect::Ok("anonymous", &[]),
        ),
        (
            "custom header",
            &custom,
            headers(&[("x-auth-token", &t)]),
            Expect::Ok("user", &[]),
        ),
        (
            "explicit Authorization",
            &explicit,
            bearer(&t),
            Expect::Ok("user", &[]),
        ),
        (
            "lower-case bearer",
            &explicit,
            headers(&[("authorization", &format!("bearer {t}"))]),
            Expect::Ok("user", &[]),
        ),
    ];
    for (name, c, h, expect) in cases {
        check(name, c, &h, expect);
    }
}

#[test]
fn several_secrets() {
    let a = Signer::Hs("HS256", HS_KEY);
    let b = Signer::Es256(0x11);
    let sa = with(a.secret(), json!({"issuer": "https://a"}));
    let sb = with(b.secret(), json!({"issuer": "https://b"}));
    let by_issuer = config(json!([sa.clone(), sb.clone()]));
    let by_location = config(json!([
        a.secret(),
        with(
            b.secret(),
            json!({"header": {"type": "Cookie", "name": "jwt"}})
        )
    ]));
    let ambiguous = config(json!([a.secret(), b.secret()]));
    let tok = |s: &Signer, iss: &str| s.sign(&claims(json!({"iss": iss})), None);
    let cookie_b = format!("jwt={}", tok(&b, "x"));
    let both = vec![
        (
            "Authorization".to_string(),
            format!("Bearer {}", tok(&a, "x")),
        ),
        ("Cookie".to_string(), cookie_b.clone()),
    ];
    let cases: Vec<Case> = vec![
        ("issuer a", &by_issuer, bearer(&tok(&a, "https://a")), Expect::Ok("user", &[])),
        ("issuer b", &by_issuer, bearer(&tok(&b, "https://b")), Expect::Ok("user", &[])),
        ("issuer b, signed by a", &by_issuer, bearer(&tok(&a, "https://b")), Expect::Err("invalid-jwt", "Could not verify JWT: JWSError (AlgorithmMismatch \"expected ES256, the token has HS256\")")),
        ("unknown issuer", &by_issuer, bearer(&tok(&a, "https://c")), Expect::Err("invalid-jwt", "Could not verify JWT: JWTNotInIssuer")),
        ("no issuer: both match", &by_issuer, bearer(&a.sign(&claims(json!({})), None)), Expect::Err("invalid-headers", "Could not verify JWT: Multiple JWTs found")),
        ("location: Authorization", &by_location, bearer(&tok(&a, "x")), Expect::Ok("user", &[])),
        ("location: cookie", &by_location, headers(&[("Cookie", &cookie_b)]), Expect::Ok("user", &[])),
        ("location: both sent", &by_location, both, Expect::Err("invalid-headers", "Could not verify JWT: Multiple JWTs found")),
        ("same location, no issuers", &ambiguous, bearer(&tok(&a, "x")), Expect::Err("invalid-headers", "Could not verify JWT: Multiple JWTs found")),
    ];
    for (name, c, h, expect) in cases {
        check(name, c, &h, expect);
    }
    // The environment variables: _SECRET and _SECRETS together.
    let env = |k: &str| match k {
        "HASURA_GRAPHQL_ADMIN_SECRETS" => Some(r#"["s1","s2"]"#.to_string()),
        "HASURA_GRAPHQL_JWT_SECRET" => Some(sa.to_string()),
        "HASURA_GRAPHQL_JWT_SECRETS" => Some(json!([sb]).to_string()),
        _ => None,
    };
    let c = Config::from_env(env).unwrap();
    assert_eq!(c.jwt_secrets.len(), 2);
    check(
        "env: b",
        &c,
        &bearer(&tok(&b, "https://b")),
        Expect::Ok("user", &[]),
    );
    check(
        "env: admin s2",
        &c,
        &headers(&[("x-hasura-admin-secret", "s2")]),
        Expect::Ok("admin", &[]),
    );
    check(
        "env: wrong admin secret",
        &c,
        &headers(&[
            ("x-hasura-admin-secret", "s3"),
            ("Authorization", &format!("Bearer {}", tok(&b, "https://b"))),
        ]),
        Expect::Err(
            "access-denied",
            "invalid x-hasura-admin-secret/x-hasura-access-key",
        ),
    );
}

#[test]
fn jwk_url_needs_outbound_http() {
    // `authenticate` (no HTTP) and `handle` (NoHttp) cannot fetch a JWK set.
    let c = config(json!({"jwk_url": "https://keys.invalid/jwks.json"}));
    let t = Signer::Rs("RS256", RSA_PRIVATE).sign(&claims(json!({})), Some("k1"));
    check(
        "no http",
        &c,
        &bearer(&t),
        Expect::Err("invalid-jwt", "Could not verify JWT: JWSError NoUsableKeys"),
    );
    let e = graphedge_edge::Engine::from_state(c, empty_state())
        .with_compiler(fake_compile)
        .with_clock(Arc::new(FixedClock(NOW)));
    let r = send(
        &e,
        &FakeDb::default(),
        req(
            "POST",
            "/v1/graphql",
            &[("Authorization", &format!("Bearer {t}"))],
            &gql("query { a }"),
        ),
    );
    assert_eq!(
        body_json(&r)["errors"][0]["message"],
        "Could not verify JWT: Error fetching JWK: this host has no outbound HTTP (requested https://keys.invalid/jwks.json)"
    );
}

#[test]
fn over_http_jwt_errors_are_200_on_graphql() {
    let hs256 = Signer::Hs("HS256", HS_KEY);
    let e = graphedge_edge::Engine::from_state(config(hs256.secret()), empty_state())
        .with_compiler(fake_compile)
        .with_clock(Arc::new(FixedClock(NOW)));
    let db = FakeDb::default();
    let t = hs256.sign(&claims(json!({"exp": NOW - 5})), None);
    let auth = format!("Bearer {t}");
    let r = send(
        &e,
        &db,
        req(
            "POST",
            "/v1/graphql",
            &[("Authorization", &auth)],
            &gql("query { a }"),
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        body_json(&r),
        json!({"errors":[{"extensions":{"path":"$","code":"invalid-jwt"},"message":"Could not verify JWT: JWTExpired"}]})
    );
    let t = hs256.sign(&claims(json!({})), None);
    let auth = format!("Bearer {t}");
    let r = send(
        &e,
        &db,
        req(
            "POST",
            "/v1/graphql",
            &[("Authorization", &auth)],
            &gql("query { a }"),
        ),
    );
    assert_eq!(body_json(&r), json!({"data": {"ok": 1}}));
    assert_eq!(
        db.statements.borrow()[0].params,
        vec![None, Some("42".to_string())]
    );
    // JWT users are not admins: metadata is refused.
    let r = send(
        &e,
        &db,
        req("POST", "/v1/metadata", &[("Authorization", &auth)], "{}"),
    );
    assert_eq!(r.status, 400);
    assert_eq!(body_json(&r)["code"], "access-denied");
}
