//! The daemon: build the store and the intake from the settings, run until a signal.

mod reload;
mod status;
mod watchers;

pub use reload::{LoadSettings, ReloadError, needing_restart};

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::service_manager::{Heartbeat, ServiceManager};
use reload::Reloadable;
use watchers::MailboxWatchers;

use crate::clock::{Clock, SystemClock};
use crate::cluster::Instance;
use crate::config::Settings;
use crate::http::{HttpServer, Portal};
use crate::intake::Ingestor;
use crate::intake::maildir::{self, Maildir};
use crate::monitoring::MailboxHealth;
use crate::notify::outbox_worker::{OutboxWake, OutboxWorker};
use crate::pipeline::Pipeline;
use crate::service::{HealthService, Services};
use crate::store::{Store, StoreError};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Templates, link key or transport cannot be used.
    #[error(transparent)]
    Notifications(#[from] crate::notify::SetupError),
    #[error(transparent)]
    Links(#[from] crate::signing::LinkKeyError),
    /// The link key is not the one the database's other instances use.
    #[error(transparent)]
    LinkKey(#[from] crate::service::LinkKeyCheckError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The portal cannot listen, or its pages do not compile.
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error(
        "cannot listen on {address} ([http] metrics_listen): {source}; choose a free port, or leave it empty to serve /metrics on [http] listen"
    )]
    MetricsListen {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create the Maildir {path}: {source}")]
    Maildir {
        path: String,
        source: std::io::Error,
    },
}

/// Opens the store named by the settings and applies pending migrations.
pub async fn open_store(settings: &Settings) -> Result<Store, StoreError> {
    Ok(Store::open(settings.database_url.expose())
        .await?
        .with_webhooks(
            crate::config::webhook_subscriptions(&settings.webhooks)
                .with_sms(settings.sms_gateway.is_some()),
        ))
}

/// A built daemon, ready to run.
#[derive(Debug)]
pub struct App {
    ingestor: Ingestor,
    maildir: Maildir,
    /// The settings in effect, which every pipeline follows; a reload sends new ones.
    live: tokio::sync::watch::Sender<Arc<Settings>>,
    store: Store,
    clock: Arc<dyn Clock>,
    outbox: OutboxWorker,
    instance: Instance,
    poll: Duration,
    retry_budget: u32,
    /// The portal, bound; `None` with `[http] listen = ""`.
    http: Option<HttpServer>,
    /// `/metrics` on a listener of its own (`[http] metrics_listen`).
    metrics: Option<HttpServer>,
    /// The readiness checks and the gauges it refreshes.
    health: HealthService,
    /// The mailboxes' conditions, written by their watchers.
    mailbox_health: MailboxHealth,
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
        crate::atomic_file::sweep_temporaries(&settings.data_dir);
        let maildir = Maildir::create(&settings.maildir).map_err(|source| StartError::Maildir {
            path: settings.maildir.display().to_string(),
            source,
        })?;
        let poll = Duration::from_millis(settings.poll_interval_ms);
        let retry_budget = settings.retry_budget;
        let instance = Instance::new(&settings.cluster);
        warn_if_agents_cannot_be_authenticated(&settings);
        if let Some(warning) = settings.unheard_customer_comments() {
            tracing::warn!("{warning}");
        }
        let settings = Arc::new(settings);
        let services = Services::new(store.clone(), settings.clone(), clock.clone());
        services.admin().agree_on_link_key().await?;
        // Installed before anything records.
        crate::monitoring::recorder();
        let mailbox_health = MailboxHealth::default();
        let health = services.health(mailbox_health.clone());
        let metrics = match settings.http.metrics_listen {
            Some(address) => Some(
                HttpServer::bind_metrics(address, settings.http.request_timeout)
                    .await
                    .map_err(|source| StartError::MetricsListen { address, source })?,
            ),
            None => None,
        };
        let http = match settings.http.listen {
            Some(address) => {
                let api = crate::api::Api::new(&services);
                let portal = Portal::new(services.portal()?, &settings)?.with_api(api);
                // A message's files travel in its body: four files at the limit and a
                // margin (a larger file is received to be refused by its size).
                let max_body = usize::try_from(settings.max_attachment_bytes)
                    .unwrap_or(usize::MAX)
                    .saturating_mul(4)
                    .saturating_add(1 << 20);
                Some(
                    HttpServer::bind(address, portal, max_body, health.clone(), metrics.is_some())
                        .await?,
                )
            }
            None => None,
        };
        let outbox = OutboxWorker::from_settings(&settings, store.clone(), clock.clone())?
            .with_instance(instance.clone());
        let (live, following) = tokio::sync::watch::channel(settings.clone());
        let pipeline =
            Pipeline::new(store.clone(), settings.clone(), clock.clone())?.following(following);
        Ok(App {
            ingestor: Ingestor::new(pipeline),
            maildir,
            live,
            store,
            clock,
            outbox,
            instance,
            poll,
            retry_budget,
            http,
            metrics,
            health,
            mailbox_health,
        })
    }

    /// Runs every intake (the Maildir and each IMAP mailbox, each in its own task, so one
    /// failing never stops the others), the outbox, the jobs and the listeners until
    /// `shutdown` is cancelled, then closes the store. Tells systemd when it is ready and
    /// how it is; on SIGHUP reads the configuration again with `load` (ignored without).
    pub async fn run_until_stopped(self, shutdown: CancellationToken, load: Option<LoadSettings>) {
        let manager = ServiceManager::from_env();
        // Before anything else: SIGHUP's default is to end the process.
        let mut hangups =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGHUP: reload by restarting");
                    None
                }
            };
        // Kept for its sender counts, logged at the end.
        let pipeline = self.ingestor.pipeline().clone();
        let mut tasks = tokio::task::JoinSet::new();
        // The mail readers wake the outbox worker after each commit; the other writers
        // are seen at its next look.
        let outbox_wake = OutboxWake::default();
        let watchers = MailboxWatchers::new(
            self.ingestor.clone(),
            self.instance.clone(),
            outbox_wake.clone(),
            self.mailbox_health.clone(),
            shutdown.clone(),
        );
        let mut running = Reloadable::new(
            self.live,
            self.store.clone(),
            self.clock,
            self.instance,
            outbox_wake.clone(),
            watchers,
            shutdown.clone(),
        );
        running.start(self.outbox);
        if let Some(http) = self.http {
            tasks.spawn(http.serve(shutdown.clone()));
        }
        if let Some(metrics) = self.metrics {
            tasks.spawn(metrics.serve(shutdown.clone()));
        }
        tasks.spawn(self.health.run_gauges(shutdown.clone()));
        let heartbeat = Heartbeat::default();
        tasks.spawn(maildir::watch(
            self.maildir,
            self.ingestor,
            self.poll,
            self.retry_budget,
            outbox_wake,
            heartbeat.clone(),
            shutdown.clone(),
        ));
        tasks.spawn(manager.keep_watchdog(heartbeat, shutdown.clone()));
        let status = status::Status::new(self.store.clone(), self.mailbox_health.clone());
        status
            .first_tries(&running.watchers.names(), &shutdown)
            .await;
        manager.ready(&status.describe(&running.watchers.names()).await);
        tracing::info!("ready");
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(status::EVERY) => {
                    manager.status(&status.describe(&running.watchers.names()).await);
                }
                Some(()) = async { hangups.as_mut()?.recv().await } => {
                    manager.reloading();
                    reload_logged(&mut running, load.as_ref());
                    manager.ready(&status.describe(&running.watchers.names()).await);
                }
            }
        }
        manager.stopping();
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "an intake task stopped abnormally");
            }
        }
        running.ended().await;
        let (verified, unverified) = pipeline.authenticator().counts();
        tracing::info!(
            verified,
            unverified,
            "senders checked since start: authenticated and not"
        );
        self.store.close().await;
        tracing::info!("stopped");
    }
}

