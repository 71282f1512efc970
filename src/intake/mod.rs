//! Where raw mail comes from. Each source yields raw bytes with a name; the [`Ingestor`]
//! runs them through the pipeline and quarantines what cannot be handled, and the source
//! acknowledges a message (moves, deletes, flags it) only once that returned.

pub mod imap;
pub mod maildir;
pub mod paths;

use std::io::Read;
use std::time::Duration;

use serde::Serialize;

use crate::domain::TicketNumber;
use crate::pipeline::{Outcome, Pipeline, ProcessError};
use crate::quarantine::{Quarantine, QuarantineError};
use crate::store::StoreError;

/// The most mails one batch holds (see [`Ingestor::try_batch`]): enough to share a
/// commit among many mails, few enough that the batch holds the database's write lock
/// for tens of milliseconds, not seconds.
pub const BATCH_MAILS: usize = 64;

/// The most bytes of mail one batch holds in memory; a batch also ends at the first mail
/// past this, so one large mail makes a batch of its own.
pub const BATCH_BYTES: usize = 16 << 20;

/// A message as read from a source.
#[derive(Debug, Clone)]
pub struct RawMessage {
    /// Where it came from: a file path, a Maildir entry, `stdin`.
    pub source: String,
    /// The exact bytes.
    pub bytes: Vec<u8>,
}

/// What reading a message from a source gave.
#[derive(Debug)]
pub enum Received {
    /// The message, to run through the pipeline.
    Message(RawMessage),
    /// It was too large and went to the quarantine unread.
    TooLarge(Report),
}

/// The outcome names of `ingest`, stable for scripts reading `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeKind {
    Created,
    Commented,
    Ignored,
    Duplicate,
    Quarantined,
}

/// What happened to one message, as `ingest` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub source: String,
    pub outcome: OutcomeKind,
    pub ticket: Option<TicketNumber>,
    pub reason: Option<String>,
}

impl Report {
    /// The report of a pipeline outcome for `source`.
    pub fn from_outcome(source: &str, outcome: &Outcome) -> Report {
        let (kind, reason) = match outcome {
            Outcome::Created(_) => (OutcomeKind::Created, None),
            Outcome::Commented(_) => (OutcomeKind::Commented, None),
            Outcome::Ignored { kind, reason, .. } => {
                (OutcomeKind::Ignored, Some(format!("{kind}: {reason}")))
            }
            Outcome::Duplicate(_) => (OutcomeKind::Duplicate, None),
        };
        Report {
            source: source.to_string(),
            outcome: kind,
            ticket: outcome.ticket().cloned(),
            reason,
        }
    }

    /// The one-line form: `msg.eml: created 2611N00001`.
    pub fn line(&self) -> String {
        let ticket = self.ticket.as_ref().map(|t| t.as_str());
        let what = match (self.outcome, ticket) {
            (OutcomeKind::Created, Some(t)) => format!("created {t}"),
            (OutcomeKind::Commented, Some(t)) => format!("commented {t}"),
            (OutcomeKind::Duplicate, Some(t)) => format!("duplicate ({t})"),
            (OutcomeKind::Duplicate, None) => "duplicate".into(),
            (OutcomeKind::Ignored, t) => {
                let kind = self
                    .reason
                    .as_deref()
                    .and_then(|r| r.split(':').next())
                    .unwrap_or("automatic");
                match t {
                    Some(t) => format!("ignored ({kind}, recorded on {t})"),
                    None => format!("ignored ({kind})"),
                }
            }
            (OutcomeKind::Quarantined, _) => {
                format!("quarantined ({})", self.reason.as_deref().unwrap_or(""))
            }
            (kind, None) => format!("{kind:?}").to_lowercase(),
        };
        format!("{}: {what}", self.source)
    }

    /// Whether the message was handled (anything but quarantined).
    pub fn handled(&self) -> bool {
        self.outcome != OutcomeKind::Quarantined
    }
}

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

/// How many times to try in a row before giving up on a temporary failure, and the first
/// pause (doubled each time).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_pause: Duration,
}

/// Runs messages through the pipeline and quarantines what cannot be handled.
#[derive(Debug, Clone)]
pub struct Ingestor {
    pipeline: Pipeline,
    quarantine: Quarantine,
}

impl Ingestor {
    /// An ingestor using the pipeline's data directory for its quarantine.
    pub fn new(pipeline: Pipeline) -> Self {
        let quarantine = Quarantine::new(&pipeline.settings().data_dir);
        Self {
            pipeline,
            quarantine,
        }
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
        self.answer(message, attempts_so_far, processed)
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
    /// shorter; the source offers them again). When the batch cannot be committed (a file
    /// that cannot be written, a database error), its messages are tried again one at a
    /// time, except those already quarantined.
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
        let mut results = Vec::with_capacity(messages.len());
        for (message, attempts_so_far) in messages {
            let processed = pipeline.process(&message.source, &message.bytes).await;
            let stop = matches!(processed, Err(ProcessError::Temporary(..)));
            results.push(self.answer(message, *attempts_so_far, processed));
            if stop {
                break;
            }
        }
        let committed = match pipeline.files().settle().await {
            Ok(()) => batch.commit().await.map_err(|e| e.to_string()),
            Err(e) => {
                if let Err(e) = batch.rollback().await {
                    tracing::warn!(error = %e, "cannot roll back a batch whose files failed");
                }
                Err(e.to_string())
            }
        };
        if let Err(reason) = committed {
            self.try_alone(messages, &mut results, &reason).await;
        }
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

    /// Tries `message` with pauses between temporary failures, as `policy` says. Returns
    /// the last temporary failure when every attempt failed.
    pub async fn try_with_retries(
        &self,
        message: &RawMessage,
        policy: RetryPolicy,
    ) -> Result<Report, Deferred> {
        let mut pause = policy.first_pause;
        let mut attempt = 0;
        loop {
            match self.try_once(message, attempt).await {
                Ok(report) => return Ok(report),
                Err(deferred) if attempt + 1 >= policy.attempts => return Err(deferred),
                Err(deferred) => {
                    tracing::warn!(source = %message.source, reason = %deferred.cause, "temporary failure, retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
            }
        }
    }

    /// Reads one message from `reader`. Past `max_message_bytes` it stops holding the
    /// message in memory and streams it whole into the quarantine instead.
    pub fn read_message(&self, source: &str, mut reader: impl Read) -> std::io::Result<Received> {
        let limit = self.pipeline.settings().max_message_bytes;
        let mut head = Vec::new();
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
        Ok(Received::TooLarge(Report {
            source: source.to_string(),
            outcome: OutcomeKind::Quarantined,
            ticket: None,
            reason: Some(format!("{reason} [quarantine id {}]", entry.id)),
        }))
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
        Ok(Report {
            source: message.source.clone(),
            outcome: OutcomeKind::Quarantined,
            ticket: None,
            reason: Some(format!("{reason} [quarantine id {}]", entry.id)),
        })
    }
}
