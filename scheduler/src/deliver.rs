//! Webhook delivery shared by event triggers, cron triggers and scheduled events.
//!
//! API (small on purpose; the event and cron loops code against exactly this):
//!
//! * [`Deliverer::new`]`(pool_size)` / [`Deliverer::from_env`]`(get)` — a cheap-to-clone pooled
//!   reqwest client plus a semaphore of `pool_size` permits
//!   (`HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE`, default [`DEFAULT_POOL_SIZE`]): at most that many
//!   requests are in flight; further callers wait (back-pressure).
//! * [`Deliverer::post`]`(url, headers, &json, timeout) -> Outcome` — POSTs JSON
//!   ([`default_headers`]: `Content-Type: application/json`, `User-Agent: graphedge/<version>`), never fails: every
//!   failure is in the [`Outcome`]. [`Deliverer::send`] takes a full [`Request`] (method, body
//!   bytes) for request transforms.
//! * [`Outcome`] `{status, headers, body, error, retry_after}`; [`Outcome::is_success`] is a 2xx.
//! * [`RetryConf`] `{num_retries, interval_sec, timeout_sec}` and the pure decision
//!   [`next_retry`]`(conf, tries, retry_after) -> Option<Duration>`: `None` = give up.
//! * [`parse_retry_after`] — `Retry-After` as delay-seconds or an HTTP date.
//! * Header and URL resolution re-exported from `graphedge_metadata::events::webhook`:
//!   [`HeaderConf`] (`value` / `value_from_env`), [`resolve_headers`], [`resolve_webhook`]
//!   (`webhook` / `webhook_from_env`), [`check_url`]; errors are messages naming the variable.
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value as Json;
use tokio::sync::Semaphore;

pub use graphedge_metadata::events::webhook::{
    check_headers, check_url, resolve_headers, resolve_webhook, HeaderConf, RetryConf,
};

/// Hasura's default `HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE`.
pub const DEFAULT_POOL_SIZE: usize = 100;

/// Response bodies longer than this are cut (they are logged, not interpreted).
pub const MAX_BODY: usize = 64 * 1024;

/// After a failed attempt: the delay before the next attempt, or `None` to give up.
///
/// `tries` counts the attempts made so far, including the one that just failed (≥ 1). There
/// are at most `1 + num_retries` attempts. The delay is the response's `Retry-After` when it
/// had one, else `interval_sec`. (Hasura keeps retrying past `num_retries` while the webhook
/// sends `Retry-After`; we cap it so a misbehaving webhook cannot keep an event forever.)
pub fn next_retry(conf: &RetryConf, tries: u32, retry_after: Option<Duration>) -> Option<Duration> {
    if tries > conf.num_retries {
        return None;
    }
    Some(retry_after.unwrap_or(Duration::from_secs(conf.interval_sec)))
}

/// `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT` (relative to `now`).
/// Dates in the past mean "now" (zero); anything unparsable is ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Why no HTTP response came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "message")]
pub enum DeliveryError {
    /// No response within the timeout.
    Timeout(String),
    /// The connection could not be made (refused, DNS, TLS).
    Connect(String),
    /// Anything else (invalid URL or header, broken body).
    Other(String),
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeliveryError::Timeout(m) => write!(f, "timeout: {m}"),
            DeliveryError::Connect(m) => write!(f, "connection error: {m}"),
            DeliveryError::Other(m) => write!(f, "{m}"),
        }
    }
}

/// What one attempt produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The HTTP status, `None` when no response came back (see `error`).
    pub status: Option<u16>,
    /// Response headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The response body (lossy UTF-8, at most [`MAX_BODY`] bytes).
    pub body: String,
    pub error: Option<DeliveryError>,
    /// The response's `Retry-After`, parsed.
    pub retry_after: Option<Duration>,
    pub elapsed: Duration,
}

impl Outcome {
    /// A 2xx response.
    pub fn is_success(&self) -> bool {
        matches!(self.status, Some(s) if (200..300).contains(&s))
    }

