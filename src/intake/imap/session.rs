//! One connected session on a mailbox: select the folder, take every message after the
//! cursor in UID order and in bounded batches, run each batch through the pipeline in one
//! commit, acknowledge the batch on the server, save the cursor; then IDLE (or poll) and do
//! it again.

use std::collections::HashMap;
use std::time::Duration;

use futures::TryStreamExt;
use tokio_util::sync::CancellationToken;

use super::ImapError;
use super::connection::ImapSession;
use crate::config::{MailboxSettings, ProcessedAction};
use crate::intake::{Ingestor, RawMessage, Received};
use crate::notify::outbox_worker::OutboxWake;
use crate::pipeline::IntakeDefaults;
use crate::store::MailboxCursor;

/// The most bytes fetched in one batch (a single message up to `max_message_bytes` still
/// comes alone).
const MAX_BATCH_BYTES: u64 = 32 * 1024 * 1024;

/// Groups UIDs (with their sizes) into batches of at most `count` messages and about
/// `bytes` bytes. Messages over `limit` are kept in the batches so the cursor passes them,
/// but are not fetched.
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

/// What the server can do, read once per session.
#[derive(Debug, Clone, Copy)]
struct Capabilities {
    idle: bool,
    r#move: bool,
    uidplus: bool,
}

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

/// Works one mailbox, across reconnections (it keeps the retry counts).
pub(super) struct MailboxWorker {
    mailbox: MailboxSettings,
    ingestor: Ingestor,
    retry_budget: u32,
    /// Temporary failures per UID, for the retry budget.
    attempts: HashMap<u32, u32>,
    /// Whether a pass went through since the supervisor last asked: only then is a later
    /// failure a new problem rather than the same one again.
    healthy: bool,
    /// Told after each commit: the notifications it queued are due now.
    outbox: OutboxWake,
}

fn protocol(doing: &'static str) -> impl Fn(async_imap::error::Error) -> ImapError {
    move |source| ImapError::Protocol { doing, source }
}

