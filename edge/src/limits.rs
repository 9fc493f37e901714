//! API limits: Hasura's metadata `api_limits` (depth, node, batch, time and rate limits, global
//! and per role) plus the engine's own bounds, which apply with no metadata at all (fields,
//! aliases, variable values, batch size, time per request). The admin role is exempt from all
//! of them, as in Hasura (the request body size, checked by the host and `handle`, is not).
//!
//! Where each is checked, so a plan-cache hit stays cheap:
//! - batch size and rate: once per HTTP request ([`admit`]), before anything runs;
//! - variable values: per operation ([`check_variables`]), a walk over the decoded values;
//! - depth, nodes, fields, aliases: on a plan-cache *miss* only ([`check_document`]), measured
//!   by `graphedge_core::limits` before compiling. A cached plan was compiled for the same
//!   query, operation and role under the same metadata (a metadata change empties the cache),
//!   so it already passed;
//! - time: around the database call ([`bounded`]): when the host's `Clock::sleep` fires first
//!   the database future is dropped (natively that cancels the statement in Postgres) and the
//!   request gets Hasura's time-limit error. Hosts without a timer are not time-limited.
//!
//! Rate limits count operations per minute over a sliding window (the previous minute's count,
//! weighted by how much of it still lies in the last 60 s, plus this minute's), keyed by role
//! and `unique_params` — the client IP or the listed session variables. Counters live in the
//! [`Engine`]: per process natively, per isolate at the edge (several isolates each count on
//! their own). The client IP is the first address of `X-Forwarded-For`, else `X-Real-IP`
//! (Hasura's order), else `CF-Connecting-IP`, else the peer address the host passed with
//! [`set_peer_ip`].
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use graphedge_core::limits::{measure_query, Measure};
use graphedge_core::{Session, Value};

use crate::auth::header;
use crate::error::EdgeError;
use crate::graphql::GqlRequest;
use crate::md::{ApiLimits, UniqueParams};
use crate::{Engine, Loaded};

/// The engine's own bounds (settings `GRAPHEDGE_*`, see [`EngineLimits::from_env`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EngineLimits {
    /// Field selections per operation, fragments expanded (`GRAPHEDGE_MAX_FIELDS`).
    pub max_fields: u64,
    /// Aliased field selections per operation (`GRAPHEDGE_MAX_ALIASES`).
    pub max_aliases: u64,
    /// JSON values in an operation's `variables`, nested ones included
    /// (`GRAPHEDGE_MAX_VARIABLE_VALUES`).
    pub max_variable_values: u64,
    /// Operations in one batched request (`GRAPHEDGE_MAX_BATCH_SIZE`).
    pub max_batch: u64,
    /// Time a request may spend in the database (`GRAPHEDGE_TIME_LIMIT`, seconds; `None` = no
    /// limit). Like Hasura Cloud's 60 s tenant limit: a metadata `time_limit` only lowers it.
    pub time_limit: Option<Duration>,
}

pub const DEFAULT_MAX_FIELDS: u64 = 10_000;
pub const DEFAULT_MAX_ALIASES: u64 = 1_000;
pub const DEFAULT_MAX_VARIABLE_VALUES: u64 = 100_000;
pub const DEFAULT_MAX_BATCH: u64 = 100;
pub const DEFAULT_TIME_LIMIT_SECS: u64 = 60;

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits {
            max_fields: DEFAULT_MAX_FIELDS,
            max_aliases: DEFAULT_MAX_ALIASES,
            max_variable_values: DEFAULT_MAX_VARIABLE_VALUES,
            max_batch: DEFAULT_MAX_BATCH,
            time_limit: Some(Duration::from_secs(DEFAULT_TIME_LIMIT_SECS)),
        }
    }
}

