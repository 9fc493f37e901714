//! Cron triggers and one-off scheduled events: the background loop that generates cron events
//! ahead of time and delivers due events (Hasura's scheduled triggers).
//!
//! Each [`Scheduler::tick`]:
//! 1. **recovers** events whose owner lease ran out (`status = 'locked'`, `locked_until` past):
//!    the process that claimed them died, they go back to `scheduled`;
//! 2. **generates** cron events (every `generate_interval`): each trigger of the stored metadata
//!    keeps [`CRON_EVENTS_AHEAD`] (100, like Hasura) future events; new ones start after the
//!    latest existing event or now, whichever is later (missed times that were never generated
//!    are not invented — Hasura's behaviour). `ON CONFLICT DO NOTHING` on
//!    `(trigger_name, scheduled_time)` makes concurrent generators harmless;
//! 3. **claims** due events (`coalesce(next_retry_at, scheduled_time) <= now`) in batches with
//!    `FOR UPDATE SKIP LOCKED`, marking them `locked` by this process until `now + lease`;
//!    several processes share the work, an event goes to one of them;
//! 4. **delivers** them concurrently through the shared [`Deliverer`] (bounded pool). An event
//!    due more than `tolerance_seconds` ago (default 6 h; e.g. missed while no scheduler ran) is
//!    marked `dead` without a request. Otherwise the webhook gets Hasura's payload
//!    (`id`, `name` (cron), `scheduled_time`, `payload`, `comment`, `created_at` (one-off)), the
//!    attempt is logged in the invocation table, and the event becomes `delivered`, `scheduled`
//!    again with `next_retry_at` (`Retry-After` or `retry_interval_seconds`, at most
//!    `num_retries` retries), or `error`. Updates are guarded by `locked_by`, so a process whose
//!    lease was taken over cannot overwrite the new owner's result (delivery is at least once).
//!
//! **Shutdown** ([`crate::shutdown`], via [`Scheduler::run`]): once the stop is requested nothing
//! more is claimed; the tick in flight may finish until the deadline, then the events still
//! held are released (bounded; what cannot be released is recovered after the lease).
//!
//! The clock is injected ([`Clock`]): every time comparison uses the scheduler's `now` as a
//! parameter, never the database's `now()`, so tests can run the loop in the future
//! ([`OffsetClock`]). Times are UTC.
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graphedge_metadata::api::scheduled::{insert_cron_events, CRON_EVENTS_AHEAD};
use graphedge_metadata::cron::{format_timestamp, Schedule};
use graphedge_metadata::db::{Database, DbError, Statement};
use graphedge_metadata::raw::{CronTrigger, HeaderConf, RetryConfSt};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::db::PgDatabase;
use crate::deliver::{self, Deliverer, Outcome, RetryConf};
use crate::shutdown::Shutdown;

/// Where "now" comes from (unix microseconds).
pub trait Clock: Send + Sync + 'static {
    fn now_micros(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0)
    }
}

/// The system clock shifted by a fixed number of microseconds (tests: "an hour later").
pub struct OffsetClock(pub i64);

impl Clock for OffsetClock {
    fn now_micros(&self) -> i64 {
        SystemClock.now_micros() + self.0
    }
}

/// Settings of the loop.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Pause between ticks when there was nothing to do
    /// (`HASURA_GRAPHQL_SCHEDULED_EVENTS_FETCH_INTERVAL`, milliseconds; default 1000).
    pub fetch_interval: Duration,
    /// Events claimed per batch (`HASURA_GRAPHQL_SCHEDULED_EVENTS_FETCH_BATCH_SIZE`, default 100).
    pub batch_size: usize,
    /// How often cron events are topped up (default 60 s; also at start).
    pub generate_interval: Duration,
    /// How long a claim is owned before other processes may take it over. Must exceed the
    /// longest webhook timeout (default 10 min).
    pub lease: Duration,
    /// This process' owner id (`locked_by`).
    pub owner: String,
}

