//! Configuration: embedded defaults, then a TOML file, then `TICKETGATE_*` environment
//! variables for single keys; validated into typed [`Settings`] with every error reported
//! at once and named by its key.
//!
//! `load` reads the layers and `raw` gives the file's shape; each section has its own file
//! (`mail`, `tickets`, `[[mailbox]]` in `mailbox/`…) that holds its keys as written and
//! validates them, recording every problem under its full key (`mailbox[0].tls`);
//! `validate` runs them all, checks what spans several sections, and assembles
//! [`Settings`].

use std::collections::BTreeSet;
use std::path::PathBuf;

mod agent;
mod authentication;
mod cluster;
mod database;
mod error;
mod http;
mod intake;
mod jobs;
mod limits;
mod load;
mod log;
mod mail;
mod mailbox;
mod notifications;
mod portal;
mod raw;
mod routing;
mod secret;
mod sms;
mod smtp;
mod storage;
mod tickets;
mod tls;
mod top_level;
mod validate;
mod webhook;

pub use agent::Agent;
pub use authentication::{AgentPolicy, AuthPolicy, AuthenticationSettings, CustomerPolicy};
pub use cluster::ClusterSettings;
pub use database::DatabaseUrl;
pub use error::ConfigError;
pub use http::HttpSettings;
pub use jobs::{CronSchedule, JobsSettings, check_cron};
pub use limits::{LoopLimits, RateLimit};
pub use load::{CONFIG_ENV, DEFAULT_CONFIG_PATH};
pub use log::{LogFormat, LogSettings};
pub use mail::MyTicketsRequest;
pub use mailbox::{MailboxAuth, MailboxSettings, OAuth2Endpoint, ProcessedAction, TokenSource};
pub use notifications::Branding;
pub use portal::PortalSettings;
pub use secret::SecretSource;
pub use sms::SMS_GATEWAY;
pub use smtp::SmtpSettings;
pub use storage::{StorageBackend, StorageSettings};
pub use tickets::TicketDefaults;
pub use tls::TlsMode;
pub use webhook::{WebhookSettings, subscriptions as webhook_subscriptions};

use crate::domain::{EmailAddress, RoutingRule, SubjectTag};

/// Where the configuration came from, for `check-config` and the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// No file: the embedded defaults (plus environment overrides).
    Embedded,
    /// This file.
    File(std::path::PathBuf),
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigSource::Embedded => f.write_str("embedded defaults"),
            ConfigSource::File(p) => write!(f, "{}", p.display()),
        }
    }
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
    /// What makes a mail a request for one's tickets ("my tickets") rather than a new one.
    pub my_tickets: MyTicketsRequest,
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
    /// The web server that answers them.
    pub http: HttpSettings,
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
    /// How notifications look beyond the company's name.
    pub branding: Branding,
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
    /// How many of the other recipients of a mail that opens a ticket become its
    /// observers; the rest are named in a note on its first article. A stranger's mail
    /// to a thousand people must not make a thousand people hear of the ticket.
    pub max_observers_from_mail: usize,
    /// The labels of the `Label: value` lines that set a new ticket's fields; `None` when
    /// `tickets.read_fields` is off.
    pub field_labels: Option<crate::domain::FieldLabels>,
    /// The scheduler's jobs.
    pub jobs: JobsSettings,
    /// How this instance shares mailboxes and jobs with others on the same database.
    pub cluster: ClusterSettings,
    /// Who really sent a mail, and what rests on it.
    pub authentication: AuthenticationSettings,
    /// Where attachments and raw mail are kept.
    pub storage: StorageSettings,
    /// URLs told of events by a signed POST, through the outbox (`[[webhook]]`).
    pub webhooks: Vec<WebhookSettings>,
    /// The SMS gateway contacts' short texts are posted to (`[sms]`), when configured.
    pub sms_gateway: Option<WebhookSettings>,
    /// How log lines are written, and how much the daemon says.
    pub log: LogSettings,
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

    /// The warning `check-config` and the daemon's start give when a customer's comment on
    /// a ticket nobody is assigned to is told to nobody: only an assigned agent or
    /// `[mail] agents_address` hear of them. `None` when that address is set.
    pub fn unheard_customer_comments(&self) -> Option<&'static str> {
        self.agents_address.is_none().then_some(
            "customer comments on unassigned tickets reach nobody: set [mail] agents_address",
        )
    }
}

/// What the configuration's tests share.
#[cfg(test)]
mod test_support {
    use super::{ConfigError, ConfigSource, Settings};

    /// `text` as the configuration file, with `env` as the environment.
    pub(super) fn load(text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_toml(
            text,
            ConfigSource::Embedded,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }
}
