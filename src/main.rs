//! The `ticketgate` command: parses arguments, loads the configuration and calls into the
//! library. Exit status: 0 success, 1 some message quarantined or a command failed,
//! 2 usage or configuration error, 75 (EX_TEMPFAIL) when standard input could not be
//! stored and the MTA should try again.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    // The daemon serves mailboxes, the outbox and HTTP side by side on every core; a
    // command does one thing at a time, and on one thread it saves waking another core
    // for each database statement's answer.
    let runtime = if args.runs_daemon() {
        tokio::runtime::Runtime::new()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ticketgate: cannot start the async runtime: {e}");
            return ExitCode::from(cli::EXIT_TEMPFAIL);
        }
    };
    runtime.block_on(cli::run(args))
}
