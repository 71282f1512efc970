//! The intake driver: the one way mail goes from a source into the store.
//!
//! A [`Source`] yields raw messages and knows how to let go of one (move it to cur/, flag
//! it on the server, print its report); the [`Driver`] does the rest, the same for every
//! source:
//!
//! - **batching**: up to [`BATCH_MAILS`] mails or [`BATCH_BYTES`] bytes, a large mail in a
//!   batch of its own; a source ends a batch early by running out (an IMAP fetch batch);
//! - **one commit per batch** ([`Ingestor::try_batch`]), and acknowledgements only once it
//!   returned, so that nothing is let go of before it is durable;
//! - **a retry budget per message**, its failed tries counted under the source's key;
//! - **the quarantine** once the budget is spent (`gave up after N attempts: …`), unless
//!   the machine is at fault (a full disk, a read-only or locked database): a Maildir's
//!   message when nothing was stored since its last try, an IMAP folder's when the store
//!   takes no write of its own; the message is then kept until the store takes mail again;
//! - **the source's ordering rule** ([`Retry`]): a Maildir's files each on their own, an IMAP
//!   folder's messages in UID order, files read once retried at once;
//! - **a wake for the outbox worker** after each batch that committed anything.

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::ControlFlow;
use std::time::Instant;

use super::{BATCH_BYTES, BATCH_MAILS, Deferred, Ingestor, RawMessage, Received, Report};
use crate::backoff::Backoff;
use crate::notify::outbox_worker::OutboxWake;
use crate::quarantine::QuarantineError;

/// Where messages come from and how each is let go of once done: what a source keeps of
/// its own, while the [`Driver`] does the rest.
pub trait Source {
    /// What a message is known by from one try to the next (a Maildir path, an IMAP UID,
    /// an input's position): the driver counts its failed tries under it.
    type Key: Clone + Eq + Hash;

    /// The next message, read through `ingestor` (which quarantines one too large to hold
    /// in memory); `None` when there is no more for now, or the source must stop here.
    fn next(&mut self, ingestor: &Ingestor) -> Option<(Self::Key, Received)>;

    /// The size of the message [`Source::next`] would read, when the source knows it
    /// without reading it (a file's length): the batch in hand is committed first when
    /// that message would not fit, so that two large mails are never held at once.
    fn next_size(&mut self) -> Option<u64> {
        None
    }

    /// The message is done with (stored, ignored, a duplicate, or quarantined) and its
    /// batch is committed: the source may let go of it.
    fn acknowledge(&mut self, key: Self::Key, report: &Report);

    /// The message failed for a temporary reason, `attempts` tries so far, and is handed
    /// back: the source keeps it and offers it again later ([`Retry::Later`],
    /// [`Retry::LaterInOrder`]).
    fn keep(&mut self, key: Self::Key, attempts: u32) {
        let _ = (key, attempts);
    }
}

/// How the driver treats one source's messages.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Tries a message gets before it is given up.
    pub budget: u32,
    /// What becomes of a message that failed for a temporary reason within its budget.
    pub retry: Retry,
    /// Whether a message whose budget is spent goes to the quarantine. Otherwise its source
    /// must keep it: standard input, whose MTA keeps the mail when told to try later.
    pub quarantine_when_spent: bool,
    /// The kind of source (`maildir`, `imap`, `cli`), the `intake` label of the mail
    /// metrics.
    pub intake: &'static str,
}

/// What becomes of a message that failed for a temporary reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Handed back to the source, which offers it again later; the messages after it are
    /// not held back by it (a Maildir: each file on its own).
    Later,
    /// Handed back, and the run stops there: nothing after it may be acknowledged before it
    /// is (an IMAP folder, whose cursor passes the messages in UID order).
    LaterInOrder,
    /// Tried again here after these pauses, before the messages after it: the source reads
    /// each message once (files and standard input).
    AtOnce(Backoff),
}

