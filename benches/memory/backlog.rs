//! The daemon started with 49 MB mails already waiting in its Maildir: one, then five
//! (the 8bit HTML mail, each copy with a Message-ID of its own, so five tickets). Large
//! mails are read one at a time, so the peak should not grow with the number waiting.
//!
//! Each run starts `ticketgate run` in a fresh directory whose `data/inbox/new/` holds
//! the mails, waits until all are in cur/ (committed) and the acknowledgements are
//! written, and reads VmHWM (the run's peak) and VmRSS (what the daemon keeps) from
//! /proc/PID/status before stopping it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::large::{mail_path, verdict};
use crate::mails::{Large, copy_with_id};
use crate::support::child::{self, proc_status_kib};
use crate::{count, mb, show, wait_for, wait_for_files};

/// How many mails wait at start, in the runs compared: `BENCH_WAITING`, a list such as
/// `1,5,10`.
fn waiting() -> Vec<usize> {
    let list = std::env::var("BENCH_WAITING").unwrap_or_else(|_| "1,5".into());
    let counts: Vec<usize> = list
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .filter(|&n| n > 0)
        .collect();
    assert!(!counts.is_empty(), "BENCH_WAITING: counts such as 1,5");
    counts
}

/// One daemon run.
pub struct Waiting {
    waiting: usize,
    /// The run's peak and what it holds once done, KiB.
    hwm: i64,
    rss_after: i64,
    /// From the spawn until the last mail is in cur/, and until the last notification.
    handled_secs: f64,
    notified_secs: f64,
}

/// Runs the part: `runs` times one mail waiting, then five (`BENCH_WAITING`). Copies the
/// 8bit HTML mail that `large::bench` wrote, or writes it.
pub fn bench(binary: &Path, work: &Path, runs: usize) -> Vec<Waiting> {
    let source = mail_path(work, Large::Html8bit);
    if !source.exists() {
        std::fs::create_dir_all(work.join("large")).expect("cannot create the mails' directory");
        Large::Html8bit
            .write(&source, "large-html-8bit")
            .expect("cannot write the large mail");
    }
    let counts = waiting();
    let most = counts.iter().copied().max().unwrap_or(1);
    let mails: Vec<PathBuf> = (1..=most)
        .map(|i| {
            let path = work.join("large").join(format!("waiting-{i}.eml"));
            copy_with_id(&source, &path, &format!("large-waiting-{i}")).expect("cannot copy");
            path
        })
        .collect();
    child::reset_peak();
    let keep = std::env::var_os("BENCH_KEEP").is_some();
    let mut all = Vec::new();
    for run in 1..=runs {
        for &n in &counts {
            let dir = work.join(format!("waiting-{n}-{run}"));
            let w = daemon_run(binary, &dir, &mails[..n]);
            println!(
                "run {run}, daemon with {n} waiting: all in cur/ after {:.2} s, last \
                 notification after {:.2} s; VmHWM {:.1} MB, VmRSS after {:.1} MB",
                w.handled_secs,
                w.notified_secs,
                mb(w.hwm),
                mb(w.rss_after)
            );
            all.push(w);
            if !keep {
                std::fs::remove_dir_all(&dir).ok();
            }
        }
    }
    all
}

/// Starts the daemon in `dir` with `mails` in its Maildir's new/, until all are handled
/// and notified.
fn daemon_run(binary: &Path, dir: &Path, mails: &[PathBuf]) -> Waiting {
    let inbox = dir.join("data/inbox");
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(inbox.join(sub)).expect("cannot create the Maildir");
    }
    for (i, mail) in mails.iter().enumerate() {
        let to = inbox
            .join("new")
            .join(format!("17900000{i:02}.M{i}P1.bench"));
        // A link costs no copy; the daemon only renames the file into cur/.
        std::fs::hard_link(mail, &to)
            .or_else(|_| std::fs::copy(mail, &to).map(drop))
            .expect("cannot deliver a mail");
    }
    let log = dir.join("daemon.log");
    let (daemon, started) = child::spawn_daemon(binary, dir, &[], &log);
    let pid = daemon.id();
    let n = mails.len();
    let limit = Duration::from_secs(60 + 60 * n as u64);
    wait_for("the mails to be handled", &log, limit, || {
        count(&inbox.join("cur")) == n
    });
    let handled_secs = started.elapsed().as_secs_f64();
    let last = wait_for_files(&dir.join("data/outbox"), n, &log, limit);
    let notified_secs = last.duration_since(started).as_secs_f64();
    let status = |key| proc_status_kib(pid, key).expect("the daemon's /proc status");
    let (hwm, rss_after) = (status("VmHWM"), status("VmRSS"));

    child::stop_daemon(daemon, started, &log);
    Waiting {
        waiting: n,
        hwm,
        rss_after,
        handled_secs,
        notified_secs,
    }
}

/// The peaks with one and with five waiting, and whether five cost what one does.
pub fn summary(all: &[Waiting]) {
    println!("--- summary: the daemon with 49 MB mails waiting at start ---");
    let mut medians = Vec::new();
    let counts = waiting();
    for &n in &counts {
        let runs: Vec<&Waiting> = all.iter().filter(|w| w.waiting == n).collect();
        let figure = |f: fn(&Waiting) -> f64| runs.iter().map(|w| f(w)).collect::<Vec<f64>>();
        let peaks = figure(|w| mb(w.hwm));
        medians.push(crate::support::child::spread(&mut peaks.clone()).0);
        println!(
            "{n} waiting: VmHWM MB {}, VmRSS after {}, all in cur/ after s {}, last \
             notification after s {}: {}",
            show(peaks.clone()),
            show(figure(|w| mb(w.rss_after))),
            show(figure(|w| w.handled_secs)),
            show(figure(|w| w.notified_secs)),
            verdict(&peaks, 200.0)
        );
    }
    let (first, last) = (medians[0], medians[medians.len() - 1]);
    println!(
        "{} waiting against {}: {:+.1} MB ({:+.1}%) on the median peak",
        counts[counts.len() - 1],
        counts[0],
        last - first,
        100.0 * (last - first) / first
    );
}
