//! Each rule of the pipeline on our own fixtures, in-process on a real database.

use crate::support::helpers::{TestEnv, authenticated, created, fixture, number};
use ticketgate::clock::Clock;
use ticketgate::domain::{Direction, Impact, Priority, Status, Urgency, Visibility};
use ticketgate::intake::OutcomeKind;
use ticketgate::pipeline::Outcome;

#[tokio::test]
async fn new_ticket_gets_a_monthly_number_observers_and_organisation() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    assert_eq!(n, number("2611N00001"));
    let d = env.details(&n).await;
    let t = &d.ticket;
    assert_eq!(t.title, "VPN is down since this morning");
    assert_eq!(t.requester.as_str(), "alice@acme.example");
    assert_eq!(t.requester_name.as_deref(), Some("Alice Martin"));
    assert_eq!(t.organisation.as_deref(), Some("acme.example"));
    assert_eq!(
        t.observers.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
        ["bob@acme.example"]
    );
    assert_eq!(t.status, Status::New);
    assert_eq!(
        (t.impact, t.urgency, t.priority),
        (Impact::Degraded, Urgency::Medium, Priority::P4)
    );
    assert_eq!(t.language, "en");
    assert!(t.description.contains("whole team cannot work"));
    let article = &d.articles[0];
    assert_eq!(
        article.message_id.as_deref(),
        Some("new-ticket-1@acme.example")
    );
    let raw = env
        .pipeline()
        .files()
        .raw(article.raw_ref.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        raw,
        fixture("new_ticket.eml", None),
        "the raw message is kept byte for byte"
    );

    // The counter goes on within the month and restarts the next one.
    let second = fixture("new_ticket.eml", None);
    let second = String::from_utf8(second)
        .unwrap()
        .replace("new-ticket-1@", "new-ticket-2@");
    assert_eq!(
        created(&env.process(second.as_bytes()).await),
        number("2611N00002")
    );
    env.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 1, 0, 0, 1).unwrap());
    let third = second.replace("new-ticket-2@", "new-ticket-3@");
    assert_eq!(
        created(&env.process(third.as_bytes()).await),
        number("2612N00001")
    );
}

#[tokio::test]
async fn the_issue_sequence_created_commented_commented_ignored_duplicate() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    assert_eq!(
        env.fixture("reply_with_tag.eml", Some(&n)).await,
        Outcome::Commented(n.clone())
    );
    assert_eq!(
        env.fixture("reply_in_reply_to.eml", None).await,
        Outcome::Commented(n.clone())
    );
    assert!(matches!(
        env.fixture("auto_reply.eml", Some(&n)).await,
        Outcome::Ignored {
            kind: "auto-reply",
            ..
        }
    ));
    assert_eq!(
        env.fixture("new_ticket.eml", None).await,
        Outcome::Duplicate(Some(n.clone()))
    );

    let d = env.details(&n).await;
    assert_eq!(
        d.articles.len(),
        3,
        "opening mail and two comments; the auto-reply added nothing"
    );
    assert_eq!(d.articles[2].author, "bob@acme.example");
    assert_eq!(env.store().list_tickets(None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn same_mail_delivered_twice_with_other_transport_headers_is_one_ticket() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    let relayed = [
        b"Received: from mx2.example by mx.example; Tue, 24 Nov 2026 09:00:05 +0000\r\nDelivered-To: help@localhost\r\n".as_slice(),
        &fixture("new_ticket.eml", None),
    ]
    .concat();
    assert_eq!(env.process(&relayed).await, Outcome::Duplicate(Some(n)));
}

#[tokio::test]
async fn reused_message_id_with_other_content_is_a_different_mail() {
    let env = TestEnv::new().await;
    let first = created(&env.fixture("new_ticket.eml", None).await);
    let other = String::from_utf8(fixture("new_ticket.eml", None))
        .unwrap()
        .replace("VPN is down", "Printer is jammed");
    let second = created(&env.process(other.as_bytes()).await);
    assert_ne!(first, second);
}

#[tokio::test]
async fn outsider_quoting_a_tag_gets_a_ticket_of_their_own() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    let other = created(&env.fixture("outsider_quotes_tag.eml", Some(&n)).await);
    assert_ne!(other, n);
    assert_eq!(
        env.details(&n).await.articles.len(),
        1,
        "nothing was added to the ticket they named"
    );
    let theirs = env.details(&other).await;
    assert_eq!(
        theirs.ticket.requester.as_str(),
        "mallory@elsewhere.example"
    );
    assert!(
        theirs.articles[0]
            .note
            .as_deref()
            .unwrap()
            .contains("not allowed")
    );
}

