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

/// `ticketgate send-test-email ADDRESS [--lang fr]`: one test message, sent now; what the
/// server answered, or where the file went. Exit 1 when it was not sent.
pub async fn send_test(
    services: &Services,
    address: &str,
    lang: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use ticketgate::notify::transport::Handed;
    let sent = match services.outbox().send_test(address, lang).await {
        Ok(sent) => sent,
        Err(e) => {
            eprintln!("ticketgate: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    outln!(
        "sent \"{}\" to {address} (Message-ID <{}>)",
        sent.subject,
        sent.message_id
    )?;
    match &sent.handed {
        Handed::Accepted(answer) => outln!("the SMTP server answered: {answer}")?,
        Handed::Written(path) => outln!(
            "[smtp] transport = \"file\": written to {} (nothing leaves this machine)",
            path.display()
        )?,
        Handed::Piped(command) => outln!("{} took it (exit status 0)", command.display())?,
    }
    Ok(ExitCode::SUCCESS)
}
