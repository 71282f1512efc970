//! The data `templates check` and `templates preview` render with: every value a template
//! may use, with the characters that must be escaped in HTML and kept in text.

use serde_json::{Value, json};

use super::status_label;

/// Data with every value a template may use, for `templates check` and `preview`.
pub fn sample_data(lang: &str) -> Value {
    use crate::domain::Status;
    json!({
        "tag": "[#2611N00042]",
        "company": "Example",
        "link": "https://support.example.com/tickets/2611N00042?token=sample",
        "recipient": { "name": "Amélie Martin", "email": "amelie@client.example" },
        "actor": { "name": "Camille Durand", "email": "camille@support.example" },
        "ticket": {
            "number": "2611N00042",
            "title": "VPN <down> since this morning & more",
            "status_label": status_label(Status::Resolved, lang),
            "priority": "P2",
        },
        "previous_status_label": status_label(Status::InProgress, lang),
        "article": { "text": "Please restart the VPN client.\n<script>alert(1)</script>" },
        "auto_close_days": 7,
        "auto_close_on": "2026-12-01",
        "max_attachment_size": "2.0 MB",
        "refused": [{ "filename": "capture.mov", "reason": "3.1 MB is over the 2.0 MB limit per file" }],
        "refusal": { "ticket": "2610N00007", "closed": true, "not_allowed": false, "unverified": false },
    })
}
