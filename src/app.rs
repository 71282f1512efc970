//! The daemon: build the store and the intake from the settings, run until a signal.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::cluster::Instance;
use crate::config::{MailboxSettings, Settings};
use crate::intake::Ingestor;
use crate::intake::imap;
use crate::intake::maildir::{self, Maildir};
use crate::jobs::Jobs;
use crate::notify::compose::Composer;
use crate::notify::governor::Governor;
use crate::notify::links::LinkSigner;
use crate::notify::outbox_worker::{OutboxWake, OutboxWorker};
use crate::notify::templates::Templates;
use crate::notify::transport::Transport;
use crate::pipeline::Pipeline;
use crate::store::{Store, StoreError};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Templates(#[from] crate::notify::templates::TemplateError),
    #[error(transparent)]
    Links(#[from] crate::notify::links::LinkKeyError),
    #[error(transparent)]
    Transport(#[from] crate::notify::transport::TransportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "this instance's link key (fingerprint {ours}) differs from the one {recorded_by} recorded for this database ({theirs}): links and replies signed by one instance would be refused by the others; give every instance the same [portal] link_secret, or the same data_dir/link-secret file (after changing the key on purpose, stop every instance and run `ticketgate migrate --accept-link-key`)"
    )]
    LinkKeyMismatch {
        ours: String,
        theirs: String,
        recorded_by: String,
    },
    #[error("cannot create the Maildir {path}: {source}")]
    Maildir {
        path: String,
        source: std::io::Error,
    },
}

/// Opens the store named by the settings and applies pending migrations.
pub async fn open_store(settings: &Settings) -> Result<Store, StoreError> {
    let store = Store::connect(settings.database_url.expose()).await?;
    store.migrate().await?;
    Ok(store)
}

/// The notification sender the settings describe: templates, link key and transport are
/// all checked here, so a bad one stops the start instead of every notification.
pub fn outbox_worker(
    settings: &Settings,
    store: Store,
    clock: Arc<dyn Clock>,
) -> Result<OutboxWorker, StartError> {
    let templates = Templates::load(settings.template_dir.as_deref())?;
    let composer = Composer::new(settings, templates, LinkSigner::from_settings(settings)?);
    let transport = Transport::from_settings(settings)?;
    Ok(OutboxWorker::new(
        store,
        composer,
        Governor::from_settings(settings),
        transport,
        clock,
        settings.notification_retry_first,
        Instance::new(&settings.cluster),
    ))
}

/// The shared fact naming the link key's fingerprint.
const LINK_KEY_FACT: &str = "link_key_fingerprint";

/// Checks that this instance signs links and thread tokens with the key every other
/// instance on the database uses (the first to start records its key's fingerprint).
async fn agree_on_link_key(
    store: &Store,
    settings: &Settings,
    instance: &Instance,
) -> Result<(), StartError> {
    let ours = LinkSigner::from_settings(settings)?.key_fingerprint();
    let (theirs, recorded_by) = store
        .agree_on(
            "link_key_fingerprint",
            &ours,
            instance.name(),
            chrono::Utc::now(),
        )
        .await?;
    if theirs != ours {
        return Err(StartError::LinkKeyMismatch {
            ours,
            theirs,
            recorded_by,
        });
    }
    Ok(())
}

/// Records this configuration's link key as the one every instance must use, replacing
/// the recorded one: for an operator who changed the key on purpose.
pub async fn accept_link_key(store: &Store, settings: &Settings) -> Result<(), StartError> {
    let ours = LinkSigner::from_settings(settings)?.key_fingerprint();
    let instance = Instance::new(&settings.cluster);
    store
        .replace_fact(LINK_KEY_FACT, &ours, instance.name(), chrono::Utc::now())
        .await?;
    Ok(())
}

/// A built daemon, ready to run.
#[derive(Debug)]
pub struct App {
    ingestor: Ingestor,
    maildir: Maildir,
    mailboxes: Vec<MailboxSettings>,
    outbox: OutboxWorker,
    jobs: Jobs,
    instance: Instance,
    poll: Duration,
    retry_budget: u32,
}

impl App {
    /// Connects, migrates and prepares the Maildir, so that configuration and
    /// connectivity errors surface before anything runs.
    pub async fn build(settings: Settings) -> Result<App, StartError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// [`App::build`] with a given clock.
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<App, StartError> {
        let store = open_store(&settings).await?;
        let maildir = Maildir::create(&settings.maildir).map_err(|source| StartError::Maildir {
            path: settings.maildir.display().to_string(),
            source,
        })?;
        let poll = Duration::from_millis(settings.poll_interval_ms);
        let retry_budget = settings.retry_budget;
        let mailboxes = settings.mailboxes.clone();
        let instance = Instance::new(&settings.cluster);
        agree_on_link_key(&store, &settings, &instance).await?;
        let outbox = outbox_worker(&settings, store.clone(), clock.clone())?;
        let settings = Arc::new(settings);
        let jobs = Jobs::new(store.clone(), settings.clone(), clock.clone());
        let pipeline = Pipeline::new(store, settings, clock)?;
        Ok(App {
            ingestor: Ingestor::new(pipeline),
            maildir,
            mailboxes,
            outbox,
            jobs,
            instance,
            poll,
            retry_budget,
        })
    }

    /// Runs every intake (the Maildir and each IMAP mailbox, each in its own task, so one
    /// failing never stops the others) until `shutdown` is cancelled, then closes the store.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) {
        let store = self.ingestor.pipeline().store().clone();
        let mut tasks = tokio::task::JoinSet::new();
        let shutdown_jobs = shutdown.clone();
        // The mail readers wake the outbox worker after each commit; the other writers
        // are seen at its next look.
        let outbox_wake = OutboxWake::default();
        for mailbox in self.mailboxes {
            tasks.spawn(imap::watch(
                mailbox,
                self.ingestor.clone(),
                self.retry_budget,
                self.instance.clone(),
                outbox_wake.clone(),
                shutdown.clone(),
            ));
        }
        tasks.spawn(self.outbox.run(
            Duration::from_millis(250),
            outbox_wake.clone(),
            shutdown.clone(),
        ));
        let instance = self.instance.name().to_string();
        tasks.spawn(async move {
            crate::jobs::scheduler::run(self.jobs, &instance, shutdown_jobs).await
        });
        tasks.spawn(maildir::watch(
            self.maildir,
            self.ingestor,
            self.poll,
            self.retry_budget,
            outbox_wake,
            shutdown,
        ));
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "an intake task stopped abnormally");
            }
        }
        store.close().await;
        tracing::info!("stopped");
    }
}