/// How a [`Driver::run`] ended.
#[derive(Debug)]
#[must_use]
pub enum Ended {
    /// The source gave no more: every message it gave is acknowledged or handed back, or,
    /// when one before it in its batch was handed back, left for the source to offer again.
    Drained,
    /// A message was handed back under [`Retry::LaterInOrder`]: nothing after it was
    /// acknowledged, and the source was asked for nothing more.
    Blocked,
    /// A message could be neither stored nor given up, and its source cannot keep it.
    Halted(Box<Halt>),
}

/// Why a message could be neither stored nor given up by a source that reads each message
/// once: whoever delivered it must be told to try again later.
#[derive(Debug, thiserror::Error)]
pub enum Halt {
    /// Its budget is spent and it may not be quarantined (standard input).
    #[error(transparent)]
    Kept(Deferred),
    /// Its budget is spent and the quarantine cannot take it.
    #[error(
        "{}: gave up after {attempts} attempts: {}; and cannot quarantine it: {error}",
        last.source_name,
        last.cause
    )]
    NotQuarantined {
        last: Deferred,
        attempts: u32,
        #[source]
        error: QuarantineError,
    },
}

/// Takes the messages of a [`Source`] into the store, as its [`Rules`] say. It lives as
/// long as its source (a watched Maildir, a mailbox across reconnections), so that the
/// failed tries of a message handed back are still counted when it comes again.
#[derive(Debug)]
pub struct Driver<K> {
    ingestor: Ingestor,
    rules: Rules,
    /// Woken after a batch that committed anything: the notifications it queued are due.
    outbox: Option<OutboxWake>,
    /// Failed tries of the messages handed back to their source.
    attempts: HashMap<K, Tries>,
    /// Messages stored (or found done) so far: whether the store took anything between a
    /// message's tries tells the machine's faults from the message's own.
    stored: u64,
}

impl<K: Clone + Eq + Hash> Driver<K> {
    /// A driver running messages through `ingestor`.
    pub fn new(ingestor: Ingestor, rules: Rules) -> Self {
        Self {
            ingestor,
            rules,
            outbox: None,
            attempts: HashMap::new(),
            stored: 0,
        }
    }

    /// The same, waking `outbox` after each batch that committed anything, so that the
    /// notifications it queued go out now rather than at the worker's next look.
    pub fn waking(self, outbox: OutboxWake) -> Self {
        Self {
            outbox: Some(outbox),
            ..self
        }
    }

    /// The ingestor messages go through.
    pub fn ingestor(&self) -> &Ingestor {
        &self.ingestor
    }

    /// Forgets the failed tries of the messages for which `still_there` is false: its
    /// source no longer has them (a file another instance took).
    pub fn forget_unless(&mut self, mut still_there: impl FnMut(&K) -> bool) {
        self.attempts.retain(|key, _| still_there(key));
    }

    /// Takes messages from `source` until it gives no more, in batches of one commit each.
    pub async fn run<S: Source<Key = K>>(&mut self, source: &mut S) -> Ended {
        match self.drive(source).await {
            ControlFlow::Continue(()) => Ended::Drained,
            ControlFlow::Break(ended) => ended,
        }
    }

    async fn drive<S: Source<Key = K>>(&mut self, source: &mut S) -> ControlFlow<Ended> {
        let mut batch = Batch::default();
        loop {
            if let Some(size) = source.next_size()
                && !batch.has_room_for_size(size)
            {
                self.commit(source, std::mem::take(&mut batch)).await?;
            }
            let Some((key, received)) = source.next(&self.ingestor) else {
                break;
            };
            match received {
                Received::Message(message) => {
                    if !batch.has_room_for(&message) {
                        self.commit(source, std::mem::take(&mut batch)).await?;
                    }
                    let tried = self.attempts.get(&key).map_or(0, |t| t.count);
                    batch.push(key, message, tried);
                    if batch.is_full() {
                        self.commit(source, std::mem::take(&mut batch)).await?;
                    }
                }
                // Quarantined unread: let go of in its turn, after the messages before it.
                Received::TooLarge(report) => {
                    self.commit(source, std::mem::take(&mut batch)).await?;
                    self.finish(source, key, &report);
                    self.ingestor.announce_quarantined().await;
                }
            }
        }
        self.commit(source, batch).await
    }

