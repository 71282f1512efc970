//! Command-line interface: one function per command, each turning library results into
//! output lines and an exit status. `anyhow` lives here, at the edge.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ticketgate::app::{App, open_store};
use ticketgate::clock::SystemClock;
use ticketgate::config::Settings;
use ticketgate::domain::{Impact, Status, TicketNumber, TicketType, Urgency};
use ticketgate::intake::paths::{Input, expand};
use ticketgate::intake::{Ingestor, RawMessage, Report};
use ticketgate::jobs::{JobKind, Jobs};
use ticketgate::pipeline::{Pipeline, human_size};
use ticketgate::quarantine::Quarantine;

/// sysexits.h EX_TEMPFAIL: the MTA keeps the mail and delivers it again later.
pub const EXIT_TEMPFAIL: u8 = 75;
const EXIT_QUARANTINED: u8 = 1;
const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(name = "ticketgate", version, about = "Email-driven ticketing gateway")]
pub struct Args {
    /// Configuration file (default: $TICKETGATE_CONFIG, then ./config/ticketgate.toml, then
    /// the embedded defaults).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: watch the Maildir (default ./data/inbox) until SIGTERM or SIGINT.
    Run,
    /// Turn messages into tickets: files, Maildir folders, or standard input (`-` or none).
    Ingest {
        /// Print one JSON object per message instead of a line.
        #[arg(long)]
        json: bool,
        /// Files or Maildir folders; `-` or nothing reads one message from standard input.
        paths: Vec<PathBuf>,
    },
    /// Show every decision the pipeline would take on a message, writing nothing.
    Explain {
        /// The message file.
        file: PathBuf,
    },
    /// Look at tickets.
    Tickets {
        #[command(subcommand)]
        command: TicketsCommand,
    },
    /// Messages that could not be handled.
    Quarantine {
        #[command(subcommand)]
        command: QuarantineCommand,
    },
    /// People's notification preferences, and addresses that bounce.
    Contacts {
        #[command(subcommand)]
        command: ContactsCommand,
    },
    /// Notifications waiting, sent, failed, held back or skipped.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Notification templates.
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
    },
    /// The periodic jobs (auto-close, reminders, purge) that `run` schedules.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Which instance reads which mailbox (the leases instances share through the
    /// database), and until when.
    Leases,
    /// Apply the database migrations (also done at every start).
    Migrate {
        /// Make this configuration's link key the one every instance on the database must
        /// use, after changing it on purpose (stop every instance first: links and replies
        /// signed with the old key are refused from then on).
        #[arg(long)]
        accept_link_key: bool,
    },
    /// Validate the configuration and print the values in effect (secrets hidden).
    CheckConfig,
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Each job with its schedule, what it does, and its last run.
    List,
    /// Run one job now and print what it did.
    Run {
        /// auto-close, resolution-reminder, waiting-reminder or purge.
        name: JobKind,
        /// Act as of this moment instead of now (RFC 3339, e.g. 2026-12-01T09:00:00Z):
        /// to see what a run on that day would do, or to catch up by hand.
        #[arg(long, value_name = "RFC3339")]
        now: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
}