#[tokio::test]
async fn colleague_of_the_same_organisation_may_comment() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    assert_eq!(
        env.fixture("colleague_quotes_tag.eml", Some(&n)).await,
        Outcome::Commented(n)
    );
}

#[tokio::test]
async fn public_mail_providers_are_not_organisations_and_private_tickets_stay_private() {
    let env = TestEnv::new().await;
    let gmail = String::from_utf8(fixture("new_ticket.eml", None))
        .unwrap()
        .replace("alice@acme.example", "alice@gmail.com");
    let n = created(&env.process(gmail.as_bytes()).await);
    assert_eq!(env.details(&n).await.ticket.organisation, None);
    let stranger = String::from_utf8(fixture("colleague_quotes_tag.eml", Some(&n)))
        .unwrap()
        .replace("carol@acme.example", "carol@gmail.com");
    assert!(matches!(
        env.process(stranger.as_bytes()).await,
        Outcome::Created(_)
    ));

    let m = created(&env.process(&fixture("new_ticket.eml", None)).await);
    env.sql("UPDATE tickets SET private = 1 WHERE number = '2611N00003'")
        .await;
    assert_eq!(m, number("2611N00003"));
    assert!(matches!(
        env.fixture("colleague_quotes_tag.eml", Some(&m)).await,
        Outcome::Created(_)
    ));
}

#[tokio::test]
async fn agents_may_write_on_any_ticket() {
    let env =
        TestEnv::with_config("[[agent]]\nname = \"Camille\"\nemail = \"camille@support.example\"")
            .await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    let from_agent = String::from_utf8(fixture("outsider_quotes_tag.eml", Some(&n)))
        .unwrap()
        .replace("mallory@elsewhere.example", "Camille@Support.example");
    assert_eq!(
        env.process(&authenticated(from_agent.as_bytes())).await,
        Outcome::Commented(n.clone())
    );
    assert_eq!(
        env.details(&n).await.articles[1].direction,
        Direction::Outbound
    );
}

