//! The outbox worker's step for a webhook row: write the payload, post it signed, and
//! record the outcome as for mail (delivered, retried after the same pauses, or failed
//! once the retries are spent). The webhook is logged by its name and host, never by its
//! URL or secret.

use chrono::{DateTime, Utc};

use super::outbox_worker::{Delivery, OutboxWorker, count};
use super::webhook::{WebhookError, payload};
use crate::store::{Channel, StoreError, WebhookJob};

impl OutboxWorker {
    /// Delivers one claimed webhook row and says what became of it.
    pub(super) async fn deliver_webhook(
        &self,
        job: WebhookJob,
        now: DateTime<Utc>,
    ) -> Result<Delivery, StoreError> {
        let span = tracing::info_span!(
            "webhook",
            notification = job.id,
            event = %job.event,
            ticket = job.ticket.as_ref().map(|t| t.as_str()),
            webhook = %job.webhook,
            host = self.webhooks.host(&job.webhook).unwrap_or("?"),
        );
        let event = job.event.as_str();
        let happened = job.created_at;
        let delivery = tracing::Instrument::instrument(self.post(&job, now), span).await?;
        count(Channel::Webhook, event, delivery);
        if delivery == Delivery::Sent {
            let waited = (self.clock.now() - happened).to_std().unwrap_or_default();
            metrics::histogram!(crate::monitoring::NOTIFICATION_SECONDS, "event" => event)
                .record(waited.as_secs_f64());
        }
        Ok(delivery)
    }

    async fn post(&self, job: &WebhookJob, now: DateTime<Utc>) -> Result<Delivery, StoreError> {
        if self.webhooks.host(&job.webhook).is_none() {
            let error = format!(
                "no [[webhook]] is named {} any more; add it back and `ticketgate outbox retry {}`",
                job.webhook, job.id
            );
            tracing::error!(%error, "webhook event marked failed");
            self.store.fail_notification(job.id, &error).await?;
            return Ok(Delivery::Failed);
        }
        let ticket = match &job.ticket {
            Some(number) => self.store.ticket_by_number(number).await?,
            None => None,
        };
        let body = payload(&self.store, job, ticket.as_ref()).await?;
        let body = serde_json::to_vec(&body).expect("a JSON value serializes");
        let id = format!("msg_{}", job.id);
        let sent = self
            .webhooks
            .post(&job.webhook, &id, now.timestamp(), body)
            .await;
        self.record_post(job.id, job.attempts, sent).await
    }

    /// Records how the POST of outbox row `id`, at its try `attempts`, went: delivered,
    /// or retried after the mail's pause until the retries are spent.
    pub(super) async fn record_post(
        &self,
        id: i64,
        attempts: u32,
        sent: Result<(), WebhookError>,
    ) -> Result<Delivery, StoreError> {
        match sent {
            Ok(()) => {
                self.store
                    .mark_webhook_delivered(id, self.clock.now())
                    .await?;
                tracing::info!("delivered");
                Ok(Delivery::Sent)
            }
            Err(error) => {
                self.after_temporary_failure(id, attempts, &error.to_string())
                    .await
            }
        }
    }
}
