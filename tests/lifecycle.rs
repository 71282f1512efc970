//! A ticket's life after it is opened, end to end against a real SMTP server on loopback:
//! agents' comments and commands, the requester's approval or refusal of a solution by
//! mail, reminders and the auto-close, on a clock the test moves (nobody sleeps for days).

use chrono::Duration;
use ticketgate::clock::Clock;
use ticketgate::domain::{EmailAddress, Status, TicketNumber, Visibility};
use ticketgate::pipeline::Outcome;
use ticketgate::service::{JobKind, Jobs};

use crate::notifications::{Harness, expect, pairs};
use crate::support::helpers::created;

const OPENING: &str = "From: Alice <alice@acme.example>\nTo: support@ours.test\nCc: bob@acme.example\n\
    Subject: VPN down\nMessage-ID: <open-1@acme.example>\n\nThe VPN is down since 8am.\n";

/// A mail from `from` on ticket `n` (by its subject tag), with `body`, authenticated by
/// our mail server as its sender's domain (the harness trusts `mx.ours.test`).
fn on_ticket(from: &str, n: &TicketNumber, id: &str, body: &str) -> String {
    let domain = from
        .rsplit('@')
        .next()
        .unwrap()
        .trim_end_matches('>')
        .to_ascii_lowercase();
    format!(
        "Authentication-Results: mx.ours.test; dmarc=pass header.from={domain}\n\
         From: {from}\nTo: support@ours.test\nSubject: Re: [#{n}] VPN down\n\
         Message-ID: <{id}@example.test>\n\n{body}\n"
    )
}

