//! Where SQLite and PostgreSQL would answer differently, held to one behaviour: text
//! PostgreSQL cannot hold, case folding, the order of text and of ties. Each test runs on
//! the backend of the pass (see [`crate::support::postgres`]), so both passes must agree.

use chrono::Duration;
use ticketgate::clock::Clock;
use ticketgate::domain::EmailAddress;
use ticketgate::pipeline::Outcome;

use crate::support::helpers::{TestEnv, created};

/// PostgreSQL refuses U+0000 in text, SQLite keeps it: a mail carrying one must become the
/// same ticket on both, be recognised when delivered again, and thread its replies.
#[tokio::test]
async fn a_nul_character_in_a_mail_is_stored_as_a_replacement_character() {
    let env = TestEnv::new().await;
    let mail = b"From: \"Ali\x00ce\" <alice@acme.example>\r\nTo: support@localhost\r\n\
                 Subject: Printer\r\nMessage-ID: <nul\x00-1@acme.example>\r\n\r\n\
                 The printer prints \x00 instead of text.\r\n";
    let n = created(&env.process(mail).await);
    let ticket = env.details(&n).await;
    let article = &ticket.articles[0];
    assert_eq!(
        article.body_text.trim_end(),
        "The printer prints \u{FFFD} instead of text."
    );
    assert!(!ticket.ticket.description.contains('\0'));
    assert!(
        article
            .author_name
            .as_deref()
            .is_none_or(|name| !name.contains('\0')),
        "{:?}",
        article.author_name
    );

    assert_eq!(env.process(mail).await, Outcome::Duplicate(Some(n.clone())));
    let reply = b"From: alice@acme.example\r\nTo: support@localhost\r\nSubject: more\r\n\
                  Message-ID: <nul-2@acme.example>\r\nIn-Reply-To: <nul\x00-1@acme.example>\r\n\r\n\
                  It also jams.\r\n";
    assert_eq!(env.process(reply).await, Outcome::Commented(n));
}

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

/// The per-recipient limits count mail to the same address key: ASCII letters fold, as in
/// `EmailAddress::key`, others do not (PostgreSQL's lower() under a UTF-8 locale would fold
/// `Å` to `å` where SQLite's does not).
#[tokio::test]
async fn recipient_counts_fold_ascii_letters_only_as_address_keys_do() {
    let env = TestEnv::new().await;
    let since = env.clock.now();
    created(
        &env.process(
            "From: \u{c5}SA@acme.example\r\nTo: support@localhost\r\nSubject: Scanner\r\n\
             Message-ID: <fold-1@acme.example>\r\n\r\nThe scanner is off.\r\n"
                .as_bytes(),
        )
        .await,
    );
    let store = env.store();
    let job = store
        .claim_notification(env.clock.now(), Duration::minutes(5), "test")
        .await
        .unwrap()
        .expect("the acknowledgement is due");
    assert_eq!(job.recipient, addr("\u{c5}SA@acme.example"));
    store
        .mark_notification_sent(&job, "<ack-1@ours.test>", env.clock.now())
        .await
        .unwrap();

    for (asked, count) in [
        ("\u{c5}SA@acme.example", 1),
        ("\u{c5}sa@ACME.example", 1),
        ("\u{e5}sa@acme.example", 0),
        ("\u{e5}SA@acme.example", 0),
    ] {
        let asked = addr(asked);
        assert_eq!(
            asked.same_mailbox(&job.recipient),
            count == 1,
            "the store agrees with the address type"
        );
        assert_eq!(
            store.sent_to_recipient_since(&asked, since).await.unwrap(),
            count,
            "{asked}"
        );
    }
}

/// Observers added together are listed by address, byte by byte as SQLite compares text,
/// whatever the PostgreSQL server's locale (under `en_US.UTF-8` punctuation would be
/// skipped and `ab@` would come first).
#[tokio::test]
async fn observers_added_together_are_listed_in_byte_order() {
    let env = TestEnv::new().await;
    let n = created(
        &env.process(
            b"From: alice@acme.example\r\nTo: support@localhost\r\n\
              Cc: ab@acme.example, a_b@acme.example, a.c@acme.example, A-d@acme.example\r\n\
              Subject: Badge reader\r\nMessage-ID: <order-1@acme.example>\r\n\r\nIt beeps.\r\n",
        )
        .await,
    );
    let observers = env.details(&n).await.ticket.observers;
    assert_eq!(
        observers,
        [
            addr("a-d@acme.example"),
            addr("a.c@acme.example"),
            addr("a_b@acme.example"),
            addr("ab@acme.example"),
        ]
    );
}

