//! `ticketgate outbox …`: notifications waiting, sent, held back or failed.

use std::process::ExitCode;

use clap::Subcommand;
use ticketgate::service::{Flushed, OutboxStatus, Services};

use super::out::outln;

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List notifications, newest first, with their state and last error.
    List {
        /// Only pending, sending, sent, failed, held (by the loop governor) or skipped (by
        /// the recipient's preferences) ones.
        #[arg(long)]
        status: Option<OutboxStatus>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Make a failed, held, skipped or waiting notification due now (the daemon sends it,
    /// if the loop governor lets it through this time).
    Retry { id: i64 },
    /// Send every due and waiting notification now, then exit. Says how many were sent,
    /// deferred (a temporary failure, such as the mail server being down: tried again
    /// later) and failed; the exit status is 1 when any was deferred or failed.
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
            let entries = outbox.list(status, limit).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&entries)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            for e in &entries {
                outln!(
                    "{:>6}  {}  {:<7} {:<18} {:<8} tries {}  {}{}",
                    e.id,
                    e.ticket.as_ref().map_or("-", |t| t.as_str()),
                    e.channel,
                    e.event,
                    e.status,
                    e.attempts,
                    e.recipient,
                    e.held_reason
                        .as_deref()
                        .or(e.last_error.as_deref())
                        .map(|m| format!("  ({m})"))
                        .unwrap_or_default()
                )?;
            }
        }
        OutboxCommand::Retry { id } => {
            outbox.retry(id).await?;
            outln!("notification {id} is due now")?;
        }
        OutboxCommand::Flush => {
            let flushed = outbox.flush().await?;
            outln!("{}", flush_summary(&flushed))?;
            if !flushed.all_sent() {
                eprintln!(
                    "ticketgate: not every notification was sent; `ticketgate outbox list` shows why"
                );
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line: how many went, and how many did not and why.
fn flush_summary(f: &Flushed) -> String {
    let mut line = format!(
        "{} sent, {} deferred (will be retried), {} failed",
        f.sent, f.deferred, f.failed
    );
    if f.held > 0 {
        line.push_str(&format!(", {} held back by the loop governor", f.held));
    }
    if f.skipped > 0 {
        line.push_str(&format!(", {} skipped by preferences", f.skipped));
    }
    line
}
