//! What a notification says, read as its reader reads it, through a real SMTP server: the
//! facts of its own event even when the ticket moved on before it was sent, the text's
//! shape in the HTML part, the reader greeted by name and told in words that fit them
//! (requester, observer, agent), the company as the sender, priority as words, and no
//! "localhost" on a configured install.

use ticketgate::domain::Status;

use crate::notifications::{Harness, Received};
use crate::support::helpers::created;

/// A configured install: the company's name, addresses and portal.
const COMPANY: &str = "[notifications]\ncompany = \"Acme Support\"\n\
    [portal]\nbase_url = \"https://support.ours.test\"\n";

/// Alice opens a ticket with Marc Petit in copy; both acknowledgements are delivered.
async fn opened(h: &mut Harness) -> (ticketgate::domain::TicketNumber, Vec<Received>) {
    let n = created(
        &h.mail(
            "From: Alice Martin <alice@acme.example>\nTo: support@ours.test\n\
             Cc: \"Marc Petit\" <marc.petit@acme.example>\n\
             Subject: VPN down\nMessage-ID: <open-1@acme.example>\n\nThe VPN is down since 8am.\n",
        )
        .await,
    );
    let mails = h.deliver().await;
    (n, mails)
}

fn to<'a>(mails: &'a [Received], recipient: &str, event: &str) -> &'a Received {
    mails
        .iter()
        .find(|m| m.recipient == recipient && m.event == event)
        .unwrap_or_else(|| panic!("no {event} to {recipient} among {mails:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_states_the_facts_of_its_own_event() {
    let Some(mut h) = Harness::new(COMPANY).await else {
        return;
    };
    let (n, _) = opened(&mut h).await;
    let camille = h.camille();
    // Three moves in quick succession, all queued before the worker sends anything.
    h.service
        .change_status(&n, Status::InProgress, &camille)
        .await
        .unwrap();
    h.service
        .resolve(&n, "We replaced the VPN gateway.", &camille)
        .await
        .unwrap();
    h.service.close(&n, &camille).await.unwrap();
    let mails = h.deliver().await;

    let moved = to(&mails, "alice@acme.example", "status_changed");
    assert!(
        moved.text.contains("changed from new to in progress")
            && moved.text.contains("Status: in progress"),
        "{}",
        moved.text
    );
    let solution = to(&mails, "alice@acme.example", "solution_proposed");
    assert!(
        solution.text.contains("Status: resolved")
            && solution.text.contains("We replaced the VPN gateway.")
            && solution
                .text
                .contains("closed automatically on 1 December 2026"),
        "{}",
        solution.text
    );
    let closed = to(&mails, "alice@acme.example", "ticket_closed");
    assert!(closed.text.contains("Status: closed"), "{}", closed.text);
    // The time each mail states is its own event's.
    assert!(
        mails
            .iter()
            .all(|m| m.text.contains("Updated: 24 November 2026, 09:00 UTC")),
        "{mails:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_part_keeps_the_shape_of_the_text() {
    let Some(mut h) = Harness::new(COMPANY).await else {
        return;
    };
    let (n, _) = opened(&mut h).await;
    let camille = h.camille();
    h.service
        .comment(
            &n,
            &camille,
            "Hello Alice,\n\nPlease restart the client.\nThen log in again.\n\n\
             > The VPN is down since 8am.\n\nStatus page: https://status.ours.test/vpn?x=1&y=2.\n\n\
             -- \nCamille\nAcme Support <b>team</b>",
            false,
        )
        .await
        .unwrap();
    let mails = h.deliver().await;
    // Lines of a mail travel with CRLF endings.
    let html = &to(&mails, "alice@acme.example", "agent_comment")
        .html
        .replace("\r\n", "\n");
    for shape in [
        "<p style=\"margin:0 0 14px;\">Hello Alice,</p>",
        "Please restart the client.<br>\nThen log in again.</p>",
        "<blockquote",
        "The VPN is down since 8am.</p>",
        "<a href=\"https://status.ours.test/vpn?x&#x3D;1&amp;y&#x3D;2\"",
        "-- <br>\nCamille<br>\nAcme Support &lt;b&gt;team&lt;/b&gt;</p>",
    ] {
        assert!(html.contains(shape), "{shape:?} not in\n{html}");
    }
    assert!(!html.contains("<b>team"), "what a person wrote stays text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reader_is_greeted_by_name_and_told_in_their_own_words() {
    let Some(mut h) = Harness::new(COMPANY).await else {
        return;
    };
    let (n, mails) = opened(&mut h).await;
    let alice = to(&mails, "alice@acme.example", "ticket_opened");
    let marc = to(&mails, "marc.petit@acme.example", "ticket_opened");
    assert!(
        alice.text.starts_with("Hello Alice Martin,")
            && alice.text.contains("We received your request"),
        "{}",
        alice.text
    );
    assert!(
        marc.text.starts_with("Hello Marc Petit,")
            && marc
                .text
                .contains("We received the request of Alice Martin")
            && !marc.text.contains("your request"),
        "{}",
        marc.text
    );
    assert!(
        marc.text
            .contains("View the ticket: https://support.ours.test/tickets/")
    );
    assert!(
        alice
            .text
            .contains("View your ticket: https://support.ours.test/tickets/")
    );
    assert!(
        alice.html.contains(">View your ticket</a>"),
        "{}",
        alice.html
    );
    // The company writes, by name; priority reads as a word.
    for m in &mails {
        assert_eq!(m.from, "\"Acme Support\" <support@ours.test>");
        assert!(!m.raw.contains("localhost"), "{}", m.raw);
        // (The summary line only: a link's signature may hold any letters.)
        assert!(
            m.text.lines().any(|l| l == "Status: new - priority Low"),
            "{}",
            m.text
        );
    }

    // The team answering without naming an agent is "our support team", not "Support".
    let team = h.service.agent(None).unwrap();
    h.service
        .comment(&n, &team, "We are on it.", false)
        .await
        .unwrap();
    let mails = h.deliver().await;
    let answer = to(&mails, "alice@acme.example", "agent_comment");
    assert!(
        answer.text.contains("Our support team wrote on ticket")
            && !answer.text.contains("Support,"),
        "{}",
        answer.text
    );
    let answer = to(&mails, "marc.petit@acme.example", "agent_comment");
    assert!(
        answer.text.starts_with("Hello Marc Petit,"),
        "{}",
        answer.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn french_readers_read_french_and_priority_can_be_hidden() {
    let Some(mut h) =
        Harness::new(&COMPANY.replace("[portal]", "show_priority = false\n[portal]")).await
    else {
        return;
    };
    let n = created(
        &h.mail(
            "From: =?utf-8?q?Am=C3=A9lie_Martin?= <amelie@client.example>\nTo: support@ours.test\n\
             Subject: =?utf-8?q?Imprimante_en_panne?=\nMessage-ID: <fr-1@client.example>\n\
             Content-Type: text/plain; charset=utf-8\n\n\
             Bonjour, l'imprimante du deuxième étage ne fonctionne plus depuis ce matin. Merci de votre aide.\n",
        )
        .await,
    );
    let team = h.service.agent(None).unwrap();
    h.service
        .comment(&n, &team, "Nous regardons cela.", false)
        .await
        .unwrap();
    let mails = h.deliver().await;
    let ack = to(&mails, "amelie@client.example", "ticket_opened");
    assert!(
        ack.text.starts_with("Bonjour Amélie Martin,")
            && ack.text.contains("Nous avons bien reçu votre demande")
            && ack.text.contains("Voir votre ticket"),
        "{}",
        ack.text
    );
    let answer = to(&mails, "amelie@client.example", "agent_comment");
    assert!(
        answer
            .text
            .contains("Notre équipe support a écrit sur le ticket"),
        "{}",
        answer.text
    );
    for m in &mails {
        assert!(
            !m.text.contains("priorité") && !m.html.contains("Priorité"),
            "{}",
            m.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_subject_stays_whole_in_the_ticket_and_its_mails() {
    let Some(mut h) = Harness::new(COMPANY).await else {
        return;
    };
    let subject = "The printer on the second floor prints blank pages again ".repeat(6);
    let subject = subject.trim();
    assert!(subject.chars().count() > 300);
    let n = created(
        &h.mail(&format!(
            "From: Alice Martin <alice@acme.example>\nTo: support@ours.test\n\
             Subject: {subject}\nMessage-ID: <long-1@acme.example>\n\nIt does.\n"
        ))
        .await,
    );
    assert_eq!(h.env.details(&n).await.ticket.title, subject);
    let mails = h.deliver().await;
    let ack = to(&mails, "alice@acme.example", "ticket_opened");
    assert!(ack.subject.ends_with(subject), "{}", ack.subject);
    assert!(ack.text.contains(subject), "{}", ack.text);
}
