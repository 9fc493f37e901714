//! `jwk_url`: the JWK sets of JWT secrets, fetched through the host's [`HttpClient`] and cached
//! in the [`Engine`](crate::Engine).
//!
//! - A fetched set is fresh for `Cache-Control: max-age` (or `s-maxage`) seconds, else until
//!   `Expires`, else [`DEFAULT_TTL`]; `no-cache` / `no-store` (and `must-revalidate` without a
//!   max-age) make it stale at once. Time is the engine's clock, never the OS's.
//! - A token whose `kid` is not in a fresh set triggers a refetch (the issuer rotated its keys;
//!   Hasura issue 9759) — at most once per [`KID_REFETCH_SECS`] per URL, so a flood of tokens
//!   with made-up `kid`s cannot hammer the JWKS host.
//! - A stale set is refetched at most once per [`RETRY_SECS`]; meanwhile (and when a refetch
//!   fails) the last good set keeps being used.
//! - The lock is never held across the fetch: the decision is taken and recorded under the
//!   lock, the fetch runs without it, the result is stored under it again.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;

use super::keys::VerifyKey;
use crate::http::{HttpClient, HttpRequest};

/// Freshness of a set whose response has neither `Cache-Control` nor `Expires` (Hasura's
/// fallback refresh interval).
pub const DEFAULT_TTL: i64 = 60;
/// Minimum seconds between two fetches of one URL caused by unknown `kid`s.
pub const KID_REFETCH_SECS: i64 = 10;
/// Minimum seconds between two fetches of one URL otherwise (stale set, failed fetch).
pub const RETRY_SECS: i64 = 1;
/// Largest JWKS response accepted.
pub const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// One key of a set: its `kid`, `alg` (when the set says) and the key.
#[derive(Debug, Clone)]
pub struct Jwk {
    pub kid: Option<String>,
    pub alg: Option<String>,
    pub key: VerifyKey,
}

#[derive(Default)]
struct Entry {
    keys: Option<Arc<Vec<Jwk>>>,
    /// Fresh until this unix time.
    expires_at: i64,
    /// When the last fetch started.
    last_fetch: Option<i64>,
    last_error: Option<String>,
    fetches: u64,
}

/// The JWK sets of every `jwk_url`, shared by all requests of an engine.
#[derive(Default)]
pub struct JwksCache {
    entries: Mutex<HashMap<String, Entry>>,
}

enum Decision {
    Use(Arc<Vec<Jwk>>),
    Fetch(Option<Arc<Vec<Jwk>>>),
    Fail(String),
}

impl JwksCache {
    /// The keys of `url` for a token with key id `kid` at time `now`, fetching (through
    /// `http`) when the cache says so. Errors are texts for `Could not verify JWT: …`.
    pub async fn keys(
        &self,
        url: &str,
        kid: Option<&str>,
        now: i64,
        http: &impl HttpClient,
    ) -> Result<Arc<Vec<Jwk>>, String> {
        let decision = {
            let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let e = map.entry(url.to_string()).or_default();
            let since_last = e.last_fetch.map(|t| now.saturating_sub(t));
            let may_fetch = |min: i64| since_last.is_none_or(|s| s >= min);
            let decision = match &e.keys {
                None if may_fetch(RETRY_SECS) => Decision::Fetch(None),
                None => Decision::Fail(e.last_error.clone().unwrap_or_else(|| {
                    format!("JWK set from {url} is being fetched; retry shortly")
                })),
                Some(keys) => {
                    let fresh = now < e.expires_at;
                    // A key without a `kid` may be the one (it is tried like a matching one).
                    let known = kid.is_none_or(|k| {
                        keys.iter()
                            .any(|j| j.kid.is_none() || j.kid.as_deref() == Some(k))
                    });
                    if fresh && known {
                        Decision::Use(keys.clone())
                    } else if fresh && may_fetch(KID_REFETCH_SECS)
                        || !fresh && may_fetch(RETRY_SECS)
                    {
                        Decision::Fetch(Some(keys.clone()))
                    } else {
                        Decision::Use(keys.clone())
                    }
                }
            };
            if matches!(decision, Decision::Fetch(_)) {
                e.last_fetch = Some(now);
                e.fetches += 1;
            }
            decision
        };
        let previous = match decision {
            Decision::Use(keys) => return Ok(keys),
            Decision::Fail(e) => return Err(e),
            Decision::Fetch(previous) => previous,
        };
        let fetched = fetch(url, now, http).await;
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(url.to_string()).or_default();
        match fetched {
            Ok((keys, expires_at)) => {
                let keys = Arc::new(keys);
                e.keys = Some(keys.clone());
                e.expires_at = expires_at;
                e.last_error = None;
                Ok(keys)
            }
            Err(err) => {
                e.last_error = Some(err.clone());
                // Keep serving the last good set (a newer one may have arrived meanwhile).
                match e.keys.clone().or(previous) {
                    Some(keys) => Ok(keys),
                    None => Err(err),
                }
            }
        }
    }

    /// How many fetches of `url` were started (observability and tests).
    pub fn fetch_count(&self, url: &str) -> u64 {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(url).map_or(0, |e| e.fetches)
    }
}

