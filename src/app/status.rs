//! What the daemon tells systemd it is doing (`systemctl status` shows the last line),
//! and when start-up is over: each mailbox has had its first try.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::monitoring::MailboxHealth;
use crate::store::Store;

/// How often the status line is refreshed.
pub const EVERY: Duration = Duration::from_secs(10);

/// How long start-up waits for the mailboxes' first tries: a server that does not answer
/// must not hold the daemon back from serving the others (the unit allows 120 s).
const FIRST_TRIES_WITHIN: Duration = Duration::from_secs(60);

/// Reads what the status line says.
pub struct Status {
    store: Store,
    mailboxes: MailboxHealth,
}

impl Status {
    pub fn new(store: Store, mailboxes: MailboxHealth) -> Self {
        Self { store, mailboxes }
    }

    /// Waits until each of `names` has been connected to or has failed once, for at most
    /// [`FIRST_TRIES_WITHIN`], or until `shutdown`.
    pub async fn first_tries(&self, names: &[String], shutdown: &CancellationToken) {
        let waiting = async {
            while !names.iter().all(|name| self.mailboxes.heard_of(name)) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::select! {
            () = waiting => {}
            () = tokio::time::sleep(FIRST_TRIES_WITHIN) => {
                tracing::warn!("a mailbox has not answered within {} s: ready without it", FIRST_TRIES_WITHIN.as_secs());
            }
            () = shutdown.cancelled() => {}
        }
    }

    /// One line: the mailboxes connected, the notifications waiting.
    pub async fn describe(&self, names: &[String]) -> String {
        let connected = names
            .iter()
            .filter(|name| self.mailboxes.get(name).is_ok())
            .count();
        let mailboxes = match names.len() {
            0 => "no IMAP mailbox".to_string(),
            n => format!("{connected} of {n} IMAP mailboxes connected"),
        };
        let outbox = match self.store.notification_counts().await {
            Ok(counts) => {
                let waiting: i64 = counts
                    .iter()
                    .filter(|(status, _, _)| status == "pending")
                    .map(|(_, _, n)| n)
                    .sum();
                format!("{waiting} notifications waiting")
            }
            Err(e) => format!("outbox unreadable: {e}"),
        };
        format!("{mailboxes}; {outbox}")
    }
}
