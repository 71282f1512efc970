//! What became of a message, and why one could not be handled: either the message itself
//! is the problem (it goes to the quarantine with the reason) or something around it failed
//! (its source keeps it and offers it again).

use super::parse::ParseError;
use crate::domain::TicketNumber;
use crate::files::FilesError;
use crate::store::StoreError;

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new ticket.
    Created(TicketNumber),
    /// A comment on an existing ticket.
    Commented(TicketNumber),
    /// Automatic mail: nothing opened, nobody answered. A bounce of one of our
    /// notifications is still recorded on its ticket, named here.
    Ignored {
        kind: &'static str,
        reason: String,
        ticket: Option<TicketNumber>,
    },
    /// The same message was handled before.
    Duplicate(Option<TicketNumber>),
    /// A request answered by mail without a ticket (`my tickets`): `kind` names it.
    Answered { kind: &'static str },
}

impl Outcome {
    /// The ticket concerned, if any.
    pub fn ticket(&self) -> Option<&TicketNumber> {
        match self {
            Outcome::Created(n) | Outcome::Commented(n) => Some(n),
            Outcome::Ignored { ticket, .. } | Outcome::Duplicate(ticket) => ticket.as_ref(),
            Outcome::Answered { .. } => None,
        }
    }
}

/// Why a message could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The message itself is the problem: trying again gives the same result.
    #[error(transparent)]
    Rejected(Rejection),
    /// Something around it failed (database, disk): it may work later.
    #[error(transparent)]
    Temporary(TemporaryFailure),
}

/// Why a message is refused for good; the message says what an operator can do.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error(
        "the message is over max_message_bytes = {limit}; raise the limit and retry it if it is wanted"
    )]
    TooLarge { limit: u64 },
    #[error("cannot parse the message: {0}")]
    Unparseable(#[source] ParseError),
    #[error("no usable sender address (From: {from}); nobody could be answered")]
    NoSender { from: String },
    /// From names one of our addresses, without our loop marker and without
    /// authentication: a forgery, not one of our notifications come back.
    #[error(
        "From names our own address {address}, but the mail is not authenticated as ours ({how}) nor marked as one of our notifications; kept here rather than dropped as a loop: if it is genuine, have the mail server add Authentication-Results ([authentication] trusted_authserv_ids)"
    )]
    ForgedOwnAddress { address: String, how: String },
    /// The database refused what the message would write (a constraint, a value).
    #[error(transparent)]
    Store(StoreError),
    /// Its files cannot be stored, and would not be on a second try.
    #[error(transparent)]
    Files(FilesError),
}

/// Why a message could not be handled now, though it may be later.
#[derive(Debug, thiserror::Error)]
pub enum TemporaryFailure {
    /// The database was unreachable, busy or locked.
    #[error(transparent)]
    Store(StoreError),
    /// The disk (or the database keeping files) failed.
    #[error(transparent)]
    Files(FilesError),
    /// Another writer moved the ticket while the message was decided on.
    #[error("ticket {0} changed status while the mail was handled; the mail is handled again")]
    Stale(TicketNumber),
}

impl ProcessError {
    /// Whether the message was left out of its batch because another transaction held a
    /// row it writes ([`StoreError::Busy`]): it was not tried, and goes into the next batch.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            ProcessError::Temporary(TemporaryFailure::Store(StoreError::Busy))
        )
    }
}

impl From<Rejection> for ProcessError {
    fn from(e: Rejection) -> Self {
        ProcessError::Rejected(e)
    }
}

impl From<TemporaryFailure> for ProcessError {
    fn from(e: TemporaryFailure) -> Self {
        ProcessError::Temporary(e)
    }
}

impl From<StoreError> for ProcessError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            TemporaryFailure::Store(e).into()
        } else {
            Rejection::Store(e).into()
        }
    }
}

impl From<FilesError> for ProcessError {
    fn from(e: FilesError) -> Self {
        if e.is_transient() {
            TemporaryFailure::Files(e).into()
        } else {
            Rejection::Files(e).into()
        }
    }
}

/// Why a message over `max_message_bytes` is quarantined unread, and what to do about it.
pub fn too_large(limit: u64) -> String {
    Rejection::TooLarge { limit }.to_string()
}
