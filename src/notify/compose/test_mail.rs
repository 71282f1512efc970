//! The test message of `ticketgate send-test-email`: written by the same templates as the
//! notifications (`test_email.*`, in English or French), with the same sender, branding
//! and headers, about no ticket.

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::{Mailbox as LettreMailbox, MultiPart};
use serde_json::json;

use super::{AutoSubmitted, ComposeError, ComposedMail, Composer, EventName};
use crate::notify::templates::{TEST_MAIL, long_time, test_mail_data};

impl Composer {
    /// The test message to `to`, in `lang` (`en` or `fr`), saying it leaves by
    /// `transport` and was written at `now`.
    pub fn compose_test(
        &self,
        to: &str,
        lang: &str,
        transport: &str,
        now: DateTime<Utc>,
    ) -> Result<ComposedMail, ComposeError> {
        let base = json!({
            "company": self.company,
            "brand": {
                "accent": self.branding.accent_color,
                "logo_url": self.branding.logo_url.as_deref().unwrap_or(""),
            },
        });
        let data = test_mail_data(&base, to, transport, &long_time(now, lang));
        let rendered = self.templates.render_test(lang, &data)?;
        let recipient: LettreMailbox = to.parse().map_err(|source| ComposeError::Recipient {
            address: to.to_string(),
            source,
        })?;
        let message_id = format!(
            "test.{}.{}@{}",
            now.timestamp_millis(),
            std::process::id(),
            self.domain
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(recipient)
            .subject(rendered.subject)
            .message_id(Some(format!("<{message_id}>")))
            .header(AutoSubmitted("auto-generated".into()))
            .header(EventName(TEST_MAIL.into()))
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(ComposeError::Build)?;
        Ok(ComposedMail {
            message,
            message_id,
        })
    }
}
