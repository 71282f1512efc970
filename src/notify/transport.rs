//! Where notifications go: `.eml` files under the data directory (the embedded default,
//! so a fresh install shows real notifications with no mail server), an SMTP server, or
//! the local MTA's sendmail command.

use std::path::PathBuf;
use std::time::Duration;

use lettre::Message;

pub use super::send_error::{SendError, SendFailure, TransportError};
use super::smtp::SmtpClient;

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

/// What became of a message the transport took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handed {
    /// Written to this file.
    Written(PathBuf),
    /// Accepted by the SMTP server, which answered this (code and text).
    Accepted(String),
    /// Taken by the sendmail command, which exited with success.
    Piped(PathBuf),
}

impl Transport {
    /// Delivers `message`, the notification `outbox_id`.
    pub async fn send(&self, outbox_id: i64, message: &Message) -> Result<(), SendError> {
        self.hand_over(&format!("{outbox_id:08}"), message)
            .await
            .map(drop)
    }

    /// Delivers `message`; with the file transport, as `NAME.eml`. Says where it went.
    pub async fn hand_over(&self, name: &str, message: &Message) -> Result<Handed, SendError> {
        match self {
            Transport::Files(dir) => {
                let path = dir.join(format!("{name}.eml"));
                let bytes = message.formatted();
                // Off the async workers: the file is synced before it counts as sent, and a
                // sync may take milliseconds on a busy disk, which the intake and the other
                // tasks on that worker would wait through.
                let written = path.clone();
                crate::files::blocking(move || {
                    crate::atomic_file::write_atomically(&written, |f| {
                        std::io::Write::write_all(f, &bytes)
                    })
                })
                .await
                .map_err(|e| SendError::Temporary(e.into()))?;
                Ok(Handed::Written(path))
            }
            Transport::Sendmail(command) => sendmail(command, message)
                .await
                .map(|()| Handed::Piped(command.clone())),
            Transport::Smtp(smtp) => {
                let bytes = message.formatted();
                let sending = smtp.send(message.envelope(), &bytes);
                match tokio::time::timeout(SEND_TIMEOUT, sending).await {
                    Err(_) => Err(SendError::Temporary(SendFailure::SendTimeout(SEND_TIMEOUT))),
                    Ok(result) => result.map(Handed::Accepted),
                }
            }
        }
    }

    /// Whether the way out works, sending nothing: an SMTP session opened and closed
    /// (EHLO, STARTTLS, AUTH), the outbox directory writable, the sendmail command
    /// executable. Says what it found.
    pub async fn check(&self) -> Result<String, SendError> {
        match self {
            Transport::Smtp(smtp) => smtp.check().await,
            Transport::Files(dir) => {
                let probe = dir.join(format!(".check-{}", std::process::id()));
                crate::atomic_file::write_atomically(&probe, |_| Ok(()))
                    .map_err(|e| SendError::Temporary(e.into()))?;
                let _ = std::fs::remove_file(&probe);
                Ok(format!("notifications are written to {}", dir.display()))
            }
            Transport::Sendmail(command) => {
                use std::os::unix::fs::PermissionsExt;
                let shown = command.display().to_string();
                match std::fs::metadata(command) {
                    Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => {
                        Ok(format!("{shown} is there and executable"))
                    }
                    Ok(_) => Err(SendError::Permanent(SendFailure::Spawn {
                        command: shown,
                        source: std::io::Error::new(
                            std::io::ErrorKind::PermissionDenied,
                            "not an executable file",
                        ),
                    })),
                    Err(source) => Err(SendError::Permanent(SendFailure::Spawn {
                        command: shown,
                        source,
                    })),
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
    let shown = command.display().to_string();
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
        // A command that refuses a recipient may exit before reading the message: then
        // its exit status, not the broken pipe, says why.
        let written = stdin.write_all(&message.formatted()).await;
        drop(stdin);
        Ok::<_, std::io::Error>((written, child.wait_with_output().await?))
    };
    let (written, output) = match tokio::time::timeout(SEND_TIMEOUT, run).await {
        Err(_) => {
            return Err(SendError::Temporary(SendFailure::SendmailTimeout {
                command: shown,
                timeout: SEND_TIMEOUT,
            }));
        }
        Ok(Err(source)) => {
            return Err(SendError::Temporary(SendFailure::Spawn {
                command: shown,
                source,
            }));
        }
        Ok(Ok(done)) => done,
    };
    if output.status.success() {
        return written.map_err(|source| {
            SendError::Temporary(SendFailure::Unread {
                command: shown,
                source,
            })
        });
    }
    let failure = SendFailure::Sendmail {
        command: shown,
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    };
    match output.status.code() {
        Some(code) if !SENDMAIL_TEMPORARY_EXITS.contains(&code) => {
            Err(SendError::Permanent(failure))
        }
        _ => Err(SendError::Temporary(failure)),
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
                secret.read().map_err(TransportError::new)?,
            )),
            _ => None,
        };
        let client = SmtpClient::new(host, *port, *tls, ca_file.as_deref(), credentials)?;
        Ok(Transport::Smtp(client))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A sendmail stand-in running `body`, and a message big enough (1 MB) that writing it
    /// outlasts any pipe buffer.
    fn setup(body: &str) -> (tempfile::TempDir, PathBuf, Message) {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("sendmail");
        std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let message = Message::builder()
            .from("support@ours.test".parse().unwrap())
            .to("gone@acme.example".parse().unwrap())
            .subject("A large notification")
            .body("x".repeat(1 << 20))
            .unwrap();
        (dir, script, message)
    }

    #[tokio::test]
    async fn a_refusal_before_reading_the_message_is_the_commands_answer() {
        let (_dir, script, message) = setup("echo \"$4: user unknown\" >&2; exit 67");
        match sendmail(&script, &message).await {
            Err(SendError::Permanent(failure)) => {
                assert!(failure.to_string().contains("user unknown"), "{failure}")
            }
            other => panic!("a refusal for good, not {other:?}"),
        }
        let (_dir, script, message) = setup("exit 75");
        assert!(matches!(
            sendmail(&script, &message).await,
            Err(SendError::Temporary(SendFailure::Sendmail { .. }))
        ));
    }

    #[tokio::test]
    async fn a_success_that_did_not_read_the_message_is_tried_again() {
        let (_dir, script, message) = setup("exit 0");
        assert!(matches!(
            sendmail(&script, &message).await,
            Err(SendError::Temporary(SendFailure::Unread { .. }))
        ));
        let (_dir, script, message) = setup("cat > /dev/null");
        assert!(sendmail(&script, &message).await.is_ok());
    }
}
