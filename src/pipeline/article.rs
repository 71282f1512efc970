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
            body_text: std::mem::take(&mut mail.text),
            body_html: mail.html.take(),
            body_original: None,
            message_id: mail.message_id.clone(),
            raw_ref: Some(raw_ref),
            note: (!refused.is_empty())
                .then(|| format!("Files not stored: {}.", refused.join("; "))),
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

/// The author of what nobody usable signed.
fn unknown_sender() -> EmailAddress {
    EmailAddress::parse("mailer-daemon@invalid").expect("a valid literal")
}
