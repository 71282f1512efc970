//! The portal in a real headless Chromium, as a customer uses it: the link of the
//! acknowledgement opens the ticket, a message is written and sent from the page, the
//! approve link of the solution mail asks to confirm and the click closes the ticket;
//! the list of their tickets. Screenshots of the ticket page and the list at a phone's and
//! a desktop's width stay in `target/tmp/screenshots/portal/`.
//!
//! Every page is also checked with axe-core (WCAG 2.0 and 2.1 A and AA, and axe's best
//! practices) in English and in French, in two browsers that ask for each language: the
//! ticket page open, resolved and closed, the list, the preferences, the two confirmation
//! pages of the solution mail and the page of a link that does not work. No page may
//! break a rule whose impact is serious or critical.

use std::time::{Duration, Instant};

use crate::portal::{Portal, cli, ingest, links_of_event, run_ok, shown};
use crate::support::browser::{Browser, axe_script, screenshots_dir};
use crate::support::helpers::Cli;

/// The impacts axe-core gives that fail the test; minor and moderate ones are printed.
const BLOCKING: [&str; 2] = ["serious", "critical"];

/// Rules known to be broken by the pages and not yet fixed in `templates/portal/`, each
/// with what breaks it: they are printed but do not fail the test. Empty: keep it so.
const TOLERATED: &[&str] = &[];

#[test]
fn a_customer_reads_replies_and_approves_in_a_real_browser() {
    // What the browser shows does not depend on the database; the portal's reads and
    // writes on PostgreSQL are tested over HTTP (portal.rs), without a browser's cost.
    if crate::support::postgres::server().is_some() {
        return;
    }
    let Some(browser) = Browser::start_in("en") else {
        return;
    };
    let mut a11y = Accessibility::new();
    let french = a11y
        .enabled()
        .then(|| Browser::start_in("fr").expect("a second Chromium"));
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

    // A message from the page, with a file chosen as a person chooses it.
    let photo = portal.cli.dir.path().join("printer-panel.txt");
    std::fs::write(&photo, b"Panel: E-04 paper jam, tray 2\n").unwrap();
    browser.fill(
        "#message",
        "The tray is empty, and it still says paper jam.",
    );
    browser.fill("#files", photo.to_str().unwrap());
    browser.click("form[action$='/comment'] button");
    browser.wait_for_text("The tray is empty, and it still says paper jam.", 10);
    assert_eq!(browser.url(), format!("{base}/tickets/{n}"));
    assert!(browser.text().contains("printer-panel.txt"));
    let stored = shown(&portal.cli, &n);
    assert!(stored.contains("The tray is empty"), "{stored}");
    assert!(stored.contains("printer-panel.txt"), "{stored}");
    for width in [375, 1024] {
        browser.open(&format!("{base}/tickets/{n}"), width, 1400);
        assert!(browser.screenshot(&dir.join(format!("ticket-{width}.png"))) > 10_000);
        browser.open(&format!("{base}/tickets"), width, 900);
        assert!(browser.text().contains(&n));
        assert!(browser.screenshot(&dir.join(format!("list-{width}.png"))) > 10_000);
    }

    // The open ticket's page, in both languages (the French browser opens its own session
    // with the same link).
    browser.open(&format!("{base}/tickets/{n}"), 1024, 1200);
    a11y.check(&browser, "en", "the ticket page, open");
    if let Some(french) = &french {
        french.open(&format!("{base}{link}"), 1024, 1200);
        assert_eq!(french.url(), format!("{base}/tickets/{n}"));
        a11y.check(french, "fr", "the ticket page, open");
    }

    // The solution mail.
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
    let solution_links = links_when_sent(&portal.cli, "solution_proposed");
    let link_with = |path: &str| {
        solution_links
            .iter()
            .find(|l| l.contains(path))
            .unwrap_or_else(|| panic!("a {path} link in the solution mail: {solution_links:?}"))
            .clone()
    };
    let approve = link_with("/approve?token=");
    let refuse = link_with("/refuse?token=");

    // Every page of the resolved ticket, in both languages. Opening the links changes
    // nothing (asserted below).
    let audited = match &french {
        Some(french) => vec![(&browser, "en"), (french, "fr")],
        None => Vec::new(),
    };
    for (b, lang) in audited {
        b.open(&format!("{base}/tickets/{n}"), 1024, 1200);
        a11y.check(b, lang, "the ticket page, resolved");
        b.open(&format!("{base}/tickets"), 1024, 900);
        assert!(b.text().contains(&n));
        a11y.check(b, lang, "the ticket list");
        b.open(&format!("{base}/preferences"), 1024, 1200);
        assert_eq!(b.url(), format!("{base}/preferences"));
        a11y.check(b, lang, "the preferences");
        b.open(&format!("{base}{approve}"), 1024, 1200);
        assert_eq!(b.url(), format!("{base}/tickets/{n}/approve"));
        assert!(b.text().contains("We replaced the roller."));
        a11y.check(b, lang, "the approve confirmation");
        b.open(&format!("{base}{refuse}"), 1024, 1200);
        assert_eq!(b.url(), format!("{base}/tickets/{n}/refuse"));
        assert!(b.text().contains("We replaced the roller."));
        a11y.check(b, lang, "the refuse confirmation");
        // An altered link: a page that says so, and offers to mail a fresh one.
        b.open(&format!("{base}/tickets/{n}?token=garbage"), 1024, 1200);
        assert!(b.url().ends_with("?token=garbage"), "{}", b.url());
        assert!(
            !b.text().contains("We replaced the roller."),
            "{}",
            b.text()
        );
        a11y.check(b, lang, "the message of an altered link");
    }

    // The solution mail's approve link asks first; the click closes the ticket.
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
    a11y.check(&browser, "en", "the ticket page, closed");
    if let Some(french) = &french {
        french.open(&format!("{base}/tickets/{n}"), 1024, 1200);
        a11y.check(french, "fr", "the ticket page, closed");
    }
    portal.stop();
    a11y.finish();
}

