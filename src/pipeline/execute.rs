//! Carrying out a decision: attachments and raw message to their storage, then one
//! transaction.

use tracing::Instrument;

use super::{CommentEffect, Decision, Outcome, Pipeline, ProcessError};
use crate::domain::{
    Actor, Audience, Direction, EmailAddress, Event, EventContext, InboundMail, Mailbox, Priority,
    Status, TicketType, Visibility, title_from_subject, with_context,
};
use crate::domain::{NewArticle, NewAttachment, NewTicket};
use crate::pipeline::authorize::{Authorization, organisation_of};
use crate::pipeline::language;
use crate::store::{Committed, InboundCommit, InboundWrite, MessageRecord, Undeliverable};

/// Up to this size the ticket's description is sent to the database with the ticket; past
/// it, the database copies it from the first article (one more statement, one copy of a
/// large text less in memory).
const DESCRIPTION_COPY_BYTES: usize = 64 * 1024;

impl Pipeline {
    pub(super) async fn execute(
        &self,
        decision: Decision,
        mail: &mut InboundMail<'_>,
        raw: &[u8],
        source: &str,
    ) -> Result<Outcome, ProcessError> {
        let at = self.clock.now();
        let message = MessageRecord {
            message_id: mail.message_id.clone().unwrap_or_default(),
            content_digest: mail.content_digest.clone(),
            source: source.to_string(),
        };
        let (write, article, notifications, span) = match decision {
            Decision::Duplicate(n) => return Ok(Outcome::Duplicate(n)),
            Decision::Ignore {
                kind,
                reason,
                bounced: None,
            } => {
                return Ok(Outcome::Ignored {
                    kind,
                    reason,
                    ticket: None,
                });
            }
            Decision::Ignore {
                kind,
                reason,
                bounced: Some(bounced),
            } => {
                let ticket = bounced.ticket;
                let article = self.delivery_report_note(mail, raw, at, &reason).await?;
                // A failed delivery to the notification's recipient stops mail to that
                // address for a while; any other report is only recorded.
                let undeliverable = mail.reports_failure_for(&bounced.recipient).then(|| {
                    let pause = chrono::Duration::from_std(
                        self.settings.loop_limits.undeliverable_for,
                    )
                    .unwrap_or(chrono::Duration::days(3));
                    tracing::warn!(address = %bounced.recipient, ticket = %ticket.number, "a notification bounced: address marked undeliverable");
                    Undeliverable {
                        address: bounced.recipient.clone(),
                        until: at + pause,
                        reason: format!(
                        "our notification on {} bounced: {reason}",
                        ticket.number
                    ),
                    }
                });
                let span = tracing::info_span!("ticket", number = %ticket.number);
                let commit = InboundCommit {
                    write: InboundWrite::Note {
                        ticket_id: ticket.id,
                    },
                    article,
                    notifications: Vec::new(),
                    message,
                    at,
                    undeliverable,
                };
                return match self.store.commit_inbound(&commit).instrument(span).await? {
                    Committed::Duplicate(n) => Ok(Outcome::Duplicate(n)),
                    _ => Ok(Outcome::Ignored {
                        kind,
                        reason,
                        ticket: Some(ticket.number),
                    }),
                };
            }
            Decision::Comment {
                ticket,
                sender,
                authorization,
                effect,
                reply,
            } => {
                let is_agent = matches!(authorization, Authorization::Agent(_));
                let direction = if is_agent {
                    Direction::Outbound
                } else {
                    Direction::Inbound
                };
                let mut article = self
                    .article(mail, raw, at, Some(&sender), direction)
                    .await?;
                if reply.removed {
                    article.body_original =
                        Some(std::mem::replace(&mut article.body_text, reply.text));
                }
                let plan = CommentPlan::of(effect, ticket.status, is_agent);
                article.visibility = plan.visibility;
                if let Some(body) = plan.body {
                    article
                        .body_original
                        .get_or_insert_with(|| article.body_text.clone());
                    article.body_text = body;
                }
                if let Some(note) = plan.note {
                    article.note = Some(match article.note.take() {
                        Some(existing) => format!("{note} {existing}"),
                        None => note,
                    });
                }
                let agents = ticket.agents_to_tell(self.settings.agents_address.as_ref());
                let audience = ticket.audience(agents.as_ref());
                let actor = if is_agent {
                    Actor::Agent(&sender.address)
                } else {
                    Actor::Customer(&sender.address)
                };
                let context = EventContext {
                    previous_status: plan.new_status.map(|_| ticket.status),
                    ..EventContext::default()
                };
                let mut notifications = match plan.event {
                    Some(event) => with_context(audience.notifications(event, actor), &context),
                    None => Vec::new(),
                };
                // Whoever the writer sent the mail to already has it.
                notifications.retain(|n| {
                    !mail
                        .recipients()
                        .any(|m| m.address.same_mailbox(&n.recipient))
                });
                notifications.extend(refusal_notices(&article, &audience, actor));
                let span = tracing::info_span!("ticket", number = %ticket.number);
                let write = InboundWrite::Comment {
                    ticket_id: ticket.id,
                    expected_status: ticket.status,
                    new_status: plan.new_status,
                    add_observers: Vec::new(),
                };
                (write, article, notifications, span)
            }
            Decision::Open {
                requester,
                follow_up_of,
                note,
                refusal,
                rule,
            } => {
                // The ticket first: the article then takes the mail's text without a copy.
                let ticket = self.new_ticket(mail, &requester, follow_up_of.map(|t| t.id), rule);
                let mut article = self
                    .article(mail, raw, at, Some(&requester), Direction::Inbound)
                    .await?;
                if let Some(note) = note {
                    article.note = Some(match article.note.take() {
                        Some(existing) => format!("{note} {existing}"),
                        None => note,
                    });
                }
                let audience = Audience {
                    requester: &ticket.requester,
                    observers: &ticket.observers,
                    agents: self.settings.agents_address.as_ref(),
                };
                let actor = Actor::Customer(&requester.address);
                let mut notifications = audience.notifications(Event::TicketOpened, actor);
                if let Some(refusal) = refusal {
                    // The requester learns why their mail did not go where they sent it,
                    // and where it went, instead of a plain acknowledgement.
                    let context = EventContext {
                        refusal: Some(refusal),
                        ..EventContext::default()
                    };
                    notifications.retain(|n| !n.recipient.same_mailbox(&requester.address));
                    notifications.splice(
                        0..0,
                        with_context(audience.notifications(Event::MailRefused, actor), &context),
                    );
                }
                notifications.extend(refusal_notices(&article, &audience, actor));
                let span = tracing::info_span!("ticket", number = tracing::field::Empty);
                (
                    InboundWrite::Open(Box::new(ticket)),
                    article,
                    notifications,
                    span,
                )
            }
        };
        let commit = InboundCommit {
            write,
            article,
            notifications,
            message,
            at,
            undeliverable: None,
        };
        let committed = self
            .store
            .commit_inbound(&commit)
            .instrument(span.clone())
            .await?;
        if let Committed::Opened(n) = &committed {
            span.record("number", n.as_str());
            span.in_scope(|| tracing::info!(requester = %commit.article.author, "ticket opened"));
        }
        Ok(match committed {
            Committed::Opened(n) => Outcome::Created(n),
            Committed::Commented(n) | Committed::Noted(n) => Outcome::Commented(n),
            Committed::Duplicate(n) => Outcome::Duplicate(n),
            Committed::Stale(n) => {
                return Err(ProcessError::Temporary(format!(
                    "ticket {n} changed status while the mail was handled; the mail is handled again"
                )));
            }
        })
    }

