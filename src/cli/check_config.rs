//! `ticketgate check-config`: the configuration in effect, secrets hidden, and whether the
//! database it names answers: what a unit's ExecStartPre runs before the daemon starts.

use std::process::ExitCode;

use ticketgate::config::{Settings, SmtpSettings, TlsMode};
use ticketgate::domain::ByteSize;
use ticketgate::service::{ConnectionService, DatabaseState, JobKind, Services};

use super::out::outln;

/// `ticketgate check-config [--connect]`: the configuration in effect, secrets hidden;
/// with `connect`, every server it names reached.
pub async fn check_config(s: &Settings, connect: bool) -> anyhow::Result<ExitCode> {
    outln!("configuration: {} (valid)", s.source)?;
    outln!("data_dir = {}", s.data_dir.display())?;
    outln!("database.url = {}", s.database_url)?;
    outln!("storage.backend = {}", s.storage.backend)?;
    outln!("intake.maildir = {}", s.maildir.display())?;
    outln!("log: {}", describe_log(&s.log))?;
    outln!(
        "max_attachment_bytes = {} ({})",
        s.max_attachment_bytes,
        ByteSize(s.max_attachment_bytes)
    )?;
    outln!(
        "max_message_bytes = {} ({})",
        s.max_message_bytes,
        ByteSize(s.max_message_bytes)
    )?;
    let own: Vec<&str> = s.own_addresses.iter().map(|a| a.as_str()).collect();
    outln!("mail.addresses = {}", own.join(", "))?;
    outln!(
        "tickets: type {}, impact {}, urgency {}, language {}",
        s.ticket_defaults.ticket_type,
        s.ticket_defaults.impact,
        s.ticket_defaults.urgency,
        s.ticket_defaults.language
    )?;
    let auth = &s.authentication;
    outln!(
        "authentication: agents {}, customers {}; trusted servers {}; DKIM checked here: {}",
        auth.policy.agents.as_str(),
        auth.policy.customers.as_str(),
        if auth.trusted_authserv_ids.is_empty() {
            "none".to_string()
        } else {
            auth.trusted_authserv_ids.join(", ")
        },
        if auth.verify { "yes" } else { "no" }
    )?;
    if !auth.can_authenticate() && auth.policy.agents == ticketgate::config::AgentPolicy::Require {
        outln!(
            "  agents' mail commands cannot be authenticated: with no trusted server and verify = false, every agent's mail is taken as a customer's"
        )?;
    }
    outln!("routing rules: {}", s.routing.len())?;
    outln!("agents: {}", s.agents.len())?;
    outln!("public domains: {}", s.public_domains.len())?;
    print_in_effect(s)?;
    let webhooks_ok = check_webhooks(s)?;
    if let Some(warning) = s.unheard_customer_comments() {
        eprintln!("ticketgate: warning: {warning}");
    }
    let database = if connect {
        check_connections(s).await?
    } else {
        check_database(s).await?
    };
    Ok(if webhooks_ok {
        database
    } else {
        ExitCode::from(1)
    })
}

/// Each webhook by its name and host (never its URL or secret), and whether its secret
/// can be read now and is a `whsec_` key: one in the environment or a file is read only
/// when the daemon starts, so this is where a missing one shows first.
fn check_webhooks(s: &Settings) -> std::io::Result<bool> {
    let mut ok = true;
    for (i, w) in s.webhooks.iter().enumerate() {
        let events: Vec<&str> = w.events.iter().map(|e| e.as_str()).collect();
        outln!(
            "webhook {} → {} ({}), timeout {} s: {}",
            w.name,
            w.host(),
            w.url.scheme(),
            w.timeout.as_secs(),
            events.join(", ")
        )?;
        ok &= secret_readable(w, &format!("webhook[{i}]"));
    }
    if let Some(gateway) = &s.sms_gateway {
        outln!(
            "SMS gateway → {} ({}), timeout {} s",
            gateway.host(),
            gateway.url.scheme(),
            gateway.timeout.as_secs()
        )?;
        ok &= secret_readable(gateway, "sms");
    }
    Ok(ok)
}

/// Whether the secret of `w` (configured under `table`) can be read now; says why not.
fn secret_readable(w: &ticketgate::config::WebhookSettings, table: &str) -> bool {
    let Err(reason) = w.key() else {
        return true;
    };
    let key = match w.secret {
        ticketgate::config::SecretSource::Inline(_) => "secret",
        ticketgate::config::SecretSource::Env(_) => "secret_env",
        ticketgate::config::SecretSource::File(_) => "secret_file",
    };
    eprintln!("ticketgate: {table}.{key}: {reason}");
    false
}

