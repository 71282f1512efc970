//! Why an operation on a ticket was not carried out: each variant says what to do instead.

use crate::domain::{InvalidMove, Status, TicketNumber};
use crate::files::FilesError;
use crate::store::StoreError;

/// Why an operation on a ticket was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("there is no ticket {0}; `ticketgate tickets list` shows the existing ones")]
    NoTicket(TicketNumber),
    #[error(transparent)]
    InvalidMove(#[from] InvalidMove),
    #[error(
        "a resolved ticket needs its solution: use `ticketgate tickets resolve NUMBER --solution TEXT`"
    )]
    SolutionRequired,
    #[error(
        "`{0}` is not a configured agent; add it under [[agent]] or pass a known name or address to --as"
    )]
    UnknownAgent(String),
    #[error("ticket {0} is closed; reopen it first (`ticketgate tickets reopen {0}`)")]
    Closed(TicketNumber),
    #[error("ticket {0} changed while this operation ran; look at it again and retry")]
    Changed(TicketNumber),
    #[error("only the requester of ticket {0} answers its solution")]
    NotRequester(TicketNumber),
    #[error("ticket {0} has no solution waiting for an answer: it is {1}")]
    NoSolutionPending(TicketNumber, Status),
    /// Tickets go to configured agents only: their address is where the ticket's customer
    /// activity is then reported.
    #[error(
        "`{0}` is not a configured agent; a ticket is assigned to an agent listed under [[agent]], by name or address"
    )]
    UnknownAssignee(String),
    /// Assigning a ticket to its assignee again would only notify them twice.
    #[error("ticket {ticket} is already assigned to {agent}; nothing changed")]
    AlreadyAssigned { ticket: TicketNumber, agent: String },
    /// A file an agent attaches must fit the limit customers' files have.
    #[error(
        "{path} is {size}, over the {limit} limit per file (max_attachment_bytes); attach a smaller file or put it somewhere the customer can fetch it"
    )]
    AttachmentTooLarge {
        path: String,
        size: String,
        limit: String,
    },
    /// A file to attach could not be read: nothing was written. The cause is part of the
    /// message rather than a source, so that the CLI's one line says it once.
    #[error("cannot read {path}: {cause}; check the path and its permissions")]
    AttachmentUnreadable { path: String, cause: std::io::Error },
    /// The attached files could not be stored, or a stored file read back. Its message
    /// names the cause already (hence no source).
    #[error("{0}")]
    Files(FilesError),
    /// Each observer is added once; `tickets show` lists them.
    #[error(
        "{email} is already an observer of ticket {ticket}; `ticketgate tickets show {ticket}` lists them"
    )]
    AlreadyObserver { ticket: TicketNumber, email: String },
    /// The requester hears of everything already; as an observer they would not be told more.
    #[error("{email} is the requester of ticket {ticket}, who is told of it already")]
    RequesterAsObserver { ticket: TicketNumber, email: String },
    /// Only an observer can be removed.
    #[error(
        "{email} is not an observer of ticket {ticket}; `ticketgate tickets show {ticket}` lists them"
    )]
    NotObserver { ticket: TicketNumber, email: String },
    /// `tickets set` without a value to set.
    #[error(
        "nothing to set: give at least one of --type, --category, --impact, --urgency, --private"
    )]
    NothingToSet,
    /// A file asked for by its SHA-256 that the ticket does not have (or was refused).
    #[error(
        "ticket {ticket} has no stored file with SHA-256 {sha256}; `ticketgate tickets show {ticket}` lists its files"
    )]
    NoAttachment {
        ticket: TicketNumber,
        sha256: String,
    },
    /// An article the ticket does not have, or one with no kept mail: written here rather
    /// than received, or its mail deleted by the purge job.
    #[error(
        "ticket {ticket} has no article {article} with its raw mail kept (not received by mail, or purged); `ticketgate tickets show {ticket}` lists the articles"
    )]
    NoRawMail { ticket: TicketNumber, article: i64 },
    /// A ticket opened by hand needs what a mail would have given it.
    #[error("a new ticket needs a {0}")]
    Missing(&'static str),
    /// One of our own addresses as a customer would make the ticket answer itself.
    #[error(
        "{0} is one of ours (a mailbox, the agents' address or an agent); a ticket's requester and observers are customers"
    )]
    OursAsCustomer(String),
    #[error("`{0}` is not a language the notifications are written in; use en or fr")]
    UnknownLanguage(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<FilesError> for TicketError {
    fn from(e: FilesError) -> Self {
        TicketError::Files(e)
    }
}
