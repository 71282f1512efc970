//! One message, from raw bytes to one committed transaction:
//! parse → classify → thread → authorize → route → store.
//!
//! [`Pipeline::process`] does it; [`Pipeline::explain`] runs the same decisions without
//! writing anything and reports each with its reason.

pub mod authorize;
pub mod classify;
pub mod effect;
pub mod language;
pub mod parse;
pub mod reply_text;
pub mod thread;

mod execute;

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::RoutingRule;
use crate::domain::Ticket;
use crate::domain::{
    ByteSize, Event, InboundMail, MailRefusal, Mailbox, RefusalReason, Status, TicketNumber,
};
use crate::files::{Files, FilesError};
use crate::signing::{LinkKeyError, LinkSigner};
use crate::store::{Batch, EarlierDelivery, Store, StoreError};
use authorize::Authorization;
use classify::Classification;

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new ticket.
    Created(TicketNumber),
    /// A comment on an existing ticket.
    Commented(TicketNumber),
    /// Automatic mail: nothing opened, nobody answered. A bounce of one of our
    /// notifications is still recorded on its ticket, named here.
    Ignored {
        kind: &'static str,
        reason: String,
        ticket: Option<TicketNumber>,
    },
    /// The same message was handled before.
    Duplicate(Option<TicketNumber>),
}

impl Outcome {
    /// The ticket concerned, if any.
    pub fn ticket(&self) -> Option<&TicketNumber> {
        match self {
            Outcome::Created(n) | Outcome::Commented(n) => Some(n),
            Outcome::Ignored { ticket, .. } | Outcome::Duplicate(ticket) => ticket.as_ref(),
        }
    }
}

/// Why a message could not be handled.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProcessError {
    /// The message itself is the problem: trying again gives the same result.
    #[error("{0}")]
    Rejected(String),
    /// Something around it failed (database, disk): it may work later.
    #[error("{0}")]
    Temporary(String),
}

impl From<StoreError> for ProcessError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            ProcessError::Temporary(e.to_string())
        } else {
            ProcessError::Rejected(e.to_string())
        }
    }
}

impl From<FilesError> for ProcessError {
    fn from(e: FilesError) -> Self {
        if e.is_transient() {
            ProcessError::Temporary(e.to_string())
        } else {
            ProcessError::Rejected(e.to_string())
        }
    }
}

/// One decision of the pipeline and its reason, as `explain` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub stage: &'static str,
    pub detail: String,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<10} {}", format!("{}:", self.stage), self.detail)
    }
}

/// The decisions taken on one message, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Trace {
    pub steps: Vec<Step>,
}

impl Trace {
    fn note(&mut self, stage: &'static str, detail: impl Into<String>) {
        self.steps.push(Step {
            stage,
            detail: detail.into(),
        });
    }
}

/// What the pipeline decided to do with a message, before writing anything.
#[derive(Debug)]
enum Decision {
    Ignore {
        kind: &'static str,
        reason: String,
        bounced: Option<thread::Bounced>,
    },
    Duplicate(Option<TicketNumber>),
    Comment {
        ticket: Ticket,
        sender: Mailbox,
        authorization: Authorization,
        effect: CommentEffect,
        /// The mail's new text, without the quoted history and signature.
        reply: reply_text::StrippedReply,
    },
    Open {
        requester: Mailbox,
        follow_up_of: Option<Ticket>,
        note: Option<String>,
        /// The ticket the mail was meant for, when it could not go there.
        refusal: Option<MailRefusal>,
        rule: Option<usize>,
    },
}

/// What a mail on an existing ticket does to it besides adding its text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CommentEffect {
    /// A plain comment; a customer's moves a waiting ticket back to the agents.
    Comment,
    /// The requester approved the proposed solution: the ticket closes.
    Approve,
    /// A reply to a proposed solution that does not approve it: the ticket reopens.
    Refuse,
    /// A customer wrote to a ticket closed within the reopen window: it reopens.
    Reopen,
    /// An agent's command, with the text after the command line and the move it makes
    /// (none for `#internal`), checked against the status machine.
    Command(effect::AgentCommand, String, Option<(Status, Event)>),
    /// An agent's mail that cannot act as written (unknown command, a move the status
    /// machine refuses, a closed ticket): kept as an internal note saying why.
    InternalNote(String),
}