impl EngineLimits {
    /// Reads the settings through `get`; `0` means "no limit". Errors name the variable.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<EngineLimits, String> {
        let mut l = EngineLimits::default();
        let count = |name: &str, default: u64| -> Result<u64, String> {
            match get(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(0) => Ok(u64::MAX),
                    Ok(n) => Ok(n),
                    Err(_) => Err(format!(
                        "{name}: expected a non-negative integer (0 = no limit), got {v:?}"
                    )),
                },
            }
        };
        l.max_fields = count("GRAPHEDGE_MAX_FIELDS", l.max_fields)?;
        l.max_aliases = count("GRAPHEDGE_MAX_ALIASES", l.max_aliases)?;
        l.max_variable_values = count("GRAPHEDGE_MAX_VARIABLE_VALUES", l.max_variable_values)?;
        l.max_batch = count("GRAPHEDGE_MAX_BATCH_SIZE", l.max_batch)?;
        l.time_limit = match count("GRAPHEDGE_TIME_LIMIT", DEFAULT_TIME_LIMIT_SECS)? {
            u64::MAX => None,
            s => Some(Duration::from_secs(s)),
        };
        Ok(l)
    }
}

/// The metadata limits in force for a session: none for admin or when `disabled`.
fn policy<'a>(loaded: &'a Loaded, session: &Session) -> Option<&'a ApiLimits> {
    if session.is_admin() {
        return None;
    }
    loaded
        .md
        .metadata
        .api_limits
        .as_ref()
        .filter(|l| !l.disabled)
}

/// An engine bound's error.
fn invalid(message: String) -> EdgeError {
    EdgeError::new(400, "validation-failed", message)
}

fn exceeded(what: &str, code: &str, limit: impl std::fmt::Display) -> EdgeError {
    EdgeError::new(400, code, format!("{what} limit of {limit} exceeded"))
}

/// Checks a request carrying `operations` operations (`batched`: it was a JSON array) against
/// the batch limits, then counts them against the role's rate limit.
pub(crate) fn admit(
    engine: &Engine,
    loaded: &Loaded,
    session: &Session,
    headers: &[(String, String)],
    operations: usize,
    batched: bool,
) -> Result<(), EdgeError> {
    if session.is_admin() {
        return Ok(());
    }
    let n = operations as u64;
    let limits = policy(loaded, session);
    if batched {
        if let Some(b) = limits.and_then(|l| l.batch_limit.as_ref()) {
            let max = b.for_role(&session.role).0;
            if n > max {
                return Err(exceeded("batch", "batch-limit-exceeded", max));
            }
        }
        let max = engine.config.limits.max_batch;
        if n > max {
            return Err(invalid(format!(
                "a batch of {n} operations is more than the limit of {max}"
            )));
        }
    }
    let Some(rate) = limits.and_then(|l| l.rate_limit.as_ref()) else {
        return Ok(());
    };
    let Some(now_ms) = engine.clock.as_ref().map(|c| {
        c.monotonic_micros()
            .map_or_else(|| (c.now_unix().max(0) as u64) * 1000, |us| us / 1000)
    }) else {
        return Ok(());
    };
    let config = rate.for_role(&session.role);
    let mut key = session.role.clone();
    key.push('\0');
    match &config.unique_params {
        None => {}
        Some(UniqueParams::Ip) => key.push_str(&client_ip(headers).unwrap_or_default()),
        Some(UniqueParams::SessionVariables(vars)) => {
            for v in vars {
                key.push_str(session.var(v).unwrap_or_default());
                key.push('\0');
            }
        }
    }
    let max = config.max_reqs_per_min.0;
    if engine.rates.take(key, n, max, now_ms) {
        Ok(())
    } else {
        Err(EdgeError::new(
            429,
            "rate-limit-exceeded",
            format!("rate limit of {max} exceeded"),
        ))
    }
}