    /// Runs `batch` in one commit, then settles each message in order: acknowledged when
    /// done, else retried or handed back as the rules say.
    async fn commit<S: Source<Key = K>>(
        &mut self,
        source: &mut S,
        mut batch: Batch<K>,
    ) -> ControlFlow<Ended> {
        while !batch.keys.is_empty() {
            let started = Instant::now();
            let results = self.ingestor.try_batch(&batch.messages).await;
            // Each mail of the batch waited for the whole batch's commit.
            let seconds = started.elapsed().as_secs_f64();
            let histogram =
                metrics::histogram!(crate::monitoring::MAIL_SECONDS, "intake" => self.rules.intake);
            for _ in results.iter().filter(|r| r.is_ok()) {
                histogram.record(seconds);
            }
            if results.iter().any(Result::is_ok)
                && let Some(outbox) = &self.outbox
            {
                outbox.notify();
            }
            let answered = results.len();
            let failed = results.iter().any(Result::is_err);
            let mut results = results.into_iter();
            let mut untried = Batch::default();
            for (key, (message, tried)) in batch.keys.into_iter().zip(batch.messages) {
                match results.next() {
                    Some(Ok(report)) => self.finish(source, key, &report),
                    Some(Err(last)) => self.failed(source, key, &message, tried + 1, last).await?,
                    None => untried.push(key, message, tried),
                }
            }
            // Those after a failed one were not tried: a source that offers its messages
            // again has them at its next look; one that reads them once has them tried here.
            // Those left out without a failure (a row held by another instance's batch) go
            // into the next batch at once, whatever the source.
            if answered == 0 || (failed && !matches!(self.rules.retry, Retry::AtOnce(_))) {
                break;
            }
            batch = untried;
        }
        // Those given up were quarantined after the batch.
        self.ingestor.announce_quarantined().await;
        ControlFlow::Continue(())
    }

    /// Settles a message whose `attempts`-th try failed for a temporary reason, `last`.
    async fn failed<S: Source<Key = K>>(
        &mut self,
        source: &mut S,
        key: K,
        message: &RawMessage,
        mut attempts: u32,
        mut last: Deferred,
    ) -> ControlFlow<Ended> {
        loop {
            if attempts >= self.rules.budget {
                if let Some(fault) = self.machine_fault(&key).await {
                    // A full disk, a read-only or locked database: every message fails, and
                    // giving them up would quarantine the whole intake. Kept until the
                    // store takes mail again.
                    tracing::warn!(source = %message.source, attempt = attempts, reason = %last.cause, "{fault}: the fault is the machine's, not the message's; kept for a retry");
                    return self.hand_back(source, key, attempts);
                }
                return self.give_up(source, key, message, attempts, last);
            }
            let Retry::AtOnce(pauses) = self.rules.retry else {
                tracing::warn!(source = %message.source, attempt = attempts, reason = %last.cause, "message kept for a retry");
                return self.hand_back(source, key, attempts);
            };
            tracing::warn!(source = %message.source, attempt = attempts, reason = %last.cause, "temporary failure, retrying");
            tokio::time::sleep(pauses.delay(attempts - 1)).await;
            match self.ingestor.try_once(message, attempts).await {
                Ok(report) => {
                    self.finish(source, key, &report);
                    return ControlFlow::Continue(());
                }
                Err(deferred) => {
                    last = deferred;
                    attempts += 1;
                }
            }
        }
    }

