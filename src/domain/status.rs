//! Where a ticket stands, and the one status machine every writer (mail, CLI, scheduler,
//! portal) moves tickets through.

use super::Event;
use super::fields::text_enum;

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
    pub fn move_to(self, to: Status) -> Result<Event, InvalidMove> {
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
    pub fn reopen(self) -> Result<Event, InvalidMove> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_leniently_and_print_canonically() {
        assert_eq!("in-progress".parse::<Status>().unwrap(), Status::InProgress);
        assert_eq!(Status::WaitingCustomer.to_string(), "waiting_customer");
    }

    #[test]
    fn the_status_machine_names_each_move() {
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
