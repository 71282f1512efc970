//! `[[mailbox]]`: the IMAP mailboxes `ticketgate run` watches, with how to log in to each
//! and what to do with a message once its ticket is committed.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::domain::{EmailAddress, TicketType};

/// How the connection to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS, port 993).
    Implicit,
    /// Plain connection upgraded with STARTTLS before login (port 143).
    StartTls,
    /// No TLS: accepted only for a server on this machine (loopback).
    None,
}

/// A secret read when it is needed, so that a rotated file or variable is picked up at the
/// next connection and the value never sits in the parsed configuration.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the configuration file itself.
    Inline(String),
    /// The value of this environment variable.
    Env(String),
    /// The content of this file, trimmed (systemd credentials, Kubernetes secrets).
    File(PathBuf),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Inline(_) => f.write_str("Inline(***)"),
            SecretSource::Env(v) => write!(f, "Env({v})"),
            SecretSource::File(p) => write!(f, "File({})", p.display()),
        }
    }
}

impl SecretSource {
    /// The secret given by at most one of `NAME`, `NAME_env` and `NAME_file` (`key` is the
    /// full key of NAME, for the error).
    pub(super) fn one_of(
        key: &str,
        inline: Option<String>,
        env: Option<String>,
        file: Option<PathBuf>,
        errors: &mut Vec<String>,
    ) -> Option<SecretSource> {
        match (inline, env, file) {
            (Some(v), None, None) => Some(SecretSource::Inline(v)),
            (None, Some(v), None) => Some(SecretSource::Env(v)),
            (None, None, Some(f)) => Some(SecretSource::File(f)),
            (None, None, None) => None,
            _ => {
                let name = key.rsplit('.').next().unwrap_or(key);
                errors.push(format!(
                    "{key}: give only one of {name}, {name}_env, {name}_file"
                ));
                None
            }
        }
    }

    /// Reads the secret now.
    pub fn read(&self) -> Result<String, String> {
        match self {
            SecretSource::Inline(s) => Ok(s.clone()),
            SecretSource::Env(var) => {
                std::env::var(var).map_err(|_| format!("the environment variable {var} is not set"))
            }
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .map_err(|e| format!("cannot read {}: {e}", path.display())),
        }
    }
}

/// Where an XOAUTH2 access token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// A file kept fresh by something else.
    File(PathBuf),
    /// A command that prints a fresh token (`sh -c`).
    Command(String),
    /// ticketgate refreshes the token itself at an OAuth2 token endpoint.
    Endpoint(OAuth2Endpoint),
}

/// An OAuth2 token endpoint with a refresh token (Google, Microsoft 365).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Endpoint {
    /// `https://oauth2.googleapis.com/token`, `https://login.microsoftonline.com/TENANT/oauth2/v2.0/token`.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Option<SecretSource>,
    /// The refresh token lives in this file; a rotated one is written back to it.
    pub refresh_token_file: PathBuf,
    /// Scope to ask for (Microsoft needs `https://outlook.office365.com/IMAP.AccessAsUser.All offline_access`).
    pub scope: Option<String>,
    /// How long a refresh token lives at this provider, to warn well before it expires.
    pub refresh_token_lifetime_days: u32,
}

