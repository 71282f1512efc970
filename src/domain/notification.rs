//! Which notification an operation causes, and who receives it. The rows are written to
//! the outbox in the same transaction as the operation; delivery reads them later.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{EmailAddress, Status, TicketNumber};

/// An operation that people are told about by mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A ticket was opened: acknowledgement to the requester, notice to observers.
    TicketOpened,
    /// A customer wrote on a ticket: to the agents and the other parties.
    CustomerComment,
    /// An agent wrote on a ticket: to the customer side.
    AgentComment,
    /// The status moved in a way no other event names (in progress, waiting for you…).
    StatusChanged,
    /// An agent was given the ticket: to that agent, unless they took it themselves.
    TicketAssigned,
    /// The ticket is resolved and waits for the requester to approve or refuse.
    SolutionProposed,
    /// A resolved or closed ticket was taken up again.
    TicketReopened,
    /// The ticket was closed by an agent or by the requester's approval.
    TicketClosed,
    /// The ticket was closed because nobody answered its solution in time.
    TicketAutoClosed,
    /// A file was not stored (too large, or not allowed): to its sender.
    AttachmentRefused,
    /// A mail could not be added where its sender wanted (closed ticket…): to its sender.
    MailRefused,
    /// The solution still waits for the requester's answer; the ticket closes by itself
    /// soon (sent once, a configured number of days before the auto-close).
    ResolutionReminder,
    /// An agent still waits for the requester's answer (sent once per wait).
    WaitingReminder,
}

/// The groups a contact can switch on or off, as the support portals offer them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventCategory {
    /// "Ouverture et clôture": opened, solution proposed, closed, auto-closed.
    OpeningClosing,
    /// "Autres étapes de traitement": status changes, assignment and reopening.
    Processing,
    /// "Messages des techniciens": comments written on the ticket.
    Messages,
    /// Answers to the recipient's own mail (a refused file or message): always sent.
    Answer,
}

impl Event {
    /// Every event, in the order the templates list them.
    pub const ALL: &'static [Event] = &[
        Event::TicketOpened,
        Event::CustomerComment,
        Event::AgentComment,
        Event::StatusChanged,
        Event::TicketAssigned,
        Event::SolutionProposed,
        Event::TicketReopened,
        Event::TicketClosed,
        Event::TicketAutoClosed,
        Event::AttachmentRefused,
        Event::MailRefused,
        Event::ResolutionReminder,
        Event::WaitingReminder,
    ];

    /// The name stored in the outbox and used to pick templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::TicketOpened => "ticket_opened",
            Event::CustomerComment => "customer_comment",
            Event::AgentComment => "agent_comment",
            Event::StatusChanged => "status_changed",
            Event::TicketAssigned => "ticket_assigned",
            Event::SolutionProposed => "solution_proposed",
            Event::TicketReopened => "ticket_reopened",
            Event::TicketClosed => "ticket_closed",
            Event::TicketAutoClosed => "ticket_auto_closed",
            Event::AttachmentRefused => "attachment_refused",
            Event::MailRefused => "mail_refused",
            Event::ResolutionReminder => "resolution_reminder",
            Event::WaitingReminder => "waiting_reminder",
        }
    }

    /// The preference group that decides whether a contact receives it. The solution
    /// belongs with closing: a requester who does not see it cannot stop the auto-close.
    pub fn category(self) -> EventCategory {
        match self {
            Event::TicketOpened
            | Event::SolutionProposed
            | Event::TicketClosed
            | Event::TicketAutoClosed
            | Event::ResolutionReminder => EventCategory::OpeningClosing,
            Event::StatusChanged | Event::TicketAssigned | Event::TicketReopened => {
                EventCategory::Processing
            }
            Event::CustomerComment | Event::AgentComment | Event::WaitingReminder => {
                EventCategory::Messages
            }
            Event::AttachmentRefused | Event::MailRefused => EventCategory::Answer,
        }
    }
}

impl FromStr for Event {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Event::ALL
            .iter()
            .copied()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a notification event"))
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a mail was not added to the ticket its sender meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// The sender is not the requester, an observer, an agent or of the organisation.
    NotAllowed,
    /// The ticket is closed; the mail opened a follow-up instead.
    Closed,
}

/// A mail that went to a new ticket instead of the one it named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailRefusal {
    /// The ticket the sender wrote to.
    pub ticket: TicketNumber,
    pub reason: RefusalReason,
}

/// What an event's mail needs beyond the ticket itself, kept with the outbox row as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventContext {
    /// The status before a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<Status>,
    /// For `mail_refused`: where the mail was meant to go and why it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<MailRefusal>,
}

impl EventContext {
    /// Whether there is anything to keep.
    pub fn is_empty(&self) -> bool {
        *self == EventContext::default()
    }
}

/// One mail to send: an event for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// What happened.
    pub event: Event,
    /// Who is told.
    pub recipient: EmailAddress,
    /// Details the mail shows.
    pub context: EventContext,
}

/// Who did what an event reports: they are not told of it.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// The requester, an observer or someone of their organisation.
    Customer(&'a EmailAddress),
    /// A configured agent.
    Agent(&'a EmailAddress),
    /// ticketgate itself (the scheduler's auto-close).
    System,
}

impl Actor<'_> {
    fn address(&self) -> Option<&EmailAddress> {
        match self {
            Actor::Customer(a) | Actor::Agent(a) => Some(a),
            Actor::System => None,
        }
    }
}

/// The people around a ticket, as far as notifications are concerned.
#[derive(Debug, Clone)]
pub struct Audience<'a> {
    /// The ticket's requester.
    pub requester: &'a EmailAddress,
    /// The ticket's observers.
    pub observers: &'a [EmailAddress],
    /// Where customer activity is reported: the assigned agent, or the agents' address.
    /// For [`Event::TicketAssigned`], the agent the ticket is being given to.
    pub agents: Option<&'a EmailAddress>,
}