/// Values for tickets opened through one intake (an IMAP mailbox), between the routing
/// rules and the configuration's defaults.
#[derive(Debug, Clone, Default)]
pub struct IntakeDefaults {
    pub ticket_type: Option<crate::domain::TicketType>,
    pub language: Option<String>,
}

/// The mail-to-ticket pipeline, with everything it writes to.
#[derive(Debug, Clone)]
pub struct Pipeline {
    store: Store,
    files: Files,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
    defaults: IntakeDefaults,
    links: LinkSigner,
}

impl Pipeline {
    /// A pipeline writing to `store`, and attachments and raw mail to the storage the
    /// settings name (`[storage] backend`). It reads the link key too (creating it on
    /// first use): replies are threaded by the tokens it signed into our notifications'
    /// Message-IDs.
    pub fn new(
        store: Store,
        settings: Arc<Settings>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, LinkKeyError> {
        Ok(Self {
            files: Files::new(&settings, &store),
            links: LinkSigner::from_settings(&settings)?,
            store,
            settings,
            clock,
            defaults: IntakeDefaults::default(),
        })
    }

    /// The same pipeline, giving new tickets the defaults of one intake.
    pub fn with_defaults(&self, defaults: IntakeDefaults) -> Self {
        Self {
            defaults,
            ..self.clone()
        }
    }

    /// The same pipeline writing into `batch`: its mails are committed together when the
    /// batch is, after [`Files::settle`] on this pipeline's files.
    pub fn in_batch(&self, batch: &Batch) -> Self {
        Self {
            store: batch.store().clone(),
            files: self.files.for_batch(batch),
            ..self.clone()
        }
    }

    /// The store this pipeline writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings it runs on.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The clock it reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Where it keeps attachments and raw mail: to read them back.
    pub fn files(&self) -> &Files {
        &self.files
    }

    /// Handles one message from `source`: commits its ticket, comment or note in one
    /// transaction, or says why it could not.
    #[tracing::instrument(name = "message", skip_all, fields(source = %source, message_id))]
    pub async fn process(&self, source: &str, raw: &[u8]) -> Result<Outcome, ProcessError> {
        let message = self.read(raw)?;
        let mut mail = parse::inbound_mail(&message);
        if let Some(id) = &mail.message_id {
            tracing::Span::current().record("message_id", id.as_str());
        }
        let mut trace = Trace::default();
        let decision = self.decide(&mail, &mut trace).await?;
        let outcome = self.execute(decision, &mut mail, raw, source).await?;
        tracing::info!(outcome = ?outcome, "message handled");
        Ok(outcome)
    }

    /// Runs every decision on `raw` without writing anything, and says what `process` would
    /// do and why.
    pub async fn explain(&self, raw: &[u8]) -> Result<Trace, ProcessError> {
        let mut trace = Trace::default();
        let message = match self.read(raw) {
            Ok(m) => m,
            Err(e) => {
                trace.note("verdict", format!("quarantined: {e}"));
                return Ok(trace);
            }
        };
        let mail = parse::inbound_mail(&message);
        trace.note(
            "message",
            format!(
                "Message-ID <{}>, subject {:?}, {} attachment(s)",
                mail.message_id.as_deref().unwrap_or("none"),
                mail.subject,
                mail.attachments.len()
            ),
        );
        let decision = match self.decide(&mail, &mut trace).await {
            Ok(d) => d,
            Err(e) => {
                trace.note("verdict", format!("quarantined: {e}"));
                return Ok(trace);
            }
        };
        for a in &mail.attachments {
            if let Some(reason) = self.refusal(a.bytes.len()) {
                trace.note(
                    "attachment",
                    format!(
                        "{:?} refused: {reason}",
                        a.filename.as_deref().unwrap_or("(unnamed)")
                    ),
                );
            }
        }
        let verdict = match &decision {
            Decision::Ignore {
                kind,
                bounced: Some(b),
                ..
            } if classify::reports_failure_for(raw, &b.recipient) => format!(
                "ignored ({kind}), recorded on {}; {} marked undeliverable",
                b.ticket.number, b.recipient
            ),
            Decision::Ignore {
                kind,
                bounced: Some(b),
                ..
            } => format!("ignored ({kind}), recorded on {}", b.ticket.number),
            Decision::Ignore { kind, .. } => format!("ignored ({kind})"),
            Decision::Duplicate(Some(n)) => format!("duplicate ({n})"),
            Decision::Duplicate(None) => "duplicate".into(),
            Decision::Comment { ticket, .. } => format!("comment on {}", ticket.number),
            Decision::Open {
                follow_up_of: Some(t),
                ..
            } => format!("new ticket, follow-up of {}", t.number),
            Decision::Open { .. } => "new ticket".into(),
        };
        trace.note("verdict", verdict);
        Ok(trace)
    }

    /// Size check and MIME parse.
    fn read<'r>(&self, raw: &'r [u8]) -> Result<mail_parser::Message<'r>, ProcessError> {
        let limit = self.settings.max_message_bytes;
        if raw.len() as u64 > limit {
            return Err(ProcessError::Rejected(too_large(limit)));
        }
        parse::parse_message(raw)
            .map_err(|e| ProcessError::Rejected(format!("cannot parse the message: {e}")))
    }

    /// The reason an attachment of `size` bytes is not stored, if it is not.
    fn refusal(&self, size: usize) -> Option<String> {
        let limit = self.settings.max_attachment_bytes;
        (size as u64 > limit).then(|| {
            format!(
                "{} is over the {} limit per file",
                ByteSize(size as u64),
                ByteSize(limit)
            )
        })
    }

    async fn decide(
        &self,
        mail: &InboundMail<'_>,
        trace: &mut Trace,
    ) -> Result<Decision, ProcessError> {
        let settings = &self.settings;
        // From names the sender; Reply-To stands in where configured (web forms sending on
        // a customer's behalf) or where From has no usable address.
        let (sender, sender_header) =
            match (&mail.from, &mail.reply_to, settings.sender_from_reply_to) {
                (_, Some(reply_to), true) => (Some(reply_to), "Reply-To"),
                (Some(from), _, _) => (Some(from), "From"),
                (None, Some(reply_to), false) => {
                    (Some(reply_to), "Reply-To, From having no usable address")
                }
                (None, None, _) => (None, "From"),
            };
        match sender {
            Some(s) => trace.note("sender", format!("{} (from {sender_header})", s.address)),
            None => trace.note(
                "sender",
                format!(
                    "none usable (From: {})",
                    mail.from_raw.as_deref().unwrap_or("absent")
                ),
            ),
        }

        let class = classify::classify(mail, sender.map(|s| &s.address), &settings.own_addresses);
        trace.note("classify", format!("{}: {}", class.label(), class.reason()));
        match class {
            Classification::Human => {}
            Classification::Bounce { reason } => {
                let bounced = thread::find_bounced_ticket(&self.store, mail).await?;
                match &bounced {
                    Some(b) => trace.note(
                        "thread",
                        format!(
                            "the report concerns our notification to {} on {}: recorded there as a note",
                            b.recipient, b.ticket.number
                        ),
                    ),
                    None => trace.note("thread", "the report names no ticket of ours"),
                }
                return Ok(Decision::Ignore {
                    kind: "bounce",
                    reason,
                    bounced,
                });
            }
            other => {
                let kind = other.label();
                return Ok(Decision::Ignore {
                    kind,
                    reason: other.reason().to_string(),
                    bounced: None,
                });
            }
        }
        let Some(sender) = sender.cloned() else {
            return Err(ProcessError::Rejected(format!(
                "no usable sender address (From: {}); nobody could be answered",
                mail.from_raw.as_deref().unwrap_or("absent")
            )));
        };

        let message_id = mail.message_id.as_deref().unwrap_or("");
        match self
            .store
            .earlier_delivery(message_id, &mail.content_digest)
            .await?
        {
            EarlierDelivery::Same(earlier) => {
                trace.note(
                    "dedup",
                    "the same Message-ID and content were handled before",
                );
                return Ok(Decision::Duplicate(earlier));
            }
            EarlierDelivery::OtherContent => {
                tracing::warn!(
                    message_id,
                    "Message-ID seen before with other content: handled as a different mail"
                );
                trace.note(
                    "dedup",
                    format!(
                        "Message-ID <{message_id}> was seen with other content: a different mail"
                    ),
                );
            }
            EarlierDelivery::None => trace.note("dedup", "not seen before"),
        }

        let threader = thread::Threader {
            store: &self.store,
            tag: &settings.subject_tag,
            signer: &self.links,
        };
        let threading = thread::find_ticket(threader, &sender.address, mail).await?;
        for id in &threading.forged {
            trace.note(
                "thread",
                format!("<{id}> looks like one of our notifications but its token does not verify: ignored"),
            );
        }
        if let Some(n) = &threading.unknown_tag {
            trace.note(
                "thread",
                format!("the subject tags {n}, which does not exist"),
            );
        }
        let mut note = None;
        let mut refusal = None;
        if let Some(threaded) = threading.threaded {
            let ticket = threaded.ticket;
            trace.note(
                "thread",
                format!("{} by {}", ticket.number, threaded.signal),
            );
            let authorization = authorize::authorize(
                &sender.address,
                &ticket,
                &settings.agents,
                &settings.public_domains,
            );
            trace.note("authorize", format!("{}: {authorization}", sender.address));
            if authorization.allowed() {
                let reply = reply_text::strip_reply(&mail.text);
                if let Some(effect) = self.comment_effect(&ticket, &authorization, &reply.text) {
                    if reply.removed {
                        trace.note(
                            "reply",
                            format!(
                                "{} of {} characters kept: the rest is quoted history or signature",
                                reply.text.chars().count(),
                                mail.text.chars().count()
                            ),
                        );
                    }
                    trace.note("effect", effect.describe(&ticket));
                    return Ok(Decision::Comment {
                        ticket,
                        sender,
                        authorization,
                        effect,
                        reply,
                    });
                }
                trace.note(
                    "thread",
                    format!(
                        "{} was closed more than {} days ago (the reopen window): a new ticket follows it up",
                        ticket.number, settings.reopen_window_days
                    ),
                );
                let note = format!("Follow-up of closed ticket {}.", ticket.number);
                let refusal = MailRefusal {
                    ticket: ticket.number.clone(),
                    reason: RefusalReason::Closed,
                };
                return Ok(Decision::Open {
                    requester: sender,
                    follow_up_of: Some(ticket),
                    note: Some(note),
                    refusal: Some(refusal),
                    rule: None,
                }
                .routed(self, mail, trace));
            }
            tracing::warn!(sender = %sender.address, ticket = %ticket.number, "sender may not write on the ticket: opening a ticket of their own");
            note = Some(format!(
                "The sender was not allowed to write on {}; opened as a new ticket.",
                ticket.number
            ));
            refusal = Some(MailRefusal {
                ticket: ticket.number.clone(),
                reason: RefusalReason::NotAllowed,
            });
        } else {
            trace.note(
                "thread",
                "no tag, In-Reply-To or References of ours: new ticket",
            );
        }
        Ok(Decision::Open {
            requester: sender,
            follow_up_of: None,
            note,
            refusal,
            rule: None,
        }
        .routed(self, mail, trace))
    }
}

