//! `[tickets]`: how ticket numbers appear in subjects, what a ticket opened by mail starts
//! with, and how a resolved or closed ticket answers its requester's mail.

use std::collections::HashMap;

use serde::Deserialize;

use super::error::Errors;
use crate::domain::{BodyField, FieldLabels, Impact, SubjectTag, TicketType, Urgency};

/// The `[tickets]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawTickets {
    /// How the number appears in subjects; `{number}` stands for it.
    number_tag: String,
    /// The type of a ticket opened by mail, before routing rules.
    default_type: String,
    /// Its impact, before routing rules.
    default_impact: String,
    /// Its urgency, before routing rules.
    default_urgency: String,
    /// `en` or `fr`: the notifications' language when the mail's cannot be told.
    default_language: String,
    /// Days a resolved ticket waits for approval before it closes by itself; read by the
    /// cross-section check of `[jobs]`.
    pub(super) auto_close_days: u32,
    /// Days after closing during which a customer's mail reopens the ticket.
    reopen_window_days: u32,
    /// Words that, first in a reply to a resolved ticket, approve its solution.
    approval_words: Vec<String>,
    /// Words that refuse it outright.
    refusal_words: Vec<String>,
    /// How many of a new mail's other recipients become the ticket's observers.
    max_observers_from_mail: u32,
    /// The IANA zone (`Europe/Paris`) in which times written in mails are read, unless a
    /// mailbox names its own.
    time_zone: String,
    /// Whether `Label: value` lines of a new ticket's mail set its fields.
    read_fields: bool,
    /// A field's labels (`impact = ["Impact", "Sévérité"]`), replacing its built-in ones.
    field_labels: HashMap<String, Vec<String>>,
}

impl Default for RawTickets {
    fn default() -> Self {
        Self {
            number_tag: "[#{number}]".into(),
            default_type: "incident".into(),
            default_impact: "degraded".into(),
            default_urgency: "medium".into(),
            default_language: "en".into(),
            auto_close_days: 7,
            reopen_window_days: 14,
            approval_words: default_approval_words(),
            refusal_words: default_refusal_words(),
            max_observers_from_mail: 20,
            time_zone: "UTC".into(),
            read_fields: true,
            field_labels: HashMap::new(),
        }
    }
}

/// The approval words of the seeds' portals, in English and French.
fn default_approval_words() -> Vec<String> {
    [
        "approve",
        "approved",
        "accept",
        "ok",
        "approuver",
        "approuvé",
        "accepter",
        "valider",
    ]
    .map(String::from)
    .to_vec()
}

/// Words that refuse a solution outright.
fn default_refusal_words() -> Vec<String> {
    ["refuse", "reject", "no", "refuser", "non"]
        .map(String::from)
        .to_vec()
}

/// Defaults given to tickets opened by mail, before routing rules apply.
#[derive(Debug, Clone)]
pub struct TicketDefaults {
    /// `tickets.default_type`.
    pub ticket_type: TicketType,
    /// `tickets.default_impact`.
    pub impact: Impact,
    /// `tickets.default_urgency`.
    pub urgency: Urgency,
    /// `en` or `fr`: used when a mail's language cannot be told.
    pub language: String,
    /// Where times written in mails without a zone are read, unless a mailbox names its own.
    pub time_zone: chrono_tz::Tz,
}

/// The validated `[tickets]` section.
#[derive(Debug)]
pub(super) struct TicketSettings {
    pub(super) subject_tag: SubjectTag,
    pub(super) defaults: TicketDefaults,
    /// 1 to 3650.
    pub(super) auto_close_days: u32,
    /// At most 3650.
    pub(super) reopen_window_days: u32,
    /// Lower-cased and trimmed; never empty.
    pub(super) approval_words: Vec<String>,
    /// Lower-cased and trimmed; never empty.
    pub(super) refusal_words: Vec<String>,
    /// At most 1000.
    pub(super) max_observers_from_mail: u32,
    /// `None` when `read_fields` is off.
    pub(super) field_labels: Option<FieldLabels>,
}