impl MailboxWorker {
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
        Self {
            mailbox,
            ingestor,
            retry_budget,
            attempts: HashMap::new(),
            healthy: false,
            outbox,
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
        let caps = session
            .capabilities()
            .await
            .map_err(protocol("reading capabilities"))?;
        let caps = Capabilities {
            idle: caps.has_str("IDLE"),
            r#move: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
        };
        if let ProcessedAction::Move(folder) = &self.mailbox.processed {
            // Creating an existing folder fails harmlessly; a real problem shows at MOVE.
            let _ = session.create(folder).await;
        }
        let selected =
            session
                .select(&self.mailbox.folder)
                .await
                .map_err(|e| ImapError::Folder {
                    folder: self.mailbox.folder.clone(),
                    message: e.to_string(),
                })?;
        let uid_validity = selected.uid_validity.ok_or_else(|| ImapError::Folder {
            folder: self.mailbox.folder.clone(),
            message: "the server gives no UIDVALIDITY".into(),
        })?;
        let mut cursor = self.cursor(uid_validity).await?;
        let mut deferred_pause = Duration::from_secs(1);
        loop {
            while session.unsolicited_responses.try_recv().is_ok() {}
            match self.pass(&mut session, &mut cursor, caps, shutdown).await? {
                Pass::Stopped => break,
                Pass::Deferred => {
                    tokio::select! {
                        _ = tokio::time::sleep(deferred_pause) => {}
                        _ = shutdown.cancelled() => break,
                    }
                    deferred_pause = (deferred_pause * 2).min(Duration::from_secs(300));
                    session
                        .noop()
                        .await
                        .map_err(protocol("checking the connection"))?;
                    continue;
                }
                Pass::Done => {
                    deferred_pause = Duration::from_secs(1);
                    self.healthy = true;
                }
            }
            if shutdown.is_cancelled() {
                break;
            }
            // Mail that arrived during the pass was announced then, and the server will not
            // announce it again: look before going idle.
            let mut announced = false;
            while let Ok(response) = session.unsolicited_responses.try_recv() {
                announced |= matches!(
                    response,
                    async_imap::types::UnsolicitedResponse::Exists(_)
                        | async_imap::types::UnsolicitedResponse::Recent(_)
                );
            }
            if announced {
                continue;
            }
            let stop = if caps.idle {
                let (s, stop) = self.idle(session, shutdown).await?;
                session = s;
                stop
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(self.mailbox.poll_interval) => false,
                    _ = shutdown.cancelled() => true,
                }
            };
            if stop {
                break;
            }
        }
        // A dead connection must not hold up shutdown.
        match tokio::time::timeout(Duration::from_secs(5), session.logout()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "logout failed"),
            Err(_) => tracing::debug!("logout timed out"),
        }
        Ok(())
    }

    /// The saved cursor, reset when the folder's UIDVALIDITY changed.
    async fn cursor(&self, uid_validity: u32) -> Result<MailboxCursor, ImapError> {
        let store = self.ingestor.pipeline().store();
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

    /// Handles every message after the cursor, a batch at a time.
    async fn pass(
        &mut self,
        session: &mut ImapSession,
        cursor: &mut MailboxCursor,
        caps: Capabilities,
        shutdown: &CancellationToken,
    ) -> Result<Pass, ImapError> {
        // Sizes first: batches are bounded in count and in bytes, and a message over the
        // size limit is never downloaded.
        let sizes = session
            .uid_fetch(
                format!("{}:*", cursor.last_uid.saturating_add(1)),
                "(UID RFC822.SIZE)",
            )
            .await
            .map_err(protocol("listing new messages"))?;
        let mut sizes: Vec<(u32, u64)> = sizes
            .try_collect::<Vec<_>>()
            .await
            .map_err(protocol("listing new messages"))?
            .iter()
            .filter_map(|f| Some((f.uid?, u64::from(f.size.unwrap_or(0)))))
            .filter(|(uid, _)| *uid > cursor.last_uid)
            .collect();
        sizes.sort_unstable();
        let limit = self.ingestor.pipeline().settings().max_message_bytes;
        let mut uids = Vec::with_capacity(sizes.len());
        let mut oversized = std::collections::HashSet::new();
        for (uid, size) in sizes {
            if size > limit {
                oversized.insert(uid);
                tracing::error!(
                    uid,
                    size,
                    limit,
                    "message over max_message_bytes: left on the server, not downloaded; raise the limit to take it"
                );
            }
            uids.push((uid, size));
        }
        let batches = batches(
            &uids,
            self.mailbox.batch_size as usize,
            MAX_BATCH_BYTES.max(limit),
            limit,
        );
        for batch in &batches {
            let wanted: Vec<u32> = batch
                .iter()
                .copied()
                .filter(|uid| !oversized.contains(uid))
                .collect();
            let bodies = if wanted.is_empty() {
                HashMap::new()
            } else {
                fetch(session, &wanted).await?
            };
            if shutdown.is_cancelled() {
                return Ok(Pass::Stopped);
            }
            let wanted: Vec<(u32, &[u8])> = batch
                .iter()
                .filter_map(|uid| Some((*uid, bodies.get(uid)?.as_slice())))
                .collect();
            let acknowledged = self.handle(&wanted).await;
            let mut handled = Vec::new();
            let mut outcome = Pass::Done;
            let mut passed = cursor.last_uid;
            for &uid in batch {
                if oversized.contains(&uid) {
                    passed = uid;
                    continue;
                }
                if !bodies.contains_key(&uid) {
                    tracing::error!(
                        uid,
                        "the server did not give this message; it is left on the server"
                    );
                    passed = uid;
                    continue;
                }
                if acknowledged.contains(&uid) {
                    handled.push(uid);
                    passed = uid;
                } else {
                    outcome = Pass::Deferred;
                    break;
                }
            }
            self.acknowledge(session, &handled, caps).await?;
            if passed != cursor.last_uid {
                cursor.last_uid = passed;
                let now = self.ingestor.pipeline().clock().now();
                self.ingestor
                    .pipeline()
                    .store()
                    .save_mailbox_cursor(&self.mailbox.name, *cursor, now)
                    .await?;
            }
            if outcome != Pass::Done {
                return Ok(outcome);
            }
        }
        Ok(if shutdown.is_cancelled() {
            Pass::Stopped
        } else {
            Pass::Done
        })
    }

    /// Runs `messages` (UID and bytes, in UID order) through the pipeline, as batches of
    /// one commit each. Returns the UIDs that may be acknowledged: those before the first
    /// message that must stay on the server.
    async fn handle(&mut self, messages: &[(u32, &[u8])]) -> Vec<u32> {
        let mut acknowledged = Vec::new();
        let mut batch: Vec<(u32, RawMessage)> = Vec::new();
        for &(uid, bytes) in messages {
            let source = format!("imap:{}:{uid}", self.mailbox.name);
            let received = self.ingestor.read_message(&source, bytes);
            if let Ok(Received::Message(m)) = received {
                batch.push((uid, m));
                continue;
            }
            // Whatever comes next is answered in order: the batch before it first.
            if !self
                .run_batch(std::mem::take(&mut batch), &mut acknowledged)
                .await
            {
                return acknowledged;
            }
            match received {
                Ok(_) => acknowledged.push(uid), // too large: quarantined unread
                Err(e) => {
                    tracing::error!(uid, error = %e, "cannot quarantine an oversized message; it is left on the server");
                    return acknowledged;
                }
            }
        }
        self.run_batch(batch, &mut acknowledged).await;
        acknowledged
    }

    /// Runs one batch and adds to `acknowledged` the UIDs that may be acknowledged, up to
    /// the first that must stay on the server; `false` when there was one.
    async fn run_batch(
        &mut self,
        batch: Vec<(u32, RawMessage)>,
        acknowledged: &mut Vec<u32>,
    ) -> bool {
        if batch.is_empty() {
            return true;
        }
        let (uids, messages): (Vec<u32>, Vec<(RawMessage, u32)>) = batch
            .into_iter()
            .map(|(uid, m)| (uid, (m, self.attempts.get(&uid).copied().unwrap_or(0))))
            .unzip();
        let results = self.ingestor.try_batch(&messages).await;
        if results.iter().any(Result::is_ok) {
            // Committed: the notifications it queued may leave before the IMAP
            // acknowledgement.
            self.outbox.notify();
        }
        let mut results = results.into_iter();
        for (uid, (message, attempts)) in uids.into_iter().zip(&messages) {
            let attempts = *attempts;
            match results.next() {
                Some(Ok(_)) => {
                    self.attempts.remove(&uid);
                }
                Some(Err(deferred)) if attempts + 1 >= self.retry_budget => {
                    if let Err(e) = self.ingestor.give_up(message, attempts + 1, &deferred) {
                        tracing::error!(uid, error = %e, "cannot quarantine; the message stays on the server");
                        return false;
                    }
                    self.attempts.remove(&uid);
                }
                Some(Err(deferred)) => {
                    tracing::warn!(uid, attempt = attempts + 1, reason = %deferred.cause, "message kept on the server for a retry");
                    self.attempts.insert(uid, attempts + 1);
                    return false;
                }
                // Not tried: one before it failed.
                None => return false,
            }
            acknowledged.push(uid);
        }
        true
    }

    /// Moves, flags or deletes handled messages, as configured.
    async fn acknowledge(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
        caps: Capabilities,
    ) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        match &self.mailbox.processed {
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

    /// IDLEs until the server reports something, the renewal time, or shutdown (`true`).
    async fn idle(
        &self,
        session: ImapSession,
        shutdown: &CancellationToken,
    ) -> Result<(ImapSession, bool), ImapError> {
        let mut idle = session.idle();
        idle.init().await.map_err(protocol("starting IDLE"))?;
        let stop = {
            let (wait, _interrupt) = idle.wait_with_timeout(self.mailbox.idle_timeout);
            tokio::select! {
                r = wait => {
                    r.map_err(protocol("waiting in IDLE"))?;
                    false
                }
                _ = shutdown.cancelled() => true,
            }
        };
        let session = match tokio::time::timeout(Duration::from_secs(10), idle.done()).await {
            Ok(done) => done.map_err(protocol("ending IDLE"))?,
            Err(_) => {
                return Err(ImapError::Timeout {
                    host: self.mailbox.host.clone(),
                    port: self.mailbox.port,
                });
            }
        };
        Ok((session, stop))
    }
}

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

/// The bodies of `uids`, fetched at once; when the server refuses the batch, one by one so
/// that a single message it will not give does not hold back the others.
async fn fetch(
    session: &mut ImapSession,
    uids: &[u32],
) -> Result<HashMap<u32, Vec<u8>>, ImapError> {
    let set = uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    match fetch_set(session, &set).await {
        Ok(bodies) => Ok(bodies),
        Err(ImapError::Protocol {
            source: async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_),
            ..
        }) if uids.len() > 1 => {
            let mut bodies = HashMap::new();
            for uid in uids {
                match fetch_set(session, &uid.to_string()).await {
                    Ok(one) => bodies.extend(one),
                    Err(ImapError::Protocol {
                        source:
                            e @ (async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_)),
                        ..
                    }) => {
                        tracing::error!(uid, error = %e, "the server refuses to give this message; it is left there")
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(bodies)
        }
        Err(e) => Err(e),
    }
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