    /// An internal note recording a delivery report about one of our notifications. Only a
    /// summary and the kept raw report: nothing the report's sender wrote becomes ticket
    /// content, since reports are recorded without a sender check.
    async fn delivery_report_note(
        &self,
        mail: &InboundMail<'_>,
        raw: &[u8],
        at: chrono::DateTime<chrono::Utc>,
        reason: &str,
    ) -> Result<NewArticle, ProcessError> {
        let reporter = mail
            .from
            .as_ref()
            .map_or("an unknown mail system".to_string(), |m| {
                m.address.to_string()
            });
        let subjects: Vec<String> = mail
            .embedded
            .iter()
            .filter_map(|e| e.subject.clone())
            .collect();
        Ok(NewArticle {
            author: mail.from.as_ref().map_or_else(
                || EmailAddress::parse("mailer-daemon@invalid").expect("a valid literal"),
                |m| m.address.clone(),
            ),
            author_name: None,
            direction: Direction::System,
            visibility: Visibility::Internal,
            subject: mail.subject.clone(),
            body_text: format!(
                "A notification could not be delivered: {reporter} sent a delivery report ({reason}).{}",
                if subjects.is_empty() {
                    String::new()
                } else {
                    format!(" Original subject: {}.", subjects.join("; "))
                }
            ),
            body_html: None,
            body_original: None,
            message_id: None,
            raw_ref: Some(self.files.put_raw(raw, at).await?),
            note: Some(
                "Delivery report; nobody was notified. The full report is kept with the raw mail."
                    .into(),
            ),
            attachments: Vec::new(),
        })
    }

