//! What the loop governor counts: the mail sent to an address, or about a ticket, over
//! each of its limits' windows, each count one index range read once for all the windows.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::domain::{EmailAddress, Event};
use crate::store::rows::to_millis;
use crate::store::{Doing, Store, StoreError};

impl Store {
    /// How many notifications went to `recipient` since `since`: what a per-recipient
    /// limit counts.
    pub async fn sent_to_recipient_since(
        &self,
        recipient: &EmailAddress,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let counts = self
            .sent_to_recipient_since_each(recipient, &[since])
            .await?;
        Ok(counts[0])
    }

    /// How many notifications went to `recipient` since each of `sinces`, in one read:
    /// what the per-recipient limits count, each over its window.
    pub async fn sent_to_recipient_since_each(
        &self,
        recipient: &EmailAddress,
        sinces: &[DateTime<Utc>],
    ) -> Result<Vec<u32>, StoreError> {
        // The address's key, as EmailAddress::key folds it (ASCII letters only): lower()
        // folds the same on SQLite and, the column being byte-ordered, on PostgreSQL.
        if sinces.is_empty() {
            return Ok(Vec::new());
        }
        let sql = sent_counts_sql("lower(recipient) = $1", sinces.len());
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(recipient.key());
        let row = bind_sinces(query, sinces)
            .fetch_one(&mut *self.conn().await?)
            .await
            .doing("counting a recipient's recent notifications")?;
        read_counts(&row, sinces.len())
    }

    /// How many mails of `event` went to `recipient` since `since`.
    pub async fn sent_of_event_since(
        &self,
        recipient: &EmailAddress,
        event: Event,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM outbox WHERE lower(recipient) = $1 AND event = $2 \
             AND sent_at >= $3 AND channel = 'email'",
        )
        .bind(recipient.key())
        .bind(event.as_str())
        .bind(to_millis(since))
        .fetch_one(&mut *self.conn().await?)
        .await
        .doing("counting a recipient's recent mails of one kind")?;
        let n: i64 = row.try_get("n").doing("counting notifications")?;
        Ok(n.max(0) as u32)
    }

    /// How many notifications a ticket caused since each of `sinces`, in one read: what
    /// the per-ticket limits count, each over its window.
    pub async fn sent_for_ticket_since_each(
        &self,
        ticket_id: i64,
        sinces: &[DateTime<Utc>],
    ) -> Result<Vec<u32>, StoreError> {
        if sinces.is_empty() {
            return Ok(Vec::new());
        }
        let sql = sent_counts_sql("ticket_id = $1", sinces.len());
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ticket_id);
        let row = bind_sinces(query, sinces)
            .fetch_one(&mut *self.conn().await?)
            .await
            .doing("counting a ticket's recent notifications")?;
        read_counts(&row, sinces.len())
    }
}

/// A count of the mail notifications sent since each of `windows` (at least one) times
/// (`$2`, `$3`…), among the rows `filter` (on `$1`) keeps: one index range, from the
/// earliest of them.
fn sent_counts_sql(filter: &str, windows: usize) -> String {
    let counts: Vec<String> = (0..windows)
        .map(|i| {
            format!(
                "COALESCE(SUM(CASE WHEN sent_at >= ${} THEN 1 ELSE 0 END), 0) AS n{i}",
                i + 2
            )
        })
        .collect();
    format!(
        "SELECT {} FROM outbox WHERE {filter} AND sent_at >= ${} AND channel = 'email'",
        counts.join(", "),
        windows + 2
    )
}

/// Binds each of `sinces`, then the earliest of them, after the filter's value.
fn bind_sinces<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    sinces: &[DateTime<Utc>],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for since in sinces {
        query = query.bind(to_millis(*since));
    }
    query.bind(
        sinces
            .iter()
            .copied()
            .map(to_millis)
            .min()
            .unwrap_or(i64::MAX),
    )
}

/// The counts `n0`, `n1`… of a row of [`sent_counts_sql`].
fn read_counts(row: &sqlx::any::AnyRow, windows: usize) -> Result<Vec<u32>, StoreError> {
    (0..windows)
        .map(|i| {
            let n: i64 = row
                .try_get(format!("n{i}").as_str())
                .doing("counting notifications")?;
            Ok(n.max(0) as u32)
        })
        .collect()
}
