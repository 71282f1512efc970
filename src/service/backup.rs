//! Backing up and restoring what ticketgate keeps: the database (a checked copy of a live
//! SQLite file; `pg_dump` for PostgreSQL) and the data directory (attachments, raw mail,
//! the quarantine, the link key), which an operator archives with the usual tools.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{DatabaseUrl, Settings, StorageBackend};
use crate::store::{Backend, BackupError, CopyFacts, Restored, Store};

/// Why a backup or a restore was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupServiceError {
    #[error("the database is on PostgreSQL, which `ticketgate restore` does not handle: {advice}")]
    PostgresRestore { advice: String },
    #[error(transparent)]
    Backup(#[from] BackupError),
}

/// What `backup` did, and what the operator runs to back up the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The SQLite copy, written and checked; `None` on PostgreSQL, which `pg_dump`
    /// backs up (nothing was written).
    pub written: Option<CopyFacts>,
    /// On PostgreSQL: the `pg_dump` command for the database (its URL without password).
    pub pg_dump: Option<String>,
    /// The data directory and what in it to archive, after the database.
    pub data_dir: DataDirAdvice,
}

/// The files of the data directory a backup needs beside the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDirAdvice {
    pub data_dir: PathBuf,
    /// Whether attachments and raw mail are files there (`[storage] backend = "fs"`) rather
    /// than in the database.
    pub blobs_in_files: bool,
    /// A command that archives it, leaving the SQLite database's own files out.
    pub command: String,
}

/// Backups of the database the services run on.
#[derive(Debug, Clone)]
pub struct BackupService {
    store: Store,
    settings: Arc<Settings>,
}

impl BackupService {
    pub fn new(store: Store, settings: Arc<Settings>) -> Self {
        Self { store, settings }
    }

    /// On SQLite, writes a consistent copy of the live database to `target` (never over
    /// an existing file unless `force`) and checks it; on PostgreSQL writes nothing and
    /// says which `pg_dump` to run. Either way, says how to archive the data directory.
    pub async fn backup(&self, target: &Path, force: bool) -> Result<BackupReport, BackupError> {
        let data_dir = data_dir_advice(&self.settings, target);
        if self.store.backend() == Backend::Postgres {
            return Ok(BackupReport {
                written: None,
                pg_dump: Some(pg_dump_command(self.settings.database_url.expose(), target)),
                data_dir,
            });
        }
        let facts = self.store.backup_to(target, force).await?;
        Ok(BackupReport {
            written: Some(facts),
            pg_dump: None,
            data_dir,
        })
    }

    /// Puts the SQLite backup `source` in place of the configured database, which no
    /// process may be using; the database replaced is kept beside it, named after the
    /// time on `clock`.
    pub async fn restore(
        settings: &Settings,
        clock: &dyn Clock,
        source: &Path,
    ) -> Result<Restored, BackupServiceError> {
        let url = settings.database_url.expose();
        let Some(database) = crate::store::sqlite_path(url) else {
            let dump = source.display();
            return Err(BackupServiceError::PostgresRestore {
                advice: format!(
                    "stop every instance, then run `pg_restore --clean --if-exists --no-owner -d '{}' {dump}` (with the password in PGPASSWORD or ~/.pgpass)",
                    without_password(url)
                ),
            });
        };
        let suffix = clock.now().format("%Y%m%dT%H%M%SZ").to_string();
        Ok(crate::store::restore_sqlite(source, &database, &suffix).await?)
    }
}

/// The `pg_dump` that backs up the database at `url` into `target`, in its custom format
/// (compressed, restored selectively by `pg_restore`); the password is left out of the
/// command, to be given by PGPASSWORD or ~/.pgpass rather than kept in a shell history.
fn pg_dump_command(url: &str, target: &Path) -> String {
    format!(
        "pg_dump -Fc -f {} '{}'",
        target.display(),
        without_password(url)
    )
}

/// `url` with its password taken out (not masked: the result is meant to be run).
fn without_password(url: &str) -> String {
    let redacted = DatabaseUrl::redact(url);
    redacted.replacen(":***@", "@", 1)
}

/// How to archive the data directory, beside the database backup `target`.
fn data_dir_advice(settings: &Settings, target: &Path) -> DataDirAdvice {
    let dir = &settings.data_dir;
    let archive = format!("{}.data.tar.gz", target.display());
    DataDirAdvice {
        data_dir: dir.clone(),
        blobs_in_files: settings.storage.backend == StorageBackend::Fs,
        command: format!(
            "tar -C {} --exclude='./ticketgate.db*' -czf {archive} .",
            dir.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_printed_never_hold_the_password() {
        let url = "postgres://tg:s3cr%40t@db.example:5432/tickets";
        let command = pg_dump_command(url, Path::new("/backup/tg.dump"));
        assert_eq!(
            command,
            "pg_dump -Fc -f /backup/tg.dump 'postgres://tg@db.example:5432/tickets'"
        );
        assert_eq!(
            without_password("postgres://tg@db/tg"),
            "postgres://tg@db/tg"
        );
    }
}