impl Pipeline {
    /// What an allowed mail does to `ticket`; `None` when it cannot go there at all (a
    /// customer's mail to a ticket closed longer than the reopen window).
    fn comment_effect(
        &self,
        ticket: &Ticket,
        authorization: &Authorization,
        reply: &str,
    ) -> Option<CommentEffect> {
        let settings = &self.settings;
        if let Authorization::Agent(_) = authorization {
            return Some(match effect::agent_command(reply) {
                effect::CommandLine::Known(effect::AgentCommand::Resolve, rest)
                    if rest.is_empty() =>
                {
                    CommentEffect::InternalNote(
                        "#resolve needs the solution on the lines below it; nothing was sent or changed.".into(),
                    )
                }
                effect::CommandLine::Known(command, rest) => match command.apply(ticket.status) {
                    Ok(moved) => CommentEffect::Command(command, rest, moved),
                    Err(e) => CommentEffect::InternalNote(format!("{command} was not applied: {e}.")),
                },
                effect::CommandLine::Unknown(word) => CommentEffect::InternalNote(format!(
                    "{word} is not a command ({}); nothing was sent or changed.",
                    effect::AgentCommand::ALL
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                effect::CommandLine::None if ticket.status == Status::Closed => {
                    CommentEffect::InternalNote(
                        "The ticket is closed: kept as an internal note and nothing was sent; write #reopen on the first line to reopen it and tell the customer.".into(),
                    )
                }
                effect::CommandLine::None => CommentEffect::Comment,
            });
        }
        match ticket.status {
            Status::Resolved => {
                let answer = effect::SolutionAnswer::read(
                    reply,
                    &settings.approval_words,
                    &settings.refusal_words,
                );
                match answer {
                    effect::SolutionAnswer::Approve
                        if *authorization == Authorization::Requester =>
                    {
                        Some(CommentEffect::Approve)
                    }
                    // Only the requester approves; others' thanks are comments.
                    effect::SolutionAnswer::Approve => Some(CommentEffect::Comment),
                    effect::SolutionAnswer::Refuse | effect::SolutionAnswer::Other => {
                        Some(CommentEffect::Refuse)
                    }
                }
            }
            Status::Closed => {
                let window = chrono::Duration::days(i64::from(settings.reopen_window_days));
                let closed_at = ticket.closed_at.unwrap_or(ticket.updated_at);
                (self.clock.now() - closed_at < window).then_some(CommentEffect::Reopen)
            }
            _ => Some(CommentEffect::Comment),
        }
    }
}

impl CommentEffect {
    /// What `explain` says of it.
    fn describe(&self, ticket: &Ticket) -> String {
        match self {
            CommentEffect::Comment => match ticket.status.after_customer_comment() {
                s if s != ticket.status => format!("comment; the ticket goes back to {s}"),
                _ => "comment".into(),
            },
            CommentEffect::Approve => {
                "the requester approves the solution: the ticket closes".into()
            }
            CommentEffect::Refuse => {
                "the answer does not approve the solution: the ticket reopens with it".into()
            }
            CommentEffect::Reopen => {
                "the ticket was closed within the reopen window: it reopens".into()
            }
            CommentEffect::Command(c, ..) => format!("agent command {c}"),
            CommentEffect::InternalNote(why) => format!("internal note: {why}"),
        }
    }
}

impl Decision {
    /// Applies the routing rules to a new ticket, noting which one matched.
    fn routed(self, pipeline: &Pipeline, mail: &InboundMail<'_>, trace: &mut Trace) -> Decision {
        let Decision::Open {
            requester,
            follow_up_of,
            note,
            refusal,
            ..
        } = self
        else {
            return self;
        };
        let rules: &[RoutingRule] = &pipeline.settings.routing;
        let rule = rules
            .iter()
            .position(|r| r.matches(mail, &requester.address));
        match rule {
            Some(i) => trace.note(
                "route",
                format!("rule {:?} matched: {:?}", rules[i].name, rules[i].effect),
            ),
            None => trace.note("route", "no routing rule matched: configured defaults"),
        }
        Decision::Open {
            requester,
            follow_up_of,
            note,
            refusal,
            rule,
        }
    }
}

/// Why a message over `max_message_bytes` is quarantined unread, and what to do about it.
pub fn too_large(limit: u64) -> String {
    format!(
        "the message is over max_message_bytes = {limit}; raise the limit and retry it if it is wanted"
    )
}
