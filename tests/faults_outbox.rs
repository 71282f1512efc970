//! Faults on the sending side: an SMTP server down for a long time, an auto-responder
//! that answers every notification, a storm of delivery reports.
//!
//! Each runs the daemon as users run it (`ticketgate run` on a Maildir, a configuration
//! file), with a real SMTP server (aiosmtpd, tests/support/smtp_sink.py) on loopback. The
//! outbox is read behind the daemon's back, through a connection of the test's own; the
//! only thing written there is the time a waiting notification is next due, which is how
//! these tests make hours of retry pauses pass in a second. SQLite only: the sending side
//! does not depend on the backend, and the PostgreSQL pass runs these tests no second time.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use crate::daemon::{start, stop, wait_for};
use crate::support::helpers::stdout;
use crate::support::outbox_site::{Db, OutboxRow, Site, customer_mail, on_postgres};
use crate::support::smtp_sink::{SmtpSink, free_port};

/// How many tries each notification gets while the server is down: past the 12 after
/// which a notification that keeps being deferred is given up (with the default first
/// pause of 30 s, doubling to an hour, this many tries span about 7 hours).
const TRIES_WHILE_DOWN: usize = 14;

/// Waits until every notification `due` lists was tried once more: put back (due again
/// later) or gone out of the waiting ones.
fn wait_for_a_try_of(db: &mut Db, due: &HashSet<i64>, what: &str) {
    wait_for(what, Duration::from_secs(10), || {
        db.outbox()
            .iter()
            .filter(|r| due.contains(&r.id))
            .all(|r| r.status != "sending" && (r.status != "pending" || r.next_attempt_at > 0))
    });
}

/// The SMTP server is down for hours (each notification is tried 14 times, the pauses
/// between passed at once) while mails keep arriving; then it is back: every notification
/// is delivered exactly once, none was given up for the outage, and the daemon said so in
/// two lines, not one per notification and try.
#[test]
fn smtp_down_for_hours_then_back_delivers_every_notification_once() {
    if on_postgres() {
        return;
    }
    let started = Instant::now();
    let port = free_port();
    let mut site = Site::new(port, "", "[notifications]\nretry_first_secs = 1");
    let (before, during) = (20, 10);
    for n in 0..before {
        site.deliver(&format!("{n}.host"), &customer_mail("outage", n));
    }
    let daemon = start(&site.cli, &[]);
    wait_for(
        "the first try of each acknowledgement",
        Duration::from_secs(20),
        || {
            let rows = site.db.outbox();
            rows.len() == before
                && rows
                    .iter()
                    .all(|r| r.status == "pending" && r.last_error.is_some())
        },
    );
    // Hours of outage, a try at a time; more mail arrives halfway.
    for try_number in 2..=TRIES_WHILE_DOWN {
        if try_number == TRIES_WHILE_DOWN / 2 {
            for n in before..before + during {
                site.deliver(&format!("{n}.host"), &customer_mail("outage", n));
            }
        }
        let due: HashSet<i64> = site.db.outbox().iter().map(|r| r.id).collect();
        site.db.pass_retry_pauses();
        wait_for_a_try_of(&mut site.db, &due, &format!("try {try_number}"));
        let given_up: Vec<OutboxRow> = site
            .db
            .outbox()
            .into_iter()
            .filter(|r| r.status != "pending" && r.status != "sending")
            .collect();
        assert!(
            given_up.is_empty(),
            "at try {try_number}, while the server was merely down: {given_up:#?}"
        );
    }
    let total = before + during;
    wait_for(
        "the mail that came meanwhile",
        Duration::from_secs(10),
        || site.handled() == total && site.db.outbox().len() == total,
    );
    let rows = site.db.outbox();
    assert!(
        rows.iter().all(|r| r.attempts == 0
            && r.last_error
                .as_deref()
                .is_some_and(|e| e.contains("Connection refused"))),
        "no try that could not reach the server counts against a notification: {rows:#?}"
    );

    // The server is back. The next notification to go out (a new mail's acknowledgement)
    // finds it, and everything that waited follows at once, not at its next try.
    let sink = SmtpSink::start_on(port).expect("aiosmtpd was there a moment ago");
    site.deliver("back.host", &customer_mail("outage", total));
    let total = total + 1;
    wait_for(
        "every notification to be sent",
        Duration::from_secs(20),
        || {
            let rows = site.db.outbox();
            rows.len() == total && rows.iter().all(|r| r.status == "sent")
        },
    );
    let stopped = stop(&site.cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);

    let rows = site.db.outbox();
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for arrival in sink.arrivals() {
        *copies.entry(arrival.message_id).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = rows
        .iter()
        .map(|r| (format!("<{}>", r.message_id.clone().unwrap()), 1))
        .collect();
    assert_eq!(copies, expected, "each notification exactly once");

    // The outage in two lines: not one per notification and try (30 × 14 here).
    let log = &stopped.log;
    let address = format!("127.0.0.1:{port}");
    let about_outage: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&address) || l.contains("SMTP server"))
        .collect();
    assert_eq!(about_outage.len(), 2, "{}", about_outage.join("\n"));
    assert!(
        about_outage[0].contains("WARN")
            && about_outage[0].contains("the SMTP server cannot be reached")
            && about_outage[0].contains("Connection refused"),
        "{}",
        about_outage[0]
    );
    // What waited was made due at once (all of it, unless the pause of one ran out
    // while the server came back, and that one found it first).
    let waiting: usize = about_outage[1]
        .split("waiting=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert!(
        about_outage[1].contains("INFO")
            && about_outage[1].contains("the SMTP server answers again")
            && (1..total).contains(&waiting),
        "{}",
        about_outage[1]
    );
    eprintln!(
        "SMTP down for {TRIES_WHILE_DOWN} tries of {total} notifications, then back: {:?}",
        started.elapsed()
    );
}

