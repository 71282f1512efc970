//! A ticket opened on a customer's behalf: an agent takes a phone call and writes down the
//! request. The customer is its requester and is acknowledged as if they had written, so
//! that they get the ticket's number, its link, and a thread to reply to.

use super::{Acting, Done, TicketError, TicketService};
use crate::domain::{
    Audience, Direction, EmailAddress, Event, Impact, Mailbox, NewArticle, NewTicket, Status,
    TicketType, Urgency, Visibility,
};
use crate::pipeline::{authorize::organisation_of, language};
use crate::store::HandOpening;

/// What the agent writes down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpeningInput {
    pub requester: Mailbox,
    pub title: String,
    /// The request in the customer's words, as the agent took it down.
    pub text: String,
    /// Anyone else to keep informed.
    pub observers: Vec<Mailbox>,
    /// `None`: the configured defaults (`[tickets]`).
    pub ticket_type: Option<TicketType>,
    pub category: Option<String>,
    pub impact: Option<Impact>,
    pub urgency: Option<Urgency>,
    /// `en` or `fr`; `None`: told from the text, else the configured default.
    pub language: Option<String>,
}

impl TicketService {
    /// Opens a ticket for `input.requester`, written down by `acting`; the requester and
    /// the observers are told as for a mail. Nothing is written when a field is refused.
    #[tracing::instrument(name = "ticket", skip_all, fields(number = tracing::field::Empty))]
    pub async fn open_for(
        &self,
        acting: &Acting,
        input: OpeningInput,
    ) -> Result<Done, TicketError> {
        let title = input.title.trim();
        let text = input.text.trim();
        if title.is_empty() {
            return Err(TicketError::Missing("title"));
        }
        if text.is_empty() {
            return Err(TicketError::Missing("text"));
        }
        if let Some(language) = &input.language
            && !crate::notify::templates::LANGUAGES.contains(&language.as_str())
        {
            return Err(TicketError::UnknownLanguage(language.clone()));
        }
        for person in std::iter::once(&input.requester).chain(&input.observers) {
            if self.is_ours(&person.address) {
                return Err(TicketError::OursAsCustomer(person.address.to_string()));
            }
        }
        let ticket = self.new_ticket(&input, title, text);
        let mut article = NewArticle::written(
            input.requester.address.clone(),
            input.requester.name.clone(),
            Direction::Inbound,
            Visibility::Public,
            title,
            text,
        );
        article.note = Some(format!(
            "Opened by {} on the customer's behalf.",
            acting.describe()
        ));
        let observers: Vec<EmailAddress> =
            ticket.observers.iter().map(|o| o.address.clone()).collect();
        let audience = Audience {
            requester: &ticket.requester,
            observers: &observers,
            agents: self.settings.agents_address.as_ref(),
        };
        let notifications = audience.notifications(Event::TicketOpened, acting.actor());
        let opening = HandOpening {
            ticket,
            article,
            notifications,
            at: self.clock.now(),
        };
        let number = self.store.open_ticket(&opening).await?;
        tracing::Span::current().record("number", number.as_str());
        tracing::info!(requester = %opening.ticket.requester, by = %acting.describe(), "ticket opened on the customer's behalf");
        Ok(Done {
            ticket: number,
            status: Status::New,
            notifications: opening.notifications.len(),
        })
    }

    /// Whether `address` is one of ours (a mailbox, the agents' address or an agent's): a
    /// ticket requested by ourselves would answer itself.
    fn is_ours(&self, address: &EmailAddress) -> bool {
        let s = &self.settings;
        s.own_addresses
            .iter()
            .chain(s.agents_address.as_ref())
            .chain(s.agents.iter().map(|a| &a.email))
            .any(|o| o.same_mailbox(address))
    }

    fn new_ticket(&self, input: &OpeningInput, title: &str, text: &str) -> NewTicket {
        let defaults = &self.settings.ticket_defaults;
        let mut observers: Vec<Mailbox> = Vec::new();
        for o in &input.observers {
            let known = observers.iter().any(|k| k.address.same_mailbox(&o.address));
            if !known && !o.address.same_mailbox(&input.requester.address) {
                observers.push(o.clone());
            }
        }
        let language = input
            .language
            .clone()
            .or_else(|| language::detect(title, text).map(str::to_string))
            .unwrap_or_else(|| defaults.language.clone());
        NewTicket {
            title: title.to_string(),
            description: Some(text.to_string()),
            ticket_type: input.ticket_type.unwrap_or(defaults.ticket_type),
            category: input
                .category
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            impact: input.impact.unwrap_or(defaults.impact),
            urgency: input.urgency.unwrap_or(defaults.urgency),
            requester: input.requester.address.clone(),
            requester_name: input.requester.name.clone(),
            organisation: organisation_of(&input.requester.address, &self.settings.public_domains),
            language,
            follow_up_of: None,
            observers,
            details: Default::default(),
        }
    }
}
