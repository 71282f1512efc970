//! What a customer does from a ticket's page, through the same ticket operations as a mail
//! and under the same rules: a comment (which tells the agents and the other parties, and
//! takes a ticket that waited for the customer back to the team), and the answer to a
//! proposed solution (approving closes, refusing reopens with the reason). Each first
//! checks that the visitor may see the ticket, and that the form came from our page.

use super::{PortalError, PortalService};

/// A file sent from the portal, as the browser named it. Its bytes are kept only up to
/// the size limit: a larger one is refused by its `size`, never held whole.
#[derive(Debug, Clone)]
pub struct PortalFile {
    pub name: Option<String>,
    pub bytes: Vec<u8>,
    /// Its whole size.
    pub size: u64,
}
use crate::domain::{
    EmailAddress, TicketNumber, TicketSummary, content_type_from_name, sanitize_filename,
};
use crate::pipeline::authorize::organisation_of;
use crate::service::{Acting, CommentInput, RefusedFile, TicketError, TicketService, Upload};
use crate::store::VisibleFilter;

impl PortalService {
    /// The token the forms of `session`'s pages carry.
    pub fn form_token(&self, session: &str) -> String {
        self.links.form_token(session)
    }

    /// Refuses a form that does not carry the token of the session that sent it.
    pub fn check_form(&self, session: &str, token: &str) -> Result<(), PortalError> {
        if self.links.form_token_matches(session, token) {
            Ok(())
        } else {
            Err(PortalError::Forged)
        }
    }

    /// `visitor` writes `body` on ticket `number`, with `files`. A file over the size limit
    /// is not kept but the message is, and the file is recorded with its reason (as for a
    /// mail): the files left out are returned, to say so on the page.
    pub async fn comment(
        &self,
        visitor: &EmailAddress,
        number: &str,
        body: &str,
        files: Vec<PortalFile>,
    ) -> Result<Vec<RefusedFile>, PortalError> {
        let number = self.visible(visitor, number).await?;
        if body.trim().is_empty() && files.is_empty() {
            return Err(PortalError::EmptyMessage);
        }
        let tickets = self.tickets();
        let mut input = CommentInput {
            body: body.trim_end().to_string(),
            ..CommentInput::default()
        };
        for file in files {
            let content_type = content_type_from_name(file.name.as_deref().unwrap_or(""));
            let filename = sanitize_filename(file.name.as_deref(), content_type);
            match tickets.size_refusal(file.size) {
                Some(reason) => input.refused.push(RefusedFile {
                    filename,
                    size: file.size,
                    reason,
                }),
                None => input.attachments.push(Upload {
                    filename,
                    content_type: content_type.to_string(),
                    bytes: file.bytes,
                }),
            }
        }
        let refused = input.refused.clone();
        tickets
            .comment_with(&number, &Acting::Customer(visitor.clone()), input)
            .await?;
        Ok(refused)
    }

    /// Ticket `number`, if a solution of it waits for `visitor`'s answer: what the
    /// confirmation page of a mail's approve or refuse link shows. Nothing changes.
    pub async fn awaiting_answer(
        &self,
        visitor: &EmailAddress,
        number: &str,
    ) -> Result<super::PortalTicket, PortalError> {
        let view = self.ticket(visitor, number).await?;
        if !visitor.same_mailbox(&view.ticket.requester) {
            return Err(PortalError::NotRequester);
        }
        if view.ticket.status != crate::domain::Status::Resolved {
            return Err(PortalError::NoSolutionPending(view.ticket.status));
        }
        Ok(view)
    }

    /// `visitor` approves the solution of ticket `number`: it closes.
    pub async fn approve(&self, visitor: &EmailAddress, number: &str) -> Result<(), PortalError> {
        let number = self.visible(visitor, number).await?;
        self.tickets()
            .approve(&number, &Acting::Customer(visitor.clone()))
            .await?;
        Ok(())
    }

    /// `visitor` refuses the solution of ticket `number`, saying why: it reopens.
    pub async fn refuse(
        &self,
        visitor: &EmailAddress,
        number: &str,
        reason: &str,
    ) -> Result<(), PortalError> {
        let number = self.visible(visitor, number).await?;
        if reason.trim().is_empty() {
            return Err(PortalError::EmptyMessage);
        }
        self.tickets()
            .refuse(
                &number,
                &Acting::Customer(visitor.clone()),
                reason.trim_end(),
            )
            .await?;
        Ok(())
    }

    /// A file of a public message of ticket `number`, as `visitor` may download it: its
    /// record and its bytes. A file of an internal note, a refused one or one of another
    /// ticket is "not found".
    pub async fn attachment(
        &self,
        visitor: &EmailAddress,
        number: &str,
        sha256: &str,
    ) -> Result<(crate::domain::Attachment, Vec<u8>), PortalError> {
        let view = self.ticket(visitor, number).await?;
        let record = view
            .articles
            .into_iter()
            .flat_map(|a| a.article.attachments)
            .find(|f| f.refused_reason.is_none() && f.sha256.as_deref() == Some(sha256))
            .ok_or(PortalError::NotFound)?;
        // Read from storage directly: the ticket service would load the ticket again.
        let bytes = self
            .files
            .attachment(sha256)
            .await
            .map_err(|e| PortalError::from(TicketError::from(e)))?;
        Ok((record, bytes))
    }

    /// A page of the tickets `visitor` may see: theirs, those they follow, and their
    /// organisation's unless private.
    pub async fn list(
        &self,
        visitor: &EmailAddress,
        filter: &VisibleFilter,
    ) -> Result<(Vec<TicketSummary>, bool), PortalError> {
        let organisation = organisation_of(visitor, &self.settings.public_domains);
        Ok(self
            .store
            .list_visible_tickets(visitor, organisation.as_deref(), filter)
            .await?)
    }

    /// The number of a ticket `visitor` may see; "not found" for any other.
    async fn visible(
        &self,
        visitor: &EmailAddress,
        number: &str,
    ) -> Result<TicketNumber, PortalError> {
        Ok(self.admitted(visitor, number).await?.number)
    }

    pub(super) fn tickets(&self) -> TicketService {
        TicketService::new(
            self.store.clone(),
            self.settings.clone(),
            self.clock.clone(),
        )
    }
}
