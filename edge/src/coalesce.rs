//! Concurrent reads of one statement share one run: identical requests share its answer
//! ("request coalescing"), and requests that differ only in their parameters are answered
//! together by one batched statement ("batching", [`graphedge_core::batch`]).
//!
//! Many clients often send the same query at the same time: with the same variables (a public
//! feed, a landing page) or, far more often, with their own (another id, another
//! `X-Hasura-User-Id`). Each request would run the same SQL with its own parameters, and
//! Postgres would pay its per-statement work (bind, executor start-up, snapshot, the result
//! and sync messages) once per request. Here the requests of one statement text that arrive
//! while a run of it is in flight form a *cohort*: its distinct parameter lists run as the rows
//! of ONE batched statement (identical ones share a row), so Postgres and the connections do
//! that work once per cohort. (Chinook bench, PK lookups with a random id per request, 2-core
//! VM: a batch of 8 costs Postgres and its client about 19 µs of CPU per request, against 69 µs
//! for 8 statements.)
//!
//! **Consistency: a request never gets an answer older than itself.** A request joins only a
//! run that has not been sent to Postgres yet, so the statement's snapshot is always taken
//! after every request it answers arrived. Per statement text there is at most one run in
//! flight (two for a heavy batched statement, see [`HEAVY_ROW`]) and one cohort waiting for a
//! run to finish (`pending`):
//! * nothing in flight (or fewer runs than the statement may have): the request runs the
//!   statement at once (no added latency, no batch);
//! * a run in flight, no cohort waiting: the request opens the pending cohort; it waits for
//!   the run in flight to finish and then runs the statement for its cohort — alone when every
//!   member has its parameters, batched otherwise;
//! * a cohort is waiting: the request joins it (at most [`MAX_BATCH`] distinct parameter
//!   lists; a request that finds it full runs on its own) and gets its row's answer.
//!
//! So a request waits at most for one run before its own is sent, and where the host has a
//! timer ([`Clock::sleep`]; natively) at most [`PATIENCE`]: then the cohort leaves the queue and
//! runs anyway, so a run that hangs (a dead connection) never holds other requests with it.
//! Only statements whose result depends on nothing but their parameters and the database are
//! eligible (query plans that call no user functions, see `Plan::calls_functions`); mutations
//! never are.
//!
//! Waiting is worth it only for quick statements: a statement whose last run took longer than
//! [`SLOW_RUN`] per request runs on its own until a run of it is quick again, so a slow report
//! is never held up behind another copy of itself. (Measured on the Chinook bench: one run in
//! flight per quick statement does best; letting a second run start, or a cohort start early
//! once it is as large as the run in flight, cost more Postgres work than the idle time it
//! saved. A heavy batched statement is the exception, see [`HEAVY_ROW`].)
//!
//! A batch that does not answer (Postgres refuses the rewrite, or one row's parameters make the
//! statement fail) answers nobody: every member runs its own statement, so each gets exactly
//! the answer or error it would have had alone. A statement text whose rewrite the compiler
//! declines or Postgres refuses as a statement (SQLSTATE class 42 or 0A) is not batched again;
//! its requests still share runs with identical ones.
//!
//! When a run with a large answer ([`LARGE_ANSWER`]) ends, its requests take their answers one
//! turn of the host's run queue later, so a waiting cohort's run is sent first.
//!
//! If a cohort's leader goes away (its request was cancelled), the cohort's members run the
//! statement themselves, each on its own: nobody waits for an answer that will not come.
//!
//! Host-independent: a mutex and wakers, no runtime; runs are timed on the host's `Clock`.
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use graphedge_core::batch;
use graphedge_metadata::db::{DbError, Param, Statement};

use crate::Clock;

/// What a run gives every member of its cohort.
pub type Outcome = Result<Option<String>, DbError>;

