//! Which existing ticket a mail belongs to: the ticket tag in the subject first (it survives
//! every mail client), then In-Reply-To, then References from the newest.

use std::fmt;

use crate::domain::{InboundMail, SubjectTag, TicketNumber};
use crate::store::{Store, StoreError, TicketRecord};

/// The signal that threaded a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadSignal {
    /// The subject carried the ticket's tag.
    Tag,
    /// In-Reply-To named a message of the ticket.
    InReplyTo(String),
    /// References named a message of the ticket.
    References(String),
}

impl fmt::Display for ThreadSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThreadSignal::Tag => f.write_str("the ticket tag in the subject"),
            ThreadSignal::InReplyTo(id) => write!(f, "In-Reply-To <{id}>"),
            ThreadSignal::References(id) => write!(f, "References <{id}>"),
        }
    }
}

/// The ticket a mail threads to, and why.
#[derive(Debug, Clone)]
pub struct Threaded {
    pub ticket: TicketRecord,
    pub signal: ThreadSignal,
}

/// What threading found, including the dead ends worth telling an operator about.
#[derive(Debug, Clone, Default)]
pub struct ThreadResult {
    pub threaded: Option<Threaded>,
    /// A tag that named no ticket we have.
    pub unknown_tag: Option<TicketNumber>,
}

/// Finds the ticket `mail` answers, if any.
pub async fn find_ticket(
    store: &Store,
    tag: &SubjectTag,
    mail: &InboundMail<'_>,
) -> Result<ThreadResult, StoreError> {
    let mut result = ThreadResult::default();
    if let Some(number) = tag.find(&mail.subject) {
        match store.ticket_by_number(&number).await? {
            Some(ticket) => {
                result.threaded = Some(Threaded {
                    ticket,
                    signal: ThreadSignal::Tag,
                });
                return Ok(result);
            }
            None => result.unknown_tag = Some(number),
        }
    }
    let candidates = mail
        .in_reply_to
        .iter()
        .map(|id| (id, ThreadSignal::InReplyTo(id.clone())))
        .chain(
            mail.references
                .iter()
                .rev()
                .map(|id| (id, ThreadSignal::References(id.clone()))),
        );
    for (id, signal) in candidates {
        if let Some(number) = store.ticket_for_message_id(id).await?
            && let Some(ticket) = store.ticket_by_number(&number).await?
        {
            result.threaded = Some(Threaded { ticket, signal });
            return Ok(result);
        }
    }
    Ok(result)
}

/// The ticket a delivery report concerns: only by the Message-ID of a notification we
/// sent, found in the report's threading headers or in the enclosed original. A subject tag
/// or a customer's Message-ID proves nothing here: anyone can write those into a fake
/// report, and a report is recorded without any sender check.
pub async fn find_bounced_ticket(
    store: &Store,
    mail: &InboundMail<'_>,
) -> Result<Option<TicketRecord>, StoreError> {
    let ids = mail
        .in_reply_to
        .iter()
        .chain(mail.references.iter().rev())
        .chain(mail.embedded.iter().filter_map(|e| e.message_id.as_ref()));
    for id in ids {
        if let Some(number) = store.ticket_for_notification(id).await?
            && let Some(ticket) = store.ticket_by_number(&number).await?
        {
            return Ok(Some(ticket));
        }
    }
    Ok(None)
}
