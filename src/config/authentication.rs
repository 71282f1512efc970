//! `[authentication]`: who really sent a mail. A From address is anyone's to write; what
//! the receiving mail system verified (its `Authentication-Results`), or a DKIM signature
//! ticketgate checks itself, says whether the From domain is genuine. The policies say what
//! rests on it: agents' commands, and customers' comments and answers.

use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use super::error::Errors;

/// What an agent's address may do without authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentPolicy {
    /// An agent's address is an agent only when authenticated; otherwise a customer.
    Require,
    /// No check: the From address decides (a forged agent address can act).
    Off,
}

/// What a customer's unauthenticated mail on an existing ticket does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerPolicy {
    /// It opens a ticket of its own instead, and the writer is told.
    Require,
    /// It is added, marked unverified, and cannot approve, refuse or reopen.
    Prefer,
    /// No check.
    Off,
}

impl FromStr for AgentPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "require" => Ok(AgentPolicy::Require),
            "off" => Ok(AgentPolicy::Off),
            other => Err(format!("`{other}`: use require or off")),
        }
    }
}

impl FromStr for CustomerPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "require" => Ok(CustomerPolicy::Require),
            "prefer" => Ok(CustomerPolicy::Prefer),
            "off" => Ok(CustomerPolicy::Off),
            other => Err(format!("`{other}`: use require, prefer or off")),
        }
    }
}

impl AgentPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentPolicy::Require => "require",
            AgentPolicy::Off => "off",
        }
    }
}

impl CustomerPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerPolicy::Require => "require",
            CustomerPolicy::Prefer => "prefer",
            CustomerPolicy::Off => "off",
        }
    }
}

/// The policies one intake applies (the global ones, or a mailbox's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthPolicy {
    pub agents: AgentPolicy,
    pub customers: CustomerPolicy,
}

/// The `[authentication]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawAuthentication {
    /// The authserv-ids of the mail servers whose `Authentication-Results` are believed.
    trusted_authserv_ids: Vec<String>,
    /// Whether `arc=pass` from a trusted server counts (mail forwarded by a list).
    trust_arc: bool,
    /// Whether ticketgate checks DKIM signatures itself when no trusted result is there.
    verify: bool,
    /// How long the DNS lookups of one check may take.
    dns_timeout_secs: u64,
    agents: String,
    customers: String,
}

impl Default for RawAuthentication {
    fn default() -> Self {
        Self {
            trusted_authserv_ids: Vec::new(),
            trust_arc: false,
            verify: true,
            dns_timeout_secs: 5,
            agents: "require".into(),
            customers: "prefer".into(),
        }
    }
}

/// How senders are authenticated, and what rests on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationSettings {
    /// Lower-cased authserv-ids whose `Authentication-Results` are believed.
    pub trusted_authserv_ids: Vec<String>,
    /// Whether `arc=pass` from a trusted server authenticates.
    pub trust_arc: bool,
    /// Whether ticketgate checks DKIM (and its alignment with From) itself.
    pub verify: bool,
    /// The bound on the DNS lookups of one check.
    pub dns_timeout: Duration,
    /// The default policies; a mailbox may set its own.
    pub policy: AuthPolicy,
}

impl AuthenticationSettings {
    /// Whether any mail can be authenticated at all: with neither a trusted server nor
    /// verification, an agent's mail commands can never be.
    pub fn can_authenticate(&self) -> bool {
        self.verify || !self.trusted_authserv_ids.is_empty()
    }
}

impl RawAuthentication {
    /// Validates `[authentication]`, recording each error with its key.
    pub(super) fn validate(self, errors: &mut Errors) -> AuthenticationSettings {
        let mut ids = Vec::with_capacity(self.trusted_authserv_ids.len());
        for (i, id) in self.trusted_authserv_ids.iter().enumerate() {
            let id = id.trim().to_ascii_lowercase();
            if id.is_empty() || id.contains(char::is_whitespace) || id.contains(';') {
                errors.push(
                    format!("authentication.trusted_authserv_ids[{i}]"),
                    "must be a mail server's authserv-id, such as mx.example.com",
                );
            } else {
                ids.push(id);
            }
        }
        if !(1..=60).contains(&self.dns_timeout_secs) {
            errors.push("authentication.dns_timeout_secs", "must be 1 to 60");
        }
        let agents = policy(&self.agents, "authentication.agents", errors);
        let customers = policy(&self.customers, "authentication.customers", errors);
        AuthenticationSettings {
            trusted_authserv_ids: ids,
            trust_arc: self.trust_arc,
            verify: self.verify,
            dns_timeout: Duration::from_secs(self.dns_timeout_secs.clamp(1, 60)),
            policy: AuthPolicy {
                agents: agents.unwrap_or(AgentPolicy::Require),
                customers: customers.unwrap_or(CustomerPolicy::Prefer),
            },
        }
    }
}

/// A policy key's value, or its error recorded.
pub(super) fn policy<T: FromStr<Err = String>>(
    value: &str,
    key: &str,
    errors: &mut Errors,
) -> Option<T> {
    match value.trim().parse() {
        Ok(p) => Some(p),
        Err(e) => {
            errors.push(key, e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::load;

    #[test]
    fn the_defaults_check_agents_and_prefer_authenticated_customers() {
        let s = load("", &[]).unwrap().authentication;
        assert!(s.verify && s.trusted_authserv_ids.is_empty() && s.can_authenticate());
        assert_eq!(s.policy.agents.as_str(), "require");
        assert_eq!(s.policy.customers.as_str(), "prefer");
    }

    #[test]
    fn each_error_names_its_key() {
        let err = load(
            "[authentication]\ntrusted_authserv_ids = [\"mx.example.com\", \"two words\"]\n\
             agents = \"maybe\"\ncustomers = \"always\"\ndns_timeout_secs = 0\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        for key in [
            "authentication.trusted_authserv_ids[1]",
            "authentication.agents",
            "authentication.customers",
            "authentication.dns_timeout_secs",
        ] {
            assert!(err.contains(key), "{key} in {err}");
        }
    }
}
