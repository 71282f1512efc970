//! Every operation a person can ask for, typed in and out: agents' actions on tickets,
//! contacts and their preferences, the outbox and the quarantine, the periodic jobs,
//! the mailbox leases, the notification templates, and the link key instances share.
//!
//! Front ends (the CLI, the HTTP side) decode a request, call one operation here and
//! render its answer; they never reach the store or read the clock themselves. Each
//! service has its own error enum whose messages say what to do.

mod admin;
mod backup;
mod connections;
mod contacts;
mod health;
mod jobs;
mod leases;
mod mail;
mod mailboxes;
mod outbox;
mod portal;
mod quarantine;
mod templates;
mod tickets;
mod tokens;

use std::sync::Arc;

pub use crate::store::{BackupError, CopyFacts, Restored};
pub use crate::store::{DatabaseState, OpenMode};
pub use admin::{AdminService, LinkKeyCheckError, LinkKeyMismatch};
pub use backup::{BackupReport, BackupService, BackupServiceError, DataDirAdvice};
pub use connections::{ConnectionCheck, ConnectionService};
pub use contacts::{
    ContactChanges, ContactError, ContactService, ContactView, LanguageChoice, sms_in_channels,
};
pub use health::{Check, HealthService, MailboxCheck, Readiness};
pub use jobs::{JobError, JobKind, JobReport, JobStatus, Jobs};
pub use leases::{LeaseError, LeaseService, LeaseState, LeaseView};
pub use mail::{MailError, MailService};
pub use mailboxes::{MailboxError, MailboxService, MailboxStatus};
pub use outbox::{Flushed, OutboxError, OutboxService, OutboxStatus};
pub use portal::{
    PortalArticle, PortalError, PortalFile, PortalService, PortalSession, PortalTicket,
};
pub use quarantine::{QuarantineRetry, QuarantineService, QuarantineServiceError};
pub use templates::{TemplateCheck, TemplateProblem, TemplateService};
pub use tickets::{
    Acting, CommentInput, Done, Edited, FieldEdits, OpeningInput, RefusedFile, TicketError,
    TicketPage, TicketService, Upload,
};
pub use tokens::{ApiToken, Scope, TokenError, TokenService};

use crate::clock::Clock;
use crate::config::Settings;
use crate::store::{Store, StoreError};

/// What every service works on: the store, the settings and the clock. Built once per
/// process (a command, the daemon) and cheap to clone.
#[derive(Debug, Clone)]
pub struct Services {
    store: Store,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
}

impl Services {
    /// Services on `store`.
    pub fn new(store: Store, settings: Arc<Settings>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            settings,
            clock,
        }
    }

    /// Opens the database the settings name, creating it when missing, and brings it up
    /// to date first: for the daemon and the commands that bring mail or set it up.
    pub async fn open(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        Self::open_with_mode(settings, clock, OpenMode::Create).await
    }

    /// [`Services::open`]; with [`OpenMode::Existing`] a missing database is an error
    /// that names it, rather than an empty one created where a path was mistyped.
    pub async fn open_with_mode(
        settings: Settings,
        clock: Arc<dyn Clock>,
        mode: OpenMode,
    ) -> Result<Self, StoreError> {
        let store = Store::open_with_mode(settings.database_url.expose(), mode)
            .await?
            .with_webhooks(
                crate::config::webhook_subscriptions(&settings.webhooks)
                    .with_sms(settings.sms_gateway.is_some()),
            );
        Ok(Self::new(store, Arc::new(settings), clock))
    }

    /// Whether the database the settings name answers, and how far it is migrated; nothing
    /// is created or changed (`check-config`).
    pub async fn probe_database(settings: &Settings) -> Result<DatabaseState, StoreError> {
        Store::probe(settings.database_url.expose()).await
    }

    /// The settings they run on.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Agents' and customers' operations on tickets, and reading tickets back.
    pub fn tickets(&self) -> TicketService {
        TicketService::new(
            self.store.clone(),
            self.settings.clone(),
            self.clock.clone(),
        )
    }

    /// What customers do through the links of their notifications.
    pub fn portal(&self) -> Result<PortalService, crate::signing::LinkKeyError> {
        PortalService::new(
            self.store.clone(),
            self.settings.clone(),
            self.clock.clone(),
        )
    }

    /// People's notification preferences and bounce marks.
    pub fn contacts(&self) -> ContactService {
        ContactService::new(self.store.clone(), self.clock.clone())
    }

    /// Notifications waiting, sent, held or failed.
    pub fn outbox(&self) -> OutboxService {
        OutboxService::new(
            self.store.clone(),
            self.settings.clone(),
            self.clock.clone(),
        )
    }

    /// Messages that could not be handled.
    pub fn quarantine(&self) -> QuarantineService {
        QuarantineService::new(
            self.store.clone(),
            self.settings.clone(),
            self.clock.clone(),
        )
    }

    /// Mail run through the pipeline on request: `explain`.
    pub fn mail(&self) -> MailService {
        MailService::new(
            self.store.clone(),
            self.settings.clone(),
            self.clock.clone(),
        )
    }

    /// The daemon's readiness checks and database gauges, with the mailboxes' conditions
    /// its watchers record in `mailboxes`.
    pub fn health(&self, mailboxes: crate::monitoring::MailboxHealth) -> HealthService {
        HealthService::new(
            self.store.clone(),
            self.settings.clone(),
            self.clock.clone(),
            mailboxes,
        )
    }

    /// The periodic jobs, listed, run by hand or by the scheduler.
    pub fn jobs(&self) -> Jobs {
        Jobs::new(
            self.store.clone(),
            self.settings.clone(),
            self.clock.clone(),
        )
    }

    /// Where each IMAP mailbox stands: its cursor, acknowledgements the server refused, its
    /// problems.
    pub fn mailboxes(&self) -> MailboxService {
        MailboxService::new(self.store.clone(), self.settings.clone())
    }

    /// Which instance reads which mailbox.
    pub fn leases(&self) -> LeaseService {
        LeaseService::new(self.store.clone(), self.clock.clone())
    }

    /// The JSON API's bearer tokens.
    pub fn tokens(&self) -> TokenService {
        TokenService::new(self.store.clone(), self.clock.clone())
    }

    /// The notification templates, checked or previewed.
    pub fn templates(&self) -> TemplateService {
        TemplateService::new(self.settings.clone())
    }

    /// The database and the link key every instance shares.
    pub fn admin(&self) -> AdminService {
        AdminService::new(
            self.store.clone(),
            self.settings.clone(),
            self.clock.clone(),
        )
    }

    /// Backups of the database: a checked copy of a live SQLite file, or what to run.
    pub fn backup(&self) -> BackupService {
        BackupService::new(self.store.clone(), self.settings.clone())
    }

    /// Closes the database, waiting for statements in flight.
    pub async fn close(&self) {
        self.store.close().await;
    }
}
