//! Asynchronous actions: the native process calls the handlers of logged calls
//! (`graphedge.hdb_action_log` on the metadata database, written by the action's mutation).
//!
//! Every `HASURA_GRAPHQL_ASYNC_ACTIONS_FETCH_INTERVAL` ms (default 1000; 0 disables) it claims up
//! to `HASURA_GRAPHQL_ASYNC_ACTIONS_FETCH_BATCH_SIZE` (10) calls with `FOR UPDATE SKIP LOCKED`
//! (several processes never claim the same call), calls each handler with the stored input,
//! session and client headers (the edge's [`call_handler`], the synchronous actions' code) and
//! stores the answer (`completed`) or Hasura's error object (`error`). On shutdown it stops
//! claiming; the calls of a batch in flight finish. A call claimed by a process that died
//! (still `processing` `GRAPHEDGE_ASYNC_ACTIONS_LEASE_SECONDS` after its claim, default 600:
//! longer than any handler's timeout) is claimed again: at least once, never lost.
use std::sync::Arc;
use std::time::Duration;

use graphedge_edge::actions::call_handler;
use graphedge_edge::md::{Database, Statement, Target};
use serde_json::{json, Value as Json};

use crate::server::{App, JwkHttp};

/// The loop's settings (Hasura's environment variables).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `None`: disabled.
    pub interval: Option<Duration>,
    pub batch: u32,
    /// How long a claim holds before another process may take the call.
    pub lease: Duration,
}

impl Settings {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let number = |name: &str, default: u64| -> Result<u64, String> {
            match get(name).map(|v| v.trim().to_string()) {
                None => Ok(default),
                Some(v) if v.is_empty() => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .map_err(|_| format!("{name}: expected a non-negative integer, got {v:?}")),
            }
        };
        let interval = number("HASURA_GRAPHQL_ASYNC_ACTIONS_FETCH_INTERVAL", 1000)?;
        let batch = number("HASURA_GRAPHQL_ASYNC_ACTIONS_FETCH_BATCH_SIZE", 10)?.clamp(1, 1000);
        let lease = number("GRAPHEDGE_ASYNC_ACTIONS_LEASE_SECONDS", 600)?.max(1);
        Ok(Settings {
            interval: (interval > 0).then(|| Duration::from_millis(interval)),
            batch: batch as u32,
            lease: Duration::from_secs(lease),
        })
    }
}

const CLAIM_SQL: &str = "WITH c AS (UPDATE graphedge.hdb_action_log SET status = 'processing', \
claimed_at = now() \
WHERE id IN (SELECT id FROM graphedge.hdb_action_log WHERE status = 'created' \
OR (status = 'processing' AND (claimed_at IS NULL OR claimed_at < now() - make_interval(secs => $2::int))) \
ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT $1::int) \
RETURNING json_build_object('id', id, 'action', action_name, 'input', input_payload, \
'headers', request_headers, 'session', session_variables) AS j) \
SELECT coalesce(json_agg(c.j), '[]')::text FROM c";

const DONE_SQL: &str = "UPDATE graphedge.hdb_action_log SET status = $2::text, \
response_payload = $3::jsonb, errors = $4::jsonb, response_received_at = now() \
WHERE id = $1::uuid RETURNING 'ok'";

/// Runs until the shutdown is requested.
pub async fn run(
    app: Arc<App>,
    db: impl Database,
    settings: Settings,
    shutdown: crate::shutdown::Shutdown,
) {
    let Some(interval) = settings.interval else {
        return;
    };
    let stop = shutdown.requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(interval) => {}
        }
        // A batch runs to the end, then the next one is claimed at once.
        loop {
            match process_batch(&app, &db, &settings).await {
                Ok(n) if n > 0 && !shutdown.is_requested() => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "async actions: claiming calls failed");
                    break;
                }
            }
        }
    }
}

/// Claims and answers one batch; returns how many calls it had.
async fn process_batch(
    app: &App,
    db: &impl Database,
    settings: &Settings,
) -> Result<usize, String> {
    let claimed = db
        .query_one_on(
            Target::Metadata,
            &Statement {
                sql: CLAIM_SQL.into(),
                params: vec![
                    Some(settings.batch.to_string()),
                    Some(settings.lease.as_secs().to_string()),
                ],
            },
        )
        .await
        .map_err(|e| e.to_string())?
        .unwrap_or_else(|| "[]".into());
    let calls: Vec<Json> = serde_json::from_str(&claimed).map_err(|e| e.to_string())?;
    let tasks = calls.iter().map(|call| answer(app, db, call));
    futures_util::future::join_all(tasks).await;
    Ok(calls.len())
}

/// Calls one logged call's handler and stores the outcome.
async fn answer(app: &App, db: &impl Database, call: &Json) {
    let id = call["id"].as_str().unwrap_or_default();
    let loaded = app.engine.loaded();
    let schema = &loaded.md.schema;
    let outcome = match schema.action(call["action"].as_str().unwrap_or_default()) {
        None => Err(json!({"code": "not-exists", "path": "$",
            "error": format!("action {:?} does not exist", call["action"])})),
        Some(action) => {
            let headers: Vec<(String, String)> = call["headers"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            call_handler(
                &app.engine,
                &JwkHttp,
                schema,
                action,
                &call["input"].to_string(),
                &call["session"].to_string(),
                &headers,
                "",
                None,
            )
            .await
            .map_err(|e| json!({"code": e.code, "path": e.path, "error": e.message}))
        }
    };
    let (status, payload, errors) = match outcome {
        Ok(answer) => ("completed", Some(answer.to_string()), None),
        Err(error) => ("error", None, Some(error.to_string())),
    };
    let stored = db
        .query_one_on(
            Target::Metadata,
            &Statement {
                sql: DONE_SQL.into(),
                params: vec![
                    Some(id.to_string()),
                    Some(status.to_string()),
                    payload,
                    errors,
                ],
            },
        )
        .await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, id, "async actions: storing an answer failed");
    }
}
