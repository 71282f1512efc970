//! `ticketgate jobs …`: the periodic jobs `run` schedules, listed or run by hand.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use ticketgate::service::{JobKind, Services};

use super::out::outln;

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Each job with its schedule, what it does, and its last run.
    List,
    /// Run one job now and print what it did (with --dry-run, what it would do).
    Run {
        /// auto-close, resolution-reminder, waiting-reminder, purge or weekly-digest.
        name: JobKind,
        /// Act as of this moment instead of now: a date (2026-12-24, midnight UTC) or an
        /// RFC 3339 time (2026-12-24T09:00:00Z). The run acts for real (to catch up by
        /// hand, or to act now on what that day finds due), and the notifications it
        /// queues go out at once. Add --dry-run to only see what it would do.
        #[arg(long, value_name = "DATE|RFC3339", value_parser = super::moment::parse_moment)]
        now: Option<DateTime<Utc>>,
        /// Print what the run would do and write nothing: no ticket, notification, file
        /// or record of the run changes.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs a `jobs` command.
pub async fn run(services: &Services, command: JobsCommand) -> anyhow::Result<ExitCode> {
    let jobs = services.jobs();
    match command {
        JobsCommand::List => {
            for job in jobs.list().await? {
                let state = if job.enabled { "" } else { " (off)" };
                outln!(
                    "{:<20} {:<16} {}{state}",
                    job.kind.name(),
                    job.schedule,
                    job.description
                )?;
                match job.last_run {
                    Some(r) => outln!(
                        "{:<20} last run {} ({}, as of {}): {}{}",
                        "",
                        r.started_at.format("%Y-%m-%d %H:%M:%S"),
                        r.started_by,
                        r.as_of.format("%Y-%m-%d %H:%M:%S"),
                        r.summary.as_deref().unwrap_or("did not finish"),
                        r.error.map(|e| format!(": {e}")).unwrap_or_default()
                    )?,
                    None => outln!("{:<20} never run", "")?,
                }
            }
        }
        JobsCommand::Run { name, now, dry_run } => {
            let report = match (now, dry_run) {
                (at, true) => jobs.dry_run(name, at.unwrap_or_else(|| jobs.now())).await?,
                (Some(at), false) => jobs.run_as_of(name, "manual", at).await?,
                (None, false) => jobs.run(name, "manual").await?,
            };
            outln!(
                "{}{}: as of {}: {}",
                if report.dry_run {
                    "dry run, nothing written: "
                } else {
                    ""
                },
                report.job,
                report.as_of.to_rfc3339(),
                report.summary()
            )?;
            for line in &report.lines {
                outln!("  {line}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
