//! Latency from a mail's arrival to its acknowledgement: `ticketgate run` IDLEs on the
//! private Dovecot's INBOX and sends notifications to the SMTP sink; new-ticket mails of the
//! mix are APPENDed one by one, first as a steady stream, then one at a time (each a second
//! after the last one was acknowledged). Each is timed from the end of its APPEND (the
//! server's OK, read by the bench) to the moment the sink had the whole "ticket opened"
//! notification answering it (its In-Reply-To names the mail). Both times are read from
//! the wall clock of this machine. The daemon's log adds when each mail was handled (its
//! "message handled" line, written as it joins the batch whose commit follows), which
//! splits the latency in two.
//!
//! The two phases differ because Dovecot tells an IDLEing client of new mail 0.5 s after
//! the first change it sees (it gathers what else arrives meanwhile): a mail alone waits
//! the whole half second, a mail of a stream waits what is left of it.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use crate::daemon::{
    Daemon, PASSWORD, USER, line_field, line_time, mailbox_section, smtp_section, write_config,
};
use crate::dovecot::Dovecot;
use crate::smtp_sink::SmtpSink;
use crate::support::mailgen::MailGen;
use crate::{Bench, env_or, message_id, percentile, secs_between};

type Session = async_imap::Session<tokio::net::TcpStream>;

/// One mail APPENDed.
struct Sent {
    message_id: String,
    /// When the server's OK to its APPEND was read.
    appended: SystemTime,
    /// How long the APPEND took.
    append_secs: f64,
}

pub async fn run(bench: &Bench) {
    let count: usize = env_or("BENCH_LATENCY_MAILS", 1000);
    let rate: f64 = env_or("BENCH_LATENCY_RATE", 20.0);
    let isolated: usize = env_or("BENCH_LATENCY_ISOLATED", 20);
    println!(
        "--- latency: {count} new-ticket mails APPENDed at {rate} per second, then {isolated} \
         one at a time, each timed to its acknowledgement at the SMTP server ---"
    );
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let dir = bench.work.join("latency");
    write_config(
        &dir,
        &format!(
            "{}{}",
            mailbox_section(dovecot.port()),
            smtp_section(sink.port)
        ),
    );
    // New mails only (a reply would thread to a ticket this run never opened); the first
    // one warms the daemon up and is not counted.
    let mut generator = MailGen::new(bench.seed);
    let mails: Vec<Vec<u8>> = std::iter::from_fn(|| Some(generator.next_mail()))
        .filter(|(shape, _)| !shape.reply)
        .map(|(_, mail)| mail)
        .take(1 + count + isolated)
        .collect();
    let (warm_up, rest) = mails.split_first().expect("at least the warm-up mail");
    let (stream, alone) = rest.split_at(count);

    let mut daemon = Daemon::start(&bench.binary, &dir);
    let mut commits: HashMap<String, SystemTime> = HashMap::new();
    let mut session = dovecot.session(USER).await;
    let first = append(&mut session, warm_up).await;
    wait_for_acknowledgements(&sink, &mut daemon, &[first], Duration::from_secs(30));
    // Give the daemon time to go back to IDLE after the warm-up's pass.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A steady stream: each APPEND starts on its schedule, whatever came back.
    let mut sent = Vec::with_capacity(count);
    let start = Instant::now();
    let mut behind = 0usize;
    for (i, mail) in stream.iter().enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        if Instant::now() > due + Duration::from_millis(50) {
            behind += 1;
        }
        tokio::time::sleep_until(due.into()).await;
        sent.push(append(&mut session, mail).await);
    }
    let arrivals = wait_for_acknowledgements(&sink, &mut daemon, &sent, Duration::from_secs(60));
    record_commits(&daemon.new_log_lines(), &mut commits);
    if behind > 0 {
        println!("{behind} APPENDs started over 50 ms late (the bench could not keep the rate)");
    }
    report(
        &format!("a stream of {rate} mails/s"),
        &sent,
        &arrivals,
        &commits,
    );

    // One at a time: each APPENDed a second after the last one's acknowledgement, when
    // the server has nothing else to report.
    let mut lone = Vec::with_capacity(isolated);
    for mail in alone {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let one = append(&mut session, mail).await;
        wait_for_acknowledgements(
            &sink,
            &mut daemon,
            std::slice::from_ref(&one),
            Duration::from_secs(30),
        );
        lone.push(one);
    }
    let _ = session.logout().await;
    let arrivals = wait_for_acknowledgements(&sink, &mut daemon, &lone, Duration::from_secs(5));
    record_commits(&daemon.new_log_lines(), &mut commits);
    report("one mail at a time", &lone, &arrivals, &commits);
    let stopped = daemon.stop();
    println!(
        "daemon CPU over the whole run: {:.2} s ({:.2} s per 1,000 mails)",
        stopped.cpu_secs,
        stopped.cpu_secs * 1000.0 / mails.len() as f64
    );
}

