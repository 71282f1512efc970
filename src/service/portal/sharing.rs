//! What the requester decides about their own ticket from the portal (seed 004): whether
//! their organisation sees it, who else follows it, and closing it when they need no
//! more help. Through the ticket service's own operations, as the customer; anyone else
//! who may see the ticket is refused.

use super::{PortalError, PortalService};
use crate::domain::{EmailAddress, TicketNumber};
use crate::service::{Acting, FieldEdits, TicketError};

impl PortalService {
    /// Keeps the requester's organisation off the ticket (`private`), or lets it in.
    pub async fn set_private(
        &self,
        visitor: &EmailAddress,
        number: &str,
        private: bool,
    ) -> Result<(), PortalError> {
        let number = self.requested_by(visitor, number).await?;
        let edits = FieldEdits {
            private: Some(private),
            ..FieldEdits::default()
        };
        self.tickets()
            .set_fields(&number, &edits, &Acting::Customer(visitor.clone()))
            .await?;
        Ok(())
    }

    /// Adds `address` (as typed) to the people who follow the ticket.
    pub async fn add_observer(
        &self,
        visitor: &EmailAddress,
        number: &str,
        address: &str,
    ) -> Result<(), PortalError> {
        let number = self.requested_by(visitor, number).await?;
        let observer = EmailAddress::parse(address.trim()).map_err(|_| PortalError::BadAddress)?;
        match self
            .tickets()
            .add_observer(&number, &observer, &Acting::Customer(visitor.clone()))
            .await
        {
            Ok(_) => Ok(()),
            Err(TicketError::AlreadyObserver { .. } | TicketError::RequesterAsObserver { .. }) => {
                Err(PortalError::AlreadyFollows)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Closes the ticket: the requester needs no more help.
    pub async fn close(&self, visitor: &EmailAddress, number: &str) -> Result<(), PortalError> {
        let number = self.requested_by(visitor, number).await?;
        self.tickets()
            .close(&number, &Acting::Customer(visitor.clone()))
            .await?;
        Ok(())
    }

    /// The number of ticket `number` if `visitor` requested it; "not found" when they may
    /// not see it, "not the requester" when they see it as someone else.
    async fn requested_by(
        &self,
        visitor: &EmailAddress,
        number: &str,
    ) -> Result<TicketNumber, PortalError> {
        let ticket = self.admitted(visitor, number).await?;
        if !visitor.same_mailbox(&ticket.requester) {
            return Err(PortalError::NotRequester);
        }
        Ok(ticket.number)
    }
}
