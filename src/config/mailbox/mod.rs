//! `[[mailbox]]`: the IMAP mailboxes `ticketgate run` watches, with how to log in to each
//! (see [`auth`]) and what to do with a message once its ticket is committed.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::authentication::{AgentPolicy, CustomerPolicy, policy};
use super::error::Errors;
use super::tls::{TlsMode, is_loopback};
use crate::domain::{EmailAddress, TicketType};

mod auth;

pub use auth::{MailboxAuth, OAuth2Endpoint, TokenSource};

/// What happens to a message on the server once its ticket is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessedAction {
    /// Move it to this folder (created when missing).
    Move(String),
    /// Leave it and flag it \Seen.
    Seen,
    /// Delete and expunge it.
    Delete,
}

/// One watched IMAP mailbox.
#[derive(Debug, Clone, PartialEq)]
pub struct MailboxSettings {
    /// A short name for logs and the store's cursor.
    pub name: String,
    /// The support address this mailbox receives: one of our own addresses.
    pub address: EmailAddress,
    /// The IMAP server.
    pub host: String,
    /// 993 with implicit TLS and 143 otherwise, unless configured.
    pub port: u16,
    /// Never [`TlsMode::None`] for a server other than this machine.
    pub tls: TlsMode,
    /// The login name.
    pub username: String,
    /// How to log in.
    pub auth: MailboxAuth,
    /// Extra CA certificates (PEM) to trust, for a private CA or a self-signed server.
    pub ca_file: Option<PathBuf>,
    /// The folder watched.
    pub folder: String,
    /// What happens to a message once its ticket is committed.
    pub processed: ProcessedAction,
    /// Type of the tickets opened through this mailbox, unless a routing rule says otherwise.
    pub ticket_type: Option<TicketType>,
    /// Language of the tickets opened through this mailbox when the mail's cannot be told.
    pub language: Option<String>,
    /// Where times written in its mails are read, over `tickets.time_zone`.
    pub time_zone: Option<chrono_tz::Tz>,
    /// How many messages are fetched at once: bounds memory on a huge folder.
    pub batch_size: u32,
    /// How often to look for mail when the server has no IDLE.
    pub poll_interval: Duration,
    /// How long one IDLE lasts before it is renewed (RFC 2177: under 29 minutes).
    pub idle_timeout: Duration,
    /// How often to end IDLE and send NOOP, for servers that announce new mail during IDLE
    /// only at their own check interval (Courier and Cyrus: every 60 s).
    pub idle_check: Option<Duration>,
    /// This mailbox's own `[authentication] agents` policy, if it has one.
    pub agents: Option<AgentPolicy>,
    /// This mailbox's own `[authentication] customers` policy, if it has one.
    pub customers: Option<CustomerPolicy>,
}

/// One `[[mailbox]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMailbox {
    /// For logs and the stored cursor; unique among mailboxes.
    name: String,
    /// The address this mailbox receives: it becomes one of our own addresses.
    address: String,
    host: String,
    /// Default: 993 with `tls = "implicit"`, else 143.
    port: Option<u16>,
    /// `implicit`, `starttls`, or `none` (loopback hosts only: the password would travel
    /// in clear).
    #[serde(default = "default_tls")]
    tls: String,
    username: String,
    password: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    /// `password` or `xoauth2` (Gmail, Microsoft 365).
    #[serde(default = "default_auth")]
    auth: String,
    token_file: Option<PathBuf>,
    token_command: Option<String>,
    oauth2_token_url: Option<String>,
    oauth2_client_id: Option<String>,
    oauth2_client_secret: Option<String>,
    oauth2_client_secret_file: Option<PathBuf>,
    oauth2_refresh_token_file: Option<PathBuf>,
    oauth2_scope: Option<String>,
    /// To warn before the refresh token expires at its provider.
    #[serde(default = "default_refresh_lifetime")]
    oauth2_refresh_token_lifetime_days: u32,
    /// A CA to trust besides the public roots (private CA, self-signed server).
    ca_file: Option<PathBuf>,
    /// The folder watched.
    #[serde(default = "default_folder")]
    folder: String,
    /// `move:FOLDER`, `seen` or `delete`: what happens once the ticket is committed.
    #[serde(default = "default_processed")]
    processed: String,
    /// Type of the tickets opened through this mailbox.
    #[serde(rename = "type")]
    ticket_type: Option<String>,
    /// `en` or `fr`: the language when the mail's own cannot be told.
    language: Option<String>,
    /// The IANA zone of the times written in its mails (`Europe/Paris`).
    time_zone: Option<String>,
    /// Messages fetched (and committed) at once: bounds memory on a huge folder.
    #[serde(default = "default_batch")]
    batch_size: u32,
    /// How often to look for mail when the server has no IDLE.
    #[serde(default = "default_poll")]
    poll_interval_secs: u64,
    /// When IDLE is renewed: 10 to 1740 (RFC 2177 says under 29 minutes).
    #[serde(default = "default_idle")]
    idle_timeout_secs: u64,
    /// Optional: end IDLE and send NOOP this often, for servers that announce new mail
    /// during IDLE late (Courier, Cyrus: every 60 s).
    idle_check_secs: Option<u64>,
    /// `require` or `off`: this mailbox's `[authentication] agents`.
    agents: Option<String>,
    /// `require`, `prefer` or `off`: this mailbox's `[authentication] customers`.
    customers: Option<String>,
}

