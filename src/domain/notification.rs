//! Which notification an operation causes, and who receives it. The rows are written to
//! the outbox in the same transaction as the operation; delivery reads them later.

use serde::Serialize;

use super::EmailAddress;

/// An operation that people are told about by mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A ticket was opened: acknowledgement to the requester, notice to observers.
    TicketOpened,
    /// A customer wrote on a ticket: to the agents and the other parties.
    CustomerComment,
    /// An agent wrote on a ticket: to the customer side.
    AgentComment,
    /// A file was not stored (too large, or not allowed): to its sender.
    AttachmentRefused,
    /// A mail could not be added where its sender wanted (closed ticket…): to its sender.
    MailRefused,
}

impl Event {
    /// The name stored in the outbox and used to pick templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::TicketOpened => "ticket_opened",
            Event::CustomerComment => "customer_comment",
            Event::AgentComment => "agent_comment",
            Event::AttachmentRefused => "attachment_refused",
            Event::MailRefused => "mail_refused",
        }
    }
}

/// One mail to send: an event for one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// What happened.
    pub event: Event,
    /// Who is told.
    pub recipient: EmailAddress,
}

/// The people around a ticket, as far as notifications are concerned.
#[derive(Debug, Clone)]
pub struct Audience<'a> {
    /// The ticket's requester.
    pub requester: &'a EmailAddress,
    /// The ticket's observers.
    pub observers: &'a [EmailAddress],
    /// Where customer activity is reported: the assigned agent, or the agents' address.
    pub agents: Option<&'a EmailAddress>,
}

impl Audience<'_> {
    /// The notifications for `event` caused by `actor`. Nobody is told of their own action
    /// (except the requester's acknowledgement of the ticket they opened), and nobody is
    /// told twice.
    pub fn notifications(&self, event: Event, actor: &EmailAddress) -> Vec<Notification> {
        let mut recipients: Vec<&EmailAddress> = Vec::new();
        let mut seen: Vec<&EmailAddress> = Vec::new();
        let mut out = Vec::new();
        if event == Event::TicketOpened {
            out.push(Notification {
                event,
                recipient: self.requester.clone(),
            });
            seen.push(self.requester);
        }
        match event {
            Event::TicketOpened => recipients.extend(self.observers),
            Event::AgentComment => {
                recipients.push(self.requester);
                recipients.extend(self.observers);
            }
            Event::CustomerComment => {
                recipients.extend(self.agents);
                recipients.push(self.requester);
                recipients.extend(self.observers);
            }
            Event::AttachmentRefused | Event::MailRefused => {
                // Addressed to the sender of the refused mail only.
                return vec![Notification {
                    event,
                    recipient: actor.clone(),
                }];
            }
        }
        for r in recipients {
            if !r.same_mailbox(actor) && !seen.iter().any(|s| s.same_mailbox(r)) {
                seen.push(r);
                out.push(Notification {
                    event,
                    recipient: r.clone(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    #[test]
    fn nobody_is_told_of_their_own_action_or_twice() {
        let requester = addr("alice@example.com");
        let observers = [addr("bob@example.com"), addr("ALICE@example.com")];
        let agents = addr("support@ours.test");
        let audience = Audience {
            requester: &requester,
            observers: &observers,
            agents: Some(&agents),
        };

        let opened = audience.notifications(Event::TicketOpened, &requester);
        let got: Vec<_> = opened.iter().map(|n| n.recipient.as_str()).collect();
        assert_eq!(
            got,
            ["alice@example.com", "bob@example.com"],
            "acknowledgement goes to the requester"
        );

        let by_bob = audience.notifications(Event::CustomerComment, &observers[0]);
        let got: Vec<_> = by_bob.iter().map(|n| n.recipient.as_str()).collect();
        assert_eq!(got, ["support@ours.test", "alice@example.com"]);
    }
}
