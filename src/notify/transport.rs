//! Where notifications go: `.eml` files under the data directory (the embedded default,
//! so a fresh install shows real notifications with no mail server), or an SMTP server.

use std::path::PathBuf;
use std::time::Duration;

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// What a failed send means for the notification.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later (4xx answer, connection trouble, full disk).
    #[error("{0}")]
    Temporary(String),
    /// The server refused for good (5xx): retrying will not help.
    #[error("{0}")]
    Permanent(String),
}

/// The configured way out.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Writes `OUTBOX-ID.eml` files into this directory; writing the same notification
    /// again replaces its file, so a retry never makes a second copy.
    Files(PathBuf),
    /// Sends through an SMTP server, over a pooled connection.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// How long one SMTP exchange may take: lettre's own timeout covers only connecting.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

impl Transport {
    /// Delivers `message`, the notification `outbox_id`.
    pub async fn send(&self, outbox_id: i64, message: &Message) -> Result<(), SendError> {
        match self {
            Transport::Files(dir) => {
                let path = dir.join(format!("{outbox_id:08}.eml"));
                let bytes = message.formatted();
                crate::attachments::write_atomically(&path, |f| {
                    std::io::Write::write_all(f, &bytes)
                })
                .map_err(|e| SendError::Temporary(e.to_string()))
            }
            Transport::Smtp(smtp) => {
                match tokio::time::timeout(SEND_TIMEOUT, smtp.send(message.clone())).await {
                    Err(_) => Err(SendError::Temporary(format!(
                        "the SMTP server did not answer within {SEND_TIMEOUT:?}"
                    ))),
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                    Ok(Err(e)) => Err(SendError::Temporary(e.to_string())),
                }
            }
        }
    }
}

/// Why the configured transport cannot be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the SMTP transport: {0}; check the [smtp] section")]
pub struct TransportError(String);

impl Transport {
    /// The transport the settings describe.
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Transport, TransportError> {
        use crate::config::{SmtpSettings, TlsMode};
        use lettre::transport::smtp::authentication::Credentials;
        let SmtpSettings::Server {
            host,
            port,
            tls,
            username,
            password,
        } = &settings.smtp
        else {
            return Ok(Transport::Files(settings.data_dir.join("outbox")));
        };
        let builder = match tls {
            TlsMode::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
            TlsMode::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
            TlsMode::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                host,
            )),
        }
        .map_err(|e| TransportError(e.to_string()))?
        .port(*port)
        .timeout(Some(Duration::from_secs(30)));
        let builder = match (username, password) {
            (Some(user), Some(secret)) => builder.credentials(Credentials::new(
                user.clone(),
                secret.read().map_err(TransportError)?,
            )),
            _ => builder,
        };
        Ok(Transport::Smtp(builder.build()))
    }
}
