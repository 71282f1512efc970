//! The daemon: build the store and the intake from the settings, run until a signal.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::intake::Ingestor;
use crate::intake::maildir::{self, Maildir};
use crate::pipeline::Pipeline;
use crate::store::{Store, StoreError};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// A built daemon, ready to run.
#[derive(Debug)]
pub struct App {
    ingestor: Ingestor,
    maildir: Maildir,
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
        let pipeline = Pipeline::new(store, Arc::new(settings), clock);
        Ok(App {
            ingestor: Ingestor::new(pipeline),
            maildir,
            poll,
            retry_budget,
        })
    }

    /// Runs every intake until `shutdown` is cancelled, then closes the store.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) {
        let store = self.ingestor.pipeline().store().clone();
        let watcher = tokio::spawn(maildir::watch(
            self.maildir,
            self.ingestor,
            self.poll,
            self.retry_budget,
            shutdown,
        ));
        if let Err(e) = watcher.await {
            tracing::error!(error = %e, "the Maildir watcher stopped abnormally");
        }
        store.close().await;
        tracing::info!("stopped");
    }
}
