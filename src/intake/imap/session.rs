//! One connected session on a mailbox: select the folder, take every message after the
//! cursor in UID order and in bounded fetch batches, run each batch through the intake
//! driver (one commit per batch), acknowledge the batch on the server, save the cursor;
//! then IDLE (or poll) and do it again.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_imap::types::UnsolicitedResponse;
use futures::TryStreamExt;
use tokio_util::sync::CancellationToken;

use super::ImapError;
use super::connection::ImapSession;
use crate::backoff::Backoff;
use crate::config::{MailboxSettings, ProcessedAction};
use crate::intake::{Driver, Ingestor, Received, Report, Retry, Rules, Source};
use crate::notify::outbox_worker::OutboxWake;
use crate::pipeline::IntakeDefaults;
use crate::store::MailboxCursor;

/// Turns a failed IMAP exchange into an [`ImapError::Protocol`] saying what it was for.
fn protocol(doing: &'static str) -> impl Fn(async_imap::error::Error) -> ImapError {
    move |source| ImapError::Protocol { doing, source }
}

/// The pause before the pass that follows one stopped by a message kept for a retry:
/// doubling from a second to five minutes while passes keep stopping.
const DEFERRED_PAUSES: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));

/// How long logging out may take: a dead connection must not hold up shutdown.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the server can do, read once per session.
#[derive(Debug, Clone, Copy)]
struct Capabilities {
    idle: bool,
    r#move: bool,
    uidplus: bool,
}

impl Capabilities {
    async fn read(session: &mut ImapSession) -> Result<Self, ImapError> {
        let caps = session
            .capabilities()
            .await
            .map_err(protocol("reading capabilities"))?;
        Ok(Capabilities {
            idle: caps.has_str("IDLE"),
            r#move: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
        })
    }
}

/// Works one mailbox, across reconnections.
pub(super) struct MailboxWorker {
    mailbox: MailboxSettings,
    /// Takes the fetched messages into the store; it keeps their failed tries by UID from
    /// one session to the next.
    driver: Driver<u32>,
    /// Whether a pass went through since the supervisor last asked: only then is a later
    /// failure a new problem rather than the same one again.
    healthy: bool,
}

impl MailboxWorker {
    /// A worker on `mailbox`, its tickets opened with the mailbox's defaults; `outbox` is
    /// woken after each commit.
    pub(super) fn new(
        mailbox: MailboxSettings,
        ingestor: Ingestor,
        retry_budget: u32,
        outbox: OutboxWake,
    ) -> Self {
        let defaults = IntakeDefaults {
            ticket_type: mailbox.ticket_type,
            language: mailbox.language.clone(),
        };
        let ingestor = Ingestor::new(ingestor.pipeline().with_defaults(defaults));
        let rules = Rules {
            budget: retry_budget,
            retry: Retry::LaterInOrder,
            quarantine_when_spent: true,
        };
        Self {
            mailbox,
            driver: Driver::new(ingestor, rules).waking(outbox),
            healthy: false,
        }
    }

    /// Whether a full pass succeeded since the last call.
    pub(super) fn take_healthy(&mut self) -> bool {
        std::mem::take(&mut self.healthy)
    }

