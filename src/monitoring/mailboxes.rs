//! The condition of each IMAP mailbox in this process, as its watcher last saw it. The
//! database holds what `ticketgate mailboxes` shows across instances; whether this
//! process has a session now is known only here, and `/readyz` asks it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Where one mailbox's watcher stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxCondition {
    /// Started, no session yet.
    Connecting,
    /// A session is open.
    Connected,
    /// Another instance holds its lease and reads it.
    Standby,
    /// The last try failed with this error; it is retried with backoff.
    Failing(String),
    /// Its configuration cannot work with the server: not watched until a restart.
    Abandoned(String),
}

impl MailboxCondition {
    /// Whether the mailbox is being read as it should (here, or by another instance).
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Connected | Self::Standby)
    }

    /// One word for it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Standby => "standby",
            Self::Failing(_) => "failing",
            Self::Abandoned(_) => "abandoned",
        }
    }

    /// The error it stands on, if any.
    pub fn error(&self) -> Option<&str> {
        match self {
            Self::Failing(e) | Self::Abandoned(e) => Some(e),
            _ => None,
        }
    }
}

/// The mailboxes' conditions, shared by their watchers (which write) and the health checks
/// (which read). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct MailboxHealth {
    conditions: Arc<Mutex<BTreeMap<String, MailboxCondition>>>,
}

impl MailboxHealth {
    /// Records that `mailbox` is now in `condition`.
    pub fn set(&self, mailbox: &str, condition: MailboxCondition) {
        metrics::gauge!(super::IMAP_CONNECTED, "mailbox" => mailbox.to_string()).set(
            if condition == MailboxCondition::Connected {
                1.0
            } else {
                0.0
            },
        );
        self.lock().insert(mailbox.to_string(), condition);
    }

    /// Forgets `mailbox`, no longer watched after a reload.
    pub fn forget(&self, mailbox: &str) {
        metrics::gauge!(super::IMAP_CONNECTED, "mailbox" => mailbox.to_string()).set(0.0);
        self.lock().remove(mailbox);
    }

    /// Whether `mailbox`'s watcher has said anything yet: its first try is over.
    pub fn heard_of(&self, mailbox: &str) -> bool {
        self.lock()
            .get(mailbox)
            .is_some_and(|c| *c != MailboxCondition::Connecting)
    }

    /// The condition of `mailbox`; `Connecting` when its watcher has said nothing yet.
    pub fn get(&self, mailbox: &str) -> MailboxCondition {
        self.lock()
            .get(mailbox)
            .cloned()
            .unwrap_or(MailboxCondition::Connecting)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, MailboxCondition>> {
        // A writer that panicked left a whole map: its content is still right.
        self.conditions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailbox_not_heard_of_is_connecting_and_not_ok() {
        let health = MailboxHealth::default();
        assert_eq!(health.get("support"), MailboxCondition::Connecting);
        assert!(!health.get("support").is_ok());
        health.set("support", MailboxCondition::Failing("refused".into()));
        assert_eq!(health.get("support").error(), Some("refused"));
        health.clone().set("support", MailboxCondition::Connected);
        assert!(health.get("support").is_ok());
    }
}
