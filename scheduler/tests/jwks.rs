//! `jwk_url` against a real HTTP server: a tiny hyper server in this test serves a JWK set with
//! configurable `Cache-Control` / `Expires` / status and counts its fetches; the edge fetches it
//! through the native [`NativeHttp`] client.
//!
//! * `jwks_cache_and_kid_refetch` — caching per `max-age`, refetch on an unknown `kid` (rate
//!   limited: a flood of made-up kids costs one fetch per interval), `Expires`, `no-store`,
//!   a failing JWKS host keeps the last good set, key/algorithm confusion through a JWK set.
//! * `native_server_verifies_jwk_url_tokens` — the `graphedge serve` binary with a `jwk_url`
//!   secret (proves the server passes its HTTP client and clock to the edge).
//! * `native_server_refreshes_stale_sets` — like Hasura, `serve` refetches a set whose
//!   `Cache-Control` made it stale in the background, without any token arriving.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use common::{http_stub, StubResponse};
use graphedge_edge::auth::authenticate_with;
use graphedge_edge::auth::jwks::JwksCache;
use graphedge_edge::auth::jwt::JwtSecret;
use graphedge_edge::Config;
use graphedge_scheduler::http_client::NativeHttp;
use jwt_compact::alg::{Es256, Hs256, Hs256Key, Rsa};
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde_json::{json, Value};

const RSA_PRIVATE: &str = include_str!("../../edge/tests/testdata/rsa_private.pem");
const RSA_PUBLIC: &str = include_str!("../../edge/tests/testdata/rsa_public.pem");
const OTHER_RSA_PRIVATE: &str = include_str!("../../edge/tests/testdata/rsa_other_private.pem");

/// What the JWKS server answers right now.
struct Served {
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

/// A JWKS server on a free loopback port, counting requests.
struct JwksServer {
    url: String,
    served: Arc<Mutex<Served>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start() -> JwksServer {
        let served = Arc::new(Mutex::new(Served {
            status: 200,
            body: "{\"keys\":[]}".into(),
            headers: Vec::new(),
        }));
        let hits = Arc::new(AtomicUsize::new(0));
        let (s, h) = (served.clone(), hits.clone());
        let base = http_stub(move |_req| {
            h.fetch_add(1, Ordering::SeqCst);
            let served = s.lock().unwrap();
            let resp = StubResponse {
                status: served.status,
                headers: served.headers.clone(),
                body: served.body.clone().into(),
            };
            async move { resp }
        })
        .await;
        let url = format!("{base}/.well-known/jwks.json");
        JwksServer { url, served, hits }
    }

    fn serve(&self, keys: &[Value], headers: &[(&str, &str)]) {
        let mut s = self.served.lock().unwrap();
        s.status = 200;
        s.body = json!({ "keys": keys }).to_string();
        s.headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }

    fn fail(&self) {
        self.served.lock().unwrap().status = 500;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa_private(pem: &str) -> rsa::RsaPrivateKey {
    use rsa::pkcs8::DecodePrivateKey;
    rsa::RsaPrivateKey::from_pkcs8_pem(pem).unwrap()
}

fn rsa_jwk(kid: &str) -> Value {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let k = rsa::RsaPublicKey::from_public_key_pem(RSA_PUBLIC).unwrap();
    json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
           "n": b64(&k.n().to_bytes_be()), "e": b64(&k.e().to_bytes_be())})
}

fn es_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap()
}

