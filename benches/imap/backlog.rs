//! Acknowledgements during a backlog: the benchmark mix is APPENDed to INBOX (not timed),
//! then `ticketgate run` is started on it with the SMTP sink configured, so that the intake
//! and the outbox share the database while the backlog is read. For every mail that gets
//! an acknowledgement, the time from its "message handled" log line (written as it joins
//! the batch whose commit follows) to the moment the sink accepted the notification that
//! answers it (its In-Reply-To names the mail). Also: when the first acknowledgement came
//! after the first mail was handled, how many had been accepted when INBOX was empty, and
//! the backlog's own rate (from the spawn to INBOX empty, as `throughput` times it).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use crate::daemon::{Daemon, USER, mailbox_section, smtp_section, write_config};
use crate::dovecot::Dovecot;
use crate::latency::{bare, record_commits};
use crate::smtp_sink::SmtpSink;
use crate::throughput::{append_mix, inbox_count, move_back, wait_until_empty};
use crate::{Bench, env_or, patience, percentile, secs_between, summary};

/// What one run measured.
struct RunCost {
    /// From the spawn to INBOX found empty.
    wall_secs: f64,
    /// From the first mail handled to the first acknowledgement accepted.
    first_ack_secs: f64,
    /// Handled to accepted, for every acknowledged mail, sorted.
    delays: Vec<f64>,
    /// Acknowledgements accepted by the time INBOX was empty.
    acked_when_empty: usize,
}

pub async fn run(bench: &Bench) {
    let mails: usize = env_or("BENCH_MAILS", 10_000);
    println!(
        "--- backlog: {mails} mails read from IMAP by ticketgate run, acknowledgements sent \
         over SMTP meanwhile ---"
    );
    let Some(dovecot) = Dovecot::start(&[(USER, crate::daemon::PASSWORD)]).await else {
        return;
    };
    if SmtpSink::start().is_none() {
        return;
    }
    let mut session = dovecot.session(USER).await;
    append_mix(&mut session, mails, bench.seed).await;
    let mut costs = Vec::new();
    for run in 1..=bench.runs {
        if run > 1 {
            move_back(&mut session, mails).await;
        }
        let sink = SmtpSink::start().expect("the SMTP sink started a moment ago");
        let dir = bench.work.join(format!("backlog-{run}"));
        write_config(
            &dir,
            &format!(
                "{}{}",
                mailbox_section(dovecot.port()),
                smtp_section(sink.port)
            ),
        );
        let cost = one_run(bench, &dir, mails, &mut session, &sink).await;
        println!(
            "run {run}: INBOX empty after {:.2} s ({:.0} mails/s), first acknowledgement {:.2} s \
             after the first mail handled, {} of {} accepted by then; handled to accepted p50 \
             {:.2} s, p99 {:.2} s, max {:.2} s",
            cost.wall_secs,
            mails as f64 / cost.wall_secs,
            cost.first_ack_secs,
            cost.acked_when_empty,
            cost.delays.len(),
            percentile(&cost.delays, 50.0),
            percentile(&cost.delays, 99.0),
            cost.delays.last().copied().unwrap_or(f64::NAN),
        );
        costs.push(cost);
        if std::env::var_os("BENCH_KEEP").is_none() {
            std::fs::remove_dir_all(&dir).ok();
        }
    }
    let _ = session.logout().await;
    report(mails, &costs);
}

async fn one_run(
    bench: &Bench,
    dir: &std::path::Path,
    mails: usize,
    session: &mut crate::throughput::Session,
    sink: &SmtpSink,
) -> RunCost {
    assert_eq!(inbox_count(session).await as usize, mails, "mails in INBOX");
    let mut daemon = Daemon::start(&bench.binary, dir);
    let mut handled: HashMap<String, SystemTime> = HashMap::new();
    daemon.follow_until("every mail handled", patience(mails, 20.0), |lines| {
        record_commits(lines, &mut handled);
        handled.len() >= mails
    });
    let emptied = wait_until_empty(session).await;
    let acked_when_empty = sink.arrivals().iter().filter(|a| a.at <= emptied).count();
    // Then every acknowledgement: one per mail that opened a ticket, none for the others;
    // the outbox is done when the sink has heard nothing for a while.
    let mut last_count = usize::MAX;
    let mut quiet_since = Instant::now();
    let deadline = Instant::now() + patience(mails, 20.0);
    while quiet_since.elapsed() < Duration::from_secs(3) {
        let count = sink.arrivals().len();
        if count != last_count {
            last_count = count;
            quiet_since = Instant::now();
        }
        daemon.assert_running();
        assert!(Instant::now() < deadline, "the outbox did not drain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let arrivals = sink.arrivals();
    let started = daemon.started;
    daemon.stop();
    let mut delays: Vec<f64> = arrivals
        .iter()
        .filter_map(|a| {
            let at = handled.get(&bare(&a.in_reply_to))?;
            Some(secs_between(*at, a.at))
        })
        .collect();
    delays.sort_by(f64::total_cmp);
    let first_handled = handled.values().min().copied().unwrap_or(started);
    let first_ack = arrivals.iter().map(|a| a.at).min().unwrap_or(emptied);
    RunCost {
        wall_secs: secs_between(started, emptied),
        first_ack_secs: secs_between(first_handled, first_ack),
        delays,
        acked_when_empty,
    }
}

fn report(mails: usize, costs: &[RunCost]) {
    if costs.is_empty() {
        return;
    }
    println!("--- backlog: {} runs of {mails} mails ---", costs.len());
    let values = |f: &dyn Fn(&RunCost) -> f64| costs.iter().map(f).collect::<Vec<_>>();
    summary(
        "throughput to INBOX empty",
        "mails/s",
        &values(&|c| mails as f64 / c.wall_secs),
    );
    summary(
        "first handled to first acknowledged",
        "s",
        &values(&|c| c.first_ack_secs),
    );
    summary(
        "handled to acknowledged, p50",
        "s",
        &values(&|c| percentile(&c.delays, 50.0)),
    );
    summary(
        "handled to acknowledged, p99",
        "s",
        &values(&|c| percentile(&c.delays, 99.0)),
    );
    summary(
        "acknowledged when INBOX was empty",
        "",
        &values(&|c| c.acked_when_empty as f64),
    );
    summary(
        "acknowledgements in all",
        "",
        &values(&|c| c.delays.len() as f64),
    );
}
