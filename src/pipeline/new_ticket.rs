//! The ticket a mail opens: its title, type, impact and urgency (from the routing rule that
//! matched, the intake's defaults, then the configuration's), its requester's organisation,
//! its observers (whoever else the mail was sent to) and its language.

use super::Pipeline;
use super::authorize::organisation_of;
use super::language;
use crate::domain::{
    EmailAddress, InboundMail, Mailbox, NewTicket, Priority, TicketType, title_from_subject,
};

/// Up to this size the ticket's description is sent to the database with the ticket; past
/// it, the database copies it from the first article (one more statement, one copy of a
/// large text less in memory).
const DESCRIPTION_COPY_BYTES: usize = 64 * 1024;

impl Pipeline {
    /// The ticket `mail` from `requester` opens; `rule` is the routing rule that matched.
    pub(super) fn new_ticket(
        &self,
        mail: &InboundMail<'_>,
        requester: &Mailbox,
        follow_up_of: Option<i64>,
        rule: Option<usize>,
    ) -> NewTicket {
        let s = &self.settings;
        let effect = rule.map(|i| &s.routing[i].effect);
        let own_or_agent = |a: &EmailAddress| {
            s.own_addresses
                .iter()
                .chain(s.agents.iter().map(|g| &g.email))
                .any(|o| o.same_mailbox(a))
        };
        let mut observers: Vec<Mailbox> = Vec::new();
        for m in mail.recipients() {
            let a = &m.address;
            if !own_or_agent(a)
                && !a.same_mailbox(&requester.address)
                && !observers.iter().any(|o| o.address.same_mailbox(a))
            {
                observers.push(m.clone());
            }
        }
        let ticket_type: TicketType = effect
            .and_then(|e| e.ticket_type)
            .or(self.defaults.ticket_type)
            .unwrap_or(s.ticket_defaults.ticket_type);
        let impact = effect
            .and_then(|e| e.impact)
            .unwrap_or(s.ticket_defaults.impact);
        let urgency = effect
            .and_then(|e| e.urgency)
            .unwrap_or(s.ticket_defaults.urgency);
        tracing::debug!(priority = %Priority::derive(impact, urgency), "new ticket");
        NewTicket {
            title: title_from_subject(&s.subject_tag.strip(&mail.subject)),
            // A big mail's text is not held twice: the store copies it from the article.
            description: (mail.text.len() <= DESCRIPTION_COPY_BYTES).then(|| mail.text.clone()),
            ticket_type,
            category: effect.and_then(|e| e.category.clone()),
            impact,
            urgency,
            requester: requester.address.clone(),
            requester_name: requester.name.clone(),
            organisation: organisation_of(&requester.address, &s.public_domains),
            language: language::detect(&mail.subject, &mail.text)
                .or(self.defaults.language.as_deref())
                .unwrap_or(&s.ticket_defaults.language)
                .to_string(),
            follow_up_of,
            observers,
        }
    }
}
