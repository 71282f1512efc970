//! The outbox as operators see it: what is waiting, sent, held back or failed; a
//! notification released by hand; everything due sent now.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Settings;
use crate::notify::outbox_worker::{Delivery, OutboxWorker};
use crate::notify::{SetupError, TestMailError, TestSent};
use crate::store::{OutboxEntry, Store, StoreError};

/// Why an outbox operation was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(
        "no waiting, failed, held or skipped notification {0}; `ticketgate outbox list` shows them"
    )]
    NotRetryable(i64),
    /// The settings do not let notifications be written or sent.
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    TestMail(#[from] TestMailError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The states an outbox row goes through, as `outbox list --status` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    Pending,
    Sending,
    Sent,
    Failed,
    Held,
    Skipped,
}

impl OutboxStatus {
    /// Every state, in the order a notification meets them.
    pub const ALL: &'static [OutboxStatus] = &[
        OutboxStatus::Pending,
        OutboxStatus::Sending,
        OutboxStatus::Sent,
        OutboxStatus::Failed,
        OutboxStatus::Held,
        OutboxStatus::Skipped,
    ];

    /// The name stored in the database and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Held => "held",
            OutboxStatus::Skipped => "skipped",
        }
    }
}

impl std::str::FromStr for OutboxStatus {
    type Err = String;

    /// A mistyped state is refused with the list, rather than listing nothing.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .iter()
            .copied()
            .find(|status| status.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
                format!(
                    "`{s}` is not an outbox status; expected one of: {}",
                    names.join(", ")
                )
            })
    }
}

/// What `flush` did with the notifications that were due, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Handed over to the transport.
    pub sent: usize,
    /// Not sent for a temporary reason (a server down): tried again later.
    pub deferred: usize,
    /// Given up for good.
    pub failed: usize,
    /// Held back by the loop governor.
    pub held: usize,
    /// Not wanted by the recipient's preferences.
    pub skipped: usize,
}

impl Flushed {
    /// Whether every notification meant to go out went: none deferred or failed. Held and
    /// skipped ones were meant to stay.
    pub fn all_sent(&self) -> bool {
        self.deferred == 0 && self.failed == 0
    }
}

/// Reads and acts on the outbox.
#[derive(Debug, Clone)]
pub struct OutboxService {
    store: Store,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
}

impl OutboxService {
    pub fn new(store: Store, settings: Arc<Settings>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            settings,
            clock,
        }
    }

    /// The `limit` newest notifications, of one state when `status` names it (pending,
    /// sending, sent, failed, held, skipped).
    pub async fn list(
        &self,
        status: Option<OutboxStatus>,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, OutboxError> {
        Ok(self
            .store
            .list_outbox(status.map(OutboxStatus::as_str), limit)
            .await?)
    }

    /// Makes a failed, held, skipped or waiting notification due now; it meets the loop
    /// governor again when it is sent.
    pub async fn retry(&self, id: i64) -> Result<(), OutboxError> {
        if !self
            .store
            .requeue_notification(id, self.clock.now())
            .await?
        {
            return Err(OutboxError::NotRetryable(id));
        }
        Ok(())
    }

    /// Sends the test message to `address` now, in `lang` (the tickets' default language
    /// when `None`), through the configured transport, by the outbox worker; says what
    /// became of it (the server's answer, or the file written). Nothing is queued or
    /// recorded: see `notify::test_delivery` for why.
    pub async fn send_test(
        &self,
        address: &str,
        lang: Option<&str>,
    ) -> Result<TestSent, OutboxError> {
        let worker =
            OutboxWorker::from_settings(&self.settings, self.store.clone(), self.clock.clone())?;
        let lang = lang.unwrap_or(&self.settings.ticket_defaults.language);
        Ok(worker.send_test(address, lang, self.clock.now()).await?)
    }

    /// Sends every due and waiting notification now, through the outbox worker (the only
    /// code that sends), each once: one deferred by a server that is down is counted, not
    /// tried again until its pause is over.
    pub async fn flush(&self) -> Result<Flushed, OutboxError> {
        self.store.make_pending_due(self.clock.now()).await?;
        let worker =
            OutboxWorker::from_settings(&self.settings, self.store.clone(), self.clock.clone())?;
        let mut flushed = Flushed::default();
        while let Some(delivery) = worker.deliver_next().await? {
            let count = match delivery {
                Delivery::Sent => &mut flushed.sent,
                Delivery::Deferred => &mut flushed.deferred,
                Delivery::Failed => &mut flushed.failed,
                Delivery::Held => &mut flushed.held,
                Delivery::Skipped => &mut flushed.skipped,
            };
            *count += 1;
        }
        Ok(flushed)
    }
}
