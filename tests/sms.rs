//! SMS beside mail: a contact who chose `email,sms` with a phone number gets each event
//! they receive as a short signed text posted to the `[sms]` gateway (the webhook
//! receiver of tests/webhooks.rs), under 160 characters, with a short link that opens the
//! ticket; an observer who did not choose SMS gets none; numbers are checked and never
//! logged whole. On SQLite and, in the PostgreSQL pass, on PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use crate::portal::{ALICE, Portal, cli_with, form_token, ingest, link_to, links, run_ok, session};
use crate::webhooks::{Receiver, SECRET, start_receiver, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_who_chose_sms_get_a_short_signed_text_whose_link_opens_the_ticket() {
    let receiver = Arc::new(Receiver::default());
    let port = start_receiver(receiver.clone()).await;
    let cli = cli_with(&format!(
        "retry_first_secs = 1\n\
         [sms]\nwebhook = \"http://127.0.0.1:{port}/hook/sms\"\nsecret = \"{SECRET}\"\n"
    ));
    run_ok(&cli, &["migrate"]);
    // A number as people type it; mail stays, SMS come beside it.
    let set = run_ok(
        &cli,
        &[
            "contacts",
            "set",
            "alice@acme.example",
            "--phone",
            "+33 6 12 34 56 78",
            "--channels",
            "email,sms",
        ],
    );
    assert!(set.contains("channels email, sms to +33612345678"), "{set}");
    // SMS need a number, and a number SMS can reach.
    let refused = cli.run(
        &[
            "contacts",
            "set",
            "bob@acme.example",
            "--channels",
            "email,sms",
        ],
        None,
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("SMS need a phone number"),
        "{refused:?}"
    );
    let national = cli.run(
        &[
            "contacts",
            "set",
            "bob@acme.example",
            "--phone",
            "0612345678",
        ],
        None,
    );
    let error = String::from_utf8_lossy(&national.stderr).to_string();
    assert!(
        !national.status.success() && error.contains("international form"),
        "{error}"
    );
    assert!(
        !error.contains("0612345678"),
        "the number is not repeated whole: {error}"
    );

    let n = ingest(
        &cli,
        b"From: Alice <alice@acme.example>\r\nTo: support@ours.test\r\nCc: bob@acme.example\r\n\
          Subject: Printer on fire\r\nMessage-ID: <sms-1@acme.example>\r\n\r\nThe printer is on fire.\r\n",
    );
    let portal = Portal::start(cli);
    wait_until("the SMS", Duration::from_secs(20), || {
        !receiver.on("sms").is_empty()
    })
    .await;
    // The other notifications (mail to both) have gone too by the time it is checked.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        receiver.forged.lock().unwrap().is_empty(),
        "{:?}",
        receiver.forged
    );
    let texts = receiver.on("sms");
    assert_eq!(texts.len(), 1, "Alice only, once: {texts:#?}");
    let sms = &texts[0].body;
    assert_eq!(sms["type"], "sms.send");
    let data = &sms["data"];
    assert_eq!(data["to"], "+33612345678");
    assert_eq!(data["event"], "ticket_opened");
    assert_eq!(data["ticket"], n.as_str());
    let text = data["text"].as_str().unwrap();
    assert!(
        text.chars().count() <= 160,
        "{text} ({} characters)",
        text.chars().count()
    );
    assert!(text.starts_with("Acme Support: we opened ticket"), "{text}");
    assert!(text.contains(&n), "{text}");

    // Its short link opens the ticket for Alice, as the mail's link does.
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with("http://localhost:8080/s/"))
        .unwrap_or_else(|| panic!("a short link in {text}"))
        .trim_start_matches("http://localhost:8080");
    let opened = portal.get(link, &[]);
    assert_eq!(opened.status, 303, "{opened:?}");
    assert_eq!(
        opened.header("location"),
        Some(format!("/tickets/{n}").as_str())
    );
    let cookie = session(&opened);
    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", cookie.as_str())]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Printer on fire"));
    // An altered one opens nothing (its last character changed: to `x`, unless it was one).
    let (kept, last) = link.split_at(link.len() - 1);
    let other = if last == "x" { "y" } else { "x" };
    let altered = portal.get(&format!("{kept}{other}"), &[]);
    assert_ne!(altered.status, 303, "{altered:?}");

    let rows = run_ok(&portal.cli, &["outbox", "list"]);
    assert!(rows.contains("sms"), "{rows}");
    let log = portal.stop();
    assert!(
        !log.contains("612345678"),
        "the number is never logged whole"
    );
}

#[test]
fn customers_choose_sms_and_give_their_number_on_their_preferences_page() {
    let cli = cli_with(
        "[sms]\nwebhook = \"http://127.0.0.1:9/sms\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
    );
    ingest(&cli, ALICE);
    let link = link_to(&links(&cli), "alice@acme.example");
    let portal = Portal::start(cli);
    let alice = session(&portal.get(&link, &[]));
    let page = portal.get("/preferences", &[("Cookie", &alice)]);
    assert!(
        page.body.contains("Emails and SMS") && page.body.contains("type=\"tel\""),
        "{}",
        page.body
    );
    let csrf = form_token(&page);
    let form = |channels: &'static str, phone: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("language", "ticket".to_string()),
            ("opening_closing", "on".to_string()),
            ("channels", channels.to_string()),
            ("phone", phone.to_string()),
        ]
    };
    let post = |fields: Vec<(&str, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        portal.post("/preferences", &alice, &fields)
    };
    let contact = || run_ok(&portal.cli, &["contacts", "show", "alice@acme.example"]);

    // A number SMS cannot reach, or SMS without one: said in words, nothing saved.
    for (channels, phone) in [("email,sms", "06 12 34 56 78"), ("email,sms", "")] {
        let refused = post(form(channels, phone));
        assert_eq!(refused.status, 400, "{refused:?}");
        assert!(
            refused.body.contains("international form"),
            "{}",
            refused.body
        );
    }
    assert!(contact().contains("channels email\n"), "{}", contact());

    let saved = post(form("email,sms", "+33 6 12 34 56 78"));
    assert_eq!(saved.status, 303, "{saved:?}");
    assert!(
        contact().contains("channels email, sms to +33612345678"),
        "{}",
        contact()
    );
    let page = portal.get("/preferences?saved=1", &[("Cookie", &alice)]);
    assert!(
        page.body.contains("value=\"+33612345678\"")
            && page.body.contains("value=\"email,sms\" checked"),
        "{}",
        page.body
    );
    // Emails only again: the number stays for later.
    let back = post(form("email", "+33612345678"));
    assert_eq!(back.status, 303, "{back:?}");
    assert!(
        contact().contains("channels email (phone +33612345678)"),
        "{}",
        contact()
    );
    portal.stop();
}