#[tokio::test]
async fn automatic_mail_never_opens_a_ticket() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    for (name, kind) in [
        ("auto_reply.eml", "auto-reply"),
        ("out_of_office_fr.eml", "auto-reply"),
        ("bulk_newsletter.eml", "auto-reply"),
        ("loop_from_ourselves.eml", "loop"),
    ] {
        match env.fixture(name, Some(&n)).await {
            Outcome::Ignored { kind: got, .. } => assert_eq!(got, kind, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert_eq!(env.store().list_tickets(None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_bounce_of_our_notification_is_recorded_on_its_ticket_as_an_internal_note() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    // Our acknowledgement went out as <notification-2@localhost> (the id the report encloses).
    let job = env
        .store()
        .claim_notification(env.clock.now(), chrono::Duration::minutes(5), "test")
        .await
        .unwrap()
        .unwrap();
    env.store()
        .mark_notification_sent(&job, "notification-2@localhost", env.clock.now())
        .await
        .unwrap();
    match env.fixture("bounce_of_notification.eml", Some(&n)).await {
        Outcome::Ignored {
            kind: "bounce",
            ticket: Some(t),
            ..
        } => assert_eq!(t, n),
        other => panic!("{other:?}"),
    }
    let d = env.details(&n).await;
    let note = d.articles.last().unwrap();
    assert_eq!(
        (note.direction, note.visibility),
        (Direction::System, Visibility::Internal)
    );
    assert!(
        note.body_text.contains("could not be delivered"),
        "{}",
        note.body_text
    );
    assert!(note.attachments.is_empty() && note.raw_ref.is_some());
    // The report is not a message of the conversation: a mail answering it threads nowhere.
    let answer = String::from_utf8(fixture("reply_in_reply_to.eml", None))
        .unwrap()
        .replace("new-ticket-1@acme.example", "bounce-1@mx.acme.example");
    let other = created(&env.process(answer.as_bytes()).await);
    assert_ne!(other, n);
}

#[tokio::test]
async fn a_fake_report_quoting_a_ticket_tag_adds_nothing_to_the_ticket() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    // The tag is in the enclosed subject, but no notification of ours has that Message-ID.
    let fake = String::from_utf8(fixture("bounce_of_notification.eml", Some(&n)))
        .unwrap()
        .replace("notification-2@", "forged@");
    assert!(matches!(
        env.process(fake.as_bytes()).await,
        Outcome::Ignored {
            kind: "bounce",
            ticket: None,
            ..
        }
    ));
    assert_eq!(env.details(&n).await.articles.len(), 1);
}

#[tokio::test]
async fn a_person_writing_about_auto_replies_is_not_an_auto_reply() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    let mail = String::from_utf8(fixture("reply_with_tag.eml", Some(&n)))
        .unwrap()
        .replace(
            "VPN is down since this morning",
            "the auto-reply of our portal is out of office",
        );
    assert_eq!(env.process(mail.as_bytes()).await, Outcome::Commented(n));
}

#[tokio::test]
async fn a_reused_message_id_cannot_pull_replies_to_another_ticket() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    // Someone else sends a new mail reusing Alice's Message-ID, with other content.
    let copy = String::from_utf8(fixture("outsider_quotes_tag.eml", Some(&n)))
        .unwrap()
        .replace(
            "Message-ID: <outsider-1@elsewhere.example>",
            "Message-ID: <new-ticket-1@acme.example>",
        )
        .replace("Re: [#", "About [");
    let other = created(&env.process(copy.as_bytes()).await);
    assert_ne!(other, n);
    // Bob's untagged reply to Alice's mail still goes to Alice's ticket.
    assert_eq!(
        env.fixture("reply_in_reply_to.eml", None).await,
        Outcome::Commented(n)
    );
}

#[tokio::test]
async fn charsets_and_html_only_mail_are_decoded() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("french_latin1.eml", None).await);
    let d = env.details(&n).await;
    assert_eq!(d.ticket.title, "Problème d'accès à la messagerie");
    assert_eq!(d.ticket.requester_name.as_deref(), Some("Renée François"));
    assert!(
        d.ticket
            .description
            .contains("réunion importante cet après-midi")
    );
    assert_eq!(d.ticket.language, "fr");

    let n = created(&env.fixture("html_only.eml", None).await);
    let d = env.details(&n).await;
    assert!(
        d.ticket.description.contains("Why was I charged"),
        "{:?}",
        d.ticket.description
    );
    assert!(!d.ticket.description.contains("<b>"));
    assert!(
        d.articles[0]
            .body_html
            .as_deref()
            .unwrap()
            .contains("<b>twice</b>")
    );
}

#[tokio::test]
async fn attachments_are_content_addressed_and_their_names_sanitized() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("hostile_filenames.eml", None).await);
    let d = env.details(&n).await;
    let files = &d.articles[0].attachments;
    let names: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
    assert!(names.contains(&"screen.png"), "{names:?}");
    assert!(names.contains(&"passwd"), "{names:?}");
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("rapport") && !n.contains('\u{202e}')),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.ends_with(".eml")),
        "the enclosed message is kept: {names:?}"
    );
    let screen = files.iter().find(|f| f.filename == "screen.png").unwrap();
    assert!(screen.inline);
    assert_eq!(screen.content_id.as_deref(), Some("shot1@client.example"));
    for f in files {
        let sha = f.sha256.as_deref().unwrap();
        let bytes = env.pipeline().files().attachment(sha).await.unwrap();
        assert_eq!(ticketgate::files::sha256_hex(&bytes), sha);
        assert_eq!(bytes.len() as u64, f.size);
    }
    assert!(!env.data_dir().join("etc").exists());
}

