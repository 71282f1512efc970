//! Which existing ticket a mail belongs to: the ticket tag in the subject first (it survives
//! every mail client), then In-Reply-To, then References from the newest.
//!
//! A reference to one of our notifications counts only when its thread token verifies: for
//! the sender (the recipient answering), or for the recipient we recorded sending it to (a
//! reply from someone else, whom the authorization step then checks). A made-up or altered
//! notification id threads nowhere.

use std::fmt;

use crate::domain::Ticket;
use crate::domain::{EmailAddress, InboundMail, SubjectTag, TicketNumber};
use crate::signing::{LinkSigner, NotificationId};
use crate::store::{Store, StoreError};

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
    pub ticket: Ticket,
    pub signal: ThreadSignal,
}

/// What threading found, including the dead ends worth telling an operator about.
#[derive(Debug, Clone, Default)]
pub struct ThreadResult {
    pub threaded: Option<Threaded>,
    /// A tag that named no ticket we have.
    pub unknown_tag: Option<TicketNumber>,
    /// References shaped like our notification ids whose token did not verify.
    pub forged: Vec<String>,
}

/// What threading reads: the subject tag's form, and the key that signed our ids.
#[derive(Debug, Clone, Copy)]
pub struct Threader<'a> {
    pub store: &'a Store,
    pub tag: &'a SubjectTag,
    pub signer: &'a LinkSigner,
}

/// Finds the ticket `mail` from `sender` answers, if any.
pub async fn find_ticket(
    threader: Threader<'_>,
    sender: &EmailAddress,
    mail: &InboundMail<'_>,
) -> Result<ThreadResult, StoreError> {
    let Threader { store, tag, signer } = threader;
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
        let ticket = match NotificationId::parse(id) {
            Some(ours) => {
                let genuine = signer.thread_token_matches(&ours, sender)
                    || store.sent_notification(id).await?.is_some_and(|sent| {
                        sent.ticket == ours.ticket
                            && signer.thread_token_matches(&ours, &sent.recipient)
                    });
                if !genuine {
                    tracing::warn!(message_id = %id, %sender, "a reference to one of our notifications has a token that does not verify: ignored");
                    result.forged.push(id.clone());
                    continue;
                }
                store.ticket_by_number(&ours.ticket).await?
            }
            None => store.ticket_by_message_id(id).await?,
        };
        if let Some(ticket) = ticket {
            result.threaded = Some(Threaded { ticket, signal });
            return Ok(result);
        }
    }
    Ok(result)
}

/// A notification of ours that a delivery report is about.
#[derive(Debug, Clone)]
pub struct Bounced {
    pub ticket: Ticket,
    /// Whom the notification was sent to.
    pub recipient: EmailAddress,
}

/// The notification a delivery report concerns: only by the Message-ID of a notification
/// we sent, found in the report's threading headers or in the enclosed original. A subject
/// tag or a customer's Message-ID proves nothing here: anyone can write those into a fake
/// report, and a report is recorded without any sender check.
pub async fn find_bounced_ticket(
    store: &Store,
    mail: &InboundMail<'_>,
) -> Result<Option<Bounced>, StoreError> {
    let ids = mail
        .in_reply_to
        .iter()
        .chain(mail.references.iter().rev())
        .chain(mail.embedded.iter().filter_map(|e| e.message_id.as_ref()));
    for id in ids {
        if let Some(sent) = store.sent_notification(id).await?
            && let Some(ticket) = store.ticket_by_number(&sent.ticket).await?
        {
            return Ok(Some(Bounced {
                ticket,
                recipient: sent.recipient,
            }));
        }
    }
    Ok(None)
}