/// Tickets resolved in the same millisecond leave the auto-close list in ticket order, so
/// that a `limit` keeps the same ones on both backends.
#[tokio::test]
async fn tickets_due_at_the_same_moment_come_in_ticket_order() {
    let env = TestEnv::new().await;
    let service = env.service();
    let support = service.agent(None).unwrap();
    let mut numbers = Vec::new();
    for i in 1..=4 {
        let n = created(
            &env.process(
                format!(
                    "From: user{i}@acme.example\r\nTo: support@localhost\r\nSubject: Issue {i}\r\n\
                     Message-ID: <tie-{i}@acme.example>\r\n\r\nBroken {i}.\r\n"
                )
                .as_bytes(),
            )
            .await,
        );
        numbers.push(n);
    }
    // Resolved in reverse order, all at the clock's one moment.
    for n in numbers.iter().rev() {
        service.resolve(n, "Fixed.", &support).await.unwrap();
    }
    let later = env.clock.now() + Duration::days(30);
    let store = env.store();
    assert_eq!(
        store.due_for_auto_close(later, 2).await.unwrap(),
        numbers[..2]
    );
    assert_eq!(store.due_for_auto_close(later, 10).await.unwrap(), numbers);
}

/// The purge reads a NOT EXISTS flag (a boolean on PostgreSQL, an integer on SQLite) and
/// appends to an article's note with `||`: old raw mail goes, the articles say so, and a
/// note already there is kept.
#[tokio::test]
async fn purging_old_raw_mail_notes_it_on_each_article_alike() {
    let env = TestEnv::new().await;
    let plain = created(&env.fixture("new_ticket.eml", None).await);
    let refused = created(
        &env.process(&crate::pipeline_rules::mail_with_attachment(
            "purge-big@acme.example",
            3 * 1024 * 1024,
        ))
        .await,
    );
    env.clock.advance(Duration::days(300));
    let recent = created(
        &env.process(
            b"From: carol@acme.example\r\nTo: support@localhost\r\nSubject: Later\r\n\
              Message-ID: <purge-recent@acme.example>\r\n\r\nStill broken.\r\n",
        )
        .await,
    );
    env.clock.advance(Duration::days(66));
    let jobs = ticketgate::service::Jobs::new(
        env.store().clone(),
        std::sync::Arc::new(env.pipeline().settings().clone()),
        env.clock.clone(),
    );
    let report = jobs
        .run(ticketgate::service::JobKind::Purge, "manual")
        .await
        .unwrap();
    assert_eq!(report.summary(), "deleted 2 file(s)", "{:?}", report.lines);

    let purged = "The original mail was purged on 2027-11-25.";
    let first = |details: ticketgate::domain::TicketDetails| details.articles[0].clone();
    let article = first(env.details(&plain).await);
    assert_eq!(
        (article.raw_ref, article.note.as_deref()),
        (None, Some(purged))
    );
    let article = first(env.details(&refused).await);
    let note = article.note.unwrap();
    assert!(
        article.raw_ref.is_none()
            && note.ends_with(&format!(" {purged}"))
            && note.len() > purged.len() + 1,
        "{note}"
    );
    let article = first(env.details(&recent).await);
    assert!(article.raw_ref.is_some() && article.note.is_none());
}

/// A mail's text over 2 KB reads back whole on both backends. PostgreSQL compresses it as
/// it is written, with lz4 where the server has it (the default, pglz, took a third of the
/// server's CPU during ingest: BENCHMARKS.md).
#[tokio::test]
async fn a_long_text_reads_back_whole_and_postgresql_compresses_it_with_lz4() {
    use sqlx::Connection;
    let env = TestEnv::new().await;
    let body = "The VPN drops every few minutes, then comes back. ".repeat(150);
    let mail = format!(
        "From: alice@acme.example\r\nTo: support@localhost\r\nSubject: VPN\r\n\
         Message-ID: <long-1@acme.example>\r\n\r\n{body}\r\n"
    );
    let n = created(&env.process(mail.as_bytes()).await);
    let ticket = env.details(&n).await;
    assert_eq!(ticket.articles[0].body_text.trim_end(), body.trim_end());
    let url = env.pipeline().settings().database_url.expose().to_string();
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let methods: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT pg_column_compression(body_text) FROM articles \
             UNION ALL SELECT pg_column_compression(description) FROM tickets",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            methods,
            [Some("lz4".to_string()), Some("lz4".to_string())],
            "article text, then the ticket's description (a server built without lz4 keeps pglz)"
        );
    }
}
