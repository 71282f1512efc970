//! SIGHUP: the configuration read again and put in effect without a restart.
//!
//! What a reload changes: the templates and the notification limits (the outbox worker is
//! built again), the routing rules, agents, addresses and ticket defaults (the pipeline
//! decides each message on the settings current when it starts), the jobs' schedules (the
//! scheduler is started again), and the mailboxes (added, removed, or restarted when their
//! settings changed; the others keep their session). What only a restart changes (the
//! database, the data directory, the listeners, the portal's links, the storage, the
//! instance, the logs, sender authentication) stays as it was, and the log names each
//! such key that differs. A configuration that does not load, or whose templates or
//! transport cannot be built, is refused whole: the running one stays.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::watchers::{MailboxChanges, MailboxWatchers};
use crate::clock::Clock;
use crate::cluster::Instance;
use crate::config::{ConfigError, Settings};
use crate::notify::outbox_worker::{OutboxWake, OutboxWorker};
use crate::service::Jobs;
use crate::store::Store;

/// Reads the configuration again, from the file and environment the daemon started with.
pub type LoadSettings = Box<dyn Fn() -> Result<Settings, ConfigError> + Send + Sync>;

/// Why a reload was refused (the running configuration stays).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("the new configuration is not valid: {0}")]
    Config(#[from] ConfigError),
    #[error("the new configuration's notifications cannot be set up: {0}")]
    Notifications(#[from] crate::notify::SetupError),
}

/// What a reload did.
#[derive(Debug)]
pub struct Reloaded {
    /// Keys that differ but wait for a restart.
    pub need_restart: Vec<&'static str>,
    pub mailboxes: MailboxChanges,
}

/// A task that a reload stops and starts again.
#[derive(Debug)]
struct Replaceable {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// The running parts of the daemon that a reload replaces, and what it builds them from.
pub struct Reloadable {
    /// The settings in effect, followed by every pipeline: each message is decided on
    /// the current ones.
    live: watch::Sender<Arc<Settings>>,
    store: Store,
    clock: Arc<dyn Clock>,
    instance: Instance,
    outbox_wake: OutboxWake,
    shutdown: CancellationToken,
    outbox: Option<Replaceable>,
    jobs: Option<Replaceable>,
    /// Replaced ones still finishing their notification or job in hand.
    retiring: Vec<JoinHandle<()>>,
    pub watchers: MailboxWatchers,
}

impl Reloadable {
    /// Nothing started yet: [`Reloadable::start`] starts the outbox, the jobs and the
    /// mailboxes.
    pub fn new(
        live: watch::Sender<Arc<Settings>>,
        store: Store,
        clock: Arc<dyn Clock>,
        instance: Instance,
        outbox_wake: OutboxWake,
        watchers: MailboxWatchers,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            live,
            store,
            clock,
            instance,
            outbox_wake,
            shutdown,
            outbox: None,
            jobs: None,
            retiring: Vec::new(),
            watchers,
        }
    }

    /// The settings in effect.
    pub fn settings(&self) -> Arc<Settings> {
        self.live.borrow().clone()
    }

    /// Starts `outbox`, the jobs and the mailboxes on the settings in effect.
    pub fn start(&mut self, outbox: OutboxWorker) {
        self.start_outbox(outbox);
        self.start_jobs();
        let settings = self.settings();
        self.watchers
            .apply(&settings.mailboxes, settings.retry_budget);
    }

    /// Reads the configuration with `load` and puts it in effect, or refuses it whole.
    pub fn reload(&mut self, load: &LoadSettings) -> Result<Reloaded, ReloadError> {
        let loaded = load()?;
        let old = self.settings();
        let need_restart = needing_restart(&old, &loaded);
        let new = Arc::new(keeping_restart_only(&old, loaded));
        // Built before anything is replaced: templates that do not compile, or a transport
        // that cannot be set up, leave everything as it was.
        let outbox = OutboxWorker::from_settings(&new, self.store.clone(), self.clock.clone())?
            .with_instance(self.instance.clone());
        self.live.send_replace(new.clone());
        self.start_outbox(outbox);
        self.start_jobs();
        let mailboxes = self.watchers.apply(&new.mailboxes, new.retry_budget);
        Ok(Reloaded {
            need_restart,
            mailboxes,
        })
    }

    /// Starts `worker`, stopping the one it replaces (which finishes the row in hand).
    fn start_outbox(&mut self, worker: OutboxWorker) {
        let stop = self.shutdown.child_token();
        let task = tokio::spawn(worker.run(
            std::time::Duration::from_millis(250),
            self.outbox_wake.clone(),
            stop.clone(),
        ));
        self.replace(|me| &mut me.outbox, Replaceable { stop, task });
    }

    /// Starts the scheduler on the settings in effect, stopping the one it replaces.
    fn start_jobs(&mut self) {
        let stop = self.shutdown.child_token();
        let jobs = Jobs::new(self.store.clone(), self.settings(), self.clock.clone());
        let instance = self.instance.name().to_string();
        let stopping = stop.clone();
        let task =
            tokio::spawn(async move { crate::scheduler::run(jobs, &instance, stopping).await });
        self.replace(|me| &mut me.jobs, Replaceable { stop, task });
    }

    fn replace(&mut self, slot: fn(&mut Self) -> &mut Option<Replaceable>, new: Replaceable) {
        if let Some(old) = slot(self).replace(new) {
            old.stop.cancel();
            self.retiring.push(old.task);
        }
        self.retiring.retain(|task| !task.is_finished());
    }

    /// Waits until everything it started has ended (after shutdown).
    pub async fn ended(self) {
        let tasks = self
            .retiring
            .into_iter()
            .chain(self.outbox.map(|r| r.task))
            .chain(self.jobs.map(|r| r.task));
        for task in tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a task stopped abnormally");
            }
        }
        self.watchers.ended().await;
    }
}

