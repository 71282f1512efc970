//! Ingest throughput through IMAP: the benchmark mix is APPENDed to INBOX of a private
//! Dovecot (not timed), then `ticketgate run` is started on it with the embedded defaults
//! plus the `[[mailbox]]`. Timed from the daemon's spawn until INBOX is empty: every mail
//! committed and moved to Processed (the daemon moves a batch once it is committed). The
//! bench follows the daemon's log until every mail was handled, then asks Dovecot every
//! 10 ms; the daemon's CPU (user + system, every thread) is read from /proc at that
//! moment. Each run starts on a fresh data directory, with the same mails moved back from
//! Processed to INBOX.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use tokio::net::TcpStream;

use crate::daemon::{Daemon, PASSWORD, USER, line_field, mailbox_section, write_config};
use crate::dovecot::Dovecot;
use crate::support::mailgen::{Body, MailGen};
use crate::{Bench, env_or, patience, secs_between, summary};

pub type Session = async_imap::Session<TcpStream>;

/// What one run measured.
struct RunCost {
    /// From the spawn to INBOX found empty.
    wall_secs: f64,
    /// The daemon's CPU at that moment.
    cpu_secs: f64,
    /// Its peak RSS over its whole life.
    max_rss_kib: i64,
    /// Notifications the file transport had written by the time INBOX was empty.
    outbox_files: usize,
    outcomes: BTreeMap<String, usize>,
}

pub async fn run(bench: &Bench) {
    let mails: usize = env_or("BENCH_MAILS", 10_000);
    println!("--- throughput: {mails} mails read from IMAP by ticketgate run ---");
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let mut session = dovecot.session(USER).await;
    append_mix(&mut session, mails, bench.seed).await;
    let mut costs = Vec::new();
    for run in 1..=bench.runs {
        if run > 1 {
            move_back(&mut session, mails).await;
        }
        let dir = bench.work.join(format!("throughput-{run}"));
        write_config(&dir, &mailbox_section(dovecot.port()));
        let cost = one_run(bench, &dir, mails, &mut session).await;
        println!(
            "run {run}: {:.2} s from start to INBOX empty, {:.0} mails/s, {:.3} CPU s per \
             1,000 mails, peak RSS {:.0} MB, {} notifications written by then, outcomes {:?}",
            cost.wall_secs,
            mails as f64 / cost.wall_secs,
            cost.cpu_secs * 1000.0 / mails as f64,
            cost.max_rss_kib as f64 / 1024.0,
            cost.outbox_files,
            cost.outcomes,
        );
        costs.push(cost);
        if std::env::var_os("BENCH_KEEP").is_none() {
            std::fs::remove_dir_all(&dir).ok();
        }
    }
    let _ = session.logout().await;
    report(mails, &costs);
}

/// APPENDs `count` mails of the mix to INBOX, in generation order (replies after what they
/// answer), over one session.
pub async fn append_mix(session: &mut Session, count: usize, seed: u64) {
    let started = Instant::now();
    let mut generator = MailGen::new(seed);
    let (mut bytes, mut replies, mut attachments, mut html) = (0u64, 0, 0, 0);
    for _ in 0..count {
        let (shape, mail) = generator.next_mail();
        session
            .append("INBOX", None, None, &mail)
            .await
            .expect("APPEND to INBOX");
        bytes += mail.len() as u64;
        replies += usize::from(shape.reply);
        attachments += usize::from(shape.attachment);
        html += usize::from(shape.body == Body::HtmlOnly);
    }
    println!(
        "generated and APPENDed {count} mails ({:.1} MB; {replies} replies, {attachments} with \
         a 200 KB attachment, {html} HTML-only) in {:.1} s (not timed)",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
}

/// Moves every message of Processed back to INBOX, in the order they were moved there (the
/// order of their UIDs in INBOX before: generation order).
pub async fn move_back(session: &mut Session, expected: usize) {
    let processed = session.select("Processed").await.expect("SELECT Processed");
    assert_eq!(processed.exists as usize, expected, "messages in Processed");
    session
        .uid_mv("1:*", "INBOX")
        .await
        .expect("UID MOVE back to INBOX");
    session.close().await.expect("CLOSE Processed");
    while session.unsolicited_responses.try_recv().is_ok() {}
}

/// Waits, asking every 10 ms, until INBOX is empty once every mail was handled (the last
/// batch is committed, then moved to Processed); says when it found it so.
pub async fn wait_until_empty(session: &mut Session) -> SystemTime {
    let deadline = Instant::now() + Duration::from_secs(30);
    while inbox_count(session).await > 0 {
        assert!(
            Instant::now() < deadline,
            "INBOX not emptied 30 s after the last mail was handled"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    SystemTime::now()
}

pub async fn inbox_count(session: &mut Session) -> u32 {
    let status = session
        .status("INBOX", "(MESSAGES)")
        .await
        .expect("STATUS INBOX");
    while session.unsolicited_responses.try_recv().is_ok() {}
    status.exists
}

async fn one_run(
    bench: &Bench,
    dir: &std::path::Path,
    mails: usize,
    session: &mut Session,
) -> RunCost {
    assert_eq!(inbox_count(session).await as usize, mails, "mails in INBOX");
    let mut daemon = Daemon::start(&bench.binary, dir);
    let mut handled = 0;
    let mut outcomes = BTreeMap::new();
    // Following the log costs less than asking Dovecot all along.
    daemon.follow_until("every mail handled", patience(mails, 20.0), |lines| {
        for line in lines.iter().filter(|l| l.contains("message handled")) {
            handled += 1;
            let outcome = line_field(line, "outcome").unwrap_or("?");
            let kind = outcome.split('(').next().unwrap_or(outcome);
            *outcomes.entry(kind.to_string()).or_insert(0) += 1;
        }
        handled >= mails
    });
    let emptied = wait_until_empty(session).await;
    let cpu_secs = daemon.cpu_secs();
    let outbox_files = std::fs::read_dir(dir.join("data/outbox")).map_or(0, |d| d.count());
    let started = daemon.started;
    let stopped = daemon.stop();
    RunCost {
        wall_secs: secs_between(started, emptied),
        cpu_secs,
        max_rss_kib: stopped.max_rss_kib,
        outbox_files,
        outcomes,
    }
}

fn report(mails: usize, costs: &[RunCost]) {
    if costs.is_empty() {
        return;
    }
    let n = mails as f64;
    println!("--- throughput: {} runs of {mails} mails ---", costs.len());
    let values = |f: &dyn Fn(&RunCost) -> f64| costs.iter().map(f).collect::<Vec<_>>();
    summary("start to INBOX empty", "s", &values(&|c| c.wall_secs));
    summary("throughput", "mails/s", &values(&|c| n / c.wall_secs));
    summary(
        "CPU per 1,000 mails",
        "s",
        &values(&|c| c.cpu_secs * 1000.0 / n),
    );
    summary(
        "CPU utilisation",
        "cores",
        &values(&|c| c.cpu_secs / c.wall_secs),
    );
    summary(
        "peak RSS",
        "MB",
        &values(&|c| c.max_rss_kib as f64 / 1024.0),
    );
}