/// A run longer than this per request takes its statement out of coalescing (see the module
/// docs).
pub const SLOW_RUN: Duration = Duration::from_millis(10);
/// Longest wait of a pending cohort for the run ahead of it, where the host has a timer.
pub const PATIENCE: Duration = SLOW_RUN;
/// An answer longer than this (bytes) waits for the next cohort's run to be sent before it is
/// handed out: writing a cohort's big answers to a dozen sockets takes long enough that
/// Postgres should be working on the next run meanwhile. Small answers go out at once, which
/// lets more requests join the next cohort. (Chinook bench, one HTTP thread: +22 % on the
/// nested 30 KB Q3, no change on the small ones.)
pub const LARGE_ANSWER: usize = 4096;
/// Most distinct parameter lists in one cohort (rows of one batch).
pub const MAX_BATCH: usize = 16;
/// What one batch may cost, by its statement's shortest recent time per row ([`Window`]): a
/// statement of 0.5 ms per row batches at most 4 rows, one of 1 ms or more is not batched. A batch runs its
/// rows one after the other on one backend; for a heavy statement the per-statement work it
/// saves is small, and the rows would lose the parallelism of separate backends (Chinook
/// bench, `mixr`: batching its ~2 ms nested query raised p99 from 17 to 40 ms).
pub const BATCH_BUDGET: Duration = Duration::from_millis(2);
/// A batched statement of this much per row or more (its shortest recent time, see
/// [`Window`]) may have [`HEAVY_LANES`] runs in flight, each with its cohort, where a lighter one
/// has one. A batch runs its rows one after the other on one backend: for a quick statement a
/// bigger batch saves Postgres more work than a second backend would add, for a heavy one a
/// second backend working beside the first is worth more. (Chinook bench, one HTTP thread, 16
/// clients: q6r, ~0.25 ms per row, 3.9k → 5.5k req/s with two runs in flight; q2r and q5r,
/// 15–25 µs per row, do best with one: batches of ~8 rows instead of ~4.)
pub const HEAVY_ROW: Duration = Duration::from_micros(100);
/// Runs in flight of a heavy batched statement (see [`HEAVY_ROW`]).
pub const HEAVY_LANES: usize = 2;
/// Parameters larger than this in all (bytes) keep a request out of batches: a batch copies
/// every row's parameters into one array literal per parameter, which for a few requests
/// with megabytes of variables would be one more large copy of each, in one statement.
pub const MAX_BATCH_PARAMS: usize = 64 * 1024;
/// Slow (or unbatchable) statements remembered at most (the set is emptied past this: memory
/// stays bounded).
const SLOW_LIMIT: usize = 4096;

/// The runs in flight, by statement and thread. Requests share runs only with requests on their
/// own thread: a native HTTP thread serves its connections from start to end, and waking
/// another thread's requests with an answer cost more than the shared run saved (2-core bench
/// VM, identical Q1 requests, two HTTP threads: ~45k req/s sharing across threads, ~55k with
/// one thread). The edge hosts run one thread per isolate anyway. A request must therefore
/// stay on one thread from joining to its answer, as every host's requests do.
#[derive(Default)]
pub struct Flights {
    inner: Mutex<Inner>,
    hasher: std::collections::hash_map::RandomState,
    shared: AtomicU64,
    batched: AtomicU64,
}

#[derive(Default)]
struct Inner {
    /// By hash of the entry's key; the entries of one bucket are told apart by their statement.
    map: HashMap<u64, Vec<Entry>>,
    /// Hashes of statement texts whose last run was slow: they run on their own. (A collision
    /// only means a statement is not coalesced.)
    slow: HashSet<u64>,
    /// Hashes of statement texts that are not batched (see the module docs): their cohorts
    /// are keyed by text and parameters.
    unbatchable: HashSet<u64>,
    /// By hash of statement text: its duration per row (see [`BATCH_BUDGET`]).
    per_row: HashMap<u64, Window>,
}

/// The shortest duration per row of a statement text's recent runs, microseconds: over the
/// current and the previous [`WINDOW`] runs. A run's duration includes its wait behind other
/// statements (a busy pool, a busy Postgres); the shortest recent one is what the statement
/// itself costs. (An average climbs with the load: on the busy bench machine a 0.3 ms
/// statement averaged over 1 ms unbatched, which kept it unbatched.)
#[derive(Clone, Copy)]
struct Window {
    current: u64,
    previous: u64,
    runs: u32,
}

/// Runs per [`Window`].
const WINDOW: u32 = 256;

impl Window {
    fn new(us: u64) -> Window {
        Window {
            current: us,
            previous: us,
            runs: 1,
        }
    }

    fn record(&mut self, us: u64) {
        if self.runs >= WINDOW {
            self.previous = self.current;
            self.current = us;
            self.runs = 1;
        } else {
            self.current = self.current.min(us);
            self.runs += 1;
        }
    }

    fn shortest(&self) -> u64 {
        self.current.min(self.previous)
    }
}