    /// The article for a mail, with its attachments stored (or refused) and its raw bytes
    /// kept. It takes the mail's text and HTML (a big mail's text is not copied).
    async fn article(
        &self,
        mail: &mut InboundMail<'_>,
        raw: &[u8],
        at: chrono::DateTime<chrono::Utc>,
        author: Option<&Mailbox>,
        direction: Direction,
    ) -> Result<NewArticle, ProcessError> {
        let mut attachments = Vec::with_capacity(mail.attachments.len());
        let mut refused = Vec::new();
        for a in &mail.attachments {
            let filename =
                crate::attachments::sanitize_filename(a.filename.as_deref(), &a.content_type);
            let refused_reason = self.refusal(a.bytes.len());
            let sha256 = match &refused_reason {
                Some(reason) => {
                    refused.push(format!("{filename}: {reason}"));
                    None
                }
                None => Some(self.files.put_attachment(&a.bytes, at).await?),
            };
            attachments.push(NewAttachment {
                filename,
                content_type: a.content_type.clone(),
                size: a.bytes.len() as u64,
                sha256,
                content_id: a.content_id.clone(),
                inline: a.inline,
                refused_reason,
            });
        }
        let raw_ref = self.files.put_raw(raw, at).await?;
        let author_address = match author {
            Some(m) => m.address.clone(),
            None => EmailAddress::parse("mailer-daemon@invalid").expect("a valid literal"),
        };
        Ok(NewArticle {
            author: author_address,
            author_name: author.and_then(|m| m.name.clone()),
            direction,
            visibility: Visibility::Public,
            subject: mail.subject.clone(),
            body_text: std::mem::take(&mut mail.text),
            body_html: mail.html.take(),
            body_original: None,
            message_id: mail.message_id.clone(),
            raw_ref: Some(raw_ref),
            note: (!refused.is_empty())
                .then(|| format!("Files not stored: {}.", refused.join("; "))),
            attachments,
        })
    }

