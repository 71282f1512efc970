//! The commands about ticketgate itself: the daemon, its database, its configuration and
//! the mailbox leases instances share.

use std::process::ExitCode;

use anyhow::Context;
use ticketgate::app::App;
use ticketgate::config::Settings;
use ticketgate::domain::ByteSize;
use ticketgate::service::{LeaseState, Services};

/// `ticketgate run`: the daemon, until SIGTERM or SIGINT.
pub async fn run_daemon(settings: Settings) -> anyhow::Result<ExitCode> {
    tracing::info!(config = %settings.source, database = %settings.database_url, "starting");
    let shutdown =
        ticketgate::shutdown::on_signals().context("cannot listen for SIGTERM and SIGINT")?;
    let app = App::build(settings).await?;
    app.run_until_stopped(shutdown).await;
    Ok(ExitCode::SUCCESS)
}

/// `ticketgate leases`: which instance reads which mailbox, and until when.
pub async fn leases(services: &Services) -> anyhow::Result<ExitCode> {
    let leases = services.leases().list().await?;
    if leases.is_empty() {
        println!("no leases: no instance has read a mailbox yet");
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
        println!(
            "{:<24} {:<40} since {}, token {}: {state}",
            lease.name,
            lease.holder,
            lease.acquired_at.format("%Y-%m-%d %H:%M:%S"),
            lease.token
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `ticketgate mailboxes`: where each IMAP mailbox stands.
pub async fn mailboxes(services: &Services) -> anyhow::Result<ExitCode> {
    let list = services.mailboxes().list().await?;
    if list.is_empty() {
        println!("no [[mailbox]] configured");
    }
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M:%S").to_string();
    for m in list {
        println!("{}  {} {} → {}", m.name, m.host, m.folder, m.processed);
        match (&m.state.cursor, m.state.cursor_updated_at) {
            (Some(c), Some(at)) => println!(
                "  handled up to UID {} (UIDVALIDITY {}), {}",
                c.last_uid,
                c.uid_validity,
                when(at)
            ),
            _ => println!("  never read"),
        }
        if let Some(since) = m.state.pending_since {
            println!(
                "  {} handled message(s) not acknowledged on the server, since {}: they are tickets and are not fetched again; the daemon keeps trying",
                m.state.pending_acks,
                when(since)
            );
        }
        for p in &m.state.problems {
            println!(
                "  {} problem since {}: {}",
                p.area,
                when(p.since),
                p.message
            );
        }
        if m.state.problems.is_empty() && m.state.pending_acks == 0 && m.state.cursor.is_some() {
            println!("  no problem");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ticketgate migrate`: the database is brought up to date when the services open it.
pub async fn migrate(services: &Services, accept_link_key: bool) -> anyhow::Result<ExitCode> {
    println!(
        "database {} is up to date",
        services.settings().database_url
    );
    if accept_link_key {
        services.admin().accept_link_key().await?;
        println!("this configuration's link key is now the one every instance must use");
    }
    Ok(ExitCode::SUCCESS)
}

/// `ticketgate check-config`: the configuration in effect, secrets hidden.
pub fn check_config(s: &Settings) -> anyhow::Result<ExitCode> {
    println!("configuration: {} (valid)", s.source);
    println!("data_dir = {}", s.data_dir.display());
    println!("database.url = {}", s.database_url);
    println!("storage.backend = {}", s.storage.backend);
    println!("intake.maildir = {}", s.maildir.display());
    println!(
        "max_attachment_bytes = {} ({})",
        s.max_attachment_bytes,
        ByteSize(s.max_attachment_bytes)
    );
    println!(
        "max_message_bytes = {} ({})",
        s.max_message_bytes,
        ByteSize(s.max_message_bytes)
    );
    let own: Vec<&str> = s.own_addresses.iter().map(|a| a.as_str()).collect();
    println!("mail.addresses = {}", own.join(", "));
    println!(
        "tickets: type {}, impact {}, urgency {}, language {}",
        s.ticket_defaults.ticket_type,
        s.ticket_defaults.impact,
        s.ticket_defaults.urgency,
        s.ticket_defaults.language
    );
    let auth = &s.authentication;
    println!(
        "authentication: agents {}, customers {}; trusted servers {}; DKIM checked here: {}",
        auth.policy.agents.as_str(),
        auth.policy.customers.as_str(),
        if auth.trusted_authserv_ids.is_empty() {
            "none".to_string()
        } else {
            auth.trusted_authserv_ids.join(", ")
        },
        if auth.verify { "yes" } else { "no" }
    );
    if !auth.can_authenticate() && auth.policy.agents == ticketgate::config::AgentPolicy::Require {
        println!(
            "  agents' mail commands cannot be authenticated: with no trusted server and verify = false, every agent's mail is taken as a customer's"
        );
    }
    println!("routing rules: {}", s.routing.len());
    println!("agents: {}", s.agents.len());
    println!("public domains: {}", s.public_domains.len());
    Ok(ExitCode::SUCCESS)
}