fn jobs(h: &Harness) -> Jobs {
    Jobs::new(
        h.env.store().clone(),
        std::sync::Arc::new(h.env.pipeline().settings().clone()),
        h.env.clock.clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_goes_from_opened_to_approved_by_mail() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    let camille = h.camille();
    let n = created(&h.mail(OPENING).await);
    h.deliver().await;

    // The agent asks something: the ticket waits for the customer.
    h.service
        .comment(&n, &camille, "Which client version?", false)
        .await
        .unwrap();
    h.service
        .change_status(&n, Status::WaitingCustomer, &camille)
        .await
        .unwrap();
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[
            ("alice@acme.example", "agent_comment"),
            ("alice@acme.example", "status_changed"),
            ("bob@acme.example", "agent_comment"),
            ("bob@acme.example", "status_changed"),
        ])
    );

    // Her answer by mail puts it back in the agents' hands; only the new text is kept.
    let answer = on_ticket(
        "alice@acme.example",
        &n,
        "answer-1",
        "Version 5.2.\n\nOn Tue, Nov 24, 2026 at 10:00 AM Support wrote:\n> Which client version?",
    );
    assert_eq!(h.mail(&answer).await, Outcome::Commented(n.clone()));
    assert_eq!(h.status(&n).await, Status::InProgress);
    let comment = h.env.details(&n).await.articles.pop().unwrap();
    assert_eq!(comment.body_text, "Version 5.2.");
    assert!(
        comment
            .body_original
            .as_deref()
            .is_some_and(|o| o.contains("> Which client version?")),
        "the full mail stays on the article: {comment:?}"
    );
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[
            ("agents@ours.test", "customer_comment"),
            ("bob@acme.example", "customer_comment"),
        ])
    );
    assert!(
        mails
            .iter()
            .all(|m| m.text.contains("Version 5.2.") && !m.text.contains("> Which client")),
        "{}",
        mails[0].text
    );

    // The agent resolves by mail with a command line: the text after it is the solution.
    let resolve = on_ticket(
        "Camille <camille@ours.test>",
        &n,
        "resolve-1",
        "#resolve\nUpgrade the client to 5.3, it fixes the tunnel.",
    );
    assert_eq!(h.mail(&resolve).await, Outcome::Commented(n.clone()));
    assert_eq!(h.status(&n).await, Status::Resolved);
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[
            ("alice@acme.example", "solution_proposed"),
            ("bob@acme.example", "solution_proposed"),
        ])
    );
    assert!(
        mails[0].text.contains("Upgrade the client to 5.3") && !mails[0].text.contains("#resolve"),
        "{}",
        mails[0].text
    );

    // The requester approves: closed; the agents and the observer are told.
    let approve = on_ticket(
        "alice@acme.example",
        &n,
        "approve-1",
        "Approved, thanks!\n\n> Upgrade the client to 5.3",
    );
    assert_eq!(h.mail(&approve).await, Outcome::Commented(n.clone()));
    let d = h.env.details(&n).await;
    assert_eq!(d.ticket.status, Status::Closed);
    assert!(d.ticket.closed_at.is_some());
    assert!(
        d.articles
            .last()
            .unwrap()
            .note
            .as_deref()
            .is_some_and(|n| n.contains("approved")),
        "{:?}",
        d.articles.last()
    );
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[
            ("agents@ours.test", "ticket_closed"),
            ("bob@acme.example", "ticket_closed"),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_by_mail_reopens_and_only_the_requester_approves() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    let camille = h.camille();
    let n = created(&h.mail(OPENING).await);
    h.service
        .resolve(&n, "Restart the gateway.", &camille)
        .await
        .unwrap();
    h.deliver().await;

    // The observer's "ok" is a comment: approving is the requester's call.
    let thanks = on_ticket("bob@acme.example", &n, "bob-ok", "OK, works for me.");
    assert_eq!(h.mail(&thanks).await, Outcome::Commented(n.clone()));
    assert_eq!(h.status(&n).await, Status::Resolved);
    h.deliver().await;

    // The requester's refusal reopens it, with her words as the comment.
    let refuse = on_ticket(
        "alice@acme.example",
        &n,
        "refuse-1",
        "No, it still fails from home.",
    );
    assert_eq!(h.mail(&refuse).await, Outcome::Commented(n.clone()));
    let d = h.env.details(&n).await;
    assert_eq!(d.ticket.status, Status::InProgress);
    assert!(d.ticket.resolved_at.is_none());
    let last = d.articles.last().unwrap();
    assert_eq!(last.visibility, Visibility::Public);
    assert!(last.body_text.contains("still fails from home"));
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[
            ("agents@ours.test", "ticket_reopened"),
            ("bob@acme.example", "ticket_reopened"),
        ])
    );
    assert!(
        mails
            .iter()
            .all(|m| m.text.contains("still fails from home")),
        "the reopen notice carries the reason: {}",
        mails[0].text
    );

    // Any other answer to a solution reopens it too.
    h.service
        .resolve(&n, "Try again now.", &camille)
        .await
        .unwrap();
    h.deliver().await;
    let other = on_ticket("alice@acme.example", &n, "other-1", "Which gateway?");
    h.mail(&other).await;
    assert_eq!(h.status(&n).await, Status::InProgress);

    // The service operations the signed links will use follow the same rules.
    h.service.resolve(&n, "Done.", &camille).await.unwrap();
    let bob =
        ticketgate::service::Acting::Customer(EmailAddress::parse("bob@acme.example").unwrap());
    assert!(h.service.approve(&n, &bob).await.is_err());
    let alice =
        ticketgate::service::Acting::Customer(EmailAddress::parse("alice@acme.example").unwrap());
    h.service.approve(&n, &alice).await.unwrap();
    assert_eq!(h.status(&n).await, Status::Closed);
    assert!(h.service.approve(&n, &alice).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_mail_commands_act_and_mistakes_stay_internal() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    let n = created(&h.mail(OPENING).await);
    h.deliver().await;
    let camille = "Camille <camille@ours.test>";

    let internal = on_ticket(
        camille,
        &n,
        "c-1",
        "#internal\nCustomer is on the old client.",
    );
    h.mail(&internal).await;
    let typo = on_ticket(camille, &n, "c-2", "#resolv\nFixed by the upgrade.");
    h.mail(&typo).await;
    let empty = on_ticket(camille, &n, "c-2b", "#resolve\n");
    h.mail(&empty).await;
    assert!(
        h.deliver().await.is_empty(),
        "neither an internal note nor a mistyped command reaches anyone"
    );
    let d = h.env.details(&n).await;
    assert_eq!(d.ticket.status, Status::New);
    let notes: Vec<_> = d.articles.iter().rev().take(3).collect();
    assert!(notes.iter().all(|a| a.visibility == Visibility::Internal));
    assert!(
        notes[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("#resolve needs the solution")),
        "{:?}",
        notes[0]
    );
    assert!(
        notes[1]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("#resolv is not a command")),
        "{:?}",
        notes[0]
    );

    let waiting = on_ticket(camille, &n, "c-3", "#waiting\nCan you send the logs?");
    h.mail(&waiting).await;
    assert_eq!(h.status(&n).await, Status::WaitingCustomer);
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[
            ("alice@acme.example", "status_changed"),
            ("bob@acme.example", "status_changed"),
        ])
    );
    assert!(
        mails[0].text.contains("Can you send the logs?"),
        "{}",
        mails[0].text
    );

    let close = on_ticket(camille, &n, "c-4", "#close");
    h.mail(&close).await;
    assert_eq!(h.status(&n).await, Status::Closed);
    // On a closed ticket, an agent's plain mail is kept internal; #reopen reopens it.
    h.deliver().await;
    let late = on_ticket(camille, &n, "c-5", "One more thing.");
    h.mail(&late).await;
    assert!(h.deliver().await.is_empty());
    assert_eq!(h.status(&n).await, Status::Closed);
    let reopen = on_ticket(camille, &n, "c-6", "#reopen\nLooking again.");
    h.mail(&reopen).await;
    assert_eq!(h.status(&n).await, Status::InProgress);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_solutions_are_reminded_once_then_auto_closed_once() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    let camille = h.camille();
    let jobs = jobs(&h);
    let n = created(&h.mail(OPENING).await);
    h.service
        .resolve(&n, "Restart it.", &camille)
        .await
        .unwrap();
    h.deliver().await;

    // Two days before the 7-day auto-close, one reminder to the requester, and only one.
    h.env.clock.advance(Duration::days(4));
    let run = jobs.run(JobKind::ResolutionReminder, "test").await.unwrap();
    assert!(run.lines.is_empty(), "{:?}", run.lines);
    h.env.clock.advance(Duration::hours(26));
    let run = jobs.run(JobKind::ResolutionReminder, "test").await.unwrap();
    assert_eq!(run.lines.len(), 1, "{:?}", run.lines);
    let again = jobs.run(JobKind::ResolutionReminder, "test").await.unwrap();
    assert!(again.lines.is_empty(), "a reminder is sent once");
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[("alice@acme.example", "resolution_reminder")])
    );
    assert!(
        mails[0].text.contains("closed automatically on"),
        "{}",
        mails[0].text
    );

    // Not yet 7 days: nothing closes. Past them: closed as auto-closed, and told.
    h.env.clock.advance(Duration::hours(40));
    assert!(
        jobs.run(JobKind::AutoClose, "test")
            .await
            .unwrap()
            .lines
            .is_empty()
    );
    h.env.clock.advance(Duration::hours(8));
    let run = jobs.run(JobKind::AutoClose, "test").await.unwrap();
    assert_eq!(run.lines.len(), 1, "{:?}", run.lines);
    assert!(run.lines[0].contains(n.as_str()));
    assert_eq!(h.status(&n).await, Status::Closed);
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[
            ("alice@acme.example", "ticket_auto_closed"),
            ("bob@acme.example", "ticket_auto_closed"),
        ])
    );

    // Two runs at the same moment (two instances, or a tick and an operator) act once.
    let m = created(&h.mail(&OPENING.replace("open-1", "open-2")).await);
    h.service
        .resolve(&m, "Restart it.", &camille)
        .await
        .unwrap();
    h.env.clock.advance(Duration::days(8));
    let (a, b) = tokio::join!(
        jobs.run(JobKind::AutoClose, "test"),
        jobs.run(JobKind::AutoClose, "test")
    );
    assert_eq!(a.unwrap().lines.len() + b.unwrap().lines.len(), 1);
    let mails = h.deliver().await;
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.event == "ticket_auto_closed")
            .count(),
        2,
        "the requester and the observer, once each"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_ticket_is_reminded_once_per_wait() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    let camille = h.camille();
    let jobs = jobs(&h);
    let n = created(&h.mail(OPENING).await);
    h.service
        .change_status(&n, Status::WaitingCustomer, &camille)
        .await
        .unwrap();
    h.deliver().await;
    h.env
        .clock
        .advance(Duration::days(3) + Duration::minutes(1));
    assert_eq!(
        jobs.run(JobKind::WaitingReminder, "test")
            .await
            .unwrap()
            .lines
            .len(),
        1
    );
    assert!(
        jobs.run(JobKind::WaitingReminder, "test")
            .await
            .unwrap()
            .lines
            .is_empty()
    );
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[("alice@acme.example", "waiting_reminder")])
    );
    // She answers; the agent asks again: a new wait, a new reminder in its time.
    h.mail(&on_ticket("alice@acme.example", &n, "w-1", "Here it is."))
        .await;
    h.service
        .change_status(&n, Status::WaitingCustomer, &camille)
        .await
        .unwrap();
    h.env.clock.advance(Duration::days(2));
    assert!(
        jobs.run(JobKind::WaitingReminder, "test")
            .await
            .unwrap()
            .lines
            .is_empty()
    );
    h.env.clock.advance(Duration::days(2));
    assert_eq!(
        jobs.run(JobKind::WaitingReminder, "test")
            .await
            .unwrap()
            .lines
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sees_what_auto_close_closed() {
    let Some(h) = Harness::new("").await else {
        return;
    };
    let camille = h.camille();
    let n = created(&h.mail(OPENING).await);
    h.service
        .resolve(&n, "Restart it.", &camille)
        .await
        .unwrap();
    // The binary reads the same data directory; its clock is moved with --now.
    let at = (h.env.clock.now() + Duration::days(8)).to_rfc3339();
    let out = h.cli(&["jobs", "run", "auto-close", "--now", &at]);
    assert!(
        out.contains("closed 1 ticket(s)") && out.contains(n.as_str()),
        "{out}"
    );
    let out = h.cli(&["jobs", "run", "auto-close", "--now", &at]);
    assert!(out.contains("nothing to do"), "{out}");
    let list = h.cli(&["jobs", "list"]);
    assert!(
        list.contains("auto-close") && list.contains("last run") && list.contains("manual"),
        "{list}"
    );
    let bad = h.cli_fails(&["jobs", "run", "autoclose"]);
    assert!(bad.contains("auto-close, resolution-reminder"), "{bad}");
}
