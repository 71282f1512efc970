//! The article a mail becomes: its text and HTML taken over (a big mail's text is not
//! copied), its attachments stored or refused with the reason, its raw bytes kept.

use super::execute::Incoming;
use super::{Pipeline, ProcessError};
use crate::domain::{
    Attachment, ByteSize, Direction, EmailAddress, Mailbox, NewArticle, Visibility,
};

impl Pipeline {
    /// The article for the mail being carried out, by `author`.
    pub(super) async fn article(
        &self,
        incoming: &mut Incoming<'_, '_>,
        author: Option<&Mailbox>,
        direction: Direction,
    ) -> Result<NewArticle, ProcessError> {
        let at = incoming.at;
        let mail = &mut *incoming.mail;
        let mut attachments = Vec::with_capacity(mail.attachments.len());
        let mut refused = Vec::new();
        for a in &mail.attachments {
            let filename = crate::domain::sanitize_filename(a.filename.as_deref(), &a.content_type);
            let refused_reason = self.refusal(a.bytes.len());
            let sha256 = match &refused_reason {
                Some(reason) => {
                    refused.push(format!("{filename}: {reason}"));
                    None
                }
                None => Some(self.files.put_attachment(&a.bytes, at).await?),
            };
            attachments.push(Attachment {
                filename,
                content_type: a.content_type.clone(),
                size: a.bytes.len() as u64,
                sha256,
                content_id: a.content_id.clone(),
                inline: a.inline,
                refused_reason,
            });
        }
        let mut notes = Vec::new();
        if !refused.is_empty() {
            notes.push(format!("Files not stored: {}.", refused.join("; ")));
        }
        let body_text = self
            .text_within_bounds(
                std::mem::take(&mut mail.text),
                at,
                &mut attachments,
                &mut notes,
            )
            .await?;
        let body_html = self
            .html_within_bounds(mail.html.take(), at, &mut attachments, &mut notes)
            .await?;
        let raw_ref = self.files.put_raw(incoming.raw, at).await?;
        let author_address = match author {
            Some(m) => m.address.clone(),
            None => unknown_sender(),
        };
        Ok(NewArticle {
            author: author_address,
            author_name: author.and_then(|m| m.name.clone()),
            direction,
            visibility: Visibility::Public,
            subject: mail.subject.clone(),
            body_text,
            body_html,
            body_original: None,
            message_id: mail.message_id.clone(),
            raw_ref: Some(raw_ref),
            note: (!notes.is_empty()).then(|| notes.join(" ")),
            sender_verified: None,
            sender_check: None,
            attachments,
        })
    }

    /// An internal note recording a delivery report about one of our notifications. Only a
    /// summary and the kept raw report: nothing the report's sender wrote becomes ticket
    /// content, since reports are recorded without a sender check.
    pub(super) async fn delivery_report_note(
        &self,
        incoming: &Incoming<'_, '_>,
        reason: &str,
    ) -> Result<NewArticle, ProcessError> {
        let mail = &*incoming.mail;
        let reporter = mail
            .from
            .as_ref()
            .map_or("an unknown mail system".to_string(), |m| {
                m.address.to_string()
            });
        let subjects: Vec<String> = mail
            .embedded
            .iter()
            .filter_map(|e| e.subject.clone())
            .collect();
        Ok(NewArticle {
            author: mail
                .from
                .as_ref()
                .map_or_else(unknown_sender, |m| m.address.clone()),
            author_name: None,
            direction: Direction::System,
            visibility: Visibility::Internal,
            subject: mail.subject.clone(),
            body_text: format!(
                "A notification could not be delivered: {reporter} sent a delivery report ({reason}).{}",
                if subjects.is_empty() {
                    String::new()
                } else {
                    format!(" Original subject: {}.", subjects.join("; "))
                }
            ),
            body_html: None,
            body_original: None,
            message_id: None,
            raw_ref: Some(self.files.put_raw(incoming.raw, incoming.at).await?),
            note: Some(
                "Delivery report; nobody was notified. The full report is kept with the raw mail."
                    .into(),
            ),
            sender_verified: None,
            sender_check: None,
            attachments: Vec::new(),
        })
    }