#[derive(Debug, Subcommand)]
enum TicketsCommand {
    /// List tickets, most recently updated first.
    List {
        /// Only tickets with this status (new, in_progress, waiting_customer, resolved, closed).
        #[arg(long)]
        status: Option<Status>,
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
enum ObserversCommand {
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

#[derive(Debug, Subcommand)]
enum ContactsCommand {
    /// Show a person's notification preferences and delivery state.
    Show {
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a person's notification preferences.
    Set {
        email: String,
        /// en, fr, or `ticket` to follow each ticket's language.
        #[arg(long)]
        language: Option<String>,
        /// Opening, solution and closing of their tickets.
        #[arg(long, value_name = "on|off")]
        opening_closing: Option<OnOff>,
        /// Other processing steps: status changes, assignment, reopening.
        #[arg(long, value_name = "on|off")]
        processing: Option<OnOff>,
        /// Messages written on their tickets.
        #[arg(long, value_name = "on|off")]
        messages: Option<OnOff>,
        /// As an observer, every update (on) or only opening and closing (off).
        #[arg(long, value_name = "on|off")]
        observer_updates: Option<OnOff>,
        /// Lift an undeliverable mark left by a bounce.
        #[arg(long)]
        deliverable: bool,
    },
}

/// A switch on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

impl OnOff {
    fn is_on(self) -> bool {
        matches!(self, OnOff::On)
    }
}

#[derive(Debug, Subcommand)]
enum OutboxCommand {
    /// List notifications, newest first, with their state and last error.
    List {
        /// Only pending, sending, sent, failed, held (by the loop governor) or skipped (by
        /// the recipient's preferences) ones.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Make a failed, held, skipped or waiting notification due now (the daemon sends it,
    /// if the loop governor lets it through this time).
    Retry { id: i64 },
    /// Send every due and waiting notification now, then exit.
    Flush,
}

#[derive(Debug, Subcommand)]
enum TemplatesCommand {
    /// Render every template in every language with sample data; fail on any error.
    Check,
    /// Print one notification rendered with sample data.
    Preview {
        /// The event: ticket_opened, customer_comment, agent_comment, status_changed,
        /// ticket_assigned, solution_proposed, ticket_reopened, ticket_closed,
        /// ticket_auto_closed, attachment_refused, mail_refused.
        event: String,
        /// en or fr.
        #[arg(long, default_value = "en")]
        lang: String,
    },
}

#[derive(Debug, Subcommand)]
enum QuarantineCommand {
    /// List quarantined messages with their reasons.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Run a quarantined message through the pipeline again.
    Retry { id: String },
}

impl Args {
    /// Whether this starts the daemon (rather than running one command and exiting).
    pub fn runs_daemon(&self) -> bool {
        matches!(self.command, Command::Run)
    }
}

/// Runs the command; every error ends here with a message on standard error.
pub async fn run(args: Args) -> ExitCode {
    return_large_blocks_to_the_system();
    let quiet = !matches!(args.command, Command::Run);
    ticketgate::telemetry::init(if quiet { "warn" } else { "info" });
    let settings = match Settings::load(args.config.as_deref(), std::env::vars()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ticketgate: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = match args.command {
        Command::Run => run_daemon(settings).await,
        Command::Ingest { json, paths } => return ingest(settings, &paths, json).await,
        Command::Explain { file } => explain(settings, &file).await,
        Command::Tickets { command } => tickets(settings, command).await,
        Command::Quarantine { command } => quarantine(settings, command).await,
        Command::Outbox { command } => outbox(settings, command).await,
        Command::Contacts { command } => contacts(settings, command).await,
        Command::Templates { command } => templates(&settings, command),
        Command::Jobs { command } => jobs(settings, command).await,
        Command::Leases => leases(settings).await,
        Command::Migrate { accept_link_key } => migrate(settings, accept_link_key).await,
        Command::CheckConfig => check_config(&settings),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ticketgate: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Makes the allocator hand blocks of 1 MB and more straight back to the system when they
/// are freed. glibc otherwise raises its mmap threshold to the largest block freed so far
/// (up to 32 MB), after which such blocks come from the heap and stay resident once freed:
/// one 25 MB mail left the daemon holding some 160 MB until it stopped, and raised the peak
/// of handling it by 35 MB (BENCHMARKS.md, memory). Fixing the mmap threshold also fixes
/// the trim threshold, at glibc's 128 KB unless set: the heap then shrank and grew back
/// around every batch of ordinary mail, 10% fewer mails/s; 32 MB keeps the heap as the
/// dynamic thresholds would.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets parameters of the allocator, which serialises them with
    // allocations made by other threads.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 32 << 20);
    }
}

async fn pipeline(settings: Settings) -> anyhow::Result<Pipeline> {
    let store = open_store(&settings).await?;
    Ok(Pipeline::new(
        store,
        Arc::new(settings),
        Arc::new(SystemClock),
    )?)
}

async fn run_daemon(settings: Settings) -> anyhow::Result<ExitCode> {
    tracing::info!(config = %settings.source, database = %settings.database_url, "starting");
    let shutdown =
        ticketgate::shutdown::on_signals().context("cannot listen for SIGTERM and SIGINT")?;
    let app = App::build(settings).await?;
    app.run_until_stopped(shutdown).await;
    Ok(ExitCode::SUCCESS)
}

async fn ingest(settings: Settings, paths: &[PathBuf], json: bool) -> ExitCode {
    let inputs = match expand(paths) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("ticketgate: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let ingestor = match pipeline(settings).await {
        Ok(p) => Ingestor::new(p),
        Err(e) => {
            eprintln!("ticketgate: {e:#}");
            // The mail cannot be stored at all: the MTA must keep it.
            let from_stdin = inputs.contains(&Input::Stdin);
            return ExitCode::from(if from_stdin { EXIT_TEMPFAIL } else { 1 });
        }
    };
    let ingested = ticketgate::intake::paths::ingest(&ingestor, inputs, |each| match each {
        Ok(report) => print_report(report, json),
        Err(unreadable) => eprintln!("ticketgate: {unreadable}"),
    })
    .await;
    ingestor.pipeline().store().close().await;
    match ingested {
        Ok(done) if done.all_handled => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(EXIT_QUARANTINED),
        Err(e) => {
            eprintln!("ticketgate: {e}");
            ExitCode::from(EXIT_TEMPFAIL)
        }
    }
}

fn print_report(report: &Report, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string(report).expect("reports always serialize")
        );
    } else {
        println!("{}", report.line());
    }
}

async fn explain(settings: Settings, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let pipeline = pipeline(settings).await?;
    let trace = pipeline.explain(&bytes).await?;
    for step in &trace.steps {
        println!("{step}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn tickets(settings: Settings, command: TicketsCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&settings).await?;
    match command {
        TicketsCommand::List {
            status,
            limit,
            json,
        } => {
            let (list, more) = store
                .list_tickets_page(status, (limit > 0).then_some(limit))
                .await?;
            if more {
                eprintln!(
                    "ticketgate: the {limit} most recently updated shown, more match; \
                     `--limit N` shows more, `--limit 0` all of them"
                );
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for t in &list {
                    println!(
                        "{}  {:<16} {}  {:<30} {}",
                        t.number,
                        t.status,
                        t.priority.label(),
                        t.requester,
                        t.title
                    );
                }
            }
        }
        TicketsCommand::Show { number, json } => {
            let Some(details) = store.ticket_details(&number).await? else {
                anyhow::bail!("no ticket {number}; `ticketgate tickets list` shows the numbers");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&details)?);
            } else {
                print_ticket(&details);
            }
        }
        TicketsCommand::Attachment {
            number,
            sha256,
            output,
        } => {
            let service = ticket_service(settings, store);
            let (file, bytes) = service.attachment_content(&number, &sha256).await?;
            write_out(output.as_deref(), &bytes)?;
            if let Some(path) = output {
                println!(
                    "{}: {} ({}, {}) written",
                    path.display(),
                    file.filename,
                    file.content_type,
                    human_size(bytes.len() as u64)
                );
            }
        }
        TicketsCommand::Raw {
            number,
            article,
            output,
        } => {
            let service = ticket_service(settings, store);
            let bytes = service.raw_mail(&number, article).await?;
            write_out(output.as_deref(), &bytes)?;
            if let Some(path) = output {
                println!(
                    "{}: raw mail of article #{article} ({}) written",
                    path.display(),
                    human_size(bytes.len() as u64)
                );
            }
        }
        action => return ticket_action(settings, store, action).await,
    }
    Ok(ExitCode::SUCCESS)
}

/// The agents' operations on `store`, on the system clock.
fn ticket_service(
    settings: Settings,
    store: ticketgate::store::Store,
) -> ticketgate::service::TicketService {
    ticketgate::service::TicketService::new(store, Arc::new(settings), Arc::new(SystemClock))
}

/// Writes `bytes` to a new file at `output`, never over an existing one, or to standard
/// output.
fn write_out(output: Option<&std::path::Path>, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    match output {
        Some(path) => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
            .with_context(|| {
                format!(
                    "cannot write {} (an existing file is left alone; choose a new name)",
                    path.display()
                )
            }),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .context("cannot write to standard output")
        }
    }
}

/// The commands that change a ticket, through the service layer.
async fn ticket_action(
    settings: Settings,
    store: ticketgate::store::Store,
    command: TicketsCommand,
) -> anyhow::Result<ExitCode> {
    use ticketgate::service::CommentInput;
    let service = ticket_service(settings, store);
    let done = match command {
        TicketsCommand::Comment {
            number,
            body,
            internal,
            attach,
            acting,
        } => {
            let acting = service.agent(acting.as_deref())?;
            // Every file is read and checked before anything is written.
            let attachments = attach
                .iter()
                .map(|path| service.read_attachment(path))
                .collect::<Result<Vec<_>, _>>()?;
            let files: Vec<String> = attachments
                .iter()
                .map(|f| {
                    format!(
                        "  [file] {} ({}, {})",
                        f.filename,
                        f.content_type,
                        human_size(f.bytes.len() as u64)
                    )
                })
                .collect();
            let input = CommentInput {
                body,
                internal,
                attachments,
            };
            let done = service.comment_with(&number, &acting, input).await?;
            print_done(&done);
            for line in files {
                println!("{line}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        TicketsCommand::Status {
            number,
            status,
            acting,
        } => {
            let acting = service.agent(acting.as_deref())?;
            service.change_status(&number, status, &acting).await?
        }
        TicketsCommand::Resolve {
            number,
            solution,
            acting,
        } => {
            let acting = service.agent(acting.as_deref())?;
            service.resolve(&number, &solution, &acting).await?
        }
        TicketsCommand::Close { number, acting } => {
            let acting = service.agent(acting.as_deref())?;
            service.close(&number, &acting).await?
        }
        TicketsCommand::Reopen { number, acting } => {
            let acting = service.agent(acting.as_deref())?;
            service.reopen(&number, &acting).await?
        }
        edit => return ticket_edit(&service, edit).await,
    };
    print_done(&done);
    Ok(ExitCode::SUCCESS)
}

/// The commands that change a ticket's assignee, observers or fields: each prints the
/// usual outcome line, then the note it recorded on the ticket.
async fn ticket_edit(
    service: &ticketgate::service::TicketService,
    command: TicketsCommand,
) -> anyhow::Result<ExitCode> {
    use ticketgate::domain::EmailAddress;
    use ticketgate::service::FieldEdits;
    // The address error names the address already.
    let address = |email: &str| EmailAddress::parse(email);
    let edited = match command {
        TicketsCommand::Assign {
            number,
            agent,
            acting,
        } => {
            let acting = service.agent(acting.as_deref())?;
            service.assign(&number, &agent, &acting).await?
        }
        TicketsCommand::Observers {
            command:
                ObserversCommand::Add {
                    number,
                    email,
                    acting,
                },
        } => {
            let acting = service.agent(acting.as_deref())?;
            service
                .add_observer(&number, &address(&email)?, &acting)
                .await?
        }
        TicketsCommand::Observers {
            command:
                ObserversCommand::Remove {
                    number,
                    email,
                    acting,
                },
        } => {
            let acting = service.agent(acting.as_deref())?;
            service
                .remove_observer(&number, &address(&email)?, &acting)
                .await?
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
            let acting = service.agent(acting.as_deref())?;
            let edits = FieldEdits {
                ticket_type,
                category: category.map(|c| Some(c).filter(|c| !c.trim().is_empty())),
                impact,
                urgency,
                private,
            };
            match service.set_fields(&number, &edits, &acting).await? {
                Some(edited) => edited,
                None => {
                    println!("{number}: nothing changed, every value given is already set");
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
        other => unreachable!("{other:?} is not an edit"),
    };
    print_done(&edited.done);
    println!("  {}", edited.note);
    Ok(ExitCode::SUCCESS)
}

fn print_done(done: &ticketgate::service::Done) {
    println!(
        "{}: {} ({} notification(s) queued)",
        done.ticket, done.status, done.notifications
    );
}

async fn contacts(settings: Settings, command: ContactsCommand) -> anyhow::Result<ExitCode> {
    use ticketgate::domain::EmailAddress;
    let store = open_store(&settings).await?;
    let (ContactsCommand::Show { email, .. } | ContactsCommand::Set { email, .. }) = &command;
    let address = EmailAddress::parse(email).with_context(|| format!("`{email}`"))?;
    let mut contact = store.contact(&address).await?;
    match command {
        ContactsCommand::Show { json, .. } => {
            if json {
                println!("{}", serde_json::to_string_pretty(&contact)?);
                return Ok(ExitCode::SUCCESS);
            }
        }
        ContactsCommand::Set {
            language,
            opening_closing,
            processing,
            messages,
            observer_updates,
            deliverable,
            ..
        } => {
            if let Some(lang) = language {
                contact.language = match lang.as_str() {
                    "en" | "fr" => Some(lang),
                    "ticket" => None,
                    other => anyhow::bail!("language `{other}`: use en, fr or ticket"),
                };
            }
            let set = |flag: &mut bool, value: Option<OnOff>| {
                if let Some(v) = value {
                    *flag = v.is_on();
                }
            };
            set(&mut contact.opening_closing, opening_closing);
            set(&mut contact.processing, processing);
            set(&mut contact.messages, messages);
            set(&mut contact.observer_every_update, observer_updates);
            store.save_preferences(&contact, chrono::Utc::now()).await?;
            if deliverable {
                store.clear_undeliverable(&address).await?;
            }
            contact = store.contact(&address).await?;
        }
    }
    let on = |b: bool| if b { "on" } else { "off" };
    println!("{}", contact.email);
    println!(
        "  language {}",
        contact.language.as_deref().unwrap_or("(the ticket's)")
    );
    println!(
        "  opening/closing {}  processing {}  messages {}  observer updates {}",
        on(contact.opening_closing),
        on(contact.processing),
        on(contact.messages),
        if contact.observer_every_update {
            "all"
        } else {
            "opening/closing only"
        }
    );
    match (&contact.undeliverable_until, &contact.undeliverable_reason) {
        (Some(until), reason) if *until > chrono::Utc::now() => println!(
            "  undeliverable until {until}: {}",
            reason.as_deref().unwrap_or("bounced")
        ),
        _ => println!("  deliverable"),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_ticket(d: &ticketgate::store::TicketDetails) {
    let t = &d.ticket;
    println!("{}  {}", t.number, t.title);
    println!(
        "  status {}  type {}  impact {}  urgency {}  priority {}",
        t.status,
        t.ticket_type,
        t.impact,
        t.urgency,
        t.priority.label()
    );
    println!(
        "  requester {}{}",
        t.requester,
        t.organisation
            .as_deref()
            .map(|o| format!(" ({o})"))
            .unwrap_or_default()
    );
    if !t.observers.is_empty() {
        let observers: Vec<&str> = t.observers.iter().map(|o| o.as_str()).collect();
        println!("  observers {}", observers.join(", "));
    }
    if let Some(category) = &t.category {
        println!("  category {category}");
    }
    if let Some(f) = &t.follow_up_of {
        println!("  follow-up of {f}");
    }
    println!(
        "  opened {}  updated {}  language {}",
        t.created_at.to_rfc3339(),
        t.updated_at.to_rfc3339(),
        t.language
    );
    for a in &d.articles {
        println!();
        println!(
            "--- #{} {} {} by {} ({}), {}",
            a.id,
            a.direction,
            a.visibility,
            a.author,
            a.subject,
            a.created_at.to_rfc3339()
        );
        if let Some(note) = &a.note {
            println!("[note] {note}");
        }
        println!("{}", a.body_text.trim_end());
        for f in &a.attachments {
            match (&f.sha256, &f.refused_reason) {
                (Some(sha), _) => println!(
                    "  [file] {} ({}, {}) sha256 {sha}",
                    f.filename,
                    f.content_type,
                    human_size(f.size)
                ),
                (None, Some(reason)) => println!(
                    "  [refused] {} ({}): {reason}",
                    f.filename,
                    human_size(f.size)
                ),
                (None, None) => println!("  [file] {} ({})", f.filename, human_size(f.size)),
            }
        }
    }
}

async fn quarantine(settings: Settings, command: QuarantineCommand) -> anyhow::Result<ExitCode> {
    let q = Quarantine::new(&settings.data_dir);
    match command {
        QuarantineCommand::List { json } => {
            let entries = q.list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else if entries.is_empty() {
                println!("quarantine is empty");
            } else {
                for e in entries {
                    println!(
                        "{}  {}  tries {}  {}  {}",
                        e.id,
                        e.quarantined_at.to_rfc3339(),
                        e.attempts,
                        e.source,
                        e.reason
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        QuarantineCommand::Retry { id } => {
            let (entry, bytes) = q.get(&id)?;
            let ingestor = Ingestor::new(pipeline(settings).await?);
            let message = RawMessage {
                source: entry.source.clone(),
                bytes,
            };
            match ingestor
                .pipeline()
                .process(&message.source, &message.bytes)
                .await
            {
                Ok(outcome) => {
                    q.remove(&id)?;
                    let report = Report {
                        source: id.clone(),
                        ..Report::from_outcome(&message.source, &outcome)
                    };
                    println!("{}", report.line());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    let entry =
                        q.record_failure(&id, &e.to_string(), ingestor.pipeline().clock().now())?;
                    println!(
                        "{id}: still quarantined ({}), tried {} times",
                        entry.reason, entry.attempts
                    );
                    Ok(ExitCode::from(EXIT_QUARANTINED))
                }
            }
        }
    }
}

async fn outbox(settings: Settings, command: OutboxCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&settings).await?;
    let now = chrono::Utc::now();
    match command {
        OutboxCommand::List {
            status,
            limit,
            json,
        } => {
            let entries = store.list_outbox(status.as_deref(), limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
                return Ok(ExitCode::SUCCESS);
            }
            for e in &entries {
                println!(
                    "{:>6}  {}  {:<18} {:<8} tries {}  {}{}",
                    e.id,
                    e.ticket,
                    e.event,
                    e.status,
                    e.attempts,
                    e.recipient,
                    e.held_reason
                        .as_deref()
                        .or(e.last_error.as_deref())
                        .map(|m| format!("  ({m})"))
                        .unwrap_or_default()
                );
            }
        }
        OutboxCommand::Retry { id } => {
            if !store.requeue_notification(id, now).await? {
                anyhow::bail!(
                    "no waiting, failed, held or skipped notification {id}; `ticketgate outbox list` shows them"
                );
            }
            println!("notification {id} is due now");
        }
        OutboxCommand::Flush => {
            store.make_pending_due(now).await?;
            let worker = ticketgate::app::outbox_worker(&settings, store, Arc::new(SystemClock))?;
            let mut handled = 0;
            while worker.step().await? == ticketgate::notify::outbox_worker::Step::Handled {
                handled += 1;
            }
            println!("{handled} notification(s) handled");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn templates(settings: &Settings, command: TemplatesCommand) -> anyhow::Result<ExitCode> {
    use ticketgate::notify::templates::{LANGUAGES, Templates, sample_data};
    let templates = Templates::load(settings.template_dir.as_deref())?;
    match command {
        TemplatesCommand::Check => {
            let errors = templates.check();
            for e in &errors {
                eprintln!("ticketgate: {e}");
            }
            if !errors.is_empty() {
                return Ok(ExitCode::from(1));
            }
            println!(
                "{} templates render in {}",
                ticketgate::domain::Event::ALL.len() * 3,
                LANGUAGES.join(" and ")
            );
        }
        TemplatesCommand::Preview { event, lang } => {
            let mail = templates.render(&event, &lang, &sample_data(&lang))?;
            println!(
                "Subject: {}\n\n{}\n----- text/html -----\n{}",
                mail.subject, mail.text, mail.html
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn leases(settings: Settings) -> anyhow::Result<ExitCode> {
    let store = open_store(&settings).await?;
    let leases = store.leases().await?;
    if leases.is_empty() {
        println!("no leases: no instance has read a mailbox yet");
    }
    let now = chrono::Utc::now();
    for lease in leases {
        let state = if lease.expires_at > now {
            format!(
                "held, renewed until {} (in {} s)",
                lease.expires_at.format("%Y-%m-%d %H:%M:%S"),
                (lease.expires_at - now).num_seconds()
            )
        } else {
            "free (released or expired): the next instance to ask takes it".into()
        };
        println!(
            "{:<24} {:<40} since {}, token {}: {state}",
            lease.name,
            lease.holder,
            lease.acquired_at.format("%Y-%m-%d %H:%M:%S"),
            lease.token
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn jobs(settings: Settings, command: JobsCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&settings).await?;
    let clock: Arc<dyn ticketgate::clock::Clock> = match &command {
        JobsCommand::Run { now: Some(at), .. } => Arc::new(ticketgate::clock::FixedClock::new(
            at.with_timezone(&chrono::Utc),
        )),
        _ => Arc::new(SystemClock),
    };
    let jobs = Jobs::new(store.clone(), Arc::new(settings), clock);
    match command {
        JobsCommand::List => {
            for job in JobKind::ALL {
                let s = jobs.settings();
                let state = if job.enabled(s) { "" } else { " (off)" };
                println!(
                    "{:<20} {:<16} {}{state}",
                    job.name(),
                    job.schedule(s),
                    job.describe(s)
                );
                match store.last_job_run(job.name()).await? {
                    Some(r) => println!(
                        "{:<20} last run {} ({}, as of {}): {}{}",
                        "",
                        r.started_at.format("%Y-%m-%d %H:%M:%S"),
                        r.started_by,
                        r.as_of.format("%Y-%m-%d %H:%M:%S"),
                        r.summary.as_deref().unwrap_or("did not finish"),
                        r.error.map(|e| format!(": {e}")).unwrap_or_default()
                    ),
                    None => println!("{:<20} never run", ""),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        JobsCommand::Run { name, .. } => {
            let report = jobs.run(name, "manual").await?;
            println!(
                "{}: as of {}: {}",
                report.job,
                report.as_of.to_rfc3339(),
                report.summary()
            );
            for line in &report.lines {
                println!("  {line}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn migrate(settings: Settings, accept_link_key: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(&settings).await?;
    println!("database {} is up to date", settings.database_url);
    if accept_link_key {
        ticketgate::app::accept_link_key(&store, &settings).await?;
        println!("this configuration's link key is now the one every instance must use");
    }
    Ok(ExitCode::SUCCESS)
}

fn check_config(s: &Settings) -> anyhow::Result<ExitCode> {
    println!("configuration: {} (valid)", s.source);
    println!("data_dir = {}", s.data_dir.display());
    println!("database.url = {}", s.database_url);
    println!("storage.backend = {}", s.storage.backend);
    println!("intake.maildir = {}", s.maildir.display());
    println!(
        "max_attachment_bytes = {} ({})",
        s.max_attachment_bytes,
        human_size(s.max_attachment_bytes)
    );
    println!(
        "max_message_bytes = {} ({})",
        s.max_message_bytes,
        human_size(s.max_message_bytes)
    );
    let own: Vec<&str> = s.own_addresses.iter().map(|a| a.as_str()).collect();
    println!("mail.addresses = {}", own.join(", "));
    println!(
        "tickets: type {}, impact {}, urgency {}, language {}",
        s.ticket_defaults.ticket_type,
        s.ticket_defaults.impact,
        s.ticket_defaults.urgency,
        s.ticket_defaults.language
    );
    println!("routing rules: {}", s.routing.len());
    println!("agents: {}", s.agents.len());
    println!("public domains: {}", s.public_domains.len());
    Ok(ExitCode::SUCCESS)
}