impl Settings {
    /// Defaults overridden by the environment (read through `get`).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let get = &get;
        let num = |name: &str, default: u64| {
            graphedge_edge::config::positive_setting(get, name, default, "integer")
        };
        Ok(Settings {
            fetch_interval: Duration::from_millis(num(
                "HASURA_GRAPHQL_SCHEDULED_EVENTS_FETCH_INTERVAL",
                1000,
            )?),
            batch_size: num("HASURA_GRAPHQL_SCHEDULED_EVENTS_FETCH_BATCH_SIZE", 100)? as usize,
            ..Settings::default()
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            fetch_interval: Duration::from_secs(1),
            batch_size: 100,
            generate_interval: Duration::from_secs(60),
            lease: Duration::from_secs(600),
            owner: format!(
                "{}-{}",
                std::process::id(),
                SystemClock.now_micros() % 1_000_000_000
            ),
        }
    }
}

/// Environment lookup for `value_from_env` headers and `{{VAR}}` webhook templates.
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The scheduled-events loop of one process.
#[derive(Clone)]
pub struct Scheduler {
    db: PgDatabase,
    deliverer: Deliverer,
    clock: Arc<dyn Clock>,
    settings: Settings,
    env: Env,
    last_generated: Arc<std::sync::Mutex<Option<i64>>>,
    /// Set by [`Scheduler::run`]: once requested, nothing more is claimed.
    shutdown: Option<Shutdown>,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickStats {
    pub recovered: u64,
    pub generated: bool,
    pub claimed: usize,
    pub delivered: usize,
    pub failed: usize,
    pub dead: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Cron,
    OneOff,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Cron => "graphedge.cron_events",
            Kind::OneOff => "graphedge.one_off_scheduled_events",
        }
    }
    fn logs(self) -> &'static str {
        match self {
            Kind::Cron => "graphedge.cron_event_invocation_logs",
            Kind::OneOff => "graphedge.scheduled_event_invocation_logs",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Cron => "cron",
            Kind::OneOff => "one_off",
        }
    }
}

/// A claimed event, as the claim statement returns it.
#[derive(Deserialize, Debug, Clone)]
struct Claimed {
    id: String,
    #[serde(default)]
    name: Option<String>,
    scheduled_time: String,
    scheduled_us: i64,
    tries: u32,
    created_at: String,
    // One-off events carry their definition.
    #[serde(default)]
    webhook_conf: Option<Json>,
    #[serde(default)]
    payload: Option<Json>,
    #[serde(default)]
    header_conf: Option<Vec<HeaderConf>>,
    #[serde(default)]
    retry_conf: Option<RetryConfSt>,
    #[serde(default)]
    comment: Option<String>,
}

/// What to do with a due event (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Deliver it now.
    Deliver,
    /// Due longer ago than the tolerance: mark it dead.
    Dead,
}

/// An event scheduled at `scheduled_us` and processed at `now_us` is dead when it is more than
/// `tolerance_seconds` late.
pub fn verdict(now_us: i64, scheduled_us: i64, tolerance_seconds: u32) -> Verdict {
    if now_us - scheduled_us > tolerance_seconds as i64 * 1_000_000 {
        Verdict::Dead
    } else {
        Verdict::Deliver
    }
}

/// Replaces `{{VAR}}` templates of a webhook with environment values, then checks the URL.
pub fn resolve_webhook_template(
    url: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let out = graphedge_metadata::events::webhook::resolve_template(url, env)?;
    deliver::check_url(&out)?;
    Ok(out)
}

/// The webhook's JSON body (Hasura's `ScheduledEventWebhookPayload`).
fn webhook_payload(kind: Kind, e: &Claimed, payload: &Json, comment: Option<&str>) -> Json {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(e.id));
    if let Some(n) = &e.name {
        m.insert("name".into(), json!(n));
    }
    m.insert("scheduled_time".into(), json!(e.scheduled_time));
    m.insert("payload".into(), payload.clone());
    if let Some(c) = comment {
        m.insert("comment".into(), json!(c));
    }
    if kind == Kind::OneOff {
        m.insert("created_at".into(), json!(e.created_at));
    }
    Json::Object(m)
}

fn db_msg(e: DbError) -> String {
    e.to_string()
}

impl Scheduler {
    pub fn new(db: PgDatabase, deliverer: Deliverer, settings: Settings) -> Scheduler {
        Scheduler {
            db,
            deliverer,
            clock: Arc::new(SystemClock),
            settings,
            env: Arc::new(|k: &str| std::env::var(k).ok()),
            last_generated: Arc::new(std::sync::Mutex::new(None)),
            shutdown: None,
        }
    }

