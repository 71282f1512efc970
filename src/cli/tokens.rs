//! `ticketgate tokens …`: the JSON API's bearer tokens, made, listed and revoked.

use std::process::ExitCode;

use clap::Subcommand;
use ticketgate::service::{Scope, Services};

use super::out::outln;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make a token and print it, once: only a hash of it is kept.
    Create {
        /// What the token is for (a dashboard, a phone gateway…); it names the token's
        /// requests in the logs.
        name: String,
        /// read: look only; write: also change tickets, contacts, the outbox…
        #[arg(long, default_value = "read", value_parser = ["read", "write"])]
        scope: String,
    },
    /// The tokens, with their scope and when they were made or revoked.
    List,
    /// Refuse a token's requests from now on.
    Revoke { name: String },
}

/// Runs a `tokens` command.
pub async fn run(services: &Services, command: TokensCommand) -> anyhow::Result<ExitCode> {
    let tokens = services.tokens();
    match command {
        TokensCommand::Create { name, scope } => {
            let scope: Scope = scope.parse()?;
            let (token, secret) = tokens.create(&name, scope).await?;
            eprintln!(
                "ticketgate: token `{}` ({}) made; keep it now, it is not shown again:",
                token.name,
                token.scope.as_str()
            );
            outln!("{secret}")?;
        }
        TokensCommand::List => {
            let all = tokens.list().await?;
            if all.is_empty() {
                eprintln!(
                    "ticketgate: no token yet; make one with `ticketgate tokens create NAME`"
                );
            }
            let width = all.iter().map(|t| t.name.len()).max().unwrap_or(4).max(4);
            for t in &all {
                outln!(
                    "{:<width$}  {:<5}  made {}{}",
                    t.name,
                    t.scope.as_str(),
                    t.created_at.format("%Y-%m-%d %H:%M UTC"),
                    t.revoked_at
                        .map(|r| format!(", revoked {}", r.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default()
                )?;
            }
        }
        TokensCommand::Revoke { name } => {
            tokens.revoke(&name).await?;
            outln!("token `{name}` revoked")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