impl RawTickets {
    /// Validates `[tickets]`, recording each error with its key; `None` when a value that
    /// has no stand-in (the tag, a default) is wrong.
    pub(super) fn validate(self, errors: &mut Errors) -> Option<TicketSettings> {
        let subject_tag = errors.check("tickets.number_tag", SubjectTag::new(&self.number_tag));
        let ticket_type = errors.check("tickets.default_type", self.default_type.parse());
        let impact = errors.check("tickets.default_impact", self.default_impact.parse());
        let urgency = errors.check("tickets.default_urgency", self.default_urgency.parse());
        if !matches!(self.default_language.as_str(), "en" | "fr") {
            errors.push(
                "tickets.default_language",
                format_args!(
                    "`{}` is not a shipped language; use `en` or `fr`",
                    self.default_language
                ),
            );
        }
        errors.at_most("tickets.auto_close_days", self.auto_close_days.into(), 3650);
        errors.at_most(
            "tickets.reopen_window_days",
            self.reopen_window_days.into(),
            3650,
        );
        errors.at_most(
            "tickets.max_observers_from_mail",
            self.max_observers_from_mail.into(),
            1000,
        );
        if self.auto_close_days == 0 {
            errors.push("tickets.auto_close_days", "must be at least 1");
        }
        let approval_words = words("approval_words", &self.approval_words, errors);
        let refusal_words = words("refusal_words", &self.refusal_words, errors);
        let time_zone = errors.check("tickets.time_zone", time_zone(&self.time_zone));
        let field_labels = self
            .read_fields
            .then(|| field_labels(&self.field_labels, errors))
            .flatten();
        Some(TicketSettings {
            subject_tag: subject_tag?,
            defaults: TicketDefaults {
                ticket_type: ticket_type?,
                impact: impact?,
                urgency: urgency?,
                language: self.default_language,
                time_zone: time_zone?,
            },
            auto_close_days: self.auto_close_days,
            reopen_window_days: self.reopen_window_days,
            approval_words,
            refusal_words,
            max_observers_from_mail: self.max_observers_from_mail,
            field_labels,
        })
    }
}

/// The IANA zone named `name`.
pub(super) fn time_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        format!("`{name}` is not a time zone; use an IANA name such as Europe/Paris or UTC")
    })
}

/// The labels of `[tickets.field_labels]`, each key a field, over the built-in ones.
fn field_labels(raw: &HashMap<String, Vec<String>>, errors: &mut Errors) -> Option<FieldLabels> {
    let mut configured = HashMap::new();
    for (key, labels) in raw {
        match BodyField::from_key(key) {
            Some(field) => {
                configured.insert(field, labels.clone());
            }
            None => {
                let known: Vec<&str> = BodyField::ALL.iter().map(|f| f.key()).collect();
                errors.push(
                    format_args!("tickets.field_labels.{key}"),
                    format_args!("not a field; the fields are {}", known.join(", ")),
                );
            }
        }
    }
    errors.check("tickets.field_labels", FieldLabels::new(&configured))
}

/// Lower-cased, trimmed words; an empty list is an error, as nobody could approve.
fn words(key: &str, raw: &[String], errors: &mut Errors) -> Vec<String> {
    let words: Vec<String> = raw
        .iter()
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        errors.push(format_args!("tickets.{key}"), "give at least one word");
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_words_are_lower_cased() {
        let mut errors = Errors::default();
        let raw = RawTickets {
            approval_words: vec![" OK ".into()],
            ..RawTickets::default()
        };
        let tickets = raw.validate(&mut errors).unwrap();
        assert_eq!(errors.count(), 0, "{errors:?}");
        assert_eq!(tickets.approval_words, ["ok"]);
        assert_eq!(tickets.defaults.ticket_type, TicketType::Incident);
    }

    #[test]
    fn field_labels_name_known_fields_once_and_the_zone_is_an_iana_one() {
        let mut errors = Errors::default();
        let raw = RawTickets {
            time_zone: "Europe/Paris".into(),
            field_labels: HashMap::from([("impact".into(), vec!["Sévérité".into()])]),
            ..RawTickets::default()
        };
        let tickets = raw.validate(&mut errors).unwrap();
        assert_eq!(errors.count(), 0, "{errors:?}");
        assert_eq!(tickets.defaults.time_zone, chrono_tz::Europe::Paris);
        let labels = tickets.field_labels.unwrap();
        assert_eq!(labels.field_of("SEVERITE"), Some(BodyField::Impact));

        let mut errors = Errors::default();
        let raw = RawTickets {
            time_zone: "Paris".into(),
            field_labels: HashMap::from([
                ("severity".into(), vec!["x".into()]),
                ("category".into(), vec!["Urgence".into()]),
            ]),
            ..RawTickets::default()
        };
        assert!(raw.validate(&mut errors).is_none());
        let messages = errors.into_messages().join("\n");
        for part in [
            "tickets.time_zone: `Paris` is not a time zone",
            "tickets.field_labels.severity: not a field",
            "tickets.field_labels: the label `urgence` is given to both",
        ] {
            assert!(messages.contains(part), "{part} in {messages}");
        }

        let raw = RawTickets {
            read_fields: false,
            ..RawTickets::default()
        };
        let tickets = raw.validate(&mut Errors::default()).unwrap();
        assert!(tickets.field_labels.is_none());
    }

    #[test]
    fn every_bad_key_is_named() {
        let mut errors = Errors::default();
        let raw = RawTickets {
            default_urgency: "whenever".into(),
            default_language: "de".into(),
            auto_close_days: 0,
            refusal_words: vec![" ".into()],
            ..RawTickets::default()
        };
        assert!(raw.validate(&mut errors).is_none());
        let errors = errors.into_messages();
        let keys: Vec<&str> = errors.iter().filter_map(|e| e.split(':').next()).collect();
        assert_eq!(
            keys,
            [
                "tickets.default_urgency",
                "tickets.default_language",
                "tickets.auto_close_days",
                "tickets.refusal_words",
            ]
        );
        assert_eq!(errors[2], "tickets.auto_close_days: must be at least 1");
    }
}
