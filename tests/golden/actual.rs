//! What came of one fixture, as the golden files hold it: the outcome, the ticket as it
//! stands after the mail, the articles and notifications the mail added.
//!
//! This is the one place of the golden test that names the library's pipeline and domain
//! types: when they are renamed, only this file follows.

use serde::Serialize;
use serde_json::{Value, json};
use ticketgate::clock::Clock;
use ticketgate::domain;
use ticketgate::domain::TicketNumber;
use ticketgate::pipeline::{Outcome, ProcessError};

use crate::support::helpers::{TestEnv, created};

/// The mail every reply fixture answers: it opens ticket 2611N00001.
pub const OPENING: &str = "new_ticket.eml";

/// A body longer than this is kept as a digest, so that a golden file stays readable.
const LONGEST_TEXT: usize = 1000;

/// What must be in place before a fixture runs.
#[derive(Debug, Clone, Copy)]
pub enum Given {
    /// A fresh environment.
    Nothing,
    /// [`OPENING`] ingested first; `{{TICKET}}` in the fixture names its ticket.
    Ticket,
    /// As [`Given::Ticket`], and the ticket's first notification sent with this Message-ID
    /// (what a delivery report of it would enclose).
    TicketNotified(&'static str),
}

impl Given {
    /// Sets up `env` and returns the ticket it opened, if any.
    pub async fn apply(self, env: &TestEnv) -> Option<TicketNumber> {
        if let Given::Nothing = self {
            return None;
        }
        let ticket = created(&env.fixture(OPENING, None).await);
        if let Given::TicketNotified(message_id) = self {
            let store = env.store();
            let lease = chrono::Duration::minutes(5);
            let job = store
                .claim_notification(env.clock.now(), lease, "golden")
                .await
                .unwrap()
                .expect("the opening mail queued a notification");
            store
                .mark_notification_sent(&job, message_id, env.clock.now())
                .await
                .unwrap();
        }
        Some(ticket)
    }

