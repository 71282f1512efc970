//! The only place that sends mail: claims due outbox rows (the mail lane a group at a
//! time, see `mail_group.rs`; `outbox flush` and the other lanes one at a time), writes and
//! sends each, and records the outcome. Temporary failures come back later with a capped,
//! doubling pause; permanent ones are marked failed with the server's answer. A server
//! that cannot be reached is waited for (see `unreachable.rs`).
//!
//! Instances sharing a database each run a worker; a row is claimed by one of them. The
//! one window where a notification can go out twice: the server accepted it and the
//! process died before recording that (a group's sends are recorded together, once the
//! group is through). The row's claim then runs out and it is sent again (with the same
//! Message-ID), after the claim's lease or at once when that instance restarts.

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as ChronoDuration;
use tokio_util::sync::CancellationToken;

use super::compose::{ComposeError, Composer};
use super::governor::{Governor, Verdict};
use super::in_hand::{InHand, RowsInHand};
use super::mail_group::GroupReads;
use super::transport::{SendError, Transport};
use super::unreachable::Outage;
use super::unrecorded::UnrecordedSends;
use super::webhook::WebhookSender;
use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::cluster::Instance;
use crate::store::{Channel, Claimed, HoldKind, Store, StoreError};

/// How long a claimed row is ours before another worker may take it.
pub(super) const LEASE: ChronoDuration = ChronoDuration::minutes(5);
/// Pause between tries: doubles from the configured first one, up to this.
pub(super) const MAX_RETRY_PAUSE: Duration = Duration::from_secs(3600);
/// Temporary failures allowed before a notification is given up (tries that could not
/// reach the server are not counted).
const MAX_ATTEMPTS: u32 = 12;

/// Wakes a running [`OutboxWorker`] when notifications were just committed, so that they go
/// out now rather than at its next look (it looks every quarter of a second when idle).
/// Cloned into every in-process writer that queues notifications.
#[derive(Debug, Clone, Default)]
pub struct OutboxWake(Arc<[tokio::sync::Notify; LANES.len()]>);

impl OutboxWake {
    /// Says that notifications are due, to each lane. A wake that comes while a lane is
    /// busy is not lost: its next idle pause ends at once.
    pub fn notify(&self) {
        for lane in self.0.iter() {
            lane.notify_one();
        }
    }
}

/// The worker's lanes, one per channel, each claiming and sending its own rows: a webhook
/// or an SMS gateway that hangs until its timeout holds up its own lane, never the mail
/// (acknowledgements above all). Each lane has this many senders at once: mail goes a
/// group at a time, the group over several SMTP connections (`mail_group.rs`); POSTs wait
/// on the network more than on the database, so several are in flight (a row is claimed
/// by one sender only).
const LANES: [(Channel, usize); 3] = [
    (Channel::Email, 1),
    (Channel::Webhook, 4),
    (Channel::Sms, 2),
];

/// What one step did.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A notification was handled (sent, put back, or failed).
    Handled,
    /// Nothing is due.
    Idle,
}

/// What became of one notification a step handled: `outbox flush` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Handed over to the transport.
    Sent,
    /// Not sent for a temporary reason: due again after a pause.
    Deferred,
    /// Given up: refused for good, not writable, or out of retries.
    Failed,
    /// Held back by the loop governor.
    Held,
    /// Not wanted by its recipient's preferences.
    Skipped,
}

/// The row a try was for: its id, its recipient, how many tries it had, when it was
/// queued.
#[derive(Debug, Clone, Copy)]
pub(super) struct Attempt<'a> {
    pub id: i64,
    pub recipient: &'a crate::domain::EmailAddress,
    pub attempts: u32,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Counts what became of an outbox row of `event`, leaving by `channel`, in the metrics.