/// Checks the number of values in one operation's variables.
pub(crate) fn check_variables(
    engine: &Engine,
    session: &Session,
    req: &GqlRequest,
) -> Result<(), EdgeError> {
    let max = engine.config.limits.max_variable_values;
    if session.is_admin() || max == u64::MAX {
        return Ok(());
    }
    let mut stack: Vec<&Value> = req.variables.iter().map(|(_, v)| v).collect();
    let mut seen = 0u64;
    while let Some(v) = stack.pop() {
        seen += 1;
        if seen > max {
            return Err(invalid(format!(
                "the variables hold more than {max} values"
            )));
        }
        match v {
            Value::List(items) => stack.extend(items),
            Value::Object(fields) => stack.extend(fields.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    Ok(())
}

/// Measures a document about to be compiled and checks it against the role's depth and node
/// limits and the engine's field and alias bounds.
pub(crate) fn check_document(
    engine: &Engine,
    loaded: &Loaded,
    session: &Session,
    req: &GqlRequest,
) -> Result<(), EdgeError> {
    if session.is_admin() {
        return Ok(());
    }
    let m: Measure = match measure_query(&req.query, req.operation_name.as_deref()) {
        Ok(Some(m)) => m,
        // Unparsable, or no such operation: the compiler reports it.
        Ok(None) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let bounds = &engine.config.limits;
    for (n, max, what) in [
        (m.fields, bounds.max_fields, "selects {n} fields"),
        (m.aliases, bounds.max_aliases, "has {n} aliases"),
    ] {
        if n > max {
            let what = what.replace("{n}", &n.to_string());
            return Err(invalid(format!(
                "the operation {what}, more than the limit of {max}"
            )));
        }
    }
    let Some(limits) = policy(loaded, session) else {
        return Ok(());
    };
    if let Some(d) = &limits.depth_limit {
        let max = d.for_role(&session.role).0;
        // Hasura does not apply depth limits to introspection queries.
        if m.depth > max && !m.introspection {
            return Err(exceeded("depth", "depth-limit-exceeded", max));
        }
    }
    if let Some(nl) = &limits.node_limit {
        let max = nl.for_role(&session.role).0;
        if m.nodes > max {
            return Err(exceeded("node", "node-limit-exceeded", max));
        }
    }
    Ok(())
}

/// Runs a database call under the session's time limit: the metadata `time_limit` of its role
/// or the engine's, whichever is lower. Without a host timer the call runs unbounded.
///
/// A named future (see [`crate::within`]): every request's future holds it.
pub(crate) fn bounded<T, F>(
    engine: &Engine,
    loaded: &Loaded,
    session: &Session,
    call: F,
) -> Bounded<F>
where
    F: Future<Output = Result<T, EdgeError>>,
{
    let limit = time_limit(engine, loaded, session);
    let timer = match (&limit, engine.clock.as_ref()) {
        (Some((d, _)), Some(clock)) => clock.sleep(*d),
        _ => None,
    };
    Bounded {
        call: crate::within(call, timer),
        limit,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`bounded`].
    pub(crate) struct Bounded<F> {
        #[pin]
        call: crate::Within<F>,
        limit: Option<(Duration, bool)>,
    }
}

impl<T, F: Future<Output = Result<T, EdgeError>>> Future for Bounded<F> {
    type Output = Result<T, EdgeError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.project();
        this.call.poll(cx).map(|out| {
            out.unwrap_or_else(|| {
                let (d, from_metadata) = this.limit.unwrap_or_default();
                let code = if from_metadata {
                    "time-limit-exceeded"
                } else {
                    "tenant-time-limit-exceeded"
                };
                Err(exceeded("time", code, Seconds(d)))
            })
        })
    }
}

/// The time limit in force and whether it is the metadata's (`false`: the engine's).
fn time_limit(engine: &Engine, loaded: &Loaded, session: &Session) -> Option<(Duration, bool)> {
    if session.is_admin() {
        return None;
    }
    let own = engine.config.limits.time_limit;
    let md = policy(loaded, session)
        .and_then(|l| l.time_limit.as_ref())
        .map(|t| t.for_role(&session.role).0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok());
    match (md, own) {
        (Some(m), Some(o)) if o < m => Some((o, false)),
        (Some(m), _) => Some((m, true)),
        (None, Some(o)) => Some((o, false)),
        (None, None) => None,
    }
}

/// Seconds as Hasura prints a `MaxTime` (`5s`, `2.5s`).
struct Seconds(Duration);

impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}s", self.0.as_secs_f64())
    }
}

/// The header through which a host passes the connection's peer address.
pub const PEER_IP_HEADER: &str = "x-graphedge-peer-ip";

/// Sets the peer address of the connection (hosts call it; a client-sent header of that name
/// is replaced, never trusted).
pub fn set_peer_ip(headers: &mut Vec<(String, String)>, ip: &str) {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(PEER_IP_HEADER));
    headers.push((PEER_IP_HEADER.to_string(), ip.to_string()));
}

