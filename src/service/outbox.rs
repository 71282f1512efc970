//! The outbox as operators see it: what is waiting, sent, held back or failed; a
//! notification released by hand; everything due sent now.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Settings;
use crate::notify::SetupError;
use crate::notify::outbox_worker::{OutboxWorker, Step};
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
    Store(#[from] StoreError),
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
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, OutboxError> {
        Ok(self.store.list_outbox(status, limit).await?)
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

    /// Sends every due and waiting notification now, through the outbox worker (the only
    /// code that sends); how many it handled.
    pub async fn flush(&self) -> Result<usize, OutboxError> {
        self.store.make_pending_due(self.clock.now()).await?;
        let worker =
            OutboxWorker::from_settings(&self.settings, self.store.clone(), self.clock.clone())?;
        let mut handled = 0;
        while worker.step().await? == Step::Handled {
            handled += 1;
        }
        Ok(handled)
    }
}
