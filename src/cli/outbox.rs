//! `ticketgate outbox …`: notifications waiting, sent, held back or failed.

use std::process::ExitCode;

use clap::Subcommand;
use ticketgate::service::Services;

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List notifications, newest first, with their state and last error.
    List {
        /// Only pending, sending, sent, failed, held (by the loop governor) or skipped (by
        /// the recipient's preferences) ones.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Make a failed, held, skipped or waiting notification due now (the daemon sends it,
    /// if the loop governor lets it through this time).
    Retry { id: i64 },
    /// Send every due and waiting notification now, then exit.
    Flush,
}

/// Runs an `outbox` command.
pub async fn run(services: &Services, command: OutboxCommand) -> anyhow::Result<ExitCode> {
    let outbox = services.outbox();
    match command {
        OutboxCommand::List {
            status,
            limit,
            json,
        } => {
            let entries = outbox.list(status.as_deref(), limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
                return Ok(ExitCode::SUCCESS);
            }
            for e in &entries {
                println!(
                    "{:>6}  {}  {:<18} {:<8} tries {}  {}{}",
                    e.id,
                    e.ticket,
                    e.event,
                    e.status,
                    e.attempts,
                    e.recipient,
                    e.held_reason
                        .as_deref()
                        .or(e.last_error.as_deref())
                        .map(|m| format!("  ({m})"))
                        .unwrap_or_default()
                );
            }
        }
        OutboxCommand::Retry { id } => {
            outbox.retry(id).await?;
            println!("notification {id} is due now");
        }
        OutboxCommand::Flush => {
            let handled = outbox.flush().await?;
            println!("{handled} notification(s) handled");
        }
    }
    Ok(ExitCode::SUCCESS)
}
