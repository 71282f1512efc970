//! Who hears of what: the people around a ticket, and the rule that turns an event caused
//! by someone into one notification per person to tell.

use std::collections::HashSet;

use super::{EmailAddress, Event, EventContext, Notification};

/// Who did what an event reports: they are not told of it.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// The requester, an observer or someone of their organisation.
    Customer(&'a EmailAddress),
    /// A configured agent.
    Agent(&'a EmailAddress),
    /// ticketgate itself (the scheduler's auto-close).
    System,
}

impl Actor<'_> {
    fn address(&self) -> Option<&EmailAddress> {
        match self {
            Actor::Customer(a) | Actor::Agent(a) => Some(a),
            Actor::System => None,
        }
    }
}

/// The people around a ticket, as far as notifications are concerned.
#[derive(Debug, Clone)]
pub struct Audience<'a> {
    /// The ticket's requester.
    pub requester: &'a EmailAddress,
    /// The ticket's observers.
    pub observers: &'a [EmailAddress],
    /// Where customer activity is reported: the assigned agent, or the agents' address.
    /// For [`Event::TicketAssigned`], the agent the ticket is being given to.
    pub agents: Option<&'a EmailAddress>,
}

impl Audience<'_> {
    /// The notifications for `event` caused by `actor`. Nobody is told of their own action
    /// (except the requester's acknowledgement of the ticket they opened), and nobody is
    /// told twice. Agents hear of what customers do; customers of what anyone does; an
    /// assignment concerns the assigned agent only.
    pub fn notifications(&self, event: Event, actor: Actor<'_>) -> Vec<Notification> {
        let mut recipients: Vec<&EmailAddress> = Vec::new();
        match event {
            Event::AttachmentRefused
            | Event::MailRefused
            | Event::CommandRefused
            | Event::MyTickets
            | Event::WeeklyDigest => {
                // An answer to the actor's own mail, and to nobody else.
                return actor
                    .address()
                    .map(|a| self.notification(event, a))
                    .into_iter()
                    .collect();
            }
            Event::TicketAssigned => recipients.extend(self.agents),
            _ => {
                let customer_acted = matches!(actor, Actor::Customer(_));
                if customer_acted && event != Event::TicketOpened {
                    recipients.extend(self.agents);
                }
                recipients.push(self.requester);
                recipients.extend(self.observers);
            }
        }

        let mut out: Vec<Notification> = Vec::new();
        // A set, not a scan of `out`: a ticket with many observers costs one look-up each.
        let mut told: HashSet<String> = HashSet::new();
        for r in recipients {
            let own_action = actor.address().is_some_and(|a| a.same_mailbox(r));
            let acknowledgement = event == Event::TicketOpened && r == self.requester;
            if (!own_action || acknowledgement) && told.insert(r.key()) {
                out.push(self.notification(event, r));
            }
        }
        out
    }

    fn notification(&self, event: Event, recipient: &EmailAddress) -> Notification {
        Notification {
            event,
            recipient: recipient.clone(),
            context: EventContext::default(),
        }
    }
}

/// Gives every notification of `list` the same `context`.
pub fn with_context(mut list: Vec<Notification>, context: &EventContext) -> Vec<Notification> {
    for n in &mut list {
        n.context = context.clone();
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn recipients(list: &[Notification]) -> Vec<&str> {
        list.iter().map(|n| n.recipient.as_str()).collect()
    }

    #[test]
    fn nobody_is_told_of_their_own_action_or_twice() {
        let requester = addr("alice@example.com");
        let observers = [addr("bob@example.com"), addr("ALICE@example.com")];
        let agents = addr("support@ours.test");
        let audience = Audience {
            requester: &requester,
            observers: &observers,
            agents: Some(&agents),
        };

        let opened = audience.notifications(Event::TicketOpened, Actor::Customer(&requester));
        assert_eq!(
            recipients(&opened),
            ["alice@example.com", "bob@example.com"],
            "acknowledgement goes to the requester"
        );

        let by_bob = audience.notifications(Event::CustomerComment, Actor::Customer(&observers[0]));
        assert_eq!(
            recipients(&by_bob),
            ["support@ours.test", "alice@example.com"]
        );
    }

    /// Every event against every kind of actor: the whole "who hears of what" table.
    #[test]
    fn who_hears_of_each_event() {
        let alice = addr("alice@example.com");
        let bob = addr("bob@example.com");
        let agents = addr("support@ours.test");
        let agent = addr("camille@ours.test");
        let observers = [bob.clone()];
        let audience = Audience {
            requester: &alice,
            observers: &observers,
            agents: Some(&agents),
        };
        let table: &[(Event, Actor<'_>, &[&str])] = &[
            (
                Event::CustomerComment,
                Actor::Customer(&alice),
                &["support@ours.test", "bob@example.com"],
            ),
            (
                Event::AgentComment,
                Actor::Agent(&agent),
                &["alice@example.com", "bob@example.com"],
            ),
            (
                Event::StatusChanged,
                Actor::Agent(&agent),
                &["alice@example.com", "bob@example.com"],
            ),
            (
                Event::SolutionProposed,
                Actor::Agent(&agent),
                &["alice@example.com", "bob@example.com"],
            ),
            (
                Event::TicketReopened,
                Actor::Agent(&agent),
                &["alice@example.com", "bob@example.com"],
            ),
            (
                Event::TicketReopened,
                Actor::Customer(&alice),
                &["support@ours.test", "bob@example.com"],
            ),
            (
                Event::TicketClosed,
                Actor::Customer(&alice),
                &["support@ours.test", "bob@example.com"],
            ),
            (
                Event::TicketClosed,
                Actor::Agent(&agent),
                &["alice@example.com", "bob@example.com"],
            ),
            (
                Event::TicketAutoClosed,
                Actor::System,
                &["alice@example.com", "bob@example.com"],
            ),
            (
                Event::AttachmentRefused,
                Actor::Customer(&bob),
                &["bob@example.com"],
            ),
            (
                Event::MailRefused,
                Actor::Customer(&alice),
                &["alice@example.com"],
            ),
            (Event::MailRefused, Actor::System, &[]),
            (
                Event::TicketAssigned,
                Actor::Agent(&agent),
                &["support@ours.test"],
            ),
            (Event::TicketAssigned, Actor::Agent(&agents), &[]),
        ];
        for (event, actor, expected) in table {
            let got = audience.notifications(*event, *actor);
            assert_eq!(recipients(&got), *expected, "{event} by {actor:?}");
        }
    }
}
