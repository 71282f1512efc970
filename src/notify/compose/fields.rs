//! What an acknowledgement says of the fields the mail gave (`Impact : dégradé`…): each
//! field taken, in the reader's words, the values that could not be read, and whether to
//! say how to give the impact and the urgency.

use serde_json::{Value, json};

use super::super::templates::{field_name, impact_label, long_time, type_label, urgency_label};
use crate::domain::{BodyField, FieldsNotice, GivenField};

/// The `fields` of the templates: `{taken: [{name, value}], unreadable: [{name, value}],
/// ask_impact_urgency, any}`.
pub(super) fn fields_data(notice: Option<&FieldsNotice>, lang: &str) -> Value {
    let Some(notice) = notice else {
        return json!({ "taken": [], "unreadable": [], "ask_impact_urgency": false, "any": false });
    };
    let named = |given: &GivenField, value: String| json!({ "name": field_name(given.field, lang), "value": value });
    let taken: Vec<Value> = notice
        .taken
        .iter()
        .map(|g| named(g, shown_value(g, lang)))
        .collect();
    let unreadable: Vec<Value> = notice
        .unreadable
        .iter()
        .map(|g| named(g, g.value.clone()))
        .collect();
    json!({
        "any": !taken.is_empty() || !unreadable.is_empty(),
        "taken": taken,
        "unreadable": unreadable,
        "ask_impact_urgency": notice.ask_impact_urgency,
    })
}

/// A taken value in the reader's words: a type, an impact or an urgency by its label, a
/// time in full, anything else as written.
fn shown_value(given: &GivenField, lang: &str) -> String {
    let value = given.value.as_str();
    let label = match given.field {
        BodyField::TicketType => value.parse().ok().map(|t| type_label(t, lang)),
        BodyField::Impact => value.parse().ok().map(|i| impact_label(i, lang)),
        BodyField::Urgency => value.parse().ok().map(|u| urgency_label(u, lang)),
        BodyField::IncidentStart => {
            return chrono::DateTime::parse_from_rfc3339(value)
                .map(|t| long_time(t.to_utc(), lang))
                .unwrap_or_else(|_| value.to_string());
        }
        _ => None,
    };
    label.map_or_else(|| value.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_fields_are_named_and_shown_in_the_reader_s_words() {
        let notice = FieldsNotice {
            taken: vec![
                GivenField {
                    field: BodyField::Impact,
                    value: "severely_degraded".into(),
                },
                GivenField {
                    field: BodyField::IncidentStart,
                    value: "2026-12-03T10:43:00+00:00".into(),
                },
            ],
            unreadable: vec![GivenField {
                field: BodyField::Urgency,
                value: "asap".into(),
            }],
            ask_impact_urgency: true,
        };
        let fr = fields_data(Some(&notice), "fr");
        assert_eq!(fr["taken"][0]["name"], "Impact");
        assert_eq!(fr["taken"][0]["value"], "Très dégradé");
        assert_eq!(fr["taken"][1]["name"], "Début de l'incident");
        assert!(
            fr["taken"][1]["value"]
                .as_str()
                .unwrap()
                .contains("décembre")
        );
        assert_eq!(fr["unreadable"][0]["name"], "Urgence");
        assert_eq!(fr["ask_impact_urgency"], true);
        assert_eq!(fields_data(None, "en")["any"], false);
    }
}
