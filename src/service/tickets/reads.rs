//! Reading tickets: a page of the most recently updated, and one ticket with its history.

use super::{TicketError, TicketService};
use crate::domain::{Status, TicketDetails, TicketNumber, TicketSummary};

/// A page of tickets, most recently updated first.
#[derive(Debug, Clone)]
pub struct TicketPage {
    pub tickets: Vec<TicketSummary>,
    /// Whether more tickets match than the page holds.
    pub more: bool,
}

impl TicketService {
    /// The `limit` most recently updated tickets (all of them with `None`), of one status
    /// when given. A page costs the same on a million tickets as on a hundred.
    pub async fn list(
        &self,
        status: Option<Status>,
        limit: Option<u32>,
    ) -> Result<TicketPage, TicketError> {
        let (tickets, more) = self.store.list_tickets_page(status, limit).await?;
        Ok(TicketPage { tickets, more })
    }

    /// Open tickets whose last public word is the customer's: the team owes them an
    /// answer. Most recently updated first, `limit` of them (all with `None`).
    pub async fn list_waiting_on_us(&self, limit: Option<u32>) -> Result<TicketPage, TicketError> {
        let (tickets, more) = self.store.list_waiting_on_us(limit).await?;
        Ok(TicketPage { tickets, more })
    }

    /// A page of the tickets `query` asks for, and where the next one starts.
    pub async fn search(
        &self,
        query: &crate::store::TicketQuery,
    ) -> Result<(Vec<TicketSummary>, Option<(i64, i64)>), TicketError> {
        Ok(self.store.query_tickets(query).await?)
    }

    /// Ticket `number` with every article and attachment, oldest article first.
    pub async fn show(&self, number: &TicketNumber) -> Result<TicketDetails, TicketError> {
        self.store
            .ticket_details(number)
            .await?
            .ok_or_else(|| TicketError::NoTicket(number.clone()))
    }
}