    /// Runs the session until shutdown (`Ok`) or until the connection fails (`Err`).
    pub(super) async fn run(
        &mut self,
        mut session: ImapSession,
        shutdown: &CancellationToken,
    ) -> Result<(), ImapError> {
        let caps = Capabilities::read(&mut session).await?;
        let mut cursor = self.open_folder(&mut session).await?;
        let mut deferred = DEFERRED_PAUSES.pauses();
        loop {
            drain_announcements(&mut session);
            match self.pass(&mut session, &mut cursor, caps, shutdown).await? {
                Pass::Stopped => break,
                Pass::Deferred => {
                    tokio::select! {
                        _ = tokio::time::sleep(deferred.after_failure()) => {}
                        _ = shutdown.cancelled() => break,
                    }
                    session
                        .noop()
                        .await
                        .map_err(protocol("checking the connection"))?;
                    continue;
                }
                Pass::Done => {
                    deferred.reset();
                    self.healthy = true;
                }
            }
            if shutdown.is_cancelled() {
                break;
            }
            // Mail that arrived during the pass was announced then, and the server will not
            // announce it again: look before going idle.
            if drain_announcements(&mut session) {
                continue;
            }
            let (back, stop) = wait_for_mail(session, &self.mailbox, caps, shutdown).await?;
            session = back;
            if stop {
                break;
            }
        }
        match tokio::time::timeout(LOGOUT_TIMEOUT, session.logout()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "logout failed"),
            Err(_) => tracing::debug!("logout timed out"),
        }
        Ok(())
    }

    /// Selects the folder (creating the one handled messages move to) and returns the
    /// cursor to start from.
    async fn open_folder(&self, session: &mut ImapSession) -> Result<MailboxCursor, ImapError> {
        if let ProcessedAction::Move(folder) = &self.mailbox.processed {
            // Creating an existing folder fails harmlessly; a real problem shows at MOVE.
            let _ = session.create(folder).await;
        }
        let folder_error = |message: String| ImapError::Folder {
            folder: self.mailbox.folder.clone(),
            message,
        };
        let selected = session
            .select(&self.mailbox.folder)
            .await
            .map_err(|e| folder_error(e.to_string()))?;
        let uid_validity = selected
            .uid_validity
            .ok_or_else(|| folder_error("the server gives no UIDVALIDITY".into()))?;
        self.cursor(uid_validity).await
    }

    /// The saved cursor, reset when the folder's UIDVALIDITY changed.
    async fn cursor(&self, uid_validity: u32) -> Result<MailboxCursor, ImapError> {
        let store = self.driver.ingestor().pipeline().store();
        let fresh = MailboxCursor {
            uid_validity,
            last_uid: 0,
        };
        match store.mailbox_cursor(&self.mailbox.name).await? {
            Some(c) if c.uid_validity == uid_validity => Ok(c),
            Some(c) => {
                tracing::warn!(
                    old = c.uid_validity,
                    new = uid_validity,
                    "the folder's UIDVALIDITY changed: reading it all again (known mail is recognised as duplicate)"
                );
                Ok(fresh)
            }
            None => Ok(fresh),
        }
    }
}

/// The most bytes fetched in one batch (a single message up to `max_message_bytes` still
/// comes alone).
const MAX_BATCH_BYTES: u64 = 32 * 1024 * 1024;

/// How a pass over the folder ended.
#[derive(Debug, PartialEq, Eq)]
enum Pass {
    /// Everything after the cursor was handled.
    Done,
    /// A message failed for a temporary reason and was kept: wait, then try again.
    Deferred,
    /// Shutdown was asked for.
    Stopped,
}

impl MailboxWorker {
    /// Handles every message after the cursor, a fetch batch at a time.
    async fn pass(
        &mut self,
        session: &mut ImapSession,
        cursor: &mut MailboxCursor,
        caps: Capabilities,
        shutdown: &CancellationToken,
    ) -> Result<Pass, ImapError> {
        let limit = self
            .driver
            .ingestor()
            .pipeline()
            .settings()
            .max_message_bytes;
        let listed = list_after(session, cursor.last_uid).await?;
        let oversized = left_unread(&listed, limit);
        let count = self.mailbox.batch_size as usize;
        for batch in batches(&listed, count, MAX_BATCH_BYTES.max(limit), limit) {
            let wanted: Vec<u32> = batch
                .iter()
                .copied()
                .filter(|uid| !oversized.contains(uid))
                .collect();
            let bodies = if wanted.is_empty() {
                HashMap::new()
            } else {
                fetch_bodies(session, &wanted).await?
            };
            if shutdown.is_cancelled() {
                return Ok(Pass::Stopped);
            }
            let fetched: HashSet<u32> = bodies.keys().copied().collect();
            let mut source = Fetched {
                mailbox: &self.mailbox.name,
                uids: batch.iter(),
                bodies,
                handled: Vec::new(),
            };
            // Blocked or not, what was handled is acknowledged and passed below.
            let _ = self.driver.run(&mut source).await;
            let handled = source.handled;
            let (passed, whole) = passed(&batch, &oversized, &fetched, &handled, cursor.last_uid);
            acknowledge(session, &handled, &self.mailbox.processed, caps).await?;
            if passed != cursor.last_uid {
                cursor.last_uid = passed;
                self.save(*cursor).await?;
            }
            if !whole {
                return Ok(Pass::Deferred);
            }
        }
        Ok(if shutdown.is_cancelled() {
            Pass::Stopped
        } else {
            Pass::Done
        })
    }

    async fn save(&self, cursor: MailboxCursor) -> Result<(), ImapError> {
        let pipeline = self.driver.ingestor().pipeline();
        let now = pipeline.clock().now();
        pipeline
            .store()
            .save_mailbox_cursor(&self.mailbox.name, cursor, now)
            .await?;
        Ok(())
    }
}

/// The listed messages over `limit`, each logged: they stay on the server, undownloaded,
/// and the cursor passes them.
fn left_unread(listed: &[(u32, u64)], limit: u64) -> HashSet<u32> {
    let mut oversized = HashSet::new();
    for &(uid, size) in listed.iter().filter(|(_, size)| *size > limit) {
        tracing::error!(
            uid,
            size,
            limit,
            "message over max_message_bytes: left on the server, not downloaded; raise the limit to take it"
        );
        oversized.insert(uid);
    }
    oversized
}

