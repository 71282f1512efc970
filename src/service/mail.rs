//! Mail run through the pipeline on an operator's request, outside any intake.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Settings;
use crate::pipeline::{Pipeline, ProcessError, Trace};
use crate::signing::LinkKeyError;
use crate::store::Store;

/// Why a message could not be explained.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The pipeline needs the link key to check our thread tokens.
    #[error(transparent)]
    Links(#[from] LinkKeyError),
    #[error(transparent)]
    Process(#[from] ProcessError),
}

/// Runs mail through the pipeline's decisions.
#[derive(Debug, Clone)]
pub struct MailService {
    store: Store,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
}

impl MailService {
    pub fn new(store: Store, settings: Arc<Settings>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            settings,
            clock,
        }
    }

    /// Every decision the pipeline would take on `raw`, with its reason; nothing is
    /// written.
    pub async fn explain(&self, raw: &[u8]) -> Result<Trace, ExplainError> {
        let pipeline = Pipeline::new(
            self.store.clone(),
            self.settings.clone(),
            self.clock.clone(),
        )?;
        Ok(pipeline.explain(raw).await?)
    }
}
