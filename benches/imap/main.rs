//! `ticketgate run` against a private Dovecot and a local SMTP server, three measurements:
//!
//! - `throughput`: the benchmark mix APPENDed to INBOX first (not timed), then the daemon
//!   started on it; mails per second from its start to the last message it committed, and
//!   its CPU seconds per 1,000 mails up to that moment.
//! - `latency`: the daemon IDLEing on the mailbox and sending over SMTP; new-ticket mails
//!   APPENDed as a steady stream, then one at a time; for each, the time from the end of
//!   its APPEND to the SMTP server accepting its acknowledgement.
//! - `outbox`: notifications queued by `ticketgate ingest` (daemon stopped), then the
//!   daemon started; notifications per second delivered to the SMTP server.
//! - `backlog`: the mix APPENDed first, then the daemon started with the SMTP server
//!   configured; how soon the acknowledgements go out while the backlog is read.
//!
//! `cargo bench --bench imap` runs all four; `cargo bench --bench imap -- latency` (or
//! `throughput`, `outbox`, `backlog`) one. Dovecot or aiosmtpd missing: one line, and the parts that
//! need it are skipped. Environment: `BENCH_MAILS` (throughput and backlog mails, 10000),
//! `BENCH_RUNS` (throughput, outbox and backlog runs, 3), `BENCH_SEED` (1), `BENCH_LATENCY_MAILS` (the stream,
//! 1000), `BENCH_LATENCY_RATE` (its mails per second, 20), `BENCH_LATENCY_ISOLATED` (mails
//! one at a time, 20), `BENCH_OUTBOX` (notifications, 2000), `BENCH_POSTGRES` (a server URL
//! without a database name: the outbox part on a fresh database of that server),
//! `BENCH_BIN` (another ticketgate binary), `BENCH_KEEP=1` (keep the work directory).

#[allow(dead_code)]
#[path = "../../tests/support/dovecot.rs"]
mod dovecot;
#[allow(dead_code)]
#[path = "../../tests/support/postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../../tests/support/smtp_sink.rs"]
mod smtp_sink;
#[path = "../support/mod.rs"]
mod support;

mod backlog;
mod daemon;
mod latency;
mod outbox;
mod throughput;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// What every part is given.
pub struct Bench {
    pub binary: PathBuf,
    /// A temporary directory for this whole run of the bench.
    pub work: PathBuf,
    pub seed: u64,
    pub runs: usize,
}

/// Reads a `BENCH_*` variable, or the default when it is unset or does not parse.
pub fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; the first other argument selects parts by name.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    if !["throughput", "latency", "outbox", "backlog"]
        .iter()
        .any(|p| wanted(p))
    {
        return;
    }
    let work = tempfile::Builder::new()
        .prefix("ticketgate-bench-imap-")
        .tempdir()
        .expect("cannot create the work directory");
    let bench = Bench {
        binary: std::env::var_os("BENCH_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ticketgate"))),
        work: work.path().to_path_buf(),
        seed: env_or("BENCH_SEED", 1),
        runs: env_or("BENCH_RUNS", 3),
    };
    println!("binary: {}", bench.binary.display());
    if wanted("throughput") {
        throughput::run(&bench).await;
    }
    if wanted("latency") {
        latency::run(&bench).await;
    }
    if wanted("outbox") {
        outbox::run(&bench).await;
    }
    if wanted("backlog") {
        backlog::run(&bench).await;
    }
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("kept {}", work.keep().display());
    }
}

/// The value below which `p` percent of the sorted `values` lie (nearest rank).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Prints `label: median (min, max)` of `values`.
pub fn summary(label: &str, unit: &str, values: &[f64]) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return;
    }
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    println!(
        "{label:<28} median {median:>9.3} {unit:<16} (min {:.3}, max {:.3})",
        sorted[0],
        sorted[n - 1]
    );
}

/// Seconds from `earlier` to `later` on the wall clock (negative if `later` is earlier).
pub fn secs_between(earlier: std::time::SystemTime, later: std::time::SystemTime) -> f64 {
    match later.duration_since(earlier) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// The Message-ID header of a generated mail, angle brackets included.
pub fn message_id(mail: &[u8]) -> String {
    let head = &mail[..mail.len().min(4096)];
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: ").map(|v| v.trim().to_string()))
        .expect("a generated mail has a Message-ID")
}

/// Copies a directory tree (files and directories only).
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// How long to wait for work of `count` items at no less than `per_sec`, plus a margin.
pub fn patience(count: usize, per_sec: f64) -> Duration {
    Duration::from_secs_f64(60.0 + count as f64 / per_sec)
}
