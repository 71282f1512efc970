//! Turning an outbox row into a MIME message: the rendered templates as
//! multipart/alternative, the ticket tag in the subject, a Message-ID that threads replies
//! back, In-Reply-To/References to the customer's last mail, Reply-To our address, and
//! `Auto-Submitted` so that other robots do not answer.

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox as LettreMailbox, MultiPart};
use serde_json::json;

use super::templates::{
    Templates, excerpt_cut, long_date, long_time, priority_label, status_label,
};
use crate::config::{Agent, Branding, Settings};
use crate::domain::ByteSize;
use crate::domain::Ticket;
use crate::domain::{ArticleExcerpt, EmailAddress, Event, MailRefusal, RefusalReason, Visibility};
use crate::signing::LinkSigner;
use crate::store::{Contact, OutboxJob, Store, StoreError, TicketFacts};

/// Why a notification cannot be written. Permanent: retrying gives the same result.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the ticket {0} of the notification no longer exists")]
    NoTicket(String),
    #[error(transparent)]
    Template(#[from] super::templates::TemplateError),
    #[error("cannot build the message: the recipient {address}: {source}")]
    Recipient {
        address: String,
        source: lettre::address::AddressError,
    },
    #[error("cannot build the message: {0}")]
    Build(#[source] lettre::error::Error),
}

/// A message ready to send, with the Message-ID to record once it is accepted.
#[derive(Debug)]
pub struct ComposedMail {
    pub message: Message,
    pub message_id: String,
}

mod command;
mod fields;
mod personal;
mod reads;
mod sms;
mod test_mail;

pub use reads::MailReads;

/// The language `contact` reads: the one they chose, else `ticket`'s.
fn language(contact: &Contact, ticket: &Ticket) -> &'static str {
    match contact.language.as_deref().unwrap_or(&ticket.language) {
        "fr" => "fr",
        _ => "en",
    }
}

/// The most tickets a mail of fresh links lists.
const OPEN_TICKETS_LISTED: u32 = 10;

/// Builds notifications from outbox rows.
#[derive(Debug)]
pub struct Composer {
    templates: Templates,
    links: LinkSigner,
    from: LettreMailbox,
    domain: String,
    tag: crate::domain::SubjectTag,
    max_attachment_bytes: u64,
    auto_close_days: u32,
    company: String,
    branding: Branding,
    agents: Vec<Agent>,
    /// Addresses that stand for the team rather than one agent: ours and the agents'.
    team: Vec<EmailAddress>,
    /// Mail domains that name no organisation: what a person's organisation is.
    public_domains: std::collections::BTreeSet<String>,
}

