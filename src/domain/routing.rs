//! Routing rules: regular expressions on sender, recipients, subject and body that set a
//! new ticket's type, category, urgency and impact. The first rule that matches wins.

use regex::Regex;
use serde::Deserialize;

use std::str::FromStr;

use super::{EmailAddress, Impact, InboundMail, TicketType, UnknownValue, Urgency};

/// A rule as written in the configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRuleSpec {
    /// A name for logs and `explain`; the configuration names a rule without one after its
    /// place, `routing[N]`.
    pub name: Option<String>,
    /// Regex on the sender's address.
    pub from: Option<String>,
    /// Regex on each To and Cc address (one must match).
    pub to: Option<String>,
    /// Regex on the subject.
    pub subject: Option<String>,
    /// Regex on the text body.
    pub body: Option<String>,
    /// Ticket type to set.
    #[serde(rename = "type")]
    pub ticket_type: Option<String>,
    /// Category to set (free text).
    pub category: Option<String>,
    /// Urgency to set.
    pub urgency: Option<String>,
    /// Impact to set.
    pub impact: Option<String>,
}

/// A compiled rule. Every matcher present must match.
#[derive(Debug, Clone)]
pub struct RoutingRule {
    /// The rule's name.
    pub name: String,
    from: Option<Regex>,
    to: Option<Regex>,
    subject: Option<Regex>,
    body: Option<Regex>,
    /// What the rule sets.
    pub effect: RoutingEffect,
}

/// The fields a rule sets on a new ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingEffect {
    pub ticket_type: Option<TicketType>,
    pub category: Option<String>,
    pub urgency: Option<Urgency>,
    pub impact: Option<Impact>,
}

/// Why a written rule cannot be used, with the field of the rule that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum RoutingRuleError {
    #[error("invalid regular expression: {source}")]
    Regex {
        field: &'static str,
        source: regex::Error,
    },
    #[error("{source}")]
    Value {
        field: &'static str,
        source: UnknownValue,
    },
    /// A rule without a matcher would catch every mail.
    #[error("a rule needs at least one of from, to, subject, body")]
    MatchesEverything,
    /// A rule that sets nothing would only hide the rules after it.
    #[error("a rule must set at least one of type, category, urgency, impact")]
    SetsNothing,
}

impl RoutingRuleError {
    /// The field of the rule that is wrong (`subject`, `type`…), or `*` for the rule as a
    /// whole.
    pub fn field(&self) -> &'static str {
        match self {
            RoutingRuleError::Regex { field, .. } | RoutingRuleError::Value { field, .. } => field,
            RoutingRuleError::MatchesEverything | RoutingRuleError::SetsNothing => "*",
        }
    }
}

impl RoutingRule {
    /// Compiles a written rule under `name`, or gives every problem found in it.
    pub fn compile(
        name: String,
        spec: &RoutingRuleSpec,
    ) -> Result<RoutingRule, Vec<RoutingRuleError>> {
        let mut errors = Vec::new();
        let mut regex = |field: &'static str, src: &Option<String>| {
            let src = src.as_deref()?;
            Regex::new(src)
                .map_err(|source| errors.push(RoutingRuleError::Regex { field, source }))
                .ok()
        };
        let (from, to, subject, body) = (
            regex("from", &spec.from),
            regex("to", &spec.to),
            regex("subject", &spec.subject),
            regex("body", &spec.body),
        );
        let effect = RoutingEffect {
            ticket_type: value("type", &spec.ticket_type, &mut errors),
            category: spec.category.clone(),
            urgency: value("urgency", &spec.urgency, &mut errors),
            impact: value("impact", &spec.impact, &mut errors),
        };
        if [&spec.from, &spec.to, &spec.subject, &spec.body]
            .iter()
            .all(|m| m.is_none())
        {
            errors.push(RoutingRuleError::MatchesEverything);
        }
        let sets = [
            &spec.ticket_type,
            &spec.category,
            &spec.urgency,
            &spec.impact,
        ];
        if sets.iter().all(|m| m.is_none()) {
            errors.push(RoutingRuleError::SetsNothing);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RoutingRule {
            name,
            from,
            to,
            subject,
            body,
            effect,
        })
    }

    /// Whether every matcher of the rule matches the mail from `sender`.
    pub fn matches(&self, mail: &InboundMail<'_>, sender: &EmailAddress) -> bool {
        let ok = |re: &Option<Regex>, text: &str| re.as_ref().is_none_or(|r| r.is_match(text));
        ok(&self.from, sender.as_str())
            && self
                .to
                .as_ref()
                .is_none_or(|r| mail.recipients().any(|m| r.is_match(m.address.as_str())))
            && ok(&self.subject, &mail.subject)
            && ok(&self.body, &mail.text)
    }
}

/// The value of an enumeration the rule sets, when written; an unknown one is recorded.
fn value<T: FromStr<Err = UnknownValue>>(
    field: &'static str,
    src: &Option<String>,
    errors: &mut Vec<RoutingRuleError>,
) -> Option<T> {
    src.as_deref()?
        .parse()
        .map_err(|source| errors.push(RoutingRuleError::Value { field, source }))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_of_a_rule_names_its_field() {
        let spec = RoutingRuleSpec {
            subject: Some("(".into()),
            urgency: Some("whenever".into()),
            ..RoutingRuleSpec::default()
        };
        let errors = RoutingRule::compile("r".into(), &spec).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(RoutingRuleError::field).collect();
        assert_eq!(fields, ["subject", "urgency"]);
        assert!(
            errors[0]
                .to_string()
                .starts_with("invalid regular expression")
        );

        let errors = RoutingRule::compile("r".into(), &RoutingRuleSpec::default()).unwrap_err();
        let messages: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {e}", e.field()))
            .collect();
        assert_eq!(
            messages,
            [
                "*: a rule needs at least one of from, to, subject, body",
                "*: a rule must set at least one of type, category, urgency, impact",
            ]
        );
    }

    #[test]
    fn a_valid_rule_keeps_its_name_and_effect() {
        let spec = RoutingRuleSpec {
            to: Some("^billing@".into()),
            ticket_type: Some("request".into()),
            category: Some("administrative".into()),
            ..RoutingRuleSpec::default()
        };
        let rule = RoutingRule::compile("billing".into(), &spec).unwrap();
        assert_eq!(rule.name, "billing");
        assert_eq!(rule.effect.ticket_type, Some(TicketType::Request));
        assert_eq!(rule.effect.category.as_deref(), Some("administrative"));
    }
}
