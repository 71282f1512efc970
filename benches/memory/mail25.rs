//! The daemon at rest, and one 25 MB mail (`BENCH_MAIL_MB`): a text/plain body of 25 MB
//! (UTF-8, 8bit), and a short text with a 25 MB base64 attachment part (about 18 MB
//! decoded; the default `max_attachment_bytes` is 2 MB, so it is refused and the ticket
//! says so).
//!
//! - daemon at rest: VmRSS and VmHWM from /proc/PID/status after `BENCH_SETTLE_SECS` (3)
//!   with no mail;
//! - daemon with one mail: the mail is delivered into its Maildir (tmp/ then new/), and
//!   once it is in cur/ and the notifications are written, VmHWM (the peak of the whole
//!   run) and VmRSS (what it keeps after);
//! - ingest: the peak RSS of `ticketgate ingest FILE` (wait4 ru_maxrss).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::child::{self, proc_status_kib, spread};
use crate::{count, len, mails, mb, wait_for, wait_for_files};

/// What the daemon held in one run, in KiB.
struct DaemonRun {
    idle_rss: i64,
    idle_hwm: i64,
    /// After the mail: the run's peak, and what it still holds.
    with_mail: Option<(i64, i64)>,
    handled_secs: f64,
}

/// Runs the part: `runs` daemon runs and `ingest` runs of each mail, in `work`.
pub fn bench(binary: &Path, work: &Path, runs: usize, settle: Duration, mail_bytes: u64) {
    let text_mail = work.join("text.eml");
    let attachment_mail = work.join("attachment.eml");
    mails::write_text_mail(&text_mail, mail_bytes).expect("cannot write the text mail");
    let attached =
        mails::write_attachment_mail(&attachment_mail, mail_bytes).expect("cannot write the mail");
    println!(
        "mails: text {} bytes (text/plain body); attachment {} bytes ({attached} bytes \
         decoded, base64)",
        len(&text_mail),
        len(&attachment_mail)
    );
    child::reset_peak();
    println!(
        "this bench process holds {:.1} MB: a child's ru_maxrss cannot read lower",
        child::own_rss_kib() as f64 / 1024.0
    );

    let mut daemon = Vec::new();
    for run in 1..=runs {
        for (kind, mail) in [("text", &text_mail), ("attachment", &attachment_mail)] {
            let dir = work.join(format!("daemon-{kind}-{run}"));
            let d = daemon_run(binary, &dir, mail, settle);
            let (hwm, rss) = d.with_mail.expect("the mail was handled");
            println!(
                "daemon run {run}, {kind} mail: at rest VmRSS {:.1} MB (VmHWM {:.1}); mail \
                 handled in {:.2} s; VmHWM {:.1} MB, VmRSS after {:.1} MB",
                mb(d.idle_rss),
                mb(d.idle_hwm),
                d.handled_secs,
                mb(hwm),
                mb(rss)
            );
            daemon.push((kind, d));
        }
    }

    let mut ingest: Vec<(&str, child::Cost, String)> = Vec::new();
    for run in 1..=runs {
        for (kind, mail) in [("text", &text_mail), ("attachment", &attachment_mail)] {
            let dir = work.join(format!("ingest-{kind}-{run}"));
            std::fs::create_dir_all(&dir).expect("cannot create the run directory");
            let mail = mail.display().to_string();
            let out = dir.join("ingest.out");
            let cost = child::run(
                child::command(binary, &dir, &["ingest", &mail], &[]),
                &out,
                &dir.join("ingest.log"),
            );
            let line = std::fs::read_to_string(&out).unwrap_or_default();
            println!(
                "ingest run {run}, {kind} mail: peak RSS {:.1} MB, {:.2} s, {:.2} CPU s: {}",
                mb(cost.max_rss_kib),
                cost.wall_secs,
                cost.cpu_secs,
                line.trim()
            );
            ingest.push((kind, cost, line));
        }
    }

    for kind in ["text", "attachment"] {
        crate::describe::ticket(kind, &work.join(format!("ingest-{kind}-1")));
    }
    summary(&daemon, &ingest);
}

/// Starts `ticketgate run` in `dir`, reads its memory at rest, delivers `mail` into its
/// Maildir, waits until it is handled and notified, reads its memory again, stops it.
fn daemon_run(binary: &Path, dir: &Path, mail: &Path, settle: Duration) -> DaemonRun {
    std::fs::create_dir_all(dir).expect("cannot create the run directory");
    let log = dir.join("daemon.log");
    let (daemon, started) = child::spawn_daemon(binary, dir, &[], &log);
    let pid = daemon.id();
    let inbox = dir.join("data/inbox");
    let minute = Duration::from_secs(60);
    wait_for("the daemon to watch its Maildir", &log, minute, || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("watching Maildir"))
    });
    std::thread::sleep(settle);
    let status = |key| proc_status_kib(pid, key).expect("the daemon's /proc status");
    let (idle_rss, idle_hwm) = (status("VmRSS"), status("VmHWM"));

    let name = "1790000000.M1P1.bench";
    std::fs::copy(mail, inbox.join("tmp").join(name)).expect("cannot deliver the mail");
    let delivered = Instant::now();
    std::fs::rename(inbox.join("tmp").join(name), inbox.join("new").join(name))
        .expect("cannot deliver the mail");
    wait_for("the mail to be handled", &log, minute, || {
        count(&inbox.join("cur")) > 0
    });
    let handled_secs = delivered.elapsed().as_secs_f64();
    // The notifications (acknowledgement, refused file) go out after the commit: wait
    // until their files stop appearing.
    wait_for_files(&dir.join("data/outbox"), 1, &log, minute);
    let with_mail = Some((status("VmHWM"), status("VmRSS")));

    child::stop_daemon(daemon, started, &log);
    DaemonRun {
        idle_rss,
        idle_hwm,
        with_mail,
        handled_secs,
    }
}

fn summary(daemon: &[(&str, DaemonRun)], ingest: &[(&str, child::Cost, String)]) {
    let show = |mut values: Vec<f64>| {
        let (median, min, max) = spread(&mut values);
        format!("median {median:>6.1} MB (min {min:.1}, max {max:.1})")
    };
    println!("--- summary (targets: at rest ≤ 30 MB; one 25 MB mail ≤ 150 MB) ---");
    let at_rest: Vec<f64> = daemon.iter().map(|(_, d)| mb(d.idle_rss)).collect();
    let at_rest_hwm: Vec<f64> = daemon.iter().map(|(_, d)| mb(d.idle_hwm)).collect();
    println!("daemon at rest, VmRSS:            {}", show(at_rest));
    println!("daemon at rest, VmHWM:            {}", show(at_rest_hwm));
    for kind in ["text", "attachment"] {
        let runs: Vec<&DaemonRun> = daemon
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, d)| d)
            .collect();
        let peak = runs.iter().filter_map(|d| d.with_mail.map(|m| mb(m.0)));
        let after = runs.iter().filter_map(|d| d.with_mail.map(|m| mb(m.1)));
        println!("daemon, {kind:<10} mail, VmHWM: {}", show(peak.collect()));
        println!("daemon, {kind:<10} mail, after: {}", show(after.collect()));
        let peaks = ingest
            .iter()
            .filter(|(k, ..)| *k == kind)
            .map(|(_, c, _)| mb(c.max_rss_kib));
        println!("ingest, {kind:<10} mail, peak:  {}", show(peaks.collect()));
    }
}