macro_rules! text_header {
    ($(#[$m:meta])* $ty:ident, $name:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        struct $ty(String);

        impl Header for $ty {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok(Self(s.to_string()))
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

text_header!(
    /// RFC 3834: this mail was sent by a program, do not answer it automatically.
    AutoSubmitted, "Auto-Submitted"
);
text_header!(
    /// Marks our own mail, so that it is recognised if it ever comes back to our mailbox.
    LoopMarker, "X-Ticketgate-Loop"
);
text_header!(
    /// Names the event, for recipients' mail filters and for tests.
    EventName, "X-Ticketgate-Event"
);

impl Composer {
    /// A composer sending from the first of our own addresses.
    pub fn new(settings: &Settings, templates: Templates, links: LinkSigner) -> Self {
        let sender = settings.sender_address();
        let domain = sender.domain().to_string();
        // `Acme <support@acme.example>`: customers see who writes, not a bare address.
        let from = LettreMailbox::new(
            Some(settings.company.clone()),
            sender
                .as_str()
                .parse()
                .unwrap_or_else(|_| "support@localhost".parse().expect("a valid literal")),
        );
        Self {
            templates,
            links,
            from,
            domain,
            tag: settings.subject_tag.clone(),
            max_attachment_bytes: settings.max_attachment_bytes,
            auto_close_days: settings.auto_close_days,
            company: settings.company.clone(),
            branding: settings.branding.clone(),
            agents: settings.agents.clone(),
            team: settings
                .own_addresses
                .iter()
                .chain(settings.agents_address.as_ref())
                .cloned()
                .collect(),
            public_domains: settings.public_domains.clone(),
        }
    }

    /// Writes the notification of `job` about `ticket` to the person `contact` describes,
    /// in their language if they chose one, else the ticket's. What `known` holds (read
    /// for the notification's group) is not read again.
    pub async fn compose(
        &self,
        store: &Store,
        job: &OutboxJob,
        ticket: &Ticket,
        contact: &Contact,
        now: DateTime<Utc>,
        known: &MailReads,
    ) -> Result<ComposedMail, ComposeError> {
        let lang = language(contact, ticket);
        let data = self
            .template_data(store, job, ticket, lang, now, known)
            .await?;
        let rendered = self.templates.render(job.event.as_str(), lang, &data)?;
        let message_id = self.links.notification_message_id(
            &ticket.number,
            &job.recipient,
            job.id,
            job.created_at,
            &self.domain,
        );
        let auto = if job.event == Event::TicketOpened {
            "auto-replied"
        } else {
            "auto-generated"
        };
        let mut builder = self.envelope(
            &job.recipient,
            rendered.subject,
            &message_id,
            auto,
            ticket.number.as_str(),
            job.event,
        )?;
        // Fresh links answer a request made on the portal, not a mail of the ticket's.
        let parent = match job.event {
            Event::PortalLink => None,
            _ => known.parent(store, ticket.id).await?,
        };
        if let Some(parent) = parent {
            builder = builder
                .in_reply_to(format!("<{parent}>"))
                .references(format!("<{parent}>"));
        }
        let message = builder
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

    /// The headers every mail of ours has: from and reply to our address, to `recipient`,
    /// its Message-ID, `Auto-Submitted: auto` (RFC 3834), the loop marker `marker` that
    /// makes it known if it comes back, and the event's name.
    fn envelope(
        &self,
        recipient: &EmailAddress,
        subject: String,
        message_id: &str,
        auto: &str,
        marker: &str,
        event: Event,
    ) -> Result<lettre::message::MessageBuilder, ComposeError> {
        let to: LettreMailbox =
            recipient
                .as_str()
                .parse()
                .map_err(|source| ComposeError::Recipient {
                    address: recipient.to_string(),
                    source,
                })?;
        Ok(Message::builder()
            .from(self.from.clone())
            .reply_to(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{message_id}>")))
            .header(AutoSubmitted(auto.into()))
            .header(LoopMarker(marker.into()))
            .header(EventName(event.as_str().into())))
    }

    /// What the templates of `job` are rendered with, in `lang`. Every fact of the event
    /// (statuses, title, priority, the text and its writer, the time, the auto-close date)
    /// comes from the outbox row and its article, as the event left them; the ticket as it
    /// is now only fills in for rows queued before facts were kept.
    async fn template_data(
        &self,
        store: &Store,
        job: &OutboxJob,
        ticket: &Ticket,
        lang: &str,
        now: DateTime<Utc>,
        known: &MailReads,
    ) -> Result<serde_json::Value, ComposeError> {
        let (article, refused) = match job.article_id {
            Some(id) => (
                known.excerpt(store, id).await?,
                known
                    .attachments(store, id)
                    .await?
                    .into_iter()
                    .filter_map(|f| {
                        Some(json!({ "filename": f.filename, "reason": f.refused_reason? }))
                    })
                    .collect(),
            ),
            None => (None, Vec::new()),
        };
        let facts = job.facts.clone().unwrap_or_else(|| TicketFacts {
            status: ticket.status,
            title: ticket.title.clone(),
            priority: ticket.priority,
            resolved_at: ticket.resolved_at,
        });
        let role = self.role(ticket, &job.recipient);
        let open_tickets = match job.event {
            Event::PortalLink => self.open_tickets(store, &job.recipient, lang, now).await?,
            _ => Vec::new(),
        };
        Ok(json!({
            "tag": self.tag.render(&ticket.number),
            "company": self.company,
            "brand": {
                "accent": self.branding.accent_color,
                "logo_url": self.branding.logo_url.as_deref().unwrap_or(""),
            },
            "link": self.links.link(&ticket.number, &job.recipient, now),
            "approve_link": self.links.action_link(&ticket.number, &job.recipient, "approve", now),
            "refuse_link": self.links.action_link(&ticket.number, &job.recipient, "refuse", now),
            "recipient": {
                "name": self.recipient_name(job),
                "email": job.recipient.as_str(),
                "is_requester": role == Role::Requester,
                "is_observer": role == Role::Observer,
                "is_agent": role == Role::Agent,
            },
            "requester": {
                "name": ticket.requester_name.as_deref().unwrap_or(ticket.requester.as_str()),
            },
            "actor": self.actor(article.as_ref()),
            "ticket": {
                "number": ticket.number.as_str(),
                "title": facts.title,
                "status_label": status_label(facts.status, lang),
                "priority": if self.branding.show_priority {
                    priority_label(facts.priority, lang)
                } else {
                    ""
                },
            },
            "previous_status_label": status_label(
                job.context.previous_status.unwrap_or(facts.status),
                lang
            ),
            "event": { "at": long_time(job.created_at, lang) },
            // Only what customers may see: a status move's own note is internal.
            "article": { "text": quoted_text(article.as_ref(), lang) },
            "auto_close_on": facts
                .resolved_at
                .map(|r| long_date(
                    (r + chrono::Duration::days(i64::from(self.auto_close_days))).date_naive(),
                    lang
                ))
                .unwrap_or_default(),
            "auto_close_days": self.auto_close_days,
            "max_attachment_size": ByteSize(self.max_attachment_bytes).to_string(),
            "refused": refused,
            "refusal": refusal_data(job.context.refusal.as_ref()),
            "open_tickets": open_tickets,
            "fields": fields::fields_data(job.context.fields.as_ref(), lang),
            "command": command::command_data(job.context.command.as_ref()),
        }))
    }

    /// The tickets `person` may see that are not closed, most recently moved first, each
    /// with its own fresh link: what the mail of fresh links lists.
    async fn open_tickets(
        &self,
        store: &Store,
        person: &EmailAddress,
        lang: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<serde_json::Value>, ComposeError> {
        let filter = open_tickets_filter(OPEN_TICKETS_LISTED);
        let organisation =
            crate::pipeline::authorize::organisation_of(person, &self.public_domains);
        let (tickets, _more) = store
            .list_visible_tickets(person, organisation.as_deref(), &filter)
            .await?;
        Ok(tickets
            .iter()
            .map(|t| {
                json!({
                    "tag": self.tag.render(&t.number),
                    "title": t.title,
                    "status_label": status_label(t.status, lang),
                    "link": self.links.link(&t.number, person, now),
                })
            })
            .collect())
    }

    /// How the recipient stands to the ticket, which decides whose request a mail calls
    /// it ("your request", or Alice's).
    fn role(&self, ticket: &Ticket, recipient: &EmailAddress) -> Role {
        if ticket.requester.same_mailbox(recipient) {
            Role::Requester
        } else if self.agent_name(recipient).is_some()
            || self.team.iter().any(|t| t.same_mailbox(recipient))
            || ticket
                .assignee
                .as_deref()
                .is_some_and(|a| EmailAddress::parse(a).is_ok_and(|a| a.same_mailbox(recipient)))
        {
            Role::Agent
        } else {
            Role::Observer
        }
    }

    /// The name to greet the recipient by: as their own mail showed it (kept with the
    /// notification), or an agent's configured name; empty when neither is known, and the
    /// greeting then goes without a name rather than with an address.
    fn recipient_name(&self, job: &OutboxJob) -> String {
        job.recipient_name
            .clone()
            .or_else(|| self.agent_name(&job.recipient).map(str::to_string))
            .unwrap_or_default()
    }

    fn agent_name(&self, address: &EmailAddress) -> Option<&str> {
        self.agents
            .iter()
            .find(|a| a.email.same_mailbox(address))
            .map(|a| a.name.as_str())
    }

    /// Who wrote the article: a person, or the team itself (an action taken without naming
    /// an agent, written under our own or the agents' address), which the mail calls "our
    /// support team" rather than by an address.
    fn actor(&self, article: Option<&ArticleExcerpt>) -> serde_json::Value {
        let Some(article) = article else {
            return json!({ "name": "", "is_team": true });
        };
        let author = EmailAddress::parse(&article.author).ok();
        let team = author.as_ref().is_some_and(|a| {
            self.team.iter().any(|t| t.same_mailbox(a)) && self.agent_name(a).is_none()
        });
        let name = match &article.author_name {
            _ if team => String::new(),
            Some(name) => name.clone(),
            None => article.author.clone(),
        };
        json!({ "name": name, "is_team": team })
    }
}

/// How much of an article's text a notification quotes, in characters: any comment a
/// person writes, while a 49 MB log pasted into a mail makes a mail of 20 KB, not 100 MB.
const EXCERPT_CHARS: i32 = 20_000;

/// The text a notification quotes: only what customers may see (a status move's own note
/// is internal), and past [`EXCERPT_CHARS`] its beginning, saying where the rest is.
fn quoted_text(article: Option<&ArticleExcerpt>, lang: &str) -> String {
    match article {
        Some(a) if a.visibility == Visibility::Public && a.cut => {
            // Cut after the last whole line when one ends near the cut, else after the
            // last whole word: not in the middle of one.
            let text = a.text.trim_end();
            let whole = text
                .rfind('\n')
                .filter(|&end| text.len() - end < 2_000)
                .or_else(|| text.rfind(char::is_whitespace))
                .map_or(text, |end| &text[..end]);
            format!("{}\n\n{}", whole.trim_end(), excerpt_cut(lang))
        }
        Some(a) if a.visibility == Visibility::Public => a.text.clone(),
        _ => String::new(),
    }
}

/// The tickets a person may see that are not closed, at most `per_page`: what the mails
/// that list a person's tickets read.
fn open_tickets_filter(per_page: u32) -> crate::store::VisibleFilter {
    crate::store::VisibleFilter {
        statuses: crate::domain::Status::ALL
            .iter()
            .copied()
            .filter(|s| s.is_open())
            .collect(),
        per_page,
        ..Default::default()
    }
}

/// How a recipient stands to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Requester,
    Observer,
    Agent,
}

/// What the `mail_refused` templates choose their wording by: one flag per reason, so
/// that a template names each case with `{{#if refusal.closed}}`.
fn refusal_data(refusal: Option<&MailRefusal>) -> serde_json::Value {
    let reason = refusal.map(|r| r.reason);
    json!({
        "ticket": refusal.map(|r| r.ticket.as_str()).unwrap_or(""),
        "closed": reason == Some(RefusalReason::Closed),
        "not_allowed": reason == Some(RefusalReason::NotAllowed),
        "unverified": reason == Some(RefusalReason::Unverified),
    })
}
