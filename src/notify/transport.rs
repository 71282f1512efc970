//! Where notifications go: `.eml` files under the data directory (the embedded default,
//! so a fresh install shows real notifications with no mail server), an SMTP server, or
//! the local MTA's sendmail command.

use std::path::PathBuf;
use std::time::Duration;

use lettre::Message;

use super::smtp::SmtpClient;

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
    /// Sends through an SMTP server, over a connection kept open between notifications.
    Smtp(SmtpClient),
    /// Hands the message to `COMMAND -i -f FROM -- RECIPIENT…` on its standard input.
    Sendmail(PathBuf),
}

/// sysexits.h codes after which sendmail may succeed later: unavailable, software, OS,
/// cannot create, I/O error, temporary failure.
const SENDMAIL_TEMPORARY_EXITS: &[i32] = &[69, 70, 71, 73, 74, 75];

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
            Transport::Sendmail(command) => sendmail(command, message).await,
            Transport::Smtp(smtp) => {
                let bytes = message.formatted();
                let sending = smtp.send(message.envelope(), &bytes);
                match tokio::time::timeout(SEND_TIMEOUT, sending).await {
                    Err(_) => Err(SendError::Temporary(format!(
                        "the SMTP server did not answer within {SEND_TIMEOUT:?}"
                    ))),
                    Ok(result) => result,
                }
            }
        }
    }
}

impl Transport {
    /// Lets go of an SMTP connection that has been idle for a while (see
    /// [`SmtpClient::close_idle`]); nothing to do for the other transports.
    pub async fn close_idle(&self) {
        if let Transport::Smtp(smtp) = self {
            smtp.close_idle().await;
        }
    }
}

/// Runs the sendmail command with the envelope of `message`; its exit status says whether
/// the MTA took it, and whether a refusal is for good.
async fn sendmail(command: &std::path::Path, message: &Message) -> Result<(), SendError> {
    use std::process::Stdio;
    use tokio::io::AsyncWriteExt;
    let envelope = message.envelope();
    let mut cmd = tokio::process::Command::new(command);
    cmd.arg("-i");
    if let Some(from) = envelope.from() {
        cmd.arg("-f").arg(from);
    }
    cmd.arg("--")
        .args(envelope.to().iter().map(ToString::to_string))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let run = async {
        let mut child = cmd.spawn()?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin.write_all(&message.formatted()).await?;
        drop(stdin);
        child.wait_with_output().await
    };
    let output = match tokio::time::timeout(SEND_TIMEOUT, run).await {
        Err(_) => {
            return Err(SendError::Temporary(format!(
                "{} did not finish within {SEND_TIMEOUT:?}",
                command.display()
            )));
        }
        Ok(Err(e)) => {
            return Err(SendError::Temporary(format!(
                "cannot run {}: {e}",
                command.display()
            )));
        }
        Ok(Ok(output)) => output,
    };
    if output.status.success() {
        return Ok(());
    }
    let answer = format!(
        "{} exited with {}: {}",
        command.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    match output.status.code() {
        Some(code) if !SENDMAIL_TEMPORARY_EXITS.contains(&code) => {
            Err(SendError::Permanent(answer))
        }
        _ => Err(SendError::Temporary(answer)),
    }
}

/// Why the configured transport cannot be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the SMTP transport: {0}; check the [smtp] section")]
pub struct TransportError(String);

impl TransportError {
    /// The error, with why.
    pub(crate) fn new(reason: String) -> Self {
        TransportError(reason)
    }
}

impl Transport {
    /// The transport the settings describe.
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Transport, TransportError> {
        use crate::config::SmtpSettings;
        use lettre::transport::smtp::authentication::Credentials;
        let (host, port, tls, username, password, ca_file) = match &settings.smtp {
            SmtpSettings::Files => return Ok(Transport::Files(settings.data_dir.join("outbox"))),
            SmtpSettings::Sendmail { command } => return Ok(Transport::Sendmail(command.clone())),
            SmtpSettings::Server {
                host,
                port,
                tls,
                username,
                password,
                ca_file,
            } => (host, port, tls, username, password, ca_file),
        };
        let credentials = match (username, password) {
            (Some(user), Some(secret)) => Some(Credentials::new(
                user.clone(),
                secret.read().map_err(TransportError)?,
            )),
            _ => None,
        };
        let client = SmtpClient::new(host, *port, *tls, ca_file.as_deref(), credentials)?;
        Ok(Transport::Smtp(client))
    }
}