pub(super) fn count(channel: Channel, event: &'static str, delivery: Delivery) {
    use crate::monitoring::{DELIVERIES, DELIVERY_FAILURES, GOVERNOR};
    let channel = channel.as_str();
    match delivery {
        Delivery::Sent => {
            metrics::counter!(DELIVERIES, "event" => event, "channel" => channel).increment(1)
        }
        Delivery::Deferred => metrics::counter!(
            DELIVERY_FAILURES, "event" => event, "channel" => channel, "last" => "false"
        )
        .increment(1),
        Delivery::Failed => metrics::counter!(
            DELIVERY_FAILURES, "event" => event, "channel" => channel, "last" => "true"
        )
        .increment(1),
        Delivery::Held => metrics::counter!(GOVERNOR, "decision" => "held").increment(1),
        Delivery::Skipped => metrics::counter!(GOVERNOR, "decision" => "skipped").increment(1),
    }
}

/// Sends notifications from the outbox.
#[derive(Debug)]
pub struct OutboxWorker {
    pub(super) store: Store,
    pub(super) composer: Composer,
    pub(super) governor: Governor,
    pub(super) transport: Transport,
    pub(super) clock: Arc<dyn Clock>,
    /// The pause before a notification's next try, by the tries it had (kept in its row).
    retry_pauses: Backoff,
    pub(super) instance: Instance,
    /// The `[[webhook]]`s the outbox's webhook rows are posted to.
    pub(super) webhooks: WebhookSender,
    /// The `[sms]` gateway the outbox's SMS rows are posted to (none when not configured).
    pub(super) sms: WebhookSender,
    /// Whether the SMTP server is unreachable, since when: logged once per outage.
    pub(super) outage: Outage,
    /// The rows the lanes are delivering, not to be delivered twice at once.
    in_hand: RowsInHand,
}

impl OutboxWorker {
    /// A worker whose temporary failures are first retried after `first_retry_pause`.
    pub fn new(
        store: Store,
        composer: Composer,
        governor: Governor,
        transport: Transport,
        clock: Arc<dyn Clock>,
        first_retry_pause: std::time::Duration,
        instance: Instance,
    ) -> Self {
        Self {
            store,
            composer,
            governor,
            transport,
            clock,
            retry_pauses: Backoff::new(first_retry_pause, MAX_RETRY_PAUSE),
            instance,
            webhooks: WebhookSender::default(),
            sms: WebhookSender::default(),
            outage: Outage::default(),
            in_hand: RowsInHand::default(),
        }
    }

    /// The same worker, claiming rows as `instance`: a worker built again on a reload
    /// claims as the one it replaces, which may still be finishing a row (under another
    /// holder, the new worker would take that row for a dead process's and send it again).
    pub fn with_instance(self, instance: Instance) -> Self {
        Self { instance, ..self }
    }

    /// The same worker, posting the outbox's webhook rows with `webhooks`.
    pub fn with_webhooks(self, webhooks: WebhookSender) -> Self {
        Self { webhooks, ..self }
    }

    /// The same worker, posting the outbox's SMS rows to the gateway of `sms`.
    pub fn with_sms(self, sms: WebhookSender) -> Self {
        Self { sms, ..self }
    }

    /// Handles the next due notification, if any.
    pub async fn step(&self) -> Result<Step, StoreError> {
        self.step_of(None).await
    }

    /// Handles the next due row of `channel` (of any, with `None`), if any.
    async fn step_of(&self, channel: Option<Channel>) -> Result<Step, StoreError> {
        Ok(match self.deliver_next_of(channel).await? {
            Some(_) => Step::Handled,
            None => Step::Idle,
        })
    }

    /// Handles the next due notification, if any, and says what became of it.
    pub async fn deliver_next(&self) -> Result<Option<Delivery>, StoreError> {
        self.deliver_next_of(None).await
    }

    async fn deliver_next_of(
        &self,
        channel: Option<Channel>,
    ) -> Result<Option<Delivery>, StoreError> {
        let now = self.clock.now();
        let Some(claimed) = self
            .store
            .claim_delivery(now, LEASE, self.instance.holder(), channel)
            .await?
        else {
            return Ok(None);
        };
        let Some(_in_hand) = self.take_in_hand(&claimed) else {
            return Ok(None);
        };
        let unrecorded = UnrecordedSends::default();
        let delivery = self
            .deliver_claimed(claimed, now, &GroupReads::default(), &unrecorded)
            .await;
        self.record(&unrecorded).await?;
        delivery.map(Some)
    }

