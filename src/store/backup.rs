//! Copies of a SQLite database taken while it is in use, and putting one back.
//!
//! A copy is written by `VACUUM INTO` in one read transaction: it holds exactly what was
//! committed when the copy began, whatever the daemon writes meanwhile, and never the half
//! of a transaction a file copy of the database (without its `-wal`) could catch. It is
//! written under a temporary name beside its target, synced, checked (`PRAGMA
//! integrity_check`, the tickets counted, its migrations read) and only then given its
//! name, so that a backup file that exists is a whole one.
//!
//! PostgreSQL has its own tools for this (`pg_dump`, `pg_restore`): [`Store::backup_to`]
//! and [`restore_sqlite`] are for SQLite only.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};

use super::{Backend, Doing, SQLITE_MIGRATIONS, Store, StoreError};

/// What went wrong while copying a database or putting one back.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path} exists already; choose another file, or pass --force to replace it")]
    Exists { path: String },
    #[error("cannot write the backup {path}: {source}; check free space and permissions")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("the copy {path} does not hold up: {reason}; nothing was kept")]
    Unsound { path: String, reason: String },
    #[error("{path} is not a ticketgate SQLite database: {reason}")]
    NotOurs { path: String, reason: String },
    #[error(
        "{path} was written by a newer ticketgate (migration {version} is unknown to this one); restore it with that version"
    )]
    Newer { path: String, version: i64 },
    #[error(
        "the database {path} is in use (a running `ticketgate run`, or another command): stop every process using it, then restore"
    )]
    InUse { path: String },
    #[error("cannot put {path} in place: {source}; the database was left as it was")]
    Replace {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a checked copy holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFacts {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The tickets in it.
    pub tickets: i64,
    /// The migrations applied to it, and how many this build knows.
    pub migrations: i64,
    pub known_migrations: usize,
}

impl Store {
    /// Writes a consistent copy of this SQLite database to `target` (replacing an existing
    /// file only with `force`), checked before it gets its name.
    pub async fn backup_to(&self, target: &Path, force: bool) -> Result<CopyFacts, BackupError> {
        assert_eq!(self.backend, Backend::Sqlite, "pg_dump backs up PostgreSQL");
        let shown = target.display().to_string();
        if !force && target.exists() {
            return Err(BackupError::Exists { path: shown });
        }
        let tmp = temporary_beside(target);
        let _cleanup = RemoveOnDrop(tmp.clone());
        let written = sqlx::query("VACUUM INTO $1")
            .bind(tmp.display().to_string())
            .execute(&self.pool)
            .await;
        if let Err(e) = written {
            return Err(BackupError::Write {
                path: shown,
                source: std::io::Error::other(e.to_string()),
            });
        }
        let write_error = |source| BackupError::Write {
            path: shown.clone(),
            source,
        };
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(write_error)?;
        let mut facts = check_copy(&tmp).await.map_err(|e| match e {
            BackupError::NotOurs { reason, .. } => BackupError::Unsound {
                path: shown.clone(),
                reason,
            },
            other => other,
        })?;
        if force {
            std::fs::rename(&tmp, target).map_err(write_error)?;
        } else {
            // A link fails where the target appeared meanwhile: never replaced unasked.
            // Where the file system has no hard links (vfat, some network shares), the
            // target is looked for again just before the rename.
            match std::fs::hard_link(&tmp, target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(BackupError::Exists { path: shown });
                }
                Err(_) if target.exists() => return Err(BackupError::Exists { path: shown }),
                Err(_) => std::fs::rename(&tmp, target).map_err(write_error)?,
            }
        }
        sync_directory_of(target).map_err(write_error)?;
        facts.path = target.to_path_buf();
        Ok(facts)
    }
}

/// Opens the SQLite file at `path` read-only and checks that it is a sound ticketgate
/// database this build can open: integrity, migrations known, tickets counted.
pub async fn check_copy(path: &Path) -> Result<CopyFacts, BackupError> {
    let shown = path.display().to_string();
    let not_ours = |reason: String| BackupError::NotOurs {
        path: shown.clone(),
        reason,
    };
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .map_err(|e| not_ours(e.to_string()))?
        .read_only(true)
        .immutable(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| not_ours(e.to_string()))?;
    let facts = read_facts(&mut conn).await;
    conn.close().await.ok();
    let (integrity, versions, tickets) = facts.map_err(|e| not_ours(e.to_string()))?;
    if integrity != "ok" {
        return Err(not_ours(format!("integrity check: {integrity}")));
    }
    let known: Vec<i64> = SQLITE_MIGRATIONS.iter().map(|m| m.version).collect();
    if let Some(&version) = versions.iter().find(|v| !known.contains(v)) {
        return Err(BackupError::Newer {
            path: shown,
            version,
        });
    }
    Ok(CopyFacts {
        path: path.to_path_buf(),
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        tickets,
        migrations: versions.len() as i64,
        known_migrations: known.len(),
    })
}

