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
mod idle;
mod pass;
mod session;
mod token;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Ingestor;
use crate::backoff::Backoff;
use crate::cluster::Instance;
use crate::config::MailboxSettings;
use crate::notify::outbox_worker::OutboxWake;
use crate::store::StoreError;
use connection::{open_session, tls_config};
use session::MailboxWorker;
use token::TokenProvider;

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
    /// Whether failures of `kind` happen before a session exists (so a login ends them).
    fn is_connection_kind(kind: &str) -> bool {
        matches!(
            kind,
            "connect" | "tls" | "timeout" | "login" | "secret" | "token"
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
            ImapError::Protocol { doing, .. } => doing,
            ImapError::Folder { .. } => "folder",
            ImapError::Store(_) => "store",
        }
    }
}

/// The pause before reconnecting: doubling from a second to five minutes, jittered so that
/// many daemons losing one server do not all come back in step.
const RECONNECT_PAUSES: Backoff =
    Backoff::new(Duration::from_secs(1), Duration::from_secs(300)).with_jitter();

/// Turns a failed IMAP exchange into an [`ImapError::Protocol`] saying what it was for.
fn protocol(doing: &'static str) -> impl Fn(async_imap::error::Error) -> ImapError {
    move |source| ImapError::Protocol { doing, source }
}

/// Watches one mailbox until `shutdown`, reconnecting as long as it takes, while this
/// instance holds the mailbox's lease. Returns only on shutdown, or at once when its TLS
/// settings cannot be used (a configuration error). `outbox` is woken after each message
/// committed, so that its acknowledgement leaves at once.
pub async fn watch(
    mailbox: MailboxSettings,
    ingestor: Ingestor,
    retry_budget: u32,
    instance: Instance,
    outbox: OutboxWake,
    shutdown: CancellationToken,
) {
    use tracing::Instrument;
    let span = tracing::info_span!("mailbox", name = %mailbox.name);
    supervise(mailbox, ingestor, retry_budget, instance, outbox, shutdown)
        .instrument(span)
        .await
}

async fn supervise(
    mailbox: MailboxSettings,
    ingestor: Ingestor,
    retry_budget: u32,
    instance: Instance,
    outbox: OutboxWake,
    shutdown: CancellationToken,
) {
    let tls = match tls_config(&mailbox) {
        Ok(tls) => tls,
        Err(e) => {
            tracing::error!(error = %e, "mailbox not watched");
            return;
        }
    };
    let tokens = TokenProvider::new(&mailbox, tls.clone());
    let store = ingestor.pipeline().store().clone();
    let mut worker = MailboxWorker::new(mailbox.clone(), ingestor, retry_budget, outbox);
    let lease_name = format!("mailbox:{}", mailbox.name);
    while let Some(lease) = instance.hold(&store, &lease_name, &shutdown).await {
        read_while_held(&mailbox, &tls, &tokens, &mut worker, lease.work()).await;
        lease.release().await;
    }
    tracing::info!("mailbox watcher stopped");
}

/// Reads the mailbox, reconnecting as needed, until `work` is cancelled.
async fn read_while_held(
    mailbox: &MailboxSettings,
    tls: &std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
    tokens: &TokenProvider,
    worker: &mut MailboxWorker,
    work: &CancellationToken,
) {
    let mut backoff = RECONNECT_PAUSES.pauses();
    let mut last_error: Option<String> = None;
    while !work.is_cancelled() {
        let opened = tokio::select! {
            r = open_session(mailbox, tls, tokens) => r,
            _ = work.cancelled() => break,
        };
        let error = match opened {
            Ok(session) => {
                match last_error.as_deref() {
                    None => {
                        tracing::info!(host = %mailbox.host, folder = %mailbox.folder, "connected")
                    }
                    Some(kind) if ImapError::is_connection_kind(kind) => {
                        tracing::info!(host = %mailbox.host, "connected again");
                        last_error = None;
                    }
                    // A failure after login (missing folder, refused move) is not over
                    // because login worked: stay quiet until it changes.
                    Some(_) => {}
                }
                let result = worker.run(session, work).await;
                // Only a session that got work done resets the backoff.
                if worker.take_healthy() {
                    backoff.reset();
                }
                match result {
                    Ok(()) => break,
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        let pause = backoff.after_failure();
        // Servers put timings and ids in their texts: compare what kind of failure it is.
        let kind = error.kind();
        if last_error.as_deref() != Some(kind) {
            tracing::error!(error = %error, "mailbox unavailable; retrying with backoff");
        } else {
            tracing::debug!(error = %error, retry_in = ?pause, "still unavailable");
        }
        last_error = Some(kind.to_string());
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = work.cancelled() => break,
        }
    }
}
