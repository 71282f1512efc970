//! Comments on a ticket, by an agent or a customer, with their files: every file is
//! checked against the size limit before anything is written, then stored
//! (content-addressed) before the transaction that records the comment.

use std::io::Read;
use std::path::Path;

use super::{Acting, Done, TicketError, TicketService};
use crate::domain::{
    Attachment, ByteSize, Direction, Event, EventContext, TicketNumber, Visibility,
    content_type_from_name, sanitize_filename,
};

/// A file to attach to a comment, named and typed as it will be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The name it is stored and shown under, already sanitized.
    pub filename: String,
    /// Guessed from the name: a file on disk carries no type.
    pub content_type: String,
    /// The content, within `max_attachment_bytes`.
    pub bytes: Vec<u8>,
}

/// What an agent writes on a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommentInput {
    /// The text of the comment.
    pub body: String,
    /// Seen by agents only; tells nobody.
    pub internal: bool,
    /// Files stored with the comment; each within `max_attachment_bytes`.
    pub attachments: Vec<Upload>,
    /// Files sent with it that are not stored (too large): recorded on the article with
    /// their reason, as for a mail, so the writer and the agents see what was left out.
    pub refused: Vec<RefusedFile>,
}

/// A file that came with a comment and was not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedFile {
    /// Sanitized, as an accepted file's name.
    pub filename: String,
    pub size: u64,
    pub reason: String,
}

impl TicketService {
    /// An agent's comment; an internal one is seen by agents only and tells nobody. With
    /// files: [`TicketService::comment_with`].
    pub async fn comment(
        &self,
        number: &TicketNumber,
        acting: &Acting,
        body: &str,
        internal: bool,
    ) -> Result<Done, TicketError> {
        let input = CommentInput {
            body: body.to_string(),
            internal,
            ..CommentInput::default()
        };
        self.comment_with(number, acting, input).await
    }

    /// Reads the file at `path` to attach it. A file over `max_attachment_bytes` is refused
    /// before it is read whole, so that nothing about a comment is written when one of its
    /// files cannot go with it. The name is sanitized and the type guessed from it.
    pub fn read_attachment(&self, path: &Path) -> Result<Upload, TicketError> {
        let shown = path.display().to_string();
        let unreadable = |cause| TicketError::AttachmentUnreadable {
            path: shown.clone(),
            cause,
        };
        let size = std::fs::metadata(path).map_err(unreadable)?.len();
        self.check_size(&shown, size)?;
        let limit = self.settings.max_attachment_bytes;
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
            .map_err(unreadable)?;
        // The file may have grown since its size was read.
        self.check_size(&shown, bytes.len() as u64)?;
        let name = path.file_name().map(|n| n.to_string_lossy());
        let content_type = content_type_from_name(name.as_deref().unwrap_or(""));
        Ok(Upload {
            filename: sanitize_filename(name.as_deref(), content_type),
            content_type: content_type.to_string(),
            bytes,
        })
    }

    /// An agent's comment with its files: they are checked against the size limit, then
    /// stored (content-addressed) and recorded on the article; an internal comment tells
    /// nobody.
    #[tracing::instrument(name = "ticket", skip_all, fields(number = %number))]
    pub async fn comment_with(
        &self,
        number: &TicketNumber,
        acting: &Acting,
        input: CommentInput,
    ) -> Result<Done, TicketError> {
        for upload in &input.attachments {
            self.check_size(&upload.filename, upload.bytes.len() as u64)?;
        }
        let ticket = self.open_ticket(number).await?;
        let visibility = if input.internal {
            Visibility::Internal
        } else {
            Visibility::Public
        };
        let (direction, event) = match acting {
            Acting::Customer(_) => (Direction::Inbound, Event::CustomerComment),
            _ => (Direction::Outbound, Event::AgentComment),
        };
        let mut article = self.article(&ticket, acting, direction, visibility, &input.body);
        article.attachments = self.store_files(&input.attachments).await?;
        article
            .attachments
            .extend(input.refused.iter().map(|f| Attachment {
                filename: f.filename.clone(),
                content_type: content_type_from_name(&f.filename).to_string(),
                size: f.size,
                sha256: None,
                content_id: None,
                inline: false,
                refused_reason: Some(f.reason.clone()),
            }));
        let notifications = if input.internal {
            Vec::new()
        } else {
            self.audience_notifications(&ticket, event, acting, &EventContext::default())
        };
        let new_status = matches!(acting, Acting::Customer(_))
            .then(|| ticket.status.after_customer_comment())
            .filter(|s| *s != ticket.status);
        self.commit(&ticket, new_status, Some(article), notifications)
            .await
    }

    /// The size limit of one file (`max_attachment_bytes`), for front ends that receive
    /// files to stop reading one as soon as it is over.
    pub fn max_attachment_bytes(&self) -> u64 {
        self.settings.max_attachment_bytes
    }

    /// Why a file of `size` bytes is not kept, if it is not: the words a mail's refused
    /// file gets.
    pub fn size_refusal(&self, size: u64) -> Option<String> {
        let limit = self.settings.max_attachment_bytes;
        (size > limit).then(|| {
            format!(
                "{} is over the {} limit per file",
                ByteSize(size),
                ByteSize(limit)
            )
        })
    }

    fn check_size(&self, name: &str, size: u64) -> Result<(), TicketError> {
        let limit = self.settings.max_attachment_bytes;
        if size > limit {
            return Err(TicketError::AttachmentTooLarge {
                path: name.to_string(),
                size: ByteSize(size).to_string(),
                limit: ByteSize(limit).to_string(),
            });
        }
        Ok(())
    }

    /// Stores the files (before the transaction, as the pipeline does: stored bytes whose
    /// transaction fails are harmless) and describes them.
    async fn store_files(&self, uploads: &[Upload]) -> Result<Vec<Attachment>, TicketError> {
        let mut stored = Vec::with_capacity(uploads.len());
        let now = self.clock.now();
        for u in uploads {
            stored.push(Attachment {
                filename: u.filename.clone(),
                content_type: u.content_type.clone(),
                size: u.bytes.len() as u64,
                sha256: Some(self.files.put_attachment(&u.bytes, now).await?),
                content_id: None,
                inline: false,
                refused_reason: None,
            });
        }
        Ok(stored)
    }
}