struct Entry {
    stmt: Statement,
    /// Keyed by the statement's text alone (its cohorts batch other parameters), or by text
    /// and parameters.
    by_text: bool,
    /// Cohorts form per thread (see [`Flights`]).
    thread: std::thread::ThreadId,
    /// The cohort waiting for a run in flight to finish (an entry exists while a run is).
    pending: Option<Arc<Cohort>>,
    /// Runs in flight: one, or up to [`HEAVY_LANES`] for a heavy batched statement.
    flying: usize,
}

/// The requests one run answers.
#[derive(Default)]
struct Cohort {
    /// Set when the cohort's leader may send its run (pending cohorts only).
    go: Signal<()>,
    /// The members' distinct parameter lists, the leader's first; they grow only while the
    /// cohort is pending, under the flights' lock.
    rows: Mutex<Vec<Vec<Param>>>,
    /// One answer per row; `None`: no answer for anybody (the leader was cancelled, or the
    /// batch failed): each member runs on its own.
    outcome: Signal<Option<Arc<Vec<Outcome>>>>,
}

enum Role {
    /// Runs on its own (a slow statement).
    Alone,
    /// Runs on its own, untimed (the pending cohort is full).
    Overflow,
    /// Runs now.
    Lead(Arc<Cohort>),
    /// Runs once the run in flight has finished.
    LeadAfter(Arc<Cohort>),
    /// Gets this row's answer of this cohort.
    Follow(Arc<Cohort>, usize),
}

/// What a statement's runs are keyed by.
#[derive(Clone, Copy)]
struct Key {
    /// Hash of the text (and thread): the statement's shape.
    text: u64,
    /// The hash the entry is filed under: `text`, or with the parameters too.
    hash: u64,
    by_text: bool,
}

impl Flights {
    /// Requests answered by another request's run so far (an identical one's or a batch's).
    pub fn shared(&self) -> u64 {
        self.shared.load(Ordering::Relaxed)
    }

    /// Requests answered by a batched statement so far.
    pub fn batched(&self) -> u64 {
        self.batched.load(Ordering::Relaxed)
    }

    /// Runs `stmt` with `exec(None)`, or shares a run of the same statement text that has not
    /// been sent yet: an identical statement's answer, or a row of a batched statement that
    /// `exec(Some(batch))` runs (see the module docs).
    ///
    /// `clock` (the host's, when it has a monotonic one) times the runs; without it every
    /// statement counts as quick.
    ///
    /// `budget` bounds a batch by the statement's time per row (see [`BATCH_BUDGET`]; zero: no
    /// batching).
    pub async fn run<F, Fut>(
        &self,
        stmt: &Statement,
        clock: Option<&dyn Clock>,
        budget: Duration,
        exec: F,
    ) -> Outcome
    where
        F: Fn(Option<Statement>) -> Fut,
        Fut: Future<Output = Outcome>,
    {
        let text = self.text_hash(stmt);
        let (key, role) = {
            let mut inner = lock(&self.inner);
            let per_row_us = inner.per_row_us(text);
            let cap = batch_cap(per_row_us, budget);
            let by_text = cap > 1
                && !stmt.params.is_empty()
                && !inner.unbatchable.contains(&text)
                && params_size(stmt) <= MAX_BATCH_PARAMS;
            let hash = if by_text {
                text
            } else {
                self.params_hash(text, stmt)
            };
            let key = Key {
                text,
                hash,
                by_text,
            };
            // Identical requests always share the one run in flight.
            let lanes = if by_text { lanes(per_row_us) } else { 1 };
            let role = if inner.slow.contains(&text) {
                Role::Alone
            } else {
                let bucket = inner.map.entry(hash).or_default();
                match Inner::position(bucket, stmt, by_text).map(|i| &mut bucket[i]) {
                    None => {
                        bucket.push(Entry {
                            stmt: stmt.clone(),
                            by_text,
                            thread: std::thread::current().id(),
                            pending: None,
                            flying: 1,
                        });
                        Role::Lead(Arc::default())
                    }
                    Some(e) if e.pending.is_none() && e.flying < lanes => {
                        e.flying += 1;
                        Role::Lead(Arc::default())
                    }
                    Some(e) => match &e.pending {
                        Some(p) => {
                            let mut rows = lock(&p.rows);
                            match rows.iter().position(|r| *r == stmt.params) {
                                Some(i) => Role::Follow(p.clone(), i),
                                None if rows.len() < cap => {
                                    rows.push(stmt.params.clone());
                                    Role::Follow(p.clone(), rows.len() - 1)
                                }
                                None => Role::Overflow,
                            }
                        }
                        None => {
                            let p = Arc::new(Cohort {
                                rows: Mutex::new(vec![stmt.params.clone()]),
                                ..Default::default()
                            });
                            e.pending = Some(p.clone());
                            Role::LeadAfter(p)
                        }
                    },
                }
            };
            (key, role)
        };
        match role {
            Role::Alone => {
                let (out, took) = timed(clock, exec(None), 1).await;
                if took.is_some() {
                    lock(&self.inner).note_speed(key, took);
                }
                out
            }
            Role::Overflow => exec(None).await,
            Role::Follow(cohort, row) => {
                match cohort
                    .outcome
                    .wait()
                    .await
                    .and_then(|o| o.get(row).cloned())
                {
                    Some(out) => {
                        self.shared.fetch_add(1, Ordering::Relaxed);
                        if is_large(&out) {
                            yield_once().await;
                        }
                        out
                    }
                    // The leader was cancelled, or the batch gave no answer: run alone.
                    None => exec(None).await,
                }
            }
            Role::Lead(cohort) => self.lead(key, stmt, clock, cohort, false, exec).await,
            Role::LeadAfter(cohort) => self.lead(key, stmt, clock, cohort, true, exec).await,
        }
    }

