//! The data `templates check` renders each page with: every value a page may use, in each
//! state that shows a different part of it, with characters that must be escaped.

use serde_json::{Value, json};

use crate::domain::{Priority, Status};
use crate::notify::templates::{priority_label, status_label};

/// Each page (some more than once, in another state) with sample data in `lang`.
pub(super) fn pages(lang: &str) -> Vec<(&'static str, Value)> {
    let common = |title: &str| {
        json!({
            "lang": lang,
            "company": "Example <Support>",
            "page_title": title,
            "stylesheet": "/static/portal.css?v=sample",
        })
    };
    let with = |mut base: Value, more: Value| {
        if let (Some(base), Some(more)) = (base.as_object_mut(), more.as_object()) {
            base.extend(more.clone());
        }
        base
    };
    let ticket = ticket(lang);
    vec![
        ("ticket.html", with(common("2611N00042"), ticket.clone())),
        (
            "ticket.html",
            with(
                common("2611N00042"),
                with(
                    ticket,
                    json!({ "can_answer": false, "can_write": false, "can_share": false,
                            "private": true, "organisation": "", "articles": [] }),
                ),
            ),
        ),
        ("list.html", with(common("Tickets"), list(lang, true))),
        ("list.html", with(common("Tickets"), list(lang, false))),
        (
            "preferences.html",
            with(common("Preferences"), preferences(true)),
        ),
        (
            "preferences.html",
            with(common("Preferences"), preferences(false)),
        ),
        ("confirm.html", with(common("Confirm"), confirm(true))),
        ("confirm.html", with(common("Confirm"), confirm(false))),
        ("message.html", with(common("Message"), message(true))),
        ("message.html", with(common("Message"), message(false))),
    ]
}

fn ticket(lang: &str) -> Value {
    json!({
        "csrf": "sample-token",
        "max_file": "2.0 MB",
        "can_write": true,
        "can_answer": true,
        "can_share": true,
        "private": false,
        "organisation": "client.example",
        "ticket": {
            "number": "2611N00042",
            "title": "VPN <down> since this morning & more",
            "status": Status::Resolved.as_str(),
            "status_label": status_label(Status::Resolved, lang),
            "requester": "Amélie Martin <amelie@client.example>",
            "observers": ["Marc Petit <marc@client.example>"],
            "type_label": "Incident",
            "category": "Network",
            "impact_label": "Degraded",
            "urgency_label": "High",
            "priority_label": priority_label(Priority::P2, lang),
            "created": "24 November 2026, 09:30 UTC",
            "updated": "24 November 2026, 11:02 UTC",
            "details": [
                { "name": "Your reference", "value": "PO-2291 <b>" },
                { "name": "Impacted users", "value": "40" },
            ],
        },
        "articles": [
            {
                "author": "Amélie Martin",
                "from_team": false,
                "at": "24 November 2026, 09:30 UTC",
                "text": "The VPN fails <since> Monday.\n\n> quoted",
                "html": "<p>The VPN fails <b>since Monday</b>.</p><p><img src=\"/tickets/2611N00042/images/ab12\" alt=\"screen\"></p>",
                "files": [
                    { "name": "log.txt", "size": "2.1 KB", "href": "/tickets/2611N00042/files/ab12", "refused": "" },
                    { "name": "video.mov", "size": "31 MB", "href": "", "refused": "over the 2.0 MB limit" },
                ],
            },
            {
                "author": "Example",
                "from_team": true,
                "at": "24 November 2026, 11:02 UTC",
                "text": "Please restart the VPN client.",
                "html": "",
                "files": [],
            },
        ],
    })
}

fn list(lang: &str, rows: bool) -> Value {
    let tickets = if rows {
        json!([{
            "number": "2611N00042",
            "title": "VPN <down> & more",
            "status": Status::WaitingCustomer.as_str(),
            "status_label": status_label(Status::WaitingCustomer, lang),
            "priority_label": priority_label(Priority::P3, lang),
            "updated": "24 November 2026, 11:02 UTC",
        }])
    } else {
        json!([])
    };
    let states: Vec<Value> = ["all", "open", "waiting", "resolved", "closed"]
        .iter()
        .map(|name| json!({ "name": name, "selected": *name == "all" }))
        .collect();
    json!({
        "visitor": "amelie@client.example",
        "states": states,
        "q": if rows { "vpn \"down\"" } else { "" },
        "tickets": tickets,
        "previous": if rows { "/tickets?status=all&page=0" } else { "" },
        "next": if rows { "/tickets?status=all&page=2" } else { "" },
    })
}

fn preferences(saved: bool) -> Value {
    json!({
        "visitor": "amelie@client.example",
        "csrf": "sample-token",
        "saved": saved,
        "opening_closing": true,
        "processing": !saved,
        "messages": true,
        "observer_updates": false,
        "weekly_digest": true,
        "sms_offered": true,
        "sms": saved,
        "phone": if saved { "+33612345678" } else { "" },
        "languages": [
            { "value": "ticket", "selected": !saved },
            { "value": "en", "selected": false },
            { "value": "fr", "selected": saved },
        ],
    })
}

fn confirm(approve: bool) -> Value {
    json!({
        "approve": approve,
        "csrf": "sample-token",
        "solution": if approve { "Please restart the VPN client <now>." } else { "" },
        "ticket": { "number": "2611N00042", "title": "VPN <down> & more" },
    })
}

fn message(ask_link: bool) -> Value {
    json!({
        "heading": "This link has <expired>",
        "text": "Open the link of a more recent email & try again.",
        "ask_link": ask_link,
    })
}
