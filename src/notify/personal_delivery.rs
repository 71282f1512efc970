//! The outbox worker's step for a mail about no ticket (`my_tickets`): the governor's
//! per-recipient checks and its own hourly limit, then the mail composed and sent like
//! any notification, and marked sent without a thread reference (there is no ticket for
//! a reply to go to: a reply opens one, as any new mail).

use chrono::{DateTime, Utc};

use super::mail_group::GroupReads;
use super::outbox_worker::{Attempt, Delivery, OutboxWorker, count};
use super::unrecorded::UnrecordedSends;
use crate::store::{Channel, HoldKind, PersonalJob, StoreError};

impl OutboxWorker {
    /// Delivers one claimed mail about no ticket and says what became of it; its
    /// recipient's preferences and counts from `known` when its group read them.
    pub(super) async fn deliver_personal(
        &self,
        job: PersonalJob,
        now: DateTime<Utc>,
        known: &GroupReads,
        unrecorded: &UnrecordedSends,
    ) -> Result<Delivery, StoreError> {
        let span = tracing::info_span!("notification", notification = job.id, event = %job.event);
        let event = job.event.as_str();
        let delivery =
            tracing::Instrument::instrument(self.personal(&job, now, known, unrecorded), span)
                .await?;
        count(Channel::Email, event, delivery);
        Ok(delivery)
    }

    async fn personal(
        &self,
        job: &PersonalJob,
        now: DateTime<Utc>,
        known: &GroupReads,
        unrecorded: &UnrecordedSends,
    ) -> Result<Delivery, StoreError> {
        let contact = known.contact(&self.store, &job.recipient).await?;
        let counting = known.counting(unrecorded);
        let judging = self.governor.judge_personal(
            &self.store,
            job.event,
            &job.recipient,
            &contact,
            now,
            counting,
        );
        let (verdict, place) = unrecorded.admit(&job.recipient, None, judging).await?;
        if let Some(stopped) = self.unless_allowed(job.id, &job.recipient, verdict).await? {
            return Ok(stopped);
        }
        let composed = match self
            .composer
            .compose_personal(&self.store, job, &contact, now)
            .await
        {
            Ok(Some(c)) => c,
            Ok(None) => {
                let reason = "no open ticket this week: no digest";
                tracing::info!(reason, "mail skipped");
                self.store
                    .hold_notification(job.id, HoldKind::Skipped, reason)
                    .await?;
                return Ok(Delivery::Skipped);
            }
            Err(e) => return self.not_composed(job.id, job.attempts, e, now).await,
        };
        let attempt = Attempt {
            id: job.id,
            recipient: &job.recipient,
            attempts: job.attempts,
            created_at: job.created_at,
        };
        if let Some(failed) = self.try_sending(attempt, &composed.message).await? {
            return Ok(failed);
        }
        self.store
            .mark_personal_sent(job.id, &composed.message_id, self.clock.now())
            .await?;
        if let Some(place) = place {
            place.recorded_alone();
        }
        tracing::info!(recipient = %job.recipient, "mail sent");
        Ok(Delivery::Sent)
    }
}
