//! Graceful shutdown, one mechanism for every long-running command (`serve`, `dev`, `scheduler`,
//! `gateway`), with Hasura's `HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT` semantics.
//!
//! * The first SIGTERM / SIGINT [`requests`](Shutdown::request) the stop and sets the
//!   **deadline**: the signal's time plus the timeout. Every part then stops taking new work
//!   (the HTTP threads stop accepting, the background loops stop claiming) and lets what is in
//!   flight finish until the deadline.
//! * Writes that fail (recording outcomes, returning claims) are retried until the deadline;
//!   past it each gets one more attempt, bounded by [`RELEASE_WINDOW`] (a database that refuses
//!   connections costs nothing more; one that hangs costs at most the window). Whatever could
//!   not be recorded — e.g. the database is down — stays claimed until its lease runs out and
//!   is then delivered again: delivery stays at least once.
//! * A **second** signal exits at once; so does a watchdog thread at the deadline plus
//!   [`RELEASE_WINDOW`] plus [`WATCHDOG_SLACK`], whatever still runs (a call that hangs on an
//!   unreachable database cannot keep the process alive). Before such an exit the
//!   [`Shutdown::before_exit`] hook runs (`graphedge dev` stops its throwaway Postgres).
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// Hasura's default `HASURA_GRAPHQL_GRACEFUL_SHUTDOWN_TIMEOUT`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the last attempts after the deadline to record outcomes and return claims may take.
pub const RELEASE_WINDOW: Duration = Duration::from_secs(3);
/// The watchdog exits the process this long after the release window.
pub const WATCHDOG_SLACK: Duration = Duration::from_secs(2);

type Hook = Box<dyn FnOnce() + Send>;

/// The stop of one process; clones share it.
#[derive(Clone)]
pub struct Shutdown {
    /// `Some(deadline)` once the stop was requested.
    tx: Arc<watch::Sender<Option<Instant>>>,
    timeout: Duration,
    before_exit: Arc<Mutex<Option<Hook>>>,
}

impl Shutdown {
    /// A stop not yet requested, whose in-flight work gets `timeout` once it is.
    pub fn new(timeout: Duration) -> Shutdown {
        Shutdown {
            tx: Arc::new(watch::channel(None).0),
            timeout,
            before_exit: Arc::default(),
        }
    }

    /// Requests the stop; the first request sets the deadline (later ones change nothing).
    /// Returns the deadline.
    pub fn request(&self) -> Instant {
        let timeout = self.timeout;
        self.tx.send_if_modified(|d| match d {
            Some(_) => false,
            None => {
                *d = Some(Instant::now() + timeout);
                true
            }
        });
        self.deadline().unwrap_or_else(Instant::now)
    }

    pub fn is_requested(&self) -> bool {
        self.tx.borrow().is_some()
    }

    /// Until when in-flight work may finish (`None` before the request).
    pub fn deadline(&self) -> Option<Instant> {
        *self.tx.borrow()
    }

    /// True once the deadline has passed.
    pub fn is_expired(&self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() >= d)
    }

    /// Resolves with the deadline when the stop is requested (owns what it needs, so it can be
    /// handed to a spawned task).
    pub fn requested(&self) -> impl Future<Output = Instant> + Send + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            let deadline = rx.wait_for(Option::is_some).await.map(|d| *d);
            match deadline {
                Ok(Some(d)) => d,
                // The sender lives as long as any clone; unreachable, but never resolve early.
                _ => std::future::pending().await,
            }
        }
    }

    /// Resolves at the deadline (never before the request).
    pub fn expired(&self) -> impl Future<Output = ()> + Send + 'static {
        let requested = self.requested();
        async move { tokio::time::sleep_until(requested.await).await }
    }

    /// Runs `hook` before the process exits early (second signal or watchdog).
    pub fn before_exit(&self, hook: impl FnOnce() + Send + 'static) {
        if let Ok(mut h) = self.before_exit.lock() {
            *h = Some(Box::new(hook));
        }
    }

    /// Listens for SIGTERM / SIGINT on the current runtime: the first requests the stop and
    /// starts the watchdog, the second exits at once.
    pub fn listen(&self) {
        // Registered here, before returning: no signal is missed (nor left to its default
        // action) from now on, also none that comes between the first and the second.
        let mut signals = Signals::new();
        let this = self.clone();
        tokio::spawn(async move {
            signals.next().await;
            let deadline = this.request();
            tracing::info!(
                timeout_s = this.timeout.as_secs_f64(),
                "shutting down: no new work; waiting for work in flight (a second signal exits at once)"
            );
            let watchdog = this.clone();
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = std::thread::Builder::new()
                .name("graphedge-shutdown".into())
                .spawn(move || {
                    std::thread::sleep(left + RELEASE_WINDOW + WATCHDOG_SLACK);
                    watchdog.exit_now("the graceful-shutdown timeout passed");
                });
            signals.next().await;
            this.exit_now("a second signal");
        });
    }

    /// Exits the process at once (after the `before_exit` hook).
    fn exit_now(&self, why: &str) -> ! {
        eprintln!("graphedge: exiting now ({why}); unfinished work is redelivered after its lease");
        let hook = self.before_exit.lock().ok().and_then(|mut h| h.take());
        if let Some(hook) = hook {
            hook();
        }
        std::process::exit(1)
    }
}

/// SIGINT (Ctrl-C) and SIGTERM, listened to from creation on.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let streams = signal(SignalKind::terminate())
                .and_then(|t| Ok((t, signal(SignalKind::interrupt())?)))
                .map_err(|e| tracing::error!(error = %e, "cannot listen for signals"))
                .ok();
            Signals { streams }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next SIGINT or SIGTERM.
    async fn next(&mut self) {
        #[cfg(unix)]
        match &mut self.streams {
            Some((term, int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            None => std::future::pending().await,
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Waits (until `deadline`) for the connections `graceful` watches to finish their current
/// request; the HTTP servers call it once they stopped accepting.
pub async fn drain_connections(
    graceful: hyper_util::server::graceful::GracefulShutdown,
    deadline: Instant,
) {
    if tokio::time::timeout_at(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish before the graceful-shutdown timeout");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_request_sets_the_deadline() {
        let s = Shutdown::new(Duration::from_millis(200));
        assert!(!s.is_requested());
        assert_eq!(s.deadline(), None);
        let waiting = tokio::spawn(s.requested());
        let before = Instant::now();
        let d = s.request();
        assert!(d >= before + Duration::from_millis(200));
        assert_eq!(s.request(), d, "a later request keeps the deadline");
        assert_eq!(waiting.await.unwrap(), d);
        s.expired().await;
        assert!(Instant::now() >= d && s.is_expired());
    }
}
