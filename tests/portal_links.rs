//! The portal's answer to a link that does not open: a page that offers to mail a fresh
//! one, the `portal_link` mail with a fresh link to each ticket in progress (for an
//! address on a ticket only, and the same page for any address), the limits on asking and
//! on trying links that fail, and which client a reverse proxy is believed to serve. Over
//! real HTTP against the real daemon.

use std::time::Duration;

use crate::daemon::wait_for;
use crate::portal::{
    ALICE, BOB, Portal, assert_guarded, cli, cli_with, ingest, link_to, links, links_of_event,
    run_ok, session,
};
use crate::support::http::Answer;

/// Asks for fresh links for `email` from the portal's own page, as the client `forwarded`
/// (an `X-Forwarded-For` value) when given.
fn ask(portal: &Portal, email: &str, forwarded: Option<&str>) -> Answer {
    let origin = format!("http://127.0.0.1:{}", portal.port);
    let body = format!("email={}", email.replace('@', "%40").replace(' ', "+"));
    let mut headers = vec![
        ("Origin", origin.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    if let Some(client) = forwarded {
        headers.push(("X-Forwarded-For", client));
    }
    crate::support::http::request(portal.port, "POST", "/links", &headers, body.as_bytes())
}

#[test]
fn a_link_that_does_not_open_offers_a_fresh_one_by_mail() {
    let cli = cli();
    let open = ingest(&cli, ALICE);
    let closed = ingest(
        &cli,
        b"From: Alice Martin <alice@acme.example>\r\nTo: support@ours.test\r\n\
          Subject: Old badge\r\nMessage-ID: <p9@acme.example>\r\n\r\nMy badge is broken.\r\n",
    );
    run_ok(&cli, &["tickets", "close", &closed]);
    let bob = ingest(&cli, BOB);
    let alice_link = link_to(&links(&cli), "alice@acme.example");
    let portal = Portal::start(cli);

    // The page of a link that does not open carries the form; so does /links itself.
    let altered = portal.get(&alice_link.replace("token=", "token=x"), &[]);
    assert_eq!(altered.status, 403);
    assert!(
        altered.body.contains("action=\"/links\""),
        "{}",
        altered.body
    );
    assert!(altered.body.contains("Email me a fresh link"));
    let form = portal.get("/links", &[("Accept-Language", "fr-FR,fr;q=0.9")]);
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("M'envoyer un nouveau lien"),
        "{}",
        form.body
    );
    assert_guarded(&form, "/links");

    // A known address and an unknown one get the very same page.
    let known = ask(&portal, "Alice@acme.example", None);
    let unknown = ask(&portal, "nobody@nowhere.example", None);
    assert_eq!(known.status, 200, "{known:?}");
    assert!(known.body.contains("Check your mailbox"), "{}", known.body);
    assert_eq!((unknown.status, &unknown.body), (known.status, &known.body));
    assert!(known.header("set-cookie").is_none());

    // Alice's mail lists her ticket in progress, not the closed one, and its link opens.
    wait_for("the fresh links", Duration::from_secs(20), || {
        !links_of_event(&portal.cli, "portal_link").is_empty()
    });
    let fresh = links_of_event(&portal.cli, "portal_link");
    assert!(
        fresh
            .iter()
            .any(|l| l.starts_with(&format!("/tickets/{open}?token="))),
        "{fresh:?}"
    );
    assert!(!fresh.iter().any(|l| l.contains(&closed)), "{fresh:?}");
    assert!(!fresh.iter().any(|l| l.contains(&bob)), "{fresh:?}");
    let opened = portal.get(&fresh[0], &[]);
    assert_eq!(opened.status, 303, "{opened:?}");
    let page = portal.get(
        &format!("/tickets/{open}"),
        &[("Cookie", &session(&opened))],
    );
    assert_eq!(page.status, 200);
    let outbox = run_ok(&portal.cli, &["outbox", "list"]);
    assert!(!outbox.contains("nobody@nowhere.example"), "{outbox}");

    // What cannot be read, or comes from another site, is refused.
    let bad = ask(&portal, "not an address", None);
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("Not an email address") && bad.body.contains("action=\"/links\""));
    let forged = portal.post_from(
        "/links",
        "",
        &[("email", "alice@acme.example")],
        "https://evil.example",
    );
    assert_eq!(forged.status, 403);
    let log = portal.stop();
    assert!(!log.contains("panicked"), "{log}");
    assert!(!log.contains("token="), "a token reached the log: {log}");
}

#[test]
fn asking_and_failing_are_limited_and_only_a_trusted_proxy_names_the_client() {
    let cli = cli_with(
        "[http]\nfresh_links_per_address = \"2/1h\"\nfresh_links_per_client = \"4/1h\"\n\
         failed_links_per_client = \"3/10m\"\n",
    );
    ingest(&cli, ALICE);
    let alice_link = link_to(&links(&cli), "alice@acme.example");
    let portal = Portal::start(cli);

    // Per address: the third request for Alice is turned away, whoever the client says
    // it is (the peer is no trusted proxy: its X-Forwarded-For is not believed).
    assert_eq!(ask(&portal, "alice@acme.example", None).status, 200);
    assert_eq!(
        ask(&portal, "alice@acme.example", Some("198.51.100.1")).status,
        200
    );
    let third = ask(&portal, "alice@acme.example", Some("198.51.100.2"));
    assert_eq!(third.status, 429, "{third:?}");
    assert!(third.body.contains("Too many attempts"));
    // Per client: four requests in all, then even a new address is turned away.
    assert_eq!(ask(&portal, "bob@other.example", None).status, 200);
    assert_eq!(ask(&portal, "carol@other.example", None).status, 429);

    // Links that fail: three, then the client is turned away, a genuine link included.
    let altered = alice_link.replace("token=", "token=x");
    for _ in 0..3 {
        assert_eq!(portal.get(&altered, &[]).status, 403);
    }
    let blocked = portal.get(&alice_link, &[("X-Forwarded-For", "203.0.113.5")]);
    assert_eq!(blocked.status, 429, "{blocked:?}");
    assert!(blocked.header("set-cookie").is_none());
    let log = portal.stop();
    assert!(!log.contains("panicked"), "{log}");

    // Behind a trusted proxy, each forwarded client has its own count, and https at the
    // proxy makes the cookie Secure.
    let cli = cli_with(
        "[http]\nfailed_links_per_client = \"3/10m\"\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    ingest(&cli, ALICE);
    let alice_link = link_to(&links(&cli), "alice@acme.example");
    let portal = Portal::start(cli);
    let altered = alice_link.replace("token=", "token=x");
    let stranger = [("X-Forwarded-For", "198.51.100.9")];
    for _ in 0..3 {
        assert_eq!(portal.get(&altered, &stranger).status, 403);
    }
    assert_eq!(portal.get(&alice_link, &stranger).status, 429);
    let alice = portal.get(
        &alice_link,
        &[
            ("X-Forwarded-For", "192.0.2.44"),
            ("X-Forwarded-Proto", "https"),
        ],
    );
    assert_eq!(alice.status, 303, "{alice:?}");
    let cookie = alice.header("set-cookie").unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let direct = portal.get(&alice_link, &[]);
    assert_eq!(direct.status, 303);
    assert!(!direct.header("set-cookie").unwrap().contains("Secure"));
    portal.stop();
}
