//! "My tickets" by mail (issue 22, point 4): a mail whose subject asks for them, or sent to
//! the `+tickets` plus-address, opens no ticket; its sender gets their open tickets and
//! their organisation's shared ones, with signed links, in their language; a colleague's
//! private ticket is not listed; an unknown sender is told they have none and nothing
//! more; at most three an hour per address. On both databases.

use ticketgate::domain::TicketNumber;
use ticketgate::pipeline::Outcome;

use crate::notifications::{Harness, Received, expect, pairs};
use crate::support::helpers::created;

/// A new ticket from `from`, its acknowledgement delivered.
async fn open(h: &mut Harness, from: &str, id: &str, subject: &str) -> TicketNumber {
    let n = created(
        &h.mail(&format!(
            "From: {from}\nTo: support@ours.test\nSubject: {subject}\nMessage-ID: <{id}@test>\n\n\
             It is broken.\n"
        ))
        .await,
    );
    h.deliver().await;
    n
}

/// A mail from `from`, authenticated by our mail server.
async fn send(h: &Harness, from: &str, to: &str, id: &str, subject: &str) -> Outcome {
    h.mail(&format!(
        "Authentication-Results: mx.ours.test; dmarc=pass\nFrom: {from}\nTo: {to}\n\
         Subject: {subject}\nMessage-ID: <{id}@test>\n\nThanks.\n"
    ))
    .await
}

fn only<'a>(mails: &'a [Received], to: &str) -> &'a Received {
    assert_eq!(pairs(mails), expect(&[(to, "my_tickets")]), "{mails:#?}");
    &mails[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_gets_their_tickets_and_their_organisation_s_shared_ones() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    let own = open(&mut h, "alice@acme.example", "a1", "VPN down").await;
    let colleague = open(&mut h, "bob@acme.example", "b1", "Printer jammed").await;
    let private = open(&mut h, "carol@acme.example", "c1", "My salary slip").await;
    h.mail(&format!(
        "Authentication-Results: mx.ours.test; dmarc=pass\nFrom: carol@acme.example\n\
         To: support@ours.test\nSubject: Re: [#{private}] My salary slip\nMessage-ID: <c2@test>\n\n\
         #private\n"
    ))
    .await;
    assert!(
        h.env.details(&private).await.ticket.private,
        "Carol's ticket is private"
    );
    let closed = open(&mut h, "alice@acme.example", "a2", "Old laptop").await;
    let camille = h.camille();
    h.service.close(&closed, &camille).await.unwrap();
    h.deliver().await;

    let outcome = send(
        &h,
        "Alice <alice@acme.example>",
        "support@ours.test",
        "ask1",
        "My tickets",
    )
    .await;
    assert!(
        matches!(outcome, Outcome::Answered { .. }),
        "{outcome:?}: no ticket is opened"
    );
    let mails = h.deliver().await;
    let list = only(&mails, "alice@acme.example");
    let text = &list.text;
    let (mine, others) = text
        .split_once("Requests of your organisation, or that you follow:")
        .unwrap_or_else(|| panic!("two groups in:\n{text}"));
    assert!(
        mine.contains(&format!("[#{own}] VPN down")) && mine.contains("Your requests:"),
        "{text}"
    );
    assert!(
        others.contains(&format!("[#{colleague}] Printer jammed")),
        "{text}"
    );
    assert!(
        !text.contains(private.as_str()) && !text.contains(closed.as_str()),
        "neither a colleague's private ticket nor a closed one: {text}"
    );
    assert!(
        text.contains(&format!("/tickets/{own}?token=")) && text.contains("status: new"),
        "{text}"
    );
    assert!(list.html.contains("VPN down") && list.subject.contains("Your open requests"));

    // A second delivery of the same request is a duplicate: nothing is sent twice.
    let again = send(
        &h,
        "Alice <alice@acme.example>",
        "support@ours.test",
        "ask1",
        "My tickets",
    )
    .await;
    assert!(matches!(again, Outcome::Duplicate(None)), "{again:?}");
    assert!(h.deliver().await.is_empty());

    // The plus-address asks the same, whatever the subject.
    let outcome = send(
        &h,
        "alice@acme.example",
        "support+tickets@ours.test",
        "ask2",
        "where are we?",
    )
    .await;
    assert!(matches!(outcome, Outcome::Answered { .. }), "{outcome:?}");
    only(&h.deliver().await, "alice@acme.example");

    // At most three an hour to one address: the fourth is not sent.
    send(
        &h,
        "alice@acme.example",
        "support@ours.test",
        "ask3",
        "status",
    )
    .await;
    only(&h.deliver().await, "alice@acme.example");
    send(
        &h,
        "alice@acme.example",
        "support@ours.test",
        "ask4",
        "Status?",
    )
    .await;
    assert!(h.deliver().await.is_empty(), "a fourth list in the hour");
    h.env.clock.advance(chrono::Duration::minutes(61));
    send(
        &h,
        "alice@acme.example",
        "support@ours.test",
        "ask5",
        "my tickets",
    )
    .await;
    only(&h.deliver().await, "alice@acme.example");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_sender_is_told_politely_in_their_language_and_nothing_else() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    open(&mut h, "alice@acme.example", "a1", "VPN down").await;
    let outcome = send(
        &h,
        "dana@globex.example",
        "support@ours.test",
        "d1",
        "Mes tickets",
    )
    .await;
    assert!(matches!(outcome, Outcome::Answered { .. }), "{outcome:?}");
    let mails = h.deliver().await;
    let answer = only(&mails, "dana@globex.example");
    assert!(
        answer
            .text
            .contains("Nous n'avons aucune demande en cours de dana@globex.example"),
        "{}",
        answer.text
    );
    assert!(
        !answer.text.contains("[#") && !answer.text.contains("VPN"),
        "nothing about anyone else: {}",
        answer.text
    );
    assert!(answer.subject.starts_with("Vos demandes en cours"));
    let explained = h.env.pipeline().explain(
        b"From: dana@globex.example\r\nTo: support@ours.test\r\nSubject: etat\r\nMessage-ID: <d2@test>\r\n\r\n.\r\n",
    );
    let steps: Vec<String> = explained
        .await
        .unwrap()
        .steps
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(
        steps
            .iter()
            .any(|s| s.contains("answered with the sender's tickets, in fr")),
        "{steps:#?}"
    );
}
