//! Live queries and streaming subscriptions, natively: the pollers.
//!
//! A subscription is compiled by core into a multiplexed plan ([`PlanKind::Subscription`]).
//! Subscribers are grouped by `(source, role, SQL)` into **pollers** and, within a poller, by
//! their bound parameters (only the session variables the SQL reads are parameters) into
//! **cohorts**. Each poller is one task: every refetch interval it runs its cohorts in batches
//! of `batch_size`, one statement per batch, hashes each cohort's answer and pushes it to the
//! cohort's subscribers when it changed (new subscribers always get the current answer).
//! A stream's cohort advances its cursor after each non-empty batch and never sends an empty
//! one. The host-independent pieces (the batch parameter, the answer's parsing, the
//! explain variables) are in [`graphedge_edge::subscriptions`].
use std::sync::Arc;

use graphedge_core::{PlanKind, Session};
use graphedge_edge::error::EdgeError;
use graphedge_edge::graphql::GqlRequest;

/// What a subscriber receives: one message per answer, for operation `op` of its socket.
#[derive(Debug, Clone)]
pub struct Push {
    pub op: Arc<str>,
    pub payload: Payload,
}

#[derive(Debug, Clone)]
pub enum Payload {
    /// `{"data": …}` (the text of the response body, as over HTTP).
    Data(Arc<str>),
    /// An execution error: `{"errors": […]}` (the text of the response body).
    Errors(String),
}

/// Where a subscriber's pushes go: the socket's bounded queue. A full queue (a consumer that
/// does not read) drops the push; the socket task notices with [`Sink::is_closed`] or its own
/// bookkeeping and closes the socket.
pub type Sink = tokio::sync::mpsc::Sender<Push>;

/// Every poller of the process.
#[derive(Default)]
pub struct Manager {
    _private: (),
}

/// One running subscription; dropping it stops it (its cohort loses a subscriber, an empty
/// cohort and an empty poller are removed).
pub struct Subscription {
    _private: (),
}

impl Manager {
    /// Starts a subscription for `session`: validates and compiles `req` (a subscription
    /// operation; any other kind is an error the caller does not get: check with
    /// [`graphedge_edge::graphql::is_query`] and the operation kind first), and adds it to its
    /// poller's cohort. The first answer comes with the poller's next run.
    pub fn subscribe(
        &self,
        engine: &graphedge_edge::Engine,
        session: &Session,
        req: &GqlRequest,
        op: Arc<str>,
        sink: Sink,
    ) -> Result<Subscription, EdgeError> {
        let _ = (engine, session, req, op, sink, PlanKind::Query);
        Err(EdgeError::new(
            400,
            "not-supported",
            "subscriptions are not served yet",
        ))
    }
}