    /// The mail's text as the article keeps it: whole up to [`MAX_BODY_BYTES`]; past that,
    /// its beginning, the whole text being kept as the file `message.txt`.
    async fn text_within_bounds(
        &self,
        mut text: String,
        at: chrono::DateTime<chrono::Utc>,
        attachments: &mut Vec<Attachment>,
        notes: &mut Vec<String>,
    ) -> Result<String, ProcessError> {
        if text.len() <= MAX_BODY_BYTES {
            return Ok(text);
        }
        let size = ByteSize(text.len() as u64);
        attachments.push(
            self.body_file(&text, "message.txt", "text/plain", at)
                .await?,
        );
        cut_to_bounds(&mut text);
        notes.push(format!(
            "The mail's text is {size}: only its first {} is shown; the whole text is the file message.txt.",
            ByteSize(MAX_BODY_BYTES as u64)
        ));
        Ok(text)
    }

    /// The mail's HTML as the article keeps it: whole up to [`MAX_BODY_BYTES`]; past that,
    /// none (half an HTML document is not one), the HTML being kept as `message.html`.
    async fn html_within_bounds(
        &self,
        html: Option<String>,
        at: chrono::DateTime<chrono::Utc>,
        attachments: &mut Vec<Attachment>,
        notes: &mut Vec<String>,
    ) -> Result<Option<String>, ProcessError> {
        let html = match html {
            Some(html) if html.len() > MAX_BODY_BYTES => html,
            within => return Ok(within),
        };
        attachments.push(
            self.body_file(&html, "message.html", "text/html", at)
                .await?,
        );
        notes.push(format!(
            "The mail's HTML is {}: the text is shown instead; the HTML is the file message.html.",
            ByteSize(html.len() as u64)
        ));
        Ok(None)
    }

    /// A mail's body kept as a file of the article, whatever the limit per attachment (it
    /// is the mail's own text, not something attached to it).
    async fn body_file(
        &self,
        body: &str,
        filename: &str,
        content_type: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Attachment, ProcessError> {
        Ok(Attachment {
            filename: filename.to_string(),
            content_type: format!("{content_type}; charset=utf-8"),
            size: body.len() as u64,
            sha256: Some(self.files.put_attachment(body.as_bytes(), at).await?),
            content_id: None,
            inline: false,
            refused_reason: None,
        })
    }

    /// The reason an attachment of `size` bytes is not stored, if it is not.
    pub(super) fn refusal(&self, size: usize) -> Option<String> {
        let limit = self.settings.max_attachment_bytes;
        (size as u64 > limit).then(|| {
            format!(
                "{} is over the {} limit per file",
                ByteSize(size as u64),
                ByteSize(limit)
            )
        })
    }
}

/// How much of a mail's text (or HTML) an article keeps. A ticket's page, its
/// notifications and its searches read the article: a 49 MB log pasted into a mail would
/// make each of them cost as much. Past it, the whole body is a file of the article.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The part of `text` an article keeps: its first [`MAX_BODY_BYTES`], on a character
/// boundary. A reply's new text is looked for there only: past it, the whole text is a
/// file of the article anyway.
pub(super) fn kept_part(text: &str) -> &str {
    &text[..text.floor_char_boundary(MAX_BODY_BYTES)]
}

/// Cuts `text` to its first [`MAX_BODY_BYTES`] (on a character boundary), marked as cut.
pub(super) fn cut_to_bounds(text: &mut String) {
    if text.len() > MAX_BODY_BYTES {
        text.truncate(text.floor_char_boundary(MAX_BODY_BYTES));
        text.push_str("\n\n[…]");
        text.shrink_to_fit();
    }
}

/// The author of what nobody usable signed.
fn unknown_sender() -> EmailAddress {
    EmailAddress::parse("mailer-daemon@invalid").expect("a valid literal")
}