fn default_tls() -> String {
    "implicit".into()
}
fn default_auth() -> String {
    "password".into()
}
fn default_folder() -> String {
    "INBOX".into()
}
fn default_processed() -> String {
    "move:Processed".into()
}
fn default_batch() -> u32 {
    50
}
fn default_poll() -> u64 {
    60
}
fn default_idle() -> u64 {
    25 * 60
}
fn default_refresh_lifetime() -> u32 {
    90
}

/// Validates every `[[mailbox]]`, recording each error with its key (`mailbox[1].tls`);
/// a valid mailbox whose name another one already has is refused too.
pub(super) fn validate_all(raw: Vec<RawMailbox>, errors: &mut Errors) -> Vec<MailboxSettings> {
    let mut mailboxes: Vec<MailboxSettings> = Vec::new();
    for (i, raw) in raw.into_iter().enumerate() {
        match raw.validate(i, errors) {
            Some(m) if mailboxes.iter().any(|o| o.name == m.name) => errors.push(
                format_args!("mailbox[{i}].name"),
                format_args!("`{}` is used by another mailbox", m.name),
            ),
            Some(m) => mailboxes.push(m),
            None => {}
        }
    }
    mailboxes
}

impl RawMailbox {
    /// Validates the `index`-th mailbox, recording every bad key as `mailbox[index].key`;
    /// `None` when it has any.
    fn validate(mut self, index: usize, errors: &mut Errors) -> Option<MailboxSettings> {
        let found_before = errors.count();
        let key = |k: &str| format!("mailbox[{index}].{k}");
        let address = errors.check(key("address"), EmailAddress::parse(&self.address));
        let tls = tls(&self.tls, &self.host, &key("tls"), errors);
        let auth = self.take_auth_keys().validate(&key, errors);
        let processed = processed(&self.processed, &key("processed"), errors);
        let ticket_type = self
            .ticket_type
            .as_deref()
            .and_then(|t| errors.check(key("type"), t.parse::<TicketType>()));
        if let Some(lang) = &self.language
            && !matches!(lang.as_str(), "en" | "fr")
        {
            errors.push(
                key("language"),
                format_args!("`{lang}` is not a shipped language; use en or fr"),
            );
        }
        let time_zone = self
            .time_zone
            .as_deref()
            .and_then(|z| errors.check(key("time_zone"), super::tickets::time_zone(z)));
        self.check_counts(&key, errors);
        let agents = self
            .agents
            .as_deref()
            .and_then(|p| policy::<AgentPolicy>(p, &key("agents"), errors));
        let customers = self
            .customers
            .as_deref()
            .and_then(|p| policy::<CustomerPolicy>(p, &key("customers"), errors));
        if self.name.trim().is_empty() {
            errors.push(key("name"), "must not be empty");
        }
        let (Some(address), Some(tls), Some(auth), Some(processed)) =
            (address, tls, auth, processed)
        else {
            return None;
        };
        // A problem that left no value missing (a count, the name, the type) refuses the
        // mailbox too.
        if errors.count() > found_before {
            return None;
        }
        Some(MailboxSettings {
            name: self.name,
            address,
            port: self
                .port
                .unwrap_or(if tls == TlsMode::Implicit { 993 } else { 143 }),
            host: self.host,
            tls,
            username: self.username,
            auth,
            ca_file: self.ca_file,
            folder: self.folder,
            processed,
            ticket_type,
            language: self.language,
            time_zone,
            batch_size: self.batch_size,
            poll_interval: Duration::from_secs(self.poll_interval_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            idle_check: self.idle_check_secs.map(Duration::from_secs),
            agents,
            customers,
        })
    }

    /// The login keys, taken out to be validated on their own.
    fn take_auth_keys(&mut self) -> auth::RawAuth {
        auth::RawAuth {
            method: std::mem::take(&mut self.auth),
            password: self.password.take(),
            password_env: self.password_env.take(),
            password_file: self.password_file.take(),
            token_file: self.token_file.take(),
            token_command: self.token_command.take(),
            oauth2_token_url: self.oauth2_token_url.take(),
            oauth2_client_id: self.oauth2_client_id.take(),
            oauth2_client_secret: self.oauth2_client_secret.take(),
            oauth2_client_secret_file: self.oauth2_client_secret_file.take(),
            oauth2_refresh_token_file: self.oauth2_refresh_token_file.take(),
            oauth2_scope: self.oauth2_scope.take(),
            oauth2_refresh_token_lifetime_days: self.oauth2_refresh_token_lifetime_days,
        }
    }

    /// The batch size and the intervals: each at least 1, and IDLE renewed in time.
    fn check_counts(&self, key: &impl Fn(&str) -> String, errors: &mut Errors) {
        if self.batch_size == 0 {
            errors.push(key("batch_size"), "must be at least 1");
        }
        if self.poll_interval_secs == 0 {
            errors.push(key("poll_interval_secs"), "must be at least 1");
        }
        if !(10..=29 * 60).contains(&self.idle_timeout_secs) {
            errors.push(
                key("idle_timeout_secs"),
                "must be between 10 and 1740 (RFC 2177: renew IDLE within 29 minutes)",
            );
        }
        if let Some(check) = self.idle_check_secs
            && !(1..self.idle_timeout_secs).contains(&check)
        {
            errors.push(
                key("idle_check_secs"),
                "must be at least 1 and below idle_timeout_secs (leave it out to rely on the server's announcements)",
            );
        }
    }
}

/// The `tls` key: no TLS only for a server on this machine, as the password would cross
/// the network in clear.
fn tls(value: &str, host: &str, key: &str, errors: &mut Errors) -> Option<TlsMode> {
    match value {
        "implicit" => Some(TlsMode::Implicit),
        "starttls" => Some(TlsMode::StartTls),
        "none" if is_loopback(host) => Some(TlsMode::None),
        "none" => {
            errors.push(
                key,
                format_args!(
                    "`none` sends the password in clear; it is accepted only for a loopback host, not {host}"
                ),
            );
            None
        }
        other => {
            errors.push(
                key,
                format_args!("`{other}` is not one of implicit, starttls, none"),
            );
            None
        }
    }
}

/// The `processed` key: `move:FOLDER`, `seen` or `delete`.
fn processed(value: &str, key: &str, errors: &mut Errors) -> Option<ProcessedAction> {
    match value.split_once(':') {
        Some(("move", folder)) if !folder.trim().is_empty() => {
            Some(ProcessedAction::Move(folder.trim().to_string()))
        }
        None if value == "seen" => Some(ProcessedAction::Seen),
        None if value == "delete" => Some(ProcessedAction::Delete),
        _ => {
            errors.push(
                key,
                format_args!("`{value}` is not move:FOLDER, seen or delete"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::secret::SecretSource;

    fn mailboxes(text: &str) -> (Vec<MailboxSettings>, Vec<String>) {
        #[derive(Deserialize)]
        struct File {
            mailbox: Vec<RawMailbox>,
        }
        let file: File = toml::from_str(text).unwrap();
        let mut errors = Errors::default();
        let valid = validate_all(file.mailbox, &mut errors);
        (valid, errors.into_messages())
    }

    const VALID: &str = "name = \"a\"\naddress = \"help@example.com\"\nhost = \"imap.example.com\"\n\
                         username = \"u\"\npassword_env = \"PW\"\n";

    #[test]
    fn defaults_follow_the_tls_mode() {
        let (valid, errors) = mailboxes(&format!("[[mailbox]]\n{VALID}"));
        assert_eq!(errors, Vec::<String>::new());
        let m = &valid[0];
        assert_eq!(
            (m.port, m.tls, m.folder.as_str()),
            (993, TlsMode::Implicit, "INBOX")
        );
        assert_eq!(m.processed, ProcessedAction::Move("Processed".into()));
        assert_eq!(
            m.auth,
            MailboxAuth::Password(SecretSource::Env("PW".into()))
        );
    }

    #[test]
    fn a_mailbox_reads_its_customers_times_in_its_own_zone() {
        let (valid, errors) = mailboxes(&format!(
            "[[mailbox]]\n{VALID}time_zone = \"America/New_York\"\n"
        ));
        assert_eq!(errors, Vec::<String>::new());
        assert_eq!(valid[0].time_zone, Some(chrono_tz::America::New_York));
        let (valid, errors) = mailboxes(&format!(
            "[[mailbox]]\n{VALID}time_zone = \"Mars/Olympus\"\n"
        ));
        assert!(valid.is_empty());
        assert_eq!(
            errors,
            [
                "mailbox[0].time_zone: `Mars/Olympus` is not a time zone; use an IANA name such as Europe/Paris or UTC"
            ]
        );
    }

    #[test]
    fn each_error_names_the_mailbox_and_the_key() {
        let (valid, errors) = mailboxes(&format!(
            "[[mailbox]]\n{VALID}\n[[mailbox]]\n{VALID}batch_size = 0\nlanguage = \"de\"\n\
             [[mailbox]]\n{VALID}"
        ));
        assert_eq!(valid.len(), 1);
        assert_eq!(
            errors,
            [
                "mailbox[1].language: `de` is not a shipped language; use en or fr",
                "mailbox[1].batch_size: must be at least 1",
                "mailbox[2].name: `a` is used by another mailbox",
            ]
        );
    }
}