/// How notifications leave, where their links point, and which jobs run when.
fn print_in_effect(s: &Settings) -> std::io::Result<()> {
    match &s.smtp {
        SmtpSettings::Files => outln!(
            "smtp.transport = file: notifications are written to {} as .eml files",
            s.data_dir.join("outbox").display()
        )?,
        SmtpSettings::Server {
            host,
            port,
            tls,
            username,
            ..
        } => outln!(
            "smtp.transport = smtp: {host}:{port}, TLS {}, {}",
            match tls {
                TlsMode::Implicit => "implicit",
                TlsMode::StartTls => "STARTTLS",
                TlsMode::None => "none",
            },
            username
                .as_deref()
                .map_or("no login".to_string(), |u| format!("login as {u}"))
        )?,
        SmtpSettings::Sendmail { command } => {
            outln!("smtp.transport = sendmail: {}", command.display())?
        }
    }
    outln!(
        "portal: links to {}/tickets/…, valid {} days, {}",
        s.portal.base_url.trim_end_matches('/'),
        s.portal.link_lifetime_days,
        if s.portal.link_secret.is_some() {
            "signed with the configured key"
        } else {
            "signed with a key generated under data_dir"
        }
    )?;
    match s.http.listen {
        Some(address) => outln!(
            "http.listen = {address}: the portal answers the links, sessions last {} days, \
             {}",
            s.http.session_lifetime.as_secs() / 86_400,
            match s.http.trusted_proxies.len() {
                0 => "no proxy trusted for X-Forwarded-For".to_string(),
                n => format!("X-Forwarded-For believed from {n} trusted proxy network(s)"),
            }
        )?,
        None => outln!("http.listen is empty: no portal, the links open nothing")?,
    }
    match (s.http.listen, s.http.metrics_listen) {
        (_, Some(address)) => outln!("http.metrics_listen = {address}: /metrics is served there")?,
        (Some(_), None) => outln!("/healthz, /readyz and /metrics are served on http.listen")?,
        (None, None) => outln!("no /healthz, /readyz or /metrics: http.listen is empty")?,
    }
    outln!(
        "/readyz fails when a notification has been due {} s (http.ready_outbox_max_age_secs)",
        s.http.ready_outbox_max_age.as_secs()
    )?;
    for &job in JobKind::ALL {
        outln!(
            "job {:<20} {:<16} {}",
            job.name(),
            job.schedule(s),
            job.describe(s)
        )?;
    }
    Ok(())
}

/// Opens the database without creating or changing it: an unreachable one fails the
/// check (so that a unit's ExecStartPre stops there, saying why).
async fn check_database(s: &Settings) -> anyhow::Result<ExitCode> {
    match Services::probe_database(s).await? {
        DatabaseState::NotCreated { path } => outln!(
            "database: {path} does not exist yet; `ticketgate run` or `ticketgate migrate` creates it"
        )?,
        DatabaseState::Reachable { applied, known } => outln!(
            "database: reachable, {} of {known} migrations applied{}",
            applied.unwrap_or(0),
            if applied.unwrap_or(0) < known as i64 {
                " (the others are applied at the next start, or by `ticketgate migrate`)"
            } else {
                ""
            }
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Logs in to every mailbox, opens an SMTP session and the database, each on its own line,
/// `ok` or `FAILED` and why; exit 1 when any failed.
async fn check_connections(s: &Settings) -> anyhow::Result<ExitCode> {
    let checks = ConnectionService::new(std::sync::Arc::new(s.clone()))
        .check_all()
        .await;
    let mut failed = false;
    for check in checks {
        match check.outcome {
            Ok(found) => outln!("{}: ok ({found})", check.what)?,
            Err(reason) => {
                failed = true;
                outln!("{}: FAILED: {reason}", check.what)?
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `[log]` in words: the format in effect and the daemon's level.
fn describe_log(log: &ticketgate::config::LogSettings) -> String {
    use ticketgate::config::LogFormat;
    let format = match log.format {
        LogFormat::Auto => "auto (JSON under the systemd journal, else text)",
        LogFormat::Text => "text",
        LogFormat::Json => "json",
    };
    let level = log
        .level
        .map_or("info".to_string(), |l| l.to_string().to_lowercase());
    format!("format {format}, the daemon's level {level} (TICKETGATE_LOG wins)")
}