    /// Takes the row of `claimed` in hand; `None` when another lane has it in hand
    /// already: the claim only renewed the lease of a row that lane is delivering (and
    /// counted one more try), and that lane records how its delivery went.
    pub(super) fn take_in_hand(&self, claimed: &Claimed) -> Option<InHand<'_>> {
        let id = match claimed {
            Claimed::Email(job) | Claimed::Sms(job) => job.id,
            Claimed::Personal(job) => job.id,
            Claimed::Webhook(job) => job.id,
        };
        let in_hand = self.in_hand.take(id);
        if in_hand.is_none() {
            tracing::warn!(
                notification = id,
                "the clock jumped past the claim on a notification still being delivered; it is not delivered twice"
            );
        }
        in_hand
    }

    /// Records as sent, in one transaction, the mails of `unrecorded` the server accepted.
    pub(super) async fn record(&self, unrecorded: &UnrecordedSends) -> Result<(), StoreError> {
        self.store
            .mark_notifications_sent(&unrecorded.take(), self.clock.now())
            .await
    }

    /// What a mail row that could not be written leads to: another try after the usual
    /// pause when the database failed, else marked failed (trying again writes the same).
    pub(super) async fn not_composed(
        &self,
        id: i64,
        attempts: u32,
        error: ComposeError,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Delivery, StoreError> {
        if let ComposeError::Store(e) = &error {
            tracing::warn!(error = %e, "cannot read what the notification needs; will retry");
            self.store
                .retry_notification(id, &e.to_string(), now + self.pause(attempts))
                .await?;
            return Ok(Delivery::Deferred);
        }
        tracing::error!(%error, "cannot write the notification; marked failed");
        self.store.fail_notification(id, &error.to_string()).await?;
        Ok(Delivery::Failed)
    }

    /// What the governor's `verdict` on row `id` to `recipient` leads to: `None` when the
    /// row may be sent; else it is skipped or held back, with the reason, and that is what
    /// became of it.
    pub(super) async fn unless_allowed(
        &self,
        id: i64,
        recipient: &crate::domain::EmailAddress,
        verdict: Verdict,
    ) -> Result<Option<Delivery>, StoreError> {
        let (kind, delivery, reason) = match verdict {
            Verdict::Send => return Ok(None),
            Verdict::Skip(reason) => {
                tracing::info!(%recipient, %reason, "notification skipped");
                (HoldKind::Skipped, Delivery::Skipped, reason)
            }
            Verdict::Hold(reason) => {
                tracing::warn!(%recipient, %reason, "notification held back");
                (HoldKind::Held, Delivery::Held, reason)
            }
        };
        self.store.hold_notification(id, kind, &reason).await?;
        Ok(Some(delivery))
    }

    /// Hands `message` to the transport for the row of `attempt`: `None` when it went, for
    /// the caller to mark it sent as its kind of row needs; else what its failure leads to
    /// (see [`OutboxWorker::unless_sent`]).
    pub(super) async fn try_sending(
        &self,
        attempt: Attempt<'_>,
        message: &lettre::Message,
    ) -> Result<Option<Delivery>, StoreError> {
        let sent = self.transport.send(attempt.id, message).await;
        self.unless_sent(attempt, sent).await
    }

    /// What a try of a mail row that did not go leads to (refused for good, another try
    /// later, or waiting for the server); `None` when it went, for the caller to mark it
    /// sent as its kind of row needs.
    async fn unless_sent(
        &self,
        attempt: Attempt<'_>,
        sent: Result<(), SendError>,
    ) -> Result<Option<Delivery>, StoreError> {
        if !matches!(sent, Err(SendError::Unreachable(_))) {
            self.server_answered().await?;
        }
        Ok(Some(match sent {
            Ok(()) => return Ok(None),
            Err(SendError::Permanent(answer)) => {
                tracing::warn!(recipient = %attempt.recipient, %answer, "notification refused for good");
                self.store
                    .fail_notification(attempt.id, &answer.to_string())
                    .await?;
                Delivery::Failed
            }
            Err(SendError::Temporary(error)) => {
                self.after_temporary_failure(attempt.id, attempt.attempts, &error.to_string())
                    .await?
            }
            Err(SendError::Unreachable(error)) => {
                self.after_unreachable(attempt.id, attempt.created_at, &error.to_string())
                    .await?
            }
        }))
    }

    /// What follows a temporary failure of row `id` at its try `attempts`, whatever its
    /// channel: another try after the doubling pause, or, once the retries are spent, the
    /// row marked failed with the last error.
    pub(super) async fn after_temporary_failure(
        &self,
        id: i64,
        attempts: u32,
        error: &str,
    ) -> Result<Delivery, StoreError> {
        if attempts >= MAX_ATTEMPTS {
            tracing::warn!(%error, attempts, "not sent; given up after its retries");
            self.store
                .fail_notification(id, &format!("gave up after {attempts} attempts: {error}"))
                .await?;
            return Ok(Delivery::Failed);
        }
        let pause = self.pause(attempts);
        tracing::warn!(%error, retry_in = %pause, "not sent; will retry");
        self.store
            .retry_notification(id, error, self.clock.now() + pause)
            .await?;
        Ok(Delivery::Deferred)
    }

    /// The pause before attempt `attempts + 1`: doubling from the first, capped.
    pub(super) fn pause(&self, attempts: u32) -> ChronoDuration {
        let pause = self.retry_pauses.delay(attempts.saturating_sub(1));
        // At most an hour: always within chrono's range.
        ChronoDuration::from_std(pause).unwrap_or(ChronoDuration::hours(1))
    }

    /// Puts back what an earlier process of this instance was sending when it died, so
    /// that it goes out now rather than when its claim runs out.
    pub async fn release_dead_claims(&self) -> Result<(), StoreError> {
        for claimer in self.store.notification_claimers().await? {
            if self.instance.is_dead_predecessor(&claimer) {
                let ids = self.store.release_notification_claims(&claimer).await?;
                tracing::warn!(
                    claimed_by = %claimer,
                    ids = ?ids,
                    "notifications an earlier process was sending when it stopped are sent again (one may arrive twice)"
                );
            }
        }
        Ok(())
    }

    /// Sends until `shutdown`, each channel in its own lane. When nothing is due a lane
    /// sleeps `idle_pause`, or less when `wake` says new notifications were committed.
    pub async fn run(self, idle_pause: Duration, wake: OutboxWake, shutdown: CancellationToken) {
        if let Err(e) = self.release_dead_claims().await {
            tracing::warn!(error = %e, "cannot look for notifications left by an earlier process; they go out when their claim runs out");
        }
        let senders = LANES
            .iter()
            .zip(wake.0.iter())
            .flat_map(|(&(channel, width), wake)| (0..width).map(move |_| (channel, wake)))
            .map(|(channel, wake)| self.lane(channel, wake, idle_pause, &shutdown));
        futures::future::join_all(senders).await;
        tracing::info!("outbox worker stopped");
    }

    /// Sends the rows of `channel` until `shutdown`.
    async fn lane(
        &self,
        channel: Channel,
        wake: &tokio::sync::Notify,
        idle_pause: Duration,
        shutdown: &CancellationToken,
    ) {
        let mut store_failing = false;
        while !shutdown.is_cancelled() {
            let step = match channel {
                // Mail goes a group at a time (see `mail_group.rs`).
                Channel::Email => self
                    .deliver_mail_group()
                    .await
                    .map(|n| if n > 0 { Step::Handled } else { Step::Idle }),
                _ => self.step_of(Some(channel)).await,
            };
            let (pause, wakeable) = match step {
                Ok(Step::Handled) => {
                    store_failing = false;
                    continue;
                }
                Ok(Step::Idle) => {
                    if channel == Channel::Email {
                        self.transport.close_idle().await;
                    }
                    (idle_pause, true)
                }
                Err(e) => {
                    if !store_failing {
                        tracing::error!(error = %e, "the outbox cannot be read; retrying");
                        store_failing = true;
                    }
                    (Duration::from_secs(5), false)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = wake.notified(), if wakeable => {}
                _ = shutdown.cancelled() => break,
            }
        }
    }
}
