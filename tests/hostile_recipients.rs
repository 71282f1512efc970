//! Mail a stranger sends to a crowd: thousands of Cc addresses open one ticket (not a
//! quarantined mail) with a bounded number of observers, in bounded time, and a mail that
//! nobody authenticated makes ticketgate mail only a few of the people it names.

use std::time::{Duration, Instant};

use sqlx::Row;
use ticketgate::intake::OutcomeKind;

use crate::support::helpers::{TestEnv, authenticated};

/// A new mail from a stranger to us with `cc` more addresses in Cc.
fn crowd_mail(cc: usize) -> Vec<u8> {
    let mut mail =
        String::from("From: Stranger <stranger@elsewhere.test>\r\nTo: support@localhost\r\nCc: ");
    for i in 0..cc {
        if i > 0 {
            mail.push_str(",\r\n ");
        }
        mail.push_str(&format!("person{i}@crowd{}.test", i % 7));
    }
    mail.push_str(
        "\r\nSubject: Win a prize\r\nDate: Tue, 24 Nov 2026 08:00:00 +0000\r\n\
         Message-ID: <crowd@elsewhere.test>\r\n\r\nClaim it now.\r\n",
    );
    mail.into_bytes()
}

/// The rows the outbox holds.
async fn outbox_rows(env: &TestEnv) -> i64 {
    let mut conn = env.connect().await;
    sqlx::query("SELECT COUNT(*) AS n FROM outbox")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

#[tokio::test]
async fn ten_thousand_cc_open_one_ticket_with_bounded_observers() {
    if crate::support::postgres::server().is_some() {
        return; // the pipeline's; the chunked outbox insert is tested on both below
    }
    let env = TestEnv::new().await;
    let started = Instant::now();
    let report = env.ingest(&crowd_mail(10_000)).await;
    let took = started.elapsed();
    assert_eq!(report.outcome, OutcomeKind::Created, "{report:?}");
    assert!(took < Duration::from_secs(5), "10,000 Cc took {took:?}");
    let ticket = env.details(report.ticket.as_ref().unwrap()).await;
    assert_eq!(ticket.ticket.observers.len(), 20, "max_observers_from_mail");
    let note = ticket.articles[0].note.as_deref().unwrap_or("");
    assert!(
        note.contains("9980 more recipients"),
        "the others are kept as text on the article: {note:?}"
    );
    assert!(
        note.len() < 4096,
        "the note is bounded: {} bytes",
        note.len()
    );
}

#[tokio::test]
async fn an_unauthenticated_crowd_mail_is_acknowledged_to_a_few() {
    if crate::support::postgres::server().is_some() {
        return; // the pipeline's; the chunked outbox insert is tested on both below
    }
    let env = TestEnv::new().await;
    let report = env.ingest(&crowd_mail(1_000)).await;
    assert_eq!(report.outcome, OutcomeKind::Created, "{report:?}");
    let queued = outbox_rows(&env).await;
    assert!(
        (1..=11).contains(&queued),
        "{queued} mails queued for one stranger's mail"
    );

    // Authenticated, the requester is no stranger: each of the 20 observers hears.
    let mail = String::from_utf8(authenticated(&crowd_mail(1_000)))
        .unwrap()
        .replace("<crowd@", "<crowd-authenticated@");
    let report = env.ingest(mail.as_bytes()).await;
    assert_eq!(report.outcome, OutcomeKind::Created, "{report:?}");
    assert_eq!(outbox_rows(&env).await - queued, 21);
}

/// A process killed while writing leaves `.tmp-PID-N` files: `ingest` removes those of
/// dead processes when it starts, and nothing else.
#[tokio::test]
async fn ingest_sweeps_temporary_files_of_dead_writers() {
    if crate::support::postgres::server().is_some() {
        return; // files, not the database
    }
    let env = TestEnv::new().await;
    let data = env.data_dir();
    let month = data.join("raw/2026/11");
    std::fs::create_dir_all(&month).unwrap();
    std::fs::create_dir_all(data.join("outbox")).unwrap();
    // Above the kernel's largest PID: never a live process.
    let stale = [
        month.join(".tmp-9999999-0"),
        data.join("outbox/.tmp-9999999-1"),
    ];
    let kept = month.join("kept.eml.gz");
    for f in stale.iter().chain([&kept]) {
        std::fs::write(f, b"half").unwrap();
    }
    let mail = env.dir.path().join("one.eml");
    std::fs::write(&mail, crowd_mail(1)).unwrap();
    let out = crate::support::helpers::run_command(
        env.command(&["ingest", mail.to_str().unwrap()]),
        None,
    );
    assert!(out.status.success(), "{out:?}");
    for f in &stale {
        assert!(!f.exists(), "{} left", f.display());
    }
    assert!(kept.exists());
}

/// A From whose address holds bytes that are not UTF-8 never becomes a requester no
/// mail can reach: the mail is quarantined, and the reason says why.
#[tokio::test]
async fn a_sender_address_that_is_not_utf8_is_quarantined_with_the_reason() {
    if crate::support::postgres::server().is_some() {
        return; // the parser's and the pipeline's, not the database's
    }
    let env = TestEnv::new().await;
    let mail = |id: &str, reply_to: &str| {
        [
            &b"From: J\xe9r\xf4me <j\xe9r\xf4me@example.test>\r\n"[..],
            b"To: support@localhost\r\nCc: ok@example.test, b\xe9@example.test\r\n",
            format!(
                "Subject: Hello\r\nMessage-ID: <{id}@example.test>\r\n{reply_to}\r\nHello.\r\n"
            )
            .as_bytes(),
        ]
        .concat()
    };
    let report = env.ingest(&mail("bad-utf8", "")).await;
    assert_eq!(report.outcome, OutcomeKind::Quarantined, "{report:?}");
    let reason = report.reason.unwrap_or_default();
    assert!(reason.contains("not UTF-8"), "{reason}");
    assert_eq!(outbox_rows(&env).await, 0);

    // With a usable Reply-To, that is the requester; the Cc that is not text is no observer.
    let report = env
        .ingest(&mail("bad-utf8-2", "Reply-To: jerome@example.test\r\n"))
        .await;
    assert_eq!(report.outcome, OutcomeKind::Created, "{report:?}");
    let ticket = env.details(report.ticket.as_ref().unwrap()).await.ticket;
    assert_eq!(ticket.requester.as_str(), "jerome@example.test");
    let observers: Vec<&str> = ticket.observers.iter().map(|o| o.as_str()).collect();
    assert_eq!(observers, ["ok@example.test"]);
}

/// A mail of headers only whose last line, `Subject:`, has no line end keeps its subject.
#[tokio::test]
async fn a_subject_on_the_last_line_without_a_line_end_is_kept() {
    if crate::support::postgres::server().is_some() {
        return; // the parser's and the pipeline's, not the database's
    }
    let env = TestEnv::new().await;
    let report = env
        .ingest(
            b"From: Ann <ann@example.test>\r\nTo: support@localhost\r\n\
              Message-ID: <last-line@example.test>\r\nSubject: Printer on fire",
        )
        .await;
    assert_eq!(report.outcome, OutcomeKind::Created, "{report:?}");
    let ticket = env.details(report.ticket.as_ref().unwrap()).await.ticket;
    assert_eq!(ticket.title, "Printer on fire");
}

/// A ticket with 1,000 observers (the most `max_observers_from_mail` allows): a comment
/// queues a notification to each, in more than one statement, none lost or doubled.
#[tokio::test]
async fn a_comment_queues_a_notification_to_each_of_a_thousand_observers() {
    let env = TestEnv::with_config("[tickets]\nmax_observers_from_mail = 1000\n").await;
    let report = env.ingest(&crowd_mail(1_000)).await;
    let n = report.ticket.expect("a ticket");
    assert_eq!(env.details(&n).await.ticket.observers.len(), 1_000);
    let reply = format!(
        "From: Stranger <stranger@elsewhere.test>\r\nTo: support@localhost\r\n\
         Subject: Re: [#{n}] Win a prize\r\nMessage-ID: <crowd-2@elsewhere.test>\r\n\r\nStill there?\r\n"
    );
    let report = env.ingest(reply.as_bytes()).await;
    assert_eq!(report.outcome, OutcomeKind::Commented, "{report:?}");
    let mut conn = env.connect().await;
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT recipient) AS d FROM outbox WHERE event = 'customer_comment'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let (rows, distinct): (i64, i64) = (row.try_get("n").unwrap(), row.try_get("d").unwrap());
    assert_eq!((rows, distinct), (1_000, 1_000));
}
