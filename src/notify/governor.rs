//! The loop governor: the last word on every notification before it is written. It skips
//! what the recipient's preferences exclude, holds back mail to an address that bounced,
//! and holds back whatever would go over the per-recipient or per-ticket limits, so that
//! two robots answering each other cannot make ticketgate send without end.
//!
//! What it sets aside stays in the outbox as `skipped` or `held` with its reason, for
//! `ticketgate outbox list` to show and `ticketgate outbox retry` to release.

use chrono::{DateTime, Utc};

use super::counted::{Counting, RecordedCounts};
use crate::config::{LoopLimits, RateLimit};
use crate::domain::Ticket;
use crate::domain::{EmailAddress, Event};
use crate::store::{Contact, OutboxJob, Store, StoreError};

/// What to do with one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Not wanted by its recipient.
    Skip(String),
    /// Not safe to send now.
    Hold(String),
}

/// Applies preferences, bounces and limits.
#[derive(Debug, Clone)]
pub struct Governor {
    limits: LoopLimits,
    /// Our agents and the agents' address: a busy team gets more than a customer's limit
    /// of customer comments, and they are no robot to loop with (only the per-ticket
    /// limits apply to them).
    team: Vec<EmailAddress>,
}

impl Governor {
    /// A governor with `limits`, exempting the team's addresses from the per-recipient
    /// ones.
    pub fn new(limits: LoopLimits, team: Vec<EmailAddress>) -> Self {
        Self { limits, team }
    }

    /// The governor the settings describe.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        let team = settings
            .agents
            .iter()
            .map(|a| a.email.clone())
            .chain(settings.agents_address.clone())
            .collect();
        Self::new(settings.loop_limits.clone(), team)
    }

    /// What the limits of a group of mails to `recipients`, about `tickets`, count as
    /// recorded at `now`: two reads for the whole group (none for the team's addresses,
    /// which the per-recipient limits spare).
    pub async fn read_counts(
        &self,
        store: &Store,
        recipients: &[&EmailAddress],
        tickets: &[i64],
        now: DateTime<Utc>,
    ) -> Result<RecordedCounts, StoreError> {
        let mut keys: Vec<String> = recipients
            .iter()
            .filter(|r| !self.team.iter().any(|t| t.same_mailbox(r)))
            .map(|r| r.key())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut tickets = tickets.to_vec();
        tickets.sort_unstable();
        tickets.dedup();
        let to_windows = sinces(now, &self.limits.per_recipient);
        let about_windows = sinces(now, &self.limits.per_ticket);
        Ok(RecordedCounts {
            to: store
                .sent_to_recipients_since_each(&keys, &to_windows)
                .await?,
            about: store
                .sent_for_tickets_since_each(&tickets, &about_windows)
                .await?,
        })
    }

    /// The verdict on `job`, about `ticket`, for the recipient described by `contact`.
    /// The limits count what the store records as sent and the group's sends it does not
    /// record yet (`counting`).
    pub async fn judge(
        &self,
        store: &Store,
        job: &OutboxJob,
        ticket: &Ticket,
        contact: &Contact,
        now: DateTime<Utc>,
        counting: Counting<'_>,
    ) -> Result<Verdict, StoreError> {
        let recipient = &job.recipient;
        let as_observer = !ticket.requester.same_mailbox(recipient)
            && ticket.observers.iter().any(|o| o.same_mailbox(recipient));
        if !contact.wants(job.event.category(), as_observer) {
            return Ok(Verdict::Skip(format!(
                "{recipient}'s preferences exclude {} mails{}",
                job.event,
                if as_observer { " as an observer" } else { "" }
            )));
        }
        if let Some(verdict) = self
            .for_recipient(store, recipient, contact, now, counting)
            .await?
        {
            return Ok(verdict);
        }
        let windows = sinces(now, &self.limits.per_ticket);
        let counts = counting.about(store, ticket.id, &windows).await?;
        for (limit, sent) in self.limits.per_ticket.iter().zip(counts) {
            if sent >= limit.max {
                return Ok(Verdict::Hold(format!(
                    "ticket limit {limit} reached: {sent} sent about {}",
                    ticket.number
                )));
            }
        }
        Ok(Verdict::Send)
    }
}

impl Governor {
    /// The verdict on a mail about no ticket (`my_tickets`, `weekly_digest`) to
    /// `recipient`: held while the address bounces or over the per-recipient limits, as
    /// any other; an answer to a request is also skipped past [`MY_TICKETS_PER_HOUR`] of
    /// its kind in the last hour, so that nobody floods an address by asking for its
    /// tickets with its name. The limits count as [`Governor::judge`]'s do.
    pub async fn judge_personal(
        &self,
        store: &Store,
        event: Event,
        recipient: &EmailAddress,
        contact: &Contact,
        now: DateTime<Utc>,
        counting: Counting<'_>,
    ) -> Result<Verdict, StoreError> {
        if let Some(verdict) = self
            .for_recipient(store, recipient, contact, now, counting)
            .await?
        {
            return Ok(verdict);
        }
        // The weekly digest is sent once a week by the job, not on anyone's asking.
        if event != Event::MyTickets {
            return Ok(Verdict::Send);
        }
        let asked = store
            .sent_of_event_since(
                recipient,
                Event::MyTickets,
                now - chrono::Duration::hours(1),
            )
            .await?;
        if asked >= MY_TICKETS_PER_HOUR {
            return Ok(Verdict::Skip(format!(
                "{asked} lists of tickets sent to {recipient} in the last hour (at most {MY_TICKETS_PER_HOUR})"
            )));
        }
        Ok(Verdict::Send)
    }

    /// A hold for `recipient` whatever the mail: their address bounces, or a per-recipient
    /// limit is reached (not for the team's addresses).
    async fn for_recipient(
        &self,
        store: &Store,
        recipient: &EmailAddress,
        contact: &Contact,
        now: DateTime<Utc>,
        counting: Counting<'_>,
    ) -> Result<Option<Verdict>, StoreError> {
        if let Some(until) = contact.undeliverable_until
            && until > now
        {
            return Ok(Some(Verdict::Hold(format!(
                "{recipient} is undeliverable until {} ({})",
                until.format("%Y-%m-%d %H:%M UTC"),
                contact
                    .undeliverable_reason
                    .as_deref()
                    .unwrap_or("a delivery report")
            ))));
        }
        if self.team.iter().any(|t| t.same_mailbox(recipient)) {
            return Ok(None);
        }
        let windows = sinces(now, &self.limits.per_recipient);
        let counts = counting.to(store, recipient, &windows).await?;
        for (limit, sent) in self.limits.per_recipient.iter().zip(counts) {
            if sent >= limit.max {
                return Ok(Some(Verdict::Hold(format!(
                    "recipient limit {limit} reached: {sent} sent to {recipient}"
                ))));
            }
        }
        Ok(None)
    }
}

/// How many lists of their tickets an address is sent in an hour, at most.
pub const MY_TICKETS_PER_HOUR: u32 = 3;

/// When the window of each of `limits` began.
fn sinces(now: DateTime<Utc>, limits: &[RateLimit]) -> Vec<DateTime<Utc>> {
    limits
        .iter()
        .map(|limit| {
            now - chrono::Duration::from_std(limit.window).unwrap_or(chrono::Duration::days(365))
        })
        .collect()
}
