//! Customers' commands: what the support portals let a customer do by form (seed 004:
//! close their ticket, keep it private or share it with their organisation, add a
//! colleague, change their language; seeds 001 and 003: the impact and urgency), done by
//! mail with a `#` command on the first line of a reply, read by the agents' parser.
//!
//! ```text
//! #share marc.petit@acme.example
//! Marc takes over while I am away.
//! ```
//!
//! Each is checked against who sent it: the requester alone closes the ticket or sets its
//! privacy; the requester or their organisation shares it and sets impact and urgency;
//! anyone on it sets their own language. A command that cannot be read, is not allowed or
//! would change nothing changes nothing: its mail is kept as a note for the agents and its
//! sender is told why.

use super::commands::{CommandText, command_text};
use crate::domain::{
    CommandRefusal, CommandRefusalReason, EmailAddress, Impact, Status, Ticket, TicketFields,
    Urgency, fold_label,
};
use crate::pipeline::authorize::Authorization;
use crate::pipeline::body_fields;
use crate::store::{Change, CommentChanges};

/// At most this many people are shared a ticket by one command.
const MAX_SHARED: usize = 20;

/// A customer's command, its arguments read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerCommand {
    /// The requester closes their ticket: they need no more help.
    Close,
    /// The requester's organisation may no longer see or write on it.
    Private,
    /// The requester's organisation may see and write on it again.
    Shared,
    /// These people follow the ticket from now on.
    Share(Vec<EmailAddress>),
    /// These people follow it no more.
    Unshare(Vec<EmailAddress>),
    /// The sender's notifications come in this language (`en`, `fr`).
    Language(&'static str),
    Urgency(Urgency),
    Impact(Impact),
}

impl CustomerCommand {
    /// Every command's word, as the "not understood" answer lists them.
    pub const WORDS: &'static [&'static str] = &[
        "#close",
        "#private",
        "#shared",
        "#share ADDRESS",
        "#unshare ADDRESS",
        "#language fr|en",
        "#urgency high|medium",
        "#impact LEVEL",
    ];

    /// Who may give it, among those allowed on the ticket.
    fn allowed(&self, authorization: &Authorization) -> Result<(), CommandRefusalReason> {
        let requester = *authorization == Authorization::Requester;
        let organisation = requester || matches!(authorization, Authorization::Organisation(_));
        match self {
            CustomerCommand::Close | CustomerCommand::Private | CustomerCommand::Shared
                if !requester =>
            {
                Err(CommandRefusalReason::OnlyRequester)
            }
            CustomerCommand::Share(_)
            | CustomerCommand::Unshare(_)
            | CustomerCommand::Urgency(_)
            | CustomerCommand::Impact(_)
                if !organisation =>
            {
                Err(CommandRefusalReason::OnlyRequesterOrOrganisation)
            }
            _ => Ok(()),
        }
    }
}

/// The first line of a customer's mail, read as a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerLine {
    /// No command: the mail is what it would be without one.
    None,
    Command(CustomerCommand, CommandText),
    /// `#something` we cannot read: a word we do not know, or a value we cannot.
    NotUnderstood(CommandText),
}

/// Reads the command on the first non-blank line of a customer's `text`.
pub fn customer_command(text: &str) -> CustomerLine {
    let Some(command) = command_text(text) else {
        return CustomerLine::None;
    };
    match read(&command) {
        Some(c) => CustomerLine::Command(c, command),
        // A command's word with a value we cannot read, or a word alone on its line (a
        // typo of one): said. A hashtag that starts a sentence is text.
        None if word(&fold_label(&command.word)).is_some() || command.arguments.is_empty() => {
            CustomerLine::NotUnderstood(command)
        }
        None => CustomerLine::None,
    }
}

/// What a command's word names, in English or French.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Close,
    Private,
    Shared,
    Share,
    Unshare,
    Language,
    Urgency,
    Impact,
}

/// The command `word` (folded) names, if it names one.
fn word(folded: &str) -> Option<Word> {
    Some(match folded {
        "close" | "clore" | "fermer" | "cloturer" => Word::Close,
        "private" | "prive" => Word::Private,
        "shared" | "partage" => Word::Shared,
        "share" | "partager" => Word::Share,
        "unshare" | "departager" | "retirer" => Word::Unshare,
        "language" | "langue" => Word::Language,
        "urgency" | "urgence" => Word::Urgency,
        "impact" => Word::Impact,
        _ => return None,
    })
}

