//! How every notification looks, in a real headless Chromium: each event in each language,
//! at a phone's width and a desktop's, for the requester and (where the words differ) an
//! observer. Each page must fit its width without scrolling sideways, show the "View your
//! ticket" button (and, for the solution's requester, "Approve" and "Refuse") whole, and
//! use no external style sheet (mail clients drop them). The
//! screenshots stay in `target/tmp/screenshots/notifications/` for people to look at.

use serde_json::Value;
use ticketgate::domain::Event;
use ticketgate::notify::templates::{LANGUAGES, Templates, sample_data};

use crate::support::browser::{Browser, screenshots_dir};

/// A phone and a desktop, in CSS pixels.
const WIDTHS: [u32; 2] = [375, 1024];

/// What the page reports about its own layout.
const MEASURE: &str = r#"
const buttons = [...document.querySelectorAll('a')].filter(a => a.href.includes('/tickets/')
    && getComputedStyle(a).display === 'inline-block');
const inside = b => { const r = b.getBoundingClientRect();
    return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; };
const text = getComputedStyle(document.querySelector('p')).fontSize;
return {
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    buttons: buttons.map(b => b.textContent.trim()),
    buttons_inside: buttons.length > 0 && buttons.every(inside),
    text_px: parseFloat(text),
};
"#;

#[test]
fn every_notification_fits_a_phone_and_a_desktop_in_both_languages() {
    // Templates and sample data only: no database, nothing for the PostgreSQL pass to add.
    if crate::support::postgres::server().is_some() {
        return;
    }
    let Some(browser) = Browser::start() else {
        return;
    };
    let templates = Templates::load(None).unwrap();
    let dir = screenshots_dir("notifications");
    let mut shown = 0;
    for &lang in LANGUAGES {
        for event in Event::ALL {
            for observer in [false, true] {
                if observer && *event != Event::TicketOpened && *event != Event::SolutionProposed {
                    continue;
                }
                let mut data = sample_data(lang);
                data["recipient"]["is_requester"] = (!observer).into();
                data["recipient"]["is_observer"] = observer.into();
                if observer {
                    data["recipient"]["name"] = "Marc Petit".into();
                }
                let html = templates.render(event.as_str(), lang, &data).unwrap().html;
                assert!(
                    !html.contains("<link") && !html.contains("<style"),
                    "{lang} {event}: styles must be inline"
                );
                let name = format!("{event}{}", if observer { "-observer" } else { "" });
                let page = dir.join(lang).join(format!("{name}.html"));
                std::fs::create_dir_all(page.parent().unwrap()).unwrap();
                std::fs::write(&page, &html).unwrap();
                for width in WIDTHS {
                    browser.open_file(&page, width, 1400);
                    let m: Value = browser.eval(MEASURE);
                    let what = format!("{lang} {name} at {width}px: {m}");
                    assert!(
                        m["overflow"].as_f64().unwrap() <= 0.0,
                        "scrolls sideways: {what}"
                    );
                    let expected = match (lang, observer) {
                        ("fr", false) => "Voir votre ticket",
                        ("fr", true) => "Voir le ticket",
                        (_, false) => "View your ticket",
                        (_, true) => "View the ticket",
                    };
                    let buttons = m["buttons"].as_array().unwrap();
                    let answers =
                        matches!(event, Event::SolutionProposed | Event::ResolutionReminder)
                            && !observer;
                    if event.about_a_ticket() {
                        assert!(buttons.iter().any(|b| b == expected), "{what}");
                        assert_eq!(m["buttons_inside"], true, "{what}");
                        assert_eq!(buttons.len(), if answers { 3 } else { 1 }, "{what}");
                    } else {
                        // A list of tickets: a link per ticket, no single button.
                        assert!(buttons.is_empty(), "{what}");
                    }
                    assert!(m["text_px"].as_f64().unwrap() >= 14.0, "small text: {what}");
                    let png = dir.join(lang).join(format!("{name}-{width}.png"));
                    assert!(browser.screenshot(&png) > 10_000, "{what}: a blank page?");
                    shown += 1;
                }
            }
        }
    }
    assert_eq!(
        shown,
        LANGUAGES.len() * (Event::ALL.len() + 2) * WIDTHS.len()
    );
    eprintln!("{shown} screenshots in {}", dir.display());
}