    /// The failure as one line for logs ("HTTP 500", "timeout: ...").
    pub fn describe(&self) -> String {
        match (&self.error, self.status) {
            (Some(e), _) => e.to_string(),
            (None, Some(s)) => format!("HTTP {s}"),
            (None, None) => "no response".into(),
        }
    }
}

/// A full request (for request transforms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The headers of every webhook request before the trigger's own (`Content-Type` JSON,
/// `User-Agent: graphedge/<version>`); a request transform may remove them.
pub fn default_headers() -> Vec<(String, String)> {
    vec![
        ("content-type".to_string(), "application/json".to_string()),
        (
            "user-agent".to_string(),
            concat!("graphedge/", env!("CARGO_PKG_VERSION")).to_string(),
        ),
    ]
}

/// The pooled client; clone it freely (clones share the pool and the semaphore).
#[derive(Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    permits: Arc<Semaphore>,
    pool_size: usize,
}

impl Deliverer {
    pub fn new(pool_size: usize) -> Result<Deliverer, String> {
        let pool_size = pool_size.max(1);
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(pool_size)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Deliverer {
            client,
            permits: Arc::new(Semaphore::new(pool_size)),
            pool_size,
        })
    }

    /// Sized by `HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE` (default [`DEFAULT_POOL_SIZE`]).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Deliverer, String> {
        Deliverer::new(pool_size_from(get)?)
    }

    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// Permits free right now (the loops claim at most this many events).
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Waits until at least one permit is free (without taking it).
    pub async fn wait_for_capacity(&self) {
        if let Ok(p) = self.permits.acquire().await {
            drop(p);
        }
    }

    /// POSTs `body` as JSON with `headers` (added after the defaults, so they may override
    /// `Content-Type`).
    pub async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &Json,
        timeout: Duration,
    ) -> Outcome {
        let mut all = default_headers();
        all.extend(headers.iter().cloned());
        let req = Request {
            method: "POST".into(),
            url: url.to_string(),
            headers: all,
            body: serde_json::to_vec(body).unwrap_or_default(),
        };
        self.send(req, timeout).await
    }

    /// Sends one request, waiting for a pool permit first.
    pub async fn send(&self, req: Request, timeout: Duration) -> Outcome {
        let _permit = self.permits.acquire().await;
        let started = std::time::Instant::now();
        let mut out = self.send_inner(req, timeout).await;
        out.elapsed = started.elapsed();
        out
    }

    async fn send_inner(&self, req: Request, timeout: Duration) -> Outcome {
        let fail = |e: DeliveryError| Outcome {
            error: Some(e),
            ..Default::default()
        };
        let method = match reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes()) {
            Ok(m) => m,
            Err(_) => {
                return fail(DeliveryError::Other(format!(
                    "invalid method {:?}",
                    req.method
                )))
            }
        };
        let url = match reqwest::Url::parse(&req.url) {
            Ok(u) => u,
            Err(e) => {
                return fail(DeliveryError::Other(format!(
                    "invalid URL {:?}: {e}",
                    req.url
                )))
            }
        };
        let mut header_map = reqwest::header::HeaderMap::new();
        for (k, v) in &req.headers {
            let name = match reqwest::header::HeaderName::from_bytes(k.as_bytes()) {
                Ok(n) => n,
                Err(_) => return fail(DeliveryError::Other(format!("invalid header name {k:?}"))),
            };
            let value = match reqwest::header::HeaderValue::from_str(v) {
                Ok(v) => v,
                Err(_) => {
                    return fail(DeliveryError::Other(format!(
                        "invalid value of header {k:?}"
                    )))
                }
            };
            header_map.insert(name, value);
        }
        let sent = self
            .client
            .request(method, url)
            .headers(header_map)
            .timeout(timeout)
            .body(req.body)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return fail(classify(&e)),
        };
        let status = resp.status().as_u16();
        let headers = crate::http_client::header_pairs(resp.headers());
        let retry_after = headers
            .iter()
            .find(|(k, _)| k == "retry-after")
            .and_then(|(_, v)| parse_retry_after(v, SystemTime::now()));
        let (body, error) = match resp.bytes().await {
            Ok(b) => {
                let cut = &b[..b.len().min(MAX_BODY)];
                (String::from_utf8_lossy(cut).into_owned(), None)
            }
            Err(e) => (String::new(), Some(classify(&e))),
        };
        Outcome {
            status: Some(status),
            headers,
            body,
            error,
            retry_after,
            elapsed: Duration::ZERO,
        }
    }
}