fn es_jwk(kid: &str) -> Value {
    let point = es_key().verifying_key().to_encoded_point(false);
    json!({"kty": "EC", "kid": kid, "crv": "P-256",
           "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())})
}

fn claims(now: i64) -> Claims<Value> {
    Claims::new(json!({
        "iat": now - 5, "exp": now + 3600,
        "https://hasura.io/jwt/claims": {
            "x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user",
            "x-hasura-user-id": "7"
        }
    }))
}

fn rs_token(private: &str, kid: &str, now: i64) -> String {
    Rsa::rs256()
        .token(
            &Header::empty().with_key_id(kid),
            &claims(now),
            &rsa_private(private),
        )
        .unwrap()
}

fn es_token(kid: &str, now: i64) -> String {
    Es256
        .token(&Header::empty().with_key_id(kid), &claims(now), &es_key())
        .unwrap()
}

fn jwt_config(url: &str) -> Config {
    let mut c = Config::new();
    c.admin_secrets = vec!["sekret".into()];
    c.jwt_secrets = vec![JwtSecret::from_json(&json!({"jwk_url": url})).unwrap()];
    c
}

/// Unix seconds as an IMF-fixdate.
fn http_date(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil from days (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m - 1) as usize];
    let wday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    format!(
        "{wday}, {d:02} {month} {y} {:02}:{:02}:{:02} GMT",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_cache_and_kid_refetch() {
    let server = JwksServer::start().await;
    let config = jwt_config(&server.url);
    let cache = JwksCache::default();
    let http = NativeHttp::new(std::time::Duration::from_secs(5)).unwrap();
    let t0: i64 = 1_700_000_000;
    // One checker: authenticate `token` at `now`; `Ok(role)` or the error message; and the
    // number of fetches the JWKS server has seen afterwards.
    let check = |name: &'static str,
                 token: String,
                 now: i64,
                 want: Result<&'static str, &'static str>,
                 fetches: usize| {
        let (config, cache, http, server) = (&config, &cache, &http, &server);
        async move {
            let headers = vec![("Authorization".to_string(), format!("Bearer {token}"))];
            let got = authenticate_with(config, &headers, Some(now), cache, http)
                .await
                .map(|s| s.role)
                .map_err(|e| e.message);
            match (&got, want) {
                (Ok(role), Ok(w)) => assert_eq!(role, w, "{name}"),
                (Err(msg), Err(w)) => assert!(msg.contains(w), "{name}: {msg}"),
                _ => panic!("{name}: got {got:?}, want {want:?}"),
            }
            assert_eq!(server.hits(), fetches, "{name}: fetches");
        }
    };
    server.serve(
        &[rsa_jwk("k1")],
        &[("Cache-Control", "public, max-age=300")],
    );
    check(
        "first use fetches",
        rs_token(RSA_PRIVATE, "k1", t0),
        t0,
        Ok("user"),
        1,
    )
    .await;
    check(
        "cached",
        rs_token(RSA_PRIVATE, "k1", t0),
        t0 + 10,
        Ok("user"),
        1,
    )
    .await;
    check(
        "wrong key, same kid",
        rs_token(OTHER_RSA_PRIVATE, "k1", t0),
        t0 + 10,
        Err("JWSInvalidSignature"),
        1,
    )
    .await;
    // HS256 with kid k1: an RSA JWK never verifies HMAC tokens.
    let hs = Hs256
        .token(
            &Header::empty().with_key_id("k1"),
            &claims(t0),
            &Hs256Key::new(RSA_PUBLIC.as_bytes()),
        )
        .unwrap();
    check(
        "alg confusion through a JWK set",
        hs,
        t0 + 10,
        Err("NoUsableKeys"),
        1,
    )
    .await;

    // Key rotation: a new kid is fetched at once.
    server.serve(
        &[rsa_jwk("k1"), es_jwk("k2")],
        &[("Cache-Control", "max-age=300")],
    );
    check(
        "unknown kid refetches",
        es_token("k2", t0),
        t0 + 20,
        Ok("user"),
        2,
    )
    .await;
    // A flood of made-up kids within the interval costs nothing more.
    for i in 0..50 {
        check(
            "made-up kid, rate limited",
            es_token(&format!("bogus{i}"), t0),
            t0 + 21,
            Err("NoUsableKeys"),
            2,
        )
        .await;
    }
    check(
        "made-up kid after the interval",
        es_token("bogus", t0),
        t0 + 30,
        Err("NoUsableKeys"),
        3,
    )
    .await;
    check(
        "known kid still cached",
        rs_token(RSA_PRIVATE, "k1", t0),
        t0 + 31,
        Ok("user"),
        3,
    )
    .await;

    // max-age elapsed (fetched at t0+30, fresh 300 s): refetched; now with `Expires`.
    let t1 = t0 + 331;
    server.serve(&[rsa_jwk("k1")], &[("Expires", &http_date(t1 + 100))]);
    check(
        "stale set refetches",
        rs_token(RSA_PRIVATE, "k1", t1),
        t1,
        Ok("user"),
        4,
    )
    .await;
    check(
        "fresh per Expires",
        rs_token(RSA_PRIVATE, "k1", t1),
        t1 + 99,
        Ok("user"),
        4,
    )
    .await;
    // After Expires: refetched; the set is now no-store (stale at once, refetched at most
    // once a second).
    server.serve(&[rsa_jwk("k1")], &[("Cache-Control", "no-store")]);
    check(
        "expired per Expires",
        rs_token(RSA_PRIVATE, "k1", t1),
        t1 + 100,
        Ok("user"),
        5,
    )
    .await;
    check(
        "no-store, same second",
        rs_token(RSA_PRIVATE, "k1", t1),
        t1 + 100,
        Ok("user"),
        5,
    )
    .await;
    check(
        "no-store, next second",
        rs_token(RSA_PRIVATE, "k1", t1),
        t1 + 101,
        Ok("user"),
        6,
    )
    .await;
    // The JWKS host fails: the last good set keeps working.
    server.fail();
    check(
        "failing host, stale set kept",
        rs_token(RSA_PRIVATE, "k1", t1),
        t1 + 102,
        Ok("user"),
        7,
    )
    .await;
    assert_eq!(cache.fetch_count(&server.url), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_jwks_host_without_a_set() {
    let server = JwksServer::start().await;
    server.fail();
    let config = jwt_config(&server.url);
    let cache = JwksCache::default();
    let http = NativeHttp::new(std::time::Duration::from_secs(5)).unwrap();
    let now = 1_700_000_000;
    let headers = vec![(
        "Authorization".to_string(),
        format!("Bearer {}", rs_token(RSA_PRIVATE, "k1", now)),
    )];
    for (i, t) in [now, now, now + 1].into_iter().enumerate() {
        let e = authenticate_with(&config, &headers, Some(t), &cache, &http)
            .await
            .unwrap_err();
        assert_eq!(e.code, "invalid-jwt");
        assert_eq!(
            e.message,
            format!(
                "Could not verify JWT: Non-2xx response on fetching JWK from: {}",
                server.url
            )
        );
        // The second attempt in the same second is not sent.
        assert_eq!(server.hits(), [1, 1, 2][i]);
    }
}

#[test]
fn native_server_verifies_jwk_url_tokens() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server_jwks = rt.block_on(JwksServer::start());
    server_jwks.serve(&[rsa_jwk("k1")], &[("Cache-Control", "max-age=600")]);
    let (_pg, url) = common::database();
    let secret = json!({"jwk_url": server_jwks.url}).to_string();
    let server =
        common::Server::start_with(&url, &["--admin-secret", "sekret", "--jwt-secret", &secret]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let good = format!("Bearer {}", rs_token(RSA_PRIVATE, "k1", now));
    let bad = format!("Bearer {}", rs_token(OTHER_RSA_PRIVATE, "k1", now));
    // A verified JWT user reaches the admin-only check (JWT users are not admins) ...
    let (status, body) = server.post("/v1/metadata", &[("Authorization", &good)], "{}");
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("access-denied")),
        "{body}"
    );
    assert_eq!(body["error"], "restricted access : admin only");
    // ... a token signed by another key does not; an expired one neither (the server's clock).
    let (_, body) = server.post("/v1/metadata", &[("Authorization", &bad)], "{}");
    assert_eq!(
        body["error"],
        "Could not verify JWT: JWSError JWSInvalidSignature"
    );
    let expired = format!("Bearer {}", rs_token(RSA_PRIVATE, "k1", now - 7200));
    let (_, body) = server.post("/v1/metadata", &[("Authorization", &expired)], "{}");
    assert_eq!(body["error"], "Could not verify JWT: JWTExpired");
    assert_eq!(server_jwks.hits(), 1, "the set is fetched once and cached");
    drop(rt);
}

#[test]
fn native_server_refreshes_stale_sets() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let jwks = rt.block_on(JwksServer::start());
    jwks.serve(&[rsa_jwk("k1")], &[("Cache-Control", "no-cache")]);
    let (_pg, url) = common::database();
    let secret = json!({"jwk_url": jwks.url}).to_string();
    let _server =
        common::Server::start_with(&url, &["--admin-secret", "sekret", "--jwt-secret", &secret]);
    // Fetched at start-up, then again about every second (stale at once); no token is sent.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while jwks.hits() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "hits: {}",
            jwks.hits()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(rt);
}