/// The address of the auto-responder.
const BOT: &str = "bot@acme.example";

/// The agents' address: the team, which hears of the customers' comments.
const TEAM: &str = "agents@ours.test";

/// The default limit per recipient, `10/10m` (`[notifications] recipient_limits`), which
/// holds the loop below.
const RECIPIENT_LIMIT: usize = 10;

/// An auto-responder that ignores Auto-Submitted answers every notification it gets with
/// two mails at once, written as a person would: a fresh one (no tag, no threading: a new
/// ticket, whose acknowledgement it answers again) and a reply that threads (`Re:` with the
/// tag and In-Reply-To: a comment). The governor stops the loop at the limit per recipient:
/// ten acknowledgements, the eleventh held back and shown with its reason; then nothing
/// moves any more.
#[test]
fn an_auto_responder_loop_is_held_at_the_recipient_limit() {
    if on_postgres() {
        return;
    }
    let started = Instant::now();
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let mut site = Site::new(sink.port, &format!("agents_address = \"{TEAM}\""), "");
    site.deliver(
        "0.host",
        &format!(
            "From: Bot <{BOT}>\nTo: support@ours.test\nSubject: Printer\n\
             Message-ID: <bot-0@acme.example>\n\nThe printer is broken.\n"
        ),
    );
    let daemon = start(&site.cli, &[]);
    let mut answered = 0;
    let mut answer = |site: &Site| {
        let to_bot: Vec<(String, String)> = sink
            .received()
            .into_iter()
            .filter(|(name, _)| name.ends_with(&format!("-{BOT}.eml")))
            .collect();
        for (_, mail) in &to_bot[answered..] {
            let parsed = mail_parser::MessageParser::default()
                .parse(mail.as_bytes())
                .unwrap();
            let subject = parsed.subject().unwrap();
            let id = parsed.message_id().unwrap();
            let untagged = subject.split_once("] ").map_or(subject, |(_, rest)| rest);
            answered += 1;
            site.deliver(
                &format!("fresh-{answered}.host"),
                &format!(
                    "From: Bot <{BOT}>\nTo: support@ours.test\nSubject: Re: {untagged}\n\
                     Message-ID: <bot-fresh-{answered}@acme.example>\n\n\
                     Thank you for your message {id}. We will answer soon.\n"
                ),
            );
            site.deliver(
                &format!("re-{answered}.host"),
                &format!(
                    "From: Bot <{BOT}>\nTo: support@ours.test\nSubject: Re: {subject}\n\
                     In-Reply-To: <{id}>\nReferences: <{id}>\n\
                     Message-ID: <bot-re-{answered}@acme.example>\n\n\
                     Thank you for your message. We will answer soon.\n"
                ),
            );
        }
        answered
    };
    // Until the loop is dead: a notification held, every mail handled, nothing waiting.
    wait_for("the loop to be held", Duration::from_secs(30), || {
        let answered = answer(&site);
        let rows = site.db.outbox();
        site.waiting() == 0
            && site.handled() == 1 + 2 * answered
            && rows.iter().any(|r| r.status == "held")
            && rows
                .iter()
                .all(|r| r.status != "pending" && r.status != "sending")
    });
    let stopped = stop(&site.cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);

    // Within the limit, to the mail; the team heard of each threaded answer, once.
    let arrivals = sink.arrivals();
    let to = |who: &str| arrivals.iter().filter(|a| a.recipient == who).count();
    assert_eq!(to(BOT), RECIPIENT_LIMIT);
    assert_eq!(to(TEAM), RECIPIENT_LIMIT);
    assert_eq!(arrivals.len(), 2 * RECIPIENT_LIMIT, "and nobody else");
    // Mails handled stay bounded: the first, and two answers to each notification.
    assert_eq!(site.handled(), 1 + 2 * RECIPIENT_LIMIT);
    let rows = site.db.outbox();
    let held: Vec<&OutboxRow> = rows.iter().filter(|r| r.status == "held").collect();
    assert_eq!(rows.len(), 2 * RECIPIENT_LIMIT + 1, "{rows:#?}");
    assert_eq!(held.len(), 1, "{rows:#?}");
    assert_eq!(held[0].recipient, BOT);
    let reason = held[0].held_reason.as_deref().unwrap_or_default();
    assert_eq!(
        reason,
        format!("recipient limit {RECIPIENT_LIMIT}/10m reached: {RECIPIENT_LIMIT} sent to {BOT}")
    );

    // What the team sees: eleven tickets of the robot's, and the notification held back
    // with the governor's reason, in the outbox list and, once, in the log.
    let tickets: serde_json::Value =
        serde_json::from_str(&stdout(&site.cli.run(&["tickets", "list", "--json"], None))).unwrap();
    assert_eq!(tickets.as_array().unwrap().len(), RECIPIENT_LIMIT + 1);
    let listed = stdout(&site.cli.run(&["outbox", "list", "--status", "held"], None));
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.contains(" held ") && listed.contains(BOT) && listed.contains(reason),
        "{listed}"
    );
    let held_lines: Vec<&str> = stopped
        .log
        .lines()
        .filter(|l| l.contains("notification held back"))
        .collect();
    assert_eq!(held_lines.len(), 1, "{}", held_lines.join("\n"));
    assert!(held_lines[0].contains(reason), "{}", held_lines[0]);
    eprintln!("auto-responder loop held: {:?}", started.elapsed());
}

