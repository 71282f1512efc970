//! Deciding what a message does, before anything is written: who sent it, whether a person
//! wrote it, whether it came before, which ticket it answers, whether its sender may write
//! there and what it does to it, or which rule routes the ticket it opens. Each step notes
//! its reason in a [`Trace`], which `explain` prints.

mod identity;
mod my_tickets;
mod ticket;

use super::authenticate::SenderCheck;
use super::authorize::Authorization;
use super::classify::{self, Classification};
use super::reply_effect::ReplyEffect;
use super::thread;
use super::trace::Trace;
use super::{Pipeline, ProcessError, Rejection, reply_text};
use crate::domain::{InboundMail, MailRefusal, Mailbox, Ticket, TicketNumber};
use crate::store::EarlierDelivery;

/// What the pipeline decided to do with a message, before writing anything.
#[derive(Debug)]
pub(super) enum Decision {
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
        effect: ReplyEffect,
        /// The mail's new text, without the quoted history and signature.
        reply: reply_text::StrippedReply,
        /// Whether the sender was authenticated, where a policy asked.
        sender_check: Option<SenderCheck>,
    },
    Open {
        requester: Mailbox,
        follow_up_of: Option<Ticket>,
        note: Option<String>,
        /// The ticket the mail was meant for, when it could not go there.
        refusal: Option<MailRefusal>,
        /// The routing rule that matched, by its index in the settings.
        rule: Option<usize>,
    },
    /// A request for one's tickets: answered, nothing opened.
    MyTickets {
        sender: Mailbox,
        language: String,
    },
}

impl Pipeline {
    /// Every decision on `mail`, in order, each noted in `trace`.
    pub(super) async fn decide(
        &self,
        mail: &InboundMail<'_>,
        raw: &[u8],
        trace: &mut Trace,
    ) -> Result<Decision, ProcessError> {
        let sender = self.sender(mail, trace);
        let mut identity = identity::Identity::new(raw);
        if let Some(ignored) = self.automatic(mail, sender, &mut identity, trace).await? {
            return Ok(ignored);
        }
        let Some(sender) = sender.cloned() else {
            // A From read as nothing, or with U+FFFD, held bytes that are not UTF-8.
            let from = match mail.from_raw.as_deref() {
                None => "absent".to_string(),
                Some(f) if f.is_empty() || f.contains('\u{FFFD}') => {
                    format!("{f:?}, empty or holding bytes that are not UTF-8")
                }
                Some(f) => f.to_string(),
            };
            return Err(Rejection::NoSender { from }.into());
        };
        if let Some(duplicate) = self.earlier(mail, trace).await? {
            return Ok(duplicate);
        }
        if let Some(why) = self.asks_for_tickets(mail) {
            trace.note("request", why);
            let language = self.request_language(mail);
            return Ok(Decision::MyTickets { sender, language });
        }
        let threader = thread::Threader {
            store: &self.store,
            tag: &self.settings.subject_tag,
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
        let Some(threaded) = threading.threaded else {
            trace.note(
                "thread",
                "no tag, In-Reply-To or References of ours: new ticket",
            );
            return Ok(self.open(mail, sender, None, None, None, trace));
        };
        Ok(self
            .on_ticket(mail, sender, threaded, &mut identity, trace)
            .await)
    }

    /// Who the mail is from: From, or Reply-To where configured (web forms sending on a
    /// customer's behalf) or where From has no usable address.
    fn sender<'m>(&self, mail: &'m InboundMail<'_>, trace: &mut Trace) -> Option<&'m Mailbox> {
        let (sender, header) = match (
            &mail.from,
            &mail.reply_to,
            self.settings.sender_from_reply_to,
        ) {
            (_, Some(reply_to), true) => (Some(reply_to), "Reply-To"),
            (Some(from), _, _) => (Some(from), "From"),
            (None, Some(reply_to), false) => {
                (Some(reply_to), "Reply-To, From having no usable address")
            }
            (None, None, _) => (None, "From"),
        };
        if mail.from_fields > 1 {
            tracing::warn!(
                from_fields = mail.from_fields,
                "a mail with several From fields: the first is the sender"
            );
            trace.note(
                "sender",
                format!(
                    "{} From fields (RFC 5322 allows one): the first is the sender; the mail is marked suspicious",
                    mail.from_fields
                ),
            );
        }
        match sender {
            Some(s) => trace.note("sender", format!("{} (from {header})", s.address)),
            None => trace.note(
                "sender",
                format!(
                    "none usable (From: {})",
                    mail.from_raw.as_deref().unwrap_or("absent")
                ),
            ),
        }
        sender
    }

    /// Automatic mail is ignored (a bounce of one of our notifications still noted on its
    /// ticket); `None` for a person's mail.
    async fn automatic(
        &self,
        mail: &InboundMail<'_>,
        sender: Option<&Mailbox>,
        identity: &mut identity::Identity<'_>,
        trace: &mut Trace,
    ) -> Result<Option<Decision>, ProcessError> {
        let class = classify::classify(
            mail,
            sender.map(|s| &s.address),
            &self.settings.own_addresses,
        );
        trace.note("classify", format!("{}: {}", class.label(), class.reason()));
        Ok(match class {
            Classification::Human => None,
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
                Some(Decision::Ignore {
                    kind: "bounce",
                    reason,
                    bounced,
                })
            }
            Classification::FromUs { reason } => {
                let Some(sender) = sender else {
                    unreachable!("only a sender can be one of our addresses")
                };
                let check = self
                    .check_sender(mail, &sender.address, identity, trace)
                    .await;
                if !check.verified {
                    return Err(Rejection::ForgedOwnAddress {
                        address: sender.address.to_string(),
                        how: check.how,
                    }
                    .into());
                }
                Some(Decision::Ignore {
                    kind: "loop",
                    reason,
                    bounced: None,
                })
            }
            other => Some(Decision::Ignore {
                kind: other.label(),
                reason: other.reason().to_string(),
                bounced: None,
            }),
        })
    }

    /// A second delivery of a mail handled before; `None` for a new one.
    async fn earlier(
        &self,
        mail: &InboundMail<'_>,
        trace: &mut Trace,
    ) -> Result<Option<Decision>, ProcessError> {
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
                return Ok(Some(Decision::Duplicate(earlier)));
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
        Ok(None)
    }

    /// A new ticket for `requester`, routed by the first rule that matches.
    fn open(
        &self,
        mail: &InboundMail<'_>,
        requester: Mailbox,
        follow_up_of: Option<Ticket>,
        note: Option<String>,
        refusal: Option<MailRefusal>,
        trace: &mut Trace,
    ) -> Decision {
        let rules = &self.settings.routing;
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
