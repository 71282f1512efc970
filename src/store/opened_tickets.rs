//! Tickets opened by hand rather than by a mail: an agent taking a customer's call, through
//! the API. The ticket, its first article and its notifications are one transaction, as
//! for a mail, but there is no message to record: nothing arrived that could arrive twice.

use chrono::{DateTime, Utc};
use sqlx::Connection;

use super::articles::insert_article;
use super::rows::to_millis;
use super::tickets::insert_ticket;
use super::{Doing, Store, StoreError};
use crate::domain::{NewArticle, NewTicket, Notification, TicketNumber};

/// Everything opening a ticket by hand writes.
#[derive(Debug, Clone)]
pub struct HandOpening {
    pub ticket: NewTicket,
    /// The first article: what the customer asked for.
    pub article: NewArticle,
    pub notifications: Vec<Notification>,
    pub at: DateTime<Utc>,
}

impl Store {
    /// Opens the ticket with its first article and queues its notifications; its number.
    pub async fn open_ticket(&self, opening: &HandOpening) -> Result<TicketNumber, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.doing("starting a transaction")?;
        let at = to_millis(opening.at);
        let (ticket_id, number) = insert_ticket(
            &mut tx,
            self.numbers.as_deref(),
            &opening.ticket,
            opening.at,
        )
        .await?;
        let article_id = insert_article(&mut tx, ticket_id, &opening.article, at).await?;
        super::outbox::queue_events(
            &mut tx,
            &self.webhooks,
            ticket_id,
            Some(article_id),
            &opening.notifications,
            at,
        )
        .await?;
        tx.commit().await.doing("committing the new ticket")?;
        Ok(number)
    }
}