/// The `n`th delivery report (RFC 3464), saying delivery to `recipient` failed, about the
/// notification `original` (a Message-ID, without angle brackets), which it names in one
/// of three ways mail systems do: the whole original enclosed, only its header
/// (`text/rfc822-headers`, whose last field, the Message-ID, runs up to the closing
/// boundary with no line end of its own), or threading headers besides.
fn delivery_report(n: usize, recipient: &str, original: &str) -> String {
    let (threading, enclosed) = match n % 3 {
        0 => (String::new(), "message/rfc822"),
        1 => (String::new(), "text/rfc822-headers"),
        _ => (
            format!("In-Reply-To: <{original}>\nReferences: <{original}>\n"),
            "text/rfc822-headers",
        ),
    };
    let body = if enclosed == "message/rfc822" {
        "\nWe received your request.\n"
    } else {
        ""
    };
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx{m}.acme.example>\nTo: support@ours.test\n\
         Subject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn-{n}@mx{m}.acme.example>\n\
         Auto-Submitted: auto-replied\n{threading}MIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b{n}\"\n\n\
         --b{n}\nContent-Type: text/plain\n\n\
         This is the mail system at host mx{m}.acme.example. Your message could not be delivered.\n\n\
         --b{n}\nContent-Type: message/delivery-status\n\n\
         Reporting-MTA: dns; mx{m}.acme.example\n\n\
         Final-Recipient: rfc822; {recipient}\nOriginal-Recipient: rfc822;{recipient}\n\
         Action: failed\nStatus: 5.1.1\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown\n\n\
         --b{n}\nContent-Type: {enclosed}\n\n\
         From: support@ours.test\nTo: {recipient}\nSubject: Your request\nMessage-ID: <{original}>\n\
         {body}--b{n}--\n",
        m = n % 7,
    )
}

