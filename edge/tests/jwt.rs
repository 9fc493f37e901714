//! JWT mode: HS256 and RS256 tokens that must be accepted, and a corpus that must be rejected
//! (alg none, HS/RS confusion, bad signature, expired, nbf in the future, wrong aud/iss, role
//! not allowed, malformed, oversized).
mod common;

use std::sync::Arc;

use base64::Engine as _;
use common::*;
use graphedge_edge::auth::{authenticate, jwt::JwtSecret};
use graphedge_edge::{Config, FixedClock};
use jwt_compact::alg::{Hs256, Hs256Key, Rsa};
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde_json::{json, Value};

const NOW: i64 = 1_700_000_000;
const HS_KEY: &str = "an-hs256-test-key-that-is-long-enough-000";

/// A fixed RSA test key pair (generated once with `openssl genpkey`; test-only).
const RSA_PRIVATE: &str = r#"
-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDqdSbKbTpED34V
iaarrgCdn2+DJMd30xpHGlx+lzIpIhwlYVxK2mOCb04taxwFKhQhMOPYB130Q95I
hHEoQ9ua94M90wwiKodpyEwZpQMHXms3K/5JMKUs0mUZfL7xKvEGQkJlKmGALAMV
r480JEG/M7rArESL38ZTC131AHdipfPr/svJpe8zwsOWg90Gy6/vsnSU0MrKt2pm
1n/GVaNwj03XG+diuDblxnNlVQG43ejG9Gxqz+IaxjzeKNN2w0Eqfv7XdQUQTXqj
ODV7xkXKUssA30OsK3hPqdEHHYBbDvGCpTsYYnZDIUbnXUeaKoS5G06yP8nL9F8i
aSdssO4LAgMBAAECggEAO+rhlXTxoYgmDEIH5rMKtD2VJXpGQbCg9A/gGHfyWUG+
2Ky3heem66QfYgsP95/n0g2pBMHpOG4JxhWWx5gD7OgZUbj4Tlj5D0chb6JUklMG
amyjSTgV1k0Uij1vnLmBLDzNtAXvMe7NgQLDQauMY91H+kpsICT5jaqHgf/zArHy
SCGS8fqlVMpfF4okGpRF3qNWqPDDpKOKVN42XxdxgySW+O87nnlN/cZV0XJftxvX
wEbZU7jeN+OjYj1X4y7ER2X0OjJ8vPtnEnw5WYx4ED3Lf9WqnVqpH4UPlyoNRTWL
G2q7vl+w3C/9gQhwqRMAIFA1J8NnVjay0WSSUiRSWQKBgQD9W9kuU38v2emwtg+q
cDMKqEO8k7tWxF9A9dyeAUdz5YE8zA7zTba/UieFMVJsA9AcBnWQ1+7G5qPnUdoy
Ig/0N+VFODsn/eqZbIRalDXcC2urP00ta/+r/n9h0dRyQ+tEVdT9YMCTB6pobYHN
26ExtznL6CMc2IR12XiuR8qswwKBgQDs5txUiUV9B9FyxqJRWIqPsrL4GuTDAOxN
2ATYX1wdTJ1G8+vcV2OyRQc7yvv4uTH7PzbBy2pV4O7EJt9sL0fNVraejsLHjROO
wr8Tp0VPCikTLqoZsIDtkRO0OVGEKaMSWrlnJUHNh44bXP4X0DnuX8N77U/2dFed
iAOu4fzFGQKBgQCu7HtGQN/PaeSu3QRz6INVGFesG1N81JfvgdCQRtHOcuaH01t/
IGjMLyyaCTOe4AMPVmZVWsDBEvyW+Sxs8JeTRgRFhk1Rjz4qL4IyB6IoCrqLwWjH
s4kSduP75aOIQNxukdQ8HFDZMrG05+Z2+uyQJrEA14VmpRbPRxbLPUXxgQKBgQC5
MiyyRXG2MYNyJ4hC8WW4umkgfd2x+CnDHQmEoN+g5ADbs9oBsat1dHMYMjHSmexR
znQfAcdKBYKCgyUMLNYD1zMCNvZcC5RreSDo203aYUYFAejmFk5j6ZMuw9RO7kHW
GmhwEvcjFkJob8UPlq+DAwgN/FITh5Xqx6ahc3coGQKBgQDpY8HgH76xGXHWMUgV
9qJ05DM4d4oDjNYoHiSKVc1/WB+i105IZw71DK25jmOPjHlU4ylx+7lT7VJ1UL7Y
3MLolzX8DPSbkpOzx9W3YZs/gR6PGvbA6Kkp2q505vgF/5DOtS3upFkqeCSBUduX
l6qJ9lj83/IlVMFhTRRUMzGgPQ==
-----END PRIVATE KEY-----
"#;
const RSA_PUBLIC: &str = r#"
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA6nUmym06RA9+FYmmq64A
nZ9vgyTHd9MaRxpcfpcyKSIcJWFcStpjgm9OLWscBSoUITDj2Add9EPeSIRxKEPb
mveDPdMMIiqHachMGaUDB15rNyv+STClLNJlGXy+8SrxBkJCZSphgCwDFa+PNCRB
vzO6wKxEi9/GUwtd9QB3YqXz6/7LyaXvM8LDloPdBsuv77J0lNDKyrdqZtZ/xlWj
cI9N1xvnYrg25cZzZVUBuN3oxvRsas/iGsY83ijTdsNBKn7+13UFEE16ozg1e8ZF
ylLLAN9DrCt4T6nRBx2AWw7xgqU7GGJ2QyFG511HmiqEuRtOsj/Jy/RfImknbLDu
CwIDAQAB
-----END PUBLIC KEY-----
"#;
/// Another private key: tokens it signs must not verify with RSA_PUBLIC.
const OTHER_RSA_PRIVATE: &str = r#"
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDc2bUTbE/hDbH5
ZpdhmvMRp1sHMhh4/kT8TUEWooIno3q0yd+FYYG5mlPHiDMS5fGmpJLkq1JbUmGu
woC/E45bNF5PO/Fn9P2M/6AS3SNlmSKCxW5ffZOnGnjRvv+vzKj3JwZWIxzhYk+N
Wb4IyULRD1c3ZgKTvxx2tuGIy/h277qNh0esHd3DD7DBpnrBPeGtW6s+P0zNQCXj
v7n1JuOjysmXsHEaKmfOGduQcexBiKnolpsIhQuKH+GKKf99r7wrBTqLApYODSwE
LYU/oAFVt+exNK+Z5BjyxrU+7kH7woIQKt3z+5rrnMeZu8YDRX5oJNMwLTy2y+rh
+mL1XdBVAgMBAAECggEACJC5/N+bxnz3PNa9gsfVawccWO5YtCKabtWZM2VImnx0
5xuYO25Rb28cljXCU1aPNXkXCF7bohaTGsnI4ABEamWgzb5jqbY++i+0195zP769
b6h0FCiE6Dt22Z2ogXs0x2cgUAlrFpOvRapoHCOgH4cSiR+/9FZ6ZmFH5HwSrhwi
IwlJCqqzNJSvXwj7tk2vqPv8ZtNAnbk9uD8GY56oOpr/gzVsj02yjXAmlZAwe7pH
EbzkkRwgv0ZVoOGtuvcJ+PSs0te/vjRP4gQKS+og0mLt/k2oQOPwvvTGnopE4MnF
cyyvjd0rCv5T63QmrKaS+6PQErdlIiYie0skIY/7YQKBgQD0NDNBktUnabHMPna5
goJIOFEsS6P7hR/mWsN4MvbUnUngdFCBwQisTgw3YMV3FarILswY/Ojy+pwmg9oa
lJfp8ny/m8k4o/LGC8itKFlD79TZNs5e5XyTTxMVJtF9xe8ze8C5aj7OXnQJk+eL
Ik/dAN85AsDWS3B4SyA7XnAntQKBgQDnhLhoGiqI8oUAUEnKbo8V8+FwifH3UVsm
FHSGlbDd+XZ/6tpn/ETfUSYJvSE12m9jrPQMdPDwqTB/M5qw82O37xhHAzWUT3ub
i1/aL3TLZXVv5jpyY9xdymzwXBu3lu1+rZSY9op5fj2f9Ix7Dlu4S5Hf6/W+hJxF
jOTWnfEqIQKBgQDRJ8BawmsEFbetijZfjtMNDgcgHCz36L44qrZORcA4u/qhXp3x
dCZ8hWBbMewOoaUjTUmLgVn3egOxzS5Jo8k1G3YTGlfOxkTRsRgQjsVdtZUk8Zbx
mjYHaSub6yJ0Scok2zJm3AOs9yMFbQNcnGewjuWhS6VkJTrQHPAfSTRgHQKBgA/0
+NTMAOSBeqND5WIbbqc/sOkVyOSX6eVdAY8JIDCccgts/3KtU33k1O9U5sYUcRr4
n7WAFd8wehQ6VU4e6F+UDiNO2FGJjOZym7+pB67BJm/4+UxLD7QzMID8iDiGIYZa
pmRIkdC/37V3oHsWyUGRi9NYKw7fivnMNTWJm0ahAoGBAMxag0g87yTbHDafiwR8
t0bom4q6/qHIHLzUHGfzUvdQktAK37ogCmPdC7EMh32S+5cU6sG2UPcL/V2nqy0l
H19JnlCaFemTTiGWsY4CkKYUq1oJYLDpvIxgZ9zYnzavVleWQ8nERwguDlZfIhgr
basW6yZdjCiNjN8iTQgidMq8
-----END PRIVATE KEY-----
"#;

