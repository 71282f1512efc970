//! Reminders: to the requester of a solution that waits for an answer, shortly before the
//! auto-close, and of a question that waits for them; once per wait.

use chrono::{DateTime, Duration, Utc};

use super::{BATCH, JobError, Jobs};
use crate::domain::{Direction, Event, EventContext, NewArticle, Notification, Status, Visibility};
use crate::store::ReminderCommit;

impl Jobs {
    pub(super) async fn resolution_reminders(
        &self,
        as_of: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Vec<String>, JobError> {
        let s = &self.settings;
        let close_after = Duration::days(i64::from(s.auto_close_days));
        let remind_after = close_after - Duration::days(i64::from(s.jobs.resolution_reminder_days));
        // Tickets already due for closing are the auto-close's, not the reminder's.
        self.remind(
            Event::ResolutionReminder,
            as_of,
            as_of - remind_after,
            Some(as_of - close_after),
            dry_run,
        )
        .await
    }

    pub(super) async fn waiting_reminders(
        &self,
        as_of: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Vec<String>, JobError> {
        let after = Duration::days(i64::from(self.settings.jobs.waiting_reminder_days));
        self.remind(Event::WaitingReminder, as_of, as_of - after, None, dry_run)
            .await
    }

    /// Sends `event` (a reminder) to the requester of each ticket that entered the status
    /// it is about between `since_not_before` and `since_before`, once per wait; with
    /// `dry_run`, only says to whom.
    async fn remind(
        &self,
        event: Event,
        as_of: DateTime<Utc>,
        since_before: DateTime<Utc>,
        since_not_before: Option<DateTime<Utc>>,
        dry_run: bool,
    ) -> Result<Vec<String>, JobError> {
        let (kind, status, awaited) = match event {
            Event::ResolutionReminder => (
                "resolution",
                Status::Resolved,
                "the solution waits for an answer",
            ),
            _ => ("waiting", Status::WaitingCustomer, "an answer is awaited"),
        };
        let due = self
            .store
            .due_for_reminder(kind, status, since_before, since_not_before, BATCH)
            .await?;
        let mut lines = Vec::new();
        for d in due {
            let Some(ticket) = self.store.ticket_by_number(&d.number).await? else {
                continue;
            };
            if dry_run {
                lines.push(format!(
                    "{} {} reminder would be queued for {}",
                    ticket.number, kind, ticket.requester
                ));
                continue;
            }
            let note = format!("Reminder sent to {}: {awaited}.", ticket.requester);
            let reminder = ReminderCommit {
                ticket_id: d.ticket_id,
                kind,
                cycle_at: d.cycle_at,
                status,
                article: NewArticle::written(
                    self.settings.sender_address(),
                    Some("ticketgate".into()),
                    Direction::System,
                    Visibility::Internal,
                    &ticket.title,
                    &note,
                ),
                notifications: vec![Notification {
                    event,
                    recipient: ticket.requester.clone(),
                    context: EventContext::default(),
                }],
                at: as_of,
            };
            if self.store.commit_reminder(&reminder).await? {
                tracing::info!(ticket = %ticket.number, requester = %ticket.requester, kind, "reminder queued");
                lines.push(format!(
                    "{} {} reminder queued for {}",
                    ticket.number, kind, ticket.requester
                ));
            }
        }
        Ok(lines)
    }
}
