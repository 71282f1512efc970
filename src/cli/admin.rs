//! The commands about ticketgate itself: the daemon, its database, its configuration and
//! the mailbox leases instances share.

use std::process::ExitCode;

use anyhow::Context;
use std::path::PathBuf;

use ticketgate::app::{App, LoadSettings};
use ticketgate::config::Settings;
use ticketgate::service::{LeaseState, Services};

use super::out::outln;

/// `ticketgate run`: the daemon, until SIGTERM or SIGINT; SIGHUP reads the configuration
/// again (from `config`, or where the environment says, as at start).
pub async fn run_daemon(settings: Settings, config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    tracing::info!(config = %settings.source, database = %settings.database_url, "starting");
    let shutdown =
        ticketgate::shutdown::on_signals().context("cannot listen for SIGTERM and SIGINT")?;
    let app = App::build(settings).await?;
    let load: LoadSettings = Box::new(move || Settings::load(config.as_deref(), std::env::vars()));
    app.run_until_stopped(shutdown, Some(load)).await;
    Ok(ExitCode::SUCCESS)
}

/// `ticketgate leases`: which instance reads which mailbox, and until when.
pub async fn leases(services: &Services) -> anyhow::Result<ExitCode> {
    let leases = services.leases().list().await?;
    if leases.is_empty() {
        outln!("no leases: no instance has read a mailbox yet")?;
    }
    for view in leases {
        let lease = &view.lease;
        let state = match view.state {
            LeaseState::Held { until, remaining } => format!(
                "held, renewed until {} (in {} s)",
                until.format("%Y-%m-%d %H:%M:%S"),
                remaining.num_seconds()
            ),
            LeaseState::Free => {
                "free (released or expired): the next instance to ask takes it".into()
            }
        };
        outln!(
            "{:<24} {:<40} since {}, token {}: {state}",
            lease.name,
            lease.holder,
            lease.acquired_at.format("%Y-%m-%d %H:%M:%S"),
            lease.token
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `ticketgate mailboxes`: where each IMAP mailbox stands.
pub async fn mailboxes(services: &Services) -> anyhow::Result<ExitCode> {
    let list = services.mailboxes().list().await?;
    if list.is_empty() {
        outln!("no [[mailbox]] configured")?;
    }
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M:%S").to_string();
    for m in list {
        outln!("{}  {} {} → {}", m.name, m.host, m.folder, m.processed)?;
        match (&m.state.cursor, m.state.cursor_updated_at) {
            (Some(c), Some(at)) => outln!(
                "  handled up to UID {} (UIDVALIDITY {}), {}",
                c.last_uid,
                c.uid_validity,
                when(at)
            )?,
            _ => outln!("  never read")?,
        }
        if let Some(since) = m.state.pending_since {
            outln!(
                "  {} handled message(s) not acknowledged on the server, since {}: they are tickets and are not fetched again; the daemon keeps trying",
                m.state.pending_acks,
                when(since)
            )?;
        }
        for p in &m.state.problems {
            outln!(
                "  {} problem since {}: {}",
                p.area,
                when(p.since),
                p.message
            )?;
        }
        if m.state.problems.is_empty() && m.state.pending_acks == 0 && m.state.cursor.is_some() {
            outln!("  no problem")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ticketgate migrate`: the database is brought up to date when the services open it.
pub async fn migrate(services: &Services, accept_link_key: bool) -> anyhow::Result<ExitCode> {
    outln!(
        "database {} is up to date",
        services.settings().database_url
    )?;
    if accept_link_key {
        services.admin().accept_link_key().await?;
        outln!("this configuration's link key is now the one every instance must use")?;
    }
    Ok(ExitCode::SUCCESS)
}
