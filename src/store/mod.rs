//! The ticket store: the only module that writes SQL.
//!
//! One [`Store`] handle serves SQLite (the embedded default) and PostgreSQL through sqlx's
//! `Any` driver, so the pipeline never knows which one it talks to. Queries use `$N`
//! placeholders and SQL that both dialects accept; each backend has its own migrations
//! folder because their DDL differs.

mod articles;
mod backup;
mod batch;
mod blobs;
mod contacts;
mod due;
mod health;
mod jobs;
mod leases;
mod mailboxes;
mod messages;
mod open;
mod opened_tickets;
mod outbox;
mod recycle;
mod requests;
mod rows;
mod ticket_numbers;
mod ticket_query;
mod ticket_updates;
mod tickets;
mod tokens;
mod visible;

use sqlx::AnyPool;

pub use backup::{BackupError, CopyFacts, Restored, check_copy, restore_sqlite};
pub use batch::Batch;
pub use blobs::BlobKind;
pub use contacts::{Contact, Undeliverable};
pub use due::{DueReminder, ReminderCommit};
pub use jobs::JobRun;
pub use leases::{Lease, LeaseClaim, LeaseRecord};
pub use mailboxes::{MailboxCursor, MailboxProblem, MailboxState, PendingAck, ProblemArea};
pub use messages::{
    CommentChanges, Committed, EarlierDelivery, InboundCommit, InboundWrite, MessageRecord,
};
pub use open::{DatabaseState, OpenMode, sqlite_path};
pub use opened_tickets::HandOpening;
pub use outbox::{
    Channel, Claimed, HoldKind, OutboxEntry, OutboxJob, PersonalJob, SentMail, SentNotification,
    TicketFacts, Unreadable, WebhookJob,
};
pub use ticket_query::TicketQuery;
pub use ticket_updates::{ActionCommitted, Change, TicketAction};
pub use tokens::TokenRecord;
pub use visible::VisibleFilter;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Which database a [`Store`] talks to, for the few statements whose dialects differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What went wrong in the store. [`StoreError::is_transient`] tells the caller whether the
/// same operation may succeed later (and so whether the mail must be kept for a retry).
///
/// The variants about opening the database carry their cause already explained in
/// `reason` (the server or file named), and keep the underlying error beside it rather than
/// as their `source`: printed as a chain, it would repeat what `reason` says.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the database {url}: {reason}; check [database] url and that the server or directory is reachable"
    )]
    Connect {
        url: String,
        reason: String,
        error: Box<sqlx::Error>,
    },
    #[error("cannot create the directory {path} for the SQLite database: {reason}")]
    CreateDir {
        path: String,
        reason: String,
        error: Option<std::io::Error>,
    },
    /// Only `run`, `ingest` and `migrate` create a database: a mistyped path elsewhere
    /// must not become an empty one.
    #[error(
        "the database {path} does not exist; check [database] url (or data_dir), or create it with `ticketgate migrate`"
    )]
    Missing { path: String },
    #[error(
        "cannot apply the database migrations: {0}; run `ticketgate migrate` to see the failing step"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "cannot lock {path} to apply the migrations: {source}; check that the database's directory is writable"
    )]
    MigrationLock {
        path: String,
        source: std::io::Error,
    },
    #[error("the database failed while {doing}: {source}")]
    Query {
        doing: &'static str,
        source: sqlx::Error,
    },
    #[error("the database holds a value ticketgate cannot read ({0}); was it edited by hand?")]
    Corrupt(String),
    /// A mail of a batch failed part-way after writing into it (SQLite writes a batch's
    /// mails without a savepoint each): the batch is rolled back and its mails tried again
    /// one at a time, where the failure, if it is one, shows as itself.
    #[error(
        "a mail failed part-way through its batch ({why}); the batch is rolled back and its mails tried one at a time"
    )]
    Spoiled { why: String },
    /// A mail of a PostgreSQL batch that already holds rows would wait for a row another
    /// transaction holds (a ticket another instance's batch writes): it is left out of
    /// this batch and goes first in the next one, which may wait (`batch.rs`).
    #[error(
        "a row this mail writes is held by another transaction; the mail goes into the next batch"
    )]
    Busy,
    /// A bug, not a condition: a store bound to a batch was used after the batch ended.
    #[error("a batch of mails was used after its commit or rollback; this is a bug to report")]
    BatchFinished,
}

impl StoreError {
    /// Whether retrying later may succeed: the database was unreachable, busy or locked,
    /// its disk full or failing, or its file read-only (permissions an operator puts
    /// right), as opposed to a constraint or data problem that would fail again.
    pub fn is_transient(&self) -> bool {
        let sqlx_error = match self {
            StoreError::Connect { error, .. } => error.as_ref(),
            StoreError::Query { source, .. } => source,
            StoreError::CreateDir { .. }
            | StoreError::MigrationLock { .. }
            | StoreError::Spoiled { .. }
            | StoreError::Busy => return true,
            StoreError::Migrate(_)
            | StoreError::Corrupt(_)
            | StoreError::BatchFinished
            | StoreError::Missing { .. } => {
                return false;
            }
        };
        match sqlx_error {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_) => true,
            sqlx::Error::Database(db) => {
                let msg = db.message().to_ascii_lowercase();
                msg.contains("locked")
                    || msg.contains("busy")
                    || msg.contains("readonly")
                    || msg.contains("disk")
                    || msg.contains("full")
                    || db.code().is_some_and(|c| {
                        c.starts_with("08")
                            || c.starts_with("53")
                            || c == "40001"
                            || c == "40P01"
                            || c == LOCK_NOT_AVAILABLE
                    })
            }
            _ => false,
        }
    }
}

