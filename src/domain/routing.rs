//! Routing rules: regular expressions on sender, recipients, subject and body that set a
//! new ticket's type, category, urgency and impact. The first rule that matches wins.

use regex::Regex;
use serde::Deserialize;

use super::{EmailAddress, Impact, InboundMail, TicketType, Urgency};

/// A rule as written in the configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRuleSpec {
    /// A name for logs and `explain`; defaults to `routing[N]`.
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

impl RoutingRule {
    /// Compiles the `index`-th rule, naming every bad field as `routing[index].field`.
    pub fn compile(index: usize, spec: &RoutingRuleSpec) -> Result<RoutingRule, Vec<String>> {
        let mut errors = Vec::new();
        let key = |field: &str| format!("routing[{index}].{field}");
        let mut regex = |field: &str, src: &Option<String>| {
            src.as_deref().and_then(|s| {
                Regex::new(s)
                    .map_err(|e| {
                        errors.push(format!("{}: invalid regular expression: {e}", key(field)))
                    })
                    .ok()
            })
        };
        let (from, to, subject, body) = (
            regex("from", &spec.from),
            regex("to", &spec.to),
            regex("subject", &spec.subject),
            regex("body", &spec.body),
        );
        let mut value =
            |field: &str, src: &Option<String>, parse: &dyn Fn(&str) -> Result<(), String>| {
                if let Some(s) = src
                    && let Err(e) = parse(s)
                {
                    errors.push(format!("{}: {e}", key(field)));
                }
            };
        value("type", &spec.ticket_type, &|s| {
            s.parse::<TicketType>().map(drop).map_err(|e| e.to_string())
        });
        value("urgency", &spec.urgency, &|s| {
            s.parse::<Urgency>().map(drop).map_err(|e| e.to_string())
        });
        value("impact", &spec.impact, &|s| {
            s.parse::<Impact>().map(drop).map_err(|e| e.to_string())
        });
        if [&spec.from, &spec.to, &spec.subject, &spec.body]
            .iter()
            .all(|m| m.is_none())
        {
            errors.push(format!(
                "{}: a rule needs at least one of from, to, subject, body",
                key("*")
            ));
        }
        if [
            &spec.ticket_type,
            &spec.category,
            &spec.urgency,
            &spec.impact,
        ]
        .iter()
        .all(|m| m.is_none())
        {
            errors.push(format!(
                "{}: a rule must set at least one of type, category, urgency, impact",
                key("*")
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RoutingRule {
            name: spec
                .name
                .clone()
                .unwrap_or_else(|| format!("routing[{index}]")),
            from,
            to,
            subject,
            body,
            effect: RoutingEffect {
                ticket_type: spec.ticket_type.as_deref().and_then(|s| s.parse().ok()),
                category: spec.category.clone(),
                urgency: spec.urgency.as_deref().and_then(|s| s.parse().ok()),
                impact: spec.impact.as_deref().and_then(|s| s.parse().ok()),
            },
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
