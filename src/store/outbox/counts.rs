//! What the loop governor counts: the mail sent to an address, or about a ticket, over
//! each of its limits' windows, each count one index range read once for all the windows;
//! for a group of notifications, those of all its addresses, or all its tickets, in one
//! read.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::domain::{EmailAddress, Event};
use crate::store::rows::{bind_each, list_placeholders, to_millis};
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
        let sql = format!(
            "SELECT COUNT(*) AS n FROM outbox WHERE lower(recipient) = $1 AND event = $2 \
             AND sent_at >= $3 AND {EMAIL_ONLY}",
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
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

impl Store {
    /// [`Store::sent_to_recipient_since_each`] for each of the addresses whose keys
    /// ([`EmailAddress::key`]) are `keys`, in one read: each key's counts, zero where
    /// nothing went.
    pub async fn sent_to_recipients_since_each(
        &self,
        keys: &[String],
        sinces: &[DateTime<Utc>],
    ) -> Result<HashMap<String, Vec<u32>>, StoreError> {
        let mut counts: HashMap<String, Vec<u32>> = keys
            .iter()
            .map(|key| (key.clone(), vec![0; sinces.len()]))
            .collect();
        if sinces.is_empty() || keys.is_empty() {
            return Ok(counts);
        }
        let sql = grouped_counts_sql("lower(recipient)", keys.len(), sinces.len());
        let query = bind_each(keys.iter().cloned(), sqlx::query(sqlx::AssertSqlSafe(sql)));
        let rows = bind_sinces(query, sinces)
            .fetch_all(&mut *self.conn().await?)
            .await
            .doing("counting the recent notifications of a group's recipients")?;
        for row in rows {
            let key: String = row.try_get("k").doing("counting notifications")?;
            counts.insert(key, read_counts(&row, sinces.len())?);
        }
        Ok(counts)
    }

    /// [`Store::sent_for_ticket_since_each`] for each of the tickets `ids`, in one read:
    /// each ticket's counts, zero where nothing went.
    pub async fn sent_for_tickets_since_each(
        &self,
        ids: &[i64],
        sinces: &[DateTime<Utc>],
    ) -> Result<HashMap<i64, Vec<u32>>, StoreError> {
        let mut counts: HashMap<i64, Vec<u32>> =
            ids.iter().map(|&id| (id, vec![0; sinces.len()])).collect();
        if sinces.is_empty() || ids.is_empty() {
            return Ok(counts);
        }
        let sql = grouped_counts_sql("ticket_id", ids.len(), sinces.len());
        let query = bind_each(ids.iter().copied(), sqlx::query(sqlx::AssertSqlSafe(sql)));
        let rows = bind_sinces(query, sinces)
            .fetch_all(&mut *self.conn().await?)
            .await
            .doing("counting the recent notifications of a group's tickets")?;
        for row in rows {
            let id: i64 = row.try_get("k").doing("counting notifications")?;
            counts.insert(id, read_counts(&row, sinces.len())?);
        }
        Ok(counts)
    }
}

/// Keeps the mail rows, in a form no index can serve. SQLite has no statistics of its
/// own: offered `channel = 'email'`, its planner judged the claim's index
/// (`outbox_claim`, which starts with the channel) better than ten or more addresses or
/// tickets in the index of what was sent to each, and read every mail row ever sent
/// instead of each key's last hours: 260–400 ms a group on 100,000 tickets, where the
/// portal's pages then waited for a core (BENCHMARKS.md, the portal). PostgreSQL plans
/// from its statistics and reads it as the same filter.
const EMAIL_ONLY: &str = "channel || '' = 'email'";

/// A count of the mail notifications sent since each of `windows` (at least one) times
/// (`$2`, `$3`…), among the rows `filter` (on `$1`) keeps: one index range, from the
/// earliest of them.
fn sent_counts_sql(filter: &str, windows: usize) -> String {
    format!(
        "SELECT {} FROM outbox WHERE {filter} AND sent_at >= ${} AND {EMAIL_ONLY}",
        window_counts(1, windows),
        windows + 2
    )
}

/// [`sent_counts_sql`] for `keys` values of `key` (`$1`…), each one's counts in a row of
/// its own with the value as `k`; the windows' times are bound after the keys. Each value
/// is one index range, as alone.
fn grouped_counts_sql(key: &str, keys: usize, windows: usize) -> String {
    format!(
        "SELECT {key} AS k, {} FROM outbox WHERE {key} IN ({}) AND sent_at >= ${} \
         AND {EMAIL_ONLY} GROUP BY {key}",
        window_counts(keys, windows),
        list_placeholders(keys, 0),
        keys + windows + 1
    )
}

/// `n0`, `n1`…: how many rows were sent since each of `windows` times, bound after the
/// first `after` parameters.
fn window_counts(after: usize, windows: usize) -> String {
    (0..windows)
        .map(|i| {
            format!(
                "COALESCE(SUM(CASE WHEN sent_at >= ${} THEN 1 ELSE 0 END), 0) AS n{i}",
                after + i + 1
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Binds each of `sinces`, then the earliest of them, after the filter's values.
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

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::{grouped_counts_sql, sent_counts_sql};
    use crate::store::Store;

    /// How SQLite plans `sql` on a fresh, migrated database (no statistics, as on every
    /// install until it is analysed): each step's detail, one per line.
    async fn sqlite_plan(sql: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plan.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
            .fetch_all(&mut *store.conn().await.unwrap())
            .await
            .unwrap();
        store.close().await;
        rows.iter()
            .map(|r| r.get::<String, _>("detail"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn a_group_counts_each_key_from_the_index_of_what_was_sent() {
        for keys in [1, 10, 64] {
            let plan = sqlite_plan(&grouped_counts_sql("lower(recipient)", keys, 3)).await;
            assert!(
                plan.contains("USING INDEX outbox_recipient_sent (<expr>=? AND sent_at>?)"),
                "{keys} recipients: {plan}"
            );
            let plan = sqlite_plan(&grouped_counts_sql("ticket_id", keys, 3)).await;
            assert!(
                plan.contains("USING INDEX outbox_ticket_sent (ticket_id=? AND sent_at>?)"),
                "{keys} tickets: {plan}"
            );
        }
        let plan = sqlite_plan(&sent_counts_sql("lower(recipient) = $1", 2)).await;
        assert!(plan.contains("outbox_recipient_sent"), "{plan}");
    }

    #[test]
    fn the_windows_are_numbered_after_what_they_filter() {
        let one = sent_counts_sql("ticket_id = $1", 2);
        assert!(one.contains("sent_at >= $2 THEN"), "{one}");
        assert!(one.contains("sent_at >= $3 THEN"), "{one}");
        assert!(one.contains("AND sent_at >= $4 AND"), "{one}");
        let many = grouped_counts_sql("ticket_id", 3, 2);
        assert!(many.contains("ticket_id IN ($1, $2, $3)"), "{many}");
        assert!(many.contains("sent_at >= $4 THEN"), "{many}");
        assert!(many.contains("sent_at >= $5 THEN"), "{many}");
        assert!(many.contains("AND sent_at >= $6 AND"), "{many}");
        assert!(many.ends_with("GROUP BY ticket_id"), "{many}");
    }
}
