//! Outbox throughput: new-ticket mails of the mix are ingested with `ticketgate ingest`
//! while no daemon runs (not timed), which queues one "ticket opened" notification per
//! ticket. Each run copies that data directory, starts `ticketgate run` with the SMTP sink
//! configured, and times from the spawn until the sink accepted the last notification.
//! With `BENCH_POSTGRES` (a server URL without a database name), the same on PostgreSQL:
//! each run ingests the mails into a fresh database of that server (not timed), then times
//! the daemon as above.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use crate::daemon::{Daemon, command, smtp_section, write_config};
use crate::smtp_sink::SmtpSink;
use crate::support::child::process_cpu_secs;
use crate::support::mailgen::MailGen;
use crate::{Bench, copy_tree, env_or, patience, secs_between, summary};

/// Log lines of notifications handled without reaching the server.
const NOT_SENT: &[&str] = &[
    "notification skipped",
    "notification held back",
    "refused for good",
    "marked failed",
    "given up",
];

/// What one run measured.
struct RunCost {
    sent: usize,
    /// From the spawn to the last notification accepted by the sink.
    wall_secs: f64,
    /// From the spawn to the first notification accepted.
    first_secs: f64,
    /// The daemon's CPU when the bench saw the last one.
    cpu_secs: f64,
    /// The SMTP sink's CPU over the same time.
    sink_cpu_secs: f64,
}

pub async fn run(bench: &Bench) {
    let count: usize = env_or("BENCH_OUTBOX", 2000);
    println!(
        "--- outbox: {count} queued acknowledgements sent over SMTP by ticketgate run{} ---",
        if std::env::var_os("BENCH_POSTGRES").is_some() {
            ", on PostgreSQL"
        } else {
            ""
        }
    );
    // Checks for aiosmtpd before the ingest, to skip at once when it is missing.
    if SmtpSink::start().is_none() {
        return;
    }
    let postgres = std::env::var("BENCH_POSTGRES")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let template = bench.work.join("outbox-template");
    let mut queued = match postgres {
        Some(_) => 0,
        None => queue(bench, &template, count, ""),
    };
    let mut costs = Vec::new();
    // Every run's server (its messages) and directory are deleted after the last run, not
    // between runs: ext4 allocates inodes slowly for a while after thousands of files were
    // deleted, which made each run's server slower than the one before.
    let mut done = Vec::new();
    for run in 1..=bench.runs {
        let sink = SmtpSink::start().expect("the SMTP sink started a moment ago");
        let dir = bench.work.join(format!("outbox-{run}"));
        // Dropped (the database with it) at the end of the run.
        let mut database = None;
        let config = match &postgres {
            Some(server) => {
                let db = crate::postgres::PgDatabase::create(server).await;
                db.wait_for_the_disk_at_each_commit().await;
                let section = format!("[database]\nurl = \"{}\"\n", db.url());
                database = Some(db);
                queued = queue(bench, &dir, count, &section);
                format!("{section}{}", smtp_section(sink.port))
            }
            None => {
                copy_tree(&template.join("data"), &dir.join("data")).expect("cannot copy the data");
                smtp_section(sink.port)
            }
        };
        write_config(&dir, &config);
        let cost = one_run(bench, &dir, &sink, queued);
        drop(database);
        println!(
            "run {run}: {} sent in {:.2} s from start ({:.0}/s), first after {:.2} s, \
             daemon CPU {:.3} s per 1,000, SMTP sink CPU {:.3} s per 1,000",
            cost.sent,
            cost.wall_secs,
            cost.sent as f64 / cost.wall_secs,
            cost.first_secs,
            cost.cpu_secs * 1000.0 / cost.sent as f64,
            cost.sink_cpu_secs * 1000.0 / cost.sent as f64,
        );
        costs.push(cost);
        done.push((sink, dir));
    }
    report(&costs);
    for (_, dir) in done {
        if std::env::var_os("BENCH_KEEP").is_none() {
            std::fs::remove_dir_all(&dir).ok();
        }
    }
}

