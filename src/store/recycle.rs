//! Which connections go back to the pool after use, and which are closed instead, so that
//! the store heals by itself once a disk fault is put right:
//!
//! - a connection still in a transaction it could not end. When a COMMIT fails on a full
//!   or read-only disk, SQLite rolls the transaction back by itself; the ROLLBACK sqlx then
//!   sends fails ("no transaction is active"), and sqlx still counts the transaction open,
//!   so that connection would refuse every later batch ("begin_with at non-zero
//!   transaction depth") for as long as the daemon runs;
//! - a SQLite connection opened while the database file could not be written
//!   (`chmod 0444`, `chattr +i`, a file system gone read-only): SQLite then opens it
//!   read-only without a word, and it stays read-only after the file is writable again.
//!
//! The pool opens a fresh connection in their place when one is needed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{AnyConnection, Connection};

/// How much younger than the last sighting of a read-only file a connection may be and
/// still be taken for one opened read-only: the pool dates a connection a moment after it
/// was opened and looked at.
const OPENING: Duration = Duration::from_secs(1);

/// What the pool asks about its connections. Cheap to clone: clones share what they saw.
#[derive(Debug, Clone, Default)]
pub(super) struct Recycling {
    /// The SQLite file, watched for being read-only (`None` for PostgreSQL, and for the
    /// commands that need not write).
    file: Option<PathBuf>,
    read_only: Arc<Mutex<ReadOnly>>,
}

/// What was seen of the file's being read-only.
#[derive(Debug, Default)]
struct ReadOnly {
    /// When a connection was last opened while the file could not be written.
    last_seen: Option<Instant>,
    /// Whether the log said so, and has not yet said that it is over.
    told: bool,
}

impl Recycling {
    /// For the pool of the database in `sqlite_file` (`None`: a server).
    pub(super) fn new(sqlite_file: Option<PathBuf>) -> Self {
        Self {
            file: sqlite_file,
            read_only: Arc::default(),
        }
    }

    /// A connection was just opened (`after_connect`): notes when the file or its WAL
    /// cannot be written, as SQLite then opened the connection read-only.
    pub(super) fn opened(&self) {
        let Some(file) = &self.file else { return };
        if self.writable(file) {
            return;
        }
        let mut state = self.state();
        state.last_seen = Some(Instant::now());
        if !std::mem::replace(&mut state.told, true) {
            tracing::error!(database = %file.display(), "the database file cannot be written (its permissions, an immutable flag, a read-only file system): nothing is stored until it can; mail waits where it is");
        }
    }

    /// Whether a connection `age` old may be handed out (`before_acquire`): not one opened
    /// while the file could not be written, once it can.
    pub(super) fn usable(&self, age: Duration) -> bool {
        let Some(file) = &self.file else { return true };
        let mut state = self.state();
        let opened_read_only = state
            .last_seen
            .is_some_and(|seen| age + OPENING >= seen.elapsed());
        if !opened_read_only || !self.writable(file) {
            return true;
        }
        if std::mem::take(&mut state.told) {
            tracing::info!(database = %file.display(), "the database file can be written again");
        }
        false
    }

    /// Whether a connection given back may be kept (`after_release`): not one still in a
    /// transaction.
    pub(super) async fn keep(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
        if !conn.is_in_transaction() {
            return Ok(true);
        }
        // The rollback of a transaction dropped unfinished is queued on the connection:
        // the ping runs after it, and the count is true once it answers.
        conn.ping().await?;
        Ok(!conn.is_in_transaction())
    }

    /// Whether the file, and its WAL when there is one, may be written.
    fn writable(&self, file: &Path) -> bool {
        let wal = PathBuf::from(format!("{}-wal", file.display()));
        may_write(file) && (!wal.exists() || may_write(&wal))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ReadOnly> {
        self.read_only.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether this process may write `file`, as the kernel decides (root too is refused an
/// immutable file or a read-only file system).
fn may_write(file: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(file.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(path.as_ptr(), libc::W_OK) == 0 }
}
