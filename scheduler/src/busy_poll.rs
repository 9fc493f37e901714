//! Busy polling while requests come: an HTTP thread keeps polling for the next packet for a
//! short window before it lets its CPU sleep (one [`BusyPoll`] per HTTP thread, see
//! [`crate::server`]).
//!
//! On a small virtual machine the expensive part of a quick request is often not the work but
//! the sleeping between its steps. Every time the engine has nothing runnable (the request is
//! at Postgres, the response is on its way to the client), its thread blocks in `epoll_wait` and
//! the virtual CPU halts; the next packet then costs an interrupt, a wake-up of the halted CPU
//! through the hypervisor and a context switch before any work happens. Measured on the 2-core
//! bench VM (Firecracker, guest halt-polling off): ~12 % of the machine sat idle in those gaps
//! during the Q2 run, and waking from them was a large share of the engine's kernel time.
//!
//! [`BusyPoll`] runs one task on its thread's runtime that yields in a loop until no request has started
//! or ended for the window given to [`BusyPoll::start`]: each yield lets the thread poll the sockets without
//! blocking (tokio polls the I/O driver with a zero timeout when a task yielded) and run
//! whatever became ready, and each iteration also yields the CPU to other processes
//! ([`std::thread::yield_now`]), so Postgres or a client on the same core runs first. Then it
//! sleeps until the next request starts. So an idle server uses no CPU, and a server whose
//! requests wait milliseconds on Postgres (long reports) polls for at most one window after
//! each request starts or ends. The price is CPU time that would otherwise be idle: one client
//! sending requests one after another got its answers 25–55 % sooner for 20–75 µs more engine
//! CPU per request (bench VM, Q2). This is the spin-then-park that Go's scheduler and
//! the JVM's and .NET's thread pools do, which tokio does not.
//!
//! Requests that take more than [`SLOW_REQUESTS`] on average are not polled for at all: when
//! they wait milliseconds on Postgres, the wake-ups polling saves are a small part of their
//! time, and on a busy machine the polling takes CPU from the Postgres that serves them. Nor
//! is a thread with [`BUSY`] requests in flight: its events come often enough anyway.
//!
//! Native only (the edge hosts schedule their isolates themselves). `--busy-poll-us` /
//! `GRAPHEDGE_BUSY_POLL_US`, default [`DEFAULT_WINDOW`] on machines with more than one CPU, off
//! on a single CPU (there polling only competes with the work it waits for).
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Default polling window after the last request activity.
pub const DEFAULT_WINDOW: Duration = Duration::from_micros(100);
/// Largest window accepted (a setting above it is an error, not a silent cap).
pub const MAX_WINDOW: Duration = Duration::from_millis(10);
/// Requests that take longer than this on average (an EWMA over the thread's requests) are not
/// polled for: the wake-ups that polling saves are a small part of their time, while polling
/// through it takes CPU from the Postgres that serves them (on the 2-core bench VM, a 2.7 ms
/// permission query cost ~60 µs of engine CPU per request polled and ~45 µs not polled).
pub const SLOW_REQUESTS: Duration = Duration::from_millis(1);
/// A thread with this many requests in flight is not polled for: its sockets have events
/// often enough that it seldom sleeps between them, and polling would only add system calls
/// (a yield and an empty `epoll_wait` per turn). (2-core bench VM, q2r, 8 connections per
/// thread, 5 interleaved pairs: 44.5 → 40.8 µs of engine CPU per request, 21.1k → 22.0k
/// req/s; one client, or a few per thread, is polled for as before.)
pub const BUSY: u64 = 4;

#[derive(Default)]
struct State {
    /// Bumped by every request when it starts and when it ends.
    activity: AtomicU64,
    /// The polling task sleeps (waits for `wake`).
    parked: AtomicBool,
    wake: Notify,
    stop: AtomicBool,
    /// Polling iterations so far (tests read it).
    polls: AtomicU64,
    /// EWMA of the requests' durations, microseconds.
    average_us: AtomicU64,
    /// Requests in flight.
    in_flight: AtomicU64,
}

impl State {
    /// A request started or ended: poll (again).
    #[inline]
    fn bump(&self) {
        // SeqCst here and in the task's parking: this increment and the task's `parked` store
        // cannot both miss each other.
        self.activity.fetch_add(1, Ordering::SeqCst);
        if self.worth_polling()
            && self.parked.load(Ordering::SeqCst)
            && self.parked.swap(false, Ordering::AcqRel)
        {
            self.wake.notify_one();
        }
    }
}

impl State {
    /// Whether to poll: requests are quick enough (see [`SLOW_REQUESTS`]) and few enough are in
    /// flight (see [`BUSY`]).
    #[inline]
    fn worth_polling(&self) -> bool {
        self.average_us.load(Ordering::Relaxed) <= SLOW_REQUESTS.as_micros() as u64
            && self.in_flight.load(Ordering::Relaxed) < BUSY
    }

    /// Adds a request's duration to the average (weight 1/8).
    fn record(&self, took: Duration) {
        let took = took.as_micros().min(u64::MAX as u128) as i64;
        let old = self.average_us.load(Ordering::Relaxed) as i64;
        let new = old + (took - old) / 8;
        self.average_us.store(new.max(0) as u64, Ordering::Relaxed);
    }
}

/// The handle of the polling task; dropping it ends the task.
pub struct BusyPoll {
    state: Arc<State>,
}

