//! The data `templates check` and `templates preview` render with: every value a template
//! may use, with the characters that must be escaped in HTML and kept in text.

use serde_json::{Value, json};

use super::{priority_label, status_label};

/// Data with every value a template may use, for `templates check` and `preview`.
pub fn sample_data(lang: &str) -> Value {
    use crate::domain::Status;
    json!({
        "tag": "[#2611N00042]",
        "company": "Example",
        "brand": { "accent": "#1d4ed8", "logo_url": "" },
        "short_link": "https://support.example.com/s/2611N00042.1x2y3.AbCdEfGhIjKlMnOp",
        "link": "https://support.example.com/tickets/2611N00042?token=sample",
        "approve_link": "https://support.example.com/tickets/2611N00042/approve?token=sample",
        "refuse_link": "https://support.example.com/tickets/2611N00042/refuse?token=sample",
        "recipient": {
            "name": "Amélie Martin",
            "email": "amelie@client.example",
            "is_requester": true,
            "is_observer": false,
            "is_agent": false,
        },
        "requester": { "name": "Amélie Martin" },
        "actor": { "name": "Camille Durand", "is_team": false },
        "ticket": {
            "number": "2611N00042",
            "title": "VPN <down> since this morning & more",
            "status_label": status_label(Status::Resolved, lang),
            "priority": priority_label(crate::domain::Priority::P2, lang),
        },
        "event": { "at": if lang == "fr" { "24 novembre 2026 à 09:30 UTC" } else { "24 November 2026, 09:30 UTC" } },
        "previous_status_label": status_label(Status::InProgress, lang),
        "article": { "text": "Please restart the VPN client:\nhttps://vpn.example.com/help\n\n> It fails since Monday.\n\n<script>alert(1)</script>\n-- \nCamille" },
        "auto_close_days": 7,
        "auto_close_on": if lang == "fr" { "1er décembre 2026" } else { "1 December 2026" },
        "max_attachment_size": "2.0 MB",
        "refused": [{ "filename": "capture.mov", "reason": "3.1 MB is over the 2.0 MB limit per file" }],
        "refusal": { "ticket": "2610N00007", "closed": true, "not_allowed": false, "unverified": false },
        "open_tickets": [
            {
                "tag": "[#2611N00042]",
                "title": "VPN <down> since this morning & more",
                "status_label": status_label(Status::Resolved, lang),
                "link": "https://support.example.com/tickets/2611N00042?token=sample",
            },
            {
                "tag": "[#2611N00038]",
                "title": "New badge for Marc",
                "status_label": status_label(Status::WaitingCustomer, lang),
                "link": "https://support.example.com/tickets/2611N00038?token=sample",
            },
        ],
        "fields": {
            "any": true,
            "taken": [
                { "name": super::field_name(crate::domain::BodyField::Impact, lang), "value": super::impact_label(crate::domain::Impact::Interrupted, lang) },
                { "name": super::field_name(crate::domain::BodyField::CustomerReference, lang), "value": "PO-2291" },
            ],
            "unreadable": [
                { "name": super::field_name(crate::domain::BodyField::ImpactedUsers, lang), "value": "the whole <floor>" },
            ],
            "ask_impact_urgency": true,
        },
        "any": true,
        "own": [
            {
                "tag": "[#2611N00042]",
                "number": "2611N00042",
                "title": "VPN <down> since this morning & more",
                "status_label": status_label(Status::InProgress, lang),
                "priority": "High",
                "updated": "24 November 2026, 11:02 UTC",
                "link": "https://support.example.com/tickets/2611N00042?token=sample",
            },
        ],
        "others": [
            {
                "tag": "[#2611N00038]",
                "number": "2611N00038",
                "title": "New badge for Marc",
                "status_label": status_label(Status::WaitingCustomer, lang),
                "priority": "",
                "updated": "23 November 2026, 16:40 UTC",
                "link": "https://support.example.com/tickets/2611N00038?token=sample",
            },
        ],
        "more": false,
        "count": 2,
        "at": "24 November 2026, 11:05 UTC",
        "command": {
            "line": "#share <marc@client.example>",
            "not_understood": false,
            "only_requester": false,
            "only_requester_or_organisation": true,
            "unverified": false,
            "nothing_to_change": false,
            "known": ["#close", "#private", "#shared", "#share ADDRESS", "#unshare ADDRESS", "#language fr|en", "#urgency high|medium", "#impact LEVEL"],
        },
    })
}
