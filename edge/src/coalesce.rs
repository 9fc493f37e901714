//! Identical concurrent reads share one execution ("request coalescing").
//!
//! Many clients often send the same query with the same variables at the same time (a public
//! feed, a landing page). Each such request would run the same statement with the same
//! parameters; here they share one run instead, so Postgres and the connection pool do the
//! work once per cohort rather than once per request.
//!
//! **Consistency: a request never gets an answer older than itself.** A request joins only a
//! run that has not been sent to Postgres yet, so the statement's snapshot is always taken
//! after every request it answers arrived. Per statement key there is at most one run in
//! flight and one cohort waiting for it to finish (`pending`):
//! * nothing in flight: the request runs the statement at once (no added latency);
//! * a run in flight, no cohort waiting: the request opens the pending cohort; it waits for
//!   the run in flight to finish and then runs the statement for its cohort;
//! * a cohort is waiting: the request joins it and gets that cohort's answer.
//!
//! So a request waits at most for one run before its own is sent, and where the host has a
//! timer ([`Clock::sleep`]; natively) at most [`PATIENCE`]: then the cohort leaves the queue and
//! runs anyway, so a run that hangs (a dead connection) never holds identical requests with it. Only statements whose result
//! depends on nothing but their parameters and the database are eligible (query plans that
//! call no user functions, see `Plan::calls_functions`); mutations never are.
//!
//! Waiting is worth it only for quick statements: a statement whose last run took longer than
//! [`SLOW_RUN`] runs on its own until a run of it is quick again, so a slow report is never
//! held up behind another copy of itself. (Measured on the Chinook bench: one run in flight
//! per statement does best; letting a second run start, or a big cohort start early, cost more
//! Postgres work than the idle time it saved.)
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

use graphedge_metadata::db::{DbError, Statement};

use crate::Clock;

/// What a run gives every member of its cohort.
pub type Outcome = Result<Option<String>, DbError>;

/// A run longer than this takes its statement out of coalescing (see the module docs).
pub const SLOW_RUN: Duration = Duration::from_millis(10);
/// Longest wait of a pending cohort for the run ahead of it, where the host has a timer.
pub const PATIENCE: Duration = SLOW_RUN;
/// An answer longer than this (bytes) waits for the next cohort's run to be sent before it is
/// handed out: writing a cohort's big answers to a dozen sockets takes long enough that
/// Postgres should be working on the next run meanwhile. Small answers go out at once, which
/// lets more requests join the next cohort. (Chinook bench, one HTTP thread: +22 % on the
/// nested 30 KB Q3, no change on the small ones.)
pub const LARGE_ANSWER: usize = 4096;
/// Slow statements remembered at most (the set is emptied past this: memory stays bounded).
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
}

#[derive(Default)]
struct Inner {
    /// By hash of the statement; the entries of one bucket are told apart by their statement.
    map: HashMap<u64, Vec<Entry>>,
    /// Hashes of statements whose last run was slow: they run on their own. (A collision only
    /// means a statement is not coalesced.)
    slow: HashSet<u64>,
}

struct Entry {
    stmt: Statement,
    /// Cohorts form per thread (see [`Flights`]).
    thread: std::thread::ThreadId,
    /// The cohort waiting for the run in flight to finish (an entry exists while a run is).
    pending: Option<Arc<Cohort>>,
}

/// The requests one run answers.
#[derive(Default)]
struct Cohort {
    /// Set when the cohort's leader may send its run (pending cohorts only).
    go: Signal<()>,
    /// `None`: abandoned (the leader was cancelled).
    outcome: Signal<Option<Outcome>>,
}

enum Role {
    /// Runs on its own (a slow statement).
    Alone,
    /// Runs now.
    Lead(Arc<Cohort>),
    /// Runs once the run in flight has finished.
    LeadAfter(Arc<Cohort>),
    /// Gets this cohort's answer.
    Follow(Arc<Cohort>),
}

impl Flights {
    /// Requests answered by another request's run so far.
    pub fn shared(&self) -> u64 {
        self.shared.load(Ordering::Relaxed)
    }