/// Reloads, logging what changed, what waits for a restart, or why it was refused.
fn reload_logged(running: &mut Reloadable, load: Option<&LoadSettings>) {
    let Some(load) = load else {
        tracing::warn!("SIGHUP: this daemon has no configuration to read again; restart it");
        return;
    };
    tracing::info!("SIGHUP: reading the configuration again");
    match running.reload(load) {
        Ok(done) => {
            for key in &done.need_restart {
                tracing::warn!(
                    key,
                    "changed in the configuration, but only a restart puts it in effect"
                );
            }
            let m = &done.mailboxes;
            tracing::info!(
                started = ?m.started,
                restarted = ?m.restarted,
                stopped = ?m.stopped,
                kept = ?m.kept,
                config = %running.settings().source,
                "configuration reloaded"
            );
        }
        Err(e) => tracing::error!(error = %e, "reload refused: the running configuration stays"),
    }
}

/// Logs once at start when an agent's mail commands can never be authenticated: with no
/// trusted server and no DKIM check, `agents = "require"` takes every agent's mail as a
/// customer's.
fn warn_if_agents_cannot_be_authenticated(settings: &Settings) {
    use crate::config::AgentPolicy;
    let auth = &settings.authentication;
    if auth.can_authenticate() {
        return;
    }
    let requiring = std::iter::once(auth.policy.agents)
        .chain(settings.mailboxes.iter().filter_map(|m| m.agents))
        .any(|p| p == AgentPolicy::Require);
    if requiring {
        tracing::warn!(
            "agents' mail commands cannot be authenticated ([authentication] has no trusted_authserv_ids and verify = false): every agent's mail is taken as a customer's; set trusted_authserv_ids, or agents = \"off\" knowingly"
        );
    }
}
