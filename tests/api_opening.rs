//! A ticket opened through the API on a customer's behalf (a phone call taken down): the
//! customer is its requester, is acknowledged by mail with a direct link that opens it, and
//! what cannot make a ticket (no title, one of our addresses, a field we do not know) is
//! refused with a problem document and writes nothing.

use std::time::Duration;

use crate::api::{assert_problem, call, json};
use crate::daemon::wait_for;
use crate::portal::{Portal, cli_with, links_of_event, run_ok};

#[test]
fn a_phone_call_becomes_a_ticket_and_its_requester_is_acknowledged() {
    let cli = cli_with("[[agent]]\nname = \"Élodie\"\nemail = \"elodie@ours.test\"\n");
    run_ok(&cli, &["migrate"]);
    let writer = run_ok(&cli, &["tokens", "create", "phone", "--scope", "write"])
        .trim()
        .to_string();
    let reader = run_ok(&cli, &["tokens", "create", "wall"])
        .trim()
        .to_string();
    let portal = Portal::start(cli);
    let body = r#"{"requester": "Carol.Dupont@Client.example", "requester_name": "Carol Dupont",
        "title": "Imprimante du 2e étage en panne", "text": "Elle affiche l'erreur E42 depuis ce matin.",
        "observers": ["dave@client.example"], "type": "incident", "impact": "degraded",
        "urgency": "high", "category": "Printers", "as": "élodie"}"#;

    let refused = call(&portal, "POST", "/api/v1/tickets", &reader, Some(body), &[]);
    assert_problem(&refused, 403, "scope");
    let opened = call(&portal, "POST", "/api/v1/tickets", &writer, Some(body), &[]);
    assert_eq!(opened.status, 201, "{opened:?}");
    let answer = json(&opened);
    let n = answer["ticket"].as_str().unwrap().to_string();
    assert_eq!(answer["status"], "new");
    assert_eq!(answer["notifications"], 2, "the requester and the observer");
    assert_eq!(
        opened.header("location"),
        Some(format!("/api/v1/tickets/{n}").as_str())
    );
    assert!(opened.header("etag").is_some(), "{opened:?}");

    let shown = json(&call(
        &portal,
        "GET",
        &format!("/api/v1/tickets/{n}"),
        &writer,
        None,
        &[],
    ));
    assert_eq!(shown["title"], "Imprimante du 2e étage en panne");
    assert_eq!(shown["requester"], "Carol.Dupont@client.example");
    assert_eq!(shown["requester_name"], "Carol Dupont");
    assert_eq!(shown["organisation"], "client.example");
    assert_eq!(shown["language"], "fr", "told from the text");
    assert_eq!(shown["priority"], "p3", "degraded and urgent");
    assert_eq!(shown["category"], "Printers");
    assert_eq!(shown["observers"][0], "dave@client.example");
    let first = &shown["articles"][0];
    assert_eq!(first["author"], "Carol.Dupont@client.example");
    assert_eq!(first["direction"], "inbound");
    assert_eq!(first["visibility"], "public");
    assert!(
        first["note"].as_str().unwrap().contains("Élodie"),
        "who took the call: {first}"
    );

    // The requester's acknowledgement carries the link that opens the ticket.
    let mut acknowledged = Vec::new();
    wait_for("the acknowledgements", Duration::from_secs(20), || {
        acknowledged = links_of_event(&portal.cli, "ticket_opened");
        acknowledged.len() == 2
    });
    assert!(
        acknowledged
            .iter()
            .all(|l| l.starts_with(&format!("/tickets/{n}?")))
    );
    let opened_page = portal.get(&acknowledged[0], &[]);
    assert_eq!(opened_page.status, 303, "{opened_page:?}");

    // What cannot make a ticket is refused, and nothing is written.
    for (bad, status, kind) in [
        (
            r#"{"requester": "carol@client.example", "title": " ", "text": "x"}"#,
            422,
            "invalid-field",
        ),
        (
            r#"{"requester": "carol@client.example", "title": "t", "text": ""}"#,
            422,
            "invalid-field",
        ),
        (
            r#"{"requester": "not an address", "title": "t", "text": "x"}"#,
            422,
            "invalid-field",
        ),
        (
            r#"{"requester": "support@ours.test", "title": "t", "text": "x"}"#,
            422,
            "our-address",
        ),
        (
            r#"{"requester": "carol@client.example", "observers": ["elodie@ours.test"], "title": "t", "text": "x"}"#,
            422,
            "our-address",
        ),
        (
            r#"{"requester": "carol@client.example", "title": "t", "text": "x", "language": "de"}"#,
            422,
            "invalid-field",
        ),
        (
            r#"{"requester": "carol@client.example", "title": "t", "text": "x", "as": "nobody"}"#,
            422,
            "unknown-agent",
        ),
        (
            r#"{"requester": "carol@client.example", "title": "t", "text": "x", "priority": "high"}"#,
            422,
            "invalid-field",
        ),
        (
            r#"{"requester": "carol@client.example", "title": "t"}"#,
            422,
            "invalid-field",
        ),
        (r#"{"requester": "carol@client.example", "#, 400, "bad-json"),
    ] {
        let answer = call(&portal, "POST", "/api/v1/tickets", &writer, Some(bad), &[]);
        assert_problem(&answer, status, kind);
    }
    let listed = json(&call(&portal, "GET", "/api/v1/tickets", &writer, None, &[]));
    assert_eq!(listed["tickets"].as_array().unwrap().len(), 1, "{listed}");
    portal.stop();
}
