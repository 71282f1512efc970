//! What the store gives back: tickets with their articles and attachments, as read.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{StoreError, from_millis, parse_stored};
use crate::domain::{
    Audience, Direction, EmailAddress, Impact, Priority, Status, TicketNumber, TicketType, Urgency,
    Visibility,
};

/// A ticket's own fields, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct TicketSummary {
    pub number: TicketNumber,
    pub title: String,
    pub status: Status,
    pub priority: Priority,
    pub requester: EmailAddress,
    pub updated_at: DateTime<Utc>,
}

/// Everything about a ticket that decisions are made on.
#[derive(Debug, Clone, Serialize)]
pub struct TicketRecord {
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
    pub customer_reference: Option<String>,
    pub language: String,
    pub assignee: Option<String>,
    pub follow_up_of: Option<TicketNumber>,
    pub observers: Vec<EmailAddress>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl TicketRecord {
    /// Where customer activity on the ticket is reported: its assigned agent, else
    /// `fallback` (the agents' address).
    pub fn agents_to_tell(&self, fallback: Option<&EmailAddress>) -> Option<EmailAddress> {
        self.assignee
            .as_deref()
            .and_then(|a| EmailAddress::parse(a).ok())
            .or_else(|| fallback.cloned())
    }

    /// The fields agents set by hand, as they are now: what `tickets set` compares with.
    pub fn fields(&self) -> super::TicketFields {
        super::TicketFields {
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

/// A file of an article; `sha256` is absent when the file was refused.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentRecord {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub content_id: Option<String>,
    pub inline: bool,
    pub refused_reason: Option<String>,
}

/// One message or action on a ticket.
#[derive(Debug, Clone, Serialize)]
pub struct ArticleRecord {
    pub id: i64,
    pub author: String,
    pub author_name: Option<String>,
    pub direction: Direction,
    pub visibility: Visibility,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    /// The mail's whole text when `body_text` keeps only the new reply.
    pub body_original: Option<String>,
    pub message_id: Option<String>,
    pub raw_ref: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub attachments: Vec<AttachmentRecord>,
}

/// A ticket with its history, for `tickets show`.
#[derive(Debug, Clone, Serialize)]
pub struct TicketDetails {
    #[serde(flatten)]
    pub ticket: TicketRecord,
    pub articles: Vec<ArticleRecord>,
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
    row: &'r AnyRow,
    column: &'static str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(|source| StoreError::Query {
        doing: "reading a row",
        source,
    })
}

fn opt_millis(v: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    v.map(from_millis).transpose()
}

fn address(column: &str, value: &str) -> Result<EmailAddress, StoreError> {
    EmailAddress::parse(value).map_err(|_| StoreError::Corrupt(format!("{column} = {value:?}")))
}

impl TicketSummary {
    pub(super) fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(Self {
            number: parse_stored("number", &get::<String>(row, "number")?)?,
            title: get(row, "title")?,
            status: parse_stored("status", &get::<String>(row, "status")?)?,
            priority: parse_stored("priority", &get::<String>(row, "priority")?)?,
            requester: address("requester", &get::<String>(row, "requester")?)?,
            updated_at: from_millis(get(row, "updated_at")?)?,
        })
    }
}

impl TicketRecord {
    /// Reads a row of `tickets` joined with the number of the ticket it follows up (as
    /// `follow_up_number`); observers are filled in by the caller.
    pub(super) fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let follow_up: Option<String> = get(row, "follow_up_number")?;
        Ok(Self {
            id: get(row, "id")?,
            number: parse_stored("number", &get::<String>(row, "number")?)?,
            title: get(row, "title")?,
            description: get(row, "description")?,
            ticket_type: parse_stored("ticket_type", &get::<String>(row, "ticket_type")?)?,
            category: get(row, "category")?,
            impact: parse_stored("impact", &get::<String>(row, "impact")?)?,
            urgency: parse_stored("urgency", &get::<String>(row, "urgency")?)?,
            priority: parse_stored("priority", &get::<String>(row, "priority")?)?,
            status: parse_stored("status", &get::<String>(row, "status")?)?,
            requester: address("requester", &get::<String>(row, "requester")?)?,
            requester_name: get(row, "requester_name")?,
            organisation: get(row, "organisation")?,
            private: get::<i64>(row, "private")? != 0,
            customer_reference: get(row, "customer_reference")?,
            language: get(row, "language")?,
            assignee: get(row, "assignee")?,
            follow_up_of: follow_up
                .map(|n| parse_stored("follow_up_of", &n))
                .transpose()?,
            observers: Vec::new(),
            created_at: from_millis(get(row, "created_at")?)?,
            updated_at: from_millis(get(row, "updated_at")?)?,
            resolved_at: opt_millis(get(row, "resolved_at")?)?,
            closed_at: opt_millis(get(row, "closed_at")?)?,
        })
    }
}

impl ArticleRecord {
    pub(super) fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: get(row, "id")?,
            author: get(row, "author")?,
            author_name: get(row, "author_name")?,
            direction: parse_stored("direction", &get::<String>(row, "direction")?)?,
            visibility: parse_stored("visibility", &get::<String>(row, "visibility")?)?,
            subject: get(row, "subject")?,
            body_text: get(row, "body_text")?,
            body_html: get(row, "body_html")?,
            body_original: get(row, "body_original")?,
            message_id: get(row, "message_id")?,
            raw_ref: get(row, "raw_ref")?,
            note: get(row, "note")?,
            created_at: from_millis(get(row, "created_at")?)?,
            attachments: Vec::new(),
        })
    }
}

impl AttachmentRecord {
    pub(super) fn from_row(row: &AnyRow) -> Result<(i64, Self), StoreError> {
        Ok((
            get(row, "article_id")?,
            Self {
                filename: get(row, "filename")?,
                content_type: get(row, "content_type")?,
                size: get::<i64>(row, "size")?.max(0) as u64,
                sha256: get(row, "sha256")?,
                content_id: get(row, "content_id")?,
                inline: get::<i64>(row, "inline")? != 0,
                refused_reason: get(row, "refused_reason")?,
            },
        ))
    }
}
