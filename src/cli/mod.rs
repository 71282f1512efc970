//! Command-line interface: it parses arguments, calls one operation of the service layer
//! and prints its answer; one file per command group. It never reaches the store or reads
//! the clock itself. `anyhow` lives here, at the edge.

mod admin;
mod backup;
mod check_config;
mod contacts;
mod ingest;
mod jobs;
mod moment;
mod out;
mod outbox;
mod progress;
mod quarantine;
mod templates;
mod tickets;
mod tokens;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use ticketgate::clock::SystemClock;
use ticketgate::config::{LogSettings, Settings};
use ticketgate::service::{OpenMode, Services, TemplateService};
use ticketgate::telemetry::{Output, init as init_log};

use contacts::ContactsCommand;
use jobs::JobsCommand;
use outbox::OutboxCommand;
use quarantine::QuarantineCommand;
use templates::TemplatesCommand;
use tickets::TicketsCommand;
use tokens::TokensCommand;

/// sysexits.h EX_TEMPFAIL: the MTA keeps the mail and delivers it again later.
pub const EXIT_TEMPFAIL: u8 = 75;
/// Some message was quarantined, or a command failed.
const EXIT_QUARANTINED: u8 = 1;
/// Usage or configuration error.
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
        /// What the exit status says of a quarantined message: `accept` exits 0 (an MTA
        /// piping the mail counts it delivered; the copy waits in the quarantine), `bounce`
        /// exits 1 (the MTA returns it to the envelope sender, told only a short reason).
        /// Default: `accept` for standard input, because the sender of quarantined mail is
        /// often forged and a bounce to it is backscatter; `bounce` for files and folders.
        #[arg(long, value_enum, value_name = "POLICY")]
        on_quarantine: Option<ingest::OnQuarantine>,
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
    /// Bearer tokens of the JSON API (`/api/v1`).
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// The periodic jobs (auto-close, reminders, purge) that `run` schedules.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Which instance reads which mailbox (the leases instances share through the
    /// database), and until when.
    Leases,
    /// Where each IMAP mailbox stands: how far it got, handled messages the server would
    /// not let go of, what is wrong with it now.
    Mailboxes,
    /// Create the database when missing and apply its migrations (also done at every
    /// start). Only `run`, `ingest` and `migrate` create a database: the other commands
    /// say it does not exist, so that a mistyped path never becomes an empty database.
    Migrate {
        /// Make this configuration's link key the one every instance on the database must
        /// use, after changing it on purpose (stop every instance first: links and replies
        /// signed with the old key are refused from then on).
        #[arg(long)]
        accept_link_key: bool,
    },
    /// Validate the configuration, print the values in effect (secrets hidden), and open
    /// the database without changing it; exit 1 when it cannot be opened.
    CheckConfig {
        /// Also log in to every mailbox, open an SMTP session (EHLO, STARTTLS, AUTH) and
        /// the database: one line each, `ok` or `FAILED`; exit 1 when any fails.
        #[arg(long)]
        connect: bool,
    },
    /// Send one test message through the configured transport now, and print the
    /// server's answer (or the file it was written to).
    SendTestEmail {
        /// Where to send it.
        address: String,
        /// Its language (default: [tickets] default_language).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(TemplateService::LANGUAGES))]
        lang: Option<String>,
    },
    /// Write a consistent, checked copy of the live SQLite database to FILE (on
    /// PostgreSQL: say which pg_dump makes it, and exit 1), and say how to archive the
    /// data directory.
    Backup {
        /// The copy to write; an existing file is replaced only with --force.
        file: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// Put a copy made by `backup` in place of the SQLite database; every process using
    /// the database must be stopped. The database replaced is kept beside it.
    Restore {
        /// The copy to restore.
        file: PathBuf,
    },
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
    // Nothing logs before the configuration is read, and its errors go to standard error
    // here: the log's format can follow `[log]`.
    let settings = match Settings::load(args.config.as_deref(), std::env::vars()) {
        Ok(s) => s,
        Err(e) => {
            say_error(init_log(&LogSettings::default(), false), &e.to_string());
            // Mail piped in by an MTA stays with it while the configuration is fixed,
            // rather than bouncing back to its sender.
            let piped = matches!(
                &args.command,
                Command::Ingest { paths, .. } if ingest::reads_stdin(paths)
            );
            return ExitCode::from(if piped { EXIT_TEMPFAIL } else { EXIT_USAGE });
        }
    };
    let log = init_log(&settings.log, args.runs_daemon());
    let result = match args.command {
        Command::Run => admin::run_daemon(settings, args.config.clone()).await,
        Command::Ingest {
            json,
            paths,
            on_quarantine,
        } => return ingest::ingest(settings, &paths, json, on_quarantine).await,
        Command::Templates { command } => {
            templates::run(&TemplateService::new(Arc::new(settings)), command)
        }
        Command::CheckConfig { connect } => check_config::check_config(&settings, connect).await,
        Command::Restore { file } => backup::restore(&settings, &file).await,
        command => with_services(settings, command).await,
    };
    match result {
        Ok(code) => code,
        Err(e) if out::is_closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            say_error(log, &error_chain(&e));
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

/// Says why the command failed on standard error: a line of text, or under the journal or
/// `[log] format = "json"` a JSON line like the log's, so that a collector reading JSON
/// lines reads the last one too.
fn say_error(log: Output, error: &str) {
    match log {
        Output::Json => ticketgate::telemetry::json_error(error),
        Output::Text => eprintln!("ticketgate: {error}"),
    }
}

/// `error` and what caused it, each said once: a cause whose text its error already
/// quotes is left out, so that no clause is read twice on a line.
fn error_chain(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// The commands that work on the database, through the service layer on the system clock.
/// Only `migrate` (besides `run` and `ingest`, handled apart) creates a missing database.
async fn with_services(settings: Settings, command: Command) -> anyhow::Result<ExitCode> {
    let mode = match command {
        Command::Migrate { .. } => OpenMode::Create,
        _ => OpenMode::Existing,
    };
    let applying = (mode == OpenMode::Create).then(|| progress::spinner("applying migrations"));
    let services = Services::open_with_mode(settings, Arc::new(SystemClock), mode).await;
    if let Some(spinner) = applying {
        spinner.finish_and_clear();
    }
    let services = services?;
    let result = match command {
        Command::Explain { file } => ingest::explain(&services, &file).await,
        Command::Tickets { command } => tickets::run(&services, command).await,
        Command::Quarantine { command } => quarantine::run(&services, command).await,
        Command::Outbox { command } => outbox::run(&services, command).await,
        Command::Contacts { command } => contacts::run(&services, command).await,
        Command::Jobs { command } => jobs::run(&services, command).await,
        Command::Tokens { command } => tokens::run(&services, command).await,
        Command::Leases => admin::leases(&services).await,
        Command::Mailboxes => admin::mailboxes(&services).await,
        Command::Migrate { accept_link_key } => admin::migrate(&services, accept_link_key).await,
        Command::Backup { file, force } => backup::backup(&services, &file, force).await,
        Command::SendTestEmail { address, lang } => {
            outbox::send_test(&services, &address, lang.as_deref()).await
        }
        Command::Run
        | Command::Ingest { .. }
        | Command::Templates { .. }
        | Command::CheckConfig { .. }
        | Command::Restore { .. } => {
            unreachable!("handled without the service layer")
        }
    };
    services.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open the database x: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn a_cause_already_quoted_is_not_said_again() {
        let io = std::io::Error::other("connection refused");
        let error = anyhow::Error::new(Quoting(io)).context("while starting");
        assert_eq!(
            error_chain(&error),
            "while starting: cannot open the database x: connection refused"
        );
    }
}
