//! Live queries and streaming subscriptions, natively: the pollers.
//!
//! A subscription is compiled by core into a multiplexed plan ([`PlanKind::Subscription`]).
//! Subscribers are grouped by `(source, role, SQL)` into **pollers** and, within a poller, by
//! their bound parameters (only the session variables the SQL reads are parameters) into
//! **cohorts**. Each poller is one task: every refetch interval it runs its cohorts in batches
//! of `batch_size`, one statement per batch, keeps a digest of each cohort's answer and pushes
//! the answer to the cohort's subscribers when it changed (new subscribers always get the
//! current answer). A stream's cohort advances its cursor after each non-empty batch and
//! never sends an empty one. A new subscriber wakes its poller, so the first answer does not
//! wait for the interval. The host-independent pieces (the batch parameter, the answer's
//! parsing, the explain variables) are in [`graphedge_edge::subscriptions`].
//!
//! The pollers run on a thread of their own (a single-threaded runtime) with a database
//! backend of their own; subscribing and unsubscribing only touch shared maps.
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use graphedge_core::{Plan, PlanKind, Session};
use graphedge_edge::error::EdgeError;
use graphedge_edge::graphql::GqlRequest;
use graphedge_edge::md::{Database, Statement};
use graphedge_edge::subscriptions as subs;
use graphedge_edge::Loaded;

use crate::backend::Backend;

mod actions;
mod changes;
pub(crate) use actions::{watch_action_result, ActionWatch};
pub use changes::CHANNEL;

/// What a subscriber receives: one message per answer, for operation `op` of its socket.
#[derive(Debug, Clone)]
pub struct Push {
    pub op: Arc<str>,
    pub payload: Payload,
    /// The operation's last push: `complete` follows it (an asynchronous action's result
    /// once the call ended).
    pub last: bool,
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

/// Refetch interval and batch size of one kind of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub interval: Duration,
    pub batch_size: usize,
}

/// Hasura's settings: `HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL` (ms) and
/// `…_BATCH_SIZE`, and the same for `STREAMING_QUERIES`; 1000 ms and 100 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub live: Pace,
    pub streaming: Pace,
    /// Re-run a poller only when a table it reads changed (see [`changes`]);
    /// `GRAPHEDGE_SUBSCRIPTIONS_WATCH_CHANGES`, default true.
    pub watch_changes: bool,
    /// Even without a change, a watched poller runs at least this often
    /// (`GRAPHEDGE_SUBSCRIPTIONS_FULL_REFRESH` seconds, default 120: with 10,000 cohorts in
    /// batches of 100, under one statement per second).
    pub full_refresh: Duration,
}