fn claims(extra: Value) -> Value {
    let mut c = json!({
        "sub": "42",
        "iat": NOW - 10,
        "exp": NOW + 3600,
        "https://hasura.io/jwt/claims": {
            "x-hasura-allowed-roles": ["user", "editor"],
            "x-hasura-default-role": "user",
            "x-hasura-user-id": "42",
            "x-hasura-org-ids": ["1", "2"]
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

fn hs_token(key: &str, c: &Value) -> String {
    Hs256
        .token(
            &Header::empty(),
            &Claims::new(c.clone()),
            &Hs256Key::new(key.as_bytes()),
        )
        .unwrap()
}

fn rs_token(private_pem: &str, c: &Value) -> String {
    use rsa::pkcs8::DecodePrivateKey;
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(private_pem).unwrap();
    Rsa::rs256()
        .token(&Header::empty(), &Claims::new(c.clone()), &key)
        .unwrap()
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn config(secret: Value) -> Config {
    let mut c = Config::new();
    c.admin_secrets = vec!["sekret".into()];
    c.jwt_secrets = vec![JwtSecret::from_json(&secret).unwrap()];
    c
}

fn hs_config() -> Config {
    config(json!({"type": "HS256", "key": HS_KEY}))
}

fn rs_config() -> Config {
    config(json!({"type": "RS256", "key": RSA_PUBLIC}))
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("Authorization".to_string(), format!("Bearer {token}"))]
}

/// The error (code, message) of authenticating with this token.
fn reject(c: &Config, token: &str) -> (String, String) {
    let e = authenticate(c, &bearer(token), Some(NOW)).expect_err("token must be rejected");
    (e.code, e.message)
}

#[test]
fn accepts_hs256_and_reads_claims() {
    let c = hs_config();
    let s = authenticate(
        &c,
        &bearer(&hs_token(HS_KEY, &claims(json!({})))),
        Some(NOW),
    )
    .unwrap();
    assert_eq!(s.role, "user");
    assert_eq!(s.var("x-hasura-user-id"), Some("42"));
    assert_eq!(s.var("x-hasura-org-ids"), Some("{\"1\",\"2\"}"));
    // A requested role among the allowed ones.
    let mut h = bearer(&hs_token(HS_KEY, &claims(json!({}))));
    h.push(("X-Hasura-Role".into(), "editor".into()));
    assert_eq!(authenticate(&c, &h, Some(NOW)).unwrap().role, "editor");
}

#[test]
fn accepts_rs256() {
    let s = authenticate(
        &rs_config(),
        &bearer(&rs_token(RSA_PRIVATE, &claims(json!({})))),
        Some(NOW),
    )
    .unwrap();
    assert_eq!(s.role, "user");
}

#[test]
fn rejection_corpus() {
    let hs = hs_config();
    let rs = rs_config();
    let good = claims(json!({}));
    // alg none.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&good)
    );
    assert_eq!(reject(&hs, &none).0, "invalid-jwt");
    assert_eq!(reject(&rs, &none).0, "invalid-jwt");
    // HS/RS confusion: an HS256 token keyed with the RSA public key.
    assert_eq!(reject(&rs, &hs_token(RSA_PUBLIC, &good)).0, "invalid-jwt");
    // Bad signatures.
    assert_eq!(
        reject(
            &hs,
            &hs_token("another-key-another-key-another-key!", &good)
        )
        .1,
        "Could not verify JWT: JWSError JWSInvalidSignature"
    );
    assert_eq!(
        reject(&rs, &rs_token(OTHER_RSA_PRIVATE, &good)).0,
        "invalid-jwt"
    );
    let t = hs_token(HS_KEY, &good);
    let tampered = format!(
        "{}.{}.{}",
        t.split('.').next().unwrap(),
        b64(&claims(json!({"sub": "43"}))),
        t.split('.').nth(2).unwrap()
    );
    assert_eq!(reject(&hs, &tampered).0, "invalid-jwt");
    // Expired; nbf in the future.
    assert_eq!(
        reject(&hs, &hs_token(HS_KEY, &claims(json!({"exp": NOW - 1})))).1,
        "Could not verify JWT: JWTExpired"
    );
    assert_eq!(
        reject(&hs, &hs_token(HS_KEY, &claims(json!({"nbf": NOW + 600})))).1,
        "Could not verify JWT: JWTNotYetValid"
    );
    // Malformed.
    for t in ["abc", "a.b", "a.b.c", "....", "", "\u{0}.x.y"] {
        let e = authenticate(&hs, &bearer(t), Some(NOW));
        assert!(e.is_err(), "{t:?}");
    }
    // Oversized.
    let big = claims(json!({"pad": "x".repeat(20_000)}));
    assert_eq!(reject(&hs, &hs_token(HS_KEY, &big)).0, "invalid-jwt");
    // Role not allowed.
    let mut h = bearer(&hs_token(HS_KEY, &good));
    h.push(("x-hasura-role".into(), "admin".into()));
    assert_eq!(
        authenticate(&hs, &h, Some(NOW)).unwrap_err().message,
        "Your requested role is not in allowed roles"
    );
    // Missing claims.
    let no_ns = claims(json!({"https://hasura.io/jwt/claims": null}));
    assert_eq!(
        reject(&hs, &hs_token(HS_KEY, &no_ns)).0,
        "jwt-invalid-claims"
    );
    let no_default =
        claims(json!({"https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["user"]}}));
    assert_eq!(
        reject(&hs, &hs_token(HS_KEY, &no_default)).1,
        "JWT claim does not contain x-hasura-default-role"
    );
    // Malformed Authorization header.
    let e = authenticate(
        &hs,
        &[("authorization".into(), "Basic abc".into())],
        Some(NOW),
    )
    .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("invalid-headers", "Malformed Authorization header")
    );
    // No clock: tokens with time claims cannot be checked.
    assert!(authenticate(&hs, &bearer(&hs_token(HS_KEY, &good)), None).is_err());
}

#[test]
fn audience_issuer_and_skew() {
    let c = config(
        json!({"type": "HS256", "key": HS_KEY, "audience": ["app"], "issuer": "https://issuer", "allowed_skew": 60}),
    );
    let ok = claims(json!({"aud": "app", "iss": "https://issuer", "exp": NOW - 30}));
    assert!(authenticate(&c, &bearer(&hs_token(HS_KEY, &ok)), Some(NOW)).is_ok());
    let wrong_aud = claims(json!({"aud": ["other"], "iss": "https://issuer"}));
    assert_eq!(
        reject(&c, &hs_token(HS_KEY, &wrong_aud)).1,
        "Could not verify JWT: JWTNotInAudience"
    );
    let wrong_iss = claims(json!({"aud": "app", "iss": "https://evil"}));
    assert_eq!(
        reject(&c, &hs_token(HS_KEY, &wrong_iss)).1,
        "Could not verify JWT: JWTNotInIssuer"
    );
    let no_aud = claims(json!({"iss": "https://issuer"}));
    assert_eq!(
        reject(&c, &hs_token(HS_KEY, &no_aud)).1,
        "Could not verify JWT: JWTNotInAudience"
    );
}

#[test]
fn namespace_path_stringified_and_cookie() {
    let c = config(
        json!({"type": "HS256", "key": HS_KEY, "claims_namespace_path": "$.hasura.claims", "claims_format": "stringified_json",
                          "header": {"type": "Cookie", "name": "token"}}),
    );
    let inner = json!({"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "x-hasura-user-id": "7"}).to_string();
    let t = hs_token(
        HS_KEY,
        &claims(json!({"https://hasura.io/jwt/claims": null, "hasura": {"claims": inner}})),
    );
    let h = vec![("Cookie".to_string(), format!("a=b; token={t}"))];
    let s = authenticate(&c, &h, Some(NOW)).unwrap();
    assert_eq!(s.var("x-hasura-user-id"), Some("7"));
    // No token at all and no unauthorized role.
    let e = authenticate(
        &c,
        &[("Cookie".into(), "refresh_token=john_doe".into())],
        Some(NOW),
    )
    .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        (
            "invalid-headers",
            "Missing 'Authorization' or 'Cookie' header in JWT authentication mode"
        )
    );
    let mut c2 = c.clone();
    c2.unauthorized_role = Some("anonymous".into());
    assert_eq!(authenticate(&c2, &[], Some(NOW)).unwrap().role, "anonymous");
}

#[test]
fn claims_map() {
    let c = config(json!({"type": "HS256", "key": HS_KEY, "claims_map": {
        "x-hasura-allowed-roles": {"path": "$.roles"},
        "x-hasura-default-role": {"path": "$.roles[0]"},
        "x-hasura-user-id": {"path": "$.uid", "default": "0"},
        "x-hasura-tenant": "acme"
    }}));
    let t = hs_token(HS_KEY, &claims(json!({"roles": ["reader", "writer"]})));
    let s = authenticate(&c, &bearer(&t), Some(NOW)).unwrap();
    assert_eq!(
        (
            s.role.as_str(),
            s.var("x-hasura-user-id"),
            s.var("x-hasura-tenant")
        ),
        ("reader", Some("0"), Some("acme"))
    );
}

#[test]
fn over_http_jwt_errors_are_200_on_graphql() {
    let e = graphedge_edge::Engine::from_state(hs_config(), empty_state())
        .with_compiler(fake_compile)
        .with_clock(Arc::new(FixedClock(NOW)));
    let db = FakeDb::default();
    let t = hs_token(HS_KEY, &claims(json!({"exp": NOW - 5})));
    let r = send(
        &e,
        &db,
        req(
            "POST",
            "/v1/graphql",
            &[("Authorization", &format!("Bearer {t}"))],
            &gql("query { a }"),
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        body_json(&r),
        json!({"errors":[{"extensions":{"path":"$","code":"invalid-jwt"},"message":"Could not verify JWT: JWTExpired"}]})
    );
    let t = hs_token(HS_KEY, &claims(json!({})));
    let r = send(
        &e,
        &db,
        req(
            "POST",
            "/v1/graphql",
            &[("Authorization", &format!("Bearer {t}"))],
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
        req(
            "POST",
            "/v1/metadata",
            &[("Authorization", &format!("Bearer {t}"))],
            "{}",
        ),
    );
    assert_eq!(r.status, 400);
}
