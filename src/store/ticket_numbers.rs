//! Ticket numbers: the month's counter row, incremented for each new ticket.
//!
//! On SQLite, one writer at a time, the counter is incremented inside the ticket's own
//! transaction, and a transaction that fails leaves no gap. On PostgreSQL, several
//! instances write at once, and that row's lock was held until each one's batch of mails
//! committed: the instances' batches went one at a time, each waiting for the lock
//! (BENCHMARKS.md, PostgreSQL with three instances). There each number is taken in a
//! transaction of its own, on a connection of its own, committed at once. A ticket whose
//! transaction then fails leaves a gap in the month's numbers, which nothing relies upon;
//! numbers stay unique, and a ticket committed later may hold a smaller one.
//!
//! That commit does not wait for the disk (`synchronous_commit = off` on those connections
//! only): a ticket that holds the number commits after it, waiting for the log to be on
//! disk up to its own commit, past the counter's. A number lost in a crash was never given
//! to a committed ticket.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor, Row};

use super::{Doing, StoreError};
use crate::domain::TicketNumber;

/// The connections PostgreSQL's numbers are taken on: two at most, opened when first
/// needed, apart from the store's pool so that a batch holding one of the pool's never
/// waits for another of them.
pub(super) fn numbers_pool(options: &AnyConnectOptions) -> AnyPool {
    AnyPoolOptions::new()
        .max_connections(2)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(15))
        .test_before_acquire(true)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("SET synchronous_commit = off").await?;
                Ok(())
            })
        })
        .connect_lazy_with(options.clone())
}

/// Takes the next number of `at`'s month: on `numbers` committed at once when there are
/// (PostgreSQL), else inside `tx`, the ticket's own transaction.
pub(super) async fn next_number(
    tx: &mut AnyConnection,
    numbers: Option<&AnyPool>,
    at: DateTime<Utc>,
) -> Result<TicketNumber, StoreError> {
    const NEXT: &str = "INSERT INTO ticket_counters (period, last_value) VALUES ($1, 1) \
         ON CONFLICT (period) DO UPDATE SET last_value = ticket_counters.last_value + 1 \
         RETURNING last_value";
    let period = TicketNumber::period(at);
    let query = sqlx::query(NEXT).bind(period);
    let row = match numbers {
        Some(pool) => query.fetch_one(pool).await,
        None => query.fetch_one(&mut *tx).await,
    }
    .doing("allocating a ticket number")?;
    let counter: i64 = row
        .try_get("last_value")
        .doing("reading the ticket counter")?;
    Ok(TicketNumber::new(at, counter.max(1) as u64))
}