/// A mail with one attachment of `size` bytes (base64, as mail clients send them).
pub fn mail_with_attachment(message_id: &str, size: usize) -> Vec<u8> {
    use std::fmt::Write;
    let mut body = String::with_capacity(size * 4 / 3 + size / 40);
    let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    let encoded = base64_encode(&data);
    for line in encoded.as_bytes().chunks(76) {
        body.push_str(std::str::from_utf8(line).unwrap());
        body.push_str("\r\n");
    }
    let mut mail = String::new();
    write!(
        mail,
        "From: Alice <alice@acme.example>\r\nTo: support@localhost\r\nSubject: Logs of the crash\r\n\
         Message-ID: <{message_id}>\r\nDate: Tue, 24 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n\
         The logs are attached.\r\n--B\r\nContent-Type: application/octet-stream; name=\"crash.log\"\r\n\
         Content-Disposition: attachment; filename=\"crash.log\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {body}--B--\r\n"
    )
    .unwrap();
    mail.into_bytes()
}

pub fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn a_3_mb_attachment_is_refused_but_the_ticket_is_created() {
    let env = TestEnv::new().await;
    let n = created(
        &env.process(&mail_with_attachment("big-1@acme.example", 3 * 1024 * 1024))
            .await,
    );
    let d = env.details(&n).await;
    let file = &d.articles[0].attachments[0];
    assert_eq!(file.filename, "crash.log");
    assert_eq!(file.size, 3 * 1024 * 1024);
    assert_eq!(file.sha256, None, "not stored");
    assert!(
        file.refused_reason
            .as_deref()
            .unwrap()
            .contains("over the 2.0 MB limit"),
        "{:?}",
        file.refused_reason
    );
    assert!(d.articles[0].note.as_deref().unwrap().contains("crash.log"));
    assert!(!env.data_dir().join("attachments").exists());
    // Below the limit it is stored.
    let n = created(
        &env.process(&mail_with_attachment("small-1@acme.example", 100 * 1024))
            .await,
    );
    assert!(
        env.details(&n).await.articles[0].attachments[0]
            .sha256
            .is_some()
    );
}

#[tokio::test]
async fn routing_rules_set_type_category_urgency_and_impact() {
    let env = TestEnv::with_config(
        "[[routing]]\nname = \"outage\"\nsubject = \"(?i)\\\\bdown\\\\b\"\nurgency = \"high\"\nimpact = \"interrupted\"\ncategory = \"network\"\n\
         [[routing]]\nname = \"billing\"\nbody = \"(?i)charged\"\ntype = \"request\"\n",
    )
    .await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    let t = env.details(&n).await.ticket;
    assert_eq!(
        (t.urgency, t.impact, t.priority),
        (Urgency::High, Impact::Interrupted, Priority::P1)
    );
    assert_eq!(t.category.as_deref(), Some("network"));
    let n = created(&env.fixture("html_only.eml", None).await);
    assert_eq!(env.details(&n).await.ticket.ticket_type.as_str(), "request");
}

#[tokio::test]
async fn a_reply_to_a_closed_ticket_opens_a_follow_up() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    let service = env.service();
    service
        .close(&n, &service.agent(None).unwrap())
        .await
        .unwrap();
    // 15 days later: past the 14-day reopen window.
    env.clock.advance(chrono::Duration::days(15));
    let follow_up = created(&env.fixture("reply_with_tag.eml", Some(&n)).await);
    let d = env.details(&follow_up).await;
    assert_eq!(d.ticket.follow_up_of, Some(n.clone()));
    assert_eq!(env.details(&n).await.ticket.status, Status::Closed);
}

#[tokio::test]
async fn a_reply_within_the_reopen_window_reopens_the_closed_ticket() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    let service = env.service();
    service
        .close(&n, &service.agent(None).unwrap())
        .await
        .unwrap();
    env.clock.advance(chrono::Duration::days(13));
    assert_eq!(
        env.process(&authenticated(&fixture("reply_with_tag.eml", Some(&n))))
            .await,
        Outcome::Commented(n.clone())
    );
    let d = env.details(&n).await;
    assert_eq!(d.ticket.status, Status::InProgress);
    assert!(d.ticket.closed_at.is_none());
    let reopened = d.articles.last().unwrap();
    assert!(
        reopened
            .note
            .as_deref()
            .is_some_and(|n| n.contains("reopen window")),
        "{reopened:?}"
    );
}

