//! Building the outbox worker from the settings: templates, link key and transport are all
//! checked here, so that a bad one stops the start (or `outbox flush`) instead of failing
//! every notification.

use std::sync::Arc;

use super::compose::Composer;
use super::governor::Governor;
use super::outbox_worker::OutboxWorker;
use super::templates::{TemplateError, Templates};
use super::transport::{Transport, TransportError};
use super::webhook::{WebhookSender, WebhookSetupError};
use crate::clock::Clock;
use crate::cluster::Instance;
use crate::config::Settings;
use crate::signing::{LinkKeyError, LinkSigner};
use crate::store::Store;

/// Why notifications cannot be sent with these settings.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Templates(#[from] TemplateError),
    #[error(transparent)]
    Links(#[from] LinkKeyError),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Webhooks(#[from] WebhookSetupError),
}

impl OutboxWorker {
    /// The notification sender the settings describe, on `store`.
    pub fn from_settings(
        settings: &Settings,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<OutboxWorker, SetupError> {
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
        )
        .with_webhooks(WebhookSender::from_settings(&settings.webhooks)?)
        .with_sms(WebhookSender::from_settings(
            settings.sms_gateway.as_slice(),
        )?))
    }
}