    /// The golden file's account of it.
    fn describe(self) -> Vec<String> {
        match self {
            Given::Nothing => vec![],
            Given::Ticket => vec![OPENING.to_string()],
            Given::TicketNotified(id) => vec![
                OPENING.to_string(),
                format!("its first notification sent as <{id}>"),
            ],
        }
    }
}

/// Runs `bytes` through the pipeline of `env` (already set up as `given` says) and
/// describes what came of it.
pub async fn run(env: &TestEnv, given: Given, bytes: &[u8]) -> Actual {
    let articles_before = article_counts(env).await;
    let outbox_before = outbox_ids(env).await.into_iter().max().unwrap_or(0);
    let result = env.pipeline().process("golden", bytes).await;

    let (outcome, kind, reason, number) = match result {
        Ok(Outcome::Created(n)) => ("created", None, None, Some(n)),
        Ok(Outcome::Commented(n)) => ("commented", None, None, Some(n)),
        Ok(Outcome::Ignored {
            kind,
            reason,
            ticket,
        }) => ("ignored", Some(kind.to_string()), Some(reason), ticket),
        Ok(Outcome::Duplicate(n)) => ("duplicate", None, None, n),
        Ok(Outcome::Answered { kind }) => ("answered", Some(kind.to_string()), None, None),
        Err(ProcessError::Rejected(reason)) => {
            ("quarantined", None, Some(reason.to_string()), None)
        }
        Err(ProcessError::Temporary(e)) => panic!("a temporary failure on a healthy store: {e}"),
    };
    let (ticket, articles) = match &number {
        Some(n) => {
            let details = env.details(n).await;
            let seen = articles_before
                .iter()
                .find(|(t, _)| t == n)
                .map_or(0, |(_, count)| *count);
            let mut added = Vec::new();
            for a in &details.articles[seen..] {
                added.push(article(env, a).await);
            }
            (Some(ticket(&details.ticket)), added)
        }
        None => (None, vec![]),
    };
    let mut notifications = env.store().list_outbox(None, 1000).await.unwrap();
    notifications.retain(|n| n.id > outbox_before);
    notifications.sort_by_key(|n| n.id);
    let notifications: Vec<Notification> = notifications
        .into_iter()
        .map(|n| Notification {
            ticket: n.ticket.map(|t| t.to_string()).unwrap_or_default(),
            event: n.event,
            recipient: n.recipient,
            status: n.status,
            held_reason: n.held_reason,
        })
        .collect();

    Actual {
        given: given.describe(),
        outcome,
        kind,
        reason,
        ticket,
        articles,
        notifications,
    }
}

impl Actual {
    /// The same without what a mail's line endings decide: every `\r\n` in a text is
    /// `\n`, and each stored attachment's size and SHA-256 are those of its bytes with LF
    /// line endings (an enclosed message keeps the line endings it came with). What the
    /// twin of a fixture must give alike.
    pub fn modulo_line_endings(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap();
        for (i, article) in self.articles.iter().enumerate() {
            for (j, file) in article.attachments.iter().enumerate() {
                if let Some((size, sha256)) = &file.with_lf {
                    let shown = &mut value["articles"][i]["attachments"][j];
                    shown["size"] = json!(size);
                    shown["sha256"] = json!(sha256);
                }
            }
        }
        lf_texts(&mut value);
        value
    }
}

/// Replaces `\r\n` with `\n` in every string of `value`.
fn lf_texts(value: &mut Value) {
    match value {
        Value::String(s) => *s = s.replace("\r\n", "\n"),
        Value::Array(items) => items.iter_mut().for_each(lf_texts),
        Value::Object(fields) => fields.values_mut().for_each(lf_texts),
        _ => {}
    }
}

/// A golden file's content, its fields in the order the file shows them.
#[derive(Serialize)]
pub struct Actual {
    /// What was ingested or done before the fixture, in order.
    given: Vec<String>,
    /// created, commented, ignored, duplicate or quarantined.
    outcome: &'static str,
    /// For ignored mail: auto-reply, bounce, loop…
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    /// Why it was ignored or quarantined.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The ticket the outcome names, as it stands after the mail.
    ticket: Option<Ticket>,
    /// The articles the mail added to that ticket.
    articles: Vec<Article>,
    /// The notifications the mail queued, in order.
    notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Ticket {
    number: String,
    title: String,
    status: String,
    #[serde(rename = "type")]
    ticket_type: String,
    category: Option<String>,
    impact: String,
    urgency: String,
    priority: String,
    requester: String,
    requester_name: Option<String>,
    organisation: Option<String>,
    private: bool,
    language: String,
    observers: Vec<String>,
    follow_up_of: Option<String>,
}

#[derive(Serialize)]
struct Article {
    direction: String,
    visibility: String,
    author: String,
    author_name: Option<String>,
    subject: String,
    /// The text kept on the ticket; a digest when long (see [`text`]).
    body: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_html: Option<Value>,
    /// The whole text, when `body` keeps only the new reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    body_original: Option<Value>,
    note: Option<String>,
    /// Whether the raw mail was kept (its reference is a digest of the bytes, which the
    /// line-ending twin changes).
    raw_kept: bool,
    attachments: Vec<Attachment>,
}

#[derive(Serialize)]
struct Attachment {
    filename: String,
    content_type: String,
    size: u64,
    sha256: Option<String>,
    inline: bool,
    content_id: Option<String>,
    refused_reason: Option<String>,
    /// Size and SHA-256 of the stored bytes with LF line endings, for
    /// [`Actual::modulo_line_endings`]; `None` when nothing was stored.
    #[serde(skip)]
    with_lf: Option<(usize, String)>,
}

#[derive(Serialize)]
struct Notification {
    ticket: String,
    event: String,
    recipient: String,
    status: String,
    held_reason: Option<String>,
}

fn ticket(t: &domain::Ticket) -> Ticket {
    Ticket {
        number: t.number.to_string(),
        title: t.title.clone(),
        status: t.status.to_string(),
        ticket_type: t.ticket_type.to_string(),
        category: t.category.clone(),
        impact: t.impact.to_string(),
        urgency: t.urgency.to_string(),
        priority: t.priority.to_string(),
        requester: t.requester.to_string(),
        requester_name: t.requester_name.clone(),
        organisation: t.organisation.clone(),
        private: t.private,
        language: t.language.clone(),
        observers: t.observers.iter().map(ToString::to_string).collect(),
        follow_up_of: t.follow_up_of.as_ref().map(ToString::to_string),
    }
}

async fn article(env: &TestEnv, a: &domain::Article) -> Article {
    let mut attachments = Vec::new();
    for file in &a.attachments {
        attachments.push(attachment(env, file).await);
    }
    Article {
        direction: a.direction.to_string(),
        visibility: a.visibility.to_string(),
        author: a.author.clone(),
        author_name: a.author_name.clone(),
        subject: a.subject.clone(),
        body: text(&a.body_text),
        body_html: a.body_html.as_deref().map(text),
        body_original: a.body_original.as_deref().map(text),
        note: a.note.clone(),
        raw_kept: a.raw_ref.is_some(),
        attachments,
    }
}

async fn attachment(env: &TestEnv, a: &domain::Attachment) -> Attachment {
    let with_lf = match &a.sha256 {
        Some(sha256) => {
            let bytes = env.pipeline().files().attachment(sha256).await.unwrap();
            let lf = super::lf_only(&bytes);
            Some((lf.len(), ticketgate::files::sha256_hex(&lf)))
        }
        None => None,
    };
    Attachment {
        filename: a.filename.clone(),
        content_type: a.content_type.clone(),
        size: a.size,
        sha256: a.sha256.clone(),
        inline: a.inline,
        content_id: a.content_id.clone(),
        refused_reason: a.refused_reason.clone(),
        with_lf,
    }
}

/// A text as it is, or when longer than [`LONGEST_TEXT`] its length, first line and SHA-256:
/// enough to see that it changed, and where to look.
fn text(s: &str) -> Value {
    if s.chars().count() <= LONGEST_TEXT {
        return Value::String(s.to_string());
    }
    json!({
        "chars": s.chars().count(),
        "first_line": s.lines().next().unwrap_or(""),
        "sha256": ticketgate::files::sha256_hex(s.as_bytes()),
    })
}

/// How many articles each ticket has now.
async fn article_counts(env: &TestEnv) -> Vec<(TicketNumber, usize)> {
    let mut counts = Vec::new();
    for summary in env.store().list_tickets(None).await.unwrap() {
        let details = env.details(&summary.number).await;
        counts.push((summary.number, details.articles.len()));
    }
    counts
}

/// The ids of the notifications queued so far.
async fn outbox_ids(env: &TestEnv) -> Vec<i64> {
    let entries = env.store().list_outbox(None, 1000).await.unwrap();
    entries.into_iter().map(|e| e.id).collect()
}
