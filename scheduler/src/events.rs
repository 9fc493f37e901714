//! The event-trigger delivery loop: claims pending events from `graphedge.event_log`, POSTs
//! Hasura's payload to each trigger's webhook, records every attempt, retries per `retry_conf`.
//!
//! * **Per database**: events live in their source's database (`graphedge.event_log` there);
//!   [`crate::event_sources`] reads the triggers from the metadata database and runs one
//!   [`deliver`] loop per source database (sources on one database share it), all sharing the
//!   HTTP permits.
//! * **Claiming**: batches of at most `HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE` (default 100) and
//!   never more than the free HTTP permits, with `FOR UPDATE SKIP LOCKED`; a claimed event is
//!   marked `locked_by = <this process>`, `locked_at = now()`. When a batch comes back short the
//!   loop sleeps `HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL` ms (default 1000); a full batch is
//!   followed at once by the next claim.
//! * **Leases**: every process keeps a heartbeat row in `graphedge.event_processors` (every
//!   lease/3). Events locked by a process whose heartbeat is older than the lease
//!   (`GRAPHEDGE_EVENTS_LOCK_LEASE_SECONDS`, default 30) are claimable again: a `kill -9`'d
//!   process's events are redelivered after at most one lease (at-least-once).
//! * **Recording**: results are written in batches by one recorder task (one statement per batch:
//!   the invocation rows and the event state), so throughput is not bound by round trips.
//! * **Ordering** (opt-in, `"graphedge_ordering": "primary_key"` on the trigger): an event is
//!   claimable only when no earlier event of the same trigger and primary key is still pending,
//!   so events of one row are delivered one at a time in commit order.
//! * **Shutdown** ([`crate::shutdown`]): once the stop is requested no more events are claimed;
//!   deliveries in flight may finish until the deadline (`HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT`
//!   after the signal); outcomes are recorded and the remaining claimed events unlocked for
//!   other processes, writes being retried until the deadline and tried once more after it
//!   (bounded by the release window). What could not be recorded or unlocked (database down)
//!   stays locked by this process until its lease runs out and is then delivered again (at
//!   least once).
//! * **Database restarts**: every database error is logged and retried after a pause; the pool
//!   replaces broken connections.
//! * Each attempt is one JSON log line (`target: graphedge::events`).
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use graphedge_metadata::db::{Database, Statement};
use graphedge_metadata::events::transform::RequestTransform;
use graphedge_metadata::events::EventTriggerConf;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;

use crate::db::PgDatabase;
use crate::deliver::{self, Deliverer, Outcome};
use crate::shutdown::Shutdown;

/// Settings of the loop (Hasura's variables where they exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsConfig {
    pub fetch_interval: Duration,
    pub batch_size: usize,
    pub lease: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            fetch_interval: Duration::from_millis(1000),
            batch_size: 100,
            lease: Duration::from_secs(30),
        }
    }
}

fn num(get: &impl Fn(&str) -> Option<String>, k: &str, default: u64) -> Result<u64, String> {
    match get(k).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("{k}: expected a non-negative integer: {v}")),
    }
}

impl EventsConfig {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<EventsConfig, String> {
        Ok(EventsConfig {
            fetch_interval: Duration::from_millis(num(
                get,
                "HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL",
                1000,
            )?),
            batch_size: num(get, "HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE", 100)?.clamp(1, 10_000)
                as usize,
            lease: Duration::from_secs(num(get, "GRAPHEDGE_EVENTS_LOCK_LEASE_SECONDS", 30)?.max(1)),
        })
    }
}

/// One claimed event.
#[derive(Debug, Clone, Deserialize)]
struct Claimed {
    id: String,
    trigger_name: String,
    schema_name: String,
    table_name: String,
    op: String,
    data: Json,
    session_variables: Json,
    trace_context: Json,
    tries: u32,
    created_at: String,
}

/// The outcome of one attempt, as the recorder writes it.
#[derive(Debug)]
struct Record {
    id: String,
    trigger_name: String,
    delivered: bool,
    error: bool,
    tries: u32,
    retry_in_ms: Option<u128>,
    status: Option<u16>,
    request: Json,
    response: Json,
}

