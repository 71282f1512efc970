//! Agents' commands: `#resolve`, `#close`… written alone on the first line of their mail.

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

/// The first non-blank line of a mail read as a command: `#word`, then what follows it on
/// that line; and the text below. Agents' commands and customers' share it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandText {
    /// The line as written, trimmed.
    pub line: String,
    /// The word after `#`, in lower case, `-` read as `_`.
    pub word: String,
    /// What follows the word on its line, trimmed.
    pub arguments: String,
    /// The lines below, trimmed.
    pub rest: String,
}

/// The command on the first non-blank line of `text`, if there is one. A ticket number or
/// a hashtag in running text is not a command: the word must be letters (digits, `_` and
/// `-` after the first), as `#2611N00001` or `#42` are not.
pub fn command_text(text: &str) -> Option<CommandText> {
    let mut lines = text.lines();
    let first = loop {
        match lines.next() {
            Some(l) if l.trim().is_empty() => continue,
            Some(l) => break l.trim(),
            None => return None,
        }
    };
    let after = first.strip_prefix('#')?;
    let (word, arguments) = after.split_once(char::is_whitespace).unwrap_or((after, ""));
    let is_word = word.chars().next().is_some_and(char::is_alphabetic)
        && word
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if !is_word {
        return None;
    }
    Some(CommandText {
        line: first.to_string(),
        word: word.to_lowercase().replace('-', "_"),
        arguments: arguments.trim().to_string(),
        rest: lines.collect::<Vec<_>>().join("\n").trim().to_string(),
    })
}

/// Reads the command on the first non-blank line of `text`, if there is one. An agent's
/// command is one word alone on its line.
pub fn agent_command(text: &str) -> CommandLine {
    let Some(command) = command_text(text) else {
        return CommandLine::None;
    };
    if !command.arguments.is_empty() {
        return CommandLine::None;
    }
    let normalized = command.word.as_str();
    match AgentCommand::ALL.iter().find(|c| {
        c.word() == normalized || (normalized == "progress" && **c == AgentCommand::InProgress)
    }) {
        Some(c) => CommandLine::Known(*c, command.rest),
        None => CommandLine::Unknown(command.line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(agent_command("#2611N00001"), CommandLine::None);
        assert_eq!(agent_command("Fixed, see #42"), CommandLine::None);
        assert_eq!(agent_command("#resolve now please"), CommandLine::None);
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
