//! The fields a customer gives in the mail that opens a ticket, as the portals ask for
//! them in a form: lines `Label: value` (`Label : value` in French typography) among what
//! the customer wrote, before any quoted history or signature.
//!
//! ```text
//! Impact : très dégradé
//! Urgence : haute
//! Utilisateurs impactés : environ 40
//! Début de l'incident : 03/12/2026 à 11h43
//! Votre référence : CMD-2291
//! ```
//!
//! Labels are the configuration's (`[fields.labels]`), else English and French defaults
//! ([`crate::domain::BodyField::default_labels`]), compared without case or accents. A
//! line whose label is known but whose value cannot be read is kept as text (it is in the
//! description anyway) and named in the acknowledgement. Only the first readable line of
//! each field counts.

mod values;
mod when;

use chrono::{DateTime, Utc};

use crate::domain::{BodyField, FieldLabels, Impact, TicketType, Urgency};
pub(crate) use values::{impact, urgency};
pub use when::TimeReading;

/// Lines after this many are not looked at: fields are given at the top of a mail.
const MAX_LINES: usize = 300;
/// A line longer than this many bytes is text, not a field.
const MAX_LINE_BYTES: usize = 1000;
/// A label longer than this many characters is a sentence with a colon in it.
const MAX_LABEL_CHARS: usize = 60;
/// How many characters of an unreadable value are kept to be named.
const SHOWN_CHARS: usize = 80;

/// A value read from a field's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    TicketType(TicketType),
    Impact(Impact),
    Urgency(Urgency),
    Users(u32),
    Time(DateTime<Utc>),
    Text(String),
}

impl FieldValue {
    /// The value as stored and as acknowledgements are given it.
    pub fn stored(&self) -> String {
        match self {
            FieldValue::TicketType(t) => t.as_str().to_string(),
            FieldValue::Impact(i) => i.as_str().to_string(),
            FieldValue::Urgency(u) => u.as_str().to_string(),
            FieldValue::Users(n) => n.to_string(),
            FieldValue::Time(t) => t.to_rfc3339(),
            FieldValue::Text(t) => t.clone(),
        }
    }
}

/// One line that named a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLine {
    pub field: BodyField,
    /// The line as written, trimmed and bounded: what `explain` shows.
    pub line: String,
    /// The value, or the value as written and why it was not read.
    pub value: Result<FieldValue, (String, &'static str)>,
}

/// Every line of a mail that named a field, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldsRead {
    pub lines: Vec<FieldLine>,
}

impl FieldsRead {
    /// The first value read for `field`.
    pub fn value(&self, field: BodyField) -> Option<&FieldValue> {
        self.lines
            .iter()
            .filter(|l| l.field == field)
            .find_map(|l| l.value.as_ref().ok())
    }