/// A thousand delivery reports arrive at once: nine in ten about the acknowledgements the
/// daemon sent (each address bounced 36 times), one in ten about mail it never sent.
/// Each about ours is noted on its ticket and marks its address undeliverable; those about
/// others are only ignored; no report is answered and none opens a ticket.
#[test]
fn a_storm_of_a_thousand_delivery_reports_is_recorded_without_an_answer() {
    if on_postgres() {
        return;
    }
    let started = Instant::now();
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let mut site = Site::new(sink.port, "", "");
    let customers = 25;
    for n in 0..customers {
        site.deliver(&format!("{n}.host"), &customer_mail("storm", n));
    }
    let daemon = start(&site.cli, &[]);
    wait_for("the acknowledgements", Duration::from_secs(20), || {
        let rows = site.db.outbox();
        rows.len() == customers && rows.iter().all(|r| r.status == "sent")
    });
    let sent: Vec<(String, String)> = site
        .db
        .outbox()
        .into_iter()
        .map(|r| (r.recipient, r.message_id.unwrap()))
        .collect();

    let reports = 1000;
    let stray = reports / 10;
    for n in 0..reports {
        // Nine in ten about ours, each acknowledgement in turn; every tenth about mail
        // from elsewhere, to an address we never wrote to.
        let report = if n % 10 == 9 {
            delivery_report(
                n,
                &format!("stray{n}@acme.example"),
                &format!("not-ours-{n}@elsewhere.example"),
            )
        } else {
            let (recipient, id) = &sent[(n - n / 10) % customers];
            delivery_report(n, recipient, id)
        };
        let name = format!("dsn-{n}.host");
        std::fs::write(
            site.inbox.join("tmp").join(name),
            report.replace('\n', "\r\n"),
        )
        .unwrap();
    }
    let storm = Instant::now();
    // All at once: renamed into new/ in one go, as a queue flushing would.
    for n in 0..reports {
        let name = format!("dsn-{n}.host");
        std::fs::rename(
            site.inbox.join("tmp").join(&name),
            site.inbox.join("new").join(&name),
        )
        .unwrap();
    }
    wait_for(
        "every report to be handled",
        Duration::from_secs(60),
        || site.handled() == customers + reports,
    );
    let took = storm.elapsed();
    let stopped = stop(&site.cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);

    // No backscatter: nothing queued, nothing sent; no ticket opened.
    assert_eq!(
        site.db.outbox().len(),
        customers,
        "no notification queued for a report"
    );
    assert_eq!(
        sink.arrivals().len(),
        customers,
        "no mail sent in answer to a report"
    );
    assert_eq!(
        site.db.count("SELECT COUNT(*) FROM tickets"),
        customers as i64
    );
    // Each report about ours is noted on its ticket; the others nowhere.
    let ours = (reports - stray) as i64;
    assert_eq!(
        site.db.count("SELECT COUNT(*) FROM articles"),
        customers as i64 + ours
    );
    assert_eq!(
        site.db.count(
            "SELECT COUNT(*) FROM articles WHERE direction = 'system' AND visibility = 'internal'"
        ),
        ours
    );
    let per_ticket = site
        .db
        .count("SELECT COUNT(*) FROM articles GROUP BY ticket_id ORDER BY COUNT(*) LIMIT 1");
    assert_eq!(
        per_ticket,
        1 + ours / customers as i64,
        "on each ticket, its first article and a note for each report about its acknowledgement"
    );
    // Every address that bounced is undeliverable; no stray address is.
    assert_eq!(
        site.db
            .count("SELECT COUNT(*) FROM contacts WHERE undeliverable_until IS NOT NULL"),
        customers as i64
    );
    assert_eq!(
        site.db
            .count("SELECT COUNT(*) FROM contacts WHERE email LIKE 'stray%'"),
        0
    );
    // A few lines per mail (handled, and a bounce noted), no more.
    let lines = stopped.log.lines().count();
    assert!(lines < 3 * (customers + reports), "{lines} lines");
    eprintln!(
        "{reports} delivery reports handled in {took:?} ({} log lines); test {:?}",
        lines,
        started.elapsed()
    );
}
