//! The history of a ticket: articles (a mail received, an agent's comment, a note
//! ticketgate wrote) and the files they carry, as stored and as about to be written.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Direction, EmailAddress, Visibility};

/// A file of an article: its bytes stored under `sha256` (before the article is recorded,
/// so that a ticket never points at missing bytes), or refused, `refused_reason` saying why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub content_id: Option<String>,
    pub inline: bool,
    pub refused_reason: Option<String>,
}

/// The part of an article a notification quotes: who wrote it, whether customers may
/// see it, and the beginning of its text, read without the rest of a long one.
#[derive(Debug, Clone)]
pub struct ArticleExcerpt {
    pub author: String,
    pub author_name: Option<String>,
    pub visibility: Visibility,
    /// The text's first characters, as many as were asked for at most.
    pub text: String,
    /// Whether the text goes on past `text`.
    pub cut: bool,
}

/// One message or action on a ticket.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Article {
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
    /// Where the mail it came from is kept, until the purge job deletes it.
    pub raw_ref: Option<String>,
    pub note: Option<String>,
    /// Whether the sender was authenticated, where a policy asked (`None`: not checked).
    pub sender_verified: Option<bool>,
    /// What decided it: `dmarc=pass from mx.example.com`, `no DKIM signature`…
    pub sender_check: Option<String>,
    pub created_at: DateTime<Utc>,
    pub attachments: Vec<Attachment>,
}

/// An article to add.
#[derive(Debug, Clone)]
pub struct NewArticle {
    pub author: EmailAddress,
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
    /// Whether the sender was authenticated, where a policy asked (`None`: not checked).
    pub sender_verified: Option<bool>,
    /// What decided it.
    pub sender_check: Option<String>,
    pub attachments: Vec<Attachment>,
}

impl NewArticle {
    /// An article written here (by an agent at the CLI, or by ticketgate itself) rather
    /// than received: text only, no files, no mail behind it.
    pub fn written(
        author: EmailAddress,
        author_name: Option<String>,
        direction: Direction,
        visibility: Visibility,
        subject: &str,
        body: &str,
    ) -> NewArticle {
        NewArticle {
            author,
            author_name,
            direction,
            visibility,
            subject: subject.to_string(),
            body_text: body.to_string(),
            body_html: None,
            body_original: None,
            message_id: None,
            raw_ref: None,
            note: None,
            sender_verified: None,
            sender_check: None,
            attachments: Vec::new(),
        }
    }

    /// Puts `note` before any note the article has already.
    pub fn prepend_note(&mut self, note: String) {
        self.note = Some(match self.note.take() {
            Some(existing) => format!("{note} {existing}"),
            None => note,
        });
    }
}
