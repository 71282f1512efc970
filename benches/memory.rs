//! Memory of the release binary, in two parts (a filter argument picks one: `-- 25mb`,
//! `-- large`, or half of the second: `-- ingest`, `-- waiting`):
//!
//! - **25mb** (`memory/mail25.rs`): the daemon (`ticketgate run`, embedded defaults) at
//!   rest, and the peak for one 25 MB mail, as the daemon handles it from its Maildir and
//!   as `ticketgate ingest FILE` does;
//! - **large** (`memory/large.rs`, `memory/backlog.rs`): mails of 49 MB, under the default
//!   `max_message_bytes` of 50 MiB: the peak and time of `ingest` for four kinds of new
//!   mail and two answers (text, HTML) on a ticket with an observer, the peak of `outbox
//!   flush` rendering their notifications (against the floor of a flush with nothing to
//!   send and of `outbox list`), and the daemon's peak with one or five of them waiting in
//!   its Maildir at start.
//!
//! Each run starts in a fresh directory with every `TICKETGATE_*` variable removed. The
//! mails are generated as they are written (`memory/mails.rs`).
//!
//! `cargo bench --bench memory`; environment: `BENCH_RUNS` (3), `BENCH_SETTLE_SECS` (3),
//! `BENCH_MAIL_MB` (25, the first part's mails), `BENCH_WAITING` (1,5: how many large
//! mails wait for the daemon, run by run), `BENCH_BIN` (another ticketgate binary),
//! `BENCH_KEEP=1` (keep the work directory: the mails, each run's data directory and log).

mod support;

#[path = "memory/backlog.rs"]
mod backlog;
#[path = "memory/describe.rs"]
mod describe;
#[path = "memory/large.rs"]
mod large;
#[path = "memory/mail25.rs"]
mod mail25;
#[path = "memory/mails.rs"]
mod mails;

use std::path::Path;
use std::time::{Duration, Instant};

use support::child::{self, env_or, spread};

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |part: &str| filter.as_deref().is_none_or(|f| part.contains(f));
    let small = wanted("memory 25mb");
    let (ingest, waiting) = (
        wanted("memory large ingest"),
        wanted("memory large waiting"),
    );
    if !small && !ingest && !waiting {
        return;
    }
    let runs: usize = env_or::<usize>("BENCH_RUNS", 3).max(1);
    let binary = child::binary();
    let work = tempfile::Builder::new()
        .prefix("ticketgate-memory-")
        .tempdir()
        .expect("cannot create the work directory");
    println!("binary: {}", binary.display());
    if small {
        let settle = Duration::from_secs_f64(env_or("BENCH_SETTLE_SECS", 3.0));
        let mail_bytes: u64 = env_or::<u64>("BENCH_MAIL_MB", 25) * 1_000_000;
        mail25::bench(&binary, work.path(), runs, settle, mail_bytes);
    }
    let started = Instant::now();
    let measured = ingest.then(|| large::bench(&binary, work.path(), runs));
    let waited = waiting.then(|| backlog::bench(&binary, work.path(), runs));
    if let Some(measured) = &measured {
        large::summary(measured);
    }
    if let Some(waited) = &waited {
        backlog::summary(waited);
    }
    if ingest || waiting {
        let secs = started.elapsed().as_secs_f64();
        println!("large mails: {secs:.0} s in all");
    }
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("kept {}", work.keep().display());
    }
}

/// Waits up to `limit` until `done`, checking every 20 ms; `what` and the log to read
/// are in the panic when it does not come.
fn wait_for(what: &str, log: &Path, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; see {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until files stop appearing in `dir` for a second, at least `least` of them there;
/// when the last one appeared (as seen every 20 ms).
fn wait_for_files(dir: &Path, least: usize, log: &Path, limit: Duration) -> Instant {
    let mut last = (0, Instant::now());
    wait_for("the notifications to be written", log, limit, || {
        let n = count(dir);
        if n != last.0 {
            last = (n, Instant::now());
        }
        n >= least.max(1) && last.1.elapsed() > Duration::from_secs(1)
    });
    last.1
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn mb(kib: i64) -> f64 {
    kib as f64 / 1024.0
}

/// `median (min–max)` of `values`, one decimal.
fn show(mut values: Vec<f64>) -> String {
    let (median, min, max) = spread(&mut values);
    format!("{median:.1} ({min:.1}–{max:.1})")
}
