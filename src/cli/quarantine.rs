//! `ticketgate quarantine …`: messages that could not be handled.

use std::process::ExitCode;

use clap::Subcommand;
use ticketgate::service::{QuarantineRetry, Services};

use super::EXIT_QUARANTINED;
use super::out::outln;

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// List quarantined messages with their reasons.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Run a quarantined message through the pipeline again.
    Retry { id: String },
}

/// Runs a `quarantine` command.
pub async fn run(services: &Services, command: QuarantineCommand) -> anyhow::Result<ExitCode> {
    let quarantine = services.quarantine();
    match command {
        QuarantineCommand::List { json } => {
            let entries = quarantine.list()?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&entries)?)?;
            } else if entries.is_empty() {
                outln!("quarantine is empty")?;
            } else {
                for e in entries {
                    outln!(
                        "{}  {}  tries {}  {}  {}",
                        e.id,
                        e.quarantined_at.to_rfc3339(),
                        e.attempts,
                        e.source,
                        e.reason
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        QuarantineCommand::Retry { id } => match quarantine.retry(&id).await? {
            QuarantineRetry::Handled(report) => {
                outln!("{}", report.line())?;
                Ok(ExitCode::SUCCESS)
            }
            QuarantineRetry::StillQuarantined(entry) => {
                outln!(
                    "{id}: still quarantined ({}), tried {} times",
                    entry.reason,
                    entry.attempts
                )?;
                Ok(ExitCode::from(EXIT_QUARANTINED))
            }
        },
    }
}
