//! What a mail that lands on an existing ticket does to it, decided in one place: a
//! requester's answer to a proposed solution approves or refuses it, a customer's mail
//! reopens a recently closed ticket or puts a waiting one back in the agents' hands, and an
//! agent's first line can be a command. [`ReplyEffect::decide`] reads the mail;
//! [`ReplyEffect::plan`] says what is written and who is told.

pub mod answer;
pub mod commands;
pub mod customer;

use chrono::{DateTime, Utc};

use super::authorize::Authorization;
use crate::domain::{CommandRefusal, CommandRefusalReason, Event, Status, Ticket, Visibility};
use answer::SolutionAnswer;
use commands::{AgentCommand, CommandLine, agent_command};
use customer::{CustomerCommand, CustomerLine, customer_command};

/// What an allowed mail does to its ticket besides adding its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyEffect {
    /// A plain comment; a customer's moves a waiting ticket back to the agents.
    Comment,
    /// The requester approved the proposed solution: the ticket closes.
    Approve,
    /// A reply to a proposed solution that does not approve it: the ticket reopens.
    Refuse,
    /// A customer wrote to a ticket closed within the reopen window: it reopens.
    Reopen,
    /// An agent's command, with the text after the command line and the move it makes
    /// (none for `#internal`), checked against the status machine.
    Command(AgentCommand, String, Option<(Status, Event)>),
    /// An agent's mail that cannot act as written (unknown command, a move the status
    /// machine refuses, a closed ticket): kept as an internal note saying why.
    InternalNote(String),
    /// A customer's command that applies, with the text after its line.
    CustomerCommand(CustomerCommand, String),
    /// A customer's command that does not: the mail is kept as a note for the agents,
    /// and its sender is told why.
    CommandRefused(CommandRefusal),
}

/// What the decision reads besides the mail: the configured words and the reopen window.
#[derive(Debug, Clone, Copy)]
pub struct ReplyRules<'a> {
    pub approval_words: &'a [String],
    pub refusal_words: &'a [String],
    pub reopen_window: chrono::Duration,
    pub now: DateTime<Utc>,
    /// Whether the sender is authenticated (or no policy asked): an unauthenticated mail
    /// may comment but not approve, refuse or reopen.
    pub verified: bool,
}

/// What a reply writes: the move, the event told, whether customers see it, the text kept
/// when a command line is taken off, and a note for agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyPlan {
    pub new_status: Option<Status>,
    pub event: Option<Event>,
    pub visibility: Visibility,
    pub body: Option<String>,
    pub note: Option<String>,
}

impl ReplyEffect {
    /// What the mail `reply` (its new text) from a sender with `authorization` does to
    /// `ticket`; `None` when it cannot go there at all (a customer's mail to a ticket closed
    /// longer than the reopen window: it opens a follow-up).
    pub fn decide(
        ticket: &Ticket,
        authorization: &Authorization,
        reply: &str,
        rules: ReplyRules<'_>,
    ) -> Option<ReplyEffect> {
        if let Authorization::Agent(_) = authorization {
            return Some(agent_effect(ticket.status, reply));
        }
        match customer_command(reply) {
            CustomerLine::None => {}
            CustomerLine::NotUnderstood(text) => {
                return Some(ReplyEffect::CommandRefused(customer::refusal(
                    &text.line,
                    CommandRefusalReason::NotUnderstood,
                )));
            }
            CustomerLine::Command(command, text) => {
                return Some(
                    match customer::check(command, ticket, authorization, rules.verified) {
                        Ok(command) => ReplyEffect::CustomerCommand(command, text.rest),
                        Err(reason) => {
                            ReplyEffect::CommandRefused(customer::refusal(&text.line, reason))
                        }
                    },
                );
            }
        }
        match ticket.status {
            // Only an authenticated requester settles a solution; the rest is a comment.
            Status::Resolved if !rules.verified => Some(ReplyEffect::Comment),
            Status::Closed if !rules.verified => None,
            Status::Resolved => Some(
                match SolutionAnswer::read(reply, rules.approval_words, rules.refusal_words) {
                    SolutionAnswer::Approve if *authorization == Authorization::Requester => {
                        ReplyEffect::Approve
                    }
                    // Only the requester approves; others' thanks are comments.
                    SolutionAnswer::Approve => ReplyEffect::Comment,
                    SolutionAnswer::Refuse | SolutionAnswer::Other => ReplyEffect::Refuse,
                },
            ),
            Status::Closed => {
                let closed_at = ticket.closed_at.unwrap_or(ticket.updated_at);
                (rules.now - closed_at < rules.reopen_window).then_some(ReplyEffect::Reopen)
            }
            _ => Some(ReplyEffect::Comment),
        }
    }

    /// What `explain` says of it.
    pub fn describe(&self, ticket: &Ticket) -> String {
        match self {
            ReplyEffect::Comment => match ticket.status.after_customer_comment() {
                s if s != ticket.status => format!("comment; the ticket goes back to {s}"),
                _ => "comment".into(),
            },
            ReplyEffect::Approve => "the requester approves the solution: the ticket closes".into(),
            ReplyEffect::Refuse => {
                "the answer does not approve the solution: the ticket reopens with it".into()
            }
            ReplyEffect::Reopen => {
                "the ticket was closed within the reopen window: it reopens".into()
            }
            ReplyEffect::Command(c, ..) => format!("agent command {c}"),
            ReplyEffect::InternalNote(why) => format!("internal note: {why}"),
            ReplyEffect::CustomerCommand(c, _) => {
                format!("customer command: {}", customer::describe(c, ticket))
            }
            ReplyEffect::CommandRefused(r) => format!(
                "customer command {:?} refused ({:?}): kept as an internal note, its sender told why",
                r.line, r.reason
            ),
        }
    }

