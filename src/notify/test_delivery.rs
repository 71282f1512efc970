//! The test message of `ticketgate send-test-email`, handed to the configured transport
//! by the outbox worker, the only code that sends.
//!
//! It is not queued as an outbox row: an outbox row is a notification about a ticket, to
//! a contact, which the loop governor and the contact's preferences may hold back, and
//! which a temporary failure puts back for retries over hours. A diagnostic must do none
//! of that: it goes out now, once, whatever the preferences, and the operator reads the
//! server's answer (or its refusal) at once. So the worker composes it with the same
//! templates, sender and headers as a notification and hands it to the same transport,
//! without a row, and records nothing.

use chrono::{DateTime, Utc};

use super::compose::ComposeError;
use super::outbox_worker::OutboxWorker;
use super::transport::{Handed, SendError, Transport};

/// Why the test message did not go.
#[derive(Debug, thiserror::Error)]
pub enum TestMailError {
    #[error("cannot write the test message: {0}")]
    Compose(#[from] ComposeError),
    #[error("the test message was not sent: {0}")]
    Refused(#[source] SendError),
}

/// What became of the test message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSent {
    pub subject: String,
    pub message_id: String,
    /// Written to a file, accepted by the SMTP server (its answer), or piped to sendmail.
    pub handed: Handed,
}

impl OutboxWorker {
    /// Writes the test message to `to` in `lang` and hands it over now, once.
    pub async fn send_test(
        &self,
        to: &str,
        lang: &str,
        now: DateTime<Utc>,
    ) -> Result<TestSent, TestMailError> {
        let way = match &self.transport {
            Transport::Files(_) => "file",
            Transport::Smtp(_) => "SMTP",
            Transport::Sendmail(_) => "sendmail",
        };
        let composed = self.composer.compose_test(to, lang, way, now)?;
        let subject = composed
            .message
            .headers()
            .get_raw("Subject")
            .unwrap_or_default()
            .to_string();
        let name = format!("test-{}", now.format("%Y%m%dT%H%M%S%3fZ"));
        let handed = self
            .transport
            .hand_over(&name, &composed.message)
            .await
            .map_err(TestMailError::Refused)?;
        tracing::info!(recipient = %to, "test message sent");
        Ok(TestSent {
            subject,
            message_id: composed.message_id,
            handed,
        })
    }
}