    /// A message whose budget is spent: quarantined and acknowledged; or, when it may not or
    /// cannot be quarantined, handed back to its source, or the run halted when the source
    /// cannot keep it.
    fn give_up<S: Source<Key = K>>(
        &mut self,
        source: &mut S,
        key: K,
        message: &RawMessage,
        attempts: u32,
        last: Deferred,
    ) -> ControlFlow<Ended> {
        let halt = if self.rules.quarantine_when_spent {
            match self.ingestor.give_up(message, attempts, &last) {
                Ok(report) => {
                    self.finish(source, key, &report);
                    return ControlFlow::Continue(());
                }
                Err(error) => {
                    tracing::error!(source = %message.source, %error, "cannot quarantine; the message stays with its source");
                    Halt::NotQuarantined {
                        last,
                        attempts,
                        error,
                    }
                }
            }
        } else {
            Halt::Kept(last)
        };
        match self.rules.retry {
            Retry::AtOnce(_) => ControlFlow::Break(Ended::Halted(Box::new(halt))),
            Retry::Later | Retry::LaterInOrder => self.hand_back(source, key, attempts),
        }
    }

    /// Why the machine, not the message `key`, is to blame for its failed tries, if it is:
    ///
    /// - where the source offers other messages between its tries (a Maildir's files each
    ///   on their own), when nothing was stored since its last try;
    /// - where nothing after it is tried (an IMAP folder, in order), when the store does not
    ///   take a write of its own now (a read-only or locked database, a server gone).
    ///
    /// Files read once are tried again at once, with nothing between to tell.
    async fn machine_fault(&self, key: &K) -> Option<String> {
        match self.rules.retry {
            Retry::Later => self
                .attempts
                .get(key)
                .is_some_and(|t| t.stored_before == self.stored)
                .then(|| "nothing was stored since this message's last try".to_string()),
            Retry::LaterInOrder => self
                .ingestor
                .store_takes_writes()
                .await
                .err()
                .map(|e| format!("the store takes no write now ({e})")),
            Retry::AtOnce(_) => None,
        }
    }

    fn hand_back<S: Source<Key = K>>(
        &mut self,
        source: &mut S,
        key: K,
        attempts: u32,
    ) -> ControlFlow<Ended> {
        let tries = Tries {
            count: attempts,
            stored_before: self.stored,
        };
        self.attempts.insert(key.clone(), tries);
        source.keep(key, attempts);
        match self.rules.retry {
            Retry::LaterInOrder => ControlFlow::Break(Ended::Blocked),
            Retry::Later | Retry::AtOnce(_) => ControlFlow::Continue(()),
        }
    }

    fn finish<S: Source<Key = K>>(&mut self, source: &mut S, key: K, report: &Report) {
        metrics::counter!(
            crate::monitoring::MAILS,
            "intake" => self.rules.intake,
            "outcome" => report.outcome.name(),
        )
        .increment(1);
        if report.handled() {
            self.stored += 1;
        }
        self.attempts.remove(&key);
        source.acknowledge(key, report);
    }
}

/// The failed tries of a message handed back to its source.
#[derive(Debug, Clone, Copy)]
struct Tries {
    count: u32,
    /// [`Driver::stored`] when it was handed back.
    stored_before: u64,
}

/// The messages of one batch, each with its key and the tries it had.
struct Batch<K> {
    keys: Vec<K>,
    messages: Vec<(RawMessage, u32)>,
    bytes: usize,
}

impl<K> Default for Batch<K> {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            messages: Vec::new(),
            bytes: 0,
        }
    }
}

impl<K> Batch<K> {
    /// Whether `message` may join without taking the batch past [`BATCH_BYTES`]; a message
    /// larger than that joins only an empty batch.
    fn has_room_for(&self, message: &RawMessage) -> bool {
        self.has_room_for_size(message.bytes.len() as u64)
    }

    /// [`Batch::has_room_for`] a message of `size` bytes.
    fn has_room_for_size(&self, size: u64) -> bool {
        self.keys.is_empty() || self.bytes as u64 + size <= BATCH_BYTES as u64
    }

    fn push(&mut self, key: K, message: RawMessage, tried: u32) {
        self.bytes += message.bytes.len();
        self.keys.push(key);
        self.messages.push((message, tried));
    }

    fn is_full(&self) -> bool {
        self.keys.len() >= BATCH_MAILS || self.bytes >= BATCH_BYTES
    }
}