/// How far the cursor may go in `batch` from `from`: past every message handled, and past
/// those left on the server for good (too large, or not given by the server), up to the
/// first one kept for a retry. Whether it got through the whole batch.
fn passed(
    batch: &[u32],
    oversized: &HashSet<u32>,
    fetched: &HashSet<u32>,
    handled: &[u32],
    from: u32,
) -> (u32, bool) {
    // The driver let go of the handled ones in the batch's order.
    let mut handled = handled.iter().peekable();
    let mut passed = from;
    for &uid in batch {
        if oversized.contains(&uid) || handled.next_if_eq(&&uid).is_some() {
            passed = uid;
        } else if !fetched.contains(&uid) {
            tracing::error!(
                uid,
                "the server did not give this message; it is left on the server"
            );
            passed = uid;
        } else {
            return (passed, false);
        }
    }
    (passed, true)
}

/// The messages of one fetch batch, in UID order, as a source for the driver.
struct Fetched<'a> {
    mailbox: &'a str,
    uids: std::slice::Iter<'a, u32>,
    bodies: HashMap<u32, Vec<u8>>,
    /// The UIDs the driver let go of, in order: those to acknowledge on the server.
    handled: Vec<u32>,
}

impl Source for Fetched<'_> {
    type Key = u32;

    fn next(&mut self, ingestor: &Ingestor) -> Option<(u32, Received)> {
        for &uid in self.uids.by_ref() {
            // Not fetched: too large, or the server would not give it.
            let Some(body) = self.bodies.remove(&uid) else {
                continue;
            };
            let source = format!("imap:{}:{uid}", self.mailbox);
            match ingestor.receive(&source, body) {
                Ok(received) => return Some((uid, received)),
                Err(e) => {
                    // Nothing after it may be acknowledged: the pass stops here.
                    tracing::error!(uid, error = %e, "cannot quarantine an oversized message; it is left on the server");
                    return None;
                }
            }
        }
        None
    }

    fn acknowledge(&mut self, uid: u32, _report: &Report) {
        self.handled.push(uid);
    }
}

/// Moves, flags or deletes the messages `uids`, as `processed` says.
async fn acknowledge(
    session: &mut ImapSession,
    uids: &[u32],
    processed: &ProcessedAction,
    caps: Capabilities,
) -> Result<(), ImapError> {
    if uids.is_empty() {
        return Ok(());
    }
    let set = uid_set(uids);
    match processed {
        ProcessedAction::Move(folder) if caps.r#move => session
            .uid_mv(&set, folder)
            .await
            .map_err(protocol("moving handled messages"))?,
        ProcessedAction::Move(folder) => {
            session
                .uid_copy(&set, folder)
                .await
                .map_err(protocol("copying handled messages"))?;
            delete(session, &set, caps).await?;
        }
        ProcessedAction::Seen => {
            let updates = session
                .uid_store(&set, "+FLAGS.SILENT (\\Seen)")
                .await
                .map_err(protocol("flagging messages"))?;
            updates
                .try_collect::<Vec<_>>()
                .await
                .map_err(protocol("flagging messages"))?;
        }
        ProcessedAction::Delete => delete(session, &set, caps).await?,
    }
    tracing::debug!(uids = %set, "acknowledged on the server");
    Ok(())
}

/// `uids` as an IMAP sequence set: `3,4,9`.
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Flags `set` deleted and expunges it: only it where the server has UID EXPUNGE
/// (UIDPLUS), else everything flagged deleted in the folder.
async fn delete(session: &mut ImapSession, set: &str, caps: Capabilities) -> Result<(), ImapError> {
    let updates = session
        .uid_store(set, "+FLAGS.SILENT (\\Deleted)")
        .await
        .map_err(protocol("deleting messages"))?;
    updates
        .try_collect::<Vec<_>>()
        .await
        .map_err(protocol("deleting messages"))?;
    if caps.uidplus {
        let gone = session
            .uid_expunge(set)
            .await
            .map_err(protocol("expunging messages"))?;
        gone.try_collect::<Vec<_>>()
            .await
            .map_err(protocol("expunging messages"))?;
    } else {
        let gone = session
            .expunge()
            .await
            .map_err(protocol("expunging messages"))?;
        gone.try_collect::<Vec<_>>()
            .await
            .map_err(protocol("expunging messages"))?;
    }
    Ok(())
}

