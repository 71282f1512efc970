//! An inbound message in ticketgate's terms: what the pipeline decides on, independent of
//! the MIME parser that produced it.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::EmailAddress;

/// A named address from a header (`"Alice Martin" <alice@example.com>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The address, normalised.
    pub address: EmailAddress,
    /// The display name, decoded, when the header gave one.
    pub name: Option<String>,
}

/// A file carried by a message. Borrows its bytes from the parsed message where it can, so
/// that a large attachment is not copied before it is written to disk.
#[derive(Debug, Clone)]
pub struct MailAttachment<'m> {
    /// The name the sender gave, untrusted: it is sanitized before it is stored or shown.
    pub filename: Option<String>,
    /// `type/subtype`, lower-cased.
    pub content_type: String,
    /// The Content-ID of an inline part (a `cid:` image in the HTML), without brackets.
    pub content_id: Option<String>,
    /// Whether the part is shown inside the body rather than offered as a download.
    pub inline: bool,
    /// The decoded content, borrowed from the parsed message where the parser decoded it.
    pub bytes: Cow<'m, [u8]>,
}

/// Threading headers of a message carried inside another, such as the original message
/// attached to a delivery report: they tell which notification bounced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbeddedHeaders {
    /// The Message-ID of the enclosed message.
    pub message_id: Option<String>,
    /// The subject of the enclosed message.
    pub subject: Option<String>,
}

/// A header of the message's trace, in order from the top: where each mail server that
/// handled it put its stamp, and the authentication results it added. Only the topmost
/// results can be believed: a sender can write their own further down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceHeader {
    /// A `Received` field.
    Received,
    /// The value of an `Authentication-Results` field (RFC 8601), unfolded.
    AuthenticationResults(String),
}

/// The headers that tell a human's mail from an automatic one, kept raw and trimmed so
/// that classification can say exactly which header decided.
#[derive(Debug, Clone, Default)]
pub struct AutomationHeaders {
    /// Every header among the ones classification reads, as (name, value).
    pub present: Vec<(&'static str, String)>,
    /// `type/subtype` of the top-level part, lower-cased.
    pub top_content_type: String,
    /// The `report-type` parameter of a top-level `multipart/report`.
    pub report_type: Option<String>,
}

impl AutomationHeaders {
    /// The value of header `name` (as listed in the parse stage), if the message has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.present
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One parsed inbound message.
#[derive(Debug, Clone)]
pub struct InboundMail<'m> {
    /// The first From field's address, when there is a usable one (RFC 5322 allows one
    /// From field: with several, the first is the sender and the mail is suspicious).
    pub from: Option<Mailbox>,
    /// How many From fields the message has.
    pub from_fields: usize,
    /// The From header as written, for messages whose address cannot be used.
    pub from_raw: Option<String>,
    /// The first Reply-To address.
    pub reply_to: Option<Mailbox>,
    /// Every To address.
    pub to: Vec<Mailbox>,
    /// Every Cc address.
    pub cc: Vec<Mailbox>,
    /// The subject, encoded words decoded; empty when absent.
    pub subject: String,
    /// The Date header, when it parses.
    pub date: Option<DateTime<Utc>>,
    /// The Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To ids, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// References ids, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// The text body: the text/plain parts, or text made from the HTML when there is none.
    pub text: String,
    /// The HTML body as the sender wrote it (unsanitized: sanitize before showing it).
    pub html: Option<String>,
    /// Attachments, inline images and enclosed messages.
    pub attachments: Vec<MailAttachment<'m>>,
    /// What classification reads.
    pub automation: AutomationHeaders,
    /// Headers of enclosed messages (delivery reports, forwarded mail).
    pub embedded: Vec<EmbeddedHeaders>,
    /// The recipients a delivery report's machine-readable part (RFC 3464
    /// `message/delivery-status`) says delivery failed to: the `Final-Recipient` (or
    /// `Original-Recipient`) of each recipient block with `Action: failed`. Read once, at
    /// parse time; a text that only looks like a bounce names nobody here.
    pub delivery_failures: Vec<EmailAddress>,
    /// The trace headers, topmost first: for sender authentication.
    pub trace: Vec<TraceHeader>,
    /// Whether the message carries a DKIM signature to check.
    pub dkim_signed: bool,
    /// SHA-256 (hex) of what stays the same between two deliveries of one mail: From,
    /// Subject, Date, bodies and attachments; not Received or Delivered-To.
    pub content_digest: String,
}

impl InboundMail<'_> {
    /// The same mail owning its attachments' bytes, free of the parsed message: to parse
    /// on one thread and handle on another.
    pub fn into_owned(self) -> InboundMail<'static> {
        InboundMail {
            attachments: self
                .attachments
                .into_iter()
                .map(|a| MailAttachment {
                    bytes: std::borrow::Cow::Owned(a.bytes.into_owned()),
                    ..a
                })
                .collect(),
            from: self.from,
            from_fields: self.from_fields,
            from_raw: self.from_raw,
            reply_to: self.reply_to,
            to: self.to,
            cc: self.cc,
            subject: self.subject,
            date: self.date,
            message_id: self.message_id,
            in_reply_to: self.in_reply_to,
            references: self.references,
            text: self.text,
            html: self.html,
            automation: self.automation,
            embedded: self.embedded,
            delivery_failures: self.delivery_failures,
            trace: self.trace,
            dkim_signed: self.dkim_signed,
            content_digest: self.content_digest,
        }
    }

    /// Every address the message was sent to, To first then Cc.
    pub fn recipients(&self) -> impl Iterator<Item = &Mailbox> {
        self.to.iter().chain(self.cc.iter())
    }

    /// Whether the message is a delivery report saying that delivery to `recipient`
    /// failed. One that is only "delayed", or names someone else, changes nothing.
    pub fn reports_failure_for(&self, recipient: &EmailAddress) -> bool {
        self.delivery_failures
            .iter()
            .any(|failed| failed.same_mailbox(recipient))
    }
}
