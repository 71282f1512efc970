//! Who may add to a ticket: its requester, its observers, agents, and people of the
//! requester's organisation (same mail domain, unless that domain is a public provider or
//! the ticket is private). Anyone else quoting a ticket number gets a ticket of their own.

use std::collections::BTreeSet;
use std::fmt;

use crate::config::Agent;
use crate::domain::EmailAddress;
use crate::domain::Ticket;

/// Why a sender may, or may not, write on a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    Requester,
    Observer,
    Agent(String),
    Organisation(String),
    Denied,
}

impl Authorization {
    /// Whether the sender may add to the ticket.
    pub fn allowed(&self) -> bool {
        *self != Authorization::Denied
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authorization::Requester => f.write_str("allowed: the ticket's requester"),
            Authorization::Observer => f.write_str("allowed: an observer of the ticket"),
            Authorization::Agent(name) => write!(f, "allowed: agent {name}"),
            Authorization::Organisation(d) => write!(f, "allowed: same organisation as the requester ({d})"),
            Authorization::Denied => f.write_str(
                "denied: not the requester, an observer, an agent, nor of the requester's organisation",
            ),
        }
    }
}

/// The organisation a requester belongs to: their mail domain, unless it is a public one.
pub fn organisation_of(
    address: &EmailAddress,
    public_domains: &BTreeSet<String>,
) -> Option<String> {
    let domain = address.domain();
    (!public_domains.contains(domain)).then(|| domain.to_string())
}

/// Decides whether `sender` may add to `ticket` by their address alone; `team` is the
/// agents' shared address (`[mail] agents_address`). Whether the address is genuine is
/// the caller's question (see the pipeline's sender authentication).
pub fn authorize(
    sender: &EmailAddress,
    ticket: &Ticket,
    agents: &[Agent],
    team: Option<&EmailAddress>,
    public_domains: &BTreeSet<String>,
) -> Authorization {
    if sender.same_mailbox(&ticket.requester) {
        return Authorization::Requester;
    }
    if ticket.observers.iter().any(|o| o.same_mailbox(sender)) {
        return Authorization::Observer;
    }
    if let Some(agent) = agents.iter().find(|a| a.email.same_mailbox(sender)) {
        return Authorization::Agent(agent.name.clone());
    }
    if team.is_some_and(|t| t.same_mailbox(sender)) {
        return Authorization::Agent("the agents' address".into());
    }
    if !ticket.private
        && let (Some(org), Some(sender_org)) = (
            &ticket.organisation,
            organisation_of(sender, public_domains),
        )
        && *org == sender_org
    {
        return Authorization::Organisation(sender_org);
    }
    Authorization::Denied
}