/// How to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxAuth {
    Password(SecretSource),
    XOAuth2(TokenSource),
}

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
#[derive(Debug, Clone)]
pub struct MailboxSettings {
    /// A short name for logs and the store's cursor.
    pub name: String,
    /// The support address this mailbox receives: one of our own addresses.
    pub address: EmailAddress,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    pub auth: MailboxAuth,
    /// Extra CA certificates (PEM) to trust, for a private CA or a self-signed server.
    pub ca_file: Option<PathBuf>,
    /// The folder watched.
    pub folder: String,
    pub processed: ProcessedAction,
    /// Type of the tickets opened through this mailbox, unless a routing rule says otherwise.
    pub ticket_type: Option<TicketType>,
    /// Language of the tickets opened through this mailbox when the mail's cannot be told.
    pub language: Option<String>,
    /// How many messages are fetched at once: bounds memory on a huge folder.
    pub batch_size: u32,
    /// How often to look for mail when the server has no IDLE.
    pub poll_interval: Duration,
    /// How long one IDLE lasts before it is renewed (RFC 2177: under 29 minutes).
    pub idle_timeout: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMailbox {
    name: String,
    address: String,
    host: String,
    port: Option<u16>,
    #[serde(default = "default_tls")]
    tls: String,
    username: String,
    password: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
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
    #[serde(default = "default_refresh_lifetime")]
    oauth2_refresh_token_lifetime_days: u32,
    ca_file: Option<PathBuf>,
    #[serde(default = "default_folder")]
    folder: String,
    #[serde(default = "default_processed")]
    processed: String,
    #[serde(rename = "type")]
    ticket_type: Option<String>,
    language: Option<String>,
    #[serde(default = "default_batch")]
    batch_size: u32,
    #[serde(default = "default_poll")]
    poll_interval_secs: u64,
    #[serde(default = "default_idle")]
    idle_timeout_secs: u64,
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

/// Whether `host` is this machine, where an unencrypted connection exposes nothing.
pub(super) fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl RawMailbox {
    /// Validates the `index`-th mailbox, naming every bad key as `mailbox[index].key`.
    pub(super) fn validate(self, index: usize) -> Result<MailboxSettings, Vec<String>> {
        let mut errors = Vec::new();
        let key = |k: &str| format!("mailbox[{index}].{k}");
        let address = EmailAddress::parse(&self.address)
            .map_err(|e| errors.push(format!("{}: {e}", key("address"))))
            .ok();
        let tls = match self.tls.as_str() {
            "implicit" => Some(TlsMode::Implicit),
            "starttls" => Some(TlsMode::StartTls),
            "none" if is_loopback(&self.host) => Some(TlsMode::None),
            "none" => {
                errors.push(format!(
                    "{}: `none` sends the password in clear; it is accepted only for a loopback host, not {}",
                    key("tls"),
                    self.host
                ));
                None
            }
            other => {
                errors.push(format!(
                    "{}: `{other}` is not one of implicit, starttls, none",
                    key("tls")
                ));
                None
            }
        };
        let password = SecretSource::one_of(
            &key("password"),
            self.password,
            self.password_env,
            self.password_file,
            &mut errors,
        );
        let auth = match self.auth.as_str() {
            "password" => match password {
                Some(p) => Some(MailboxAuth::Password(p)),
                None => {
                    errors.push(format!(
                        "{}: set password, password_env or password_file",
                        key("password")
                    ));
                    None
                }
            },
            "xoauth2" => {
                let endpoint = self.oauth2_token_url.map(|token_url| {
                    let client_secret =
                        match (self.oauth2_client_secret, self.oauth2_client_secret_file) {
                            (Some(s), _) => Some(SecretSource::Inline(s)),
                            (None, Some(f)) => Some(SecretSource::File(f)),
                            (None, None) => None,
                        };
                    (
                        token_url,
                        self.oauth2_client_id,
                        client_secret,
                        self.oauth2_refresh_token_file,
                    )
                });
                match (self.token_file, self.token_command, endpoint) {
                    (Some(f), None, None) => Some(MailboxAuth::XOAuth2(TokenSource::File(f))),
                    (None, Some(c), None) => Some(MailboxAuth::XOAuth2(TokenSource::Command(c))),
                    (
                        None,
                        None,
                        Some((token_url, Some(client_id), client_secret, Some(refresh_token_file))),
                    ) => Some(MailboxAuth::XOAuth2(TokenSource::Endpoint(
                        OAuth2Endpoint {
                            token_url,
                            client_id,
                            client_secret,
                            refresh_token_file,
                            scope: self.oauth2_scope,
                            refresh_token_lifetime_days: self.oauth2_refresh_token_lifetime_days,
                        },
                    ))),
                    (None, None, Some(_)) => {
                        errors.push(format!(
                            "{}: an OAuth2 endpoint needs oauth2_client_id and oauth2_refresh_token_file",
                            key("oauth2_token_url")
                        ));
                        None
                    }
                    _ => {
                        errors.push(format!(
                            "{}: with auth = \"xoauth2\" give exactly one of token_file, token_command, oauth2_token_url",
                            key("auth")
                        ));
                        None
                    }
                }
            }
            other => {
                errors.push(format!(
                    "{}: `{other}` is not one of password, xoauth2",
                    key("auth")
                ));
                None
            }
        };
        let processed = match self.processed.split_once(':') {
            Some(("move", folder)) if !folder.trim().is_empty() => {
                Some(ProcessedAction::Move(folder.trim().to_string()))
            }
            None if self.processed == "seen" => Some(ProcessedAction::Seen),
            None if self.processed == "delete" => Some(ProcessedAction::Delete),
            _ => {
                errors.push(format!(
                    "{}: `{}` is not move:FOLDER, seen or delete",
                    key("processed"),
                    self.processed
                ));
                None
            }
        };
        let ticket_type = self.ticket_type.as_deref().and_then(|t| {
            t.parse::<TicketType>()
                .map_err(|e| errors.push(format!("{}: {e}", key("type"))))
                .ok()
        });
        if let Some(lang) = &self.language
            && !matches!(lang.as_str(), "en" | "fr")
        {
            errors.push(format!(
                "{}: `{lang}` is not a shipped language; use en or fr",
                key("language")
            ));
        }
        if self.batch_size == 0 {
            errors.push(format!("{}: must be at least 1", key("batch_size")));
        }
        if self.poll_interval_secs == 0 {
            errors.push(format!("{}: must be at least 1", key("poll_interval_secs")));
        }
        if !(10..=29 * 60).contains(&self.idle_timeout_secs) {
            errors.push(format!(
                "{}: must be between 10 and 1740 (RFC 2177: renew IDLE within 29 minutes)",
                key("idle_timeout_secs")
            ));
        }
        if self.name.trim().is_empty() {
            errors.push(format!("{}: must not be empty", key("name")));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let tls = tls.expect("checked");
        Ok(MailboxSettings {
            name: self.name,
            address: address.expect("checked"),
            port: self
                .port
                .unwrap_or(if tls == TlsMode::Implicit { 993 } else { 143 }),
            host: self.host,
            tls,
            username: self.username,
            auth: auth.expect("checked"),
            ca_file: self.ca_file,
            folder: self.folder,
            processed: processed.expect("checked"),
            ticket_type,
            language: self.language,
            batch_size: self.batch_size,
            poll_interval: Duration::from_secs(self.poll_interval_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
        })
    }
}
