//! The IMAP mailboxes the daemon reads, each watched by a task of its own that a reload
//! can stop or start without touching the others: a mailbox whose settings did not change
//! keeps its session.

use std::collections::BTreeMap;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cluster::Instance;
use crate::config::MailboxSettings;
use crate::intake::Ingestor;
use crate::intake::imap;
use crate::monitoring::MailboxHealth;
use crate::notify::outbox_worker::OutboxWake;

/// What one reload did to the mailboxes, by name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MailboxChanges {
    pub started: Vec<String>,
    pub restarted: Vec<String>,
    pub stopped: Vec<String>,
    pub kept: Vec<String>,
}

/// One mailbox's watcher.
#[derive(Debug)]
struct Running {
    settings: MailboxSettings,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// The running watchers, and what a new one is given.
#[derive(Debug)]
pub struct MailboxWatchers {
    running: BTreeMap<String, Running>,
    ingestor: Ingestor,
    instance: Instance,
    outbox: OutboxWake,
    health: MailboxHealth,
    /// The daemon's: a watcher's own token is its child.
    shutdown: CancellationToken,
}

impl MailboxWatchers {
    /// No watcher yet; [`MailboxWatchers::apply`] starts them.
    pub fn new(
        ingestor: Ingestor,
        instance: Instance,
        outbox: OutboxWake,
        health: MailboxHealth,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            running: BTreeMap::new(),
            ingestor,
            instance,
            outbox,
            health,
            shutdown,
        }
    }

    /// The names of the mailboxes watched.
    pub fn names(&self) -> Vec<String> {
        self.running.keys().cloned().collect()
    }

    /// Makes the watched mailboxes those of `wanted`: a new one is started, one no longer
    /// there stopped, one whose settings changed stopped and started again once the old
    /// watcher has let go (of the message in hand and the mailbox's lease), and the others
    /// are left alone.
    pub fn apply(&mut self, wanted: &[MailboxSettings], retry_budget: u32) -> MailboxChanges {
        let mut changes = MailboxChanges::default();
        let wanted_names: Vec<&str> = wanted.iter().map(|m| m.name.as_str()).collect();
        let gone: Vec<String> = self
            .running
            .keys()
            .filter(|name| !wanted_names.contains(&name.as_str()))
            .cloned()
            .collect();
        for name in gone {
            if let Some(old) = self.running.remove(&name) {
                old.stop.cancel();
                self.health.forget(&name);
                changes.stopped.push(name);
            }
        }
        for mailbox in wanted {
            match self.running.remove(&mailbox.name) {
                Some(old) if old.settings == *mailbox => {
                    changes.kept.push(mailbox.name.clone());
                    self.running.insert(mailbox.name.clone(), old);
                }
                Some(old) => {
                    old.stop.cancel();
                    changes.restarted.push(mailbox.name.clone());
                    self.start(mailbox.clone(), retry_budget, Some(old.task));
                }
                None => {
                    changes.started.push(mailbox.name.clone());
                    self.start(mailbox.clone(), retry_budget, None);
                }
            }
        }
        changes
    }

    /// Starts watching `mailbox`, after `predecessor` (the watcher it replaces) ended.
    fn start(
        &mut self,
        mailbox: MailboxSettings,
        retry_budget: u32,
        predecessor: Option<JoinHandle<()>>,
    ) {
        let stop = self.shutdown.child_token();
        let watch = imap::watch(
            mailbox.clone(),
            self.ingestor.clone(),
            retry_budget,
            self.instance.clone(),
            self.outbox.clone(),
            self.health.clone(),
            stop.clone(),
        );
        let task = tokio::spawn(async move {
            if let Some(predecessor) = predecessor {
                let _ = predecessor.await;
            }
            watch.await;
        });
        self.running.insert(
            mailbox.name.clone(),
            Running {
                settings: mailbox,
                stop,
                task,
            },
        );
    }

    /// Waits until every watcher has ended (after shutdown).
    pub async fn ended(self) {
        for (name, running) in self.running {
            if let Err(e) = running.task.await {
                tracing::error!(mailbox = %name, error = %e, "a mailbox watcher stopped abnormally");
            }
        }
    }
}