/// APPENDs one mail to INBOX, noting when the server's OK came back.
async fn append(session: &mut Session, mail: &[u8]) -> Sent {
    let before = Instant::now();
    session
        .append("INBOX", None, None, mail)
        .await
        .expect("APPEND");
    Sent {
        message_id: message_id(mail),
        appended: SystemTime::now(),
        append_secs: before.elapsed().as_secs_f64(),
    }
}

/// Notes when each mail was handled, from the daemon's "message handled" lines.
pub fn record_commits(lines: &[String], commits: &mut HashMap<String, SystemTime>) {
    for line in lines.iter().filter(|l| l.contains("message handled")) {
        if let (Some(id), Some(at)) = (line_field(line, "message_id"), line_time(line)) {
            commits.insert(bare(id), at);
        }
    }
}

/// A Message-ID without its angle brackets.
pub fn bare(id: &str) -> String {
    id.trim()
        .trim_matches('"')
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

/// Waits until the sink has a notification answering each of `sent`; returns when each
/// arrived, by the answered Message-ID (bare).
fn wait_for_acknowledgements(
    sink: &SmtpSink,
    daemon: &mut Daemon,
    sent: &[Sent],
    timeout: Duration,
) -> HashMap<String, SystemTime> {
    let deadline = Instant::now() + timeout;
    loop {
        let arrivals: HashMap<String, SystemTime> = sink
            .arrivals()
            .into_iter()
            .map(|a| (bare(&a.in_reply_to), a.at))
            .collect();
        let missing = sent
            .iter()
            .filter(|s| !arrivals.contains_key(&bare(&s.message_id)))
            .count();
        if missing == 0 {
            return arrivals;
        }
        daemon.assert_running();
        if Instant::now() > deadline {
            println!("{missing} acknowledgements still missing after {timeout:?}: counted as lost");
            return arrivals;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn report(
    phase: &str,
    sent: &[Sent],
    arrivals: &HashMap<String, SystemTime>,
    commits: &HashMap<String, SystemTime>,
) {
    let mut total = Vec::new();
    let mut to_handled = Vec::new();
    let mut handled_to_smtp = Vec::new();
    for s in sent {
        let id = bare(&s.message_id);
        let Some(&arrived) = arrivals.get(&id) else {
            continue;
        };
        total.push(secs_between(s.appended, arrived));
        if let Some(&handled) = commits.get(&id) {
            to_handled.push(secs_between(s.appended, handled));
            handled_to_smtp.push(secs_between(handled, arrived));
        }
    }
    let mut appends: Vec<f64> = sent.iter().map(|s| s.append_secs).collect();
    println!(
        "--- latency, {phase}: {} of {} acknowledged ---",
        total.len(),
        sent.len()
    );
    let line = |label: &str, values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        println!(
            "{label:<34} p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  mean {:>7.1} ms",
            percentile(values, 50.0) * 1e3,
            percentile(values, 95.0) * 1e3,
            percentile(values, 99.0) * 1e3,
            values.last().copied().unwrap_or(f64::NAN) * 1e3,
            mean * 1e3,
        );
    };
    line("APPEND end to SMTP accepted", &mut total);
    line("  APPEND end to handled (log)", &mut to_handled);
    line("  handled (log) to SMTP accepted", &mut handled_to_smtp);
    line("APPEND itself", &mut appends);
    let slow = total.iter().filter(|&&t| t > 1.0).count();
    println!(
        "over 1 s: {slow}; target p99 <= 1 s: {}",
        if percentile(&total, 99.0) <= 1.0 && total.len() == sent.len() {
            "met"
        } else {
            "MISSED"
        }
    );
}
