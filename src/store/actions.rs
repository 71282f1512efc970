//! Writing an operation on an existing ticket (a status move, an agent's comment), with its
//! article and notifications, in one transaction that only applies if the ticket is still
//! in the status the operation was decided on.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::inbound::{NewArticle, insert_article, insert_observer};
use super::{Doing, Store, StoreError, to_millis};
use crate::domain::{EmailAddress, Notification, Status};

/// One operation on a ticket.
#[derive(Debug, Clone)]
pub struct TicketAction {
    pub ticket_id: i64,
    /// The status the operation was decided on: if another writer moved the ticket
    /// meanwhile, nothing is written.
    pub expected_status: Status,
    /// The status to move to, if any.
    pub new_status: Option<Status>,
    pub article: Option<NewArticle>,
    pub add_observers: Vec<EmailAddress>,
    pub notifications: Vec<Notification>,
    pub at: DateTime<Utc>,
}

/// What committing an action did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionCommitted {
    /// Written; the id of its article, if it had one.
    Done { article_id: Option<i64> },
    /// The ticket was no longer in the expected status: nothing written.
    Stale,
}

/// Moves ticket `ticket_id` to `new_status` (or only touches it) if it is still in
/// `expected`; its number, or `None` when another writer moved it first. The one place that
/// keeps the status's dates: `resolved_at` dates the current proposal (auto-close counts
/// from it), `closed_at` the current closing (the reopen window counts from it), and
/// `status_since` when the ticket entered its status (reminders count from it). A reopen
/// clears the first two.
pub(super) async fn update_status(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    ticket_id: i64,
    expected: Status,
    new_status: Option<Status>,
    at: i64,
) -> Result<Option<crate::domain::TicketNumber>, StoreError> {
    let status = new_status.unwrap_or(expected);
    let row = sqlx::query(
        "UPDATE tickets SET status = $1, updated_at = $2, \
         resolved_at = CASE WHEN $1 = 'resolved' AND status <> 'resolved' THEN $2 \
                            WHEN $1 IN ('resolved', 'closed') THEN resolved_at ELSE NULL END, \
         closed_at = CASE WHEN $1 = 'closed' AND status <> 'closed' THEN $2 \
                          WHEN $1 = 'closed' THEN closed_at ELSE NULL END, \
         status_since = CASE WHEN $1 <> status THEN $2 ELSE status_since END \
         WHERE id = $3 AND status = $4 RETURNING number",
    )
    .bind(status.as_str())
    .bind(at)
    .bind(ticket_id)
    .bind(expected.as_str())
    .fetch_optional(&mut **tx)
    .await
    .doing("updating a ticket")?;
    row.map(|r| {
        let n: String = r.try_get("number").doing("reading a ticket number")?;
        super::parse_stored("number", &n)
    })
    .transpose()
}

impl Store {
    /// Commits `action`, or nothing when the ticket moved since it was read.
    pub async fn commit_action(
        &self,
        action: &TicketAction,
    ) -> Result<ActionCommitted, StoreError> {
        let mut tx = self.pool.begin().await.doing("starting a transaction")?;
        let at = to_millis(action.at);
        let updated = update_status(
            &mut tx,
            action.ticket_id,
            action.expected_status,
            action.new_status,
            at,
        )
        .await?;
        if updated.is_none() {
            tx.rollback().await.doing("rolling back a stale action")?;
            return Ok(ActionCommitted::Stale);
        }
        let article_id = match &action.article {
            Some(article) => Some(insert_article(&mut tx, action.ticket_id, article, at).await?),
            None => None,
        };
        for observer in &action.add_observers {
            insert_observer(&mut tx, action.ticket_id, observer, at).await?;
        }
        super::outbox::queue_notifications(
            &mut tx,
            action.ticket_id,
            article_id,
            &action.notifications,
            at,
        )
        .await?;
        tx.commit().await.doing("committing a ticket action")?;
        Ok(ActionCommitted::Done { article_id })
    }
}