fn classify(e: &reqwest::Error) -> DeliveryError {
    let msg = error_chain(e);
    if e.is_timeout() {
        DeliveryError::Timeout(msg)
    } else if e.is_connect() {
        DeliveryError::Connect(msg)
    } else {
        DeliveryError::Other(msg)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// `HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE`, default [`DEFAULT_POOL_SIZE`].
pub fn pool_size_from(get: impl Fn(&str) -> Option<String>) -> Result<usize, String> {
    match get("HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE").filter(|v| !v.trim().is_empty()) {
        None => Ok(DEFAULT_POOL_SIZE),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE: expected a positive integer: {v}"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(num_retries: u32, interval_sec: u64) -> RetryConf {
        RetryConf {
            num_retries,
            interval_sec,
            timeout_sec: 60,
        }
    }

    #[test]
    fn retry_decisions() {
        // (conf, tries so far, Retry-After) → expected delay
        let cases: &[(RetryConf, u32, Option<u64>, Option<u64>)] = &[
            (conf(0, 10), 1, None, None),
            (conf(0, 10), 1, Some(5), None),
            (conf(2, 10), 1, None, Some(10)),
            (conf(2, 10), 2, None, Some(10)),
            (conf(2, 10), 3, None, None),
            (conf(2, 10), 1, Some(3), Some(3)),
            (conf(2, 10), 3, Some(3), None),
            (conf(1, 0), 1, None, Some(0)),
        ];
        for (c, tries, ra, want) in cases {
            let got = next_retry(c, *tries, ra.map(Duration::from_secs));
            assert_eq!(
                got,
                want.map(Duration::from_secs),
                "{c:?} tries={tries} ra={ra:?}"
            );
        }
    }

    #[test]
    fn retry_after_parsing() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retry_conf_serde() {
        let c: RetryConf = serde_json::from_str(r#"{"num_retries": 3}"#).unwrap();
        assert_eq!(c, conf(3, 10));
        assert_eq!(
            serde_json::to_value(RetryConf::default()).unwrap(),
            serde_json::json!({"num_retries": 0, "interval_sec": 10, "timeout_sec": 60})
        );
    }

    #[test]
    fn pool_size() {
        assert_eq!(pool_size_from(|_| None).unwrap(), DEFAULT_POOL_SIZE);
        assert_eq!(pool_size_from(|_| Some("8".into())).unwrap(), 8);
        assert!(pool_size_from(|_| Some("0".into())).is_err());
        assert!(pool_size_from(|_| Some("x".into())).is_err());
    }

    #[tokio::test]
    async fn unreachable_and_invalid() {
        let d = Deliverer::new(2).unwrap();
        // A port that was just free: nothing listens (connection refused).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = d
            .post(
                &format!("http://127.0.0.1:{port}/"),
                &[],
                &Json::Null,
                Duration::from_secs(2),
            )
            .await;
        assert!(
            matches!(out.error, Some(DeliveryError::Connect(_))),
            "{out:?}"
        );
        assert!(!out.is_success());
        let out = d
            .post("not a url", &[], &Json::Null, Duration::from_secs(1))
            .await;
        assert!(
            matches!(out.error, Some(DeliveryError::Other(_))),
            "{out:?}"
        );
        assert_eq!(d.available(), 2);
    }
}
