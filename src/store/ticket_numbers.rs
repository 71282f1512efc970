//! Ticket numbers: the month's counter row, incremented for each new ticket.
//!
//! On SQLite, one writer at a time, the counter is incremented inside the ticket's own
//! transaction, and a transaction that fails leaves no gap. On PostgreSQL, several
//! instances write at once, and that row's lock was held until each one's batch of mails
//! committed: the instances' batches went one at a time, each waiting for the lock
//! (BENCHMARKS.md, PostgreSQL with three instances). There numbers are taken in a
//! transaction of their own, on a connection of their own, committed at once. A ticket
//! whose transaction then fails leaves a gap in the month's numbers, which nothing relies
//! upon; numbers stay unique, and a ticket committed later may hold a smaller one.
//!
//! While tickets open in quick succession (a backlog of mail), a PostgreSQL instance takes
//! its numbers in blocks ([`NumberSource`]): one counter update for several tickets instead
//! of a transaction of its own for each. A quiet instance takes them one at a time, so a
//! team that opens a ticket now and then sees no gap and no numbers out of order.
//!
//! That commit does not wait for the disk (`synchronous_commit = off` on those connections
//! only): a ticket that holds the number commits after it, waiting for the log to be on
//! disk up to its own commit, past the counter's. A number lost in a crash was never given
//! to a committed ticket.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor, Row};

use super::{Doing, StoreError};
use crate::domain::TicketNumber;

/// The most numbers a block holds: what an instance that stops may leave unused, at worst.
const LARGEST_BLOCK: u64 = 32;

/// A block used up within this time of being taken was too small: the next is twice as
/// large. One that lasted longer than [`QUIET`] was too large: the next holds one number.
const BUSY: Duration = Duration::from_secs(1);
const QUIET: Duration = Duration::from_secs(10);

/// PostgreSQL's source of ticket numbers: two connections at most, opened when first
/// needed, apart from the store's pool so that a batch holding one of the pool's never
/// waits for another of them, and the block of numbers this instance holds.
#[derive(Debug)]
pub(super) struct NumberSource {
    pool: AnyPool,
    block: tokio::sync::Mutex<Block>,
}

/// Numbers taken from the counter and not given yet: `next..=last` of `period`, none
/// when `next > last`.
#[derive(Debug)]
struct Block {
    period: String,
    next: u64,
    last: u64,
    /// How many numbers the last block held, and when it was taken.
    size: u64,
    taken_at: Option<Instant>,
}

impl Default for Block {
    /// No numbers held, and none taken yet.
    fn default() -> Self {
        Self {
            period: String::new(),
            next: 1,
            last: 0,
            size: 0,
            taken_at: None,
        }
    }
}

impl Block {
    /// The size of the next block: larger while blocks run out quickly, one number again
    /// once tickets come slowly.
    fn next_size(&self, now: Instant) -> u64 {
        match self.taken_at.map(|at| now.duration_since(at)) {
            Some(lasted) if lasted < BUSY => (self.size * 2).clamp(1, LARGEST_BLOCK),
            Some(lasted) if lasted < QUIET => self.size.max(1),
            _ => 1,
        }
    }
}

impl NumberSource {
    /// The source for the server `options` point to.
    pub(super) fn new(options: &AnyConnectOptions) -> Self {
        let pool = AnyPoolOptions::new()
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
            .connect_lazy_with(options.clone());
        Self {
            pool,
            block: Default::default(),
        }
    }

    /// The next number of `period`: from the block held, or from a new block.
    async fn take(&self, period: &str) -> Result<u64, StoreError> {
        let mut block = self.block.lock().await;
        if block.period != period || block.next > block.last {
            let now = Instant::now();
            let size = block.next_size(now);
            let last = reserve(&self.pool, period, size).await?;
            *block = Block {
                period: period.to_string(),
                next: last + 1 - size,
                last,
                size,
                taken_at: Some(now),
            };
        }
        let number = block.next;
        block.next += 1;
        Ok(number)
    }

    /// Gives the numbers not used back to the counter when nobody took any after them,
    /// then closes the connections: an instance stopped after a backlog leaves no gap
    /// unless another took numbers meanwhile.
    pub(super) async fn close(&self) {
        let block = std::mem::take(&mut *self.block.lock().await);
        if block.next <= block.last {
            let given_back = sqlx::query(
                "UPDATE ticket_counters SET last_value = $1 WHERE period = $2 AND last_value = $3",
            )
            .bind((block.next - 1) as i64)
            .bind(block.period)
            .bind(block.last as i64)
            .execute(&self.pool)
            .await;
            if let Err(e) = given_back {
                tracing::debug!(error = %e, "unused ticket numbers left as a gap");
            }
        }
        self.pool.close().await;
    }
}

/// Moves `period`'s counter on by `size` on `db` (a pool: committed at once; a
/// transaction: with it); the last number reserved.
async fn reserve<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    period: &str,
    size: u64,
) -> Result<u64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO ticket_counters (period, last_value) VALUES ($1, $2) \
         ON CONFLICT (period) DO UPDATE SET last_value = ticket_counters.last_value + $2 \
         RETURNING last_value",
    )
    .bind(period.to_string())
    .bind(size as i64)
    .fetch_one(db)
    .await
    .doing("allocating ticket numbers")?;
    let last: i64 = row
        .try_get("last_value")
        .doing("reading the ticket counter")?;
    Ok((last.max(size as i64)) as u64)
}

/// Takes the next number of `at`'s month: from `numbers` when there is one (PostgreSQL),
/// else inside `tx`, the ticket's own transaction.
pub(super) async fn next_number(
    tx: &mut AnyConnection,
    numbers: Option<&NumberSource>,
    at: DateTime<Utc>,
) -> Result<TicketNumber, StoreError> {
    let period = TicketNumber::period(at);
    let counter = match numbers {
        Some(source) => source.take(&period).await?,
        None => reserve(&mut *tx, &period, 1).await?,
    };
    Ok(TicketNumber::new(at, counter))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(size: u64, ago: Duration) -> (Block, Instant) {
        let now = Instant::now() + Duration::from_secs(60);
        let block = Block {
            size,
            taken_at: Some(now - ago),
            ..Default::default()
        };
        (block, now)
    }

    #[test]
    fn blocks_grow_while_tickets_come_quickly_and_shrink_to_one_when_they_slow() {
        assert_eq!(Block::default().next_size(Instant::now()), 1, "the first");
        let (block, now) = taken(1, Duration::from_millis(50));
        assert_eq!(block.next_size(now), 2);
        let (block, now) = taken(16, Duration::from_millis(500));
        assert_eq!(block.next_size(now), 32);
        let (block, now) = taken(LARGEST_BLOCK, Duration::from_millis(1));
        assert_eq!(
            block.next_size(now),
            LARGEST_BLOCK,
            "no larger than the largest"
        );
        let (block, now) = taken(8, Duration::from_secs(3));
        assert_eq!(block.next_size(now), 8, "kept while tickets come steadily");
        let (block, now) = taken(8, Duration::from_secs(30));
        assert_eq!(block.next_size(now), 1, "one at a time once they slow");
    }
}
