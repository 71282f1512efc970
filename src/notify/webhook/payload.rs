//! The JSON a webhook receives: `{"type", "timestamp", "data"}` as the Standard Webhooks
//! specification suggests. `timestamp` is when the event happened, so it is the same on
//! every try; `data` is the ticket as the event left it.
//!
//! No signed portal link is sent: such a link opens the ticket as its requester, and the
//! receiver is not the requester. A receiver that needs more asks the JSON API by number.

use serde_json::{Value, json};

use crate::domain::{Ticket, WebhookEvent};
use crate::store::{Store, StoreError, WebhookJob};

/// The body of `job`'s POST. `ticket` is the ticket as it is now, for what the row does not
/// keep (its requester) and for a row queued without its facts.
pub async fn payload(
    store: &Store,
    job: &WebhookJob,
    ticket: Option<&Ticket>,
) -> Result<Value, StoreError> {
    let context: Value = job
        .context
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or(Value::Null);
    let data = match (job.event, ticket) {
        (WebhookEvent::MailQuarantined, _) | (_, None) => context,
        (WebhookEvent::Notification(_), Some(ticket)) => {
            let mut data = ticket_data(job, ticket);
            let text = match job.article_id {
                Some(id) => store.public_article_text(id).await?,
                None => None,
            };
            if let Some(text) = text {
                data["text"] = Value::String(text);
            }
            if let Value::Object(context) = context {
                for (key, value) in context {
                    data[key] = value;
                }
            }
            data
        }
    };
    Ok(json!({
        "type": job.event.payload_type(),
        "timestamp": job.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": data,
    }))
}

/// The ticket's fields as the event left them.
fn ticket_data(job: &WebhookJob, ticket: &Ticket) -> Value {
    let (title, status, priority) = match &job.facts {
        Some(f) => (f.title.clone(), f.status, f.priority),
        None => (ticket.title.clone(), ticket.status, ticket.priority),
    };
    json!({
        "event": job.event.as_str(),
        "ticket": ticket.number.as_str(),
        "title": title,
        "status": status.as_str(),
        "priority": priority.as_str(),
        "requester": ticket.requester.as_str(),
        "requester_name": ticket.requester_name,
    })
}