async fn fetch(url: &str, now: i64, http: &impl HttpClient) -> Result<(Vec<Jwk>, i64), String> {
    let resp = http
        .send(HttpRequest {
            timeout: None,
            method: "GET".into(),
            url: url.to_string(),
            headers: vec![("Accept".into(), "application/json".into())],
            body: Vec::new(),
        })
        .await
        .map_err(|e| format!("Error fetching JWK: {e}"))?;
    if !(200..300).contains(&resp.status) {
        return Err(format!("Non-2xx response on fetching JWK from: {url}"));
    }
    if resp.body.len() > MAX_JWKS_BYTES {
        return Err(format!(
            "Error parsing JWK from url: {url}: response too large"
        ));
    }
    let keys =
        parse_jwks(&resp.body).map_err(|e| format!("Error parsing JWK from url: {url}: {e}"))?;
    let ttl = expiry(resp.header("cache-control"), resp.header("expires"), now);
    Ok((keys, now.saturating_add(ttl)))
}

/// Parses `{"keys": [...]}`; keys of unsupported types are skipped.
pub fn parse_jwks(body: &[u8]) -> Result<Vec<Jwk>, String> {
    let v: Json = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let keys = v
        .get("keys")
        .and_then(Json::as_array)
        .ok_or("expected an object with a \"keys\" list")?;
    Ok(keys
        .iter()
        .filter_map(Json::as_object)
        // Keys marked for encryption only are not verification keys.
        .filter(|o| {
            o.get("use")
                .and_then(Json::as_str)
                .is_none_or(|u| u == "sig")
        })
        .filter_map(|o| {
            Some(Jwk {
                kid: o.get("kid").and_then(Json::as_str).map(str::to_string),
                alg: o.get("alg").and_then(Json::as_str).map(str::to_string),
                key: VerifyKey::from_jwk(o)?,
            })
        })
        .collect())
}

/// Seconds a response stays fresh: `Cache-Control` first, then `Expires`, else the default.
pub fn expiry(cache_control: Option<&str>, expires: Option<&str>, now: i64) -> i64 {
    freshness(cache_control, expires, now).unwrap_or(DEFAULT_TTL)
}

/// Seconds a response stays fresh by its `Cache-Control`, then its `Expires`; `None` when
/// neither says (absent or unreadable).
pub fn freshness(cache_control: Option<&str>, expires: Option<&str>, now: i64) -> Option<i64> {
    if let Some(cc) = cache_control {
        let mut max_age = None;
        let mut no_cache = false;
        let mut must_revalidate = false;
        for d in cc.split(',') {
            let d = d.trim();
            let (name, value) = match d.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                None => (d, None),
            };
            match name.to_ascii_lowercase().as_str() {
                "max-age" | "s-maxage" => {
                    if let Some(n) = value.and_then(|v| v.parse::<i64>().ok()) {
                        // s-maxage and max-age: the smaller wins (both bound a shared cache).
                        max_age = Some(max_age.map_or(n, |m: i64| m.min(n)));
                    }
                }
                "no-cache" | "no-store" => no_cache = true,
                "must-revalidate" => must_revalidate = true,
                _ => {}
            }
        }
        if no_cache {
            return Some(0);
        }
        if let Some(n) = max_age {
            return Some(n.max(0));
        }
        if must_revalidate {
            return Some(0);
        }
    }
    expires
        .and_then(parse_http_date)
        .map(|t| t.saturating_sub(now).max(0))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to unix seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let rest = s.split_once(", ").map_or(s, |(_, r)| r);
    let mut it = rest.split_ascii_whitespace();
    let day: i64 = it.next()?.parse().ok()?;
    let month = match it.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = it.next()?.parse().ok()?;
    let mut hms = it.next()?.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let sec: i64 = hms.next()?.parse().ok()?;
    if it.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 PST"), None);
    }

    #[test]
    fn freshness() {
        let now = 1_700_000_000;
        assert_eq!(expiry(Some("public, max-age=300"), None, now), 300);
        assert_eq!(expiry(Some("max-age=300, s-maxage=100"), None, now), 100);
        assert_eq!(expiry(Some("no-cache, max-age=300"), None, now), 0);
        assert_eq!(expiry(Some("no-store"), None, now), 0);
        assert_eq!(expiry(Some("must-revalidate"), None, now), 0);
        assert_eq!(
            expiry(None, Some("Tue, 14 Nov 2023 22:15:00 GMT"), now),
            100
        );
        assert_eq!(
            expiry(Some("public"), Some("Tue, 14 Nov 2023 22:15:00 GMT"), now),
            100
        );
        assert_eq!(expiry(None, Some("Tue, 14 Nov 2000 22:15:00 GMT"), now), 0);
        assert_eq!(expiry(None, None, now), DEFAULT_TTL);
        assert_eq!(expiry(Some("max-age=abc"), Some("bad"), now), DEFAULT_TTL);
    }

    #[test]
    fn jwks_parsing_skips_unknown_keys() {
        let body = br#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"},{"kty":"XYZ"},{"kty":"EC","crv":"P-521","x":"AA","y":"AA"},{"kty":"oct","k":"eA","use":"enc"}]}"#;
        let keys = parse_jwks(body).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("h"));
        assert!(parse_jwks(b"[]").is_err());
        assert!(parse_jwks(b"nope").is_err());
    }
}