impl Settings {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Settings, String> {
        use graphedge_edge::config::{bool_setting, positive_setting};
        let pace = |kind: &str| -> Result<Pace, String> {
            let num = |suffix: &str, default: u64, unit: &str| {
                let name = format!("HASURA_GRAPHQL_{kind}_MULTIPLEXED_{suffix}");
                positive_setting(get, &name, default, unit)
            };
            Ok(Pace {
                interval: Duration::from_millis(num("REFETCH_INTERVAL", 1000, "number of ms")?),
                batch_size: num("BATCH_SIZE", 100, "integer")? as usize,
            })
        };
        let watch_changes = bool_setting(get, "GRAPHEDGE_SUBSCRIPTIONS_WATCH_CHANGES", true)?;
        let full_refresh = positive_setting(
            get,
            "GRAPHEDGE_SUBSCRIPTIONS_FULL_REFRESH",
            120,
            "number of seconds",
        )?;
        Ok(Settings {
            live: pace("LIVE_QUERIES")?,
            streaming: pace("STREAMING_QUERIES")?,
            watch_changes,
            full_refresh: Duration::from_secs(full_refresh),
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        let pace = Pace {
            interval: Duration::from_secs(1),
            batch_size: 100,
        };
        Settings {
            live: pace,
            streaming: pace,
            watch_changes: true,
            full_refresh: Duration::from_secs(120),
        }
    }
}

/// `(source, role, SQL)`: subscribers whose statements are the same.
type PollerKey = (usize, String, String);
type Pollers = Mutex<HashMap<PollerKey, Arc<Poller>>>;

/// Every poller of the process.
pub struct Manager {
    settings: Settings,
    pollers: Arc<Pollers>,
    /// Starts a poller's task on the pollers' thread; `None`: not serving (tests, or the
    /// thread is gone), subscribing fails.
    start: Option<tokio::sync::mpsc::UnboundedSender<Arc<Poller>>>,
    next_id: AtomicU64,
}

impl Default for Manager {
    fn default() -> Self {
        Manager {
            settings: Settings::default(),
            pollers: Arc::default(),
            start: None,
            next_id: AtomicU64::new(1),
        }
    }
}

/// One subscriber of a cohort.
struct Subscriber {
    id: u64,
    op: Arc<str>,
    sink: Sink,
}

/// Subscribers with the same parameters.
struct Cohort {
    /// The bound parameters (a stream's cursor advances).
    vars: Vec<Option<String>>,
    subscribers: Vec<Subscriber>,
    /// Subscribers that have not had an answer yet.
    fresh: Vec<Subscriber>,
    /// The digest of the last answer pushed.
    digest: Option<[u8; 32]>,
    /// A stream whose last batch was not empty: there may be more rows already.
    more: bool,
}

/// One statement's subscribers, and the task polling for them.
struct Poller {
    key: PollerKey,
    plan: Arc<Plan>,
    loaded: Arc<Loaded>,
    pace: Pace,
    watch_changes: bool,
    full_refresh: Duration,
    /// Cohorts by their current parameters.
    cohorts: Mutex<HashMap<Vec<Option<String>>, Cohort>>,
    /// Subscriber id → its cohort's key.
    members: Mutex<HashMap<u64, Vec<Option<String>>>>,
    wake: tokio::sync::Notify,
    /// Notified when a table the poller reads may have changed (see [`changes`]).
    changed: Arc<tokio::sync::Notify>,
    /// The manager's map, where the task removes the poller when it has no cohort left.
    registry: std::sync::Weak<Pollers>,
}

/// One running subscription; dropping it stops it (its cohort loses a subscriber, an empty
/// cohort and an empty poller are removed; an action result's task ends).
pub struct Subscription(Running);

enum Running {
    Cohort { poller: Arc<Poller>, id: u64 },
    Task(tokio::task::AbortHandle),
}

impl Drop for Subscription {
    fn drop(&mut self) {
        match &self.0 {
            Running::Cohort { poller, id } => poller.remove(*id),
            Running::Task(task) => task.abort(),
        }
    }
}

/// What [`Manager::subscribe`] started.
pub enum Subscribed {
    /// A live query or stream, in its poller's cohort.
    Multiplexed(Subscription),
    /// An asynchronous action's result: its subscription is a task of the socket's host
    /// ([`watch_action_result`]).
    ActionResult(Arc<Plan>),
}

impl Poller {
    fn lock_cohorts(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<Option<String>>, Cohort>> {
        self.cohorts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_members(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<Option<String>>>> {
        self.members.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, vars: Vec<Option<String>>, sub: Subscriber) {
        let mut cohorts = self.lock_cohorts();
        self.lock_members().insert(sub.id, vars.clone());
        cohorts
            .entry(vars.clone())
            .or_insert_with(|| Cohort {
                vars,
                subscribers: Vec::new(),
                fresh: Vec::new(),
                digest: None,
                more: false,
            })
            .fresh
            .push(sub);
        drop(cohorts);
        self.wake.notify_one();
    }

    fn remove(&self, id: u64) {
        let mut cohorts = self.lock_cohorts();
        let Some(key) = self.lock_members().remove(&id) else {
            return;
        };
        if let Some(c) = cohorts.get_mut(&key) {
            c.subscribers.retain(|s| s.id != id);
            c.fresh.retain(|s| s.id != id);
            if c.subscribers.is_empty() && c.fresh.is_empty() {
                cohorts.remove(&key);
            }
        }
        if cohorts.is_empty() {
            self.wake.notify_one(); // the task ends
        }
    }

    fn stream(&self) -> Option<usize> {
        match self.plan.kind {
            PlanKind::Subscription { stream, .. } => stream,
            _ => None,
        }
    }
}

impl Manager {
    /// A manager whose pollers run on a thread of their own with the backend `open` makes
    /// there (called once, on that thread).
    pub fn start(
        settings: Settings,
        open: impl FnOnce() -> Result<Backend, String> + Send + 'static,
    ) -> Result<Manager, String> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Arc<Poller>>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("subscriptions".into())
            .stack_size(crate::server::HTTP_THREAD_STACK)
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let local = tokio::task::LocalSet::new();
                local.block_on(&rt, async move {
                    let db = match open() {
                        Ok(db) => Rc::new(db),
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let changes = Rc::new(changes::Changes::default());
                    while let Some(poller) = rx.recv().await {
                        tokio::task::spawn_local(run_poller(poller, db.clone(), changes.clone()));
                    }
                });
            })
            .map_err(|e| format!("cannot start the subscriptions thread: {e}"))?;
        ready_rx
            .recv()
            .map_err(|_| "the subscriptions thread ended".to_string())??;
        Ok(Manager {
            settings,
            pollers: Arc::default(),
            start: Some(tx),
            next_id: AtomicU64::new(1),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PollerKey, Arc<Poller>>> {
        self.pollers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a subscription for `session`: validates and compiles `req` (a subscription
    /// operation: check with [`graphedge_edge::subscriptions::is_subscription`] first), and
    /// adds it to its poller's cohort. The first answer comes as soon as the poller runs.
    pub fn subscribe(
        &self,
        engine: &graphedge_edge::Engine,
        session: &Session,
        req: &GqlRequest,
        op: Arc<str>,
        sink: Sink,
    ) -> Result<Subscribed, EdgeError> {
        let loaded = engine.loaded();
        let (plan, vars) = match subs::prepare(engine, &loaded, session, req)? {
            subs::Prepared::Multiplexed(plan, vars) => (plan, vars),
            subs::Prepared::ActionResult(plan) => return Ok(Subscribed::ActionResult(plan)),
        };
        let Some(start) = &self.start else {
            return Err(EdgeError::new(
                500,
                "unexpected",
                "subscriptions are not served by this process",
            ));
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let key = (plan.source, session.role.clone(), plan.sql.clone());
        let pace = match plan.kind {
            PlanKind::Subscription {
                stream: Some(_), ..
            } => self.settings.streaming,
            _ => self.settings.live,
        };
        let mut pollers = self.lock();
        let poller = match pollers.get(&key) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(Poller {
                    key: key.clone(),
                    plan,
                    loaded,
                    pace,
                    watch_changes: self.settings.watch_changes,
                    full_refresh: self.settings.full_refresh,
                    cohorts: Mutex::default(),
                    members: Mutex::default(),
                    wake: tokio::sync::Notify::new(),
                    changed: Arc::new(tokio::sync::Notify::new()),
                    registry: Arc::downgrade(&self.pollers),
                });
                start.send(p.clone()).map_err(|_| {
                    EdgeError::new(500, "unexpected", "the subscriptions thread ended")
                })?;
                pollers.insert(key, p.clone());
                p
            }
        };
        poller.add(vars, Subscriber { id, op, sink });
        drop(pollers);
        Ok(Subscribed::Multiplexed(Subscription(Running::Cohort {
            poller,
            id,
        })))
    }

    /// The refetch interval of live queries (an action result's too).
    pub fn live_interval(&self) -> Duration {
        self.settings.live.interval
    }

    /// The pollers, for `/dev/subscriptions`: `(source, role, SQL, cohorts, subscribers)`.
    pub fn dump(&self) -> Vec<(usize, String, String, usize, usize)> {
        self.lock()
            .values()
            .map(|p| {
                let cohorts = p.lock_cohorts();
                let subscribers = cohorts
                    .values()
                    .map(|c| c.subscribers.len() + c.fresh.len())
                    .sum();
                (
                    p.key.0,
                    p.key.1.clone(),
                    p.key.2.clone(),
                    cohorts.len(),
                    subscribers,
                )
            })
            .collect()
    }

    /// Subscriptions running.
    pub fn active(&self) -> usize {
        self.lock()
            .values()
            .map(|p| {
                p.lock_cohorts()
                    .values()
                    .map(|c| c.subscribers.len() + c.fresh.len())
                    .sum::<usize>()
            })
            .sum()
    }

    /// `/dev/subscriptions` (Hasura's poller dump; `extended`: with each cohort).
    pub fn dump_json(&self, extended: bool) -> serde_json::Value {
        let pollers: Vec<Arc<Poller>> = self.lock().values().cloned().collect();
        let list = pollers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let cohorts = p.lock_cohorts();
                let mut out = serde_json::json!({
                    "source": p.loaded.md.schema.sources.get(p.key.0).map_or("default", |s| s.name.as_str()),
                    "role": p.key.1,
                    "thread_id": "subscriptions",
                    "poller_id": i,
                    "multiplexed_query": p.key.2,
                    "cohorts": cohorts.len(),
                    "subscribers": cohorts.values().map(|c| c.subscribers.len() + c.fresh.len()).sum::<usize>(),
                });
                if extended {
                    out["cohort_list"] = cohorts
                        .values()
                        .map(|c| {
                            serde_json::json!({
                                "variables": c.vars,
                                "current_ops": c.subscribers.iter().map(|s| &*s.op).collect::<Vec<_>>(),
                                "new_ops": c.fresh.iter().map(|s| &*s.op).collect::<Vec<_>>(),
                                "previous_result_hash": c.digest.map(|d| d.iter().map(|b| format!("{b:02x}")).collect::<String>()),
                            })
                        })
                        .collect();
                }
                out
            })
            .collect();
        serde_json::Value::Array(list)
    }

    /// The `hasura_active_subscriptions` gauge of `/v1/metrics`.
    pub fn gauge(&self) -> graphedge_edge::metrics::Gauge {
        graphedge_edge::metrics::Gauge {
            name: "hasura_active_subscriptions",
            help: "Active subscriptions (live queries and streams) of this process",
            samples: vec![(String::new(), self.active() as f64)],
        }
    }
}

/// A poller's task: runs its cohorts every interval (at once when a subscriber arrives) until
/// it has none; a watched poller only when one of its tables changed, for fresh subscribers,
/// for streams with more rows, or at the full refresh.
async fn run_poller(poller: Arc<Poller>, db: Rc<Backend>, changes: Rc<changes::Changes>) {
    let watch = match &poller.plan.kind {
        PlanKind::Subscription {
            reads: Some(reads), ..
        } if poller.watch_changes => {
            let source = poller.loaded.source_target(poller.plan.source);
            match db.source_pool(source) {
                Some((key, pool)) => changes.watch(&key, &pool, reads, &poller.changed).await,
                None => None,
            }
        }
        _ => None,
    };
    // The tables' version when every cohort last ran, and when that was.
    let mut seen: Option<u64> = None;
    let mut last_full = tokio::time::Instant::now();
    loop {
        if let Some(registry) = poller.registry.upgrade() {
            // Under the map's lock: a subscriber joins only while the poller is in the map.
            let mut pollers = registry.lock().unwrap_or_else(|p| p.into_inner());
            if poller.lock_cohorts().is_empty() {
                pollers.remove(&poller.key);
                break;
            }
        } else {
            break;
        }
        // Read before the run: a write committing during the run moves it again.
        let version = watch.as_ref().map(|w| changes.version(w));
        let started = tokio::time::Instant::now();
        let all =
            version.is_none() || version != seen || last_full.elapsed() >= poller.full_refresh;
        if run_once(&poller, &db, all).await && all {
            seen = version;
            last_full = tokio::time::Instant::now();
        }
        // The next round: at once for a new subscriber (who must not wait for the interval);
        // after a change, as soon as an interval has passed since this round began (an idle
        // poller answers a write at once, a busy one at most once per interval); else after
        // the interval.
        tokio::select! {
            _ = poller.wake.notified() => {}
            _ = poller.changed.notified() => {
                tokio::time::sleep_until(started + poller.pace.interval).await;
            }
            _ = tokio::time::sleep(poller.pace.interval) => {}
        }
    }
}

/// One round: every cohort (`all`), or only those with fresh subscribers or (streams) more
/// rows, in batches. Whether every statement succeeded.
async fn run_once(poller: &Poller, db: &Backend, all: bool) -> bool {
    let batches: Vec<Vec<Vec<Option<String>>>> = {
        let cohorts = poller.lock_cohorts();
        let keys: Vec<_> = cohorts
            .values()
            .filter(|c| all || c.more || !c.fresh.is_empty())
            .map(|c| c.vars.clone())
            .collect();
        keys.chunks(poller.pace.batch_size.max(1))
            .map(<[_]>::to_vec)
            .collect()
    };
    let mut ok = true;
    for batch in batches {
        let refs: Vec<&[Option<String>]> = batch.iter().map(Vec::as_slice).collect();
        let stmt = Statement {
            sql: poller.plan.sql.clone(),
            params: vec![Some(subs::batch_param(&refs))],
        };
        let on =
            graphedge_edge::md::On::source(db, poller.loaded.source_target(poller.plan.source));
        let answer = match on.query_one(&stmt).await {
            Ok(text) => subs::parse_answer(text.as_deref().unwrap_or("[]")),
            Err(e) => Err(graphedge_edge::error::db_error(&e)),
        };
        match answer {
            Ok(rows) => {
                for row in rows {
                    if let Some(vars) = batch.get(row.index) {
                        deliver(poller, vars, row);
                    }
                }
            }
            Err(e) => {
                ok = false;
                // Hasura's execution error: `data` null, with the errors.
                let errors = e.to_graphql_json(false);
                let body =
                    serde_json::json!({"data": null, "errors": errors["errors"]}).to_string();
                let mut cohorts = poller.lock_cohorts();
                for vars in &batch {
                    if let Some(c) = cohorts.get_mut(vars) {
                        for s in c.subscribers.iter().chain(&c.fresh) {
                            send(s, Payload::Errors(body.clone()));
                        }
                    }
                }
            }
        }
    }
    ok
}

/// Hands one cohort's answer to its subscribers. A subscriber whose queue was full (a socket
/// with many subscriptions receiving a whole batch at once) missed it: it is served again
/// from where it was at the next round (a live query's subscriber as a fresh one, a stream's
/// in a cohort at the cursor it had), never skipped.
fn deliver(poller: &Poller, vars: &[Option<String>], row: subs::CohortAnswer) {
    let mut cohorts = poller.lock_cohorts();
    let Some(cohort) = cohorts.get_mut(vars) else {
        return; // every subscriber left meanwhile
    };
    let data = row.data.get();
    let payload = || {
        let mut body = String::with_capacity(data.len() + 9);
        body.push_str("{\"data\":");
        body.push_str(data);
        body.push('}');
        Payload::Data(body.into())
    };
    match poller.stream() {
        None => {
            let digest = subs::answer_digest(data);
            let changed = cohort.digest != Some(digest);
            cohort.digest = Some(digest);
            let mut missed = Vec::new();
            if changed || !cohort.fresh.is_empty() {
                let p = payload();
                // A change goes to everyone, the current answer to new subscribers.
                let current = if changed {
                    std::mem::take(&mut cohort.subscribers)
                } else {
                    Vec::new()
                };
                let fresh = std::mem::take(&mut cohort.fresh);
                for sub in current.into_iter().chain(fresh) {
                    if send(&sub, p.clone()) {
                        cohort.subscribers.push(sub);
                    } else {
                        missed.push(sub);
                    }
                }
            }
            cohort.fresh = missed;
        }
        Some(cursor_param) => {
            let fresh = std::mem::take(&mut cohort.fresh);
            cohort.subscribers.extend(fresh);
            // An empty batch (no next cursor) is not sent.
            cohort.more = row.cursor.is_some();
            let Some(next) = row.cursor else {
                return;
            };
            let p = payload();
            let (mut sent, mut missed) = (Vec::new(), Vec::new());
            for sub in std::mem::take(&mut cohort.subscribers) {
                if send(&sub, p.clone()) {
                    sent.push(sub);
                } else {
                    missed.push(sub);
                }
            }
            let Some(mut cohort) = cohorts.remove(vars) else {
                return;
            };
            if !missed.is_empty() {
                // They stay at the old cursor, and get this batch again.
                cohorts.insert(
                    vars.to_vec(),
                    Cohort {
                        vars: vars.to_vec(),
                        subscribers: missed,
                        fresh: Vec::new(),
                        digest: None,
                        more: true,
                    },
                );
            }
            if sent.is_empty() {
                return;
            }
            // The cohort moves on: its key is its new parameters (a new subscriber starting
            // from the old cursor gets a cohort of its own).
            cohort.subscribers = sent;
            if let Some(v) = cohort.vars.get_mut(cursor_param) {
                *v = Some(next);
            }
            let mut members = poller.lock_members();
            for s in &cohort.subscribers {
                members.insert(s.id, cohort.vars.clone());
            }
            drop(members);
            match cohorts.get_mut(&cohort.vars) {
                // Another cohort is at the same place: they go on together.
                Some(other) => other.subscribers.append(&mut cohort.subscribers),
                None => {
                    cohorts.insert(cohort.vars.clone(), cohort);
                }
            }
        }
    }
}

/// Queues a push: `false` when the queue was full (the subscriber missed it). A closed queue
/// (the socket is gone; its subscriptions are being dropped) counts as delivered.
fn send(s: &Subscriber, payload: Payload) -> bool {
    let push = Push {
        op: s.op.clone(),
        payload,
        last: false,
    };
    !matches!(
        s.sink.try_send(push),
        Err(tokio::sync::mpsc::error::TrySendError::Full(_))
    )
}
