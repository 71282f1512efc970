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

impl Store {
    /// Commits `action`, or nothing when the ticket moved since it was read.
    pub async fn commit_action(
        &self,
        action: &TicketAction,
    ) -> Result<ActionCommitted, StoreError> {
        let mut tx = self.pool.begin().await.doing("starting a transaction")?;
        let at = to_millis(action.at);
        let status = action.new_status.unwrap_or(action.expected_status);
        // resolved_at dates the current proposal (auto-close counts from it); closed_at the
        // current closing. A reopen clears both.
        let updated = sqlx::query(
            "UPDATE tickets SET status = $1, updated_at = $2, \
             resolved_at = CASE WHEN $1 = 'resolved' AND status <> 'resolved' THEN $2 \
                                WHEN $1 IN ('resolved', 'closed') THEN resolved_at ELSE NULL END, \
             closed_at = CASE WHEN $1 = 'closed' AND status <> 'closed' THEN $2 \
                              WHEN $1 = 'closed' THEN closed_at ELSE NULL END \
             WHERE id = $3 AND status = $4",
        )
        .bind(status.as_str())
        .bind(at)
        .bind(action.ticket_id)
        .bind(action.expected_status.as_str())
        .execute(&mut *tx)
        .await
        .doing("updating a ticket")?;
        if updated.rows_affected() == 0 {
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

    /// Resolved tickets whose solution has waited since before `resolved_before`: what
    /// the auto-close closes, oldest first.
    pub async fn resolved_before(
        &self,
        resolved_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<crate::domain::TicketNumber>, StoreError> {
        let rows = sqlx::query(
            "SELECT number FROM tickets WHERE status = 'resolved' AND resolved_at < $1 \
             ORDER BY resolved_at LIMIT $2",
        )
        .bind(to_millis(resolved_before))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .doing("listing tickets due for auto-close")?;
        rows.iter()
            .map(|r| {
                let n: String = r.try_get("number").doing("reading a ticket number")?;
                super::parse_stored("number", &n)
            })
            .collect()
    }
}
