//! Carrying out a decision: attachments and raw message to their storage, then one
//! transaction with the ticket or comment, its article and the notifications it causes.

use chrono::{DateTime, Utc};
use tracing::Instrument;

use super::authorize::Authorization;
use super::decide::Decision;
use super::reply_effect::{ReplyEffect, customer};
use super::thread::Bounced;
use super::{Outcome, Pipeline, ProcessError, TemporaryFailure, reply_text};
use crate::domain::{
    Actor, Audience, Direction, Event, EventContext, FieldsNotice, InboundMail, MailRefusal,
    Mailbox, NewArticle, Notification, Ticket, with_context,
};
use crate::store::{Committed, InboundCommit, InboundWrite, MessageRecord, Undeliverable};

/// How many observers of a ticket opened by mail are sent its acknowledgement when its
/// requester is not authenticated: whoever a stranger copied is a third party.
const ACKNOWLEDGED_OBSERVERS: usize = 10;

/// The message being carried out, and when it is received.
pub(super) struct Incoming<'a, 'm> {
    pub mail: &'a mut InboundMail<'m>,
    pub raw: &'a [u8],
    pub at: DateTime<Utc>,
}

/// What one decision writes, ready for the transaction.
struct Prepared {
    write: InboundWrite,
    article: NewArticle,
    notifications: Vec<Notification>,
    /// The ticket's span, its number recorded once known.
    span: tracing::Span,
}