/// PostgreSQL's SQLSTATE for a lock wait that ran out (`lock_timeout`): temporary, and in
/// a batch that holds rows, [`StoreError::Busy`] (`batch.rs`).
pub(super) const LOCK_NOT_AVAILABLE: &str = "55P03";

/// Attaches what the store was doing to an sqlx error.
trait Doing<T> {
    fn doing(self, what: &'static str) -> Result<T, StoreError>;
}

impl<T> Doing<T> for Result<T, sqlx::Error> {
    fn doing(self, doing: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Query { doing, source })
    }
}

/// A handle on the ticket store; cheap to clone (it wraps a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The SQLite database's file, beside which migrations take their lock.
    sqlite_file: Option<std::path::PathBuf>,
    /// The transaction of the [`Batch`] this handle is bound to, if any.
    batch: Option<batch::SharedTransaction>,
    /// Which webhook hears which event: their rows are queued with the operation's mail.
    webhooks: std::sync::Arc<crate::domain::Subscriptions>,
    /// PostgreSQL's ticket numbers, committed apart from the tickets' transactions
    /// (`ticket_numbers.rs`); none on SQLite.
    numbers: Option<std::sync::Arc<ticket_numbers::NumberSource>>,
}

impl Store {
    /// Opens the database at `url` (`sqlite://PATH` or `postgres://…`), creating a SQLite
    /// file and its directory when missing. Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with_mode(url, OpenMode::Create).await
    }

    /// Opens the database at `url` and applies the migrations it lacks: what the daemon
    /// and the commands that may create the database (`ingest`, `migrate`) start with.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with_mode(url, OpenMode::Create).await
    }

    /// [`Store::open`], creating a missing SQLite database only with [`OpenMode::Create`].
    pub async fn open_with_mode(url: &str, mode: OpenMode) -> Result<Store, StoreError> {
        let store = Store::connect_with_mode(url, mode).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations of this backend that are not applied yet. Safe when several
    /// processes start at once: on PostgreSQL the migrator holds an advisory lock while it
    /// works; on SQLite, a lock on a file beside the database does the same, and whoever
    /// waited finds the migrations applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let (migrator, _lock) = match self.backend {
            Backend::Sqlite => (&SQLITE_MIGRATIONS, self.lock_sqlite_migrations().await?),
            Backend::Postgres => (&POSTGRES_MIGRATIONS, None),
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Waits for the exclusive lock on `<database>.migrate-lock` (kept, not removed: a
    /// removed lock file lets two processes lock two different files). Released when the
    /// returned file is dropped.
    async fn lock_sqlite_migrations(&self) -> Result<Option<std::fs::File>, StoreError> {
        let Some(db) = &self.sqlite_file else {
            return Ok(None);
        };
        let mut path = db.clone().into_os_string();
        path.push(".migrate-lock");
        let path = std::path::PathBuf::from(path);
        let shown = path.display().to_string();
        let locked = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            file.lock()?;
            Ok::<_, std::io::Error>(file)
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|r| r)
        .map_err(|source| StoreError::MigrationLock {
            path: shown,
            source,
        })?;
        Ok(Some(locked))
    }

    /// The same store, queueing a row for each of `webhooks` that hears an event.
    pub fn with_webhooks(self, webhooks: crate::domain::Subscriptions) -> Store {
        Store {
            webhooks: std::sync::Arc::new(webhooks),
            ..self
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        if let Some(numbers) = &self.numbers {
            numbers.close().await;
        }
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::StoreError;

    /// A server's refusal with a SQLSTATE code, as the drivers report it.
    #[derive(Debug)]
    struct Refusal(&'static str);

    impl std::fmt::Display for Refusal {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "refused with SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for Refusal {}

    impl sqlx::error::DatabaseError for Refusal {
        fn message(&self) -> &str {
            "refused"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn refused(code: &'static str) -> StoreError {
        StoreError::Query {
            doing: "testing",
            source: sqlx::Error::Database(Box::new(Refusal(code))),
        }
    }

    #[test]
    fn what_may_pass_is_temporary_and_what_the_data_causes_is_not() {
        // A lock wait that ran out (lock_timeout, an operator's or a batch's), a deadlock,
        // a serialization failure, a lost connection, a server out of resources: a retry
        // may succeed, so the mail is kept, not quarantined.
        for code in ["55P03", "40P01", "40001", "08006", "53100"] {
            assert!(refused(code).is_transient(), "{code}");
        }
        // A value the schema refuses fails again on every try.
        for code in ["23505", "23503", "22001"] {
            assert!(!refused(code).is_transient(), "{code}");
        }
        assert!(StoreError::Busy.is_transient());
    }
}
