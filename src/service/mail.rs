//! Mail handed over by an operator or an MTA, outside the daemon's intakes: `ingest` turns
//! files, Maildir folders or standard input into tickets; `explain` says what the pipeline
//! would decide on one message, writing nothing.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Settings;
use crate::intake::paths::{IngestError, Ingested, Input, PathError};
use crate::intake::{Ingestor, Report};
use crate::pipeline::{Pipeline, ProcessError, Trace};
use crate::signing::LinkKeyError;
use crate::store::Store;

/// Why mail could not be taken or explained.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The pipeline needs the link key to check our thread tokens.
    #[error(transparent)]
    Links(#[from] LinkKeyError),
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// `ingest` stopped before its last input: the mail must be delivered again later.
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

/// Runs mail through the pipeline on request.
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

    fn pipeline(&self) -> Result<Pipeline, LinkKeyError> {
        Pipeline::new(
            self.store.clone(),
            self.settings.clone(),
            self.clock.clone(),
        )
    }

    /// Turns `inputs` into tickets, in batches of one commit each, calling `each` in the
    /// inputs' order with every message's report once it is committed, or with why an
    /// input cannot be read (see [`crate::intake::paths::ingest`]).
    pub async fn ingest(
        &self,
        inputs: Vec<Input>,
        each: impl FnMut(Result<&Report, &PathError>),
    ) -> Result<Ingested, MailError> {
        let ingestor = Ingestor::new(self.pipeline()?);
        Ok(crate::intake::paths::ingest(&ingestor, inputs, each).await?)
    }

    /// Every decision the pipeline would take on `raw`, with its reason; nothing is
    /// written.
    pub async fn explain(&self, raw: &[u8]) -> Result<Trace, MailError> {
        Ok(self.pipeline()?.explain(raw).await?)
    }
}