/// The UIDs after `last_uid` with their sizes, in UID order. Sizes first: batches are
/// bounded in count and in bytes, and a message over the size limit is never downloaded.
async fn list_after(
    session: &mut ImapSession,
    last_uid: u32,
) -> Result<Vec<(u32, u64)>, ImapError> {
    let listed = session
        .uid_fetch(
            format!("{}:*", last_uid.saturating_add(1)),
            "(UID RFC822.SIZE)",
        )
        .await
        .map_err(protocol("listing new messages"))?;
    // `N:*` names the last message even when it is below N: filter it out.
    let mut sizes: Vec<(u32, u64)> = listed
        .try_collect::<Vec<_>>()
        .await
        .map_err(protocol("listing new messages"))?
        .iter()
        .filter_map(|f| Some((f.uid?, u64::from(f.size.unwrap_or(0)))))
        .filter(|(uid, _)| *uid > last_uid)
        .collect();
    sizes.sort_unstable();
    Ok(sizes)
}

/// Groups UIDs (with their sizes) into batches of at most `count` messages and about
/// `bytes` bytes. Messages over `limit` are kept in the batches so the cursor passes them,
/// but count for nothing: they are not fetched.
fn batches(uids: &[(u32, u64)], count: usize, bytes: u64, limit: u64) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut current: Vec<u32> = Vec::new();
    let mut current_bytes = 0u64;
    for &(uid, size) in uids {
        let size = if size > limit { 0 } else { size };
        if !current.is_empty() && (current.len() >= count || current_bytes + size > bytes) {
            out.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.push(uid);
        current_bytes += size;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The bodies of `uids`, fetched at once; when the server refuses the batch, one by one so
/// that a single message it will not give does not hold back the others.
async fn fetch_bodies(
    session: &mut ImapSession,
    uids: &[u32],
) -> Result<HashMap<u32, Vec<u8>>, ImapError> {
    match fetch_set(session, &uid_set(uids)).await {
        Err(e) if is_refusal(&e) && uids.len() > 1 => {}
        fetched => return fetched,
    }
    let mut bodies = HashMap::new();
    for uid in uids {
        match fetch_set(session, &uid.to_string()).await {
            Ok(one) => bodies.extend(one),
            Err(e) if is_refusal(&e) => {
                tracing::error!(uid, error = %e, "the server refuses to give this message; it is left there")
            }
            Err(e) => return Err(e),
        }
    }
    Ok(bodies)
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

async fn fetch_set(
    session: &mut ImapSession,
    set: &str,
) -> Result<HashMap<u32, Vec<u8>>, ImapError> {
    let stream = session
        .uid_fetch(set, "(UID BODY.PEEK[])")
        .await
        .map_err(protocol("fetching messages"))?;
    let fetched: Vec<_> = stream
        .try_collect()
        .await
        .map_err(protocol("fetching messages"))?;
    Ok(fetched
        .iter()
        .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
        .collect())
}

/// How long ending an IDLE may take before the connection is taken for dead.
const DONE_TIMEOUT: Duration = Duration::from_secs(10);

/// Empties the responses the server sent unasked (async-imap keeps at most 100 and drops
/// what comes after, EXISTS notices included); whether any announced new mail.
fn drain_announcements(session: &mut ImapSession) -> bool {
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
/// IDLE), or until shutdown (`true`).
async fn wait_for_mail(
    session: ImapSession,
    mailbox: &MailboxSettings,
    caps: Capabilities,
    shutdown: &CancellationToken,
) -> Result<(ImapSession, bool), ImapError> {
    if caps.idle {
        return idle(session, mailbox, shutdown).await;
    }
    let stop = tokio::select! {
        _ = tokio::time::sleep(mailbox.poll_interval) => false,
        _ = shutdown.cancelled() => true,
    };
    Ok((session, stop))
}

/// IDLEs until the server reports something, the renewal time, or shutdown (`true`).
async fn idle(
    session: ImapSession,
    mailbox: &MailboxSettings,
    shutdown: &CancellationToken,
) -> Result<(ImapSession, bool), ImapError> {
    let mut idle = session.idle();
    idle.init().await.map_err(protocol("starting IDLE"))?;
    let stop = {
        let (wait, _interrupt) = idle.wait_with_timeout(mailbox.idle_timeout);
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

#[cfg(test)]
mod tests {
    use super::batches;

    #[test]
    fn batches_are_bounded_in_count_and_bytes() {
        let uids = [(1, 10), (2, 10), (3, 10), (4, 50), (5, 1000), (6, 5)];
        assert_eq!(
            batches(&uids, 2, 100, 500),
            vec![vec![1, 2], vec![3, 4], vec![5, 6]]
        );
        assert_eq!(
            batches(&uids, 10, 25, 500),
            vec![vec![1, 2], vec![3], vec![4], vec![5, 6]]
        );
        assert!(batches(&[], 5, 5, 5).is_empty());
    }
}