/// Hasura's webhook payload for an event.
fn payload(ev: &Claimed, conf: &EventTriggerConf) -> Json {
    let trace = if ev.trace_context.is_null() {
        let hex: String = ev.id.chars().filter(|c| *c != '-').collect();
        json!({"trace_id": hex, "span_id": hex.get(..16).unwrap_or("")})
    } else {
        ev.trace_context.clone()
    };
    json!({
        "event": {
            "session_variables": ev.session_variables,
            "op": ev.op,
            "data": {"old": ev.data.get("old").cloned().unwrap_or(Json::Null),
                     "new": ev.data.get("new").cloned().unwrap_or(Json::Null)},
            "trace_context": trace,
        },
        "created_at": ev.created_at,
        "id": ev.id,
        "delivery_info": {"max_retries": conf.retry_conf.num_retries, "current_retry": ev.tries},
        "trigger": {"name": ev.trigger_name},
        "table": {"schema": ev.schema_name, "name": ev.table_name},
    })
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

/// Delivers one event once and decides what happens next.
async fn attempt(deliverer: &Deliverer, ev: &Claimed, conf: &EventTriggerConf) -> Record {
    let body = payload(ev, conf);
    let timeout = conf.retry_conf.timeout();
    let log_headers: Vec<Json> = conf
        .headers
        .iter()
        .map(|h| match &h.value {
            Some(v) => json!({"name": h.name, "value": v}),
            None => json!({"name": h.name, "value_from_env": h.value_from_env}),
        })
        .collect();
    let request = json!({"payload": body, "headers": log_headers, "version": "2"});
    let prepared = deliver::resolve_webhook(
        conf.webhook.as_deref(),
        conf.webhook_from_env.as_deref(),
        env,
    )
    .and_then(|url| Ok((url, deliver::resolve_headers(&conf.headers, env)?)))
    .map(|(url, mut headers)| {
        // The event of a traced mutation continues its trace (W3C trace context).
        if let Some(tp) = graphedge_edge::otel::traceparent_of_context(&ev.trace_context) {
            headers.insert(0, ("traceparent".to_string(), tp));
        }
        (url, headers)
    });
    let outcome = match prepared {
        Err(msg) => Outcome {
            error: Some(deliver::DeliveryError::Other(msg)),
            ..Default::default()
        },
        Ok((url, headers)) => match &conf.request_transform {
            None => deliverer.post(&url, &headers, &body, timeout).await,
            Some(t) => {
                let mut hs = deliver::default_headers();
                hs.extend(headers);
                match RequestTransform::parse(t).and_then(|t| t.apply(&url, &hs, &body)) {
                    Ok(r) => {
                        let req = deliver::Request {
                            method: r.method,
                            url: r.url,
                            headers: r.headers,
                            body: r.body.unwrap_or_default(),
                        };
                        deliverer.send(req, timeout).await
                    }
                    Err(msg) => Outcome {
                        error: Some(deliver::DeliveryError::Other(msg)),
                        ..Default::default()
                    },
                }
            }
        },
    };
    let tries = ev.tries + 1;
    let response = match (&outcome.error, outcome.status) {
        (None, Some(status)) | (Some(_), Some(status)) => json!({
            "type": "webhook_response",
            "data": {
                "status": status,
                "headers": outcome.headers.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
                "body": outcome.body,
            },
            "version": "2",
        }),
        (Some(e), None) => {
            json!({"type": "client_error", "data": {"message": e.to_string()}, "version": "2"})
        }
        (None, None) => {
            json!({"type": "client_error", "data": {"message": "no response"}, "version": "2"})
        }
    };
    let ok = outcome.is_success() && outcome.error.is_none();
    let retry = if ok {
        None
    } else {
        deliver::next_retry(&conf.retry_conf, tries, outcome.retry_after)
    };
    graphedge_edge::metrics::global().delivery(
        graphedge_edge::metrics::Delivery::Event,
        if ok {
            graphedge_edge::metrics::Status::Success
        } else {
            graphedge_edge::metrics::Status::Failed
        },
        retry.is_none(),
    );
    let result = if ok {
        "delivered"
    } else if retry.is_some() {
        "retry"
    } else {
        "failed"
    };
    tracing::info!(
        target: "graphedge::events",
        event_id = %ev.id,
        trigger = %ev.trigger_name,
        table = %format!("{}.{}", ev.schema_name, ev.table_name),
        op = %ev.op,
        attempt = tries,
        status = outcome.status.unwrap_or(0),
        elapsed_ms = outcome.elapsed.as_millis() as u64,
        result,
        error = %if ok { String::new() } else { outcome.describe() },
        retry_in_s = retry.map(|d| d.as_secs_f64()).unwrap_or(0.0),
        "event delivery"
    );
    Record {
        id: ev.id.clone(),
        trigger_name: ev.trigger_name.clone(),
        delivered: ok,
        error: !ok && retry.is_none(),
        tries,
        retry_in_ms: retry.map(|d| d.as_millis()),
        status: outcome.status,
        request,
        response,
    }
}

const CLAIM_SQL: &str = "WITH c AS (
  SELECT e.id FROM graphedge.event_log e
  WHERE NOT e.delivered AND NOT e.error AND NOT e.archived
    AND e.trigger_name = ANY($2::text[])
    AND (e.next_retry_at IS NULL OR e.next_retry_at <= now())
    AND (e.locked_by IS NULL OR NOT EXISTS (
      SELECT 1 FROM graphedge.event_processors p
      WHERE p.owner = e.locked_by AND p.heartbeat_at > now() - $4::bigint * interval '1 millisecond'))
    AND (e.ordering_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM graphedge.event_log b
      WHERE b.trigger_name = e.trigger_name AND b.ordering_key = e.ordering_key AND b.seq < e.seq
        AND NOT b.delivered AND NOT b.error AND NOT b.archived))
  ORDER BY e.seq
  LIMIT $3::int
  FOR UPDATE OF e SKIP LOCKED
), u AS (
  UPDATE graphedge.event_log e SET locked_at = now(), locked_by = $1::text
  FROM c WHERE e.id = c.id
  RETURNING e.*
)
SELECT coalesce(json_agg(json_build_object('id', u.id, 'trigger_name', u.trigger_name,
  'schema_name', u.schema_name, 'table_name', u.table_name, 'op', u.op, 'data', u.data,
  'session_variables', u.session_variables, 'trace_context', u.trace_context, 'tries', u.tries,
  'created_at', to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))
  ORDER BY u.seq), '[]')::text FROM u";

