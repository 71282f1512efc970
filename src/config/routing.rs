//! `[[routing]]`: the rules that set a new ticket's type, category, urgency and impact
//! from its mail, first match wins. The rules themselves are the domain's
//! ([`RoutingRule`]); this section names their problems by key.

use super::error::Errors;
use crate::domain::{RoutingRule, RoutingRuleSpec};

/// Compiles every `[[routing]]`, in order, recording each problem as
/// `routing[N].field` (`routing[N].*` for the rule as a whole). A rule without a name is
/// named after its place, `routing[N]`.
pub(super) fn validate_all(raw: Vec<RoutingRuleSpec>, errors: &mut Errors) -> Vec<RoutingRule> {
    let mut rules = Vec::new();
    for (i, spec) in raw.into_iter().enumerate() {
        let name = spec.name.clone().unwrap_or_else(|| format!("routing[{i}]"));
        match RoutingRule::compile(name, &spec) {
            Ok(rule) => rules.push(rule),
            Err(problems) => {
                for e in problems {
                    errors.push(format_args!("routing[{i}].{}", e.field()), e);
                }
            }
        }
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_names_the_rule_and_its_field() {
        let spec = |subject: &str| RoutingRuleSpec {
            subject: Some(subject.into()),
            urgency: Some("high".into()),
            ..RoutingRuleSpec::default()
        };
        let mut errors = Errors::default();
        let rules = validate_all(
            vec![spec("down"), spec("("), RoutingRuleSpec::default()],
            &mut errors,
        );
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].name, "routing[0]");
        let errors = errors.into_messages();
        assert!(
            errors[0].starts_with("routing[1].subject: invalid regular expression"),
            "{errors:?}"
        );
        assert_eq!(
            errors[1..],
            [
                "routing[2].*: a rule needs at least one of from, to, subject, body",
                "routing[2].*: a rule must set at least one of type, category, urgency, impact",
            ]
        );
    }
}
