//! Subscriptions to an asynchronous action's result (`subscription { <action>(id: …) { … } }`).
//!
//! They are not multiplexed (as in Hasura): each is a task on the socket's thread that reads
//! the logged call every live-query interval through
//! [`graphedge_edge::actions::poll_result`], pushes the answer when it changed (the first one
//! always), and pushes the last one, then `complete`, once the call has an output or errors.
//! An error is pushed as the operation's last answer. Dropping the [`Subscription`] ends the
//! task.
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use graphedge_core::{Plan, Session};
use graphedge_edge::graphql::GqlRequest;

use super::{Payload, Push, Running, Sink, Subscription};
use crate::server::{App, JwkHttp, Local};

/// What one subscription to an action's result needs.
pub(crate) struct ActionWatch {
    pub(crate) app: Arc<App>,
    pub(crate) local: Arc<Local>,
    pub(crate) session: Arc<Session>,
    pub(crate) request: GqlRequest,
    pub(crate) plan: Arc<Plan>,
    /// The websocket upgrade request's headers (the client headers of table joins).
    pub(crate) client_headers: Vec<(String, String)>,
    pub(crate) op: Arc<str>,
    pub(crate) sink: Sink,
}

/// Starts the task polling `w`'s action result (on the current runtime).
pub(crate) fn watch_action_result(w: ActionWatch) -> Subscription {
    let interval = w.app.subscriptions.live_interval();
    let task = tokio::spawn(run(w, interval));
    Subscription(Running::Task(task.abort_handle()))
}

async fn run(w: ActionWatch, interval: Duration) {
    let mut last: Option<[u8; 32]> = None;
    loop {
        let (payload, ended) = match AssertUnwindSafe(poll(&w)).catch_unwind().await {
            Ok(Ok((data, ended))) => {
                let digest = graphedge_edge::subscriptions::answer_digest(&data);
                let changed = last != Some(digest);
                last = Some(digest);
                let body = format!("{{\"data\":{data}}}");
                (
                    (changed || ended).then(|| Payload::Data(body.into())),
                    ended,
                )
            }
            Ok(Err(e)) => {
                // Hasura's execution error: `data` null, with the errors.
                let errors = e.to_graphql_json(false);
                let body = serde_json::json!({"data": null, "errors": errors["errors"]});
                (Some(Payload::Errors(body.to_string())), true)
            }
            Err(_) => {
                tracing::error!(operation = %w.op, "an action result subscription panicked");
                let e = graphedge_edge::EdgeError::unexpected("internal error");
                (
                    Some(Payload::Errors(e.to_graphql_json(false).to_string())),
                    true,
                )
            }
        };
        if let Some(payload) = payload {
            let push = Push {
                op: w.op.clone(),
                payload,
                last: ended,
            };
            // The socket's queue: waits while it is full (a socket that stays full is closed,
            // which drops this subscription); a closed one means the socket is gone.
            if w.sink.send(push).await.is_err() {
                return;
            }
        }
        if ended {
            return;
        }
        tokio::time::sleep(interval).await;
    }
}

/// One read of the logged call, as the socket's query path runs a request.
async fn poll(w: &ActionWatch) -> Result<(String, bool), graphedge_edge::EdgeError> {
    let loaded = w.app.engine.loaded();
    let db = graphedge_edge::md::On::source(&w.local.db, loaded.source.as_ref());
    let outbound = graphedge_edge::actions::Outbound {
        http: &JwkHttp,
        client_headers: &w.client_headers,
        query: &w.request.query,
    };
    graphedge_edge::actions::poll_result(
        &w.app.engine,
        &loaded,
        &db,
        &w.session,
        &outbound,
        &w.plan,
        &w.request.variables,
    )
    .await
}