impl Audience<'_> {
    /// The notifications for `event` caused by `actor`. Nobody is told of their own action
    /// (except the requester's acknowledgement of the ticket they opened), and nobody is
    /// told twice. Agents hear of what customers do; customers of what anyone does; an
    /// assignment concerns the assigned agent only.
    pub fn notifications(&self, event: Event, actor: Actor<'_>) -> Vec<Notification> {
        let mut recipients: Vec<&EmailAddress> = Vec::new();
        match event {
            Event::AttachmentRefused | Event::MailRefused => {
                // An answer to the actor's own mail, and to nobody else.
                return actor
                    .address()
                    .map(|a| self.notification(event, a))
                    .into_iter()
                    .collect();
            }
            Event::TicketAssigned => recipients.extend(self.agents),
            _ => {
                let customer_acted = matches!(actor, Actor::Customer(_));
                if customer_acted && event != Event::TicketOpened {
                    recipients.extend(self.agents);
                }
                recipients.push(self.requester);
                recipients.extend(self.observers);
            }
        }

        let mut out: Vec<Notification> = Vec::new();
        for r in recipients {
            let own_action = actor.address().is_some_and(|a| a.same_mailbox(r));
            let acknowledgement = event == Event::TicketOpened && r == self.requester;
            let told = out.iter().any(|n| n.recipient.same_mailbox(r));
            if (!own_action || acknowledgement) && !told {
                out.push(self.notification(event, r));
            }
        }
        out
    }

    fn notification(&self, event: Event, recipient: &EmailAddress) -> Notification {
        Notification {
            event,
            recipient: recipient.clone(),
            context: EventContext::default(),
        }
    }
}

/// Gives every notification of `list` the same `context`.
pub fn with_context(mut list: Vec<Notification>, context: &EventContext) -> Vec<Notification> {
    for n in &mut list {
        n.context = context.clone();
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn recipients(list: &[Notification]) -> Vec<&str> {
        list.iter().map(|n| n.recipient.as_str()).collect()
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

        let opened = audience.notifications(Event::TicketOpened, Actor::Customer(&requester));
        assert_eq!(
            recipients(&opened),
            ["alice@example.com", "bob@example.com"],
            "acknowledgement goes to the requester"
        );

        let by_bob = audience.notifications(Event::CustomerComment, Actor::Customer(&observers[0]));
        assert_eq!(
            recipients(&by_bob),
            ["support@ours.test", "alice@example.com"]
        );
    }

    /// Every event against every kind of actor: the whole "who hears of what" table.
    #[test]
    fn who_hears_of_each_event() {
        let alice = addr("alice@example.com");
        let bob = addr("bob@example.com");
        let agents = addr("support@ours.test");
        let agent = addr("camille@ours.test");
        let observers = [bob.clone()];
        let audience = Audience {
            requester: &alice,
            observers: &observers,
            agents: Some(&agents),
        };
        let table: &[(Event, Actor<'_>, &[&str])] = &[
            (
                Event::CustomerComment,
                Actor::Customer(&alice),
                &["support@ours.test", "bob@example.com"],
            ),
            (
                Event::AgentComment,
                Actor::Agent(&agent),
                &["alice@example.com", "bob@example.com"],
            ),
            (
                Event::StatusChanged,
                Actor::Agent(&agent),
                &["alice@example.com", "bob@example.com"],
            ),
            (
                Event::SolutionProposed,
                Actor::Agent(&agent),
                &["alice@example.com", "bob@example.com"],
            ),
            (
                Event::TicketReopened,
                Actor::Agent(&agent),
                &["alice@example.com", "bob@example.com"],
            ),
            (
                Event::TicketReopened,
                Actor::Customer(&alice),
                &["support@ours.test", "bob@example.com"],
            ),
            (
                Event::TicketClosed,
                Actor::Customer(&alice),
                &["support@ours.test", "bob@example.com"],
            ),
            (
                Event::TicketClosed,
                Actor::Agent(&agent),
                &["alice@example.com", "bob@example.com"],
            ),
            (
                Event::TicketAutoClosed,
                Actor::System,
                &["alice@example.com", "bob@example.com"],
            ),
            (
                Event::AttachmentRefused,
                Actor::Customer(&bob),
                &["bob@example.com"],
            ),
            (
                Event::MailRefused,
                Actor::Customer(&alice),
                &["alice@example.com"],
            ),
            (Event::MailRefused, Actor::System, &[]),
            (
                Event::TicketAssigned,
                Actor::Agent(&agent),
                &["support@ours.test"],
            ),
            (Event::TicketAssigned, Actor::Agent(&agents), &[]),
        ];
        for (event, actor, expected) in table {
            let got = audience.notifications(*event, *actor);
            assert_eq!(recipients(&got), *expected, "{event} by {actor:?}");
        }
    }

    #[test]
    fn events_round_trip_through_their_names() {
        for e in Event::ALL {
            assert_eq!(e.as_str().parse::<Event>().unwrap(), *e);
        }
        assert!("ticket_exploded".parse::<Event>().is_err());
    }

    #[test]
    fn context_is_kept_as_small_json() {
        let ctx = EventContext {
            previous_status: Some(Status::InProgress),
            refusal: None,
        };
        let json = serde_json::to_string(&ctx).unwrap();
        assert_eq!(json, r#"{"previous_status":"in_progress"}"#);
        assert_eq!(serde_json::from_str::<EventContext>(&json).unwrap(), ctx);
        assert!(EventContext::default().is_empty());
    }
}
