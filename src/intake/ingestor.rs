//! Runs raw messages through the pipeline, one at a time or as a batch of one commit, and
//! quarantines what cannot be handled. What to do with a message that could not be stored
//! for now is the [`Driver`](super::Driver)'s business, not this one's.

use std::io::Read;

use super::ahead::Ahead;
use super::{OutcomeKind, RawMessage, Received, Report};
use crate::pipeline::{Pipeline, ProcessError};
use crate::quarantine::{Quarantine, QuarantineEntry, QuarantineError};
use crate::store::StoreError;

/// A message that could not be stored for now, and was neither handled nor quarantined:
/// its source must keep it and offer it again.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: could not be stored for now, kept for a retry: {cause}")]
pub struct Deferred {
    /// The message's name, as its source gave it.
    pub source_name: String,
    /// What failed, kept whole so that a log or a caller can tell a database from a disk.
    #[source]
    pub cause: DeferCause,
}

/// Why a message could not be stored for now.
#[derive(Debug, thiserror::Error)]
pub enum DeferCause {
    /// The pipeline failed for a reason that may pass (the database, the disk).
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// The message was rejected, but the quarantine could not take it.
    #[error("cannot quarantine it: {0}")]
    Quarantine(#[from] QuarantineError),
    /// The batch's transaction could not be started.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Deferred {
    fn new(message: &RawMessage, cause: impl Into<DeferCause>) -> Self {
        Self {
            source_name: message.source.clone(),
            cause: cause.into(),
        }
    }
}

/// Runs messages through the pipeline and quarantines what cannot be handled.
#[derive(Debug, Clone)]
pub struct Ingestor {
    pipeline: Pipeline,
    quarantine: Quarantine,
    /// Mails quarantined whose webhook event is not queued yet: quarantining happens in
    /// the middle of a batch, whose transaction must not wait for another write, so the
    /// event is queued once the batch is over ([`Ingestor::announce_quarantined`]).
    unannounced: std::sync::Arc<std::sync::Mutex<Vec<QuarantineEntry>>>,
}

impl Ingestor {
    /// An ingestor using the pipeline's data directory for its quarantine.
    pub fn new(pipeline: Pipeline) -> Self {
        let quarantine = Quarantine::new(&pipeline.settings().data_dir);
        Self {
            pipeline,
            quarantine,
            unannounced: Default::default(),
        }
    }

    /// Queues the `mail_quarantined` webhook event of each mail quarantined since the
    /// last call. A failure is logged, not returned: the mail is safe in the quarantine
    /// either way, and `quarantine list` shows it.
    pub async fn announce_quarantined(&self) {
        let entries =
            std::mem::take(&mut *self.unannounced.lock().unwrap_or_else(|e| e.into_inner()));
        for entry in entries {
            let details = serde_json::to_value(&entry).expect("an entry serializes");
            let queued = self
                .pipeline
                .store()
                .queue_quarantine_webhooks(&details, entry.quarantined_at)
                .await;
            if let Err(e) = queued {
                tracing::warn!(id = %entry.id, error = %e, "cannot queue the webhook event of a quarantined mail");
            }
        }
    }

    /// Remembers `entry` for [`Ingestor::announce_quarantined`].
    fn quarantined(&self, entry: &QuarantineEntry) {
        self.unannounced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry.clone());
    }

    /// The pipeline messages go through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The quarantine rejected messages go to.
    pub fn quarantine(&self) -> &Quarantine {
        &self.quarantine
    }

    /// Tries `message` once. A rejected message is quarantined (that is a handled outcome
    /// for the source); a temporary failure is returned so the source keeps the message.
    pub async fn try_once(
        &self,
        message: &RawMessage,
        attempts_so_far: u32,
    ) -> Result<Report, Deferred> {
        let processed = self.pipeline.process(&message.source, &message.bytes).await;
        let answer = self.answer(message, attempts_so_far, processed);
        self.announce_quarantined().await;
        answer
    }

