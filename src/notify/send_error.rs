//! What can go wrong when a notification is handed over, and when the way out is set up:
//! each failure says whether a retry may help, and keeps its cause.

use std::time::Duration;

/// What a failed send means for the notification.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later (4xx answer, connection trouble, full disk).
    #[error(transparent)]
    Temporary(SendFailure),
    /// The server refused for good (5xx): retrying will not help.
    #[error(transparent)]
    Permanent(SendFailure),
    /// The server could not be reached, or would not open a session (connecting, TLS, its
    /// greeting, EHLO or the login failed, even with a 5xx): nothing was said about this
    /// message, and every other one would fail the same way until the server, or the
    /// settings, are mended. The message waits; it is not the message's failure.
    #[error(transparent)]
    Unreachable(SendFailure),
}

impl SendError {
    /// The same failure, met before the server heard of any message.
    pub(crate) fn unreachable(self) -> SendError {
        match self {
            SendError::Temporary(f) | SendError::Permanent(f) | SendError::Unreachable(f) => {
                SendError::Unreachable(f)
            }
        }
    }
}

/// What failed when a notification was handed over, with its cause. The message is what
/// `outbox list` shows an operator.
#[derive(Debug, thiserror::Error)]
pub enum SendFailure {
    /// The SMTP server's answer, or the protocol, TLS or connection trouble lettre met.
    #[error("{0}")]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("cannot connect to {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot set TCP_NODELAY: {0}")]
    NoDelay(#[source] std::io::Error),
    #[error("TLS with {address} failed: {source}")]
    Tls {
        address: String,
        source: std::io::Error,
    },
    #[error("{address} did not let us in within {timeout:?}")]
    LoginTimeout { address: String, timeout: Duration },
    #[error("the SMTP server did not answer within {0:?}")]
    SendTimeout(Duration),
    /// The file transport could not write the message.
    #[error(transparent)]
    File(#[from] crate::atomic_file::FileStoreError),
    #[error("cannot run {command}: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("{command} did not finish within {timeout:?}")]
    SendmailTimeout { command: String, timeout: Duration },
    /// The sendmail command's exit status and what it wrote on standard error.
    #[error("{command} exited with {status}: {stderr}")]
    Sendmail {
        command: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    /// It exited with success but stopped reading the message before its end.
    #[error("{command} stopped reading the message: {source}")]
    Unread {
        command: String,
        source: std::io::Error,
    },
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
