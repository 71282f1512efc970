//! Every event against a real SMTP server on loopback: who receives which mail, exactly once,
//! and what the loop governor, preferences, bounces and thread tokens change about it. The
//! pipeline, the ticket service and the outbox worker run in-process on one stopped clock.

use std::sync::Arc;

use chrono::Duration;
use mail_parser::MessageParser;
use ticketgate::clock::Clock;
use ticketgate::domain::{EmailAddress, Status, TicketNumber};
use ticketgate::notify::outbox_worker::{OutboxWorker, Step};
use ticketgate::pipeline::Outcome;
use ticketgate::service::{Acting, TicketService};

use crate::support::helpers::{TestEnv, created, run_command, stderr, stdout};
use crate::support::smtp_sink::SmtpSink;

/// One mail the SMTP server accepted.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) recipient: String,
    pub(crate) event: String,
    pub(crate) message_id: String,
    pub(crate) subject: String,
    pub(crate) text: String,
    pub(crate) html: String,
    pub(crate) from: String,
    /// The whole message as the server received it.
    pub(crate) raw: String,
}

/// A ticketgate on a fresh database whose notifications go to `sink`.
pub(crate) struct Harness {
    pub(crate) env: TestEnv,
    sink: SmtpSink,
    worker: OutboxWorker,
    pub(crate) service: TicketService,
    seen: usize,
}

const CONFIG: &str = r#"
[mail]
addresses = ["support@ours.test"]
agents_address = "agents@ours.test"
[[agent]]
name = "Camille"
email = "camille@ours.test"
[authentication]
trusted_authserv_ids = ["mx.ours.test"]
"#;

impl Harness {
    pub(crate) async fn new(extra: &str) -> Option<Harness> {
        let sink = SmtpSink::start()?;
        let config = format!(
            "{CONFIG}\n[smtp]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n{extra}",
            sink.port
        );
        let env = TestEnv::with_config(&config).await;
        let settings = env.pipeline().settings().clone();
        let worker =
            OutboxWorker::from_settings(&settings, env.store().clone(), env.clock.clone()).unwrap();
        let service =
            TicketService::new(env.store().clone(), Arc::new(settings), env.clock.clone());
        Some(Harness {
            env,
            sink,
            worker,
            service,
            seen: 0,
        })
    }

    /// Sends everything due, and returns what the server received since the last call.
    pub(crate) async fn deliver(&mut self) -> Vec<Received> {
        while self.worker.step().await.unwrap() == Step::Handled {}
        let all = self.sink.received();
        let new: Vec<Received> = all[self.seen..]
            .iter()
            .map(|(name, content)| parse_received(name, content))
            .collect();
        self.seen = all.len();
        new
    }

    pub(crate) async fn mail(&self, raw: &str) -> Outcome {
        self.env.process(raw.replace('\n', "\r\n").as_bytes()).await
    }

    pub(crate) fn camille(&self) -> Acting {
        self.service.agent(Some("camille")).unwrap()
    }

    /// Runs the binary on the same data directory (its embedded default `data`), and
    /// returns its standard output; it must succeed.
    pub(crate) fn cli(&self, args: &[&str]) -> String {
        let out = run_command(self.env.command(args), None);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    }

    /// Runs the binary like [`Harness::cli`] and returns its standard error; it must fail.
    pub(crate) fn cli_fails(&self, args: &[&str]) -> String {
        let out = run_command(self.env.command(args), None);
        assert!(!out.status.success(), "{args:?} should fail");
        stderr(&out)
    }

    pub(crate) async fn status(&self, n: &TicketNumber) -> Status {
        self.env.details(n).await.ticket.status
    }
}

