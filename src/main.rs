//! The `ticketgate` command: parses arguments, loads the configuration and calls into the
//! library. Exit status: 0 success, 1 some message quarantined or a command failed,
//! 2 usage or configuration error, 75 (EX_TEMPFAIL) when standard input could not be
//! stored and the MTA should try again.

mod affinity;
mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    bound_malloc_arenas();
    let args = cli::Args::parse();
    // The daemon serves mailboxes, the outbox and HTTP side by side on every core; a
    // command does one thing at a time, and on one thread it saves waking another core
    // for each database statement's answer.
    let runtime = if args.runs_daemon() {
        tokio::runtime::Runtime::new()
    } else {
        let mut builder = tokio::runtime::Builder::new_current_thread();
        if let Some(others) = affinity::hold_this_thread() {
            builder.on_thread_start(move || others.take());
        }
        builder.enable_all().build()
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

/// Caps glibc's malloc at two arenas, unless `MALLOC_ARENA_MAX` says otherwise. By default
/// it gives each thread that allocates an arena of its own, up to eight per core, and
/// keeps what each one held: the daemon's tokio workers, blocking threads and SQLite
/// connection threads, serving pages while ingesting, grew from 25 MB to over 60 MB that
/// way run after run (`benches/portal.rs`); with two arenas it levels off near 46 MB, at
/// the same speed.
fn bound_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a tunable of the allocator; it is called before any
        // other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