    async fn lead<F, Fut>(
        &self,
        key: Key,
        stmt: &Statement,
        clock: Option<&dyn Clock>,
        cohort: Arc<Cohort>,
        wait: bool,
        exec: F,
    ) -> Outcome
    where
        F: Fn(Option<Statement>) -> Fut,
        Fut: Future<Output = Outcome>,
    {
        // Publishes (or, if this future is dropped first, abandons) the run.
        let mut guard = Leader {
            flights: self,
            key,
            stmt,
            cohort,
            outcome: None,
            took: None,
            ended: false,
        };
        if wait {
            let timer = clock.and_then(|c| c.sleep(PATIENCE));
            if crate::within(guard.cohort.go.wait(), timer).await.is_none() {
                self.leave_queue(key, stmt, &guard.cohort);
            }
        }
        // Nobody joins any more: the cohort is no longer pending.
        let rows = std::mem::take(&mut *lock(&guard.cohort.rows));
        if rows.len() > 1 {
            // Boxed: the batch's future would make every run's future larger.
            let batch = Box::pin(self.run_batch(key, stmt, clock, &rows, &exec));
            let Some((answers, took)) = batch.await else {
                // No answer for anybody: the members run on their own, and so does the leader.
                guard.publish();
                return exec(None).await;
            };
            self.batched.fetch_add(rows.len() as u64, Ordering::Relaxed);
            guard.took = took;
            let out = answers[0].clone();
            guard.outcome = Some(Arc::new(answers));
            if guard.publish() && is_large(&out) {
                yield_once().await;
            }
            return out;
        }
        let (out, took) = timed(clock, exec(None), 1).await;
        guard.took = took;
        // Only a cohort opened while pending can have members; nobody joins it any more (it
        // is no longer pending), so without other holders there is nobody to copy the answer for.
        if Arc::strong_count(&guard.cohort) > 1 {
            guard.outcome = Some(Arc::new(vec![out.clone()]));
        }
        if guard.publish() && is_large(&out) {
            yield_once().await;
        }
        out
    }

    /// Runs the cohort's `rows` as one batched statement: each row's answer, and how long the
    /// run took per row when timed; `None` when the batch gave no answer for each row.
    async fn run_batch<F, Fut>(
        &self,
        key: Key,
        stmt: &Statement,
        clock: Option<&dyn Clock>,
        rows: &[Vec<Param>],
        exec: &F,
    ) -> Option<(Vec<Outcome>, Option<u64>)>
    where
        F: Fn(Option<Statement>) -> Fut,
        Fut: Future<Output = Outcome>,
    {
        let Some(sql) = batch::batched_sql(&stmt.sql, stmt.params.len()) else {
            lock(&self.inner).not_batchable(key.text);
            return None;
        };
        let params = (0..stmt.params.len())
            .map(|k| {
                Some(batch::array_literal(
                    rows.iter().map(|r| r.get(k).and_then(|p| p.as_deref())),
                ))
            })
            .collect();
        let (out, took) = timed(clock, exec(Some(Statement { sql, params })), rows.len()).await;
        match out {
            Ok(answer) => batch::split_answers(answer.as_deref(), rows.len())
                .map(|answers| (answers.into_iter().map(Ok).collect(), took)),
            Err(e) => {
                // Refused as a statement: this text is not batched again. Any other error
                // (one row's parameters, the connection) only fails this batch.
                if e.code
                    .as_deref()
                    .is_some_and(|c| c.starts_with("42") || c.starts_with("0A"))
                {
                    lock(&self.inner).not_batchable(key.text);
                }
                None
            }
        }
    }