    /// Uses another clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Scheduler {
        self.clock = clock;
        self
    }

    /// Uses another environment for `value_from_env` / `{{VAR}}`.
    pub fn with_env(mut self, env: Env) -> Scheduler {
        self.env = env;
        self
    }

    fn now(&self) -> i64 {
        self.clock.now_micros()
    }

    /// Runs ticks until the stop is requested: then claims nothing more, lets deliveries in
    /// flight finish until the deadline and releases the events it still holds (until the
    /// release deadline; what it cannot release is recovered after the lease).
    pub async fn run(mut self, shutdown: Shutdown) {
        self.shutdown = Some(shutdown.clone());
        tracing::info!(owner = %self.settings.owner, "scheduled events: started");
        while !shutdown.is_requested() {
            let busy = tokio::select! {
                r = self.tick() => match r {
                    Ok(s) => s.claimed >= self.settings.batch_size,
                    Err(e) => {
                        tracing::warn!(error = %e, "scheduled events: tick failed (will retry)");
                        false
                    }
                },
                _ = shutdown.expired() => {
                    tracing::warn!("scheduled events: deliveries still in flight at the graceful-shutdown timeout");
                    break;
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                _ = shutdown.requested() => break,
                _ = tokio::time::sleep(self.settings.fetch_interval) => {}
            }
        }
        let release = shutdown.request() + crate::shutdown::RELEASE_WINDOW;
        match tokio::time::timeout_at(release, self.release()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e,
                "scheduled events: could not release claims; they are recovered after the lease"),
            Err(_) => tracing::warn!(
                "scheduled events: could not release claims in time; they are recovered after the lease"),
        }
        tracing::info!("scheduled events: stopped");
    }

    /// One round: recover, generate (when due), claim and deliver one batch of each kind.
    pub async fn tick(&self) -> Result<TickStats, String> {
        let mut stats = TickStats {
            recovered: self.recover().await?,
            ..TickStats::default()
        };
        let now = self.now();
        let generate = {
            let last = self.last_generated.lock().map(|l| *l).unwrap_or(None);
            last.is_none_or(|l| {
                now - l >= self.settings.generate_interval.as_micros() as i64 || now < l
            })
        };
        let triggers = self.cron_triggers().await?;
        if generate {
            self.generate(&triggers).await?;
            if let Ok(mut l) = self.last_generated.lock() {
                *l = Some(now);
            }
            stats.generated = true;
        }
        for kind in [Kind::Cron, Kind::OneOff] {
            let batch = self.claim(kind).await?;
            stats.claimed += batch.len();
            let results = futures_util::future::join_all(
                batch.iter().map(|e| self.process(kind, e, &triggers)),
            )
            .await;
            for r in results {
                match r {
                    Ok(Verdict::Dead) => stats.dead += 1,
                    Ok(Verdict::Deliver) => stats.delivered += 1,
                    Err(e) => {
                        stats.failed += 1;
                        tracing::debug!(error = %e, "scheduled event not delivered");
                    }
                }
            }
        }
        Ok(stats)
    }

    /// All cron triggers of the stored metadata.
    async fn cron_triggers(&self) -> Result<Vec<CronTrigger>, String> {
        let text = self
            .db
            .query_one(&Statement {
                sql: "SELECT coalesce(metadata->'cron_triggers', '[]')::text \
                      FROM graphedge.metadata WHERE id = 1"
                    .into(),
                params: vec![],
            })
            .await
            .map_err(db_msg)?;
        match text {
            None => Ok(Vec::new()),
            Some(t) => serde_json::from_str(&t).map_err(|e| format!("stored cron triggers: {e}")),
        }
    }

    /// Puts events of dead owners (lease expired) back to `scheduled`.
    pub async fn recover(&self) -> Result<u64, String> {
        let now = format_timestamp(self.now());
        let mut n = 0;
        for kind in [Kind::Cron, Kind::OneOff] {
            let sql = format!(
                "WITH r AS (UPDATE {} SET status = 'scheduled', locked_by = NULL, \
                 locked_until = NULL WHERE status = 'locked' AND locked_until < $1::timestamptz \
                 RETURNING 1) SELECT count(*)::text FROM r",
                kind.table()
            );
            let c = self
                .db
                .query_one(&Statement {
                    sql,
                    params: vec![Some(now.clone())],
                })
                .await
                .map_err(db_msg)?;
            let c: u64 = c.and_then(|c| c.parse().ok()).unwrap_or(0);
            if c > 0 {
                tracing::warn!(
                    kind = kind.name(),
                    count = c,
                    "recovered events of a dead owner"
                );
            }
            n += c;
        }
        Ok(n)
    }

    /// Tops up each cron trigger to [`CRON_EVENTS_AHEAD`] future events.
    pub async fn generate(&self, triggers: &[CronTrigger]) -> Result<(), String> {
        if triggers.is_empty() {
            return Ok(());
        }
        let now_us = self.now();
        let stats = self
            .db
            .query_one(&Statement {
                sql: "SELECT coalesce(json_object_agg(name, json_build_object('upcoming', upcoming, \
                      'max', max)), '{}')::text FROM (SELECT trigger_name AS name, \
                      count(*) FILTER (WHERE status = 'scheduled' AND scheduled_time > $1::timestamptz) \
                      AS upcoming, floor(extract(epoch FROM max(scheduled_time)))::bigint AS max \
                      FROM graphedge.cron_events GROUP BY trigger_name) s"
                    .into(),
                params: vec![Some(format_timestamp(now_us))],
            })
            .await
            .map_err(db_msg)?
            .unwrap_or_else(|| "{}".into());
        let stats: Json = serde_json::from_str(&stats).map_err(|e| e.to_string())?;
        let now = now_us.div_euclid(1_000_000);
        let mut stmts = Vec::new();
        for t in triggers {
            let upcoming = stats[&t.name]["upcoming"].as_u64().unwrap_or(0) as usize;
            if upcoming >= CRON_EVENTS_AHEAD {
                continue;
            }
            let Ok(schedule) = Schedule::parse(&t.schedule) else {
                continue;
            };
            let from = stats[&t.name]["max"].as_i64().unwrap_or(now).max(now);
            let times = schedule.fire_times(from, i64::MAX, CRON_EVENTS_AHEAD - upcoming);
            if !times.is_empty() {
                stmts.push(insert_cron_events(&t.name, &times));
            }
        }
        if !stmts.is_empty() {
            self.db.transaction(&stmts).await.map_err(db_msg)?;
        }
        Ok(())
    }

    /// Claims up to `batch_size` due events of one kind (none once the stop is requested).
    async fn claim(&self, kind: Kind) -> Result<Vec<Claimed>, String> {
        if self.shutdown.as_ref().is_some_and(Shutdown::is_requested) {
            return Ok(Vec::new());
        }
        let now = self.now();
        let until = now + self.settings.lease.as_micros() as i64;
        let extra = match kind {
            Kind::Cron => "'name', trigger_name",
            Kind::OneOff => {
                "'webhook_conf', webhook_conf, 'payload', payload, 'header_conf', header_conf, \
                 'retry_conf', retry_conf, 'comment', comment"
            }
        };
        let sql = format!(
            "WITH c AS (SELECT id FROM {t} WHERE status = 'scheduled' \
               AND coalesce(next_retry_at, scheduled_time) <= $1::timestamptz \
               ORDER BY coalesce(next_retry_at, scheduled_time) LIMIT $2::int \
               FOR UPDATE SKIP LOCKED), \
             u AS (UPDATE {t} e SET status = 'locked', locked_by = $3::text, \
               locked_until = $4::timestamptz FROM c WHERE e.id = c.id RETURNING e.*) \
             SELECT json_agg(json_build_object('id', id, {extra}, \
               'scheduled_time', graphedge.utc_text(scheduled_time), \
               'scheduled_us', floor(extract(epoch FROM scheduled_time) * 1000000)::bigint, \
               'tries', tries, 'created_at', graphedge.utc_text(created_at)))::text FROM u",
            t = kind.table()
        );
        let text = self
            .db
            .query_one(&Statement {
                sql,
                params: vec![
                    Some(format_timestamp(now)),
                    Some(self.settings.batch_size.to_string()),
                    Some(self.settings.owner.clone()),
                    Some(format_timestamp(until)),
                ],
            })
            .await
            .map_err(db_msg)?;
        match text {
            None => Ok(Vec::new()),
            Some(t) => serde_json::from_str(&t).map_err(|e| format!("claimed events: {e}")),
        }
    }

    /// Releases this process' claims (graceful shutdown).
    pub async fn release(&self) -> Result<(), String> {
        for kind in [Kind::Cron, Kind::OneOff] {
            self.db
                .transaction(&[Statement {
                    sql: format!(
                        "UPDATE {} SET status = 'scheduled', locked_by = NULL, locked_until = NULL \
                         WHERE status = 'locked' AND locked_by = $1::text",
                        kind.table()
                    ),
                    params: vec![Some(self.settings.owner.clone())],
                }])
                .await
                .map_err(db_msg)?;
        }
        Ok(())
    }

    /// Sets the final state of a claimed event (guarded by ownership) and logs the invocation.
    async fn finish(
        &self,
        kind: Kind,
        e: &Claimed,
        status: &str,
        attempted: bool,
        next_retry_at: Option<i64>,
        log: Option<(Option<u16>, Json, Json)>,
    ) -> Result<(), String> {
        let mut stmts = vec![Statement {
            sql: format!(
                "UPDATE {} SET status = $2::text, tries = tries + $3::int, \
                 next_retry_at = $4::timestamptz, locked_by = NULL, locked_until = NULL \
                 WHERE id = $1::text AND locked_by = $5::text",
                kind.table()
            ),
            params: vec![
                Some(e.id.clone()),
                Some(status.into()),
                Some(if attempted { "1" } else { "0" }.into()),
                next_retry_at.map(format_timestamp),
                Some(self.settings.owner.clone()),
            ],
        }];
        if let Some((code, request, response)) = log {
            stmts.push(Statement {
                sql: format!(
                    "INSERT INTO {} (event_id, status, request, response) \
                     VALUES ($1::text, $2::int, $3::json, $4::json)",
                    kind.logs()
                ),
                params: vec![
                    Some(e.id.clone()),
                    code.map(|c| c.to_string()),
                    Some(request.to_string()),
                    Some(response.to_string()),
                ],
            });
        }
        self.db.transaction(&stmts).await.map_err(db_msg)?;
        Ok(())
    }

    /// Delivers one claimed event (or marks it dead). `Err` = the attempt failed.
    async fn process(
        &self,
        kind: Kind,
        e: &Claimed,
        triggers: &[CronTrigger],
    ) -> Result<Verdict, String> {
        // The definition: from the metadata (cron) or the row (one-off).
        let (webhook, headers, payload, retry, comment) = match kind {
            Kind::Cron => {
                let name = e.name.as_deref().unwrap_or("");
                let Some(t) = triggers.iter().find(|t| t.name == name) else {
                    // The trigger was deleted after the claim: its events go with it.
                    let _ = self
                        .db
                        .transaction(&[Statement {
                            sql: "DELETE FROM graphedge.cron_events WHERE id = $1::text".into(),
                            params: vec![Some(e.id.clone())],
                        }])
                        .await;
                    return Ok(Verdict::Dead);
                };
                (
                    t.webhook.clone(),
                    t.headers.clone(),
                    t.payload.clone().unwrap_or(Json::Null),
                    t.retry_conf,
                    t.comment.clone(),
                )
            }
            Kind::OneOff => (
                e.webhook_conf
                    .as_ref()
                    .and_then(|w| w.as_str())
                    .unwrap_or_default()
                    .to_string(),
                e.header_conf.clone().unwrap_or_default(),
                e.payload.clone().unwrap_or(Json::Null),
                e.retry_conf.unwrap_or_default(),
                e.comment.clone(),
            ),
        };
        let now = self.now();
        if verdict(now, e.scheduled_us, retry.tolerance_seconds) == Verdict::Dead {
            tracing::warn!(
                kind = kind.name(),
                event_id = %e.id,
                trigger = e.name.as_deref().unwrap_or(""),
                scheduled_time = %e.scheduled_time,
                tolerance_seconds = retry.tolerance_seconds,
                "scheduled event is past its tolerance: dead"
            );
            self.finish(kind, e, "dead", false, None, None).await?;
            return Ok(Verdict::Dead);
        }
        let body = webhook_payload(kind, e, &payload, comment.as_deref());
        let conf = RetryConf {
            num_retries: retry.num_retries,
            interval_sec: retry.retry_interval_seconds as u64,
            timeout_sec: retry.timeout_seconds as u64,
        };
        let env = self.env.clone();
        let resolved = resolve_webhook_template(&webhook, &*env)
            .and_then(|url| deliver::resolve_headers(&headers, |k| env(k)).map(|h| (url, h)));
        let logged_headers: Vec<Json> = headers
            .iter()
            .map(|h| match &h.value {
                Some(v) => json!({ "name": h.name, "value": v }),
                None => json!({ "name": h.name, "value_from_env": h.value_from_env }),
            })
            .collect();
        let request = json!({ "payload": body, "headers": logged_headers, "version": "2" });
        let outcome = match &resolved {
            Ok((url, hs)) => self.deliverer.post(url, hs, &body, conf.timeout()).await,
            Err(msg) => Outcome {
                error: Some(deliver::DeliveryError::Other(msg.clone())),
                ..Outcome::default()
            },
        };
        let response = match (&outcome.error, outcome.status) {
            (None, Some(status)) => json!({
                "type": "webhook_response",
                "data": {
                    "head": outcome.headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
                    "body": outcome.body,
                    "status": status,
                },
                "version": "2",
            }),
            _ => json!({
                "type": "client_error",
                "data": { "message": outcome.describe() },
                "version": "2",
            }),
        };
        let tries = e.tries + 1;
        let log = Some((outcome.status, request, response));
        let retry_at = (!outcome.is_success())
            .then(|| deliver::next_retry(&conf, tries, outcome.retry_after))
            .flatten()
            .map(|d| now + d.as_micros() as i64);
        {
            use graphedge_edge::metrics::{global, Delivery, Status};
            let what = match kind {
                Kind::Cron => Delivery::Cron,
                Kind::OneOff => Delivery::OneOff,
            };
            let status = if outcome.is_success() {
                Status::Success
            } else {
                Status::Failed
            };
            global().delivery(what, status, retry_at.is_none());
        }
        if outcome.is_success() {
            tracing::info!(
                kind = kind.name(),
                event_id = %e.id,
                trigger = e.name.as_deref().unwrap_or(""),
                status = outcome.status,
                tries,
                elapsed_ms = outcome.elapsed.as_millis() as u64,
                "scheduled event delivered"
            );
            self.finish(kind, e, "delivered", true, None, log).await?;
            return Ok(Verdict::Deliver);
        }
        tracing::warn!(
            kind = kind.name(),
            event_id = %e.id,
            trigger = e.name.as_deref().unwrap_or(""),
            error = %outcome.describe(),
            tries,
            retry_at = retry_at.map(format_timestamp),
            "scheduled event delivery failed"
        );
        match retry_at {
            Some(at) => {
                self.finish(kind, e, "scheduled", true, Some(at), log)
                    .await?
            }
            None => self.finish(kind, e, "error", true, None, log).await?,
        }
        Err(outcome.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance() {
        let cases = [
            // (now - scheduled in seconds, tolerance, verdict)
            (0, 21600, Verdict::Deliver),
            (21600, 21600, Verdict::Deliver),
            (21601, 21600, Verdict::Dead),
            (-30, 0, Verdict::Deliver),
            (1, 0, Verdict::Dead),
        ];
        for (late, tol, want) in cases {
            assert_eq!(verdict(late * 1_000_000, 0, tol), want, "{late} {tol}");
        }
    }

    #[test]
    fn webhook_templates() {
        let env = |k: &str| (k == "BASE").then(|| "http://127.0.0.1:9".to_string());
        let cases = [
            ("{{BASE}}/hook", Ok("http://127.0.0.1:9/hook")),
            ("{{ BASE }}/x?a=1", Ok("http://127.0.0.1:9/x?a=1")),
            ("http://h/{{BASE}}", Ok("http://h/http://127.0.0.1:9")),
            ("{{MISSING}}/x", Err("\"MISSING\"")),
            ("{{BASE/x", Err("unterminated")),
            ("ftp://x", Err("http://")),
        ];
        for (input, want) in cases {
            match (resolve_webhook_template(input, &env), want) {
                (Ok(got), Ok(w)) => assert_eq!(got, w),
                (Err(e), Err(w)) => assert!(e.contains(w), "{input}: {e}"),
                (got, _) => panic!("{input}: {got:?}"),
            }
        }
    }
}
