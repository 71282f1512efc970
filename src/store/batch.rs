//! Several mails in one transaction: a group commit.
//!
//! Committing each mail on its own costs one WAL append of every page it touched and one
//! fsync; a batch shares both among its mails, which is most of what ingesting a backlog
//! costs. The intake sources acknowledge a batch's mails only once [`Batch::commit`]
//! returned, so the guarantee stays the same: nothing is acknowledged before it is durable.
//!
//! A batch is a [`Store`] bound to one open transaction. The inbound path reads through it
//! too (duplicates, threading, tickets), so a mail sees what the mails before it in the
//! same batch wrote: a reply that follows its original in the batch still threads.
//!
//! On PostgreSQL each mail's writes run in a savepoint, so one failing mail leaves the
//! others in place. On SQLite a savepoint and its release are two more round trips to the
//! connection's thread for every mail, a fifth of them, for a failure that hardly ever
//! comes (the batch holds the write lock, so no other writer can make a mail stale or a
//! duplicate part-way): a mail's writes go straight into the batch, and one that fails
//! part-way spoils the batch ([`Batch::spoiled`]), which the caller rolls back and tries
//! again mail by mail.
//!
//! On PostgreSQL, instances write side by side, and two batches may want the same ticket
//! row (two replies to one ticket, in two instances' mailboxes). A batch waits for such a
//! row only while it holds none itself, at its first mail: past it, a wait of more than
//! [`HELD_ROW_WAIT`] gives the mail up as [`StoreError::Busy`], the batch is committed
//! without it, and the mail starts the next batch. Waiting while holding rows made
//! batches wait for each other in turn, and two that each held what the other wanted
//! stalled for PostgreSQL's deadlock timeout (a second) before one mail failed.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Executor, Transaction};

use super::{Backend, Doing, Store, StoreError};

/// What a bound [`Store`] shares with its [`Batch`].
#[derive(Debug)]
pub(super) struct BatchState {
    /// The open transaction; `None` once committed or rolled back, so that a clone kept
    /// past the end fails clearly instead of writing outside it.
    tx: tokio::sync::Mutex<Option<Transaction<'static, Any>>>,
    /// Whether a mail's writes go straight into the transaction, without a savepoint.
    in_place: bool,
    /// A mail written in place failed part-way: what it wrote cannot be taken back alone.
    spoiled: AtomicBool,
    /// The batch holds rows (a mail's writes are in it) and its waits are bounded.
    holds_rows: AtomicBool,
}

/// How long a mail of a PostgreSQL batch that already holds rows waits for a row another
/// transaction holds: long enough for a short transaction (an agent's action), short
/// beside a batch.
pub(super) const HELD_ROW_WAIT: &str = "SET LOCAL lock_timeout = '10ms'";

pub(super) type SharedTransaction = Arc<BatchState>;

/// The page cache of a SQLite connection while it writes a batch. A batch touches about
/// 1,500 pages (64 mails): with SQLite's default of 2 MB the cache spilled them to the
/// WAL before the commit and read them back. 16 MiB made ingest into a million tickets
/// 15% faster (BENCHMARKS.md, target 2). Only for the batch: the pool's four connections
/// also serve the portal and the API, whose memory stays as it was.
const BATCH_PAGE_CACHE: &str = "PRAGMA cache_size = -16384";

/// SQLite's default page cache (2,000 KiB), which a connection goes back to with its
/// batch's commit: the pages over it are freed as the commit lets them go.
const PAGE_CACHE: &str = "PRAGMA cache_size = -2000";

/// A connection for the statements of one store call: the batch's transaction when the
/// store is bound to one, else a connection from the pool.
pub(super) enum Conn<'s> {
    Pooled(PoolConnection<Any>),
    Batch(tokio::sync::MutexGuard<'s, Option<Transaction<'static, Any>>>),
}

impl Deref for Conn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Batch(tx) => tx.as_ref().expect("checked open by Store::conn"),
        }
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Batch(tx) => tx.as_mut().expect("checked open by Store::conn"),
        }
    }
}

/// Mails written in one transaction, committed together.
#[derive(Debug)]
pub struct Batch {
    store: Store,
}

impl Store {
    /// Whether this store is bound to a batch whose mails write straight into it, without a
    /// savepoint each (SQLite).
    pub(super) fn writes_in_place(&self) -> bool {
        self.batch.as_ref().is_some_and(|b| b.in_place)
    }

    /// Marks the batch this store is bound to as spoiled by a mail that failed part-way.
    pub(super) fn spoil_batch(&self) {
        if let Some(batch) = &self.batch {
            batch.spoiled.store(true, Ordering::Relaxed);
        }
    }

