//! Whether the daemon can do its work (`/readyz`), and the gauges read from the database
//! for `/metrics` (tickets and notifications by status), refreshed by a background task
//! rather than counted on every scrape.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Settings;
use crate::monitoring::{self, MailboxHealth};
use crate::store::{Store, StoreError};

/// One check of `/readyz`.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub ok: bool,
    /// What was found, or what is wrong.
    pub detail: String,
}

/// One mailbox's check.
#[derive(Debug, Clone, Serialize)]
pub struct MailboxCheck {
    pub name: String,
    pub ok: bool,
    /// `connected`, `standby` (another instance reads it), `connecting`, `failing`,
    /// `abandoned`.
    pub state: &'static str,
    /// The last error, while it is not connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every check, and whether they all passed.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub database: Check,
    pub mailboxes: Vec<MailboxCheck>,
    pub outbox: Check,
}

/// One series of the database gauges: the gauge, its `status` and, for the outbox, its
/// `channel`.
type Series = (&'static str, String, Option<String>);

/// The health checks and the database gauges.
#[derive(Debug, Clone)]
pub struct HealthService {
    store: Store,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
    mailboxes: MailboxHealth,
    /// The (gauge, status, channel) series set so far: one whose rows are all gone is set
    /// to 0 rather than left at its last count. Tickets have no channel.
    seen: Arc<Mutex<BTreeSet<Series>>>,
}

impl HealthService {
    pub fn new(
        store: Store,
        settings: Arc<Settings>,
        clock: Arc<dyn Clock>,
        mailboxes: MailboxHealth,
    ) -> Self {
        Self {
            store,
            settings,
            clock,
            mailboxes,
            seen: Arc::default(),
        }
    }

    /// Checks the database, each configured mailbox and the outbox.
    pub async fn readiness(&self) -> Readiness {
        let database = match self.store.ping().await {
            Ok(()) => Check {
                ok: true,
                detail: "answers".into(),
            },
            Err(e) => failed(&e),
        };
        let mailboxes: Vec<MailboxCheck> = self
            .settings
            .mailboxes
            .iter()
            .map(|m| {
                let condition = self.mailboxes.get(&m.name);
                MailboxCheck {
                    name: m.name.clone(),
                    ok: condition.is_ok(),
                    state: condition.name(),
                    error: condition.error().map(str::to_string),
                }
            })
            .collect();
        let outbox = if database.ok {
            self.outbox_check().await
        } else {
            Check {
                ok: false,
                detail: "not checked: the database does not answer".into(),
            }
        };
        Readiness {
            ready: database.ok && outbox.ok && mailboxes.iter().all(|m| m.ok),
            database,
            mailboxes,
            outbox,
        }
    }

    /// Whether the notification due longest has waited less than `[http]
    /// ready_outbox_max_age_secs`.
    async fn outbox_check(&self) -> Check {
        let now = self.clock.now();
        let limit = self.settings.http.ready_outbox_max_age;
        match self.store.oldest_due_notification(now).await {
            Ok(None) => Check {
                ok: true,
                detail: "nothing overdue".into(),
            },
            Ok(Some(due)) => {
                let waited = (now - due).num_seconds().max(0);
                let ok = u64::try_from(waited).unwrap_or(0) < limit.as_secs();
                Check {
                    ok,
                    detail: format!(
                        "the oldest due notification has waited {waited} s (limit {} s)",
                        limit.as_secs()
                    ),
                }
            }
            Err(e) => failed(&e),
        }
    }

    /// Sets the gauges of tickets and notifications by status from the database.
    pub async fn refresh_gauges(&self) -> Result<(), StoreError> {
        let tickets = self.store.ticket_counts().await?;
        let notifications = self.store.notification_counts().await?;
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut now_seen = BTreeSet::new();
        let series = tickets
            .into_iter()
            .map(|(status, n)| ((monitoring::TICKETS, status, None), n))
            .chain(notifications.into_iter().map(|(status, channel, n)| {
                ((monitoring::OUTBOX_DEPTH, status, Some(channel)), n)
            }));
        for (key, n) in series {
            set_gauge(&key, n as f64);
            now_seen.insert(key);
        }
        for key in seen.difference(&now_seen) {
            set_gauge(key, 0.0);
        }
        seen.extend(now_seen);
        Ok(())
    }

    /// Refreshes the gauges every [`monitoring::GAUGE_REFRESH`] until `shutdown`.
    pub async fn run_gauges(self, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.refresh_gauges().await {
                tracing::warn!(error = %e, "cannot refresh the ticket and outbox gauges");
            }
            tokio::select! {
                () = tokio::time::sleep(monitoring::GAUGE_REFRESH) => {}
                () = shutdown.cancelled() => break,
            }
        }
    }
}

fn set_gauge((gauge, status, channel): &Series, value: f64) {
    match channel {
        Some(channel) => {
            metrics::gauge!(*gauge, "status" => status.clone(), "channel" => channel.clone())
                .set(value)
        }
        None => metrics::gauge!(*gauge, "status" => status.clone()).set(value),
    }
}

fn failed(e: &StoreError) -> Check {
    Check {
        ok: false,
        detail: e.to_string(),
    }
}
