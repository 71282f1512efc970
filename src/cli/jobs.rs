//! `ticketgate jobs …`: the periodic jobs `run` schedules, listed or run by hand.

use std::process::ExitCode;

use chrono::{DateTime, FixedOffset, Utc};
use clap::Subcommand;
use ticketgate::service::{JobKind, Services};

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Each job with its schedule, what it does, and its last run.
    List,
    /// Run one job now and print what it did.
    Run {
        /// auto-close, resolution-reminder, waiting-reminder or purge.
        name: JobKind,
        /// Act as of this moment instead of now (RFC 3339, e.g. 2026-12-01T09:00:00Z):
        /// to see what a run on that day would do, or to catch up by hand.
        #[arg(long, value_name = "RFC3339")]
        now: Option<DateTime<FixedOffset>>,
    },
}

/// Runs a `jobs` command.
pub async fn run(services: &Services, command: JobsCommand) -> anyhow::Result<ExitCode> {
    let jobs = services.jobs();
    match command {
        JobsCommand::List => {
            for job in jobs.list().await? {
                let state = if job.enabled { "" } else { " (off)" };
                println!(
                    "{:<20} {:<16} {}{state}",
                    job.kind.name(),
                    job.schedule,
                    job.description
                );
                match job.last_run {
                    Some(r) => println!(
                        "{:<20} last run {} ({}, as of {}): {}{}",
                        "",
                        r.started_at.format("%Y-%m-%d %H:%M:%S"),
                        r.started_by,
                        r.as_of.format("%Y-%m-%d %H:%M:%S"),
                        r.summary.as_deref().unwrap_or("did not finish"),
                        r.error.map(|e| format!(": {e}")).unwrap_or_default()
                    ),
                    None => println!("{:<20} never run", ""),
                }
            }
        }
        JobsCommand::Run { name, now } => {
            let report = match now {
                Some(at) => {
                    jobs.run_as_of(name, "manual", at.with_timezone(&Utc))
                        .await?
                }
                None => jobs.run(name, "manual").await?,
            };
            println!(
                "{}: as of {}: {}",
                report.job,
                report.as_of.to_rfc3339(),
                report.summary()
            );
            for line in &report.lines {
                println!("  {line}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
