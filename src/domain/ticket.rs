//! The vocabulary of a ticket, taken from the support portals our customers know:
//! type, impact, urgency, the priority derived from them, and the status.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value that is not one of an enumeration's names.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{value}` is not a valid {what}; expected one of: {expected}")]
pub struct UnknownValue {
    what: &'static str,
    value: String,
    expected: &'static str,
}

/// Declares a closed set of names stored as text, with parsing and display.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored in the database and shown to people.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        what: $what,
                        value: s.to_string(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

text_enum!(
    /// What the customer is asking for, as the portals offer it.
    TicketType, "ticket type" {
        Incident = "incident",
        Request = "request",
        Question = "question",
        Feature = "feature",
    }
);

text_enum!(
    /// How badly the service is affected, from "Non perturbé" to "Interrompu".
    Impact, "impact" {
        NotDisturbed = "not_disturbed",
        Degraded = "degraded",
        SeverelyDegraded = "severely_degraded",
        Interrupted = "interrupted",
    }
);

text_enum!(
    /// How soon the customer needs an answer (the portals offer high and medium).
    Urgency, "urgency" {
        High = "high",
        Medium = "medium",
    }
);

text_enum!(
    /// Processing priority, P1 first; never set by hand, always derived from impact × urgency.
    Priority, "priority" {
        P1 = "p1",
        P2 = "p2",
        P3 = "p3",
        P4 = "p4",
    }
);

text_enum!(
    /// Where a ticket stands. A resolved ticket waits for the requester to approve the
    /// solution; closed is final until reopened.
    Status, "status" {
        New = "new",
        InProgress = "in_progress",
        WaitingCustomer = "waiting_customer",
        Resolved = "resolved",
        Closed = "closed",
    }
);

impl Priority {
    /// The priority matrix: an interrupted service with high urgency is P1, a service that
    /// is not disturbed is always P4 (as in the portal listing "Non perturbé … P4").
    pub fn derive(impact: Impact, urgency: Urgency) -> Priority {
        use Impact::*;
        match (impact, urgency) {
            (Interrupted, Urgency::High) => Priority::P1,
            (Interrupted, Urgency::Medium) | (SeverelyDegraded, Urgency::High) => Priority::P2,
            (SeverelyDegraded, Urgency::Medium) | (Degraded, Urgency::High) => Priority::P3,
            (Degraded, Urgency::Medium) | (NotDisturbed, _) => Priority::P4,
        }
    }

    /// The label shown to people, `P1`…`P4`.
    pub fn label(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }
}

/// A status change the status machine does not allow, with what to do instead.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("ticket status cannot go from {from} to {to}: {hint}")]
pub struct InvalidMove {
    pub from: Status,
    pub to: Status,
    pub hint: &'static str,
}

impl Status {
    /// Whether the ticket still accepts comments as it is (closed ones need a reopen first).
    pub fn is_open(self) -> bool {
        self != Status::Closed
    }

    /// The one place that says which moves are allowed, and the event each is told as:
    /// new → in_progress → waiting_customer → resolved → closed, with reopen from resolved
    /// or closed back to in_progress. Resolving is proposing a solution.
    pub fn move_to(self, to: Status) -> Result<crate::domain::Event, InvalidMove> {
        use crate::domain::Event;
        use Status::*;
        let refuse = |hint| {
            Err(InvalidMove {
                from: self,
                to,
                hint,
            })
        };
        match (self, to) {
            (from, to) if from == to => refuse("it already is"),
            (_, New) => refuse("no ticket goes back to new"),
            (Closed, InProgress) | (Resolved, InProgress) => Ok(Event::TicketReopened),
            (Closed, _) => refuse("reopen it first"),
            (Resolved, WaitingCustomer) => refuse("reopen it first"),
            (_, Resolved) => Ok(Event::SolutionProposed),
            (_, Closed) => Ok(Event::TicketClosed),
            (New | InProgress | WaitingCustomer, InProgress | WaitingCustomer) => {
                Ok(Event::StatusChanged)
            }
        }
    }

    /// Taking a resolved or closed ticket up again (back to in_progress). Unlike a plain
    /// move to in_progress, it refuses tickets that are still being worked on.
    pub fn reopen(self) -> Result<crate::domain::Event, InvalidMove> {
        if !matches!(self, Status::Resolved | Status::Closed) {
            return Err(InvalidMove {
                from: self,
                to: Status::InProgress,
                hint: "only resolved or closed tickets are reopened; change its status instead",
            });
        }
        self.move_to(Status::InProgress)
    }

    /// The status a ticket takes when its customer writes to it: a customer who answers a
    /// question puts the ticket back in the agents' hands.
    pub fn after_customer_comment(self) -> Status {
        match self {
            Status::WaitingCustomer => Status::InProgress,
            other => other,
        }
    }
}

text_enum!(
    /// Who wrote an article and which way it travelled.
    Direction, "direction" {
        /// From a customer, by mail.
        Inbound = "inbound",
        /// From an agent, meant for the customer.
        Outbound = "outbound",
        /// Written by ticketgate itself (bounces, refusals, system notes).
        System = "system",
    }
);

text_enum!(
    /// Whether customers may see an article.
    Visibility, "visibility" {
        Public = "public",
        Internal = "internal",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_matrix_covers_the_seed_example() {
        assert_eq!(
            Priority::derive(Impact::NotDisturbed, Urgency::High),
            Priority::P4
        );
        assert_eq!(
            Priority::derive(Impact::Interrupted, Urgency::High),
            Priority::P1
        );
        assert_eq!(
            Priority::derive(Impact::Degraded, Urgency::High),
            Priority::P3
        );
        assert_eq!(
            Priority::derive(Impact::SeverelyDegraded, Urgency::High),
            Priority::P2
        );
    }

    #[test]
    fn names_parse_leniently_and_print_canonically() {
        assert_eq!(
            "Severely degraded".parse::<Impact>().unwrap(),
            Impact::SeverelyDegraded
        );
        assert_eq!("in-progress".parse::<Status>().unwrap(), Status::InProgress);
        assert_eq!(Status::WaitingCustomer.to_string(), "waiting_customer");
        let err = "urgent".parse::<Urgency>().unwrap_err().to_string();
        assert!(err.contains("high medium"), "{err}");
    }

    #[test]
    fn the_status_machine_names_each_move() {
        use crate::domain::Event;
        use Status::*;
        assert_eq!(New.move_to(InProgress), Ok(Event::StatusChanged));
        assert_eq!(
            InProgress.move_to(WaitingCustomer),
            Ok(Event::StatusChanged)
        );
        assert_eq!(
            WaitingCustomer.move_to(Resolved),
            Ok(Event::SolutionProposed)
        );
        assert_eq!(Resolved.move_to(Closed), Ok(Event::TicketClosed));
        assert_eq!(Resolved.move_to(InProgress), Ok(Event::TicketReopened));
        assert_eq!(Closed.move_to(InProgress), Ok(Event::TicketReopened));
        assert_eq!(New.move_to(Closed), Ok(Event::TicketClosed));
        for (from, to) in [
            (Closed, Resolved),
            (Closed, WaitingCustomer),
            (InProgress, New),
            (Resolved, Resolved),
            (Resolved, WaitingCustomer),
        ] {
            let err = from.move_to(to).unwrap_err();
            assert!(err.to_string().contains(from.as_str()), "{err}");
        }
    }

    #[test]
    fn customer_answer_moves_waiting_ticket_back_to_agents() {
        assert_eq!(
            Status::WaitingCustomer.after_customer_comment(),
            Status::InProgress
        );
        assert_eq!(Status::Resolved.after_customer_comment(), Status::Resolved);
    }
}