    /// Opens a batch. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): the
    /// batch reads before it writes, and a read snapshot that another writer overtook
    /// could not be turned into a write. Other writers wait for the commit (busy_timeout),
    /// so batches are kept short by their callers. Its connection's page cache holds the
    /// batch's pages until the commit ([`BATCH_PAGE_CACHE`]).
    pub async fn begin_batch(&self) -> Result<Batch, StoreError> {
        debug_assert!(self.batch.is_none(), "batches do not nest");
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .doing("starting a batch of mails")?;
        if self.backend == Backend::Sqlite {
            tx.execute(BATCH_PAGE_CACHE)
                .await
                .doing("sizing a batch's page cache")?;
        }
        let state = BatchState {
            tx: tokio::sync::Mutex::new(Some(tx)),
            in_place: self.backend == Backend::Sqlite,
            spoiled: AtomicBool::new(false),
            holds_rows: AtomicBool::new(false),
        };
        Ok(Batch {
            store: Store {
                batch: Some(Arc::new(state)),
                ..self.clone()
            },
        })
    }

    /// Called on the batch's connection once a mail's writes joined the batch (in a
    /// savepoint, on PostgreSQL): from the first, the batch holds rows that other
    /// instances may wait for, and its waits are bounded ([`HELD_ROW_WAIT`]).
    pub(super) async fn mail_joined_batch(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<(), StoreError> {
        let Some(batch) = &self.batch else {
            return Ok(());
        };
        if batch.in_place || batch.holds_rows.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        conn.execute(HELD_ROW_WAIT)
            .await
            .doing("bounding a batch's waits for rows")?;
        Ok(())
    }

    /// `e`, or [`StoreError::Busy`] when it is a bounded wait of this batch that ran out
    /// (PostgreSQL's `lock_not_available`).
    pub(super) fn busy_in_batch(&self, e: StoreError) -> StoreError {
        let timed_out = match &e {
            StoreError::Query {
                source: sqlx::Error::Database(db),
                ..
            } => db.code().as_deref() == Some(super::LOCK_NOT_AVAILABLE),
            _ => false,
        };
        let bounded = self
            .batch
            .as_ref()
            .is_some_and(|b| b.holds_rows.load(Ordering::Relaxed));
        if timed_out && bounded {
            StoreError::Busy
        } else {
            e
        }
    }

    /// The connection for one call's statements (see [`Conn`]).
    pub(super) async fn conn(&self) -> Result<Conn<'_>, StoreError> {
        match &self.batch {
            None => Ok(Conn::Pooled(
                self.pool
                    .acquire()
                    .await
                    .doing("waiting for a database connection")?,
            )),
            Some(shared) => {
                let tx = shared.tx.lock().await;
                if tx.is_none() {
                    return Err(StoreError::BatchFinished);
                }
                Ok(Conn::Batch(tx))
            }
        }
    }
}

impl Batch {
    /// The store bound to this batch: what the pipeline reads and writes through. Calls
    /// that run single statements go into the batch; those that open a transaction of
    /// their own (agent actions, the jobs) are not for a bound store: on SQLite they would
    /// wait for the batch's write lock.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Commits every mail of the batch at once.
    pub async fn commit(self) -> Result<(), StoreError> {
        let tx = self.take().await?;
        tx.commit().await.doing("committing a batch of mails")
    }

    /// Drops every write of the batch.
    pub async fn rollback(self) -> Result<(), StoreError> {
        let tx = self.take().await?;
        tx.rollback().await.doing("rolling back a batch of mails")
    }

    /// The batch's transaction, taken to be ended; on SQLite its connection's page cache
    /// is set back to the default first ([`PAGE_CACHE`]).
    async fn take(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let shared = self
            .store
            .batch
            .as_ref()
            .expect("a batch's store is bound to it");
        let mut tx = shared
            .tx
            .lock()
            .await
            .take()
            .ok_or(StoreError::BatchFinished)?;
        if self.store.backend == Backend::Sqlite {
            tx.execute(PAGE_CACHE)
                .await
                .doing("setting a connection's page cache back")?;
        }
        Ok(tx)
    }

    /// Whether a mail failed part-way after writing into the batch: the batch must be
    /// rolled back, and its mails tried again one at a time.
    pub fn spoiled(&self) -> bool {
        self.store
            .batch
            .as_ref()
            .is_some_and(|b| b.spoiled.load(Ordering::Relaxed))
    }
}
