//! `ticketgate tickets …`: look at tickets, and act on them as an agent.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use ticketgate::domain::{
    ByteSize, EmailAddress, Impact, Status, TicketNumber, TicketType, Urgency,
};
use ticketgate::service::{CommentInput, Edited, FieldEdits, Services, TicketService};

mod output;

use super::out::outln;
use output::{print_done, print_edited, print_ticket, ticket_table, write_out};

#[derive(Debug, Subcommand)]
pub enum TicketsCommand {
    /// List tickets, most recently updated first. On a terminal a header row names the
    /// columns; --header or --no-header decides elsewhere.
    List {
        /// Only tickets with this status (new, in_progress, waiting_customer, resolved, closed).
        #[arg(long)]
        status: Option<Status>,
        /// Only open tickets whose latest public message is the customer's: the team owes
        /// them an answer.
        #[arg(long, conflicts_with = "status")]
        waiting_on_us: bool,
        /// Print the header row even when standard output is not a terminal.
        #[arg(long, overrides_with = "no_header")]
        header: bool,
        /// Never print the header row.
        #[arg(long)]
        no_header: bool,
        /// At most this many (the most recently updated); 0 lists every one. Standard error
        /// says when more match.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Show a ticket with its articles and attachments.
    Show {
        number: TicketNumber,
        #[arg(long)]
        json: bool,
    },
    /// Write a file stored with a ticket, byte for byte, to standard output or a new file;
    /// read from whichever storage holds it ([storage] backend).
    Attachment {
        number: TicketNumber,
        /// The file's SHA-256, as `tickets show` prints it.
        sha256: String,
        /// A file to create (an existing one is left alone) instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Write the mail an article came from, byte for byte as received, to standard output
    /// or a new file; kept until the purge job deletes it (jobs.purge_raw_mail_days).
    Raw {
        number: TicketNumber,
        /// The article's id: the #N of `tickets show`.
        article: i64,
        /// A file to create (an existing one is left alone) instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Write on a ticket as an agent; the requester and observers are told, unless it is
    /// internal.
    Comment {
        number: TicketNumber,
        #[arg(long)]
        body: String,
        /// Seen by agents only; nobody is notified.
        #[arg(long)]
        internal: bool,
        /// A file to store with the comment (repeat for several); each within
        /// max_attachment_bytes. Every file is checked before anything is written.
        #[arg(long = "attach", value_name = "FILE")]
        attach: Vec<PathBuf>,
        /// The agent acting (name or address from [[agent]]).
        #[arg(long = "as", value_name = "AGENT")]
        acting: Option<String>,
    },
    /// Give a ticket to an agent: customer activity is reported to them, a new ticket moves
    /// to in_progress, and the agent is told (unless they took it themselves).
    Assign {
        number: TicketNumber,
        /// The agent to give it to (name or address from [[agent]]).
        agent: String,
        #[arg(long = "as", value_name = "AGENT")]
        acting: Option<String>,
    },
    /// Add or remove people who hear of a ticket's updates (and may write on it).
    Observers {
        #[command(subcommand)]
        command: ObserversCommand,
    },
    /// Change a ticket's type, category, impact, urgency or privacy; the priority follows
    /// from impact and urgency.
    Set {
        number: TicketNumber,
        /// incident, request, question or feature.
        #[arg(long = "type", value_name = "TYPE")]
        ticket_type: Option<TicketType>,
        /// A free category name; '' clears it.
        #[arg(long)]
        category: Option<String>,
        /// not_disturbed, degraded, severely_degraded or interrupted.
        #[arg(long)]
        impact: Option<Impact>,
        /// high or medium.
        #[arg(long)]
        urgency: Option<Urgency>,
        /// Whether the requester's colleagues (same mail domain) are kept off it: yes or no.
        #[arg(long, value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
        private: Option<bool>,
        #[arg(long = "as", value_name = "AGENT")]
        acting: Option<String>,
    },
    /// Move a ticket to another status (in_progress, waiting_customer, closed).
    Status {
        number: TicketNumber,
        status: Status,
        #[arg(long = "as", value_name = "AGENT")]
        acting: Option<String>,
    },
    /// Propose a solution: the ticket is resolved and waits for the requester's approval.
    Resolve {
        number: TicketNumber,
        #[arg(long)]
        solution: String,
        #[arg(long = "as", value_name = "AGENT")]
        acting: Option<String>,
    },
    /// Close a ticket.
    Close {
        number: TicketNumber,
        #[arg(long = "as", value_name = "AGENT")]
        acting: Option<String>,
    },
    /// Take a resolved or closed ticket up again.
    Reopen {
        number: TicketNumber,
        #[arg(long = "as", value_name = "AGENT")]
        acting: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ObserversCommand {
    /// Add someone who hears of the ticket's updates and may write on it from now on.
    Add {
        number: TicketNumber,
        email: String,
        #[arg(long = "as", value_name = "AGENT")]
        acting: Option<String>,
    },
    /// Remove an observer: they hear of the ticket no more.
    Remove {
        number: TicketNumber,
        email: String,
        #[arg(long = "as", value_name = "AGENT")]
        acting: Option<String>,
    },
}

/// Runs a `tickets` command.
pub async fn run(services: &Services, command: TicketsCommand) -> anyhow::Result<ExitCode> {
    let tickets = services.tickets();
    match command {
        TicketsCommand::List {
            status,
            waiting_on_us,
            header,
            no_header,
            limit,
            json,
        } => {
            let header = match (header, no_header) {
                (true, _) => true,
                (_, true) => false,
                _ => std::io::IsTerminal::is_terminal(&std::io::stdout()),
            };
            let filter = ListFilter {
                status,
                waiting_on_us,
            };
            list(&tickets, filter, limit, json, header).await?
        }
        TicketsCommand::Show { number, json } => {
            let details = tickets.show(&number).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&details)?)?;
            } else {
                print_ticket(&details)?;
            }
        }
        TicketsCommand::Attachment {
            number,
            sha256,
            output,
        } => {
            let (file, bytes) = tickets.attachment_content(&number, &sha256).await?;
            write_out(output.as_deref(), &bytes)?;
            if let Some(path) = output {
                outln!(
                    "{}: {} ({}, {}) written",
                    path.display(),
                    file.filename,
                    file.content_type,
                    ByteSize(bytes.len() as u64)
                )?;
            }
        }
        TicketsCommand::Raw {
            number,
            article,
            output,
        } => {
            let bytes = tickets.raw_mail(&number, article).await?;
            write_out(output.as_deref(), &bytes)?;
            if let Some(path) = output {
                outln!(
                    "{}: raw mail of article #{article} ({}) written",
                    path.display(),
                    ByteSize(bytes.len() as u64)
                )?;
            }
        }
        TicketsCommand::Comment {
            number,
            body,
            internal,
            attach,
            acting,
        } => comment(&tickets, &number, body, internal, &attach, acting).await?,
        action => act(&tickets, action).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Which tickets `tickets list` shows.
struct ListFilter {
    status: Option<Status>,
    waiting_on_us: bool,
}

async fn list(
    tickets: &TicketService,
    filter: ListFilter,
    limit: u32,
    json: bool,
    header: bool,
) -> anyhow::Result<()> {
    let limit_or_all = (limit > 0).then_some(limit);
    let page = if filter.waiting_on_us {
        tickets.list_waiting_on_us(limit_or_all).await?
    } else {
        tickets.list(filter.status, limit_or_all).await?
    };
    if page.more {
        eprintln!(
            "ticketgate: the {limit} most recently updated shown, more match; \
             `--limit N` shows more, `--limit 0` all of them"
        );
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&page.tickets)?)?;
        return Ok(());
    }
    for line in ticket_table(&page.tickets, header, output::terminal_width()) {
        outln!("{line}")?;
    }
    Ok(())
}

/// An agent's comment: every file is read and checked before anything is written.
async fn comment(
    tickets: &TicketService,
    number: &TicketNumber,
    body: String,
    internal: bool,
    attach: &[PathBuf],
    acting: Option<String>,
) -> anyhow::Result<()> {
    let acting = tickets.agent(acting.as_deref())?;
    let attachments = attach
        .iter()
        .map(|path| tickets.read_attachment(path))
        .collect::<Result<Vec<_>, _>>()?;
    let files: Vec<String> = attachments
        .iter()
        .map(|f| {
            format!(
                "  [file] {} ({}, {})",
                f.filename,
                f.content_type,
                ByteSize(f.bytes.len() as u64)
            )
        })
        .collect();
    let input = CommentInput {
        body,
        internal,
        attachments,
        refused: Vec::new(),
    };
    print_done(&tickets.comment_with(number, &acting, input).await?)?;
    for line in files {
        outln!("{line}")?;
    }
    Ok(())
}

/// The commands that move a ticket through its statuses or edit it.
async fn act(tickets: &TicketService, command: TicketsCommand) -> anyhow::Result<()> {
    let done = match command {
        TicketsCommand::Status {
            number,
            status,
            acting,
        } => {
            let acting = tickets.agent(acting.as_deref())?;
            tickets.change_status(&number, status, &acting).await?
        }
        TicketsCommand::Resolve {
            number,
            solution,
            acting,
        } => {
            let acting = tickets.agent(acting.as_deref())?;
            tickets.resolve(&number, &solution, &acting).await?
        }
        TicketsCommand::Close { number, acting } => {
            let acting = tickets.agent(acting.as_deref())?;
            tickets.close(&number, &acting).await?
        }
        TicketsCommand::Reopen { number, acting } => {
            let acting = tickets.agent(acting.as_deref())?;
            tickets.reopen(&number, &acting).await?
        }
        edit => {
            if let Some(edited) = self::edit(tickets, edit).await? {
                print_edited(&edited)?;
            }
            return Ok(());
        }
    };
    print_done(&done)?;
    Ok(())
}

/// The commands that change a ticket's assignee, observers or fields; `None` when `set`
/// found every value already as asked.
async fn edit(tickets: &TicketService, command: TicketsCommand) -> anyhow::Result<Option<Edited>> {
    let edited = match command {
        TicketsCommand::Assign {
            number,
            agent,
            acting,
        } => {
            let acting = tickets.agent(acting.as_deref())?;
            tickets.assign(&number, &agent, &acting).await?
        }
        TicketsCommand::Observers { command } => {
            let (ObserversCommand::Add { acting, .. } | ObserversCommand::Remove { acting, .. }) =
                &command;
            let acting = tickets.agent(acting.as_deref())?;
            match command {
                ObserversCommand::Add { number, email, .. } => {
                    tickets
                        .add_observer(&number, &EmailAddress::parse(&email)?, &acting)
                        .await?
                }
                ObserversCommand::Remove { number, email, .. } => {
                    tickets
                        .remove_observer(&number, &EmailAddress::parse(&email)?, &acting)
                        .await?
                }
            }
        }
        TicketsCommand::Set {
            number,
            ticket_type,
            category,
            impact,
            urgency,
            private,
            acting,
        } => {
            let acting = tickets.agent(acting.as_deref())?;
            let edits = FieldEdits {
                ticket_type,
                category: category.map(|c| Some(c).filter(|c| !c.trim().is_empty())),
                impact,
                urgency,
                private,
            };
            let Some(edited) = tickets.set_fields(&number, &edits, &acting).await? else {
                outln!("{number}: nothing changed, every value given is already set")?;
                return Ok(None);
            };
            edited
        }
        other => unreachable!("{other:?} is not an edit"),
    };
    Ok(Some(edited))
}