    /// A pending cohort that waited long enough stops being the one new requests join; it runs
    /// now. (Its members all joined before its run is sent, so their answers stay fresh.)
    fn leave_queue(&self, key: Key, stmt: &Statement, cohort: &Arc<Cohort>) {
        let mut inner = lock(&self.inner);
        let bucket = inner.map.get_mut(&key.hash);
        if let Some(e) =
            bucket.and_then(|b| Inner::position(b, stmt, key.by_text).map(|i| &mut b[i]))
        {
            if e.is_pending(cohort) {
                e.pending = None;
                e.flying += 1;
            }
        }
    }

    /// The hash of `stmt`'s text on this thread.
    fn text_hash(&self, stmt: &Statement) -> u64 {
        let mut h = self.hasher.build_hasher();
        std::thread::current().id().hash(&mut h);
        stmt.sql.hash(&mut h);
        h.finish()
    }

    /// The hash of `stmt`'s text (`text`, see [`Flights::text_hash`]) and parameters.
    fn params_hash(&self, text: u64, stmt: &Statement) -> u64 {
        let mut h = self.hasher.build_hasher();
        text.hash(&mut h);
        stmt.params.hash(&mut h);
        h.finish()
    }

    /// The run of `cohort` is over (or was never sent): a pending cohort may go (the result
    /// says whether one does), the statement's speed is noted, and the cohort's members get
    /// `outcome` (`None`: abandoned, or nobody to answer).
    fn finish(
        &self,
        key: Key,
        stmt: &Statement,
        cohort: &Arc<Cohort>,
        outcome: Option<Arc<Vec<Outcome>>>,
        took: Option<u64>,
    ) -> bool {
        let mut go = None;
        {
            let mut inner = lock(&self.inner);
            inner.note_speed(key, took);
            let map = &mut inner.map;
            if let Some(bucket) = map.get_mut(&key.hash) {
                if let Some(i) = Inner::position(bucket, stmt, key.by_text) {
                    let e = &mut bucket[i];
                    if e.is_pending(cohort) {
                        // Cancelled while waiting: it never ran.
                        e.pending = None;
                    } else {
                        // Its run ends; the pending cohort (if any) runs next. (After a cohort
                        // left the queue, two runs may be in flight and this may be either: at
                        // worst the next cohort starts early, which keeps answers fresh.)
                        go = e.pending.take();
                        if go.is_none() {
                            e.flying -= 1;
                            if e.flying == 0 {
                                bucket.swap_remove(i);
                            }
                        }
                    }
                }
                if bucket.is_empty() {
                    map.remove(&key.hash);
                }
            }
        }
        let next = go.is_some();
        if let Some(p) = go {
            p.go.set(());
        }
        cohort.outcome.set(outcome);
        next
    }
}

/// Runs `run`; with the host's monotonic clock, also says how long it took per request of
/// the `rows` it answers, microseconds (errors say nothing of a statement's speed).
async fn timed(
    clock: Option<&dyn Clock>,
    run: impl Future<Output = Outcome>,
    rows: usize,
) -> (Outcome, Option<u64>) {
    let now = || clock.and_then(|c| c.monotonic_micros());
    let start = now();
    let out = run.await;
    let took = match (start, now(), &out) {
        (Some(start), Some(end), Ok(_)) => Some(end.saturating_sub(start) / rows.max(1) as u64),
        _ => None,
    };
    (out, took)
}

impl Entry {
    /// Whether `cohort` is the one waiting for the run in flight.
    fn is_pending(&self, cohort: &Arc<Cohort>) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, cohort))
    }
}

impl Inner {
    /// After a run timed at `took` per row: remembers (or forgets) the statement as slow, and
    /// notes its text's time per row.
    fn note_speed(&mut self, key: Key, took: Option<u64>) {
        let Some(took) = took else { return };
        if took > SLOW_RUN.as_micros() as u64 {
            remember(&mut self.slow, key.text);
        } else {
            self.slow.remove(&key.text);
        }
        if let Some(w) = self.per_row.get_mut(&key.text) {
            return w.record(took);
        }
        if self.per_row.len() >= SLOW_LIMIT {
            self.per_row.clear();
        }
        self.per_row.insert(key.text, Window::new(took));
    }

