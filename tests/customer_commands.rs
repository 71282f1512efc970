//! Customers' `#` commands by mail (issue 22, point 3): each changes the ticket only for
//! those the rules allow, is recorded on the ticket, tells people as the same change by an
//! agent would, and a command that is not allowed, not understood or changes nothing is
//! answered to its sender alone, with nothing changed. On both databases.

use ticketgate::domain::{
    Impact, Priority, Status, TicketDetails, TicketNumber, Urgency, Visibility,
};

use crate::notifications::{Harness, Received, expect, pairs};
use crate::support::helpers::{TestEnv, authenticated, created};

/// Alice opens a ticket with Carol (another company) in copy; Bob is Alice's colleague.
async fn opened(h: &mut Harness) -> TicketNumber {
    let n = created(
        &h.mail(
            "From: Alice <alice@acme.example>\nTo: support@ours.test\nCc: carol@partner.example\n\
             Subject: VPN down\nMessage-ID: <cmd-open@acme.example>\n\nThe VPN is down since 8am.\n",
        )
        .await,
    );
    h.deliver().await;
    n
}

/// A reply from `from` on ticket `n` whose text is `body`, authenticated by our mail
/// server: a command from an address alone is never trusted (see the last test).
async fn reply(h: &Harness, n: &TicketNumber, from: &str, id: &str, body: &str) {
    h.mail(&format!(
        "Authentication-Results: mx.ours.test; dmarc=pass\n\
         From: {from}\nTo: support@ours.test\nSubject: Re: [#{n}] VPN down\n\
         Message-ID: <{id}@test>\n\n{body}\n"
    ))
    .await;
}

/// The ticket's last article.
fn last(d: &TicketDetails) -> &ticketgate::domain::Article {
    d.articles.last().unwrap()
}

fn observers(d: &TicketDetails) -> Vec<&str> {
    d.ticket.observers.iter().map(|o| o.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_command_changes_the_ticket_for_whom_the_rules_allow_and_is_recorded() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    let n = opened(&mut h).await;

    // Urgency, alone: the priority follows; like an agent's `tickets set`, it tells nobody.
    reply(&h, &n, "alice@acme.example", "u1", "#urgency high").await;
    let d = h.env.details(&n).await;
    assert_eq!(
        (d.ticket.urgency, d.ticket.priority),
        (Urgency::High, Priority::P3)
    );
    let note = last(&d).note.clone().unwrap_or_default();
    assert!(
        note.contains("urgency medium → high, priority P4 → P3 (#urgency)")
            && last(&d).visibility == Visibility::Internal,
        "{note}"
    );
    assert!(h.deliver().await.is_empty());

    // A command with text under it: the text is a comment as any other.
    reply(
        &h,
        &n,
        "alice@acme.example",
        "i1",
        "#impact interrompu\nNobody can work now.",
    )
    .await;
    let d = h.env.details(&n).await;
    assert_eq!(
        (d.ticket.impact, d.ticket.priority),
        (Impact::Interrupted, Priority::P1)
    );
    assert_eq!(last(&d).body_text, "Nobody can work now.");
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[
            ("agents@ours.test", "customer_comment"),
            ("carol@partner.example", "customer_comment"),
        ])
    );

    // Privacy: the requester's own.
    reply(&h, &n, "alice@acme.example", "p1", "#private").await;
    assert!(h.env.details(&n).await.ticket.private);
    reply(&h, &n, "alice@acme.example", "p2", "#shared").await;
    assert!(!h.env.details(&n).await.ticket.private);

    // Sharing: a colleague of the requester may.
    reply(
        &h,
        &n,
        "bob@acme.example",
        "s1",
        "#share Dan <dan@partner.example>, carol@partner.example",
    )
    .await;
    let d = h.env.details(&n).await;
    assert_eq!(
        observers(&d),
        ["carol@partner.example", "dan@partner.example"]
    );
    assert!(
        last(&d)
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("dan@partner.example added as observers (#share)"),
        "only Dan is new: {:?}",
        last(&d).note
    );
    reply(
        &h,
        &n,
        "bob@acme.example",
        "s2",
        "#unshare carol@partner.example",
    )
    .await;
    assert_eq!(observers(&h.env.details(&n).await), ["dan@partner.example"]);

    // Language: the sender's own, for every later mail.
    reply(&h, &n, "alice@acme.example", "l1", "#langue français").await;
    h.deliver().await;
    let camille = h.camille();
    h.service
        .comment(&n, &camille, "We restarted the VPN gateway.", false)
        .await
        .unwrap();
    let mails = h.deliver().await;
    let to_alice = mails
        .iter()
        .find(|m| m.recipient == "alice@acme.example")
        .unwrap();
    assert!(to_alice.text.contains("Bonjour"), "{}", to_alice.text);

    // Closing: the requester's, told to the others as an agent's closing is.
    reply(
        &h,
        &n,
        "alice@acme.example",
        "c1",
        "#close\nWorks again, thank you.",
    )
    .await;
    let d = h.env.details(&n).await;
    assert_eq!(d.ticket.status, Status::Closed);
    assert_eq!(last(&d).body_text, "Works again, thank you.");
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[
            ("agents@ours.test", "ticket_closed"),
            ("dan@partner.example", "ticket_closed"),
        ])
    );
}

