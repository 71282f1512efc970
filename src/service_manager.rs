//! What the daemon tells systemd (the sd_notify protocol): `READY=1` once it serves,
//! `STATUS=` lines saying what it is doing, `RELOADING=1` while it reads a new
//! configuration, `STOPPING=1`, and the watchdog's `WATCHDOG=1`. Outside systemd (no
//! `NOTIFY_SOCKET`) every call does nothing.
//!
//! The watchdog is not pinged by a timer of its own, which would go on pinging while the
//! daemon is stuck: the intake's main loop beats a [`Heartbeat`] at every turn, and the
//! ping goes out only while that beat is recent. A loop stuck on a lock, a dead file
//! system or a starved runtime stops the pings, and systemd restarts the daemon.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The variable that stops the intake's main loop after its first turn, so that a test
/// can see the watchdog pings stop. Nothing else reads it.
pub const STALL_HOOK_ENV: &str = "TICKETGATE_TEST_STALL_INTAKE";

/// Tells systemd how the daemon is. Cheap to copy; does nothing outside systemd.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServiceManager {
    /// The watchdog period systemd set (`WatchdogSec=`), if any.
    watchdog: Option<Duration>,
}

impl ServiceManager {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the environment.
    pub fn from_env() -> Self {
        Self {
            watchdog: sd_notify::watchdog_enabled(),
        }
    }

    /// Start-up is over: the database is migrated, the listeners are bound and each
    /// mailbox had its first try.
    pub fn ready(&self, status: &str) {
        send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// What the daemon is doing, for `systemctl status`.
    pub fn status(&self, status: &str) {
        send(&[NotifyState::Status(status)]);
    }

    /// A reload begins. systemd 253 and later want the monotonic time with it.
    pub fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => send(&[
                NotifyState::Reloading,
                now,
                NotifyState::Status("reloading the configuration"),
            ]),
            Err(_) => send(&[NotifyState::Reloading]),
        }
    }

    /// The daemon is stopping: finishing the message in hand.
    pub fn stopping(&self) {
        send(&[
            NotifyState::Stopping,
            NotifyState::Status("stopping: finishing the message in hand"),
        ]);
    }

    /// Pings the watchdog while `heartbeat` is recent, until `shutdown`; returns at once
    /// when systemd set no watchdog.
    pub async fn keep_watchdog(self, heartbeat: Heartbeat, shutdown: CancellationToken) {
        let Some(period) = self.watchdog else {
            return;
        };
        // systemd recommends pinging at half the period; a quarter leaves room for a late
        // tick. The loop counts as alive for three quarters of it: a slower turn (a large
        // batch) is still within the period when it ends.
        let tick = period / 4;
        let alive_within = period * 3 / 4;
        let mut told_stale = false;
        loop {
            let since = heartbeat.since_last();
            if since <= alive_within {
                send(&[NotifyState::Watchdog]);
                told_stale = false;
            } else if !told_stale {
                tracing::error!(
                    silent_secs = since.as_secs(),
                    "the intake loop has not turned for {} s: watchdog pings stop, systemd will restart the daemon",
                    since.as_secs()
                );
                told_stale = true;
            }
            tokio::select! {
                () = tokio::time::sleep(tick) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }
}

/// Sends `states`; a failure is logged, never fatal (systemd may be gone while we stop).
fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// When a loop last turned. Cheap to clone; every clone beats the same heart.
#[derive(Debug, Clone)]
pub struct Heartbeat(Arc<Mutex<Instant>>);

impl Default for Heartbeat {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Instant::now())))
    }
}

impl Heartbeat {
    /// The loop turned now.
    pub fn beat(&self) {
        *self.lock() = Instant::now();
    }

    /// How long ago the loop last turned.
    pub fn since_last(&self) -> Duration {
        self.lock().elapsed()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Instant> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the test hook asks the loop to stop turning after its first turn.
    pub fn stall_requested() -> bool {
        std::env::var_os(STALL_HOOK_ENV).is_some_and(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heartbeat_ages_until_the_next_beat() {
        let heart = Heartbeat::default();
        std::thread::sleep(Duration::from_millis(30));
        assert!(heart.since_last() >= Duration::from_millis(30));
        heart.clone().beat();
        assert!(heart.since_last() < Duration::from_millis(30));
    }
}