    /// What it writes on a ticket in `status`, written by an agent or a customer.
    pub fn plan(self, status: Status, is_agent: bool) -> ReplyPlan {
        let plain = |new_status: Option<Status>, event: Event, note: Option<&str>| ReplyPlan {
            new_status,
            event: Some(event),
            visibility: Visibility::Public,
            body: None,
            note: note.map(String::from),
        };
        match self {
            ReplyEffect::Comment if is_agent => plain(None, Event::AgentComment, None),
            ReplyEffect::Comment => {
                let after = status.after_customer_comment();
                plain(
                    (after != status).then_some(after),
                    Event::CustomerComment,
                    None,
                )
            }
            ReplyEffect::Approve => plain(
                Some(Status::Closed),
                Event::TicketClosed,
                Some("The requester approved the solution."),
            ),
            ReplyEffect::Refuse => plain(
                Some(Status::InProgress),
                Event::TicketReopened,
                Some("The requester did not approve the solution: reopened."),
            ),
            ReplyEffect::Reopen => plain(
                Some(Status::InProgress),
                Event::TicketReopened,
                Some("Reopened by the customer's mail within the reopen window."),
            ),
            // A command that moves the ticket tells people; `#internal` moves nothing and
            // stays among agents.
            ReplyEffect::Command(command, rest, moved) => ReplyPlan {
                new_status: moved.map(|(to, _)| to),
                event: moved.map(|(_, event)| event),
                visibility: if moved.is_some() {
                    Visibility::Public
                } else {
                    Visibility::Internal
                },
                body: Some(rest),
                note: Some(format!("Agent command {command}.")),
            },
            ReplyEffect::InternalNote(why) => ReplyPlan {
                new_status: None,
                event: None,
                visibility: Visibility::Internal,
                body: None,
                note: Some(why),
            },
            ReplyEffect::CustomerCommand(CustomerCommand::Close, rest) => ReplyPlan {
                new_status: Some(Status::Closed),
                event: Some(Event::TicketClosed),
                visibility: Visibility::Public,
                body: Some(rest),
                note: Some("Closed by its requester (#close).".into()),
            },
            // Fields, sharing and language tell nobody, as when an agent sets them; text
            // under the command is a comment as any other.
            ReplyEffect::CustomerCommand(_, rest) if rest.is_empty() => ReplyPlan {
                new_status: None,
                event: None,
                visibility: Visibility::Internal,
                body: Some(rest),
                note: None,
            },
            ReplyEffect::CustomerCommand(_, rest) => {
                let after = status.after_customer_comment();
                ReplyPlan {
                    new_status: (after != status).then_some(after),
                    event: Some(Event::CustomerComment),
                    visibility: Visibility::Public,
                    body: Some(rest),
                    note: None,
                }
            }
            ReplyEffect::CommandRefused(refusal) => ReplyPlan {
                new_status: None,
                event: None,
                visibility: Visibility::Internal,
                body: None,
                note: Some(format!(
                    "Customer command {:?} not carried out ({}): nothing changed, and its sender was told why.",
                    refusal.line,
                    refusal_words(refusal.reason)
                )),
            },
        }
    }
}

/// Why a customer's command was refused, as the agents' note says it.
fn refusal_words(reason: CommandRefusalReason) -> &'static str {
    match reason {
        CommandRefusalReason::NotUnderstood => "not understood",
        CommandRefusalReason::OnlyRequester => "only the requester may",
        CommandRefusalReason::OnlyRequesterOrOrganisation => {
            "only the requester or their organisation may"
        }
        CommandRefusalReason::Unverified => "the sender could not be authenticated",
        CommandRefusalReason::NothingToChange => "it would change nothing",
    }
}

/// What an agent's mail does to a ticket in `status`: its first line may be a command; a
/// typo or a move the status machine refuses is kept as an internal note, so that half an
/// instruction never reaches a customer.
fn agent_effect(status: Status, reply: &str) -> ReplyEffect {
    match agent_command(reply) {
        CommandLine::Known(AgentCommand::Resolve, rest) if rest.is_empty() => {
            ReplyEffect::InternalNote(
                "#resolve needs the solution on the lines below it; nothing was sent or changed."
                    .into(),
            )
        }
        CommandLine::Known(command, rest) => match command.apply(status) {
            Ok(moved) => ReplyEffect::Command(command, rest, moved),
            Err(e) => ReplyEffect::InternalNote(format!("{command} was not applied: {e}.")),
        },
        CommandLine::Unknown(word) => ReplyEffect::InternalNote(format!(
            "{word} is not a command ({}); nothing was sent or changed.",
            AgentCommand::ALL
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        CommandLine::None if status == Status::Closed => ReplyEffect::InternalNote(
            "The ticket is closed: kept as an internal note and nothing was sent; write #reopen on the first line to reopen it and tell the customer.".into(),
        ),
        CommandLine::None => ReplyEffect::Comment,
    }
}