/// The one mail `mails` holds: a refusal to `to`, which it returns.
fn refusal<'a>(mails: &'a [Received], to: &str) -> &'a Received {
    assert_eq!(
        pairs(mails),
        expect(&[(to, "command_refused")]),
        "{mails:#?}"
    );
    &mails[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_not_allowed_not_understood_or_changing_nothing_is_answered_and_changes_nothing()
{
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    let n = opened(&mut h).await;
    let before = h.env.details(&n).await.ticket;
    let cases = [
        (
            "carol@partner.example",
            "#close",
            "only the person who opened the ticket may give it",
        ),
        (
            "carol@partner.example",
            "#share eve@partner.example",
            "only the person who opened the ticket, or someone of their organisation, may give it",
        ),
        (
            "bob@acme.example",
            "#private",
            "only the person who opened the ticket may give it",
        ),
        (
            "alice@acme.example",
            "#frobnicate",
            "we did not understand it. The commands are:",
        ),
        (
            "alice@acme.example",
            "#impact catastrophic",
            "we did not understand it",
        ),
        (
            "alice@acme.example",
            "#unshare nobody@partner.example",
            "there was nothing to change",
        ),
        (
            "alice@acme.example",
            "#urgency medium",
            "there was nothing to change",
        ),
    ];
    for (i, (from, command, why)) in cases.iter().enumerate() {
        let body = format!("{command}\nPlease.");
        reply(&h, &n, from, &format!("r{i}"), &body).await;
        let mails = h.deliver().await;
        let answer = refusal(&mails, from);
        assert!(
            answer.subject.contains(command) && answer.text.contains(why),
            "{command} by {from}: {}\n{}",
            answer.subject,
            answer.text
        );
        let d = h.env.details(&n).await;
        let kept = last(&d);
        assert_eq!(kept.visibility, Visibility::Internal, "{command}");
        assert!(
            kept.body_text.contains("Please.")
                && kept
                    .note
                    .as_deref()
                    .unwrap_or_default()
                    .contains("not carried out"),
            "{command}: {kept:?}"
        );
    }
    let after = h.env.details(&n).await.ticket;
    assert_eq!(
        (after.status, after.fields(), after.observers),
        (before.status, before.fields(), before.observers)
    );
    let listed = refusal_of(&mut h, &n, "#frobnicate").await;
    assert!(listed.contains("#share ADDRESS") && listed.contains("#language fr|en"));
}

/// The text of the answer to `command` from the requester.
async fn refusal_of(h: &mut Harness, n: &TicketNumber, command: &str) -> String {
    reply(h, n, "alice@acme.example", "again", command).await;
    let mails = h.deliver().await;
    refusal(&mails, "alice@acme.example").text.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthenticated_sender_s_command_changes_nothing() {
    let env = TestEnv::with_config(
        "[authentication]\ntrusted_authserv_ids = [\"mx.test\"]\ncustomers = \"prefer\"\n",
    )
    .await;
    let open = "From: alice@acme.example\r\nTo: support@ours.test\r\nSubject: VPN down\r\n\
        Message-ID: <unauth-open@acme.example>\r\n\r\nThe VPN is down.\r\n";
    let n = created(&env.process(&authenticated(open.as_bytes())).await);
    let forged = format!(
        "From: alice@acme.example\r\nTo: support@ours.test\r\nSubject: Re: [#{n}] VPN down\r\n\
         Message-ID: <unauth-1@elsewhere.example>\r\n\r\n#close\r\n"
    );
    env.process(forged.as_bytes()).await;
    let d = env.details(&n).await;
    assert_eq!(d.ticket.status, Status::New);
    let note = last(&d).note.clone().unwrap_or_default();
    assert!(
        note.contains("the sender could not be authenticated"),
        "{note}"
    );
}
