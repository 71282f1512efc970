//! The events people are told about by mail, and the notifications they become. The rows
//! are written to the outbox in the same transaction as the operation; delivery reads them
//! later. Who receives each one is [`super::Audience`]'s rule.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{EmailAddress, Status, TicketNumber};

/// An operation that people are told about by mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    /// Fresh links to the person's tickets, which they asked for from the portal when
    /// their link no longer opened.
    PortalLink,
    /// A customer's `#` command in a mail was not understood or not allowed: to its
    /// sender, saying why; nothing was changed.
    CommandRefused,
    /// The tickets a person may follow, which they asked for by mail ("my tickets"): about
    /// no ticket, to that person alone.
    MyTickets,
    /// The same list, once a week, to the contacts who asked for it.
    WeeklyDigest,
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
    /// Answers to the recipient's own mail (a refused file or message) or request (fresh
    /// links): always sent.
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
        Event::PortalLink,
        Event::CommandRefused,
        Event::MyTickets,
        Event::WeeklyDigest,
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
            Event::PortalLink => "portal_link",
            Event::CommandRefused => "command_refused",
            Event::MyTickets => "my_tickets",
            Event::WeeklyDigest => "weekly_digest",
        }
    }

    /// Whether its mail is about one ticket (and so has its link, its tag and its SMS);
    /// `my_tickets` is about a person.
    pub fn about_a_ticket(self) -> bool {
        !matches!(self, Event::MyTickets | Event::WeeklyDigest)
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
            Event::AttachmentRefused
            | Event::MailRefused
            | Event::PortalLink
            | Event::CommandRefused
            | Event::MyTickets
            | Event::WeeklyDigest => EventCategory::Answer,
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
    /// The sender's address could not be authenticated, and the mailbox requires it of
    /// customers (`[authentication] customers = "require"`).
    Unverified,
}

/// A mail that went to a new ticket instead of the one it named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailRefusal {
    /// The ticket the sender wrote to.
    pub ticket: TicketNumber,
    pub reason: RefusalReason,
}

/// Why a customer's `#` command was not carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandRefusalReason {
    /// Not a command we know, or its value cannot be read.
    NotUnderstood,
    /// Only the ticket's requester may give it (`#close`, `#private`, `#shared`).
    OnlyRequester,
    /// Only the requester or someone of their organisation may (`#share`, `#impact`…).
    OnlyRequesterOrOrganisation,
    /// The sender's address could not be authenticated.
    Unverified,
    /// It would change nothing (already closed, not an observer, already follows it).
    NothingToChange,
}

/// A customer's command that was refused: the line as written, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRefusal {
    pub line: String,
    pub reason: CommandRefusalReason,
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
    /// For `ticket_opened`: the fields the mail gave, and those it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<super::FieldsNotice>,
    /// For `command_refused`: the command and why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandRefusal>,
    /// For a mail about no ticket (`my_tickets`): the language of the mail it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
            ..EventContext::default()
        };
        let json = serde_json::to_string(&ctx).unwrap();
        assert_eq!(json, r#"{"previous_status":"in_progress"}"#);
        assert_eq!(serde_json::from_str::<EventContext>(&json).unwrap(), ctx);
        assert!(EventContext::default().is_empty());
    }
}