    /// The statement text's shortest recent time per row, microseconds (see [`Window`]); `None`
    /// before its first timed run.
    fn per_row_us(&self, text: u64) -> Option<u64> {
        self.per_row.get(&text).map(Window::shortest)
    }

    /// The statement text (hash) is not batched from now on.
    fn not_batchable(&mut self, text: u64) {
        remember(&mut self.unbatchable, text);
    }

    /// The entry of `stmt` (keyed `by_text` or not) in its bucket.
    fn position(bucket: &[Entry], stmt: &Statement, by_text: bool) -> Option<usize> {
        let thread = std::thread::current().id();
        bucket.iter().position(|e| {
            e.thread == thread
                && e.by_text == by_text
                && e.stmt.sql == stmt.sql
                && (by_text || e.stmt.params == stmt.params)
        })
    }
}

/// How many rows a batch of a statement taking `per_row_us` may have within `budget` (see
/// [`BATCH_BUDGET`]); no timing yet: [`MAX_BATCH`].
fn batch_cap(per_row_us: Option<u64>, budget: Duration) -> usize {
    if budget.is_zero() {
        return 0;
    }
    match per_row_us {
        Some(us) => (budget.as_micros() as u64 / us.max(1)).min(MAX_BATCH as u64) as usize,
        None => MAX_BATCH,
    }
}

/// Runs of a batched statement taking `per_row_us` that may be in flight at once (see
/// [`HEAVY_ROW`]).
fn lanes(per_row_us: Option<u64>) -> usize {
    match per_row_us {
        Some(us) if us >= HEAVY_ROW.as_micros() as u64 => HEAVY_LANES,
        _ => 1,
    }
}

/// The bytes of `stmt`'s parameters.
fn params_size(stmt: &Statement) -> usize {
    stmt.params
        .iter()
        .map(|p| p.as_ref().map_or(0, String::len))
        .sum()
}

/// Adds `hash` to a bounded set (emptied when full).
fn remember(set: &mut HashSet<u64>, hash: u64) {
    if !set.contains(&hash) {
        if set.len() >= SLOW_LIMIT {
            set.clear();
        }
        set.insert(hash);
    }
}

/// Publishes the leader's outcome when dropped: the outcome if the run completed, otherwise
/// "abandoned", so no member of the cohort waits forever.
struct Leader<'a> {
    flights: &'a Flights,
    key: Key,
    stmt: &'a Statement,
    cohort: Arc<Cohort>,
    outcome: Option<Arc<Vec<Outcome>>>,
    /// How long the run took per row, when timed.
    took: Option<u64>,
    /// Published already (see [`Leader::publish`]).
    ended: bool,
}

impl Leader<'_> {
    /// Publishes the outcome (once; later calls do nothing); says whether a pending cohort may
    /// now go.
    fn publish(&mut self) -> bool {
        if std::mem::replace(&mut self.ended, true) {
            return false;
        }
        let outcome = self.outcome.take();
        self.flights
            .finish(self.key, self.stmt, &self.cohort, outcome, self.took)
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        self.publish();
    }
}

/// Whether handing `out` to a client costs enough (copying it into a socket) that the next
/// cohort's run should go out first (see [`LARGE_ANSWER`]).
fn is_large(out: &Outcome) -> bool {
    matches!(out, Ok(Some(s)) if s.len() > LARGE_ANSWER)
}

/// Lets the tasks that are ready run before this one goes on: once through the host's run
/// queue, in which the next cohort's leader (woken when the run finished) comes first.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// A value set once, awaited by many.
struct Signal<T> {
    state: Mutex<(Option<T>, Vec<Waker>)>,
}

impl<T> Default for Signal<T> {
    fn default() -> Self {
        Signal {
            state: Mutex::new((None, Vec::new())),
        }
    }
}

impl<T: Clone> Signal<T> {
    fn set(&self, value: T) {
        let wakers = {
            let mut state = lock(&self.state);
            state.0 = Some(value);
            std::mem::take(&mut state.1)
        };
        for w in wakers {
            w.wake();
        }
    }

    fn wait(&self) -> impl Future<Output = T> + '_ {
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            let mut state = lock(&self.state);
            if let Some(v) = &state.0 {
                return Poll::Ready(v.clone());
            }
            if !state.1.iter().any(|w| w.will_wake(cx.waker())) {
                state.1.push(cx.waker().clone());
            }
            Poll::Pending
        })
    }
}

/// Locks `m`; a panic elsewhere while holding it does not poison the flights for everyone.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
