//! Updates of an existing ticket (a status move, an agent's comment, an assignment,
//! observers, hand-set fields), each with its article and notifications, in one
//! transaction that only applies if the ticket is still as the operation read it.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use super::articles::insert_article;
use super::rows::{storable_opt, to_millis};
use super::tickets::{insert_observer, update_status};
use super::{Doing, Store, StoreError};
use crate::domain::{EmailAddress, NewArticle, Notification, Status, TicketFields};

/// One operation on a ticket.
#[derive(Debug, Clone)]
pub struct TicketAction {
    pub ticket_id: i64,
    /// The status the operation was decided on: if another writer moved the ticket
    /// meanwhile, nothing is written.
    pub expected_status: Status,
    /// The status to move to, if any.
    pub new_status: Option<Status>,
    /// A new assignee (the stored address), with the one the operation was decided on: if
    /// another writer assigned the ticket meanwhile, nothing is written.
    pub assignee: Option<Change<Option<String>>>,
    /// New values of the fields agents set by hand, with the ones the operation was decided
    /// on: if any of them changed meanwhile, nothing is written (the priority derived from
    /// them would be wrong).
    pub fields: Option<Change<TicketFields>>,
    pub article: Option<NewArticle>,
    /// People to add as observers; each must be new to the ticket, else nothing is written
    /// (someone added them meanwhile).
    pub add_observers: Vec<EmailAddress>,
    /// Observers to remove; each must still be one, else nothing is written.
    pub remove_observers: Vec<EmailAddress>,
    pub notifications: Vec<Notification>,
    pub at: DateTime<Utc>,
}

impl TicketAction {
    /// An action on the ticket `ticket_id`, read in `expected_status`, that changes nothing
    /// yet: the caller fills in what it does.
    pub fn new(ticket_id: i64, expected_status: Status, at: DateTime<Utc>) -> Self {
        Self {
            ticket_id,
            expected_status,
            new_status: None,
            assignee: None,
            fields: None,
            article: None,
            add_observers: Vec::new(),
            remove_observers: Vec::new(),
            notifications: Vec::new(),
            at,
        }
    }
}

/// A value as the operation read it, and what it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<T> {
    /// The value the operation was decided on: the write applies only if it still is.
    pub from: T,
    /// The value to write.
    pub to: T,
}

/// What committing an action did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionCommitted {
    /// Written; the id of its article, if it had one.
    Done { article_id: Option<i64> },
    /// The ticket was no longer as the action read it: nothing written.
    Stale,
}

impl Store {
    /// Commits `action`, or nothing when the ticket changed since it was read (its status,
    /// or what the action changes).
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
        let still_as_read = updated.is_some() && apply_changes(&mut tx, action, at).await?;
        if !still_as_read {
            tx.rollback().await.doing("rolling back a stale action")?;
            return Ok(ActionCommitted::Stale);
        }
        let article_id = match &action.article {
            Some(article) => Some(insert_article(&mut tx, action.ticket_id, article, at).await?),
            None => None,
        };
        super::outbox::queue_events(
            &mut tx,
            &self.webhooks,
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

/// Writes the assignee, fields and observers of `action`; `false` when one of them was no
/// longer as the action read it (the caller rolls back).
async fn apply_changes(
    tx: &mut AnyConnection,
    action: &TicketAction,
    at: i64,
) -> Result<bool, StoreError> {
    if let Some(change) = &action.assignee {
        let updated = sqlx::query(
            "UPDATE tickets SET assignee = $1 \
             WHERE id = $2 AND COALESCE(assignee, '') = COALESCE($3, '')",
        )
        .bind(change.to.clone())
        .bind(action.ticket_id)
        .bind(change.from.clone())
        .execute(&mut *tx)
        .await
        .doing("assigning a ticket")?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
    }
    if let Some(fields) = &action.fields
        && !update_fields(tx, action.ticket_id, fields).await?
    {
        return Ok(false);
    }
    for observer in &action.add_observers {
        if !insert_observer(tx, action.ticket_id, observer, None, at).await? {
            return Ok(false);
        }
    }
    for observer in &action.remove_observers {
        if !delete_observer(tx, action.ticket_id, observer).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Writes the hand-set fields of `change` (and the priority they give) on ticket
/// `ticket_id`; `false` when they were no longer `change.from`.
pub(super) async fn update_fields(
    tx: &mut AnyConnection,
    ticket_id: i64,
    change: &Change<TicketFields>,
) -> Result<bool, StoreError> {
    let Change { from, to } = change;
    let updated = sqlx::query(
        "UPDATE tickets SET ticket_type = $1, category = $2, impact = $3, urgency = $4, \
         priority = $5, private = $6 \
         WHERE id = $7 AND ticket_type = $8 AND COALESCE(category, '') = COALESCE($9, '') \
         AND impact = $10 AND urgency = $11 AND private = $12",
    )
    .bind(to.ticket_type.as_str())
    .bind(storable_opt(to.category.as_deref()))
    .bind(to.impact.as_str())
    .bind(to.urgency.as_str())
    .bind(to.priority().as_str())
    .bind(i64::from(to.private))
    .bind(ticket_id)
    .bind(from.ticket_type.as_str())
    .bind(storable_opt(from.category.as_deref()))
    .bind(from.impact.as_str())
    .bind(from.urgency.as_str())
    .bind(i64::from(from.private))
    .execute(&mut *tx)
    .await
    .doing("changing a ticket's fields")?;
    Ok(updated.rows_affected() > 0)
}

/// Removes `observer` from ticket `ticket_id`; `false` when they were not one.
pub(super) async fn delete_observer(
    tx: &mut AnyConnection,
    ticket_id: i64,
    observer: &EmailAddress,
) -> Result<bool, StoreError> {
    let removed = sqlx::query("DELETE FROM observers WHERE ticket_id = $1 AND email = $2")
        .bind(ticket_id)
        .bind(observer.key())
        .execute(&mut *tx)
        .await
        .doing("removing an observer")?;
    Ok(removed.rows_affected() > 0)
}
