//! The other reads a large database answers regularly, each timed once in process with the
//! statements it ran: the two pages `tickets list` shows, what the reminder and purge jobs
//! look for, and the outbox worker's claim (run at every poll of the daemon).

use chrono::{DateTime, Duration, Utc};
use ticketgate::domain::Status;
use ticketgate::store::Store;

use crate::statements::{self, Totals};

/// Runs each read as of `now`, prints its time, and returns every statement they ran.
pub async fn run(store: &Store, now: DateTime<Utc>) -> Vec<Totals> {
    let mut all = Vec::new();
    let days = Duration::days;
    macro_rules! timed {
        ($label:expr, $call:expr) => {{
            let started = std::time::Instant::now();
            let (found, totals) = statements::record($call).await;
            let rows = found.expect($label);
            println!(
                "  {:<58} {:>8.2} ms, {} row(s)",
                $label,
                started.elapsed().as_secs_f64() * 1e3,
                rows
            );
            all.extend(totals);
        }};
    }
    timed!("tickets list --status resolved (page of 100)", async {
        store
            .list_tickets_page(Some(Status::Resolved), Some(100))
            .await
            .map(|(t, _)| t.len())
    });
    timed!("tickets list (page of 100)", async {
        store
            .list_tickets_page(None, Some(100))
            .await
            .map(|(t, _)| t.len())
    });
    timed!("resolution reminders due (the job's query)", async {
        store
            .due_for_reminder(
                "resolution",
                Status::Resolved,
                now - days(5),
                Some(now - days(7)),
                10_000,
            )
            .await
            .map(|d| d.len())
    });
    timed!("waiting reminders due (the job's query)", async {
        store
            .due_for_reminder(
                "waiting",
                Status::WaitingCustomer,
                now - days(3),
                None,
                10_000,
            )
            .await
            .map(|d| d.len())
    });
    timed!(
        "purge: 100 raw mails older than 365 days (job: 10,000)",
        async {
            store
                .raw_mail_before(now - days(365), 100)
                .await
                .map(|r| r.len())
        }
    );
    timed!("outbox worker: claim the next notification due", async {
        store
            .claim_notification(now, Duration::minutes(5), "bench")
            .await
            .map(|j| usize::from(j.is_some()))
    });
    all
}
