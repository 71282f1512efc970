//! The outbox worker's step for an SMS row: the same preferences and loop governor as the
//! notification's mail, then its short text posted to the `[sms]` gateway in the signed
//! webhook format, and the outcome recorded as for a webhook. The number is read from
//! the contact when the text goes (a number changed meanwhile is the one used) and is
//! logged masked, never whole.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::compose::ComposeError;
use super::counted::{Counting, RecordedCounts};
use super::governor::Verdict;
use super::outbox_worker::{Delivery, OutboxWorker, count};
use super::unrecorded::UnrecordedSends;
use crate::config::SMS_GATEWAY;
use crate::domain::PhoneNumber;
use crate::store::{Channel, HoldKind, OutboxJob, StoreError};

impl OutboxWorker {
    /// Delivers one claimed SMS row and says what became of it.
    pub(super) async fn deliver_sms(
        &self,
        job: OutboxJob,
        now: DateTime<Utc>,
    ) -> Result<Delivery, StoreError> {
        let span = tracing::info_span!("sms", notification = job.id, event = %job.event, ticket = %job.ticket);
        let event = job.event.as_str();
        let delivery = tracing::Instrument::instrument(self.text(&job, now), span).await?;
        count(Channel::Sms, event, delivery);
        Ok(delivery)
    }

    async fn text(&self, job: &OutboxJob, now: DateTime<Utc>) -> Result<Delivery, StoreError> {
        if self.sms.host(SMS_GATEWAY).is_none() {
            let error = format!(
                "no [sms] gateway is configured any more; set [sms] webhook and `ticketgate outbox retry {}`",
                job.id
            );
            tracing::error!(%error, "SMS marked failed");
            self.store.fail_notification(job.id, &error).await?;
            return Ok(Delivery::Failed);
        }
        let Some(ticket) = self.store.ticket_by_number(&job.ticket).await? else {
            let e = ComposeError::NoTicket(job.ticket.to_string());
            self.store.fail_notification(job.id, &e.to_string()).await?;
            return Ok(Delivery::Failed);
        };
        let contact = self.store.contact(&job.recipient).await?;
        let verdict = match (
            contact.sms,
            contact.phone.as_deref().map(PhoneNumber::parse),
        ) {
            (true, Some(Ok(phone))) => {
                match self
                    .governor
                    .judge(
                        &self.store,
                        job,
                        &ticket,
                        &contact,
                        now,
                        Counting {
                            recorded: &RecordedCounts::default(),
                            unrecorded: &UnrecordedSends::default(),
                        },
                    )
                    .await?
                {
                    Verdict::Send => Ok(phone),
                    Verdict::Skip(reason) => Err((HoldKind::Skipped, reason)),
                    Verdict::Hold(reason) => Err((HoldKind::Held, reason)),
                }
            }
            (true, Some(Err(_))) | (true, None) => Err((
                HoldKind::Skipped,
                "the contact's phone number is not one SMS can reach".to_string(),
            )),
            (false, _) => Err((
                HoldKind::Skipped,
                "the contact no longer takes SMS".to_string(),
            )),
        };
        let phone = match verdict {
            Ok(phone) => phone,
            Err((kind, reason)) => {
                tracing::info!(%reason, "SMS not sent");
                self.store.hold_notification(job.id, kind, &reason).await?;
                return Ok(match kind {
                    HoldKind::Held => Delivery::Held,
                    _ => Delivery::Skipped,
                });
            }
        };
        let sms = match self
            .composer
            .compose_sms(&self.store, job, &ticket, &contact, now)
            .await
        {
            Ok(sms) => sms,
            Err(ComposeError::Store(e)) => return Err(e),
            Err(e) => {
                tracing::error!(error = %e, "cannot write the SMS; marked failed");
                self.store.fail_notification(job.id, &e.to_string()).await?;
                return Ok(Delivery::Failed);
            }
        };
        let body = json!({
            "type": "sms.send",
            "timestamp": job.created_at,
            "data": {
                "to": phone.as_str(),
                "text": sms.text,
                "language": sms.language,
                "event": job.event.as_str(),
                "ticket": ticket.number.as_str(),
            },
        });
        let body = serde_json::to_vec(&body).expect("a JSON value serializes");
        let id = format!("msg_{}", job.id);
        tracing::debug!(to = %phone.masked(), characters = sms.text.chars().count(), "posting an SMS");
        let sent = self.sms.post(SMS_GATEWAY, &id, now.timestamp(), body).await;
        self.record_post(job.id, job.attempts, sent).await
    }
}