    /// The text of `field`, for the free-text fields.
    pub fn text(&self, field: BodyField) -> Option<String> {
        match self.value(field)? {
            FieldValue::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
}

/// Whether `text` may hold a field line: a cheap look, so that the mails that have none
/// (almost all) are not read twice.
pub fn may_hold_fields(text: &str, labels: &FieldLabels) -> bool {
    text.lines()
        .take(MAX_LINES)
        .any(|line| split_line(line).is_some_and(|(label, _)| labels.field_of(label).is_some()))
}

/// The fields of `written`, the text the customer wrote (without quotes or signature).
pub fn read(written: &str, labels: &FieldLabels, time: TimeReading) -> FieldsRead {
    let mut read = FieldsRead::default();
    for line in written.lines().take(MAX_LINES) {
        let Some((label, value)) = split_line(line) else {
            continue;
        };
        let Some(field) = labels.field_of(label) else {
            continue;
        };
        let shown = || value.chars().take(SHOWN_CHARS).collect::<String>();
        let value = value_of(field, value, time).map_err(|why| (shown(), why));
        read.lines.push(FieldLine {
            field,
            line: line.trim().chars().take(SHOWN_CHARS * 2).collect(),
            value,
        });
    }
    read
}

/// `Label: value` split at its first colon, the label without a list bullet, both
/// trimmed; `None` when the line is no such line.
fn split_line(line: &str) -> Option<(&str, &str)> {
    if line.len() > MAX_LINE_BYTES {
        return None;
    }
    // A byte search for the ASCII colon (what almost every line has, if any); the
    // full-width one only in a line that is not ASCII. A colon past the longest label is
    // no label's.
    let ascii = line.find(':');
    let wide = if line.is_ascii() {
        None
    } else {
        line.find('：')
    };
    let at = match (ascii, wide) {
        (Some(a), Some(w)) => a.min(w),
        (a, w) => a.or(w)?,
    };
    if at > MAX_LABEL_CHARS * 4 + 8 {
        return None;
    }
    let colon = line[at..].chars().next().map_or(1, char::len_utf8);
    let (label, value) = (&line[..at], &line[at + colon..]);
    let label = label
        .trim()
        .trim_start_matches(['-', '*', '•', '·', '–'])
        .trim()
        .trim_matches('*');
    let value = value.trim().trim_matches('*').trim();
    if label.is_empty() || value.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
        return None;
    }
    Some((label, value))
}

/// The value of `field` in `value`, or why it is not one.
fn value_of(field: BodyField, value: &str, time: TimeReading) -> Result<FieldValue, &'static str> {
    let unknown = |what: &'static str| move || what;
    match field {
        BodyField::TicketType => values::ticket_type(value)
            .map(FieldValue::TicketType)
            .ok_or_else(unknown(
                "not a type: incident, request (demande), question, feature (évolution)",
            )),
        BodyField::Impact => values::impact(value).map(FieldValue::Impact).ok_or_else(
            unknown("not an impact: non perturbé, dégradé, très dégradé, interrompu (or not disturbed, degraded, severely degraded, interrupted)"),
        ),
        BodyField::Urgency => values::urgency(value)
            .map(FieldValue::Urgency)
            .ok_or_else(unknown("not an urgency: haute, moyenne (or high, medium)")),
        BodyField::ImpactedUsers => values::users(value)
            .map(FieldValue::Users)
            .ok_or_else(unknown("not one number of users")),
        BodyField::IncidentStart => when::incident_time(value, time)
            .map(FieldValue::Time)
            .map_err(|e| e.describe()),
        BodyField::Category
        | BodyField::CustomerReference
        | BodyField::ServiceReference
        | BodyField::OnsiteContact
        | BodyField::OnsitePhone
        | BodyField::OnsiteAvailability => values::text(value)
            .map(FieldValue::Text)
            .ok_or_else(unknown("empty")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn how() -> TimeReading {
        TimeReading {
            zone: chrono_tz::Europe::Paris,
            now: Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap(),
            day_first: true,
        }
    }

    #[test]
    fn labelled_lines_give_their_fields_and_unreadable_values_are_kept() {
        let text = "Bonjour,\n\nLa messagerie ne répond plus.\n\n\
            - Impact : Très dégradé\n\
            * Urgence\u{a0}: haute\n\
            Utilisateurs impactés : environ 40\n\
            Début de l'incident : 03/12/2026 à 11h43\n\
            **Votre référence** : CMD-2291\n\
            Numéro du contrat : FE-000123\n\
            Correspondant sur site : Jean Martin\n\
            Disponibilités : 9h-17h\n\
            Catégorie : Lenteur\n\
            Type : panne\n\
            Impact : whatever\n\
            Note: this is not a field\n\n\
            Cordialement,\nMarie";
        let labels = FieldLabels::default();
        assert!(may_hold_fields(text, &labels));
        let read = read(text, &labels, how());
        assert_eq!(
            read.value(BodyField::Impact),
            Some(&FieldValue::Impact(Impact::SeverelyDegraded))
        );
        assert_eq!(
            read.value(BodyField::Urgency),
            Some(&FieldValue::Urgency(Urgency::High))
        );
        assert_eq!(
            read.value(BodyField::ImpactedUsers),
            Some(&FieldValue::Users(40))
        );
        assert_eq!(
            read.value(BodyField::IncidentStart).map(FieldValue::stored),
            Some("2026-12-03T10:43:00+00:00".into())
        );
        assert_eq!(
            read.text(BodyField::CustomerReference).as_deref(),
            Some("CMD-2291")
        );
        assert_eq!(
            read.text(BodyField::ServiceReference).as_deref(),
            Some("FE-000123")
        );
        assert_eq!(
            read.text(BodyField::OnsiteContact).as_deref(),
            Some("Jean Martin")
        );
        assert_eq!(
            read.text(BodyField::OnsiteAvailability).as_deref(),
            Some("9h-17h")
        );
        assert_eq!(read.text(BodyField::Category).as_deref(), Some("Lenteur"));
        assert_eq!(
            read.value(BodyField::TicketType),
            Some(&FieldValue::TicketType(TicketType::Incident))
        );
        let unreadable: Vec<_> = read.lines.iter().filter(|l| l.value.is_err()).collect();
        assert_eq!(unreadable.len(), 1);
        assert_eq!(unreadable[0].line, "Impact : whatever");
        assert_eq!(read.lines.len(), 11);
    }

    #[test]
    fn every_default_label_of_both_languages_gives_its_field() {
        let labels = FieldLabels::default();
        let sample = |field| match field {
            BodyField::TicketType => "Demande",
            BodyField::Impact => "Dégradé",
            BodyField::Urgency => "High",
            BodyField::ImpactedUsers => "about 12",
            BodyField::IncidentStart => "2026-12-01 10:00",
            _ => "REF-1",
        };
        for &field in BodyField::ALL {
            for label in field.default_labels() {
                // As a customer may type it: capitals, and French typography.
                let line = format!("{} : {}", label.to_uppercase(), sample(field));
                let read = read(&line, &labels, how());
                assert_eq!(read.lines.len(), 1, "{line}");
                assert_eq!(read.lines[0].field, field, "{line}");
                assert!(read.lines[0].value.is_ok(), "{line}: {:?}", read.lines[0]);
            }
        }
    }

    #[test]
    fn a_mail_without_fields_is_looked_at_cheaply_and_long_lines_are_text() {
        let labels = FieldLabels::default();
        assert!(!may_hold_fields(
            "Hello,\nthe VPN is down: help!\n",
            &labels
        ));
        let long = format!("Impact: {}", "x".repeat(2000));
        assert!(read(&long, &labels, how()).lines.is_empty());
        let sentence = "As I said on the phone to your colleague yesterday, the impact is: total";
        assert!(read(sentence, &labels, how()).lines.is_empty());
    }
}
