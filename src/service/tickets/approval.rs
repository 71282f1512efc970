//! The requester's answer to a proposed solution, as the signed links of the resolution
//! mail give it (a mail's answer goes through the pipeline, which reads the same status
//! machine): approving closes the ticket, refusing reopens it with the reason.

use super::{Acting, Done, TicketError, TicketService};
use crate::domain::{Direction, Event, Status, TicketNumber, Visibility};

impl TicketService {
    /// The requester approves the solution of resolved ticket `number`: it closes.
    #[tracing::instrument(name = "ticket", skip_all, fields(number = %number))]
    pub async fn approve(
        &self,
        number: &TicketNumber,
        acting: &Acting,
    ) -> Result<Done, TicketError> {
        let ticket = self.awaiting_answer(number, acting).await?;
        let event = ticket.status.move_to(Status::Closed)?;
        let note = format!("{} approved the solution.", acting.describe());
        self.moved(&ticket, Status::Closed, event, acting, note)
            .await
    }

    /// The requester refuses the solution of resolved ticket `number`, saying why: it
    /// reopens, with the reason as their comment.
    #[tracing::instrument(name = "ticket", skip_all, fields(number = %number))]
    pub async fn refuse(
        &self,
        number: &TicketNumber,
        acting: &Acting,
        reason: &str,
    ) -> Result<Done, TicketError> {
        let ticket = self.awaiting_answer(number, acting).await?;
        let event = ticket.status.move_to(Status::InProgress)?;
        debug_assert_eq!(event, Event::TicketReopened);
        let mut article = self.article(
            &ticket,
            acting,
            Direction::Inbound,
            Visibility::Public,
            reason,
        );
        article.note = Some("The requester refused the solution: reopened.".into());
        self.moved_with(&ticket, Status::InProgress, event, acting, article)
            .await
    }

    /// The ticket, if it waits for an answer that `acting` may give: only its requester
    /// answers a proposed solution.
    async fn awaiting_answer(
        &self,
        number: &TicketNumber,
        acting: &Acting,
    ) -> Result<crate::domain::Ticket, TicketError> {
        let ticket = self.ticket(number).await?;
        match acting {
            Acting::Customer(who) if who.same_mailbox(&ticket.requester) => {}
            _ => return Err(TicketError::NotRequester(number.clone())),
        }
        if ticket.status != Status::Resolved {
            return Err(TicketError::NoSolutionPending(
                number.clone(),
                ticket.status,
            ));
        }
        Ok(ticket)
    }
}
