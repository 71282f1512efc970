//! The fields a customer may give in the body of the mail that opens a ticket
//! (`Impact : dégradé`), as the support portals ask them in their forms (seeds 001 to
//! 003), the labels each is known by in English and French, and how a label is compared:
//! case, accents, dashes and spacing do not matter.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One field a mail's `Label: value` line may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyField {
    TicketType,
    Category,
    Impact,
    Urgency,
    ImpactedUsers,
    IncidentStart,
    CustomerReference,
    ServiceReference,
    OnsiteContact,
    OnsitePhone,
    OnsiteAvailability,
}

impl BodyField {
    /// Every field, in the order acknowledgements list them.
    pub const ALL: &'static [BodyField] = &[
        BodyField::TicketType,
        BodyField::Category,
        BodyField::Impact,
        BodyField::Urgency,
        BodyField::ImpactedUsers,
        BodyField::IncidentStart,
        BodyField::CustomerReference,
        BodyField::ServiceReference,
        BodyField::OnsiteContact,
        BodyField::OnsitePhone,
        BodyField::OnsiteAvailability,
    ];

    /// Its key under `[fields.labels]`.
    pub fn key(self) -> &'static str {
        match self {
            BodyField::TicketType => "type",
            BodyField::Category => "category",
            BodyField::Impact => "impact",
            BodyField::Urgency => "urgency",
            BodyField::ImpactedUsers => "impacted_users",
            BodyField::IncidentStart => "incident_start",
            BodyField::CustomerReference => "customer_reference",
            BodyField::ServiceReference => "service_reference",
            BodyField::OnsiteContact => "onsite_contact",
            BodyField::OnsitePhone => "onsite_phone",
            BodyField::OnsiteAvailability => "onsite_availability",
        }
    }

    /// The field whose key is `key`.
    pub fn from_key(key: &str) -> Option<BodyField> {
        BodyField::ALL.iter().copied().find(|f| f.key() == key)
    }

    /// The labels a customer may write it with when the configuration names none: the
    /// portals' own words, in English and French, as [`fold_label`] leaves them.
    pub fn default_labels(self) -> &'static [&'static str] {
        match self {
            BodyField::TicketType => &[
                "type",
                "ticket type",
                "request type",
                "type of request",
                "type de demande",
                "type de ticket",
            ],
            BodyField::Category => &["category", "categorie"],
            BodyField::Impact => &[
                "impact",
                "service impact",
                "impact on the service",
                "impact sur le service",
                "impact sur votre service",
            ],
            BodyField::Urgency => &["urgency", "urgence", "niveau d'urgence"],
            BodyField::ImpactedUsers => &[
                "impacted users",
                "affected users",
                "users affected",
                "users impacted",
                "number of impacted users",
                "number of affected users",
                "utilisateurs impactes",
                "utilisateurs concernes",
                "nombre d'utilisateurs impactes",
                "postes impactes",
                "nombre de postes impactes",
            ],
            BodyField::IncidentStart => &[
                "incident start",
                "incident started",
                "start of the incident",
                "started at",
                "since",
                "debut de l'incident",
                "date et heure de l'incident",
                "date de debut",
                "depuis le",
            ],
            BodyField::CustomerReference => &[
                "your reference",
                "our reference",
                "customer reference",
                "votre reference",
                "vos references",
                "notre reference",
                "reference client",
            ],
            BodyField::ServiceReference => &[
                "service",
                "service reference",
                "contract",
                "contract number",
                "service concerne",
                "reference de l'element",
                "element concerne",
                "contrat",
                "numero du contrat",
                "numero de contrat",
            ],
            BodyField::OnsiteContact => &[
                "on site contact",
                "onsite contact",
                "site contact",
                "contact on site",
                "correspondant sur site",
                "contact sur site",
            ],
            BodyField::OnsitePhone => &[
                "on site phone",
                "onsite phone",
                "site phone",
                "telephone sur site",
                "telephone du correspondant",
            ],
            BodyField::OnsiteAvailability => &[
                "availability",
                "availabilities",
                "on site availability",
                "disponibilite",
                "disponibilites",
            ],
        }
    }
}

impl fmt::Display for BodyField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// `label` as labels are compared: lower case, without accents, with `-`, `_` and `’`
/// read as a space and an apostrophe, runs of spaces made one.
pub fn fold_label(label: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut folded = String::with_capacity(label.len());
    for c in label.nfd() {
        let c = match c {
            '-' | '_' => ' ',
            '’' | '‘' | '`' => '\'',
            c if unicode_normalization::char::is_combining_mark(c) => continue,
            c => c,
        };
        if c.is_whitespace() {
            if !folded.is_empty() && !folded.ends_with(' ') {
                folded.push(' ');
            }
            continue;
        }
        folded.extend(c.to_lowercase());
    }
    let kept = folded.trim_end().len();
    folded.truncate(kept);
    folded
}

/// Two fields were given the same label.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the label `{label}` is given to both {first} and {second}: give each label to one field")]
pub struct LabelClash {
    pub label: String,
    pub first: BodyField,
    pub second: BodyField,
}