impl BusyPoll {
    /// Starts the polling task on the current tokio runtime.
    pub fn start(window: Duration) -> BusyPoll {
        let state = Arc::new(State::default());
        state.parked.store(true, Ordering::Relaxed);
        let task = state.clone();
        tokio::spawn(async move { poll_loop(&task, window).await });
        BusyPoll { state }
    }

    /// A request starts: poll until one window after it (or any other request) last started
    /// or ended. It ends when the guard is dropped, also when it is cancelled.
    #[inline]
    pub fn request(&self) -> InFlight<'_> {
        self.state.in_flight.fetch_add(1, Ordering::Relaxed);
        self.state.bump();
        InFlight(&self.state, Instant::now())
    }

    /// Polling iterations so far.
    pub fn polls(&self) -> u64 {
        self.state.polls.load(Ordering::Relaxed)
    }
}

/// A request in flight (see [`BusyPoll::request`]), since when.
pub struct InFlight<'a>(&'a State, Instant);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.record(self.1.elapsed());
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.bump();
    }
}

impl Drop for BusyPoll {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Release);
        self.state.wake.notify_one();
    }
}

async fn poll_loop(s: &State, window: Duration) {
    loop {
        s.wake.notified().await;
        if s.stop.load(Ordering::Acquire) {
            return;
        }
        let mut seen = s.activity.load(Ordering::SeqCst);
        let mut since = Instant::now();
        loop {
            tokio::task::yield_now().await;
            std::thread::yield_now();
            s.polls.fetch_add(1, Ordering::Relaxed);
            if s.stop.load(Ordering::Relaxed) {
                return;
            }
            let now = s.activity.load(Ordering::SeqCst);
            if !s.worth_polling() {
                break;
            } else if now != seen {
                seen = now;
                since = Instant::now();
            } else if since.elapsed() > window {
                break;
            }
        }
        s.parked.store(true, Ordering::SeqCst);
        // A request that started or ended after the last look may have found `parked` still
        // false and woken nobody: then poll again rather than miss it.
        if s.activity.load(Ordering::SeqCst) != seen
            && s.worth_polling()
            && s.parked.swap(false, Ordering::AcqRel)
        {
            s.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polling iterations during `d`.
    async fn polls_during(b: &BusyPoll, d: Duration) -> u64 {
        let before = b.polls();
        tokio::time::sleep(d).await;
        b.polls() - before
    }

    /// Waits (up to 2 s, for a loaded machine) until the task has polled more than `n` times.
    async fn polls_beyond(b: &BusyPoll, n: u64) {
        for _ in 0..2000 {
            if b.polls() > n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("the task did not poll");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn polls_while_requests_come_and_sleeps_when_they_stop() {
        let b = BusyPoll::start(Duration::from_millis(5));
        // No request yet: asleep.
        assert_eq!(polls_during(&b, Duration::from_millis(30)).await, 0);
        // A request starts the polling.
        let long = b.request();
        polls_beyond(&b, 0).await;
        // Still in flight, but nothing started or ended for well over the window (a slow
        // statement): asleep.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(polls_during(&b, Duration::from_millis(30)).await, 0);
        // Its end makes the average slow (see `slow_requests_are_not_polled_for`); quick
        // requests bring it back, and the end of one polls again, for one window.
        drop(long);
        for _ in 0..64 {
            drop(b.request());
        }
        let first = b.polls();
        drop(b.request());
        polls_beyond(&b, first).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(polls_during(&b, Duration::from_millis(30)).await, 0);
        // Requests starting and ending keep it polling for longer than one window.
        let first = b.polls();
        drop(b.request());
        polls_beyond(&b, first).await;
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(2)).await;
            drop(b.request());
        }
        let later = b.polls();
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(b.polls() > later, "still polling 20 ms (four windows) on");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_requests_are_not_polled_for() {
        let b = BusyPoll::start(Duration::from_millis(5));
        // Requests of 20 ms (over SLOW_REQUESTS on average): no polling while more come.
        for _ in 0..3 {
            let r = b.request();
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(r);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = b.request();
        assert_eq!(polls_during(&b, Duration::from_millis(30)).await, 0);
        drop(r);
        assert_eq!(polls_during(&b, Duration::from_millis(30)).await, 0);
        // Quick ones bring the average down, and polling back.
        for _ in 0..64 {
            drop(b.request());
        }
        let first = b.polls();
        drop(b.request());
        polls_beyond(&b, first).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_busy_thread_is_not_polled_for() {
        let b = BusyPoll::start(Duration::from_millis(5));
        // BUSY requests in flight, none ended yet (so none counts as slow): the first ones
        // start the polling, the last one stops it.
        let held: Vec<_> = (0..BUSY).map(|_| b.request()).collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // More requests start and end (which would keep a quieter thread polling): none.
        let before = b.polls();
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(2)).await;
            drop(b.request());
        }
        assert_eq!(b.polls(), before);
        // They end (slowly: quick ones bring the average back, see
        // `slow_requests_are_not_polled_for`); one fewer than BUSY in flight is polled for.
        drop(held);
        for _ in 0..64 {
            drop(b.request());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let first = b.polls();
        let _held: Vec<_> = (1..BUSY).map(|_| b.request()).collect();
        polls_beyond(&b, first).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_handle_ends_the_task() {
        let b = BusyPoll::start(Duration::from_millis(5));
        let state = b.state.clone();
        let r = b.request();
        drop(r);
        drop(b);
        for _ in 0..100 {
            if Arc::strong_count(&state) == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the polling task still runs after its handle was dropped");
    }
}
