//! `[smtp]`: how notifications leave — `.eml` files (the default, so a fresh install shows
//! real notifications without a mail server), an SMTP server, or the local MTA's sendmail.

use std::path::PathBuf;

use serde::Deserialize;

use super::error::Errors;
use super::secret::SecretSource;
use super::tls::{TlsMode, is_loopback};

/// The `[smtp]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSmtp {
    /// `file`, `smtp` or `sendmail`.
    transport: String,
    /// The SMTP server, for `transport = "smtp"`.
    host: String,
    /// Default: 587 with starttls, 465 implicit, 25 none.
    port: Option<u16>,
    /// `starttls`, `implicit`, or `none` (loopback hosts only).
    tls: String,
    /// Credentials are sent only when a username is set.
    username: Option<String>,
    /// At most one of `password`, `password_env`, `password_file`.
    password: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    /// A CA to trust besides the public roots (an internal CA).
    ca_file: Option<PathBuf>,
    /// For `transport = "sendmail"`: called as `COMMAND -i -f FROM -- TO`.
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
        /// 587 with STARTTLS, 465 with implicit TLS, 25 without, unless configured.
        port: u16,
        /// Never [`TlsMode::None`] for a server other than this machine.
        tls: TlsMode,
        /// Credentials are sent only when this is set.
        username: Option<String>,
        password: Option<SecretSource>,
        /// A PEM certificate to trust besides the public roots (an internal CA).
        ca_file: Option<PathBuf>,
    },
    /// The local MTA's sendmail command, which queues the mail itself.
    Sendmail { command: PathBuf },
}

impl RawSmtp {
    /// Validates `[smtp]`, recording each error with its key. The server's `tls` and
    /// password keys are checked whatever the transport.
    pub(super) fn validate(self, errors: &mut Errors) -> SmtpSettings {
        let password = SecretSource::one_of(
            "smtp.password",
            self.password,
            self.password_env,
            self.password_file,
            errors,
        );
        let tls = tls(&self.tls, &self.host, errors);
        match (self.transport.as_str(), tls) {
            ("file", _) => SmtpSettings::Files,
            ("sendmail", _) => SmtpSettings::Sendmail {
                command: self.sendmail_command,
            },
            ("smtp", Some(tls)) => SmtpSettings::Server {
                port: self.port.unwrap_or(match tls {
                    TlsMode::Implicit => 465,
                    TlsMode::StartTls => 587,
                    TlsMode::None => 25,
                }),
                host: self.host,
                tls,
                username: self.username,
                password,
                ca_file: self.ca_file,
            },
            // The `tls` error is recorded: these settings are never used.
            ("smtp", None) => SmtpSettings::Files,
            (other, _) => {
                errors.push(
                    "smtp.transport",
                    format_args!("`{other}` is not one of file, smtp, sendmail"),
                );
                SmtpSettings::Files
            }
        }
    }
}

/// The `tls` key: no TLS only for a server on this machine, as credentials and mail would
/// cross the network in clear.
fn tls(value: &str, host: &str, errors: &mut Errors) -> Option<TlsMode> {
    match value {
        "starttls" => Some(TlsMode::StartTls),
        "implicit" => Some(TlsMode::Implicit),
        "none" if is_loopback(host) => Some(TlsMode::None),
        "none" => {
            errors.push(
                "smtp.tls",
                format_args!("`none` is accepted only for a loopback host, not {host}"),
            );
            None
        }
        other => {
            errors.push(
                "smtp.tls",
                format_args!("`{other}` is not one of starttls, implicit, none"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_follows_the_tls_mode() {
        let raw = RawSmtp {
            transport: "smtp".into(),
            tls: "implicit".into(),
            host: "smtp.example.com".into(),
            ..RawSmtp::default()
        };
        let mut errors = Errors::default();
        let SmtpSettings::Server { port, .. } = raw.validate(&mut errors) else {
            panic!("not a server");
        };
        assert_eq!((port, errors.count()), (465, 0));
    }

    #[test]
    fn clear_text_to_another_host_and_unknown_transports_are_named() {
        let raw = RawSmtp {
            transport: "carrier-pigeon".into(),
            tls: "none".into(),
            host: "smtp.example.com".into(),
            ..RawSmtp::default()
        };
        let mut errors = Errors::default();
        raw.validate(&mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "smtp.tls: `none` is accepted only for a loopback host, not smtp.example.com",
                "smtp.transport: `carrier-pigeon` is not one of file, smtp, sendmail",
            ]
        );
    }
}