/// The links of the mails of `event`, once they are in `data/outbox/`. The running daemon
/// sends the outbox too: when its worker holds the mail, `outbox flush` returns before the
/// file is written, so the folder is read again until the mail is there.
fn links_when_sent(cli: &Cli, event: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        run_ok(cli, &["outbox", "flush"]);
        let links = links_of_event(cli, event);
        if !links.is_empty() {
            return links;
        }
        assert!(Instant::now() < deadline, "no {event} mail sent after 20 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// axe-core run on each page shown, and what it found that blocks.
struct Accessibility {
    /// `axe.min.js`; `None` when axe-core is not installed (outside CI), and then the
    /// checks are skipped.
    axe: Option<String>,
    /// How many pages were checked.
    pages: usize,
    /// The serious and critical violations, by page.
    failures: Vec<String>,
}

impl Accessibility {
    fn new() -> Accessibility {
        Accessibility {
            axe: axe_script(),
            pages: 0,
            failures: Vec::new(),
        }
    }

    fn enabled(&self) -> bool {
        self.axe.is_some()
    }

    /// Runs axe-core on what `browser` shows, `page` in `lang`, which the page must be in:
    /// its count on one line, its blocking violations kept for [`Accessibility::finish`].
    fn check(&mut self, browser: &Browser, lang: &str, page: &str) {
        let Some(axe) = &self.axe else {
            return;
        };
        let url = browser.url();
        let shown_in = browser.eval("return document.documentElement.lang;");
        assert_eq!(shown_in, lang, "{page} ({url}) in the wrong language");
        let audit = browser.audit(axe);
        assert!(
            audit.passes > 0,
            "axe-core checked nothing on {page} ({url}): {audit:?}"
        );
        self.pages += 1;
        let (blocking, other): (Vec<_>, Vec<_>) = audit
            .violations
            .iter()
            .partition(|v| BLOCKING.contains(&v.impact.as_str()));
        println!(
            "axe {lang} {page} ({url}): {} passes, {} violations ({} serious or critical{}), \
             {} to review by hand",
            audit.passes,
            audit.violations.len(),
            blocking.len(),
            other
                .iter()
                .map(|v| format!(", {} {}", v.impact, v.id))
                .collect::<String>(),
            audit.incomplete,
        );
        for violation in blocking {
            if TOLERATED.contains(&violation.id.as_str()) {
                println!("  tolerated for now: {violation}");
            } else {
                self.failures
                    .push(format!("{page} in {lang} ({url}): {violation}"));
            }
        }
    }

    /// Fails the test with every blocking violation found, what breaks it and where.
    fn finish(self) {
        if self.axe.is_none() {
            return;
        }
        assert!(
            self.failures.is_empty(),
            "axe-core found {} serious or critical violations on the portal's pages \
             (templates/portal/):\n\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        println!(
            "axe: {} pages checked, no serious or critical violation",
            self.pages
        );
    }
}

/// The README's quickstart: the daemon on its embedded defaults (its portal on a port of
/// its own here), the fixture dropped into `data/inbox/new/`, and the link of the
/// acknowledgement it writes to `data/outbox/` opens the ticket in the browser.
#[test]
fn the_quickstart_s_acknowledgement_opens_its_ticket_in_a_browser() {
    // What the browser shows does not depend on the database; the portal's reads and
    // writes on PostgreSQL are tested over HTTP (portal.rs), without a browser's cost.
    if crate::support::postgres::server().is_some() {
        return;
    }
    let Some(browser) = Browser::start() else {
        return;
    };
    let portal = Portal::start(Cli::new());
    let inbox = portal.cli.dir.path().join("data/inbox/new");
    std::fs::create_dir_all(&inbox).unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/new_ticket.eml");
    std::fs::copy(fixture, inbox.join("1.eml")).unwrap();
    let link = links_when_sent(&portal.cli, "ticket_opened")[0].clone();
    let base = format!("http://127.0.0.1:{}", portal.port);
    browser.open(&format!("{base}{link}"), 1024, 900);
    let number = link
        .trim_start_matches("/tickets/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(browser.url(), format!("{base}/tickets/{number}"));
    let page = browser.text();
    assert!(page.contains("VPN is down since this morning"), "{page}");
    assert!(page.contains(&format!("Ticket {number}")), "{page}");
    portal.stop();
}