/// Which field each label sets, as the configuration gives them: a field it names is
/// known by the labels it lists (and by no others); the rest by their default labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLabels {
    by_label: HashMap<String, BodyField>,
    /// The longest folded label, in characters: a longer one is no label.
    longest: usize,
}

impl FieldLabels {
    /// The labels of `configured` (a field's labels replace its defaults), folded.
    pub fn new(configured: &HashMap<BodyField, Vec<String>>) -> Result<Self, LabelClash> {
        let mut by_label: HashMap<String, BodyField> = HashMap::new();
        for &field in BodyField::ALL {
            let labels: Vec<String> = match configured.get(&field) {
                Some(list) => list.iter().map(|l| fold_label(l)).collect(),
                None => field
                    .default_labels()
                    .iter()
                    .map(|l| l.to_string())
                    .collect(),
            };
            for label in labels.into_iter().filter(|l| !l.is_empty()) {
                match by_label.get(&label) {
                    Some(&first) if first != field => {
                        return Err(LabelClash {
                            label,
                            first,
                            second: field,
                        });
                    }
                    _ => {
                        by_label.insert(label, field);
                    }
                }
            }
        }
        let longest = by_label
            .keys()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        Ok(FieldLabels { by_label, longest })
    }

    /// The field `label` (as written) sets, if any.
    pub fn field_of(&self, label: &str) -> Option<BodyField> {
        if label.chars().count() > self.longest * 2 {
            return None;
        }
        self.by_label.get(&fold_label(label)).copied()
    }

    /// The labels of `field`, folded, sorted.
    pub fn labels_of(&self, field: BodyField) -> Vec<&str> {
        let mut labels: Vec<&str> = self
            .by_label
            .iter()
            .filter(|(_, f)| **f == field)
            .map(|(l, _)| l.as_str())
            .collect();
        labels.sort_unstable();
        labels
    }
}

impl Default for FieldLabels {
    fn default() -> Self {
        FieldLabels::new(&HashMap::new()).expect("the default labels are each given once")
    }
}

/// What a customer tells about their incident besides its text and the fields every
/// ticket has: their own reference, the service or contract concerned, how many users are
/// hit, when it began, and who to see on site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IncidentDetails {
    /// The customer's own reference for the request ("votre référence").
    pub customer_reference: Option<String>,
    /// The service, contract or equipment concerned ("référence de l'élément").
    pub service_reference: Option<String>,
    /// How many users the incident hits.
    pub impacted_users: Option<u32>,
    /// When the incident began, as the customer gave it.
    pub incident_started_at: Option<DateTime<Utc>>,
    /// Who to see on site.
    pub onsite_contact: Option<String>,
    /// Their phone number, as written.
    pub onsite_phone: Option<String>,
    /// When they are there.
    pub onsite_availability: Option<String>,
}

impl IncidentDetails {
    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        *self == IncidentDetails::default()
    }
}

/// A field a mail gave, as an acknowledgement lists it: its value as stored (an enum's
/// name, a number, an RFC 3339 time, a text), or the text that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GivenField {
    pub field: BodyField,
    pub value: String,
}

/// What the acknowledgement of a new ticket says about the fields of its mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldsNotice {
    /// The fields taken, in [`BodyField::ALL`] order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taken: Vec<GivenField>,
    /// The values that could not be read, as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<GivenField>,
    /// Neither the mail nor a routing rule gave the impact or the urgency.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ask_impact_urgency: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_compared_without_case_accents_or_dashes() {
        assert_eq!(fold_label("  Votre  Référence "), "votre reference");
        assert_eq!(fold_label("On-site contact"), "on site contact");
        assert_eq!(fold_label("Niveau d’urgence"), "niveau d'urgence");
        let labels = FieldLabels::default();
        assert_eq!(
            labels.field_of("UTILISATEURS IMPACTÉS"),
            Some(BodyField::ImpactedUsers)
        );
        assert_eq!(
            labels.field_of("Correspondant sur site"),
            Some(BodyField::OnsiteContact)
        );
        assert_eq!(labels.field_of("Subject"), None);
        assert_eq!(labels.field_of(&"x".repeat(10_000)), None);
    }

    #[test]
    fn every_default_label_is_folded_and_given_once() {
        for &field in BodyField::ALL {
            for label in field.default_labels() {
                assert_eq!(fold_label(label), *label, "{field}");
            }
            assert_eq!(BodyField::from_key(field.key()), Some(field));
        }
        let labels = FieldLabels::default();
        assert!(labels.labels_of(BodyField::Impact).contains(&"impact"));
    }

    #[test]
    fn configured_labels_replace_a_field_s_defaults_and_may_not_clash() {
        let configured = HashMap::from([(BodyField::Impact, vec!["Sévérité".to_string()])]);
        let labels = FieldLabels::new(&configured).unwrap();
        assert_eq!(labels.field_of("severite"), Some(BodyField::Impact));
        assert_eq!(labels.field_of("impact"), None);
        let clash = HashMap::from([(BodyField::Category, vec!["Urgence".to_string()])]);
        let err = FieldLabels::new(&clash).unwrap_err();
        assert_eq!(err.label, "urgence");
    }
}
