//! The ticket a mail opens: its title, type, impact and urgency (from the routing rule that
//! matched, the intake's defaults, then the configuration's), its requester's organisation,
//! its observers (whoever else the mail was sent to) and its language.

use std::collections::HashSet;

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
    ) -> (NewTicket, Option<String>) {
        let s = &self.settings;
        let effect = rule.map(|i| &s.routing[i].effect);
        let own: HashSet<String> = s
            .own_addresses
            .iter()
            .chain(s.agents.iter().map(|g| &g.email))
            .chain(std::iter::once(&requester.address))
            .map(EmailAddress::key)
            .collect();
        let (observers, left_out) =
            observers_of(mail.recipients(), &own, s.max_observers_from_mail);
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
        let ticket = NewTicket {
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
        };
        (ticket, left_out)
    }
}

/// How many of the recipients left out are named in the article's note; the raw mail
/// keeps them all.
const NAMED_LEFT_OUT: usize = 50;

/// The mail's recipients that become observers: each mailbox once (compared through a set:
/// a mail with 100,000 Cc costs 100,000 look-ups, not their square), none of `own` (our
/// addresses, the agents', the requester's), at most `max`; and the note naming the rest,
/// bounded, when there are any.
fn observers_of<'m>(
    recipients: impl Iterator<Item = &'m Mailbox>,
    own: &HashSet<String>,
    max: usize,
) -> (Vec<Mailbox>, Option<String>) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut observers: Vec<Mailbox> = Vec::new();
    let mut left_out: Vec<&EmailAddress> = Vec::new();
    let mut left_out_count = 0_usize;
    for m in recipients {
        let key = m.address.key();
        if own.contains(&key) || !seen.insert(key) {
            continue;
        }
        if observers.len() < max {
            observers.push(m.clone());
        } else {
            left_out_count += 1;
            if left_out.len() < NAMED_LEFT_OUT {
                left_out.push(&m.address);
            }
        }
    }
    let note = (left_out_count > 0).then(|| {
        let named: Vec<&str> = left_out.iter().map(|a| a.as_str()).collect();
        let more = left_out_count - named.len();
        format!(
            "The mail named {left_out_count} more recipients, not made observers (at most {max}): {}{}.",
            named.join(", "),
            if more > 0 {
                format!(" and {more} more, in the raw mail")
            } else {
                String::new()
            }
        )
    });
    (observers, note)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(s: &str) -> Mailbox {
        Mailbox {
            name: None,
            address: EmailAddress::parse(s).unwrap(),
        }
    }

    #[test]
    fn observers_are_deduplicated_through_a_set_and_capped() {
        let own: HashSet<String> = ["support@ours.test".to_string()].into();
        // 100,000 recipients, each twice in different case, and ours among them.
        let mut recipients: Vec<Mailbox> = (0..100_000)
            .flat_map(|i| [format!("p{i}@x.test"), format!("P{i}@X.TEST")])
            .map(|a| mailbox(&a))
            .collect();
        recipients.push(mailbox("Support@ours.test"));
        let started = std::time::Instant::now();
        let (observers, note) = observers_of(recipients.iter(), &own, 20);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(observers.len(), 20);
        assert_eq!(observers[1].address.as_str(), "p1@x.test");
        let note = note.unwrap();
        assert!(
            note.starts_with("The mail named 99980 more recipients"),
            "{note}"
        );
        assert!(
            note.ends_with(" and 99930 more, in the raw mail."),
            "{note}"
        );
        assert!(note.len() < 4096);

        let (all, none) = observers_of(recipients[..6].iter(), &own, 20);
        assert_eq!(all.len(), 3, "each mailbox once");
        assert!(none.is_none());
    }
}
