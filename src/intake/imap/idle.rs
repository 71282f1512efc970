//! Waiting for new mail between passes: IDLE where the server offers it, renewed before the
//! server would drop it (or sooner, `idle_check_secs`, where the server announces new mail
//! late), else polling; and the unsolicited responses that announce mail. The session sends
//! NOOP after each wait: some servers (Courier) show new mail only then.

use std::time::Duration;

use async_imap::types::UnsolicitedResponse;
use tokio_util::sync::CancellationToken;

use super::connection::ImapSession;
use super::session::Capabilities;
use super::{ImapError, protocol};
use crate::config::MailboxSettings;

/// How long ending an IDLE may take before the connection is taken for dead.
const DONE_TIMEOUT: Duration = Duration::from_secs(10);

/// Empties the responses the server sent unasked (async-imap keeps at most 100 and drops
/// what comes after, EXISTS notices included); whether any announced new mail.
pub(super) fn drain_announcements(session: &mut ImapSession) -> bool {
    let mut announced = false;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        announced |= matches!(
            response,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        );
    }
    announced
}

/// Waits until the server reports something (IDLE), until the poll interval passed (no
/// IDLE), until `at_most` (something else is due), or until shutdown (`true`).
pub(super) async fn wait_for_mail(
    session: ImapSession,
    mailbox: &MailboxSettings,
    caps: Capabilities,
    at_most: Option<Duration>,
    shutdown: &CancellationToken,
) -> Result<(ImapSession, bool), ImapError> {
    let cap = |wait: Duration| at_most.map_or(wait, |m| wait.min(m));
    if caps.idle {
        // Servers that announce late are asked again this often (`idle_check_secs`).
        let renew = mailbox.idle_check.map_or(mailbox.idle_timeout, |check| {
            check.min(mailbox.idle_timeout)
        });
        return idle(session, mailbox, cap(renew), shutdown).await;
    }
    let stop = tokio::select! {
        _ = tokio::time::sleep(cap(mailbox.poll_interval)) => false,
        _ = shutdown.cancelled() => true,
    };
    Ok((session, stop))
}

/// IDLEs until the server reports something, `renew` passed, or shutdown (`true`).
async fn idle(
    session: ImapSession,
    mailbox: &MailboxSettings,
    renew: Duration,
    shutdown: &CancellationToken,
) -> Result<(ImapSession, bool), ImapError> {
    let mut idle = session.idle();
    idle.init().await.map_err(protocol("starting IDLE"))?;
    let stop = {
        let (wait, _interrupt) = idle.wait_with_timeout(renew);
        tokio::select! {
            r = wait => {
                r.map_err(protocol("waiting in IDLE"))?;
                false
            }
            _ = shutdown.cancelled() => true,
        }
    };
    let session = match tokio::time::timeout(DONE_TIMEOUT, idle.done()).await {
        Ok(done) => done.map_err(protocol("ending IDLE"))?,
        Err(_) => {
            return Err(ImapError::Timeout {
                host: mailbox.host.clone(),
                port: mailbox.port,
            });
        }
    };
    Ok((session, stop))
}
