//! Reading back what a ticket keeps: an attachment's content and an article's raw mail,
//! from whichever storage holds them. Each is looked up through the ticket, so a digest or
//! an article id taken from another ticket gives nothing.

use super::{TicketError, TicketService};
use crate::domain::{Attachment, TicketNumber};

impl TicketService {
    /// The attachment of ticket `number` whose SHA-256 is `sha256` (as `tickets show`
    /// prints it), with its content.
    pub async fn attachment_content(
        &self,
        number: &TicketNumber,
        sha256: &str,
    ) -> Result<(Attachment, Vec<u8>), TicketError> {
        let details = self.show(number).await?;
        let wanted = sha256.trim().to_ascii_lowercase();
        let record = details
            .articles
            .into_iter()
            .flat_map(|a| a.attachments)
            .find(|f| f.sha256.as_deref() == Some(wanted.as_str()))
            .ok_or_else(|| TicketError::NoAttachment {
                ticket: number.clone(),
                sha256: sha256.to_string(),
            })?;
        let bytes = self.files.attachment(&wanted).await?;
        Ok((record, bytes))
    }

    /// The raw mail of article `article` of ticket `number`, byte for byte as received.
    pub async fn raw_mail(
        &self,
        number: &TicketNumber,
        article: i64,
    ) -> Result<Vec<u8>, TicketError> {
        let details = self.show(number).await?;
        let no_raw = || TicketError::NoRawMail {
            ticket: number.clone(),
            article,
        };
        let found = details
            .articles
            .iter()
            .find(|a| a.id == article)
            .ok_or_else(no_raw)?;
        let raw_ref = found.raw_ref.as_deref().ok_or_else(no_raw)?;
        Ok(self.files.raw(raw_ref).await?)
    }
}
