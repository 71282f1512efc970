//! A ticket as every part of ticketgate reasons about it: its fields, who is around it, and
//! who hears of what happens to it. The store reads rows into these types and writes them
//! back; decisions (pipeline, service, jobs, notifications) are made on them alone.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    Article, Audience, EmailAddress, Impact, IncidentDetails, Priority, Status, TicketNumber,
    TicketType, Urgency,
};

/// A ticket's own fields, as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketSummary {
    pub number: TicketNumber,
    pub title: String,
    pub status: Status,
    pub priority: Priority,
    pub requester: EmailAddress,
    pub updated_at: DateTime<Utc>,
}

/// Everything about a ticket that decisions are made on.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ticket {
    /// The database's key: what writes name the ticket by. Never shown.
    #[serde(skip)]
    pub id: i64,
    pub number: TicketNumber,
    pub title: String,
    pub description: String,
    #[serde(rename = "type")]
    pub ticket_type: TicketType,
    pub category: Option<String>,
    pub impact: Impact,
    pub urgency: Urgency,
    pub priority: Priority,
    pub status: Status,
    pub requester: EmailAddress,
    pub requester_name: Option<String>,
    pub organisation: Option<String>,
    pub private: bool,
    /// What the customer told of their incident besides its text (`details` in the
    /// API's JSON).
    pub details: IncidentDetails,
    pub language: String,
    /// The assigned agent's address, as stored.
    pub assignee: Option<String>,
    pub follow_up_of: Option<TicketNumber>,
    pub observers: Vec<EmailAddress>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the current solution was proposed: the auto-close counts from it.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When the ticket was last closed: the reopen window counts from it.
    pub closed_at: Option<DateTime<Utc>>,
}

impl Ticket {
    /// Where customer activity on the ticket is reported: its assigned agent, else
    /// `fallback` (the agents' address).
    pub fn agents_to_tell(&self, fallback: Option<&EmailAddress>) -> Option<EmailAddress> {
        self.assignee
            .as_deref()
            .and_then(|a| EmailAddress::parse(a).ok())
            .or_else(|| fallback.cloned())
    }

    /// The fields agents set by hand, as they are now: what `tickets set` compares with.
    pub fn fields(&self) -> TicketFields {
        TicketFields {
            ticket_type: self.ticket_type,
            category: self.category.clone(),
            impact: self.impact,
            urgency: self.urgency,
            private: self.private,
        }
    }

    /// The people its notifications go to, customer activity being reported to `agents`.
    pub fn audience<'a>(&'a self, agents: Option<&'a EmailAddress>) -> Audience<'a> {
        Audience {
            requester: &self.requester,
            observers: &self.observers,
            agents,
        }
    }
}

/// A ticket with its history, for `tickets show` and the pages that show a ticket.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketDetails {
    #[serde(flatten)]
    pub ticket: Ticket,
    /// Oldest first.
    pub articles: Vec<Article>,
}

/// The fields of a ticket that agents set by hand (`tickets set`). The priority is not one
/// of them: it always follows from impact and urgency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFields {
    /// What the customer asks for.
    pub ticket_type: TicketType,
    /// A free category name, for routing and reporting.
    pub category: Option<String>,
    /// How badly the service is affected.
    pub impact: Impact,
    /// How soon an answer is needed.
    pub urgency: Urgency,
    /// Closed to the requester's organisation: their colleagues may not write on it.
    pub private: bool,
}

impl TicketFields {
    /// The priority these fields give.
    pub fn priority(&self) -> Priority {
        Priority::derive(self.impact, self.urgency)
    }
}

/// A ticket to open.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub title: String,
    /// `None`: the text of the ticket's first article, copied by the database (for large
    /// mails, so that their text is not held twice in memory).
    pub description: Option<String>,
    pub ticket_type: TicketType,
    pub category: Option<String>,
    pub impact: Impact,
    pub urgency: Urgency,
    pub requester: EmailAddress,
    pub requester_name: Option<String>,
    pub organisation: Option<String>,
    pub language: String,
    /// The database key of the closed ticket this one continues, when a customer wrote to
    /// a closed ticket.
    pub follow_up_of: Option<i64>,
    /// Whoever else the mail was sent to, with the display name the header gave them.
    pub observers: Vec<super::Mailbox>,
    /// What the mail's `Label: value` lines told of the incident.
    pub details: IncidentDetails,
}
