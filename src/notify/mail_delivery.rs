//! The outbox worker's step for a claimed row: by its channel, and for a mail about a
//! ticket, the whole of it: the ticket and the recipient's preferences (from the group's
//! reads when there are), the governor's verdict, the message written and handed over.
//! What the server accepted is left for the caller to record (see `mail_group.rs`).

use super::compose::ComposeError;
use super::mail_group::GroupReads;
use super::outbox_worker::{Attempt, Delivery, OutboxWorker, count};
use super::unrecorded::UnrecordedSends;
use crate::store::{Channel, Claimed, SentMail, StoreError};

impl OutboxWorker {
    /// Delivers one claimed row by its channel and says what became of it. A mail row
    /// takes its ticket and contact from `known` when its group read them. A mail the
    /// server accepted is left in `unrecorded`, for the caller to record as sent.
    pub(super) async fn deliver_claimed(
        &self,
        claimed: Claimed,
        now: chrono::DateTime<chrono::Utc>,
        known: &GroupReads,
        unrecorded: &UnrecordedSends,
    ) -> Result<Delivery, StoreError> {
        let job = match claimed {
            Claimed::Webhook(job) => return self.deliver_webhook(job, now).await,
            Claimed::Sms(job) => return self.deliver_sms(job, now).await,
            Claimed::Personal(job) => {
                return self.deliver_personal(job, now, known, unrecorded).await;
            }
            Claimed::Email(job) => job,
        };
        let span = tracing::info_span!("notification", notification = job.id, event = %job.event, ticket = %job.ticket);
        let event = job.event.as_str();
        let happened = job.created_at;
        let delivery =
            tracing::Instrument::instrument(self.deliver(job, now, known, unrecorded), span)
                .await?;
        count(Channel::Email, event, delivery);
        if delivery == Delivery::Sent {
            let waited = (self.clock.now() - happened).to_std().unwrap_or_default();
            metrics::histogram!(crate::monitoring::NOTIFICATION_SECONDS, "event" => event)
                .record(waited.as_secs_f64());
        }
        Ok(delivery)
    }

    /// Delivers one mail about a ticket and says what became of it.
    async fn deliver(
        &self,
        job: crate::store::OutboxJob,
        now: chrono::DateTime<chrono::Utc>,
        known: &GroupReads,
        unrecorded: &UnrecordedSends,
    ) -> Result<Delivery, StoreError> {
        let ticket = match known.tickets.get(&job.ticket_id) {
            Some(ticket) => Some(ticket.clone()),
            None => self.store.ticket_by_number(&job.ticket).await?,
        };
        let Some(ticket) = ticket else {
            let e = ComposeError::NoTicket(job.ticket.to_string());
            tracing::error!(error = %e, "cannot write the notification; marked failed");
            self.store.fail_notification(job.id, &e.to_string()).await?;
            return Ok(Delivery::Failed);
        };
        let contact = known.contact(&self.store, &job.recipient).await?;
        let counting = known.counting(unrecorded);
        let judging = self
            .governor
            .judge(&self.store, &job, &ticket, &contact, now, counting);
        let (verdict, place) = unrecorded
            .admit(&job.recipient, Some(job.ticket_id), judging)
            .await?;
        if let Some(stopped) = self.unless_allowed(job.id, &job.recipient, verdict).await? {
            return Ok(stopped);
        }
        let composed = match self
            .composer
            .compose(&self.store, &job, &ticket, &contact, now, &known.mail)
            .await
        {
            Ok(c) => c,
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
        if let Some(place) = place {
            place.sent(SentMail {
                id: job.id,
                message_id: composed.message_id,
            });
        }
        tracing::info!(recipient = %job.recipient, "notification sent");
        Ok(Delivery::Sent)
    }
}
