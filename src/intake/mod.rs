//! Where raw mail comes from, and the one way it goes into the store.
//!
//! Each source (an IMAP folder in [`imap`], a Maildir in [`maildir`], the files and standard
//! input of `ticketgate ingest` in [`paths`]) yields raw bytes with a name and knows how to
//! acknowledge a message: move it, flag it, delete it, print its report. The [`Driver`]
//! does the rest for all of them: batches, one commit per batch through the [`Ingestor`],
//! acknowledgements only once the batch is committed, retries within a budget, the
//! quarantine when the budget is spent, and a wake for the outbox worker.

mod ahead;
mod driver;
pub mod imap;
mod ingestor;
pub mod maildir;
pub mod paths;

use serde::Serialize;

use crate::domain::TicketNumber;
use crate::pipeline::Outcome;

pub use driver::{Driver, Ended, Halt, Retry, Rules, Source};
pub use ingestor::{DeferCause, Deferred, Ingestor};

/// The most mails one batch holds (see [`Ingestor::try_batch`]): enough to share a
/// commit among many mails, few enough that the batch holds the database's write lock
/// for tens of milliseconds, not seconds.
pub const BATCH_MAILS: usize = 64;

/// The most bytes of mail one batch holds in memory: a mail that would take a batch past
/// this starts the next one, so one large mail makes a batch of its own.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeKind {
    Created,
    Commented,
    Ignored,
    Duplicate,
    Quarantined,
    /// Answered without a ticket: a request for one's tickets.
    Answered,
}

impl OutcomeKind {
    /// Its name, as `--json` spells it.
    pub fn name(self) -> &'static str {
        match self {
            OutcomeKind::Created => "created",
            OutcomeKind::Commented => "commented",
            OutcomeKind::Ignored => "ignored",
            OutcomeKind::Answered => "answered",
            OutcomeKind::Duplicate => "duplicate",
            OutcomeKind::Quarantined => "quarantined",
        }
    }
}

/// What happened to one message, as `ingest` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
            Outcome::Answered { kind } => (OutcomeKind::Answered, Some(kind.to_string())),
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
            (OutcomeKind::Answered, _) => {
                format!("answered ({})", self.reason.as_deref().unwrap_or(""))
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
