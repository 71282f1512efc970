//! The `ticketgate` command: parses arguments, loads the configuration and calls into the
//! library. Exit status: 0 success, 1 some message quarantined or a command failed,
//! 2 usage or configuration error, 75 (EX_TEMPFAIL) when standard input could not be
//! stored and the MTA should try again.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ticketgate: cannot start the async runtime: {e}");
            return ExitCode::from(cli::EXIT_TEMPFAIL);
        }
    };
    runtime.block_on(cli::run(args))
}
