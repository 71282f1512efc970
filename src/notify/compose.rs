//! Turning an outbox row into a MIME message: the rendered templates as
//! multipart/alternative, the ticket tag in the subject, a Message-ID that threads replies
//! back, In-Reply-To/References to the customer's last mail, Reply-To our address, and
//! `Auto-Submitted` so that other robots do not answer.

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox as LettreMailbox, MultiPart};
use serde_json::json;

use super::templates::{Templates, status_label};
use crate::config::Settings;
use crate::domain::ByteSize;
use crate::domain::Ticket;
use crate::domain::{Event, MailRefusal, RefusalReason, Visibility};
use crate::signing::LinkSigner;
use crate::store::{Contact, OutboxJob, Store, StoreError};

/// Why a notification cannot be written. Permanent: retrying gives the same result.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the ticket {0} of the notification no longer exists")]
    NoTicket(String),
    #[error(transparent)]
    Template(#[from] super::templates::TemplateError),
    #[error("cannot build the message: the recipient {address}: {source}")]
    Recipient {
        address: String,
        source: lettre::address::AddressError,
    },
    #[error("cannot build the message: {0}")]
    Build(#[source] lettre::error::Error),
}

/// A message ready to send, with the Message-ID to record once it is accepted.
#[derive(Debug)]
pub struct ComposedMail {
    pub message: Message,
    pub message_id: String,
}

/// Builds notifications from outbox rows.
#[derive(Debug)]
pub struct Composer {
    templates: Templates,
    links: LinkSigner,
    from: LettreMailbox,
    domain: String,
    tag: crate::domain::SubjectTag,
    max_attachment_bytes: u64,
    auto_close_days: u32,
    company: String,
}

macro_rules! text_header {
    ($(#[$m:meta])* $ty:ident, $name:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        struct $ty(String);

        impl Header for $ty {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok(Self(s.to_string()))
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

text_header!(
    /// RFC 3834: this mail was sent by a program, do not answer it automatically.
    AutoSubmitted, "Auto-Submitted"
);
text_header!(
    /// Marks our own mail, so that it is recognised if it ever comes back to our mailbox.
    LoopMarker, "X-Ticketgate-Loop"
);
text_header!(
    /// Names the event, for recipients' mail filters and for tests.
    EventName, "X-Ticketgate-Event"
);

impl Composer {
    /// A composer sending from the first of our own addresses.
    pub fn new(settings: &Settings, templates: Templates, links: LinkSigner) -> Self {
        let sender = settings.sender_address();
        let from = sender.as_str();
        let domain = sender.domain().to_string();
        Self {
            templates,
            links,
            from: from
                .parse()
                .unwrap_or_else(|_| "support@localhost".parse().expect("a valid literal")),
            domain,
            tag: settings.subject_tag.clone(),
            max_attachment_bytes: settings.max_attachment_bytes,
            auto_close_days: settings.auto_close_days,
            company: settings.company.clone(),
        }
    }

    /// Writes the notification of `job` about `ticket` to the person `contact` describes,
    /// in their language if they chose one, else the ticket's.
    pub async fn compose(
        &self,
        store: &Store,
        job: &OutboxJob,
        ticket: &Ticket,
        contact: &Contact,
        now: DateTime<Utc>,
    ) -> Result<ComposedMail, ComposeError> {
        let lang = match contact.language.as_deref().unwrap_or(&ticket.language) {
            "fr" => "fr",
            _ => "en",
        };
        let data = self.template_data(store, job, ticket, lang, now).await?;
        let rendered = self.templates.render(job.event.as_str(), lang, &data)?;
        let message_id = self.links.notification_message_id(
            &ticket.number,
            &job.recipient,
            job.id,
            job.created_at,
            &self.domain,
        );
        let auto = if job.event == Event::TicketOpened {
            "auto-replied"
        } else {
            "auto-generated"
        };
        let to: LettreMailbox =
            job.recipient
                .as_str()
                .parse()
                .map_err(|source| ComposeError::Recipient {
                    address: job.recipient.to_string(),
                    source,
                })?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .reply_to(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            .message_id(Some(format!("<{message_id}>")))
            .header(AutoSubmitted(auto.into()))
            .header(LoopMarker(ticket.number.to_string()))
            .header(EventName(job.event.as_str().into()));
        if let Some(parent) = store.last_inbound_message_id(ticket.id).await? {
            builder = builder
                .in_reply_to(format!("<{parent}>"))
                .references(format!("<{parent}>"));
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(ComposeError::Build)?;
        Ok(ComposedMail {
            message,
            message_id,
        })
    }

    /// What the templates of `job` are rendered with, in `lang`.
    async fn template_data(
        &self,
        store: &Store,
        job: &OutboxJob,
        ticket: &Ticket,
        lang: &str,
        now: DateTime<Utc>,
    ) -> Result<serde_json::Value, ComposeError> {
        let (article, refused) = match job.article_id {
            Some(id) => (
                store.article(id).await?,
                store
                    .article_attachments(id)
                    .await?
                    .into_iter()
                    .filter_map(|f| {
                        Some(json!({ "filename": f.filename, "reason": f.refused_reason? }))
                    })
                    .collect(),
            ),
            None => (None, Vec::new()),
        };
        let actor_name = article
            .as_ref()
            .map(|a| a.author_name.clone().unwrap_or_else(|| a.author.clone()))
            .unwrap_or_default();
        Ok(json!({
            "tag": self.tag.render(&ticket.number),
            "company": self.company,
            "link": self.links.link(&ticket.number, &job.recipient, now),
            "recipient": { "name": recipient_name(ticket, job), "email": job.recipient.as_str() },
            "actor": { "name": actor_name },
            "ticket": {
                "number": ticket.number.as_str(),
                "title": ticket.title,
                "status_label": status_label(ticket.status, lang),
                "priority": ticket.priority.label(),
            },
            "previous_status_label": status_label(
                job.context.previous_status.unwrap_or(ticket.status),
                lang
            ),
            // Only what customers may see: a status move's own note is internal.
            "article": { "text": article
                .as_ref()
                .filter(|a| a.visibility == Visibility::Public)
                .map(|a| a.body_text.as_str())
                .unwrap_or("") },
            "auto_close_on": ticket
                .resolved_at
                .map(|r| (r + chrono::Duration::days(i64::from(self.auto_close_days)))
                    .format("%Y-%m-%d")
                    .to_string())
                .unwrap_or_default(),
            "auto_close_days": self.auto_close_days,
            "max_attachment_size": ByteSize(self.max_attachment_bytes).to_string(),
            "refused": refused,
            "refusal": refusal_data(job.context.refusal.as_ref()),
        }))
    }
}

/// What the `mail_refused` templates choose their wording by: one flag per reason, so
/// that a template names each case with `{{#if refusal.closed}}`.
fn refusal_data(refusal: Option<&MailRefusal>) -> serde_json::Value {
    let reason = refusal.map(|r| r.reason);
    json!({
        "ticket": refusal.map(|r| r.ticket.as_str()).unwrap_or(""),
        "closed": reason == Some(RefusalReason::Closed),
        "not_allowed": reason == Some(RefusalReason::NotAllowed),
        "unverified": reason == Some(RefusalReason::Unverified),
    })
}

fn recipient_name(ticket: &Ticket, job: &OutboxJob) -> String {
    match &ticket.requester_name {
        Some(name) if ticket.requester.same_mailbox(&job.recipient) => name.clone(),
        _ => job.recipient.as_str().to_string(),
    }
}
