//! IMAP intake: each configured mailbox is watched by its own task, with IDLE where the
//! server offers it. A message is moved (or flagged, or deleted) on the server only after
//! its ticket is committed; a crash in between makes it come back as a duplicate, which is
//! then acknowledged. Lost connections and refused logins are retried with capped
//! exponential backoff, each change of state logged once. Among instances sharing a
//! database, a mailbox is read by the one holding its lease; the others stand by.
//!
//! Here: the supervisor (reconnects, leases); `connection` opens a session, `session` runs
//! it, `pass` takes the folder's new messages through the intake driver, `fetch` lists
//! and downloads them, `acknowledge` lets go of them on the server, `idle` waits for more.

mod acknowledge;
mod connection;
mod fetch;
mod folders;
mod idle;
mod pass;
mod pending;
mod probe;
mod session;
mod supervisor;
mod token;

use crate::store::StoreError;

pub use probe::check_login;
pub use supervisor::watch;

/// What went wrong with a mailbox. Every variant says what to check.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("TLS with {host} failed: {message}")]
    Tls { host: String, message: String },
    #[error("cannot use ca_file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error("no answer from {host}:{port} within 30 s")]
    Timeout { host: String, port: u16 },
    #[error(
        "login refused for {user} at {address}: {message}; check the username and the password or token"
    )]
    LoginRefused {
        user: String,
        address: String,
        message: String,
    },
    #[error("cannot read the mailbox password: {0}")]
    Secret(String),
    #[error("cannot get an XOAUTH2 token: {}", token::spelled_out(.0))]
    Token(#[from] token::TokenError),
    #[error("the server failed while {doing}: {source}")]
    Protocol {
        doing: &'static str,
        source: async_imap::error::Error,
    },
    #[error("the folder {folder} cannot be used: {message}")]
    Folder { folder: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImapError {
    /// Whether failures of `kind` are the connection's, not a command's: they happen before
    /// a session exists or end it, so a new login ends them.
    pub(super) fn is_connection_kind(kind: &str) -> bool {
        matches!(
            kind,
            "connect" | "tls" | "timeout" | "login" | "secret" | "token" | "connection lost"
        )
    }

    /// What kind of failure this is, without the details that change between tries.
    pub fn kind(&self) -> &'static str {
        match self {
            ImapError::Connect { .. } => "connect",
            ImapError::Tls { .. } => "tls",
            ImapError::CaFile { .. } => "ca_file",
            ImapError::Timeout { .. } => "timeout",
            ImapError::LoginRefused { .. } => "login",
            ImapError::Secret(_) => "secret",
            ImapError::Token(_) => "token",
            ImapError::Protocol { source, .. } if is_lost_connection(source) => "connection lost",
            ImapError::Protocol { doing, .. } => doing,
            ImapError::Folder { .. } => "folder",
            ImapError::Store(_) => "store",
        }
    }

    /// Whether retrying cannot help: the mailbox's configuration names a folder the server
    /// will not create or select. The mailbox is then not watched, rather than looped on.
    pub fn is_fatal(&self) -> bool {
        matches!(self, ImapError::Folder { .. })
    }

    /// Whether the server asked to slow down (RFC 5530 UNAVAILABLE or LIMIT, Microsoft
    /// 365's THROTTLED): the next try waits at least a minute.
    pub fn slows_down(&self) -> bool {
        match self {
            ImapError::Protocol { source, .. } => is_throttled(source),
            ImapError::LoginRefused { message, .. } => {
                let message = message.to_ascii_uppercase();
                SLOW_DOWN_CODES.iter().any(|code| message.contains(code))
            }
            _ => false,
        }
    }
}

/// Whether the server answered NO or BAD: it refuses, the connection is fine.
fn is_refusal(e: &ImapError) -> bool {
    matches!(
        e,
        ImapError::Protocol {
            source: async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_),
            ..
        }
    )
}

/// Whether `e` is the connection ending under a command (the server died, the network
/// failed), rather than the server answering it.
fn is_lost_connection(e: &async_imap::error::Error) -> bool {
    matches!(
        e,
        async_imap::error::Error::Io(_) | async_imap::error::Error::ConnectionLost
    )
}

/// Response codes by which a server asks its client to slow down (RFC 5530's UNAVAILABLE
/// and LIMIT; Microsoft 365's THROTTLED): they are answered by waiting, not by reconnecting
/// at once.
const SLOW_DOWN_CODES: &[&str] = &["[THROTTLED]", "[UNAVAILABLE]", "[LIMIT]"];

/// Whether `e` is a server asking to slow down.
fn is_throttled(e: &async_imap::error::Error) -> bool {
    match e {
        async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text) => {
            let text = text.to_ascii_uppercase();
            SLOW_DOWN_CODES.iter().any(|code| text.contains(code))
        }
        _ => false,
    }
}

/// Turns a failed IMAP exchange into an [`ImapError::Protocol`] saying what it was for.
fn protocol(doing: &'static str) -> impl Fn(async_imap::error::Error) -> ImapError {
    move |source| ImapError::Protocol { doing, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> async_imap::error::Error {
        async_imap::error::Error::No(text.into())
    }

    #[test]
    fn servers_asking_to_slow_down_are_told_apart_from_refusals() {
        assert!(is_throttled(&refused(
            "[THROTTLED] Request is throttled. Suggested Backoff Time: 25000 milliseconds"
        )));
        assert!(is_throttled(&refused(
            "[UNAVAILABLE] Temporary authentication failure"
        )));
        assert!(is_throttled(&refused(
            "[limit] Too many simultaneous connections"
        )));
        assert!(!is_throttled(&refused(
            "[TRYCREATE] Mailbox doesn't exist: Processed"
        )));
        let protocol_error = ImapError::Protocol {
            doing: "moving handled messages",
            source: refused("[THROTTLED] slow down"),
        };
        assert!(protocol_error.slows_down() && is_refusal(&protocol_error));
        let login = ImapError::LoginRefused {
            user: "support".into(),
            address: "imap.example.com:993".into(),
            message: "[UNAVAILABLE] try later".into(),
        };
        assert!(login.slows_down());
        let folder = ImapError::Folder {
            folder: "INBOX.~x".into(),
            message: "refused".into(),
        };
        assert!(folder.is_fatal() && !folder.slows_down());
    }
}
