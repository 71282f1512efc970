//! Tells a person's mail from an automatic one before anything is threaded. Automatic mail
//! never opens a ticket and is never answered (RFC 3834), which is what keeps two robots
//! from mailing each other forever.

use crate::domain::{EmailAddress, InboundMail};

/// What kind of sender wrote the mail, with the signal that decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classification {
    /// A person: goes on to threading.
    Human,
    /// An out-of-office, vacation reply, list or bulk mail, read receipt.
    AutoReply { reason: String },
    /// A delivery failure or delivery report.
    Bounce { reason: String },
    /// Mail from ticketgate's own addresses or carrying its loop marker.
    Loop { reason: String },
}

impl Classification {
    /// The short label used in outcomes (`ignored (auto-reply)`).
    pub fn label(&self) -> &'static str {
        match self {
            Classification::Human => "human",
            Classification::AutoReply { .. } => "auto-reply",
            Classification::Bounce { .. } => "bounce",
            Classification::Loop { .. } => "loop",
        }
    }

    /// Why, in a sentence.
    pub fn reason(&self) -> &str {
        match self {
            Classification::Human => "no automatic-mail header, report type or subject",
            Classification::AutoReply { reason }
            | Classification::Bounce { reason }
            | Classification::Loop { reason } => reason,
        }
    }
}

/// Subject beginnings of out-of-office replies, lower-case, in the languages our customers
/// write in and the ones their mail servers answer in.
const AUTO_REPLY_SUBJECT_PREFIXES: &[&str] = &[
    "auto:",
    "automatic reply",
    "auto-reply",
    "autoreply",
    "auto reply",
    "auto response",
    "auto-response",
    "autoresponse",
    "out of office",
    "out of the office",
    "ooo:",
    "away from",
    "vacation reply",
    "on vacation",
    "réponse automatique",
    "reponse automatique",
    "réponse automatique d'absence",
    "absence du bureau",
    "absent du bureau",
    "message d'absence",
    "je suis absent",
    "abwesenheitsnotiz",
    "automatische antwort",
    "respuesta automática",
    "risposta automatica",
    "automatyczna odpowiedź",
    "automatisch antwoord",
];

/// Phrases that mark an out-of-office anywhere in a subject.
const AUTO_REPLY_SUBJECT_PHRASES: &[&str] = &[
    "out of office",
    "out of the office",
    "absence du bureau",
    "réponse automatique",
    "automatic reply",
    "abwesenheitsnotiz",
    "autoreply",
    "auto-reply",
];

/// Local parts that only mail systems send from.
const SYSTEM_SENDERS: &[&str] = &["mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"];

/// Classifies `mail` whose sender identity is `sender` (if any). `own` are our addresses.
pub fn classify(
    mail: &InboundMail<'_>,
    sender: Option<&EmailAddress>,
    own: &[EmailAddress],
) -> Classification {
    let h = &mail.automation;
    if let Some(v) = h.get("X-Ticketgate-Loop") {
        return Classification::Loop {
            reason: format!("X-Ticketgate-Loop: {v} (our own notification came back)"),
        };
    }
    if let Some(s) = sender
        && own.iter().any(|o| o.same_mailbox(s))
    {
        return Classification::Loop {
            reason: format!("sender {s} is one of our own addresses"),
        };
    }
    if let Some(bounce) = bounce_signal(mail, sender) {
        return Classification::Bounce { reason: bounce };
    }
    if let Some(auto) = auto_reply_signal(mail) {
        return Classification::AutoReply { reason: auto };
    }
    if h.get("Return-Path").is_some_and(|v| {
        v.trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace())
            .is_empty()
    }) {
        return Classification::Bounce {
            reason: "empty Return-Path <> (sent by a mail system)".into(),
        };
    }
    Classification::Human
}

fn bounce_signal(mail: &InboundMail<'_>, sender: Option<&EmailAddress>) -> Option<String> {
    let h = &mail.automation;
    match (h.top_content_type.as_str(), h.report_type.as_deref()) {
        ("multipart/report", Some("disposition-notification")) => None, // a read receipt: auto-reply
        ("multipart/report", report) => Some(format!(
            "multipart/report; report-type={} (delivery report)",
            report.unwrap_or("none")
        )),
        ("message/delivery-status", _) => Some("message/delivery-status (delivery report)".into()),
        _ => {
            let from = sender.or(mail.from.as_ref().map(|m| &m.address))?;
            let local = from
                .as_str()
                .rsplit_once('@')
                .map(|(l, _)| l.to_ascii_lowercase())?;
            SYSTEM_SENDERS
                .contains(&local.as_str())
                .then(|| format!("sender {from} is a mail system address"))
        }
    }
}

fn auto_reply_signal(mail: &InboundMail<'_>) -> Option<String> {
    let h = &mail.automation;
    if h.top_content_type == "multipart/report" {
        return Some(
            "multipart/report; report-type=disposition-notification (read receipt)".into(),
        );
    }
    if let Some(v) = h.get("Auto-Submitted") {
        let kind = v
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !kind.is_empty() && kind != "no" {
            return Some(format!("Auto-Submitted: {v}"));
        }
    }
    if let Some(v) = h.get("Precedence") {
        let p = v.trim().to_ascii_lowercase();
        if matches!(p.as_str(), "bulk" | "junk" | "list" | "auto_reply") {
            return Some(format!("Precedence: {v}"));
        }
    }
    for name in [
        "X-Autoreply",
        "X-Autorespond",
        "X-Auto-Response-Suppress",
        "X-Autogenerated",
        "X-AutoReply-From",
        "X-Mail-Autoreply",
        "X-FC-MachineGenerated",
    ] {
        if let Some(v) = h.get(name) {
            let v_lower = v.to_ascii_lowercase();
            let negative = matches!(v_lower.as_str(), "" | "no" | "none" | "false" | "0");
            if !negative {
                return Some(format!("{name}: {v}"));
            }
        }
    }
    for name in ["X-Bluebottle-Request", "X-Boxbe-Challenge"] {
        if let Some(v) = h.get(name) {
            return Some(format!("{name}: {v} (challenge-response)"));
        }
    }
    if let Some(v) = h.get("X-POST-MessageClass")
        && v.to_ascii_lowercase().contains("autoresponder")
    {
        return Some(format!("X-POST-MessageClass: {v}"));
    }
    let subject = mail.subject.to_lowercase();
    let subject = subject.trim();
    if let Some(p) = AUTO_REPLY_SUBJECT_PREFIXES
        .iter()
        .find(|p| subject.starts_with(*p))
    {
        return Some(format!("subject begins with \"{p}\" (out-of-office)"));
    }
    AUTO_REPLY_SUBJECT_PHRASES
        .iter()
        .find(|p| subject.contains(*p))
        .map(|p| format!("subject contains \"{p}\" (out-of-office)"))
}