    /// Runs `stmt` with `exec`, or shares a run of the identical statement that has not been
    /// sent yet (see the module docs).
    ///
    /// `clock` (the host's, when it has a monotonic one) times the runs; without it every
    /// statement counts as quick.
    pub async fn run<F, Fut>(&self, stmt: &Statement, clock: Option<&dyn Clock>, exec: F) -> Outcome
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Outcome>,
    {
        let hash = self.hash(stmt);
        let role = {
            let mut inner = lock(&self.inner);
            if inner.slow.contains(&hash) {
                Role::Alone
            } else {
                let bucket = inner.map.entry(hash).or_default();
                match Inner::position(bucket, stmt).map(|i| &mut bucket[i]) {
                    None => {
                        bucket.push(Entry {
                            stmt: stmt.clone(),
                            thread: std::thread::current().id(),
                            pending: None,
                        });
                        Role::Lead(Arc::default())
                    }
                    Some(e) => match &e.pending {
                        Some(p) => Role::Follow(p.clone()),
                        None => {
                            let p = Arc::<Cohort>::default();
                            e.pending = Some(p.clone());
                            Role::LeadAfter(p)
                        }
                    },
                }
            }
        };
        match role {
            Role::Alone => {
                let (out, slow) = timed(clock, exec()).await;
                if slow.is_some() {
                    lock(&self.inner).note_speed(hash, slow);
                }
                out
            }
            Role::Follow(cohort) => match cohort.outcome.wait().await {
                Some(out) => {
                    self.shared.fetch_add(1, Ordering::Relaxed);
                    if is_large(&out) {
                        yield_once().await;
                    }
                    out
                }
                // The leader was cancelled: run alone.
                None => exec().await,
            },
            Role::Lead(cohort) => self.lead(hash, stmt, clock, cohort, false, exec).await,
            Role::LeadAfter(cohort) => self.lead(hash, stmt, clock, cohort, true, exec).await,
        }
    }

    async fn lead<F, Fut>(
        &self,
        hash: u64,
        stmt: &Statement,
        clock: Option<&dyn Clock>,
        cohort: Arc<Cohort>,
        wait: bool,
        exec: F,
    ) -> Outcome
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Outcome>,
    {
        // Publishes (or, if this future is dropped first, abandons) the run.
        let mut guard = Leader {
            flights: self,
            hash,
            stmt,
            cohort,
            outcome: None,
            slow: None,
            ended: false,
        };
        if wait {
            let timer = clock.and_then(|c| c.sleep(PATIENCE));
            if crate::within(guard.cohort.go.wait(), timer).await.is_none() {
                self.leave_queue(hash, stmt, &guard.cohort);
            }
        }
        let (out, slow) = timed(clock, exec()).await;
        guard.slow = slow;
        // Only a cohort opened while pending can have members; nobody joins it any more (it
        // is no longer pending), so without other holders there is nobody to copy the answer for.
        if Arc::strong_count(&guard.cohort) > 1 {
            guard.outcome = Some(out.clone());
        }
        if guard.publish() && is_large(&out) {
            yield_once().await;
        }
        out
    }

    /// A pending cohort that waited long enough stops being the one new requests join; it runs
    /// now. (Its members all joined before its run is sent, so their answers stay fresh.)
    fn leave_queue(&self, hash: u64, stmt: &Statement, cohort: &Arc<Cohort>) {
        let mut inner = lock(&self.inner);
        let bucket = inner.map.get_mut(&hash);
        if let Some(e) = bucket.and_then(|b| Inner::position(b, stmt).map(|i| &mut b[i])) {
            if e.is_pending(cohort) {
                e.pending = None;
            }
        }
    }

    fn hash(&self, stmt: &Statement) -> u64 {
        let mut h = self.hasher.build_hasher();
        std::thread::current().id().hash(&mut h);
        stmt.sql.hash(&mut h);
        stmt.params.hash(&mut h);
        h.finish()
    }

