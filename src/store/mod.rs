//! The ticket store: the only module that writes SQL.
//!
//! One [`Store`] handle serves SQLite (the embedded default) and PostgreSQL through sqlx's
//! `Any` driver, so the pipeline never knows which one it talks to. Queries use `$N`
//! placeholders and SQL that both dialects accept; each backend has its own migrations
//! folder because their DDL differs.

mod articles;
mod batch;
mod blobs;
mod contacts;
mod due;
mod jobs;
mod leases;
mod mailboxes;
mod messages;
mod outbox;
mod rows;
mod ticket_updates;
mod tickets;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use batch::Batch;
pub use blobs::BlobKind;
pub use contacts::{Contact, Undeliverable};
pub use due::{DueReminder, ReminderCommit};
pub use jobs::JobRun;
pub use leases::{Lease, LeaseClaim, LeaseRecord};
pub use mailboxes::{MailboxCursor, MailboxProblem, MailboxState, PendingAck, ProblemArea};
pub use messages::{Committed, EarlierDelivery, InboundCommit, InboundWrite, MessageRecord};
pub use outbox::{HoldKind, OutboxEntry, OutboxJob, SentNotification, TicketFacts};
pub use ticket_updates::{ActionCommitted, Change, TicketAction};

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
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the database {url}: {source}; check [database] url and that the server or directory is reachable"
    )]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot prepare the directory {path} for the SQLite database: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
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
    /// A bug, not a condition: a store bound to a batch was used after the batch ended.
    #[error("a batch of mails was used after its commit or rollback; this is a bug to report")]
    BatchFinished,
}

impl StoreError {
    /// Whether retrying later may succeed: the database was unreachable, busy or locked,
    /// as opposed to a constraint or data problem that would fail again.
    pub fn is_transient(&self) -> bool {
        let sqlx_error = match self {
            StoreError::Connect { source, .. } | StoreError::Query { source, .. } => source,
            StoreError::CreateDir { .. } | StoreError::MigrationLock { .. } => return true,
            StoreError::Migrate(_) | StoreError::Corrupt(_) | StoreError::BatchFinished => {
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
                    || msg.contains("disk")
                    || msg.contains("full")
                    || db.code().is_some_and(|c| {
                        c.starts_with("08") || c.starts_with("53") || c == "40001" || c == "40P01"
                    })
            }
            _ => false,
        }
    }
}

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
}

impl Store {
    /// Opens the database at `url` (`sqlite://PATH` or `postgres://…`), creating a SQLite
    /// file and its directory when missing. Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let redacted = crate::config::DatabaseUrl::redact(url);
        let connect_err = |source| StoreError::Connect {
            url: redacted.clone(),
            source,
        };
        let mut full_url = url.to_string();
        let mut sqlite_file = None;
        if backend == Backend::Sqlite {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or(path);
            if !path.is_empty() && !path.starts_with(':') {
                sqlite_file = Some(Path::new(path).to_path_buf());
            }
            if let Some(dir) = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
            if !url.contains("mode=") {
                full_url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
        }
        let options = AnyConnectOptions::from_str(&full_url).map_err(connect_err)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 10 })
            .acquire_timeout(Duration::from_secs(15))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers (CLI, HTTP) run beside the writer; FULL sync makes a
                        // commit durable before the mail is acknowledged; busy_timeout makes a
                        // second writer process wait instead of failing.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 15000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        Ok(Store {
            pool,
            backend,
            sqlite_file,
            batch: None,
        })
    }

    /// Opens the database at `url` and applies the migrations it lacks: what every command
    /// and the daemon start with.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
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

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