const RECORD_SQL: &str = "WITH r AS (
  SELECT * FROM json_to_recordset($1::json) AS x(id uuid, trigger_name text, delivered boolean,
    error boolean, tries int, retry_in_ms bigint, status int, request jsonb, response jsonb)
), ins AS (
  INSERT INTO graphedge.event_invocation_logs (event_id, trigger_name, status, request, response)
  SELECT id, trigger_name, status, request, response FROM r
)
UPDATE graphedge.event_log e SET delivered = r.delivered, error = r.error, tries = r.tries,
  next_retry_at = CASE WHEN r.retry_in_ms IS NULL THEN NULL
                       ELSE now() + r.retry_in_ms * interval '1 millisecond' END,
  locked_at = NULL, locked_by = NULL
FROM r WHERE e.id = r.id AND e.locked_by = $2::text";

const HEARTBEAT_SQL: &str = "INSERT INTO graphedge.event_processors (owner, heartbeat_at) \
VALUES ($1::text, now()) ON CONFLICT (owner) DO UPDATE SET heartbeat_at = now()";

const FORGET_STALE_SQL: &str = "DELETE FROM graphedge.event_processors \
WHERE heartbeat_at < now() - interval '1 day'";

const UNLOCK_SQL: &str = "UPDATE graphedge.event_log SET locked_at = NULL, locked_by = NULL \
WHERE locked_by = $1::text AND NOT delivered AND NOT error";

const UNREGISTER_SQL: &str = "DELETE FROM graphedge.event_processors WHERE owner = $1::text";

pub(crate) fn stmt(sql: &str, params: Vec<Option<String>>) -> Statement {
    Statement {
        sql: sql.to_string(),
        params,
    }
}

/// A unique name for this process's locks.
pub fn owner_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{host}:{}:{:x}", std::process::id(), nanos)
}

/// The event triggers one delivery loop claims events for (those of the sources whose tables
/// live in its database), by name.
#[derive(Default)]
pub(crate) struct TriggerSet {
    pub(crate) by_name: HashMap<String, Arc<EventTriggerConf>>,
    names: String,
}

impl TriggerSet {
    pub(crate) fn insert(&mut self, conf: EventTriggerConf) {
        self.by_name.insert(conf.name.clone(), Arc::new(conf));
        let names: Vec<&String> = self.by_name.keys().collect();
        self.names = pg_text_array(&names);
    }
}