/// The integrity check's first line, the migrations applied, the tickets.
async fn read_facts(conn: &mut SqliteConnection) -> Result<(String, Vec<i64>, i64), StoreError> {
    let integrity: String = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&mut *conn)
        .await
        .doing("checking the copy's integrity")?
        .try_get(0)
        .doing("reading the integrity check")?;
    let versions = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success ORDER BY 1")
        .fetch_all(&mut *conn)
        .await
        .doing("reading the copy's migrations")?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect::<Result<Vec<_>, _>>()
        .doing("reading the copy's migrations")?;
    let tickets: i64 = sqlx::query("SELECT COUNT(*) FROM tickets")
        .fetch_one(&mut *conn)
        .await
        .doing("counting the copy's tickets")?
        .try_get(0)
        .doing("counting the copy's tickets")?;
    Ok((integrity, versions, tickets))
}

/// Where the database in use went when a backup was put in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// What the restored database holds.
    pub facts: CopyFacts,
    /// The database it replaced, kept under this name (none when there was none).
    pub kept_aside: Option<PathBuf>,
}

/// Puts the backup `source` in place of the SQLite database `database`, which no process
/// may be using: checked first (a sound ticketgate database this build knows), copied
/// beside the database under a temporary name and synced, then renamed over it. The
/// database it replaces is kept as `DATABASE.before-restore-SUFFIX`. `suffix` names it (a
/// time, from the caller's clock).
pub async fn restore_sqlite(
    source: &Path,
    database: &Path,
    suffix: &str,
) -> Result<Restored, BackupError> {
    let mut facts = check_copy(source).await?;
    let shown = database.display().to_string();
    let replace_error = |source| BackupError::Replace {
        path: shown.clone(),
        source,
    };
    let kept_aside = if database.exists() {
        quiesce(database).await?;
        let aside = PathBuf::from(format!("{}.before-restore-{suffix}", database.display()));
        Some(aside)
    } else {
        None
    };
    let tmp = temporary_beside(database);
    let _cleanup = RemoveOnDrop(tmp.clone());
    std::fs::copy(source, &tmp)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .map_err(replace_error)?;
    if let Some(aside) = &kept_aside {
        std::fs::hard_link(database, aside).map_err(replace_error)?;
    }
    std::fs::rename(&tmp, database).map_err(replace_error)?;
    sync_directory_of(database).map_err(replace_error)?;
    facts.path = database.to_path_buf();
    Ok(Restored { facts, kept_aside })
}

/// Makes sure no process uses the database at `path` and that everything committed is in
/// its main file: with an exclusive lock (refused at once while any other connection is
/// open, as a running daemon keeps them), its write-ahead log is checkpointed and emptied,
/// so that no stale `-wal` is replayed over the restored file.
async fn quiesce(path: &Path) -> Result<(), BackupError> {
    let in_use = || BackupError::InUse {
        path: path.display().to_string(),
    };
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
        .busy_timeout(Duration::from_millis(200))
        .locking_mode(sqlx::sqlite::SqliteLockingMode::Exclusive);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|_| in_use())?;
    let locked = async {
        sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await?;
        sqlx::query("COMMIT").execute(&mut conn).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut conn)
            .await?
            .try_get::<i64, _>(0)
    }
    .await;
    conn.close().await.ok();
    match locked {
        Ok(0) => Ok(()),
        _ => Err(in_use()),
    }
}

/// A fresh temporary name in the directory of `target`, so that the rename is atomic.
fn temporary_beside(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        crate::atomic_file::unique_suffix()
    ))
}

/// Syncs the directory holding `path`, so that its new name survives a crash.
fn sync_directory_of(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()
}

/// Removes a temporary file when dropped (it is gone already once renamed).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
