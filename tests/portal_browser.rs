//! The portal in a real headless Chromium, as a customer uses it: the link of the
//! acknowledgement opens the ticket, a message is written and sent from the page, the
//! approve link of the solution mail asks to confirm and the click closes the ticket;
//! the list of their tickets. Screenshots of the ticket page and the list at a phone's and
//! a desktop's width stay in `target/tmp/screenshots/portal/`.

use crate::portal::{Portal, cli, ingest, links_of_event, run_ok, shown};
use crate::support::browser::{Browser, screenshots_dir};

#[test]
fn a_customer_reads_replies_and_approves_in_a_real_browser() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let cli = cli();
    let n = ingest(
        &cli,
        b"From: Alice Martin <alice@acme.example>\r\nTo: support@ours.test\r\n\
          Subject: The printer on floor 2 does not print\r\nMessage-ID: <b1@acme.example>\r\n\r\n\
          Hello,\r\n\r\nIt shows paper jam since this morning.\r\n\r\nAlice\r\n",
    );
    run_ok(&cli, &["outbox", "flush"]);
    let portal = Portal::start(cli);
    let base = format!("http://127.0.0.1:{}", portal.port);
    let dir = screenshots_dir("portal");

    // The acknowledgement's link opens the ticket, without the token in the address.
    let link = links_of_event(&portal.cli, "ticket_opened")[0].clone();
    browser.open(&format!("{base}{link}"), 1024, 1200);
    assert_eq!(browser.url(), format!("{base}/tickets/{n}"));
    let page = browser.text();
    assert!(
        page.contains("The printer on floor 2 does not print"),
        "{page}"
    );
    assert!(
        page.contains("It shows paper jam since this morning."),
        "{page}"
    );

    // A message from the page.
    browser.fill(
        "#message",
        "The tray is empty, and it still says paper jam.",
    );
    browser.click("form[action$='/comment'] button");
    browser.wait_for_text("The tray is empty, and it still says paper jam.", 10);
    assert_eq!(browser.url(), format!("{base}/tickets/{n}"));
    assert!(shown(&portal.cli, &n).contains("The tray is empty"));
    for width in [375, 1024] {
        browser.open(&format!("{base}/tickets/{n}"), width, 1400);
        assert!(browser.screenshot(&dir.join(format!("ticket-{width}.png"))) > 10_000);
        browser.open(&format!("{base}/tickets"), width, 900);
        assert!(browser.text().contains(&n));
        assert!(browser.screenshot(&dir.join(format!("list-{width}.png"))) > 10_000);
    }

    // The solution mail's approve link asks first; the click closes the ticket.
    run_ok(
        &portal.cli,
        &[
            "tickets",
            "resolve",
            &n,
            "--solution",
            "We replaced the roller.",
        ],
    );
    run_ok(&portal.cli, &["outbox", "flush"]);
    let approve = links_of_event(&portal.cli, "solution_proposed")
        .into_iter()
        .find(|l| l.contains("/approve?token="))
        .expect("an approve link in the solution mail");
    browser.open(&format!("{base}{approve}"), 1024, 1200);
    assert_eq!(browser.url(), format!("{base}/tickets/{n}/approve"));
    assert!(browser.text().contains("We replaced the roller."));
    assert!(
        shown(&portal.cli, &n).contains("status resolved"),
        "opening changes nothing"
    );
    browser.click("form[action$='/approve'] button");
    browser.wait_for_text("All your tickets", 10);
    assert_eq!(browser.url(), format!("{base}/tickets/{n}"));
    assert!(shown(&portal.cli, &n).contains("status closed"));
    assert!(browser.text().contains("closed"), "{}", browser.text());
    portal.stop();
}
