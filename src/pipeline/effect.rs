//! What a mail that lands on an existing ticket does to it, besides adding its text: a
//! requester's answer to a proposed solution approves or refuses it, a customer's mail
//! reopens a recently closed ticket, and an agent's first line can be a command.

use std::fmt;

use crate::domain::{Event, InvalidMove, Status};

/// An agent's command, written alone on the first line of their mail (`#resolve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentCommand {
    /// The text is an internal note: no customer sees it, nobody is notified.
    Internal,
    /// The text is the solution: the ticket is resolved and waits for approval.
    Resolve,
    /// The text (if any) is sent, and the ticket is closed.
    Close,
    /// The ticket is taken up again (from resolved or closed).
    Reopen,
    /// The text asks the customer something: the ticket waits for them.
    Waiting,
    /// The ticket is back in the agents' hands.
    InProgress,
}

impl AgentCommand {
    /// Every command, as documented in the README.
    pub const ALL: &'static [AgentCommand] = &[
        AgentCommand::Internal,
        AgentCommand::Resolve,
        AgentCommand::Close,
        AgentCommand::Reopen,
        AgentCommand::Waiting,
        AgentCommand::InProgress,
    ];

    /// The word after `#`.
    pub fn word(self) -> &'static str {
        match self {
            AgentCommand::Internal => "internal",
            AgentCommand::Resolve => "resolve",
            AgentCommand::Close => "close",
            AgentCommand::Reopen => "reopen",
            AgentCommand::Waiting => "waiting",
            AgentCommand::InProgress => "in_progress",
        }
    }

    /// The status the command moves the ticket to, if it moves it.
    pub fn target(self) -> Option<Status> {
        match self {
            AgentCommand::Internal => None,
            AgentCommand::Resolve => Some(Status::Resolved),
            AgentCommand::Close => Some(Status::Closed),
            AgentCommand::Reopen | AgentCommand::InProgress => Some(Status::InProgress),
            AgentCommand::Waiting => Some(Status::WaitingCustomer),
        }
    }

    /// The move and its event on a ticket in `from`, as the status machine allows it.
    pub fn apply(self, from: Status) -> Result<Option<(Status, Event)>, InvalidMove> {
        let Some(to) = self.target() else {
            return Ok(None);
        };
        let event = match self {
            AgentCommand::Reopen => from.reopen()?,
            _ => from.move_to(to)?,
        };
        Ok(Some((to, event)))
    }
}

impl fmt::Display for AgentCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.word())
    }
}

/// The first line of an agent's mail, read as a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// No command: the whole text is a comment.
    None,
    /// A known command, and the text after its line.
    Known(AgentCommand, String),
    /// `#something` we do not know: the mail is kept as an internal note, so that a typo
    /// never sends half an instruction to a customer.
    Unknown(String),
}

/// Reads the command on the first non-blank line of `text`, if there is one.
pub fn agent_command(text: &str) -> CommandLine {
    let mut lines = text.lines();
    let first = loop {
        match lines.next() {
            Some(l) if l.trim().is_empty() => continue,
            Some(l) => break l.trim(),
            None => return CommandLine::None,
        }
    };
    let Some(word) = first.strip_prefix('#') else {
        return CommandLine::None;
    };
    // A ticket number or a hashtag in running text is not a command: a command is one word
    // alone on its line.
    if word.is_empty() || word.contains(char::is_whitespace) {
        return CommandLine::None;
    }
    let normalized = word.to_ascii_lowercase().replace('-', "_");
    let rest = lines.collect::<Vec<_>>().join("\n").trim().to_string();
    match AgentCommand::ALL.iter().find(|c| {
        c.word() == normalized || (normalized == "progress" && **c == AgentCommand::InProgress)
    }) {
        Some(c) => CommandLine::Known(*c, rest),
        None if word
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-') =>
        {
            CommandLine::Unknown(first.to_string())
        }
        None => CommandLine::None,
    }
}

/// What a reply to a proposed solution says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolutionAnswer {
    /// Its first meaningful line starts with an approval word.
    Approve,
    /// It starts with a refusal word.
    Refuse,
    /// Anything else: the solution did not settle it either.
    Other,
}

