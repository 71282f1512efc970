//! The short text of a notification, for the contacts who chose SMS: rendered from
//! `templates/sms/LANG/EVENT.txt.hbs` with the mail's facts and a short link
//! (`BASE/s/…`), so that it fits in one SMS of 160 characters where it can.

use chrono::{DateTime, Utc};

use super::{ComposeError, Composer, MailReads, language};
use crate::domain::Ticket;
use crate::store::{Contact, OutboxJob, Store};

/// An SMS ready to post to the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposedSms {
    pub text: String,
    /// `en` or `fr`: what the text is written in.
    pub language: &'static str,
}

impl Composer {
    /// The text of `job` about `ticket` for the person `contact` describes, in their
    /// language if they chose one, else the ticket's.
    pub async fn compose_sms(
        &self,
        store: &Store,
        job: &OutboxJob,
        ticket: &Ticket,
        contact: &Contact,
        now: DateTime<Utc>,
    ) -> Result<ComposedSms, ComposeError> {
        let lang = language(contact, ticket);
        let mut data = self
            .template_data(store, job, ticket, lang, now, &MailReads::default())
            .await?;
        data["short_link"] = self
            .links
            .short_link(&ticket.number, &job.recipient, now)
            .into();
        let text = self.templates.render_sms(job.event.as_str(), lang, &data)?;
        Ok(ComposedSms {
            text,
            language: lang,
        })
    }
}
