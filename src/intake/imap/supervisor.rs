//! Watching one mailbox for as long as the daemon runs: holding its lease among instances,
//! reconnecting with capped, jittered backoff (longer when the server asks to slow down),
//! logging each change of state once and showing it to `ticketgate mailboxes`, and giving
//! up on a mailbox only when its configuration cannot work (a folder the server refuses).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::ImapError;
use super::connection::{open_session, tls_config};
use super::session::MailboxWorker;
use super::token::TokenProvider;
use crate::backoff::Backoff;
use crate::cluster::Instance;
use crate::config::MailboxSettings;
use crate::intake::Ingestor;
use crate::monitoring::{IMAP_RECONNECTS, MailboxCondition, MailboxHealth};
use crate::notify::outbox_worker::OutboxWake;
use crate::store::ProblemArea;

/// The pause before reconnecting: doubling from a second to five minutes, jittered so that
/// many daemons losing one server do not all come back in step.
const RECONNECT_PAUSES: Backoff =
    Backoff::new(Duration::from_secs(1), Duration::from_secs(300)).with_jitter();

/// The shortest pause after a server asked to slow down.
const SLOW_DOWN_PAUSE: Duration = Duration::from_secs(60);

/// How reading a mailbox under its lease ended.
enum Held {
    /// The lease was lost or shutdown asked for: hold it again if it comes back.
    Released,
    /// The configuration cannot work: the mailbox is not watched any more.
    Abandoned,
}

/// Watches one mailbox until `shutdown`, reconnecting as long as it takes, while this
/// instance holds the mailbox's lease. Returns only on shutdown, or at once when its TLS
/// settings cannot be used (a configuration error). `outbox` is woken after each message
/// committed, so that its acknowledgement leaves at once. Its condition (connected,
/// failing and why, standing by) is kept up to date in `health`.
pub async fn watch(
    mailbox: MailboxSettings,
    ingestor: Ingestor,
    retry_budget: u32,
    instance: Instance,
    outbox: OutboxWake,
    health: MailboxHealth,
    shutdown: CancellationToken,
) {
    use tracing::Instrument;
    let span = tracing::info_span!("mailbox", mailbox = %mailbox.name);
    let health = Condition {
        health,
        name: mailbox.name.clone(),
    };
    supervise(
        mailbox,
        ingestor,
        retry_budget,
        instance,
        outbox,
        health,
        shutdown,
    )
    .instrument(span)
    .await
}

/// One mailbox's entry in the [`MailboxHealth`].
struct Condition {
    health: MailboxHealth,
    name: String,
}

impl Condition {
    fn set(&self, condition: MailboxCondition) {
        self.health.set(&self.name, condition);
    }
}

async fn supervise(
    mailbox: MailboxSettings,
    ingestor: Ingestor,
    retry_budget: u32,
    instance: Instance,
    outbox: OutboxWake,
    health: Condition,
    shutdown: CancellationToken,
) {
    let tls = match tls_config(&mailbox) {
        Ok(tls) => tls,
        Err(e) => {
            tracing::error!(error = %e, "mailbox not watched");
            health.set(MailboxCondition::Abandoned(e.to_string()));
            return;
        }
    };
    let tokens = TokenProvider::new(&mailbox, tls.clone());
    let store = ingestor.pipeline().store().clone();
    let mut worker = MailboxWorker::new(mailbox.clone(), ingestor, retry_budget, outbox);
    let lease_name = format!("mailbox:{}", mailbox.name);
    health.set(MailboxCondition::Standby);
    while let Some(lease) = instance.hold(&store, &lease_name, &shutdown).await {
        health.set(MailboxCondition::Connecting);
        let held =
            read_while_held(&mailbox, &tls, &tokens, &mut worker, lease.work(), &health).await;
        lease.release().await;
        if let Held::Released = held {
            health.set(MailboxCondition::Standby);
        }
        if let Held::Abandoned = held {
            return;
        }
    }
    tracing::info!("mailbox watcher stopped");
}

/// Reads the mailbox, reconnecting as needed, until `work` is cancelled or the mailbox's
/// configuration turns out not to work.
async fn read_while_held(
    mailbox: &MailboxSettings,
    tls: &std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
    tokens: &TokenProvider,
    worker: &mut MailboxWorker,
    work: &CancellationToken,
    health: &Condition,
) -> Held {
    let mut backoff = RECONNECT_PAUSES.pauses();
    let mut last_error: Option<String> = None;
    while !work.is_cancelled() {
        let opened = tokio::select! {
            r = open_session(mailbox, tls, tokens) => r,
            _ = work.cancelled() => break,
        };
        let error = match opened {
            Ok(session) => {
                announce_connected(mailbox, &mut last_error);
                health.set(MailboxCondition::Connected);
                let result = worker.run(session, work).await;
                // Only a session that got work done resets the backoff.
                if worker.take_healthy() {
                    backoff.reset();
                    last_error = None;
                }
                match result {
                    Ok(()) => break,
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        if error.is_fatal() {
            tracing::error!(error = %error, "mailbox not watched: its configuration cannot work with this server; fix it and restart");
            worker
                .problem(ProblemArea::Folder, Some(&format!("not watched: {error}")))
                .await;
            health.set(MailboxCondition::Abandoned(error.to_string()));
            return Held::Abandoned;
        }
        health.set(MailboxCondition::Failing(error.to_string()));
        metrics::counter!(IMAP_RECONNECTS, "mailbox" => mailbox.name.clone()).increment(1);
        let mut pause = backoff.after_failure();
        if error.slows_down() {
            pause = pause.max(SLOW_DOWN_PAUSE);
        }
        // Servers put timings and ids in their texts: compare what kind of failure it is.
        let kind = error.kind();
        if last_error.as_deref() != Some(kind) {
            tracing::error!(error = %error, retry_in = ?pause, "mailbox unavailable; retrying with backoff");
            worker
                .problem(ProblemArea::Connection, Some(&error.to_string()))
                .await;
        } else {
            tracing::debug!(error = %error, retry_in = ?pause, "still unavailable");
        }
        last_error = Some(kind.to_string());
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = work.cancelled() => break,
        }
    }
    Held::Released
}

/// Logs a new session: the first, or the first after a connection failure. A failure after
/// login (a refused command) is not over because login worked: it stays quiet then.
fn announce_connected(mailbox: &MailboxSettings, last_error: &mut Option<String>) {
    match last_error.as_deref() {
        None => tracing::info!(host = %mailbox.host, folder = %mailbox.folder, "connected"),
        Some(kind) if ImapError::is_connection_kind(kind) => {
            tracing::info!(host = %mailbox.host, "connected again");
            *last_error = None;
        }
        Some(_) => {}
    }
}
