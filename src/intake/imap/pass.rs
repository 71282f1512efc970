//! One pass over the folder: every message after the cursor, in UID order and in bounded
//! fetch batches; each batch taken into the store by the intake driver, acknowledged on the
//! server, then passed by the cursor.

use std::collections::{HashMap, HashSet};

use tokio_util::sync::CancellationToken;

use super::ImapError;
use super::acknowledge::acknowledge;
use super::connection::ImapSession;
use super::fetch;
use super::session::{Capabilities, MailboxWorker};
use crate::intake::{Ingestor, Received, Report, Source};
use crate::store::{MailboxCursor, PendingAck};

/// The most bytes fetched in one batch (a single message up to `max_message_bytes` still
/// comes alone).
const MAX_BATCH_BYTES: u64 = 32 * 1024 * 1024;

/// How a pass over the folder ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Pass {
    /// Everything after the cursor was handled; `found` when there was anything.
    Done { found: bool },
    /// A message failed for a temporary reason and was kept: wait, then try again.
    Deferred,
    /// Shutdown was asked for.
    Stopped,
}

impl MailboxWorker {
    /// Handles every message after the cursor, a fetch batch at a time.
    pub(super) async fn pass(
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
            .current_settings()
            .max_message_bytes;
        let listed = fetch::list_after(session, cursor.last_uid).await?;
        let oversized = left_unread(&listed, limit);
        let count = self.mailbox.batch_size as usize;
        for batch in fetch::batches(&listed, count, MAX_BATCH_BYTES.max(limit), limit) {
            let wanted: Vec<u32> = batch
                .iter()
                .copied()
                .filter(|uid| !oversized.contains(uid))
                .collect();
            let bodies = if wanted.is_empty() {
                HashMap::new()
            } else {
                fetch::bodies(session, &wanted).await?
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
            let acks: Vec<PendingAck> = handled
                .iter()
                .map(|&uid| PendingAck { uid, copied: false })
                .collect();
            let acked = acknowledge(
                session,
                &acks,
                &self.acknowledgement,
                caps,
                &mut self.flagged,
            )
            .await;
            let moved = passed != cursor.last_uid;
            cursor.last_uid = passed;
            match acked {
                Ok(()) if moved => self.save(*cursor).await?,
                Ok(()) => {}
                // The mails are tickets: the cursor passes them all the same, and their
                // acknowledgement is remembered, so that none is fetched again.
                Err(failure) => self.keep_pending(acks, failure, *cursor).await?,
            }
            if !whole {
                return Ok(Pass::Deferred);
            }
        }
        Ok(if shutdown.is_cancelled() {
            Pass::Stopped
        } else {
            Pass::Done {
                found: !listed.is_empty(),
            }
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