/// The client's IP address (see the module documentation for the order).
pub fn client_ip(headers: &[(String, String)]) -> Option<String> {
    let first = |name: &str| {
        header(headers, name)
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    first("x-forwarded-for")
        .or_else(|| first("x-real-ip"))
        .or_else(|| first("cf-connecting-ip"))
        .or_else(|| first(PEER_IP_HEADER))
}

/// Keys tracked at most; beyond, new keys are not counted (stale ones are dropped first).
pub const MAX_RATE_KEYS: usize = 100_000;

/// Rate counters: per key, this minute's and the previous minute's counts.
#[derive(Default)]
pub struct RateCounters {
    inner: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    minute: u64,
    current: u64,
    previous: u64,
}

impl RateCounters {
    /// Counts `n` operations for `key` at `now_ms` if the sliding-window count stays within
    /// `max` per minute; false (nothing counted) otherwise.
    pub fn take(&self, key: String, n: u64, max: u64, now_ms: u64) -> bool {
        let minute = now_ms / 60_000;
        let into = (now_ms % 60_000) as f64 / 60_000.0;
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_RATE_KEYS && !map.contains_key(&key) {
            map.retain(|_, w| w.minute + 1 >= minute);
            if map.len() >= MAX_RATE_KEYS {
                return n <= max;
            }
        }
        let w = map.entry(key).or_insert(Window {
            minute,
            current: 0,
            previous: 0,
        });
        if w.minute != minute {
            w.previous = if w.minute + 1 == minute { w.current } else { 0 };
            w.current = 0;
            w.minute = minute;
        }
        let estimate = w.previous as f64 * (1.0 - into) + w.current as f64;
        if estimate + n as f64 > max as f64 {
            return false;
        }
        w.current += n;
        true
    }

    /// Keys currently tracked.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window() {
        let r = RateCounters::default();
        let k = || "user\0".to_string();
        // 3 per minute: three pass, the fourth in the same minute does not.
        assert!((0..3).all(|i| r.take(k(), 1, 3, 1_000 + i)));
        assert!(!r.take(k(), 1, 3, 2_000));
        // Half-way through the next minute, half of the previous minute still counts (1.5).
        assert!(r.take(k(), 1, 3, 90_000));
        assert!(!r.take(k(), 1, 3, 90_001));
        // Two minutes later everything has expired.
        assert!(r.take(k(), 3, 3, 240_000));
        // Other keys count on their own; a batch counts all its operations.
        assert!(!r.take("other\0".into(), 4, 3, 240_000));
        assert!(r.take("other\0".into(), 3, 3, 240_000));
    }

    #[test]
    fn settings() {
        let get = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            EngineLimits::from_env(get(&[])).unwrap(),
            EngineLimits::default()
        );
        let l = EngineLimits::from_env(get(&[
            ("GRAPHEDGE_MAX_FIELDS", "5"),
            ("GRAPHEDGE_MAX_ALIASES", "0"),
            ("GRAPHEDGE_MAX_VARIABLE_VALUES", "7"),
            ("GRAPHEDGE_MAX_BATCH_SIZE", "2"),
            ("GRAPHEDGE_TIME_LIMIT", "0"),
        ]))
        .unwrap();
        assert_eq!(
            (
                l.max_fields,
                l.max_aliases,
                l.max_variable_values,
                l.max_batch,
                l.time_limit
            ),
            (5, u64::MAX, 7, 2, None)
        );
        assert!(EngineLimits::from_env(get(&[("GRAPHEDGE_TIME_LIMIT", "-1")])).is_err());
    }

    #[test]
    fn client_ip_order() {
        let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut peer = h(&[(PEER_IP_HEADER, "6.6.6.6")]);
        set_peer_ip(&mut peer, "10.0.0.1");
        assert_eq!(client_ip(&peer).as_deref(), Some("10.0.0.1"));
        let all = h(&[
            ("X-Forwarded-For", "1.1.1.1, 2.2.2.2"),
            ("x-real-ip", "3.3.3.3"),
        ]);
        assert_eq!(client_ip(&all).as_deref(), Some("1.1.1.1"));
        assert_eq!(
            client_ip(&h(&[("cf-connecting-ip", "4.4.4.4")])).as_deref(),
            Some("4.4.4.4")
        );
        assert_eq!(client_ip(&[]), None);
    }
}