/// Writes `count` new mails of the mix into a Maildir and ingests them in `template`
/// (embedded defaults, plus `config`); returns how many tickets were opened, each with one
/// notification.
fn queue(bench: &Bench, template: &Path, count: usize, config: &str) -> usize {
    write_config(template, config);
    let started = Instant::now();
    let new = template.join("mail/new");
    std::fs::create_dir_all(&new).expect("cannot create the Maildir");
    for sub in ["cur", "tmp"] {
        std::fs::create_dir_all(template.join("mail").join(sub)).expect("Maildir");
    }
    let mut generator = MailGen::new(bench.seed);
    let mails = std::iter::from_fn(|| Some(generator.next_mail()))
        .filter(|(shape, _)| !shape.reply)
        .take(count);
    for (i, (_, mail)) in mails.enumerate() {
        std::fs::write(new.join(format!("{i:06}.bench")), mail).expect("cannot write a mail");
    }
    let output = command(&bench.binary, template)
        .arg("ingest")
        .arg(template.join("mail"))
        .output()
        .expect("cannot run ticketgate ingest");
    assert!(
        output.status.success(),
        "ticketgate ingest failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.contains(": created "))
        .count();
    println!(
        "queued {created} notifications by ingesting {count} new mails in {:.1} s (not timed)",
        started.elapsed().as_secs_f64()
    );
    created
}

fn one_run(bench: &Bench, dir: &Path, sink: &SmtpSink, queued: usize) -> RunCost {
    let sink_cpu_before = process_cpu_secs(sink.pid()).unwrap_or(0.0);
    let mut daemon = Daemon::start(&bench.binary, dir);
    let mut not_sent = 0;
    let deadline = Instant::now() + patience(queued, 20.0);
    let arrivals = loop {
        not_sent += daemon
            .new_log_lines()
            .iter()
            .filter(|l| NOT_SENT.iter().any(|n| l.contains(n)))
            .count();
        let arrivals = sink.arrivals();
        if arrivals.len() + not_sent >= queued {
            break arrivals;
        }
        daemon.assert_running();
        assert!(
            Instant::now() < deadline,
            "{} of {queued} notifications sent within {:?}",
            arrivals.len(),
            patience(queued, 20.0)
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let cpu_secs = daemon.cpu_secs();
    let sink_cpu_secs = process_cpu_secs(sink.pid()).unwrap_or(0.0) - sink_cpu_before;
    if not_sent > 0 {
        println!("{not_sent} notifications were not sent (skipped, held or failed: see the log)");
    }
    let started = daemon.started;
    daemon.stop();
    let time = |a: Option<&crate::smtp_sink::Arrival>| a.map_or(SystemTime::now(), |a| a.at);
    RunCost {
        sent: arrivals.len(),
        wall_secs: secs_between(started, time(arrivals.last())),
        first_secs: secs_between(started, time(arrivals.first())),
        cpu_secs,
        sink_cpu_secs,
    }
}

fn report(costs: &[RunCost]) {
    if costs.is_empty() {
        return;
    }
    println!("--- outbox: {} runs ---", costs.len());
    let values = |f: &dyn Fn(&RunCost) -> f64| costs.iter().map(f).collect::<Vec<_>>();
    summary("start to last accepted", "s", &values(&|c| c.wall_secs));
    summary(
        "notifications per second",
        "/s",
        &values(&|c| c.sent as f64 / c.wall_secs),
    );
    summary("start to first accepted", "s", &values(&|c| c.first_secs));
    summary(
        "daemon CPU per 1,000",
        "s",
        &values(&|c| c.cpu_secs * 1000.0 / c.sent as f64),
    );
    summary(
        "SMTP sink CPU per 1,000",
        "s",
        &values(&|c| c.sink_cpu_secs * 1000.0 / c.sent as f64),
    );
}
