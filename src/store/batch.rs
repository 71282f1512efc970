//! Several mails in one transaction: a group commit.
//!
//! Committing each mail on its own costs one WAL append of every page it touched and one
//! fsync; a batch shares both among its mails, which is most of what ingesting a backlog
//! costs. The intake sources acknowledge a batch's mails only once [`Batch::commit`]
//! returned, so the guarantee stays the same: nothing is acknowledged before it is durable.
//!
//! A batch is a [`Store`] bound to one open transaction. The inbound path reads through it
//! too (duplicates, threading, tickets), so a mail sees what the mails before it in the
//! same batch wrote: a reply that follows its original in the batch still threads. Each
//! mail's writes run in a savepoint, so one failing mail leaves the others' in place.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Transaction};

use super::{Backend, Doing, Store, StoreError};

/// The open transaction a bound [`Store`] writes into; `None` once committed or rolled
/// back, so that a clone kept past the end fails clearly instead of writing outside it.
pub(super) type SharedTransaction = Arc<tokio::sync::Mutex<Option<Transaction<'static, Any>>>>;

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
    /// Opens a batch. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): the
    /// batch reads before it writes, and a read snapshot that another writer overtook
    /// could not be turned into a write. Other writers wait for the commit (busy_timeout),
    /// so batches are kept short by their callers.
    pub async fn begin_batch(&self) -> Result<Batch, StoreError> {
        debug_assert!(self.batch.is_none(), "batches do not nest");
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .doing("starting a batch of mails")?;
        Ok(Batch {
            store: Store {
                batch: Some(Arc::new(tokio::sync::Mutex::new(Some(tx)))),
                ..self.clone()
            },
        })
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
                let tx = shared.lock().await;
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

    async fn take(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let shared = self
            .store
            .batch
            .as_ref()
            .expect("a batch's store is bound to it");
        shared.lock().await.take().ok_or(StoreError::BatchFinished)
    }
}