    /// Whether the store takes a write now, asked before a message whose every try failed
    /// for a reason that may pass is given up: when it does not (a read-only or locked
    /// database, a server gone), the fault is the machine's and the message is kept.
    pub async fn store_takes_writes(&self) -> Result<(), StoreError> {
        let now = self.pipeline.clock().now();
        self.pipeline.store().write_probe(now).await
    }

    /// The report of one message's try, quarantining it when the pipeline rejected it.
    fn answer(
        &self,
        message: &RawMessage,
        attempts_so_far: u32,
        processed: Result<crate::pipeline::Outcome, ProcessError>,
    ) -> Result<Report, Deferred> {
        match processed {
            Ok(outcome) => Ok(Report::from_outcome(&message.source, &outcome)),
            Err(e @ ProcessError::Temporary(..)) => Err(Deferred::new(message, e)),
            Err(rejected) => self
                .quarantine_message(message, &rejected.to_string(), attempts_so_far + 1)
                .map_err(|e| Deferred::new(message, e)),
        }
    }

    /// Tries `messages` (each with the attempts it had so far) once, in one batch: one
    /// transaction and one sync for all of them. Returns one result per message tried, in
    /// order, and only once the batch is committed, so that the source may acknowledge
    /// each handled one at once.
    ///
    /// A temporary failure stops the batch there: the messages before it are committed,
    /// the failed one is deferred, and those after it are not tried (the result is
    /// shorter; the source offers them again). A message whose row another instance's
    /// batch holds ([`crate::store::StoreError::Busy`]) stops it too, before itself: it is
    /// not tried, and goes first in the next batch. When the batch cannot be committed (a file
    /// that cannot be written, a database error, a mail that failed part-way through its
    /// writes on SQLite), its messages are tried again one at a time, except those already
    /// quarantined.
    #[tracing::instrument(name = "batch", skip_all, fields(mails = messages.len()))]
    pub async fn try_batch(&self, messages: &[(RawMessage, u32)]) -> Vec<Result<Report, Deferred>> {
        let batch = match self.pipeline.store().begin_batch().await {
            Ok(batch) => batch,
            Err(e) => {
                return messages
                    .first()
                    .map(|(m, _)| Err(Deferred::new(m, e)))
                    .into_iter()
                    .collect();
            }
        };
        let pipeline = self.pipeline.in_batch(&batch);
        // A batch of one (a large mail is one) is parsed where it is handled: a copy of its
        // bytes for another thread would not be paid back.
        let mut ahead = (messages.len() > 1).then(|| Ahead::start(&pipeline, messages));
        let mut results = Vec::with_capacity(messages.len());
        for (message, attempts_so_far) in messages {
            let parsed = match &mut ahead {
                Some(ahead) => ahead.next().await,
                None => None,
            };
            let processed = match parsed {
                Some(parsed) => {
                    pipeline
                        .process_prepared(&message.source, &message.bytes, parsed)
                        .await
                }
                None => pipeline.process(&message.source, &message.bytes).await,
            };
            if processed.as_ref().is_err_and(ProcessError::is_busy) {
                // Its ticket is in another instance's batch: not waited for while this
                // batch holds rows; it goes first in the next batch.
                tracing::debug!(source = %message.source, "a row of this mail is held elsewhere: left for the next batch");
                break;
            }
            let stop = matches!(processed, Err(ProcessError::Temporary(..)));
            results.push(self.answer(message, *attempts_so_far, processed));
            if stop {
                break;
            }
        }
        let committed = if batch.spoiled() {
            // A mail failed part-way, its writes in the batch: none of it is kept.
            if let Err(e) = batch.rollback().await {
                tracing::warn!(error = %e, "cannot roll back a spoiled batch");
            }
            Err("a mail failed part-way through it".to_string())
        } else {
            match pipeline.files().settle().await {
                Ok(()) => batch.commit().await.map_err(|e| e.to_string()),
                Err(e) => {
                    if let Err(e) = batch.rollback().await {
                        tracing::warn!(error = %e, "cannot roll back a batch whose files failed");
                    }
                    Err(e.to_string())
                }
            }
        };
        if let Err(reason) = committed {
            self.try_alone(messages, &mut results, &reason).await;
        }
        self.announce_quarantined().await;
        results
    }