    /// The run of `cohort` is over (or was never sent): a pending cohort may go (the result
    /// says whether one does), the statement's speed is noted, and the cohort's members get
    /// `outcome` (`None`: abandoned, or nobody to answer).
    fn finish(
        &self,
        hash: u64,
        stmt: &Statement,
        cohort: &Arc<Cohort>,
        outcome: Option<Outcome>,
        slow: Option<bool>,
    ) -> bool {
        let mut go = None;
        {
            let mut inner = lock(&self.inner);
            inner.note_speed(hash, slow);
            let map = &mut inner.map;
            if let Some(bucket) = map.get_mut(&hash) {
                if let Some(i) = Inner::position(bucket, stmt) {
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
                            bucket.swap_remove(i);
                        }
                    }
                }
                if bucket.is_empty() {
                    map.remove(&hash);
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

/// Runs `run`; with the host's monotonic clock, also says whether it was slow (errors say
/// nothing of a statement's speed).
async fn timed(
    clock: Option<&dyn Clock>,
    run: impl Future<Output = Outcome>,
) -> (Outcome, Option<bool>) {
    let now = || clock.and_then(|c| c.monotonic_micros());
    let start = now();
    let out = run.await;
    let slow = match (start, now(), &out) {
        (Some(start), Some(end), Ok(_)) => {
            Some(end.saturating_sub(start) > SLOW_RUN.as_micros() as u64)
        }
        _ => None,
    };
    (out, slow)
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
    /// Remembers (or forgets) the statement as slow after a timed run.
    fn note_speed(&mut self, hash: u64, slow: Option<bool>) {
        match slow {
            Some(true) if !self.slow.contains(&hash) => {
                if self.slow.len() >= SLOW_LIMIT {
                    self.slow.clear();
                }
                self.slow.insert(hash);
            }
            Some(false) => {
                self.slow.remove(&hash);
            }
            _ => {}
        }
    }

    /// The entry of `stmt` in its bucket.
    fn position(bucket: &[Entry], stmt: &Statement) -> Option<usize> {
        let thread = std::thread::current().id();
        bucket
            .iter()
            .position(|e| e.thread == thread && e.stmt == *stmt)
    }
}

/// Publishes the leader's outcome when dropped: the outcome if the run completed, otherwise
/// "abandoned", so no member of the cohort waits forever.
struct Leader<'a> {
    flights: &'a Flights,
    hash: u64,
    stmt: &'a Statement,
    cohort: Arc<Cohort>,
    outcome: Option<Outcome>,
    /// Whether the run was slow, when timed.
    slow: Option<bool>,
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
            .finish(self.hash, self.stmt, &self.cohort, outcome, self.slow)
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
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::pin::Pin;
    use std::rc::Rc;

    /// A request in flight (`None` once answered).
    type Slot<'a> = Option<Pin<Box<dyn Future<Output = Outcome> + 'a>>>;

    /// A clock the test moves by hand; its timers fire when `fired` is set.
    #[derive(Default)]
    struct Manual(AtomicU64, Arc<std::sync::atomic::AtomicBool>);
    impl Clock for Manual {
        fn now_unix(&self) -> i64 {
            0
        }
        fn monotonic_micros(&self) -> Option<u64> {
            Some(self.0.load(Ordering::Relaxed))
        }
        fn sleep(&self, _: Duration) -> Option<Pin<Box<dyn Future<Output = ()> + Send>>> {
            let fired = self.1.clone();
            Some(Box::pin(std::future::poll_fn(move |_| {
                if fired.load(Ordering::Relaxed) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })))
        }
    }

    fn stmt(p: &str) -> Statement {
        Statement {
            sql: "SELECT $1::text".into(),
            params: vec![Some(p.into())],
        }
    }

    /// A run that finishes when the test says so, recording that it started.
    #[derive(Default)]
    struct Gate {
        open: RefCell<Option<Outcome>>,
        started: RefCell<usize>,
        waker: RefCell<Vec<Waker>>,
    }

    impl Gate {
        fn release(&self, out: &str) {
            *self.open.borrow_mut() = Some(Ok(Some(out.into())));
            for w in self.waker.borrow_mut().drain(..) {
                w.wake();
            }
        }
    }

    async fn gated(g: Rc<Gate>) -> Outcome {
        *g.started.borrow_mut() += 1;
        std::future::poll_fn(|cx| match g.open.borrow().clone() {
            Some(out) => Poll::Ready(out),
            None => {
                g.waker.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// A request for `s` whose run is gated by `g`.
    fn request<'a>(
        flights: &'a Flights,
        s: &'a Statement,
        clock: Option<&'a dyn Clock>,
        g: &Rc<Gate>,
    ) -> Slot<'a> {
        let g = g.clone();
        Some(Box::pin(flights.run(s, clock, move || gated(g.clone()))))
    }

    /// Polls each future once (in order); returns the finished ones' outputs.
    fn step(futs: &mut [Slot<'_>]) -> Vec<Option<String>> {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut done = Vec::new();
        for slot in futs.iter_mut() {
            if let Some(f) = slot {
                if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
                    done.push(out.unwrap());
                    *slot = None;
                }
            }
        }
        done
    }

    #[test]
    fn a_large_answer_lets_the_next_run_go_first() {
        let flights = Flights::default();
        let (g1, g2) = (Rc::new(Gate::default()), Rc::new(Gate::default()));
        let s = stmt("a");
        let mut futs: Vec<Slot<'_>> = [&g1, &g2, &g2]
            .into_iter()
            .map(|g| request(&flights, &s, None, g))
            .collect();
        assert!(step(&mut futs).is_empty());
        let big = "x".repeat(LARGE_ANSWER + 1);
        g1.release(&big);
        // The first run's answer waits one turn; the waiting cohort's run starts meanwhile.
        assert!(step(&mut futs).is_empty());
        assert_eq!(*g2.started.borrow(), 1);
        assert_eq!(step(&mut futs), vec![Some(big.clone())]);
        // A cohort member with a large answer also takes one turn; nothing waits behind it.
        g2.release(&big);
        assert_eq!(step(&mut futs), vec![Some(big.clone())]);
        assert_eq!(step(&mut futs), vec![Some(big)]);
        assert!(flights.inner.lock().unwrap().map.is_empty());
    }

    #[test]
    fn a_request_joins_only_a_run_not_yet_sent() {
        let flights = Flights::default();
        let (g1, g2) = (Rc::new(Gate::default()), Rc::new(Gate::default()));
        let (s, other) = (stmt("a"), stmt("b"));
        let mut futs: Vec<Slot<'_>> = Vec::new();
        // A runs at once.
        let g = g1.clone();
        futs.push(Some(Box::pin(
            flights.run(&s, None, move || gated(g.clone())),
        )));
        assert!(step(&mut futs).is_empty());
        assert_eq!(*g1.started.borrow(), 1);
        // B and C arrive while A's run is in flight: they form the next cohort (B leads).
        for _ in 0..2 {
            let g = g2.clone();
            futs.push(Some(Box::pin(
                flights.run(&s, None, move || gated(g.clone())),
            )));
        }
        // A different statement is not affected.
        futs.push(Some(Box::pin(
            flights.run(&other, None, || async { Ok(Some("other".into())) }),
        )));
        assert_eq!(step(&mut futs), vec![Some("other".to_string())]);
        assert_eq!(
            *g2.started.borrow(),
            0,
            "the cohort waits for the run in flight"
        );
        g1.release("first");
        assert_eq!(step(&mut futs), vec![Some("first".to_string())]);
        assert_eq!(*g2.started.borrow(), 1, "one run for the cohort of two");
        // D arrives while the cohort's run is in flight: it waits for the next one.
        let g3 = Rc::new(Gate::default());
        let g = g3.clone();
        futs.push(Some(Box::pin(
            flights.run(&s, None, move || gated(g.clone())),
        )));
        g2.release("second");
        assert_eq!(
            step(&mut futs),
            vec![Some("second".to_string()), Some("second".to_string())]
        );
        assert_eq!(*g3.started.borrow(), 1);
        g3.release("third");
        assert_eq!(step(&mut futs), vec![Some("third".to_string())]);
        assert_eq!(flights.shared(), 1);
        assert!(lock(&flights.inner).map.is_empty(), "nothing left behind");
    }

    #[test]
    fn a_cancelled_leader_leaves_nobody_waiting() {
        let flights = Flights::default();
        let (g1, g2) = (Rc::new(Gate::default()), Rc::new(Gate::default()));
        let s = stmt("a");
        let g = g1.clone();
        let mut a: Slot<'_> = Some(Box::pin(flights.run(&s, None, move || gated(g.clone()))));
        assert!(step(std::slice::from_mut(&mut a)).is_empty());
        // B leads the next cohort, C follows it.
        let g = g2.clone();
        let mut b: Slot<'_> = Some(Box::pin(flights.run(&s, None, move || gated(g.clone()))));
        let mut c: Slot<'_> = Some(Box::pin(
            flights.run(&s, None, || async { Ok(Some("alone".into())) }),
        ));
        assert!(step(std::slice::from_mut(&mut b)).is_empty());
        assert!(step(std::slice::from_mut(&mut c)).is_empty());
        // B is cancelled while waiting: C runs alone once A is done.
        drop(b);
        assert_eq!(
            step(std::slice::from_mut(&mut c)),
            vec![Some("alone".to_string())]
        );
        // A is cancelled mid-run: the statement is free again.
        drop(a);
        assert!(lock(&flights.inner).map.is_empty());
        let mut d: Slot<'_> = Some(Box::pin(
            flights.run(&s, None, || async { Ok(Some("fresh".into())) }),
        ));
        assert_eq!(
            step(std::slice::from_mut(&mut d)),
            vec![Some("fresh".to_string())]
        );
        assert_eq!(*g2.started.borrow(), 0);
    }

