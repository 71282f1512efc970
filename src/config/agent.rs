//! `[[agent]]`: the support agents ticketgate knows. Their mail to a ticket is an agent
//! comment, and they may write on any ticket.

use serde::Deserialize;

use super::error::Errors;
use crate::domain::EmailAddress;

/// One `[[agent]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgent {
    /// Shown as the author of their articles.
    name: String,
    /// The address their mail comes from.
    email: String,
}

/// A support agent known to ticketgate: may write on any ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Shown as the author of their articles.
    pub name: String,
    /// Their mail address, by which their mail is recognised.
    pub email: EmailAddress,
}

/// Validates every `[[agent]]`, recording each bad address with its key (`agent[2].email`).
pub(super) fn validate_all(raw: Vec<RawAgent>, errors: &mut Errors) -> Vec<Agent> {
    raw.into_iter()
        .enumerate()
        .filter_map(|(i, agent)| {
            let email = errors.check(
                format_args!("agent[{i}].email"),
                EmailAddress::parse(&agent.email),
            )?;
            Some(Agent {
                name: agent.name,
                email,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_address_names_the_agent() {
        let raw = |email: &str| RawAgent {
            name: "Camille".into(),
            email: email.into(),
        };
        let mut errors = Errors::default();
        let agents = validate_all(
            vec![raw("camille@example.com"), raw("camille")],
            &mut errors,
        );
        assert_eq!(agents.len(), 1);
        let errors = errors.into_messages();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("agent[1].email: "), "{errors:?}");
    }
}
