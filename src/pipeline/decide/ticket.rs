//! A mail that threads to a ticket: a comment there when its sender may write on it (by
//! address, and where a policy asks, authenticated) and the ticket takes it; else a ticket
//! of its own that says why.

use super::super::reply_effect::{ReplyEffect, ReplyRules};
use super::super::thread::Threaded;
use super::super::trace::Trace;
use super::identity::Identity;
use super::{Decision, Pipeline, reply_text};
use crate::domain::{InboundMail, MailRefusal, Mailbox, RefusalReason};

impl Pipeline {
    pub(super) async fn on_ticket(
        &self,
        mail: &InboundMail<'_>,
        sender: Mailbox,
        threaded: Threaded,
        identity: &mut Identity<'_>,
        trace: &mut Trace,
    ) -> Decision {
        let settings = &self.settings;
        let ticket = threaded.ticket;
        trace.note(
            "thread",
            format!("{} by {}", ticket.number, threaded.signal),
        );
        let admitted = self
            .admit(mail, &sender.address, &ticket, identity, trace)
            .await;
        let authorization = admitted.authorization;
        trace.note("authorize", format!("{}: {authorization}", sender.address));
        if !authorization.allowed() || admitted.refused {
            // A forged agent's address, or a customer who must be authenticated and is not,
            // is told so; anyone else that only people on the ticket may write.
            let (reason, why) = if admitted.refused || admitted.demoted {
                (RefusalReason::Unverified, "could not be authenticated")
            } else {
                (RefusalReason::NotAllowed, "was not allowed to write")
            };
            tracing::warn!(sender = %sender.address, ticket = %ticket.number, "the sender {why} on the ticket: opening a ticket of their own");
            let note = format!(
                "The sender {why} on {}; opened as a new ticket.",
                ticket.number
            );
            let refusal = MailRefusal {
                ticket: ticket.number.clone(),
                reason,
            };
            return self.open(mail, sender, None, Some(note), Some(refusal), trace);
        }
        let verified = identity.checked().is_none_or(|c| c.verified);
        let kept_part = crate::pipeline::article::kept_part;
        let reply =
            reply_text::strip_mail(kept_part(&mail.text), mail.html.as_deref().map(kept_part));
        let rules = ReplyRules {
            approval_words: &settings.approval_words,
            refusal_words: &settings.refusal_words,
            reopen_window: chrono::Duration::days(i64::from(settings.reopen_window_days)),
            now: self.clock.now(),
            verified,
        };
        let Some(effect) = ReplyEffect::decide(&ticket, &authorization, &reply.text, rules) else {
            let why = if verified {
                format!(
                    "was closed more than {} days ago (the reopen window)",
                    settings.reopen_window_days
                )
            } else {
                "is closed, and an unauthenticated mail does not reopen it".to_string()
            };
            trace.note(
                "thread",
                format!("{} {why}: a new ticket follows it up", ticket.number),
            );
            let note = format!("Follow-up of closed ticket {}.", ticket.number);
            let refusal = MailRefusal {
                ticket: ticket.number.clone(),
                reason: RefusalReason::Closed,
            };
            return self.open(mail, sender, Some(ticket), Some(note), Some(refusal), trace);
        };
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
        if reply.whole_kept {
            trace.note(
                "reply",
                "no new text told apart from what the mail quotes: the whole text is kept",
            );
        }
        trace.note("effect", effect.describe(&ticket));
        Decision::Comment {
            ticket,
            sender,
            authorization,
            effect,
            reply,
            sender_check: identity.checked().cloned(),
        }
    }
}
