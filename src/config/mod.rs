//! Configuration: embedded defaults, then a TOML file, then `TICKETGATE_*` environment
//! variables for single keys; validated into typed [`Settings`] with every error reported
//! at once and named by its key.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

mod cluster;
mod error;
mod jobs;
mod limits;
mod load;
mod mailbox;
mod storage;

pub use cluster::ClusterSettings;
pub use error::ConfigError;
pub use jobs::{CronSchedule, JobsSettings, check_cron};
pub use limits::{LoopLimits, RateLimit};
pub use load::{CONFIG_ENV, ConfigSource, DEFAULT_CONFIG_PATH};
pub use mailbox::{
    MailboxAuth, MailboxSettings, OAuth2Endpoint, ProcessedAction, SecretSource, TlsMode,
    TokenSource,
};
pub use storage::{StorageBackend, StorageSettings};

use crate::domain::{EmailAddress, Impact, SubjectTag, TicketType, Urgency};
use crate::domain::{RoutingRule, RoutingRuleSpec};

/// Public mail providers: a shared domain there says nothing about a shared organisation.
const DEFAULT_PUBLIC_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.fr",
    "live.com",
    "live.fr",
    "msn.com",
    "yahoo.com",
    "yahoo.fr",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "gmx.com",
    "gmx.de",
    "gmx.fr",
    "web.de",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "sfr.fr",
    "laposte.net",
    "bbox.fr",
    "proton.me",
    "protonmail.com",
    "yandex.ru",
    "mail.ru",
    "zoho.com",
    "fastmail.com",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawConfig {
    data_dir: PathBuf,
    max_attachment_bytes: u64,
    max_message_bytes: u64,
    public_domains: Vec<String>,
    database: RawDatabase,
    mail: RawMail,
    tickets: RawTickets,
    intake: RawIntake,
    portal: RawPortal,
    notifications: RawNotifications,
    smtp: RawSmtp,
    jobs: jobs::RawJobs,
    cluster: cluster::RawCluster,
    storage: storage::RawStorage,
    routing: Vec<RoutingRuleSpec>,
    agent: Vec<RawAgent>,
    mailbox: Vec<mailbox::RawMailbox>,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            max_attachment_bytes: 2 * 1024 * 1024,
            max_message_bytes: 50 * 1024 * 1024,
            public_domains: DEFAULT_PUBLIC_DOMAINS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            database: RawDatabase::default(),
            mail: RawMail::default(),
            tickets: RawTickets::default(),
            intake: RawIntake::default(),
            portal: RawPortal::default(),
            notifications: RawNotifications::default(),
            smtp: RawSmtp::default(),
            jobs: jobs::RawJobs::default(),
            cluster: cluster::RawCluster::default(),
            storage: storage::RawStorage::default(),
            routing: Vec::new(),
            agent: Vec::new(),
            mailbox: Vec::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawDatabase {
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawMail {
    addresses: Vec<String>,
    agents_address: Option<String>,
    sender_from_reply_to: bool,
}

impl Default for RawMail {
    fn default() -> Self {
        Self {
            addresses: vec!["support@localhost".into()],
            agents_address: None,
            sender_from_reply_to: false,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawTickets {
    number_tag: String,
    default_type: String,
    default_impact: String,
    default_urgency: String,
    default_language: String,
    auto_close_days: u32,
    reopen_window_days: u32,
    approval_words: Vec<String>,
    refusal_words: Vec<String>,
}

impl Default for RawTickets {
    fn default() -> Self {
        Self {
            number_tag: "[#{number}]".into(),
            default_type: "incident".into(),
            default_impact: "degraded".into(),
            default_urgency: "medium".into(),
            default_language: "en".into(),
            auto_close_days: 7,
            reopen_window_days: 14,
            approval_words: jobs::default_approval_words(),
            refusal_words: jobs::default_refusal_words(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSmtp {
    transport: String,
    host: String,
    port: Option<u16>,
    tls: String,
    username: Option<String>,
    password: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    sendmail_command: PathBuf,
}

impl Default for RawSmtp {
    fn default() -> Self {
        Self {
            transport: "file".into(),
            host: "localhost".into(),
            port: None,
            tls: "starttls".into(),
            username: None,
            password: None,
            password_env: None,
            password_file: None,
            ca_file: None,
            sendmail_command: PathBuf::from("/usr/sbin/sendmail"),
        }
    }
}

/// How notifications leave.
#[derive(Debug, Clone)]
pub enum SmtpSettings {
    /// `.eml` files under `data_dir/outbox/`.
    Files,
    /// An SMTP server.
    Server {
        host: String,
        port: u16,
        tls: TlsMode,
        username: Option<String>,
        password: Option<SecretSource>,
        /// A PEM certificate to trust besides the public roots (an internal CA).
        ca_file: Option<PathBuf>,
    },
    /// The local MTA's sendmail command, which queues the mail itself.
    Sendmail { command: PathBuf },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawNotifications {
    template_dir: Option<PathBuf>,
    retry_first_secs: u64,
    recipient_limits: Vec<String>,
    ticket_limits: Vec<String>,
    undeliverable_days: u32,
    company: Option<String>,
}

impl Default for RawNotifications {
    fn default() -> Self {
        Self {
            template_dir: None,
            retry_first_secs: 30,
            recipient_limits: vec!["10/10m".into(), "40/1d".into()],
            ticket_limits: vec!["60/1h".into(), "300/1d".into()],
            undeliverable_days: 3,
            company: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawPortal {
    base_url: String,
    link_secret: Option<String>,
    link_secret_env: Option<String>,
    link_secret_file: Option<PathBuf>,
    link_lifetime_days: u32,
}

impl Default for RawPortal {
    fn default() -> Self {
        Self {
            base_url: "http://localhost:8080".into(),
            link_secret: None,
            link_secret_env: None,
            link_secret_file: None,
            link_lifetime_days: 30,
        }
    }
}

/// Where direct links in notifications point, and how they are signed.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    /// The portal's address; links are `BASE_URL/tickets/NUMBER?token=…`.
    pub base_url: String,
    /// The signing secret; without one, a random key is kept in `data_dir/link-secret`.
    pub link_secret: Option<SecretSource>,
    /// How long a link stays valid.
    pub link_lifetime_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawIntake {
    maildir: Option<PathBuf>,
    poll_interval_ms: u64,
    retry_budget: u32,
}

impl Default for RawIntake {
    fn default() -> Self {
        Self {
            maildir: None,
            poll_interval_ms: 250,
            retry_budget: 8,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    name: String,
    email: String,
}

/// A support agent known to ticketgate: may write on any ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Shown as the author of their articles.
    pub name: String,
    /// Their mail address, by which their mail is recognised.
    pub email: EmailAddress,
}

/// The database URL, kept apart so that its password never reaches a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL with its secret, for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `url` with its password replaced by `***`, for messages and logs.
    pub fn redact(url: &str) -> String {
        DatabaseUrl(url.to_string()).to_string()
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // scheme://user:password@host → scheme://user:***@host
        match (self.0.find("://"), self.0.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                let creds = &self.0[s + 3..at];
                match creds.split_once(':') {
                    Some((user, _)) => write!(f, "{}{user}:***{}", &self.0[..s + 3], &self.0[at..]),
                    None => f.write_str(&self.0),
                }
            }
            _ => f.write_str(&self.0),
        }
    }
}

/// Defaults given to tickets opened by mail, before routing rules apply.
#[derive(Debug, Clone)]
pub struct TicketDefaults {
    pub ticket_type: TicketType,
    pub impact: Impact,
    pub urgency: Urgency,
    /// `en` or `fr`: used when a mail's language cannot be told.
    pub language: String,
}

/// The validated configuration every component is built from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the configuration came from.
    pub source: ConfigSource,
    /// Root of everything ticketgate writes on disk.
    pub data_dir: PathBuf,
    /// The store to use.
    pub database_url: DatabaseUrl,
    /// Files larger than this are not stored (the ticket is still created).
    pub max_attachment_bytes: u64,
    /// Messages larger than this are quarantined unread.
    pub max_message_bytes: u64,
    /// Domains whose users are not one organisation.
    pub public_domains: BTreeSet<String>,
    /// Our own addresses: mail from them is a loop; they are never observers.
    pub own_addresses: Vec<EmailAddress>,
    /// Where customer comments are reported when a ticket has no assigned agent.
    pub agents_address: Option<EmailAddress>,
    /// Take the sender from Reply-To rather than From (for forms and relays that send
    /// on the customer's behalf).
    pub sender_from_reply_to: bool,
    /// The subject tag that carries ticket numbers.
    pub subject_tag: SubjectTag,
    /// Values given to new tickets.
    pub ticket_defaults: TicketDefaults,
    /// The Maildir `ticketgate run` watches.
    pub maildir: PathBuf,
    /// How often the Maildir is scanned for new files.
    pub poll_interval_ms: u64,
    /// How many times a message that fails for a temporary reason is tried before it is
    /// quarantined.
    pub retry_budget: u32,
    /// Rules that set type, category, urgency and impact, first match wins.
    pub routing: Vec<RoutingRule>,
    /// Known agents.
    pub agents: Vec<Agent>,
    /// IMAP mailboxes to watch.
    pub mailboxes: Vec<MailboxSettings>,
    /// Direct links in notifications.
    pub portal: PortalSettings,
    /// Where an operator's templates override the embedded ones (`LANG/EVENT.PART.hbs`).
    pub template_dir: Option<PathBuf>,
    /// How notifications leave.
    pub smtp: SmtpSettings,
    /// The first pause before a notification that failed for a temporary reason is tried
    /// again; it doubles each time, up to an hour.
    pub notification_retry_first: std::time::Duration,
    /// What the loop governor allows.
    pub loop_limits: LoopLimits,
    /// The name notifications sign with ("Acme support"); by default the domain of our
    /// first address.
    pub company: String,
    /// Days a resolved ticket waits for its requester before it is closed automatically
    /// (the solution mail says so).
    pub auto_close_days: u32,
    /// Days after closing during which a customer's mail reopens the ticket; later, it
    /// opens a new ticket that follows the closed one up.
    pub reopen_window_days: u32,
    /// Lower-cased words that, first in a reply to a resolved ticket, approve its solution.
    pub approval_words: Vec<String>,
    /// Lower-cased words that refuse it (any other reply refuses it too; these are only
    /// recognised, and not kept as the comment's text).
    pub refusal_words: Vec<String>,
    /// The scheduler's jobs.
    pub jobs: JobsSettings,
    /// How this instance shares mailboxes and jobs with others on the same database.
    pub cluster: ClusterSettings,
    /// Where attachments and raw mail are kept.
    pub storage: StorageSettings,
}

impl Settings {
    /// The address notifications are sent from and ticketgate's own articles are written
    /// under: the first of our addresses, or `support@localhost` when none is configured.
    pub fn sender_address(&self) -> EmailAddress {
        self.own_addresses
            .first()
            .cloned()
            .unwrap_or_else(|| EmailAddress::parse("support@localhost").expect("a valid literal"))
    }
}

/// Checks every key and assembles the settings, or lists every problem found.
fn validate(raw: RawConfig, source: ConfigSource) -> Result<Settings, Vec<String>> {
    let mut errors = Vec::new();
    let mut address = |key: &str, value: &str| match EmailAddress::parse(value) {
        Ok(a) => Some(a),
        Err(e) => {
            errors.push(format!("{key}: {e}"));
            None
        }
    };
    let own_addresses: Vec<EmailAddress> = raw
        .mail
        .addresses
        .iter()
        .filter_map(|a| address("mail.addresses", a))
        .collect();
    let agents_address = raw
        .mail
        .agents_address
        .as_deref()
        .and_then(|a| address("mail.agents_address", a));
    let agents: Vec<Agent> = raw
        .agent
        .iter()
        .filter_map(|a| {
            address("agent.email", &a.email).map(|email| Agent {
                name: a.name.clone(),
                email,
            })
        })
        .collect();

    let subject_tag = SubjectTag::new(&raw.tickets.number_tag)
        .map_err(|e| errors.push(format!("tickets.number_tag: {e}")))
        .ok();
    fn parse_field<T: std::str::FromStr<Err = crate::domain::UnknownValue>>(
        errors: &mut Vec<String>,
        key: &str,
        value: &str,
    ) -> Option<T> {
        value
            .parse()
            .map_err(|e| errors.push(format!("{key}: {e}")))
            .ok()
    }
    let ticket_type: Option<TicketType> = parse_field(
        &mut errors,
        "tickets.default_type",
        &raw.tickets.default_type,
    );
    let impact: Option<Impact> = parse_field(
        &mut errors,
        "tickets.default_impact",
        &raw.tickets.default_impact,
    );
    let urgency: Option<Urgency> = parse_field(
        &mut errors,
        "tickets.default_urgency",
        &raw.tickets.default_urgency,
    );
    if !matches!(raw.tickets.default_language.as_str(), "en" | "fr") {
        errors.push(format!(
            "tickets.default_language: `{}` is not a shipped language; use `en` or `fr`",
            raw.tickets.default_language
        ));
    }
    if raw.max_attachment_bytes == 0 {
        errors.push("max_attachment_bytes: must be more than 0".into());
    }
    if raw.max_message_bytes < 1024 {
        errors.push("max_message_bytes: must be at least 1024".into());
    }
    if raw.intake.poll_interval_ms == 0 {
        errors.push("intake.poll_interval_ms: must be more than 0".into());
    }
    if raw.intake.retry_budget == 0 {
        errors.push("intake.retry_budget: must be at least 1".into());
    }
    let mut routing = Vec::new();
    for (i, spec) in raw.routing.iter().enumerate() {
        let name = spec.name.clone().unwrap_or_else(|| format!("routing[{i}]"));
        match RoutingRule::compile(name, spec) {
            Ok(rule) => routing.push(rule),
            Err(errs) => errors.extend(
                errs.iter()
                    .map(|e| format!("routing[{i}].{}: {e}", e.field())),
            ),
        }
    }
    let mut mailboxes: Vec<MailboxSettings> = Vec::new();
    for (i, m) in raw.mailbox.into_iter().enumerate() {
        match m.validate(i) {
            Ok(m) if mailboxes.iter().any(|o| o.name == m.name) => errors.push(format!(
                "mailbox[{i}].name: `{}` is used by another mailbox",
                m.name
            )),
            Ok(m) => mailboxes.push(m),
            Err(errs) => errors.extend(errs),
        }
    }
    let mut own_addresses = own_addresses;
    for m in &mailboxes {
        if !own_addresses.iter().any(|a| a.same_mailbox(&m.address)) {
            own_addresses.push(m.address.clone());
        }
    }
    let p = raw.portal;
    let link_secret = SecretSource::one_of(
        "portal.link_secret",
        p.link_secret,
        p.link_secret_env,
        p.link_secret_file,
        &mut errors,
    );
    if !(p.base_url.starts_with("https://") || p.base_url.starts_with("http://")) {
        errors.push(format!(
            "portal.base_url: `{}` must start with https:// (or http://)",
            p.base_url
        ));
    }
    if p.link_lifetime_days == 0 {
        errors.push("portal.link_lifetime_days: must be at least 1".into());
    }
    let portal = PortalSettings {
        base_url: p.base_url,
        link_secret,
        link_lifetime_days: p.link_lifetime_days,
    };
    let m = raw.smtp;
    let smtp_password = SecretSource::one_of(
        "smtp.password",
        m.password,
        m.password_env,
        m.password_file,
        &mut errors,
    );
    let loopback = mailbox::is_loopback(&m.host);
    let smtp_tls = match m.tls.as_str() {
        "starttls" => Some(TlsMode::StartTls),
        "implicit" => Some(TlsMode::Implicit),
        "none" if loopback => Some(TlsMode::None),
        "none" => {
            errors.push(format!(
                "smtp.tls: `none` is accepted only for a loopback host, not {}",
                m.host
            ));
            None
        }
        other => {
            errors.push(format!(
                "smtp.tls: `{other}` is not one of starttls, implicit, none"
            ));
            None
        }
    };
    let smtp = match (m.transport.as_str(), smtp_tls) {
        ("file", _) => SmtpSettings::Files,
        ("sendmail", _) => SmtpSettings::Sendmail {
            command: m.sendmail_command,
        },
        ("smtp", Some(tls)) => SmtpSettings::Server {
            port: m.port.unwrap_or(match tls {
                TlsMode::Implicit => 465,
                TlsMode::StartTls => 587,
                TlsMode::None => 25,
            }),
            host: m.host,
            tls,
            username: m.username,
            password: smtp_password,
            ca_file: m.ca_file,
        },
        ("smtp", None) => SmtpSettings::Files,
        (other, _) => {
            errors.push(format!(
                "smtp.transport: `{other}` is not one of file, smtp, sendmail"
            ));
            SmtpSettings::Files
        }
    };
    for (key, value, max) in [
        (
            "notifications.undeliverable_days",
            raw.notifications.undeliverable_days as u64,
            365,
        ),
        (
            "notifications.retry_first_secs",
            raw.notifications.retry_first_secs,
            3600,
        ),
        (
            "tickets.auto_close_days",
            raw.tickets.auto_close_days as u64,
            3650,
        ),
        (
            "tickets.reopen_window_days",
            raw.tickets.reopen_window_days as u64,
            3650,
        ),
    ] {
        if value > max {
            errors.push(format!("{key}: {value} is over the most accepted, {max}"));
        }
    }
    let mut limits = |key: &str, values: &[String]| -> Vec<RateLimit> {
        values
            .iter()
            .filter_map(|v| {
                v.parse()
                    .map_err(|e| errors.push(format!("notifications.{key}: {e}")))
                    .ok()
            })
            .collect()
    };
    let loop_limits = LoopLimits {
        per_recipient: limits("recipient_limits", &raw.notifications.recipient_limits),
        per_ticket: limits("ticket_limits", &raw.notifications.ticket_limits),
        undeliverable_for: std::time::Duration::from_secs(
            u64::from(raw.notifications.undeliverable_days) * 86_400,
        ),
    };
    if raw.tickets.auto_close_days == 0 {
        errors.push("tickets.auto_close_days: must be at least 1".into());
    }
    let approval_words = jobs::words("approval_words", &raw.tickets.approval_words, &mut errors);
    let refusal_words = jobs::words("refusal_words", &raw.tickets.refusal_words, &mut errors);
    let jobs = jobs::jobs(raw.jobs, raw.tickets.auto_close_days, &mut errors);
    let cluster = cluster::cluster(raw.cluster, &mut errors);
    let storage = storage::storage(raw.storage, &mut errors);
    let database_url =
        raw.database.url.clone().unwrap_or_else(|| {
            format!("sqlite://{}", raw.data_dir.join("ticketgate.db").display())
        });
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        errors.push(format!(
            "database.url: `{}` is not supported; use sqlite://PATH or postgres://USER@HOST/DB",
            DatabaseUrl(database_url.clone())
        ));
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(subject_tag), Some(ticket_type), Some(impact), Some(urgency)) =
        (subject_tag, ticket_type, impact, urgency)
    else {
        unreachable!("every missing value pushed an error");
    };
    let company = raw.notifications.company.clone().unwrap_or_else(|| {
        own_addresses
            .first()
            .map_or("localhost", |a| a.domain())
            .to_string()
    });
    Ok(Settings {
        source,
        maildir: raw
            .intake
            .maildir
            .unwrap_or_else(|| raw.data_dir.join("inbox")),
        data_dir: raw.data_dir,
        database_url: DatabaseUrl(database_url),
        max_attachment_bytes: raw.max_attachment_bytes,
        max_message_bytes: raw.max_message_bytes,
        public_domains: raw
            .public_domains
            .iter()
            .map(|d| d.trim().to_ascii_lowercase())
            .collect(),
        own_addresses,
        agents_address,
        sender_from_reply_to: raw.mail.sender_from_reply_to,
        subject_tag,
        ticket_defaults: TicketDefaults {
            ticket_type,
            impact,
            urgency,
            language: raw.tickets.default_language,
        },
        poll_interval_ms: raw.intake.poll_interval_ms,
        retry_budget: raw.intake.retry_budget,
        routing,
        agents,
        mailboxes,
        portal,
        notification_retry_first: std::time::Duration::from_secs(
            raw.notifications.retry_first_secs.max(1),
        ),
        template_dir: raw.notifications.template_dir,
        smtp,
        company,
        loop_limits,
        auto_close_days: raw.tickets.auto_close_days,
        reopen_window_days: raw.tickets.reopen_window_days,
        approval_words,
        refusal_words,
        jobs,
        cluster,
        storage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_toml(
            text,
            ConfigSource::Embedded,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn embedded_defaults_are_valid() {
        let s = load("", &[]).unwrap();
        assert_eq!(s.database_url.expose(), "sqlite://data/ticketgate.db");
        assert_eq!(s.maildir, PathBuf::from("data/inbox"));
        assert_eq!(s.max_attachment_bytes, 2 * 1024 * 1024);
        assert!(s.public_domains.contains("gmail.com"));
    }

    #[test]
    fn every_error_is_reported_with_its_key() {
        let err = load(
            "[tickets]\nnumber_tag = \"#\"\ndefault_type = \"bug\"\n[mail]\naddresses = [\"nope\"]\n[[routing]]\nsubject = \"(\"\nurgency = \"high\"",
            &[],
        )
        .unwrap_err()
        .to_string();
        for key in [
            "tickets.number_tag",
            "tickets.default_type",
            "mail.addresses",
            "routing[0].subject",
        ] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
    }

    #[test]
    fn mailboxes_are_validated_and_their_addresses_become_ours() {
        let ok = load(
            "[[mailbox]]\nname = \"a\"\naddress = \"help@Example.com\"\nhost = \"127.0.0.1\"\ntls = \"none\"\n\
             username = \"u\"\npassword = \"hunter2\"\nprocessed = \"seen\"\n",
            &[],
        )
        .unwrap();
        let m = &ok.mailboxes[0];
        assert_eq!(
            (m.port, m.tls, &m.processed),
            (143, TlsMode::None, &ProcessedAction::Seen)
        );
        assert!(
            ok.own_addresses
                .iter()
                .any(|a| a.as_str() == "help@example.com")
        );
        assert!(
            !format!("{m:?}").contains("hunter2"),
            "secrets stay out of logs"
        );

        let err = load(
            "[[mailbox]]\nname = \"a\"\naddress = \"x@y.z\"\nhost = \"imap.example.com\"\ntls = \"none\"\n\
             username = \"u\"\npassword = \"p\"\npassword_file = \"f\"\nprocessed = \"archive\"\nidle_timeout_secs = 3600\n\
             [[mailbox]]\nname = \"b\"\naddress = \"b@y.z\"\nhost = \"h\"\nusername = \"u\"\nauth = \"xoauth2\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        for key in [
            "mailbox[0].tls",
            "mailbox[0].password",
            "mailbox[0].processed",
            "mailbox[0].idle_timeout_secs",
            "mailbox[1].auth",
        ] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
    }

    #[test]
    fn example_file_documents_a_valid_configuration() {
        let text = include_str!("../../config/ticketgate.example.toml");
        load(text, &[]).unwrap();
    }
}