    #[test]
    fn errors_are_shared_like_answers() {
        let flights = Flights::default();
        let g1 = Rc::new(Gate::default());
        let s = stmt("a");
        let g = g1.clone();
        let mut futs: Vec<Slot<'_>> = Vec::new();
        futs.push(Some(Box::pin(
            flights.run(&s, None, move || gated(g.clone())),
        )));
        for _ in 0..3 {
            futs.push(Some(Box::pin(flights.run(&s, None, || async {
                Err(DbError {
                    code: Some("22012".into()),
                    message: "division by zero".into(),
                    ..Default::default()
                })
            }))));
        }
        assert!(step(&mut futs).is_empty());
        g1.release("first");
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut errors = 0;
        let mut answers = 0;
        for slot in futs.iter_mut().flatten() {
            match slot.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(_)) => answers += 1,
                Poll::Ready(Err(e)) => {
                    assert_eq!(e.code.as_deref(), Some("22012"));
                    errors += 1
                }
                Poll::Pending => panic!("nobody is left waiting"),
            }
        }
        assert_eq!((answers, errors), (1, 3));
        assert_eq!(flights.shared(), 2);
    }

    #[test]
    fn slow_statements_run_on_their_own() {
        let flights = Flights::default();
        let clock = Manual::default();
        let s = stmt("a");
        let slow = || async {
            clock
                .0
                .fetch_add(SLOW_RUN.as_micros() as u64 + 1, Ordering::Relaxed);
            Ok(Some("slow".into()))
        };
        let mut a: Slot<'_> = Some(Box::pin(flights.run(&s, Some(&clock), slow)));
        assert_eq!(
            step(std::slice::from_mut(&mut a)),
            vec![Some("slow".to_string())]
        );
        // Now two requests at once both run: nobody waits behind a slow run.
        let g = Rc::new(Gate::default());
        let mut futs: Vec<Slot<'_>> = Vec::new();
        for _ in 0..2 {
            let g = g.clone();
            futs.push(Some(Box::pin(
                flights.run(&s, Some(&clock), move || gated(g.clone())),
            )));
        }
        assert!(step(&mut futs).is_empty());
        assert_eq!(*g.started.borrow(), 2);
        // A quick run makes it eligible again.
        g.release("quick");
        assert_eq!(step(&mut futs).len(), 2);
        assert!(!lock(&flights.inner).slow.contains(&flights.hash(&s)));
    }

    #[test]
    fn a_hung_run_holds_the_next_cohort_only_so_long() {
        let flights = Flights::default();
        let clock = Manual::default();
        let (g1, g2) = (Rc::new(Gate::default()), Rc::new(Gate::default()));
        let s = stmt("a");
        // A's run hangs; B opens the next cohort, C joins it.
        let mut futs: Vec<Slot<'_>> = [&g1, &g2, &g2]
            .into_iter()
            .map(|g| request(&flights, &s, Some(&clock), g))
            .collect();
        assert!(step(&mut futs).is_empty());
        assert_eq!(*g2.started.borrow(), 0);
        // Past PATIENCE the cohort runs anyway, and no later request joins it (it is sent).
        clock.1.store(true, Ordering::Relaxed);
        assert!(step(&mut futs).is_empty());
        assert_eq!(*g2.started.borrow(), 1);
        let g3 = Rc::new(Gate::default());
        let g = g3.clone();
        futs.push(Some(Box::pin(
            flights.run(&s, Some(&clock), move || gated(g.clone())),
        )));
        assert!(step(&mut futs).is_empty());
        assert_eq!(
            *g3.started.borrow(),
            1,
            "D did not join the cohort already sent"
        );
        g2.release("second");
        assert_eq!(step(&mut futs), vec![Some("second".to_string()); 2]);
        g3.release("third");
        g1.release("first");
        assert_eq!(step(&mut futs).len(), 2);
        assert!(lock(&flights.inner).map.is_empty(), "nothing left behind");
    }
}