/// The command `text` names, in English or French, with its arguments read.
fn read(text: &CommandText) -> Option<CustomerCommand> {
    let arguments = text.arguments.as_str();
    let none = arguments.is_empty();
    Some(match word(&fold_label(&text.word))? {
        Word::Close if none => CustomerCommand::Close,
        Word::Private if none => CustomerCommand::Private,
        Word::Shared if none => CustomerCommand::Shared,
        Word::Close | Word::Private | Word::Shared => return None,
        Word::Share => CustomerCommand::Share(addresses(arguments)?),
        Word::Unshare => CustomerCommand::Unshare(addresses(arguments)?),
        Word::Language => CustomerCommand::Language(language(arguments)?),
        Word::Urgency => CustomerCommand::Urgency(body_fields::urgency(arguments)?),
        Word::Impact => CustomerCommand::Impact(body_fields::impact(arguments)?),
    })
}

/// One or more addresses, separated by spaces, commas or semicolons, in angle brackets or
/// not, with or without a display name (`Dan <dan@x.example>`: words without `@` are
/// names); `None` when one with `@` is not an address, or there are none or too many.
fn addresses(arguments: &str) -> Option<Vec<EmailAddress>> {
    let found: Vec<EmailAddress> = arguments
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .map(|a| a.trim_matches(['<', '>', '"']))
        .filter(|a| a.contains('@'))
        .map(|a| EmailAddress::parse(a).ok())
        .collect::<Option<_>>()?;
    (!found.is_empty() && found.len() <= MAX_SHARED).then_some(found)
}

/// A shipped language, by its code or its name.
fn language(arguments: &str) -> Option<&'static str> {
    match fold_label(arguments).as_str() {
        "fr" | "french" | "francais" => Some("fr"),
        "en" | "english" | "anglais" => Some("en"),
        _ => None,
    }
}

/// What `command`, from `sender` with `authorization` (authenticated or not: `verified`),
/// does to `ticket`: the command as it applies (its `#share` list without those who
/// already follow it…), or why it does not.
pub fn check(
    command: CustomerCommand,
    ticket: &Ticket,
    authorization: &Authorization,
    verified: bool,
) -> Result<CustomerCommand, CommandRefusalReason> {
    if !verified {
        return Err(CommandRefusalReason::Unverified);
    }
    command.allowed(authorization)?;
    let nothing = Err(CommandRefusalReason::NothingToChange);
    if ticket.status == Status::Closed {
        return nothing;
    }
    let fields = ticket.fields();
    let follows = |a: &EmailAddress| {
        a.same_mailbox(&ticket.requester) || ticket.observers.iter().any(|o| o.same_mailbox(a))
    };
    match command {
        CustomerCommand::Private if ticket.private => nothing,
        CustomerCommand::Shared if !ticket.private => nothing,
        CustomerCommand::Urgency(u) if u == fields.urgency => nothing,
        CustomerCommand::Impact(i) if i == fields.impact => nothing,
        CustomerCommand::Share(list) => {
            let mut new: Vec<EmailAddress> = Vec::new();
            for a in list {
                if !follows(&a) && !new.iter().any(|n| n.same_mailbox(&a)) {
                    new.push(a);
                }
            }
            if new.is_empty() {
                nothing
            } else {
                Ok(CustomerCommand::Share(new))
            }
        }
        CustomerCommand::Unshare(list) => {
            let gone: Vec<EmailAddress> = ticket
                .observers
                .iter()
                .filter(|o| list.iter().any(|a| a.same_mailbox(o)))
                .cloned()
                .collect();
            if gone.is_empty() {
                nothing
            } else {
                Ok(CustomerCommand::Unshare(gone))
            }
        }
        other => Ok(other),
    }
}

/// What a command that applies writes besides the comment and its status.
pub fn changes(
    command: &CustomerCommand,
    ticket: &Ticket,
    sender: &EmailAddress,
) -> CommentChanges {
    let from = ticket.fields();
    let fields = |to: TicketFields| {
        Some(Change {
            from: from.clone(),
            to,
        })
    };
    match command {
        CustomerCommand::Close => CommentChanges::default(),
        CustomerCommand::Private | CustomerCommand::Shared => CommentChanges {
            fields: fields(TicketFields {
                private: *command == CustomerCommand::Private,
                ..from.clone()
            }),
            ..CommentChanges::default()
        },
        CustomerCommand::Urgency(urgency) => CommentChanges {
            fields: fields(TicketFields {
                urgency: *urgency,
                ..from.clone()
            }),
            ..CommentChanges::default()
        },
        CustomerCommand::Impact(impact) => CommentChanges {
            fields: fields(TicketFields {
                impact: *impact,
                ..from.clone()
            }),
            ..CommentChanges::default()
        },
        CustomerCommand::Share(list) => CommentChanges {
            add_observers: list.clone(),
            ..CommentChanges::default()
        },
        CustomerCommand::Unshare(list) => CommentChanges {
            remove_observers: list.clone(),
            ..CommentChanges::default()
        },
        CustomerCommand::Language(lang) => CommentChanges {
            language: Some((sender.clone(), lang.to_string())),
            ..CommentChanges::default()
        },
    }
}