#[tokio::test]
async fn a_customer_answer_puts_a_waiting_ticket_back_in_progress() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    env.sql("UPDATE tickets SET status = 'waiting_customer'")
        .await;
    env.fixture("reply_with_tag.eml", Some(&n)).await;
    assert_eq!(env.details(&n).await.ticket.status, Status::InProgress);
}

#[tokio::test]
async fn bad_input_is_quarantined_with_its_reason() {
    let env = TestEnv::with_config("max_message_bytes = 4096").await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "no sender",
            fixture("no_sender.eml", None),
            "no usable sender",
        ),
        ("empty", b"\r\n\r\n".to_vec(), "empty"),
        (
            "giant",
            mail_with_attachment("giant@acme.example", 8000),
            "over max_message_bytes",
        ),
        ("binary", (0u8..=255).cycle().take(3000).collect(), ""),
    ];
    for (what, bytes, reason) in cases {
        let report = env.ingest(&bytes).await;
        if what == "binary" {
            // Whatever mail-parser makes of it, it has a clear outcome.
            assert!(
                report.outcome == OutcomeKind::Quarantined || report.handled(),
                "{report:?}"
            );
            continue;
        }
        assert_eq!(
            report.outcome,
            OutcomeKind::Quarantined,
            "{what}: {report:?}"
        );
        assert!(
            report.reason.as_deref().unwrap().contains(reason),
            "{what}: {report:?}"
        );
    }
    let entries = env.ingestor.quarantine().list().unwrap();
    assert!(entries.len() >= 3);
    let giant = entries
        .iter()
        .find(|e| e.reason.contains("max_message_bytes"))
        .unwrap();
    assert_eq!(
        env.ingestor.quarantine().get(&giant.id).unwrap().1.len() as u64,
        giant.size
    );
}

#[tokio::test]
async fn notifications_are_queued_in_the_same_transaction() {
    let env = TestEnv::with_config(
        "[mail]\naddresses = [\"support@localhost\"]\nagents_address = \"agents@support.example\"",
    )
    .await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    env.fixture("reply_in_reply_to.eml", None).await;
    env.process(&mail_with_attachment("big-2@acme.example", 3 * 1024 * 1024))
        .await;
    let rows = outbox(&env).await;
    assert_eq!(
        rows,
        [
            (
                "ticket_opened".to_string(),
                "alice@acme.example".to_string()
            ),
            ("ticket_opened".into(), "bob@acme.example".into()),
            ("customer_comment".into(), "agents@support.example".into()),
            ("customer_comment".into(), "alice@acme.example".into()),
            ("ticket_opened".into(), "alice@acme.example".into()),
            ("attachment_refused".into(), "alice@acme.example".into()),
        ],
        "bob is not told of his own comment"
    );
    assert_eq!(n, number("2611N00001"));
}

async fn outbox(env: &TestEnv) -> Vec<(String, String)> {
    use sqlx::Row;
    let mut conn = env.connect().await;
    sqlx::query("SELECT event, recipient FROM outbox ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("event"), r.get("recipient")))
        .collect()
}

#[tokio::test]
async fn explain_says_why_without_writing() {
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    let trace = env
        .pipeline()
        .explain(&fixture("outsider_quotes_tag.eml", Some(&n)))
        .await
        .unwrap();
    let text: Vec<String> = trace.steps.iter().map(|s| s.to_string()).collect();
    let text = text.join("\n");
    assert!(
        text.contains("sender:    mallory@elsewhere.example (from From)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("thread:    {n} by the ticket tag in the subject")),
        "{text}"
    );
    assert!(
        text.contains("authorize: mallory@elsewhere.example: denied"),
        "{text}"
    );
    assert!(text.contains("verdict:   new ticket"), "{text}");
    assert_eq!(
        env.store().list_tickets(None).await.unwrap().len(),
        1,
        "explain wrote nothing"
    );

    let trace = env
        .pipeline()
        .explain(&fixture("auto_reply.eml", Some(&n)))
        .await
        .unwrap();
    let classify = trace.steps.iter().find(|s| s.stage == "classify").unwrap();
    assert_eq!(classify.detail, "auto-reply: Auto-Submitted: auto-replied");
}