fn parse_received(name: &str, content: &str) -> Received {
    let recipient = name
        .split_once('-')
        .map(|(_, r)| r.trim_end_matches(".eml"))
        .unwrap()
        .to_string();
    let message = MessageParser::default().parse(content.as_bytes()).unwrap();
    let header = |h: &str| {
        message
            .header_raw(h)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    Received {
        recipient,
        event: header("X-Ticketgate-Event"),
        message_id: message.message_id().unwrap_or_default().to_string(),
        subject: message.subject().unwrap_or_default().to_string(),
        text: message.body_text(0).unwrap_or_default().into_owned(),
        html: message.body_html(0).unwrap_or_default().into_owned(),
        from: header("From"),
        raw: content.to_string(),
    }
}

/// (recipient, event) pairs, sorted, so that "exactly these, once each" is one comparison.
pub(crate) fn pairs(mails: &[Received]) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = mails
        .iter()
        .map(|m| (m.recipient.clone(), m.event.clone()))
        .collect();
    p.sort();
    p
}

pub(crate) fn expect(pairs_: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = pairs_
        .iter()
        .map(|(r, e)| (r.to_string(), e.to_string()))
        .collect();
    p.sort();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_the_right_people_exactly_once() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    let camille = h.camille();

    // Opened: acknowledgement to the requester, notice to the observer in Cc.
    let n = created(
        &h.mail(
            "From: Alice <alice@acme.example>\nTo: support@ours.test\nCc: bob@acme.example\n\
             Subject: VPN down\nMessage-ID: <open-1@acme.example>\n\nThe VPN is down since 8am.\n",
        )
        .await,
    );
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[
            ("alice@acme.example", "ticket_opened"),
            ("bob@acme.example", "ticket_opened")
        ])
    );
    assert!(mails.iter().all(|m| m.subject.contains(&format!("[#{n}]"))));

    // An agent's comment: to the customer side, not to the agents.
    h.service
        .comment(&n, &camille, "Please restart the client.", false)
        .await
        .unwrap();
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[
            ("alice@acme.example", "agent_comment"),
            ("bob@acme.example", "agent_comment")
        ])
    );
    assert!(mails[0].text.contains("Please restart the client."));
    let to_alice = mails
        .iter()
        .find(|m| m.recipient == "alice@acme.example")
        .unwrap()
        .clone();

    // An internal note tells nobody.
    h.service
        .comment(&n, &camille, "Checked the logs.", true)
        .await
        .unwrap();
    assert!(h.deliver().await.is_empty());

    // The customer answers by mail, tag removed, threaded by In-Reply-To: the agents and
    // the other observer hear of it, the writer does not.
    let reply = format!(
        "From: alice@acme.example\nTo: support@ours.test\nSubject: Re: restarting\n\
         In-Reply-To: <{}>\nMessage-ID: <reply-1@acme.example>\n\nDone, still down.\n",
        to_alice.message_id
    );
    assert_eq!(h.mail(&reply).await, Outcome::Commented(n.clone()));
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[
            ("agents@ours.test", "customer_comment"),
            ("bob@acme.example", "customer_comment")
        ])
    );

    // Someone the writer sent the mail to already has it: no notification repeats it.
    let reply_cc = format!(
        "From: alice@acme.example\nTo: support@ours.test\nCc: bob@acme.example\nSubject: Re: [#{n}] VPN down\n\
         Message-ID: <reply-2@acme.example>\n\nStill down after lunch.\n"
    );
    assert_eq!(h.mail(&reply_cc).await, Outcome::Commented(n.clone()));
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[("agents@ours.test", "customer_comment")])
    );

    // Status moves, each told once to requester and observer, with the previous status.
    h.service
        .change_status(&n, Status::WaitingCustomer, &camille)
        .await
        .unwrap();
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[
            ("alice@acme.example", "status_changed"),
            ("bob@acme.example", "status_changed")
        ])
    );
    assert!(
        mails[0]
            .text
            .contains("changed from new to waiting for your answer"),
        "{}",
        mails[0].text
    );

    // An assignment: only the agent given the ticket hears of it, not the customers.
    let support = h.service.agent(None).unwrap();
    h.service.assign(&n, "camille", &support).await.unwrap();
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[("camille@ours.test", "ticket_assigned")])
    );
    assert!(
        mails[0]
            .subject
            .contains(&format!("Ticket {n} is assigned to you"))
            && mails[0]
                .text
                .contains(&format!("Ticket {n} is now assigned to you")),
        "{} / {}",
        mails[0].subject,
        mails[0].text
    );

    h.service
        .resolve(&n, "We replaced the VPN gateway.", &camille)
        .await
        .unwrap();
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[
            ("alice@acme.example", "solution_proposed"),
            ("bob@acme.example", "solution_proposed")
        ])
    );
    let solution = &mails
        .iter()
        .find(|m| m.recipient.starts_with("alice"))
        .unwrap()
        .text;
    assert!(
        solution.contains("We replaced the VPN gateway.")
            && solution.contains("approve")
            && solution.contains("closed automatically on 1 December 2026"),
        "{solution}"
    );

    h.service.reopen(&n, &camille).await.unwrap();
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[
            ("alice@acme.example", "ticket_reopened"),
            ("bob@acme.example", "ticket_reopened")
        ])
    );

    h.service.close(&n, &camille).await.unwrap();
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[
            ("alice@acme.example", "ticket_closed"),
            ("bob@acme.example", "ticket_closed")
        ])
    );
    assert!(
        h.service.close(&n, &camille).await.is_err(),
        "a closed ticket cannot be closed again"
    );
    assert!(
        h.service
            .comment(&n, &camille, "Late note", false)
            .await
            .is_err(),
        "a closed ticket takes no comment before it is reopened"
    );
    assert!(h.deliver().await.is_empty());

    // Past the 14-day reopen window, a mail to the closed ticket opens a follow-up; its
    // writer is told which, once.
    h.env.clock.advance(Duration::days(15));
    let late = format!(
        "From: alice@acme.example\nTo: support@ours.test\nSubject: Re: [#{n}] VPN down\n\
         Message-ID: <late-1@acme.example>\n\nIt is down again.\n"
    );
    let follow_up = created(&h.mail(&late).await);
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[("alice@acme.example", "mail_refused")])
    );
    assert!(
        mails[0].subject.contains(&format!("[#{follow_up}]"))
            && mails[0].text.contains(&format!("Ticket {n} is closed"))
            && mails[0]
                .text
                .contains(&format!("We opened ticket {follow_up}")),
        "{} / {}",
        mails[0].subject,
        mails[0].text
    );

    // A file over the limit: the writer hears of the refusal, the agents of the comment.
    let big = "A".repeat(3 * 1024 * 1024);
    let with_file = format!(
        "From: alice@acme.example\nTo: support@ours.test\nSubject: [#{follow_up}] logs\n\
         Message-ID: <file-1@acme.example>\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nLogs attached.\n\
         --b\nContent-Type: text/plain; name=logs.txt\nContent-Disposition: attachment; filename=logs.txt\n\n{big}\n--b--\n"
    );
    assert_eq!(
        h.mail(&with_file).await,
        Outcome::Commented(follow_up.clone())
    );
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[
            ("agents@ours.test", "customer_comment"),
            ("alice@acme.example", "attachment_refused")
        ])
    );
    let refusal = &mails
        .iter()
        .find(|m| m.event == "attachment_refused")
        .unwrap()
        .text;
    assert!(refusal.contains("logs.txt"), "{refusal}");

    // An outsider quoting the tag gets a ticket of their own, and is told why.
    let outsider = format!(
        "From: mallory@elsewhere.example\nTo: support@ours.test\nSubject: Re: [#{follow_up}] logs\n\
         Message-ID: <out-1@elsewhere.example>\n\nLet me in.\n"
    );
    let own = created(&h.mail(&outsider).await);
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[("mallory@elsewhere.example", "mail_refused")])
    );
    assert!(
        mails[0].subject.contains(&format!("[#{own}]"))
            && mails[0]
                .text
                .contains("ask its requester to add you as an observer"),
        "{}",
        mails[0].text
    );
    assert!(
        // Phrases with spaces: a bare "VPN" also turns up, now and then, in
        // the base64 signature of the link (it failed CI once).
        ["VPN down", "VPN is down", "VPN gateway", "down again"]
            .iter()
            .all(|words| !mails[0].text.contains(words)),
        "nothing of the ticket the outsider was refused leaks into their mail: {}",
        mails[0].text
    );

    // Auto-close: a solution with no answer for 7 days closes the ticket, once.
    h.service
        .resolve(&follow_up, "Fixed for good.", &camille)
        .await
        .unwrap();
    h.deliver().await;
    h.env.clock.advance(Duration::days(6));
    assert!(h.service.auto_close_due().await.unwrap().is_empty());
    h.env.clock.advance(Duration::days(2));
    let closed = h.service.auto_close_due().await.unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].ticket, follow_up);
    assert!(h.service.auto_close_due().await.unwrap().is_empty());
    assert_eq!(h.status(&follow_up).await, Status::Closed);
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[("alice@acme.example", "ticket_auto_closed")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_governor_holds_back_what_goes_over_a_limit_and_shows_it() {
    let Some(mut h) = Harness::new(
        "[notifications]\nrecipient_limits = [\"3/10m\"]\nticket_limits = [\"4/1h\"]\n",
    )
    .await
    else {
        return;
    };
    // A robot without auto-reply headers opens ticket after ticket.
    let mut alerts = Vec::new();
    for i in 0..5 {
        alerts.push(created(
            &h.mail(&format!(
                "From: robot@acme.example\nTo: support@ours.test\nSubject: Alert {i}\n\
                 Message-ID: <alert-{i}@acme.example>\n\nDisk full.\n"
            ))
            .await,
        ));
    }
    assert_eq!(
        h.deliver().await.len(),
        3,
        "three acknowledgements, then held"
    );
    let held = h.env.store().list_outbox(Some("held"), 10).await.unwrap();
    assert_eq!(held.len(), 2);
    assert!(
        held[0]
            .held_reason
            .as_deref()
            .unwrap()
            .contains("recipient limit 3/10m reached"),
        "{held:?}"
    );

    // The operator sees them in `outbox list`.
    let listed = h.cli(&["outbox", "list", "--status", "held"]);
    assert!(
        listed.contains("held") && listed.contains("recipient limit"),
        "{listed}"
    );

    // Once the window has passed, an operator may release one.
    h.env.clock.advance(Duration::minutes(11));
    assert!(
        h.env
            .store()
            .requeue_notification(held[0].id, h.env.clock.now())
            .await
            .unwrap()
    );
    assert_eq!(h.deliver().await.len(), 1);

    // The agents' address is the team, not a robot: it gets every customer comment.
    for (i, n) in alerts.iter().enumerate() {
        h.mail(&format!(
            "From: robot@acme.example\nTo: support@ours.test\nSubject: [#{n}] still full\n\
             Message-ID: <again-{i}@acme.example>\n\nStill full.\n"
        ))
        .await;
    }
    let to_agents = h.deliver().await;
    assert_eq!(to_agents.len(), 5, "{:?}", pairs(&to_agents));
    assert!(to_agents.iter().all(|m| m.recipient == "agents@ours.test"));

    // Per ticket: comments by several people on one ticket stop at the ticket's limit.
    let n = created(&
        h.mail(
            "From: carol@acme.example\nTo: support@ours.test\nCc: d1@acme.example, d2@acme.example, d3@acme.example, d4@acme.example\n\
             Subject: Shared\nMessage-ID: <shared@acme.example>\n\nFor all of us.\n",
        )
        .await,
    );
    let _ = n;
    assert_eq!(h.deliver().await.len(), 4, "the fifth is over 4/1h");
    let held = h.env.store().list_outbox(Some("held"), 10).await.unwrap();
    assert!(
        held.iter().any(|e| e
            .held_reason
            .as_deref()
            .is_some_and(|r| r.contains("ticket limit 4/1h"))),
        "{held:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounce_of_a_notification_marks_the_address_undeliverable() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    let n = created(
        &h.mail(
            "From: gone@acme.example\nTo: support@ours.test\nSubject: Printer\n\
             Message-ID: <p-1@acme.example>\n\nPrinter jammed.\n",
        )
        .await,
    );
    let ack = h.deliver().await.remove(0);
    // A "bounce" anyone could write (no machine-readable report) is recorded, nothing more.
    let fake = format!(
        "From: MAILER-DAEMON@evil.example\nTo: support@ours.test\nSubject: Undeliverable\n\
         In-Reply-To: <{}>\nMessage-ID: <fake-dsn@evil.example>\n\n\
         Your mail to gone@acme.example could not be delivered. Action: failed\n",
        ack.message_id
    );
    assert!(matches!(h.mail(&fake).await, Outcome::Ignored { .. }));
    let gone = EmailAddress::parse("gone@acme.example").unwrap();
    assert!(
        h.env
            .store()
            .contact(&gone)
            .await
            .unwrap()
            .undeliverable_until
            .is_none(),
        "a text that only looks like a bounce silences nobody"
    );

    let dsn = format!(
        "From: MAILER-DAEMON@mx.acme.example\nTo: support@ours.test\nSubject: Undelivered Mail Returned to Sender\n\
         Message-ID: <dsn-1@mx.acme.example>\nMIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=r\n\n\
         --r\nContent-Type: text/plain\n\nI'm sorry to have to inform you that your message could not be delivered.\n\
         --r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.acme.example\n\n\
         Final-Recipient: rfc822; gone@acme.example\nAction: failed\nStatus: 5.1.1\n\n\
         --r\nContent-Type: message/rfc822\n\nFrom: support@ours.test\nTo: gone@acme.example\n\
         Subject: {}\nMessage-ID: <{}>\n\nWe received your request.\n--r--\n",
        ack.subject, ack.message_id
    );
    match h.mail(&dsn).await {
        Outcome::Ignored { kind, ticket, .. } => {
            assert_eq!(kind, "bounce");
            assert_eq!(ticket, Some(n.clone()));
        }
        other => panic!("a bounce opens nothing: {other:?}"),
    }
    let contact = h.env.store().contact(&gone).await.unwrap();
    assert!(contact.undeliverable_until.unwrap() > h.env.clock.now());

    // The next notification to that address is held, not sent.
    h.service
        .comment(&n, &h.camille(), "Which printer?", false)
        .await
        .unwrap();
    assert!(h.deliver().await.is_empty());
    let held = h.env.store().list_outbox(Some("held"), 10).await.unwrap();
    assert!(
        held[0]
            .held_reason
            .as_deref()
            .unwrap()
            .contains("gone@acme.example is undeliverable until"),
        "{held:?}"
    );

    // An operator who fixed the address lifts the mark from the command line.
    let out = h.cli(&["contacts", "set", "gone@acme.example", "--deliverable"]);
    assert!(out.contains("  deliverable"), "{out}");
    h.env
        .store()
        .requeue_notification(held[0].id, h.env.clock.now())
        .await
        .unwrap();
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[("gone@acme.example", "agent_comment")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferences_choose_events_and_language() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    for args in [
        &["contacts", "set", "alice@acme.example", "--language", "fr"][..],
        &[
            "contacts",
            "set",
            "alice@acme.example",
            "--processing",
            "off",
        ][..],
        &[
            "contacts",
            "set",
            "bob@acme.example",
            "--observer-updates",
            "off",
        ][..],
    ] {
        h.cli(args);
    }
    let n = created(&
        h.mail(
            "From: alice@acme.example\nTo: support@ours.test\nCc: bob@acme.example\nSubject: Printer broken\n\
             Message-ID: <pref-1@acme.example>\n\nThe printer prints nothing at all since this morning.\n",
        )
        .await,
    );
    let mails = h.deliver().await;
    assert_eq!(mails.len(), 2);
    let ack = mails
        .iter()
        .find(|m| m.recipient.starts_with("alice"))
        .unwrap();
    assert!(ack.text.contains("Bonjour"), "her language: {}", ack.text);
    let notice = mails
        .iter()
        .find(|m| m.recipient.starts_with("bob"))
        .unwrap();
    assert!(
        notice.text.contains("Hello"),
        "the ticket's language: {}",
        notice.text
    );

    // Bob, an observer wanting only opening and closing, gets neither the comment nor the
    // status change; Alice, with processing steps off, does not get the status change.
    let camille = h.camille();
    h.service
        .comment(&n, &camille, "On it.", false)
        .await
        .unwrap();
    h.service
        .change_status(&n, Status::InProgress, &camille)
        .await
        .unwrap();
    h.service.close(&n, &camille).await.unwrap();
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[
            ("alice@acme.example", "agent_comment"),
            ("alice@acme.example", "ticket_closed"),
            ("bob@acme.example", "ticket_closed"),
        ])
    );
    let skipped = h
        .env
        .store()
        .list_outbox(Some("skipped"), 10)
        .await
        .unwrap();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(
        skipped.iter().any(|e| e.held_reason.as_deref()
            == Some("bob@acme.example's preferences exclude status_changed mails as an observer")),
        "{skipped:?}"
    );
    let out = h.cli(&["contacts", "show", "bob@acme.example"]);
    assert!(
        out.contains("observer updates opening/closing only"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_thread_by_our_message_ids_only_when_their_token_verifies() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    let n = created(&
        h.mail(
            "From: alice@acme.example\nTo: support@ours.test\nCc: bob@acme.example\nSubject: Badge reader\n\
             Message-ID: <t-1@acme.example>\n\nMy badge does not open the door.\n",
        )
        .await,
    );
    let mails = h.deliver().await;
    let to_alice = mails
        .iter()
        .find(|m| m.recipient.starts_with("alice"))
        .unwrap();
    assert!(to_alice.message_id.starts_with(&format!("tg.{n}.")));
    let reply = |from: &str, id: &str, mid: &str| {
        format!(
            "From: {from}\nTo: support@ours.test\nSubject: Re: the door\nIn-Reply-To: <{id}>\n\
             Message-ID: <{mid}@acme.example>\n\nStill locked.\n"
        )
    };

    // Alice answering her own notification: a comment.
    assert_eq!(
        h.mail(&reply("alice@acme.example", &to_alice.message_id, "r1"))
            .await,
        Outcome::Commented(n.clone())
    );
    // Bob, an observer, answering Alice's notification (she forwarded it): still a comment,
    // since he may write on the ticket.
    assert_eq!(
        h.mail(&reply("bob@acme.example", &to_alice.message_id, "r2"))
            .await,
        Outcome::Commented(n.clone())
    );
    // Someone else answering it: a ticket of their own.
    assert!(matches!(
        h.mail(&reply("eve@elsewhere.example", &to_alice.message_id, "r3")).await,
        Outcome::Created(other) if other != n
    ));
    // An altered token threads nowhere, even from Alice.
    let (local, domain) = to_alice.message_id.rsplit_once('@').unwrap();
    let last = local.chars().last().unwrap();
    let flipped = format!(
        "{}{}@{domain}",
        &local[..local.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    assert!(matches!(
        h.mail(&reply("alice@acme.example", &flipped, "r4")).await,
        Outcome::Created(other) if other != n
    ));
    // An id signed for Alice threads her reply even when its sending was never recorded
    // (the process died between the server's acceptance and the record): the token alone
    // proves it. The same id from someone else is worth nothing.
    let signer =
        ticketgate::signing::LinkSigner::from_settings(h.env.pipeline().settings()).unwrap();
    let alice = EmailAddress::parse("alice@acme.example").unwrap();
    let unrecorded =
        signer.notification_message_id(&n, &alice, 999_999, h.env.clock.now(), "ours.test");
    assert_eq!(
        h.mail(&reply("alice@acme.example", &unrecorded, "r6"))
            .await,
        Outcome::Commented(n.clone())
    );
    assert!(matches!(
        h.mail(&reply("eve@elsewhere.example", &unrecorded, "r7")).await,
        Outcome::Created(other) if other != n
    ));
    // A made-up id naming the ticket threads nowhere either.
    let made_up = format!("tg.{n}.1.00000000.000000000000000000000000@ours.test");
    assert!(matches!(
        h.mail(&reply("alice@acme.example", &made_up, "r5")).await,
        Outcome::Created(other) if other != n
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_submitted_no_is_a_human_and_auto_replies_get_no_answer() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    created(
        &h.mail(
            "From: alice@acme.example\nTo: support@ours.test\nSubject: Help\nAuto-Submitted: no\n\
             Message-ID: <h-1@acme.example>\n\nI need help.\n",
        )
        .await,
    );
    assert_eq!(h.deliver().await.len(), 1);
    for (i, header) in [
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated",
        "Precedence: bulk",
        "X-Ticketgate-Loop: 2611N00001",
    ]
    .iter()
    .enumerate()
    {
        let outcome = h
            .mail(&format!(
                "From: alice@acme.example\nTo: support@ours.test\nSubject: Out of office\n{header}\n\
                 Message-ID: <auto-{i}@acme.example>\n\nI am away.\n"
            ))
            .await;
        assert!(
            matches!(outcome, Outcome::Ignored { .. }),
            "{header}: {outcome:?}"
        );
    }
    assert!(h.deliver().await.is_empty(), "no mail answers a robot");
}

/// A sendmail stand-in: keeps each message with its arguments, exits 75 (EX_TEMPFAIL) the
/// first time for a `temp…` recipient and 67 (EX_NOUSER) for a `perm…` one.
const FAKE_SENDMAIL: &str = r#"#!/bin/sh
dir="$(dirname "$0")"
for rcpt; do :; done
case "$rcpt" in
  temp*) if [ ! -e "$dir/deferred-$rcpt" ]; then touch "$dir/deferred-$rcpt"; echo "queue busy" >&2; exit 75; fi ;;
  perm*) echo "$rcpt: user unknown" >&2; exit 67 ;;
esac
echo "$@" > "$dir/$rcpt.args"
cat > "$dir/$rcpt.eml"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sendmail_transport_hands_mail_to_the_local_mta() {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let script = bin.path().join("sendmail");
    std::fs::write(&script, FAKE_SENDMAIL).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = TestEnv::with_config(&format!(
        "{CONFIG}\n[smtp]\ntransport = \"sendmail\"\nsendmail_command = '{}'\n[notifications]\nretry_first_secs = 60\n",
        script.display()
    ))
    .await;
    let worker = OutboxWorker::from_settings(
        env.pipeline().settings(),
        env.store().clone(),
        env.clock.clone(),
    )
    .unwrap();
    env.process(
        b"From: alice@acme.example\r\nTo: support@ours.test\r\nCc: temp-bob@acme.example, perm-carol@acme.example\r\n\
          Subject: Scanner\r\nMessage-ID: <s-1@acme.example>\r\n\r\nThe scanner is off.\r\n",
    )
    .await;
    while worker.step().await.unwrap() == Step::Handled {}
    let args = std::fs::read_to_string(bin.path().join("alice@acme.example.args")).unwrap();
    assert_eq!(args.trim(), "-i -f support@ours.test -- alice@acme.example");
    let mail = std::fs::read_to_string(bin.path().join("alice@acme.example.eml")).unwrap();
    assert!(mail.contains("X-Ticketgate-Event: ticket_opened"), "{mail}");

    let outbox = env.store().list_outbox(None, 10).await.unwrap();
    let state = |who: &str| {
        outbox
            .iter()
            .find(|e| e.recipient.starts_with(who))
            .map(|e| (e.status.clone(), e.last_error.clone().unwrap_or_default()))
            .unwrap()
    };
    assert_eq!(state("alice").0, "sent");
    let (status, error) = state("temp-bob");
    assert!(
        status == "pending" && error.contains("queue busy"),
        "{status} {error}"
    );
    let (status, error) = state("perm-carol");
    assert!(
        status == "failed" && error.contains("user unknown"),
        "{status} {error}"
    );

    // The first pause is the configured minute.
    env.clock.advance(Duration::seconds(50));
    while worker.step().await.unwrap() == Step::Handled {}
    assert!(
        !bin.path().join("temp-bob@acme.example.eml").exists(),
        "not retried before its pause"
    );
    env.clock.advance(Duration::seconds(20));
    while worker.step().await.unwrap() == Step::Handled {}
    assert!(
        bin.path().join("temp-bob@acme.example.eml").exists(),
        "sent on the retry"
    );
}
