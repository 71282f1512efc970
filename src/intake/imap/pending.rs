//! Acknowledgements the server refused (or that a lost connection cut off). The messages
//! are tickets already and the cursor has passed them, so they are never fetched again:
//! their acknowledgement is remembered in the store, tried again with a growing pause while
//! new mail keeps coming in, logged once per change, and shown by `ticketgate mailboxes`.

use std::time::Duration;

use tokio::time::Instant;

use super::ImapError;
use super::acknowledge::{AckFailure, acknowledge};
use super::connection::ImapSession;
use super::session::{Capabilities, MailboxWorker};
use crate::backoff::{Backoff, Pauses};
use crate::store::{MailboxCursor, PendingAck, ProblemArea};

/// The pause before trying refused acknowledgements again: doubling from five seconds to
/// fifteen minutes while the server keeps refusing.
const RETRY_PAUSES: Backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(900));

/// The acknowledgements still to make, and when to try them again.
#[derive(Debug)]
pub(super) struct PendingAcks {
    acks: Vec<PendingAck>,
    pauses: Pauses,
    next_try: Instant,
    /// The kind of the last failure logged, so that the same one is not logged again. The
    /// kind, not the server's words: Dovecot ends them with the command's timing.
    logged: Option<&'static str>,
}

impl Default for PendingAcks {
    fn default() -> Self {
        Self {
            acks: Vec::new(),
            pauses: RETRY_PAUSES.pauses(),
            next_try: Instant::now(),
            logged: None,
        }
    }
}

impl PendingAcks {
    /// How long until the remembered acknowledgements are to be tried again; `None` when
    /// there are none. The wait for new mail ends then at the latest.
    pub(super) fn due_in(&self) -> Option<Duration> {
        (!self.acks.is_empty()).then(|| self.next_try.saturating_duration_since(Instant::now()))
    }
}

impl MailboxWorker {
    /// Loads what is still to acknowledge in this folder generation, and forgets what was
    /// left in another one (its messages are gone with it).
    pub(super) async fn load_pending(&mut self, uid_validity: u32) -> Result<(), ImapError> {
        let store = self.driver.ingestor().pipeline().store();
        store
            .forget_other_pending_acks(&self.mailbox.name, uid_validity)
            .await?;
        self.pending.acks = store.pending_acks(&self.mailbox.name, uid_validity).await?;
        self.pending.next_try = Instant::now();
        Ok(())
    }

    /// Tries the remembered acknowledgements again when their pause is over. A refusal
    /// keeps them for later; a lost connection ends the session.
    pub(super) async fn retry_pending(
        &mut self,
        session: &mut ImapSession,
        cursor: MailboxCursor,
        caps: Capabilities,
    ) -> Result<(), ImapError> {
        if self.pending.acks.is_empty() || Instant::now() < self.pending.next_try {
            return Ok(());
        }
        let acks = std::mem::take(&mut self.pending.acks);
        let result = acknowledge(
            session,
            &acks,
            &self.acknowledgement,
            caps,
            &mut self.flagged,
        )
        .await;
        let store = self.driver.ingestor().pipeline().store();
        match result {
            Ok(()) => {
                let uids: Vec<u32> = acks.iter().map(|a| a.uid).collect();
                store
                    .forget_pending_acks(&self.mailbox.name, cursor.uid_validity, &uids)
                    .await?;
                store
                    .clear_mailbox_problem(&self.mailbox.name, ProblemArea::Acknowledge)
                    .await?;
                self.pending.pauses.reset();
                if self.pending.logged.take().is_some() {
                    tracing::info!(
                        messages = uids.len(),
                        "the server took the acknowledgements it had refused"
                    );
                }
                Ok(())
            }
            Err(failure) => self.keep_pending(acks, failure, cursor).await,
        }
    }

    /// Records `failure` of acknowledging `acks`: remembered for a retry (the cursor has
    /// passed them or is about to), the problem shown and logged once; a lost connection is
    /// the session's end.
    pub(super) async fn keep_pending(
        &mut self,
        acks: Vec<PendingAck>,
        failure: AckFailure,
        cursor: MailboxCursor,
    ) -> Result<(), ImapError> {
        let acks: Vec<PendingAck> = acks
            .into_iter()
            .map(|a| PendingAck {
                copied: a.copied || failure.copied,
                ..a
            })
            .collect();
        let pipeline = self.driver.ingestor().pipeline();
        let now = pipeline.clock().now();
        let store = pipeline.store();
        store
            .save_mailbox_progress(&self.mailbox.name, cursor, &acks, now)
            .await?;
        let message = format!(
            "{} handled message(s) not acknowledged on the server: {}",
            acks.len(),
            failure.error
        );
        store
            .set_mailbox_problem(&self.mailbox.name, ProblemArea::Acknowledge, &message, now)
            .await?;
        self.pending.acks.extend(acks);
        self.pending.acks.sort_unstable_by_key(|a| a.uid);
        self.pending.acks.dedup_by_key(|a| a.uid);
        let pause = self.pending.pauses.after_failure();
        self.pending.next_try = Instant::now() + pause;
        let kind = failure.error.kind();
        if self.pending.logged != Some(kind) {
            tracing::error!(error = %failure.error, retry_in = ?pause, "the server refuses to acknowledge handled messages; they stay tickets, are not fetched again, and the acknowledgement is retried");
            self.pending.logged = Some(kind);
        }
        if super::is_refusal(&failure.error) {
            Ok(())
        } else {
            Err(failure.error)
        }
    }
}