/// What the agents' note on the ticket says the command did.
pub fn describe(command: &CustomerCommand, ticket: &Ticket) -> String {
    let list = |l: &[EmailAddress]| l.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ");
    let from = ticket.fields();
    match command {
        CustomerCommand::Close => "closed by its requester (#close)".into(),
        CustomerCommand::Private => {
            "made private by its requester (#private): their organisation no longer sees it".into()
        }
        CustomerCommand::Shared => {
            "shared with the requester's organisation by its requester (#shared)".into()
        }
        CustomerCommand::Share(l) => format!("{} added as observers (#share)", list(l)),
        CustomerCommand::Unshare(l) => format!("{} removed from the observers (#unshare)", list(l)),
        CustomerCommand::Language(lang) => {
            format!("the sender's language set to {lang} (#language)")
        }
        CustomerCommand::Urgency(u) => {
            let to = TicketFields {
                urgency: *u,
                ..from.clone()
            };
            format!(
                "urgency {} → {u}, priority {} → {} (#urgency)",
                from.urgency,
                from.priority().label(),
                to.priority().label()
            )
        }
        CustomerCommand::Impact(i) => {
            let to = TicketFields {
                impact: *i,
                ..from.clone()
            };
            format!(
                "impact {} → {i}, priority {} → {} (#impact)",
                from.impact,
                from.priority().label(),
                to.priority().label()
            )
        }
    }
}

/// What a customer's command writes beside the comment: its changes and the agents'
/// note saying what it did, or the refusal its sender is sent.
#[derive(Debug, Default)]
pub struct CommandWrites {
    pub changes: CommentChanges,
    pub note: Option<String>,
    pub refusal: Option<CommandRefusal>,
}

pub fn writes(
    effect: &super::ReplyEffect,
    ticket: &Ticket,
    sender: &EmailAddress,
) -> CommandWrites {
    match effect {
        super::ReplyEffect::CustomerCommand(command, _) => CommandWrites {
            changes: changes(command, ticket, sender),
            note: Some(format!(
                "Customer command from {sender}: {}.",
                describe(command, ticket)
            )),
            refusal: None,
        },
        super::ReplyEffect::CommandRefused(refusal) => CommandWrites {
            refusal: Some(refusal.clone()),
            ..CommandWrites::default()
        },
        _ => CommandWrites::default(),
    }
}

/// The refusal of `line` for `reason`.
pub fn refusal(line: &str, reason: CommandRefusalReason) -> CommandRefusal {
    CommandRefusal {
        line: line.chars().take(200).collect(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(text: &str) -> Option<CustomerCommand> {
        match customer_command(text) {
            CustomerLine::Command(c, _) => Some(c),
            _ => None,
        }
    }

    #[test]
    fn commands_are_read_in_english_and_french_with_their_values() {
        assert_eq!(command("#close\nThanks!"), Some(CustomerCommand::Close));
        assert_eq!(command("#Clôturer"), Some(CustomerCommand::Close));
        assert_eq!(command("#privé"), Some(CustomerCommand::Private));
        assert_eq!(
            command("#share <bob@acme.example>, carol@acme.example"),
            Some(CustomerCommand::Share(vec![
                EmailAddress::parse("bob@acme.example").unwrap(),
                EmailAddress::parse("carol@acme.example").unwrap(),
            ]))
        );
        assert_eq!(
            command("#langue français"),
            Some(CustomerCommand::Language("fr"))
        );
        assert_eq!(
            command("#urgence haute"),
            Some(CustomerCommand::Urgency(Urgency::High))
        );
        assert_eq!(
            command("#impact très dégradé"),
            Some(CustomerCommand::Impact(Impact::SeverelyDegraded))
        );
        assert_eq!(
            command("#share Dan <dan@x.example>"),
            Some(CustomerCommand::Share(vec![
                EmailAddress::parse("dan@x.example").unwrap()
            ]))
        );
        for unread in [
            "#share not-an-address",
            "#share bad@",
            "#share",
            "#language de",
            "#impact catastrophic",
            "#close now",
            "#frobnicate",
        ] {
            assert!(
                matches!(customer_command(unread), CustomerLine::NotUnderstood(_)),
                "{unread}"
            );
        }
        assert_eq!(
            customer_command("#2611N00001 still broken"),
            CustomerLine::None
        );
        assert_eq!(customer_command("Hello #team"), CustomerLine::None);
        assert_eq!(
            customer_command("#BlackFriday orders fail since noon"),
            CustomerLine::None,
            "a hashtag that starts a sentence is text"
        );
    }
}
