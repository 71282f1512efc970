//! The ticket a mail opens: its title, type, impact and urgency (from the routing rule that
//! matched, the mail's own `Label: value` lines, the intake's defaults, then the
//! configuration's), the incident's details the mail gives, its requester's organisation,
//! its observers (whoever else the mail was sent to) and its language.

use std::collections::HashSet;

use super::authorize::organisation_of;
use super::body_fields::{self, FieldValue, FieldsRead, TimeReading};
use super::{Pipeline, article, language, reply_text};
use crate::domain::{
    BodyField, EmailAddress, FieldsNotice, GivenField, Impact, InboundMail, IncidentDetails,
    Mailbox, NewTicket, Priority, RoutingEffect, TicketType, Urgency, title_from_subject,
};

/// Up to this size the ticket's description is sent to the database with the ticket; past
/// it, the database copies it from the first article (one more statement, one copy of a
/// large text less in memory).
const DESCRIPTION_COPY_BYTES: usize = 64 * 1024;

/// The ticket a mail opens, and what its acknowledgement says of the mail's fields.
pub(super) struct Opening {
    pub ticket: NewTicket,
    /// The note naming the recipients not made observers, when there are any.
    pub left_out: Option<String>,
    pub fields: FieldsNotice,
    /// Every line that named a field: what `explain` shows.
    pub read: FieldsRead,
}

impl Pipeline {
    /// The ticket `mail` from `requester` opens; `rule` is the routing rule that matched.
    pub(super) fn new_ticket(
        &self,
        mail: &InboundMail<'_>,
        requester: &Mailbox,
        follow_up_of: Option<i64>,
        rule: Option<usize>,
    ) -> Opening {
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
        let language = language::detect(&mail.subject, &mail.text)
            .or(self.defaults.language.as_deref())
            .unwrap_or(&s.ticket_defaults.language)
            .to_string();
        let read = self.body_fields(mail, &language).unwrap_or_default();
        let chosen = self.choose(effect, &read);
        tracing::debug!(priority = %Priority::derive(chosen.impact, chosen.urgency), "new ticket");
        let ticket = NewTicket {
            title: title_from_subject(&s.subject_tag.strip(&mail.subject)),
            // A big mail's text is not held twice: the store copies it from the article.
            description: (mail.text.len() <= DESCRIPTION_COPY_BYTES).then(|| mail.text.clone()),
            ticket_type: chosen.ticket_type,
            category: chosen.category,
            impact: chosen.impact,
            urgency: chosen.urgency,
            requester: requester.address.clone(),
            requester_name: requester.name.clone(),
            organisation: organisation_of(&requester.address, &s.public_domains),
            language,
            follow_up_of,
            observers,
            details: details_of(&read),
        };
        Opening {
            ticket,
            left_out,
            fields: chosen.notice,
            read,
        }
    }

    /// The type, category, impact and urgency of the ticket: a routing rule's `effect`
    /// wins over the mail's fields `read`, which win over the intake's and the
    /// configuration's defaults; and what the acknowledgement says of the fields.
    fn choose(&self, effect: Option<&RoutingEffect>, read: &FieldsRead) -> Chosen {
        let s = &self.settings;
        let mail_type = match read.value(BodyField::TicketType) {
            Some(FieldValue::TicketType(t)) => Some(*t),
            _ => None,
        };
        let mail_impact = match read.value(BodyField::Impact) {
            Some(FieldValue::Impact(i)) => Some(*i),
            _ => None,
        };
        let mail_urgency = match read.value(BodyField::Urgency) {
            Some(FieldValue::Urgency(u)) => Some(*u),
            _ => None,
        };
        let rule_impact = effect.and_then(|e| e.impact);
        let rule_urgency = effect.and_then(|e| e.urgency);
        let ruled = |field| match field {
            BodyField::TicketType => effect.is_some_and(|e| e.ticket_type.is_some()),
            BodyField::Category => effect.is_some_and(|e| e.category.is_some()),
            BodyField::Impact => rule_impact.is_some(),
            BodyField::Urgency => rule_urgency.is_some(),
            _ => false,
        };
        Chosen {
            ticket_type: effect
                .and_then(|e| e.ticket_type)
                .or(mail_type)
                .or(self.defaults.ticket_type)
                .unwrap_or(s.ticket_defaults.ticket_type),
            category: effect
                .and_then(|e| e.category.clone())
                .or_else(|| read.text(BodyField::Category)),
            impact: rule_impact
                .or(mail_impact)
                .unwrap_or(s.ticket_defaults.impact),
            urgency: rule_urgency
                .or(mail_urgency)
                .unwrap_or(s.ticket_defaults.urgency),
            notice: FieldsNotice {
                ask_impact_urgency: s.field_labels.is_some()
                    && (rule_impact.or(mail_impact).is_none()
                        || rule_urgency.or(mail_urgency).is_none()),
                ..notice(read, ruled)
            },
        }
    }

    /// The fields of the `Label: value` lines of what the writer of `mail` wrote, read
    /// as a mail in `language` is; `None` when reading them is off or the mail has none.
    pub(super) fn body_fields(&self, mail: &InboundMail<'_>, language: &str) -> Option<FieldsRead> {
        let labels = self.settings.field_labels.as_ref()?;
        let text = article::kept_part(&mail.text);
        if !body_fields::may_hold_fields(text, labels) {
            return None;
        }
        // Without the quoted history and the signature, and from the HTML's own lines
        // where there is HTML.
        let written = reply_text::strip_mail(text, mail.html.as_deref().map(article::kept_part));
        let time = TimeReading {
            zone: self
                .defaults
                .time_zone
                .unwrap_or(self.settings.ticket_defaults.time_zone),
            now: self.clock.now(),
            day_first: language != "en",
        };
        Some(body_fields::read(&written.text, labels, time))
    }
}

/// What [`Pipeline::choose`] chose.
struct Chosen {
    ticket_type: TicketType,
    category: Option<String>,
    impact: Impact,
    urgency: Urgency,
    notice: FieldsNotice,
}

/// What the acknowledgement says of `read`: the fields taken (not those a routing rule
/// set), and the values not read of fields that were not given otherwise.
fn notice(read: &FieldsRead, ruled: impl Fn(BodyField) -> bool) -> FieldsNotice {
    let mut notice = FieldsNotice::default();
    for &field in BodyField::ALL {
        match read.value(field) {
            Some(value) if !ruled(field) => notice.taken.push(GivenField {
                field,
                value: value.stored(),
            }),
            Some(_) => {}
            None => notice.unreadable.extend(
                read.lines
                    .iter()
                    .filter(|l| l.field == field)
                    .filter_map(|l| l.value.as_ref().err())
                    .map(|(value, _)| GivenField {
                        field,
                        value: value.clone(),
                    }),
            ),
        }
    }
    notice
}

/// The incident's details `read` gives.
fn details_of(read: &FieldsRead) -> IncidentDetails {
    IncidentDetails {
        customer_reference: read.text(BodyField::CustomerReference),
        service_reference: read.text(BodyField::ServiceReference),
        impacted_users: match read.value(BodyField::ImpactedUsers) {
            Some(FieldValue::Users(n)) => Some(*n),
            _ => None,
        },
        incident_started_at: match read.value(BodyField::IncidentStart) {
            Some(FieldValue::Time(t)) => Some(*t),
            _ => None,
        },
        onsite_contact: read.text(BodyField::OnsiteContact),
        onsite_phone: read.text(BodyField::OnsitePhone),
        onsite_availability: read.text(BodyField::OnsiteAvailability),
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