impl SolutionAnswer {
    /// Reads the first meaningful line of `text` (not blank, not quoted, not a bare
    /// greeting such as "Hello," or "Bonjour Marie,") against the configured words.
    pub fn read(text: &str, approval: &[String], refusal: &[String]) -> SolutionAnswer {
        let Some(line) = first_meaningful_line(text) else {
            return SolutionAnswer::Other;
        };
        let line = line.to_lowercase();
        let starts_with = |w: &String| {
            line.strip_prefix(w.as_str())
                .is_some_and(|rest| !rest.starts_with(char::is_alphanumeric))
        };
        if approval.iter().any(starts_with) {
            SolutionAnswer::Approve
        } else if refusal.iter().any(starts_with) {
            SolutionAnswer::Refuse
        } else {
            SolutionAnswer::Other
        }
    }
}

const GREETINGS: &[&str] = &[
    "hello",
    "hi",
    "hey",
    "dear",
    "good morning",
    "good afternoon",
    "bonjour",
    "bonsoir",
    "salut",
    "madame",
    "monsieur",
    "cher",
    "chère",
];

/// The first line that says something: quotes, blank lines and a lone greeting skipped.
pub fn first_meaningful_line(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('>'))
        .find(|l| !is_greeting(l))
        .map(|l| l.trim_start_matches(|c: char| !c.is_alphanumeric()))
        .filter(|l| !l.is_empty())
}

fn is_greeting(line: &str) -> bool {
    let lower = line.to_lowercase();
    let words = lower.split_whitespace().count();
    words <= 4
        && (lower.ends_with(',') || lower.ends_with('!') || words == 1)
        && GREETINGS.iter().any(|g| {
            lower
                .strip_prefix(g)
                .is_some_and(|rest| !rest.starts_with(char::is_alphanumeric))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    fn answer(text: &str) -> SolutionAnswer {
        SolutionAnswer::read(
            text,
            &words(&["approve", "approved", "accept", "ok", "approuvé", "valider"]),
            &words(&["refuse", "no", "non"]),
        )
    }

    #[test]
    fn the_first_meaningful_line_decides() {
        assert_eq!(answer("Approve"), SolutionAnswer::Approve);
        assert_eq!(
            answer("\n\nOK, thanks a lot!\n> old text"),
            SolutionAnswer::Approve
        );
        assert_eq!(answer("Hello,\n\napproved.\nBob"), SolutionAnswer::Approve);
        assert_eq!(
            answer("Bonjour Marie,\nApprouvé, merci"),
            SolutionAnswer::Approve
        );
        assert_eq!(answer("No, it still crashes"), SolutionAnswer::Refuse);
        assert_eq!(answer("Non."), SolutionAnswer::Refuse);
        assert_eq!(answer("It still crashes.\nok?"), SolutionAnswer::Other);
        assert_eq!(answer("okay I guess"), SolutionAnswer::Other);
        assert_eq!(answer("> approve\nnot fixed"), SolutionAnswer::Other);
        assert_eq!(answer(""), SolutionAnswer::Other);
    }

    #[test]
    fn commands_are_one_word_alone_on_the_first_line() {
        assert_eq!(
            agent_command("\n#resolve\nRestart the service."),
            CommandLine::Known(AgentCommand::Resolve, "Restart the service.".into())
        );
        assert_eq!(
            agent_command("#Internal"),
            CommandLine::Known(AgentCommand::Internal, String::new())
        );
        assert_eq!(
            agent_command("#in-progress\n"),
            CommandLine::Known(AgentCommand::InProgress, String::new())
        );
        assert_eq!(
            agent_command("#resolv\ntext"),
            CommandLine::Unknown("#resolv".into())
        );
        assert_eq!(agent_command("#2611N00001 is fixed"), CommandLine::None);
        assert_eq!(agent_command("Fixed, see #42"), CommandLine::None);
    }

    #[test]
    fn commands_follow_the_status_machine() {
        assert_eq!(
            AgentCommand::Resolve.apply(Status::InProgress),
            Ok(Some((Status::Resolved, Event::SolutionProposed)))
        );
        assert!(AgentCommand::Reopen.apply(Status::InProgress).is_err());
        assert!(AgentCommand::Waiting.apply(Status::Closed).is_err());
        assert_eq!(AgentCommand::Internal.apply(Status::Closed), Ok(None));
    }
}