/// `{"a","b"}` (a Postgres text[] literal, passed as a bind parameter).
fn pg_text_array(items: &[&String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

/// Writes records in batches; retries on database errors (the records are kept). After the
/// shutdown deadline a batch gets one more try: its events stay locked until the lease.
async fn recorder(
    db: PgDatabase,
    owner: String,
    mut rx: mpsc::Receiver<Record>,
    shutdown: Shutdown,
) {
    let mut buf: Vec<Record> = Vec::new();
    loop {
        if buf.is_empty() {
            match rx.recv().await {
                Some(r) => buf.push(r),
                None => return,
            }
        }
        // Gather what is queued right now (up to 1000) into one statement.
        while buf.len() < 1000 {
            match rx.try_recv() {
                Ok(r) => buf.push(r),
                Err(_) => break,
            }
        }
        let rows: Vec<Json> = buf
            .iter()
            .map(|r| {
                json!({"id": r.id, "trigger_name": r.trigger_name, "delivered": r.delivered,
                    "error": r.error, "tries": r.tries,
                    "retry_in_ms": r.retry_in_ms.map(|m| m as u64), "status": r.status,
                    "request": r.request, "response": r.response})
            })
            .collect();
        let s = stmt(
            RECORD_SQL,
            vec![Some(Json::Array(rows).to_string()), Some(owner.clone())],
        );
        match db.transaction(&[s]).await {
            Ok(_) => buf.clear(),
            Err(e) if shutdown.is_expired() => {
                tracing::error!(target: "graphedge::events", error = %e, events = buf.len(),
                    "cannot record deliveries before the graceful-shutdown timeout; \
                     they are delivered again after the lease");
                buf.clear();
            }
            Err(e) => {
                tracing::warn!(target: "graphedge::events", error = %e, pending = buf.len(), "cannot record deliveries; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.expired() => {}
                }
            }
        }
    }
}

/// Sleeps `d` or until the stop is requested; true when stopping.
pub(crate) async fn sleep_or_shutdown(d: Duration, shutdown: &Shutdown) -> bool {
    if shutdown.is_requested() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => shutdown.is_requested(),
        _ = shutdown.requested() => true,
    }
}

/// Awaits `task` until `until`; aborts it then.
async fn finish_by(task: tokio::task::JoinHandle<()>, until: Instant) {
    let abort = task.abort_handle();
    if tokio::time::timeout_at(until, task).await.is_err() {
        abort.abort();
    }
}

/// The delivery loop of one source database: claims the events of `triggers` (updated by
/// [`crate::event_sources`] when the metadata changes) until the stop is requested, then drains
/// and unlocks (see the module docs: everything is over by the shutdown's release deadline).
/// `slots`: the HTTP permits, shared by the loops of every database.
pub(crate) async fn deliver(
    db: PgDatabase,
    mut triggers: watch::Receiver<Arc<TriggerSet>>,
    deliverer: Deliverer,
    slots: Arc<Semaphore>,
    config: EventsConfig,
    shutdown: Shutdown,
) {
    let owner = owner_id();
    tracing::info!(target: "graphedge::events", owner = %owner, batch_size = config.batch_size,
        fetch_interval_ms = config.fetch_interval.as_millis() as u64,
        http_pool_size = deliverer.pool_size(), "event trigger delivery started");
    // Register before the first claim (and keep the heartbeat going).
    while let Err(e) = db
        .transaction(&[stmt(HEARTBEAT_SQL, vec![Some(owner.clone())])])
        .await
    {
        tracing::warn!(target: "graphedge::events", error = %e, "cannot register with the database; retrying");
        if sleep_or_shutdown(Duration::from_secs(1), &shutdown).await {
            return;
        }
    }
    // The heartbeat goes on while deliveries drain: their claims must not expire meanwhile.
    let hb = {
        let (db, owner, lease) = (db.clone(), owner.clone(), config.lease);
        tokio::spawn(async move {
            let _ = db.transaction(&[stmt(FORGET_STALE_SQL, vec![])]).await;
            loop {
                tokio::time::sleep(lease / 3).await;
                if let Err(e) = db
                    .transaction(&[stmt(HEARTBEAT_SQL, vec![Some(owner.clone())])])
                    .await
                {
                    tracing::warn!(target: "graphedge::events", error = %e, "heartbeat failed");
                }
            }
        })
    };
    let (tx, rx) = mpsc::channel::<Record>(10_000);
    let rec = tokio::spawn(recorder(db.clone(), owner.clone(), rx, shutdown.clone()));
    let mut tasks = tokio::task::JoinSet::new();
    let mut db_backoff = Duration::from_millis(500);
    loop {
        if shutdown.is_requested() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let current = triggers.borrow_and_update().clone();
        if current.by_name.is_empty() {
            tokio::select! {
                changed = triggers.changed() => if changed.is_err() { break },
                _ = shutdown.requested() => break,
            }
            continue;
        }
        // Back-pressure: claim only what can be sent now, and only once half a batch is free
        // (claiming one event per finished delivery would cost a round trip per event).
        let free = slots.available_permits();
        let threshold = (config.batch_size.min(deliverer.pool_size()) / 2).max(1);
        if free < threshold {
            tokio::select! {
                _ = tasks.join_next() => {},
                _ = shutdown.requested() => break,
            }
            continue;
        }
        let n = free.min(config.batch_size);
        let claim = stmt(
            CLAIM_SQL,
            vec![
                Some(owner.clone()),
                Some(current.names.clone()),
                Some(n.to_string()),
                Some(config.lease.as_millis().to_string()),
            ],
        );
        let claimed: Vec<Claimed> = match db.query_one(&claim).await {
            Ok(t) => {
                db_backoff = Duration::from_millis(500);
                serde_json::from_str(t.as_deref().unwrap_or("[]")).unwrap_or_else(|e| {
                    tracing::error!(target: "graphedge::events", error = %e, "unreadable claimed events");
                    Vec::new()
                })
            }
            Err(e) => {
                tracing::warn!(target: "graphedge::events", error = %e, "cannot claim events; retrying");
                if sleep_or_shutdown(db_backoff, &shutdown).await {
                    break;
                }
                db_backoff = (db_backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        let full = claimed.len() >= n;
        for ev in claimed {
            let Some(conf) = current.by_name.get(&ev.trigger_name).cloned() else {
                continue;
            };
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let (deliverer, tx) = (deliverer.clone(), tx.clone());
            tasks.spawn(async move {
                let rec = attempt(&deliverer, &ev, &conf).await;
                let _ = tx.send(rec).await;
                drop(permit);
            });
        }
        if !full && sleep_or_shutdown(config.fetch_interval, &shutdown).await {
            break;
        }
    }
    // Shutdown: in-flight deliveries may finish until the deadline, and failed writes are retried
    // until then; past it each write gets one more attempt, bounded by the release deadline.
    let deadline = shutdown.request();
    let release = deadline + crate::shutdown::RELEASE_WINDOW;
    tracing::info!(target: "graphedge::events", in_flight = tasks.len(), "event delivery stopping");
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout_at(deadline, drain).await.is_err() {
        tracing::warn!(target: "graphedge::events", in_flight = tasks.len(),
            "deliveries still in flight at the graceful-shutdown timeout; their events are returned");
        tasks.abort_all();
    }
    drop((tasks, tx));
    finish_by(rec, release).await;
    hb.abort();
    let unlock = [
        stmt(UNLOCK_SQL, vec![Some(owner.clone())]),
        stmt(UNREGISTER_SQL, vec![Some(owner.clone())]),
    ];
    loop {
        match tokio::time::timeout_at(release, db.transaction(&unlock)).await {
            Ok(Ok(_)) => break,
            Ok(Err(e)) if Instant::now() + Duration::from_millis(500) < deadline => {
                tracing::warn!(target: "graphedge::events", error = %e, "cannot unlock events; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Ok(Err(_)) | Err(_) => {
                tracing::error!(target: "graphedge::events",
                    "cannot unlock events before the graceful-shutdown timeout; they are delivered again after the lease");
                break;
            }
        }
    }
    tracing::info!(target: "graphedge::events", "event delivery stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_from_env() {
        let c = EventsConfig::from_lookup(&|_: &str| None).unwrap();
        assert_eq!(c, EventsConfig::default());
        let get = |k: &str| match k {
            "HASURA_GRAPHQL_EVENTS_FETCH_INTERVAL" => Some("50".to_string()),
            "HASURA_GRAPHQL_EVENTS_FETCH_BATCH_SIZE" => Some("7".to_string()),
            _ => None,
        };
        let c = EventsConfig::from_lookup(&get).unwrap();
        assert_eq!(c.fetch_interval, Duration::from_millis(50));
        assert_eq!(c.batch_size, 7);
        assert!(EventsConfig::from_lookup(&|_: &str| Some("x".to_string())).is_err());
    }

    #[test]
    fn text_array_literal() {
        let a = "a".to_string();
        let b = "b\"c".to_string();
        assert_eq!(pg_text_array(&[&a, &b]), r#"{"a","b\"c"}"#);
        assert_eq!(pg_text_array(&[]), "{}");
    }
}
