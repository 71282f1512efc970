//! `ticketgate backup FILE` and `ticketgate restore FILE`: a checked copy of the live
//! database, what to run for the rest, and putting a copy back.

use std::path::Path;
use std::process::ExitCode;

use ticketgate::clock::SystemClock;
use ticketgate::config::Settings;
use ticketgate::domain::ByteSize;
use ticketgate::service::{BackupService, Services};

use super::out::outln;

/// `ticketgate backup FILE [--force]`. On PostgreSQL nothing is written and the status is
/// 1, so that a scheduled backup never passes for one made: the output says which
/// `pg_dump` makes it.
pub async fn backup(services: &Services, target: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let report = services.backup().backup(target, force).await?;
    let code = match (&report.written, &report.pg_dump) {
        (Some(copy), _) => {
            outln!(
                "wrote {} ({}): {} ticket(s), {} of {} migrations, integrity ok",
                copy.path.display(),
                ByteSize(copy.bytes),
                copy.tickets,
                copy.migrations,
                copy.known_migrations
            )?;
            ExitCode::SUCCESS
        }
        (None, Some(pg_dump)) => {
            outln!(
                "nothing written: the database is on PostgreSQL; back it up with its own tool (the password from PGPASSWORD or ~/.pgpass):"
            )?;
            outln!("  {pg_dump}")?;
            outln!("  restore with: pg_restore --clean --if-exists --no-owner -d URL FILE")?;
            ExitCode::from(1)
        }
        (None, None) => unreachable!("a backup is written or advised"),
    };
    let data = &report.data_dir;
    outln!(
        "data directory {}: {}; archive it after the database, so that every file the copy names is in the archive:",
        data.data_dir.display(),
        if data.blobs_in_files {
            "attachments and raw mail (attachments/, raw/), the quarantine and the link key (link-secret)"
        } else {
            "the quarantine and the link key (link-secret); attachments and raw mail are in the database"
        }
    )?;
    outln!("  {}", data.command)?;
    Ok(code)
}

/// `ticketgate restore FILE`: the SQLite database replaced by a backup, every process on
/// it stopped first.
pub async fn restore(settings: &Settings, source: &Path) -> anyhow::Result<ExitCode> {
    let restored = BackupService::restore(settings, &SystemClock, source).await?;
    let facts = &restored.facts;
    outln!(
        "restored {} from {}: {} ticket(s), {} of {} migrations{}",
        facts.path.display(),
        source.display(),
        facts.tickets,
        facts.migrations,
        facts.known_migrations,
        if facts.migrations < facts.known_migrations as i64 {
            " (the others are applied at the next start)"
        } else {
            ""
        }
    )?;
    match &restored.kept_aside {
        Some(aside) => outln!(
            "the database it replaced is kept as {}; delete it once the restored one is checked",
            aside.display()
        )?,
        None => outln!("there was no database to replace")?,
    }
    outln!(
        "restore the data directory's archive too (tar -C DATA_DIR -xzf FILE.data.tar.gz), then start ticketgate"
    )?;
    Ok(ExitCode::SUCCESS)
}