/// The keys only a restart changes whose values differ between `old` and `new`.
pub fn needing_restart(old: &Settings, new: &Settings) -> Vec<&'static str> {
    let differs = [
        ("database.url", old.database_url != new.database_url),
        ("data_dir", old.data_dir != new.data_dir),
        ("intake.maildir", old.maildir != new.maildir),
        (
            "intake.poll_interval_ms",
            old.poll_interval_ms != new.poll_interval_ms,
        ),
        ("[http]", old.http != new.http),
        ("[portal]", old.portal != new.portal),
        ("[storage]", old.storage != new.storage),
        ("[cluster]", old.cluster != new.cluster),
        ("[authentication]", old.authentication != new.authentication),
        ("[log]", old.log != new.log),
    ];
    differs
        .into_iter()
        .filter_map(|(key, differs)| differs.then_some(key))
        .collect()
}

/// `new`, with what only a restart changes kept as in `old`: the daemon runs on one
/// consistent configuration until it is restarted.
pub fn keeping_restart_only(old: &Settings, new: Settings) -> Settings {
    Settings {
        source: old.source.clone(),
        database_url: old.database_url.clone(),
        data_dir: old.data_dir.clone(),
        maildir: old.maildir.clone(),
        poll_interval_ms: old.poll_interval_ms,
        http: old.http.clone(),
        portal: old.portal.clone(),
        storage: old.storage,
        cluster: old.cluster.clone(),
        authentication: old.authentication.clone(),
        log: old.log.clone(),
        ..new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigSource;

    fn settings(toml: &str) -> Settings {
        Settings::from_toml(toml, ConfigSource::Embedded, Vec::new()).unwrap()
    }

    #[test]
    fn what_only_a_restart_changes_is_named_and_kept_and_the_rest_taken() {
        let old = settings("data_dir = \"/srv/a\"\n");
        let new = settings(
            "data_dir = \"/srv/b\"\n[http]\nlisten = \"127.0.0.1:9999\"\n\
             [[routing]]\nname = \"printers\"\nsubject = \"printer\"\ncategory = \"hardware\"\n",
        );
        // The database and the Maildir lie in data_dir by default: they move with it.
        assert_eq!(
            needing_restart(&old, &new),
            ["database.url", "data_dir", "intake.maildir", "[http]"]
        );
        let kept = keeping_restart_only(&old, new);
        assert_eq!(kept.data_dir, old.data_dir);
        assert_eq!(kept.http, old.http);
        assert_eq!(kept.routing.len(), 1);
        assert!(needing_restart(&old, &kept).is_empty());
    }
}