    /// After a batch that could not be committed: one mail's file that cannot be written
    /// fails the whole batch, so its mails are tried again one at a time, each in its own
    /// transaction, so that the others go through and the failure is the failing mail's
    /// alone. Those quarantined already stay so.
    async fn try_alone(
        &self,
        messages: &[(RawMessage, u32)],
        results: &mut [Result<Report, Deferred>],
        reason: &str,
    ) {
        tracing::warn!(
            reason,
            mails = results.len(),
            "a batch of mails could not be committed; trying its mails one at a time"
        );
        for (result, (message, attempts_so_far)) in results.iter_mut().zip(messages) {
            let quarantined = result
                .as_ref()
                .is_ok_and(|r| r.outcome == OutcomeKind::Quarantined);
            if !quarantined {
                *result = self.try_once(message, *attempts_so_far).await;
            }
        }
    }

    /// Reads one message from `reader`, of `size` bytes when known (a file's). Past
    /// `max_message_bytes` it stops holding the message in memory and streams it whole into
    /// the quarantine instead.
    pub fn read_message(
        &self,
        source: &str,
        mut reader: impl Read,
        size: Option<u64>,
    ) -> std::io::Result<Received> {
        let limit = self.pipeline.current_settings().max_message_bytes;
        // Read into a buffer of the right size: grown by doubling, a 49 MB mail would
        // hold 64 MB.
        let mut head = Vec::with_capacity(size.map_or(0, |s| s.min(limit + 1)) as usize);
        (&mut reader).take(limit + 1).read_to_end(&mut head)?;
        if head.len() as u64 <= limit {
            return Ok(Received::Message(RawMessage {
                source: source.to_string(),
                bytes: head,
            }));
        }
        let reason = crate::pipeline::too_large(limit);
        let now = self.pipeline.clock().now();
        let entry = self
            .quarantine
            .put_reader(head.chain(reader), source, &reason, 1, now)
            .map_err(std::io::Error::other)?;
        tracing::warn!(source, id = %entry.id, size = entry.size, "message too large: quarantined unread");
        self.quarantined(&entry);
        Ok(Received::TooLarge(Report {
            source: source.to_string(),
            outcome: OutcomeKind::Quarantined,
            ticket: None,
            reason: Some(format!("{reason} [quarantine id {}]", entry.id)),
        }))
    }

    /// [`Ingestor::read_message`] for bytes already in memory (an IMAP fetch): a message
    /// within the limit is taken as it is, without a copy.
    pub fn receive(&self, source: &str, bytes: Vec<u8>) -> std::io::Result<Received> {
        if bytes.len() as u64 <= self.pipeline.current_settings().max_message_bytes {
            return Ok(Received::Message(RawMessage {
                source: source.to_string(),
                bytes,
            }));
        }
        self.read_message(source, bytes.as_slice(), None)
    }

    /// Quarantines `message` after `attempts` tries that each failed for a temporary
    /// reason, the last one `last`: the retry budget is spent.
    pub fn give_up(
        &self,
        message: &RawMessage,
        attempts: u32,
        last: &Deferred,
    ) -> Result<Report, QuarantineError> {
        let reason = format!("gave up after {attempts} attempts: {}", last.cause);
        self.quarantine_message(message, &reason, attempts)
    }

    /// Puts `message` in quarantine with `reason`, after `attempts` tries.
    pub fn quarantine_message(
        &self,
        message: &RawMessage,
        reason: &str,
        attempts: u32,
    ) -> Result<Report, QuarantineError> {
        let now = self.pipeline.clock().now();
        let entry = self
            .quarantine
            .put(&message.bytes, &message.source, reason, attempts, now)?;
        tracing::warn!(source = %message.source, id = %entry.id, reason, "message quarantined");
        self.quarantined(&entry);
        Ok(Report {
            source: message.source.clone(),
            outcome: OutcomeKind::Quarantined,
            ticket: None,
            reason: Some(format!("{reason} [quarantine id {}]", entry.id)),
        })
    }
}
