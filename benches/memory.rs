//! Memory of the release binary: the daemon (`ticketgate run`, embedded defaults) at rest,
//! and the peak for one 25 MB mail, as the daemon handles it from its Maildir and as
//! `ticketgate ingest FILE` does (`memory/mail25.rs`).
//!
//! Each run starts in a fresh directory with every `TICKETGATE_*` variable removed. The
//! mails are generated as they are written (`memory/mails.rs`).
//!
//! `cargo bench --bench memory`; environment: `BENCH_RUNS` (3), `BENCH_SETTLE_SECS` (3),
//! `BENCH_MAIL_MB` (25), `BENCH_BIN` (another ticketgate binary), `BENCH_KEEP=1` (keep the
//! work directory: the mails, each run's data directory and log).

mod support;

#[path = "memory/describe.rs"]
mod describe;
#[path = "memory/mail25.rs"]
mod mail25;
#[path = "memory/mails.rs"]
mod mails;

use std::path::Path;
use std::time::{Duration, Instant};

use support::child::{self, env_or};

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !"memory".contains(&f)) {
        return;
    }
    let runs: usize = env_or::<usize>("BENCH_RUNS", 3).max(1);
    let settle = Duration::from_secs_f64(env_or("BENCH_SETTLE_SECS", 3.0));
    let mail_bytes: u64 = env_or::<u64>("BENCH_MAIL_MB", 25) * 1_000_000;
    let binary = child::binary();
    let work = tempfile::Builder::new()
        .prefix("ticketgate-memory-")
        .tempdir()
        .expect("cannot create the work directory");
    println!("binary: {}", binary.display());
    mail25::bench(&binary, work.path(), runs, settle, mail_bytes);
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