impl Pipeline {
    pub(super) async fn execute(
        &self,
        decision: Decision,
        mail: &mut InboundMail<'_>,
        raw: &[u8],
        source: &str,
    ) -> Result<Outcome, ProcessError> {
        let message = MessageRecord {
            message_id: mail.message_id.clone().unwrap_or_default(),
            content_digest: mail.content_digest.clone(),
            source: source.to_string(),
        };
        let mut incoming = Incoming {
            mail,
            raw,
            at: self.clock.now(),
        };
        // The message's span (`process`) names the ticket from the moment it is known: a
        // field recorded twice would be written twice by the text format.
        let span = tracing::Span::current();
        let mut prepared = match decision {
            Decision::Duplicate(n) => {
                if let Some(n) = &n {
                    span.record("ticket", n.as_str());
                }
                return Ok(Outcome::Duplicate(n));
            }
            Decision::MyTickets { sender, language } => {
                let queued = self
                    .store
                    .commit_my_tickets_request(&message, &sender.address, &language, incoming.at)
                    .await?;
                if !queued {
                    return Ok(Outcome::Duplicate(None));
                }
                tracing::info!("a request for the sender's tickets: answered, no ticket opened");
                return Ok(Outcome::Answered { kind: "my tickets" });
            }
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
                span.record("ticket", bounced.ticket.number.as_str());
                return self
                    .record_bounce(&incoming, message, bounced, kind, reason)
                    .await;
            }
            Decision::Comment {
                ticket,
                sender,
                authorization,
                effect,
                reply,
                sender_check,
            } => {
                span.record("ticket", ticket.number.as_str());
                let is_agent = matches!(authorization, Authorization::Agent(_));
                let mut prepared = self
                    .comment(&mut incoming, ticket, sender, is_agent, effect, reply)
                    .await?;
                if let Some(check) = sender_check {
                    prepared.article.sender_verified = Some(check.verified);
                    prepared.article.sender_check = Some(check.how);
                }
                prepared
            }
            Decision::Open {
                requester,
                follow_up_of,
                note,
                refusal,
                rule,
            } => {
                let follow_up_of = follow_up_of.map(|t| t.id);
                self.opening(&mut incoming, requester, follow_up_of, note, refusal, rule)
                    .await?
            }
        };
        if incoming.mail.from_fields > 1 {
            prepared.article.prepend_note(format!(
                "Suspicious: the mail has {} From fields; the first was taken as the sender.",
                incoming.mail.from_fields
            ));
        }
        self.commit(prepared, message, incoming.at).await
    }

    /// Records a delivery report about one of our notifications on its ticket, as a note
    /// that tells nobody. A failed delivery to the notification's recipient stops mail to
    /// that address for a while; any other report is only recorded.
    async fn record_bounce(
        &self,
        incoming: &Incoming<'_, '_>,
        message: MessageRecord,
        bounced: Bounced,
        kind: &'static str,
        reason: String,
    ) -> Result<Outcome, ProcessError> {
        let ticket = bounced.ticket;
        let at = incoming.at;
        let article = self.delivery_report_note(incoming, &reason).await?;
        let undeliverable = incoming
            .mail
            .reports_failure_for(&bounced.recipient)
            .then(|| {
                let pause =
                    chrono::Duration::from_std(self.settings.loop_limits.undeliverable_for)
                        .unwrap_or(chrono::Duration::days(3));
                tracing::warn!(address = %bounced.recipient, ticket = %ticket.number, "a notification bounced: address marked undeliverable");
                Undeliverable {
                    address: bounced.recipient.clone(),
                    until: at + pause,
                    reason: format!("our notification on {} bounced: {reason}", ticket.number),
                }
            });
        let span = tracing::info_span!("ticket", ticket = %ticket.number);
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
        Ok(
            match self.store.commit_inbound(&commit).instrument(span).await? {
                Committed::Duplicate(n) => Outcome::Duplicate(n),
                _ => Outcome::Ignored {
                    kind,
                    reason,
                    ticket: Some(ticket.number),
                },
            },
        )
    }

    /// A mail on an existing ticket: its article (the new text kept, the whole mail beside
    /// it), the move its effect makes, and the ticket's audience told.
    async fn comment(
        &self,
        incoming: &mut Incoming<'_, '_>,
        ticket: Ticket,
        sender: Mailbox,
        is_agent: bool,
        effect: ReplyEffect,
        reply: reply_text::StrippedReply,
    ) -> Result<Prepared, ProcessError> {
        let direction = if is_agent {
            Direction::Outbound
        } else {
            Direction::Inbound
        };
        let mut article = self.article(incoming, Some(&sender), direction).await?;
        if reply.removed {
            let mut text = reply.text;
            // The whole text is the file message.txt already.
            super::article::cut_to_bounds(&mut text);
            article.body_original = Some(std::mem::replace(&mut article.body_text, text));
        }
        if reply.whole_kept {
            article.prepend_note(
                "No new text could be told apart from what the mail quotes: the whole mail is kept."
                    .into(),
            );
        }
        let command = customer::writes(&effect, &ticket, &sender.address);
        let plan = effect.plan(ticket.status, is_agent);
        article.visibility = plan.visibility;
        if let Some(body) = plan.body {
            article
                .body_original
                .get_or_insert_with(|| article.body_text.clone());
            article.body_text = body;
        }
        if let Some(note) = plan.note {
            article.prepend_note(note);
        }
        if let Some(note) = command.note {
            article.prepend_note(note);
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
            !incoming
                .mail
                .recipients()
                .any(|m| m.address.same_mailbox(&n.recipient))
        });
        notifications.extend(refusal_notices(&article, &audience, actor));
        // A command that was not carried out is answered to its sender alone.
        notifications.extend(command.refusal.map(|refusal| Notification {
            event: Event::CommandRefused,
            recipient: sender.address.clone(),
            context: EventContext {
                command: Some(refusal),
                ..EventContext::default()
            },
        }));
        Ok(Prepared {
            write: InboundWrite::Comment {
                ticket_id: ticket.id,
                expected_status: ticket.status,
                new_status: plan.new_status,
                changes: command.changes,
            },
            article,
            notifications,
            span: tracing::info_span!("ticket", ticket = %ticket.number),
        })
    }

    /// A mail that opens a ticket: the ticket, its first article, the acknowledgement (or,
    /// for a mail refused where it was sent, why and where it went instead).
    async fn opening(
        &self,
        incoming: &mut Incoming<'_, '_>,
        requester: Mailbox,
        follow_up_of: Option<i64>,
        note: Option<String>,
        refusal: Option<MailRefusal>,
        rule: Option<usize>,
    ) -> Result<Prepared, ProcessError> {
        // The ticket first: the article then takes the mail's text without a copy.
        let super::new_ticket::Opening {
            ticket,
            left_out,
            fields,
            ..
        } = self.new_ticket(incoming.mail, &requester, follow_up_of, rule);
        let mut article = self
            .article(incoming, Some(&requester), Direction::Inbound)
            .await?;
        if let Some(left_out) = left_out {
            tracing::warn!(
                observers = ticket.observers.len(),
                "a mail to more recipients than tickets.max_observers_from_mail: the others are named in a note"
            );
            article.prepend_note(left_out);
        }
        if let Some(note) = note {
            article.prepend_note(note);
        }
        let observers: Vec<crate::domain::EmailAddress> =
            ticket.observers.iter().map(|o| o.address.clone()).collect();
        let audience = Audience {
            requester: &ticket.requester,
            observers: &observers,
            agents: self.settings.agents_address.as_ref(),
        };
        let actor = Actor::Customer(&requester.address);
        let opened = EventContext {
            fields: (fields != FieldsNotice::default()).then_some(fields),
            ..EventContext::default()
        };
        let mut notifications =
            with_context(audience.notifications(Event::TicketOpened, actor), &opened);
        // A stranger's mail must not make us send its subject to a crowd of third parties:
        // unless its sender is authenticated (checked only for such a crowd), a few hear.
        let observers_told = notifications.len().saturating_sub(1);
        if observers_told > ACKNOWLEDGED_OBSERVERS
            && !self
                .authenticator
                .check(incoming.mail, incoming.raw, &requester.address)
                .await
                .verified
        {
            let mut told = 0;
            notifications.retain(|n| {
                let observer = !n.recipient.same_mailbox(&requester.address);
                told += usize::from(observer);
                !observer || told <= ACKNOWLEDGED_OBSERVERS
            });
        }
        if let Some(refusal) = refusal {
            // The requester learns why their mail did not go where they sent it, and where
            // it went, instead of a plain acknowledgement.
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
        Ok(Prepared {
            write: InboundWrite::Open(Box::new(ticket)),
            article,
            notifications,
            span: tracing::info_span!("ticket", ticket = tracing::field::Empty),
        })
    }

    /// Commits what was prepared, in one transaction with the message's record.
    async fn commit(
        &self,
        prepared: Prepared,
        message: MessageRecord,
        at: DateTime<Utc>,
    ) -> Result<Outcome, ProcessError> {
        let Prepared {
            write,
            article,
            notifications,
            span,
        } = prepared;
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
            span.record("ticket", n.as_str());
            tracing::Span::current().record("ticket", n.as_str());
            span.in_scope(|| tracing::info!(requester = %commit.article.author, "ticket opened"));
        }
        Ok(match committed {
            Committed::Opened(n) => Outcome::Created(n),
            Committed::Commented(n) | Committed::Noted(n) => Outcome::Commented(n),
            Committed::Duplicate(n) => Outcome::Duplicate(n),
            Committed::Stale(n) => return Err(TemporaryFailure::Stale(n).into()),
        })
    }
}

/// An `attachment_refused` notice to the sender when the article refused a file.
fn refusal_notices(
    article: &NewArticle,
    audience: &Audience<'_>,
    sender: Actor<'_>,
) -> Vec<Notification> {
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
