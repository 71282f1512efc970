//! Messages that could not be handled: listed with their reasons, and run through the
//! pipeline again once the cause is fixed.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Settings;
use crate::intake::Report;
use crate::pipeline::Pipeline;
use crate::quarantine::{Quarantine, QuarantineEntry, QuarantineError};
use crate::signing::LinkKeyError;
use crate::store::Store;

/// Why a quarantine operation was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum QuarantineServiceError {
    #[error(transparent)]
    Quarantine(#[from] QuarantineError),
    /// The pipeline needs the link key to thread replies.
    #[error(transparent)]
    Links(#[from] LinkKeyError),
}

/// What running a quarantined message again gave.
#[derive(Debug, Clone)]
pub enum QuarantineRetry {
    /// Handled this time, and gone from the quarantine; the report names it by its
    /// quarantine id.
    Handled(Report),
    /// It failed again: still there, with the new reason and count.
    StillQuarantined(QuarantineEntry),
}

/// Reads and retries the quarantine.
#[derive(Debug, Clone)]
pub struct QuarantineService {
    store: Store,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
    quarantine: Quarantine,
}

impl QuarantineService {
    pub fn new(store: Store, settings: Arc<Settings>, clock: Arc<dyn Clock>) -> Self {
        Self {
            quarantine: Quarantine::new(&settings.data_dir),
            store,
            settings,
            clock,
        }
    }

    /// Every quarantined message, oldest first.
    pub fn list(&self) -> Result<Vec<QuarantineEntry>, QuarantineServiceError> {
        Ok(self.quarantine.list()?)
    }

    /// Runs the quarantined message `id` through the pipeline again.
    pub async fn retry(&self, id: &str) -> Result<QuarantineRetry, QuarantineServiceError> {
        let (entry, bytes) = self.quarantine.get(id)?;
        let pipeline = Pipeline::new(
            self.store.clone(),
            self.settings.clone(),
            self.clock.clone(),
        )?;
        match pipeline.process(&entry.source, &bytes).await {
            Ok(outcome) => {
                self.quarantine.remove(id)?;
                Ok(QuarantineRetry::Handled(Report {
                    source: id.to_string(),
                    ..Report::from_outcome(&entry.source, &outcome)
                }))
            }
            Err(e) => {
                let entry = self
                    .quarantine
                    .record_failure(id, &e.to_string(), self.clock.now())?;
                Ok(QuarantineRetry::StillQuarantined(entry))
            }
        }
    }
}
