//! Writing a mail about no ticket: the list of a person's tickets they asked for by mail
//! ("my tickets"). Their own open tickets first, then the others they may see (their
//! organisation's shared ones, those they follow), each with its status, priority, last
//! update and a signed link for that person; or, for someone on no ticket, a short answer
//! that says so and nothing about anyone else.

use chrono::{DateTime, Utc};
use lettre::message::MultiPart;
use serde_json::{Value, json};

use super::super::templates::{long_time, priority_label, status_label};
use super::{ComposeError, ComposedMail, Composer};
use crate::domain::{EmailAddress, Event};
use crate::store::{Contact, PersonalJob, Store};

/// The most tickets one list holds; the page of the portal has them all.
const LISTED: u32 = 50;

impl Composer {
    /// Writes the mail of `job` to the person `contact` describes, in their language if
    /// they chose one, else the language of the mail they asked with. `None` for a weekly
    /// digest with nothing open: an empty list every week is noise.
    pub async fn compose_personal(
        &self,
        store: &Store,
        job: &PersonalJob,
        contact: &Contact,
        now: DateTime<Utc>,
    ) -> Result<Option<ComposedMail>, ComposeError> {
        let lang = match contact
            .language
            .as_deref()
            .or(job.context.language.as_deref())
        {
            Some("fr") => "fr",
            _ => "en",
        };
        let data = self.personal_data(store, &job.recipient, lang, now).await?;
        if job.event == Event::WeeklyDigest && data["any"] != true {
            return Ok(None);
        }
        let rendered = self.templates.render(job.event.as_str(), lang, &data)?;
        let message_id = format!(
            "{}.{}.{}@{}",
            job.event.as_str().replace('_', "-"),
            job.id,
            job.created_at.timestamp_millis(),
            self.domain
        );
        let message = self
            .envelope(
                &job.recipient,
                rendered.subject,
                &message_id,
                "auto-replied",
                "my-tickets",
                job.event,
            )?
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(ComposeError::Build)?;
        Ok(Some(ComposedMail {
            message,
            message_id,
        }))
    }

    /// What the `my_tickets` templates are rendered with.
    async fn personal_data(
        &self,
        store: &Store,
        person: &EmailAddress,
        lang: &str,
        now: DateTime<Utc>,
    ) -> Result<Value, ComposeError> {
        let filter = super::open_tickets_filter(LISTED);
        let organisation =
            crate::pipeline::authorize::organisation_of(person, &self.public_domains);
        let (tickets, more) = store
            .list_visible_tickets(person, organisation.as_deref(), &filter)
            .await?;
        let row = |t: &crate::domain::TicketSummary| {
            json!({
                "tag": self.tag.render(&t.number),
                "number": t.number.as_str(),
                "title": t.title,
                "status_label": status_label(t.status, lang),
                "priority": if self.branding.show_priority { priority_label(t.priority, lang) } else { "" },
                "updated": long_time(t.updated_at, lang),
                "link": self.links.link(&t.number, person, now),
            })
        };
        let (own, others): (Vec<_>, Vec<_>) = tickets
            .iter()
            .partition(|t| t.requester.same_mailbox(person));
        Ok(json!({
            "company": self.company,
            "brand": {
                "accent": self.branding.accent_color,
                "logo_url": self.branding.logo_url.as_deref().unwrap_or(""),
            },
            "recipient": { "email": person.as_str() },
            "any": !tickets.is_empty(),
            "count": tickets.len(),
            "own": own.into_iter().map(row).collect::<Vec<_>>(),
            "others": others.into_iter().map(row).collect::<Vec<_>>(),
            "more": more,
            "at": long_time(now, lang),
        }))
    }
}