    fn new_ticket(
        &self,
        mail: &InboundMail<'_>,
        requester: &Mailbox,
        follow_up_of: Option<i64>,
        rule: Option<usize>,
    ) -> NewTicket {
        let s = &self.settings;
        let effect = rule.map(|i| &s.routing[i].effect);
        let own_or_agent = |a: &EmailAddress| {
            s.own_addresses
                .iter()
                .chain(s.agents.iter().map(|g| &g.email))
                .any(|o| o.same_mailbox(a))
        };
        let mut observers: Vec<EmailAddress> = Vec::new();
        for m in mail.recipients() {
            let a = &m.address;
            if !own_or_agent(a)
                && !a.same_mailbox(&requester.address)
                && !observers.iter().any(|o| o.same_mailbox(a))
            {
                observers.push(a.clone());
            }
        }
        let ticket_type: TicketType = effect
            .and_then(|e| e.ticket_type)
            .or(self.defaults.ticket_type)
            .unwrap_or(s.ticket_defaults.ticket_type);
        let impact = effect
            .and_then(|e| e.impact)
            .unwrap_or(s.ticket_defaults.impact);
        let urgency = effect
            .and_then(|e| e.urgency)
            .unwrap_or(s.ticket_defaults.urgency);
        tracing::debug!(priority = %Priority::derive(impact, urgency), "new ticket");
        NewTicket {
            title: title_from_subject(&s.subject_tag.strip(&mail.subject)),
            // A big mail's text is not held twice: the store copies it from the article.
            description: (mail.text.len() <= DESCRIPTION_COPY_BYTES).then(|| mail.text.clone()),
            ticket_type,
            category: effect.and_then(|e| e.category.clone()),
            impact,
            urgency,
            requester: requester.address.clone(),
            requester_name: requester.name.clone(),
            organisation: organisation_of(&requester.address, &s.public_domains),
            language: language::detect(&mail.subject, &mail.text)
                .or(self.defaults.language.as_deref())
                .unwrap_or(&s.ticket_defaults.language)
                .to_string(),
            follow_up_of,
            observers,
        }
    }
}

/// What a mail's comment does to its ticket: the move, the event told, whether customers
/// see it, and the text kept when a command line is taken off.
struct CommentPlan {
    new_status: Option<Status>,
    event: Option<Event>,
    visibility: Visibility,
    body: Option<String>,
    note: Option<String>,
}

impl CommentPlan {
    fn of(effect: CommentEffect, status: Status, is_agent: bool) -> CommentPlan {
        let plain = |new_status: Option<Status>, event: Event, note: Option<&str>| CommentPlan {
            new_status,
            event: Some(event),
            visibility: Visibility::Public,
            body: None,
            note: note.map(String::from),
        };
        match effect {
            CommentEffect::Comment if is_agent => plain(None, Event::AgentComment, None),
            CommentEffect::Comment => {
                let after = status.after_customer_comment();
                plain(
                    (after != status).then_some(after),
                    Event::CustomerComment,
                    None,
                )
            }
            CommentEffect::Approve => plain(
                Some(Status::Closed),
                Event::TicketClosed,
                Some("The requester approved the solution."),
            ),
            CommentEffect::Refuse => plain(
                Some(Status::InProgress),
                Event::TicketReopened,
                Some("The requester did not approve the solution: reopened."),
            ),
            CommentEffect::Reopen => plain(
                Some(Status::InProgress),
                Event::TicketReopened,
                Some("Reopened by the customer's mail within the reopen window."),
            ),
            // A command that moves the ticket tells people; `#internal` moves nothing and
            // stays among agents.
            CommentEffect::Command(command, rest, moved) => CommentPlan {
                new_status: moved.map(|(to, _)| to),
                event: moved.map(|(_, event)| event),
                visibility: if moved.is_some() {
                    Visibility::Public
                } else {
                    Visibility::Internal
                },
                body: Some(rest),
                note: Some(format!("Agent command {command}.")),
            },
            CommentEffect::InternalNote(why) => CommentPlan {
                new_status: None,
                event: None,
                visibility: Visibility::Internal,
                body: None,
                note: Some(why),
            },
        }
    }
}

/// An `attachment_refused` notice to the sender when the article refused a file.
fn refusal_notices(
    article: &NewArticle,
    audience: &Audience<'_>,
    sender: Actor<'_>,
) -> Vec<crate::domain::Notification> {
    if article
        .attachments
        .iter()
        .any(|a| a.refused_reason.is_some())
    {
        audience.notifications(Event::AttachmentRefused, sender)
    } else {
        Vec::new()
    }
}
