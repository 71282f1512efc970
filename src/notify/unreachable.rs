//! What the outbox does while the SMTP server cannot be reached (or will not open a
//! session): the notifications wait for it, however long it takes.
//!
//! Such a try says nothing about the notification, and every other one would meet the
//! same: so it is not counted against the notification's retries (a relay down for a
//! weekend must not throw away every acknowledgement queued meanwhile), and the next try
//! comes after as long as the notification has already waited, an hour at most, so that
//! a long outage costs one try per waiting notification and hour. The outage is logged
//! when it starts and when it ends, not at each of those tries; once the server answers
//! again, everything that waited for it goes out at once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::outbox_worker::{Delivery, MAX_RETRY_PAUSE, OutboxWorker};
use crate::store::StoreError;

/// Since when the server has been unreachable, as far as this worker saw; `None` while
/// it answers.
#[derive(Debug, Default)]
pub(super) struct Outage(Mutex<Option<Down>>);

#[derive(Debug)]
struct Down {
    since: Instant,
    /// The tries that failed since, the first one included.
    tries: u64,
}

impl Outage {
    /// Counts a try that could not reach the server; says whether it is the first of an
    /// outage.
    fn failed_try(&self) -> bool {
        let mut down = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match down.as_mut() {
            Some(d) => {
                d.tries += 1;
                false
            }
            None => {
                *down = Some(Down {
                    since: Instant::now(),
                    tries: 1,
                });
                true
            }
        }
    }

    /// The server answered: ends the outage, if there was one, and says how long it
    /// lasted and how many tries failed.
    fn answered(&self) -> Option<(Duration, u64)> {
        let down = self.0.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        Some((down.since.elapsed(), down.tries))
    }
}

impl OutboxWorker {
    /// Puts `job` back after a try that could not reach the server (see the module's
    /// documentation).
    pub(super) async fn after_unreachable(
        &self,
        id: i64,
        created_at: chrono::DateTime<chrono::Utc>,
        error: &str,
    ) -> Result<Delivery, StoreError> {
        if self.outage.failed_try() {
            tracing::warn!(
                %error,
                "the SMTP server cannot be reached or will not open a session: notifications \
                 wait for it and none is given up; said again when it answers"
            );
        } else {
            tracing::debug!(%error, "the SMTP server still cannot be reached");
        }
        let now = self.clock.now();
        let waited = (now - created_at).to_std().unwrap_or_default();
        let pause = waited.clamp(self.pause(1).to_std().unwrap_or_default(), MAX_RETRY_PAUSE);
        let next = now + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::hours(1));
        self.store
            .defer_untried_notification(id, error, next)
            .await?;
        Ok(Delivery::Deferred)
    }

    /// The server answered a try (took the notification, or said something about it):
    /// ends an outage, and makes due at once what waited for the server.
    pub(super) async fn server_answered(&self) -> Result<(), StoreError> {
        let Some((lasted, tries)) = self.outage.answered() else {
            return Ok(());
        };
        let waiting = self.store.make_waiting_mail_due(self.clock.now()).await?;
        tracing::info!(
            down_for = ?Duration::from_secs(lasted.as_secs()),
            failed_tries = tries,
            waiting,
            "the SMTP server answers again: the notifications that waited go out now"
        );
        Ok(())
    }
}
