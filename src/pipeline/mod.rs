//! One message, from raw bytes to one committed transaction:
//! parse → classify → thread → authorize → decide what it does → store.
//!
//! [`Pipeline::process`] does it; [`Pipeline::explain`] runs the same decisions without
//! writing anything and reports each with its reason.

pub mod authenticate;
pub mod authorize;
pub mod body_fields;
pub mod classify;
pub mod language;
pub mod parse;
pub mod reply_effect;
pub mod reply_text;
pub mod thread;

mod article;
mod decide;
mod execute;
mod explain;
mod new_ticket;
mod outcome;
mod trace;

use std::sync::Arc;

pub use outcome::{Outcome, ProcessError, Rejection, TemporaryFailure, too_large};
pub use trace::{Step, Trace};

use crate::clock::Clock;
use crate::config::{AgentPolicy, AuthPolicy, CustomerPolicy, Settings};
use crate::domain::InboundMail;
use crate::files::Files;
use crate::signing::{LinkKeyError, LinkSigner};
use crate::store::{Batch, Store};
use authenticate::Authenticator;

/// Values for tickets opened through one intake (an IMAP mailbox), between the routing
/// rules and the configuration's defaults.
#[derive(Debug, Clone, Default)]
pub struct IntakeDefaults {
    pub ticket_type: Option<crate::domain::TicketType>,
    pub language: Option<String>,
    /// Where times written in the intake's mails are read, over `tickets.time_zone`.
    pub time_zone: Option<chrono_tz::Tz>,
    /// The intake's own `agents` authentication policy, over the global one.
    pub agents: Option<AgentPolicy>,
    /// The intake's own `customers` authentication policy, over the global one.
    pub customers: Option<CustomerPolicy>,
}

/// The mail-to-ticket pipeline, with everything it writes to.
#[derive(Debug, Clone)]
pub struct Pipeline {
    store: Store,
    files: Files,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
    defaults: IntakeDefaults,
    links: LinkSigner,
    /// Shared by every clone: it keeps the DNS answers of earlier checks.
    authenticator: Arc<Authenticator>,
    /// The daemon's configuration as reloaded (SIGHUP): each message, or each batch, is
    /// decided on the one current when it starts. `None` outside the daemon.
    live: Option<tokio::sync::watch::Receiver<Arc<Settings>>>,
}

impl Pipeline {
    /// A pipeline writing to `store`, and attachments and raw mail to the storage the
    /// settings name (`[storage] backend`). It reads the link key too (creating it on
    /// first use): replies are threaded by the tokens it signed into our notifications'
    /// Message-IDs.
    pub fn new(
        store: Store,
        settings: Arc<Settings>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, LinkKeyError> {
        Ok(Self {
            files: Files::new(&settings, &store),
            links: LinkSigner::from_settings(&settings)?,
            authenticator: Arc::new(Authenticator::from_settings(&settings.authentication)),
            store,
            settings,
            clock,
            defaults: IntakeDefaults::default(),
            live: None,
        })
    }

    /// The same pipeline, deciding each message on the settings `live` holds when the
    /// message (or its batch) starts. What only a restart changes (the storage, the link
    /// key, the database) stays as built.
    pub fn following(self, live: tokio::sync::watch::Receiver<Arc<Settings>>) -> Self {
        Self {
            live: Some(live),
            ..self
        }
    }

    /// This pipeline on the current settings: itself when it follows none or they did not
    /// change.
    fn current(&self) -> std::borrow::Cow<'_, Self> {
        match &self.live {
            Some(live) if !Arc::ptr_eq(&live.borrow(), &self.settings) => {
                std::borrow::Cow::Owned(Self {
                    settings: live.borrow().clone(),
                    ..self.clone()
                })
            }
            _ => std::borrow::Cow::Borrowed(self),
        }
    }

    /// The same pipeline, giving new tickets the defaults of one intake.
    pub fn with_defaults(&self, defaults: IntakeDefaults) -> Self {
        Self {
            defaults,
            ..self.clone()
        }
    }

    /// The same pipeline writing into `batch`: its mails are committed together when the
    /// batch is, after [`Files::settle`] on this pipeline's files.
    pub fn in_batch(&self, batch: &Batch) -> Self {
        let current = self.current();
        Self {
            store: batch.store().clone(),
            files: current.files.for_batch(batch),
            // One batch, one configuration.
            live: None,
            ..current.into_owned()
        }
    }

    /// The store this pipeline writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings it runs on (as they were when it was built, or its batch began).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The settings in effect now: after a reload, those of the next message.
    pub fn current_settings(&self) -> Arc<Settings> {
        match &self.live {
            Some(live) => live.borrow().clone(),
            None => self.settings.clone(),
        }
    }

    /// The clock it reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// What checks senders: its DNS cache and counts.
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    /// The authentication policies this pipeline's intake applies.
    pub fn policy(&self) -> AuthPolicy {
        let global = self.settings.authentication.policy;
        AuthPolicy {
            agents: self.defaults.agents.unwrap_or(global.agents),
            customers: self.defaults.customers.unwrap_or(global.customers),
        }
    }

    /// Where it keeps attachments and raw mail: to read them back.
    pub fn files(&self) -> &Files {
        &self.files
    }

    /// Handles one message from `source`: commits its ticket, comment or note in one
    /// transaction, or says why it could not. Its span names the message (`message_id`)
    /// and, once decided, its `ticket`, so that every line logged for it carries both.
    #[tracing::instrument(
        name = "message",
        skip_all,
        fields(source = %source, message_id, ticket)
    )]
    pub async fn process(&self, source: &str, raw: &[u8]) -> Result<Outcome, ProcessError> {
        let this = self.current();
        this.process_now(source, raw).await
    }

    /// [`Pipeline::process`] on this pipeline's settings as they are.
    async fn process_now(&self, source: &str, raw: &[u8]) -> Result<Outcome, ProcessError> {
        let mut completed = None;
        let message = self.read(raw, &mut completed)?;
        self.handle(source, raw, parse::inbound_mail(&message))
            .await
    }

    /// Parses `raw` for [`Pipeline::process_prepared`], reading nothing of the store: a
    /// batch's next mails are parsed on another core while the batch writes the one before.
    pub fn prepare(&self, raw: &[u8]) -> Result<InboundMail<'static>, ProcessError> {
        let this = self.current();
        let mut completed = None;
        let message = this.read(raw, &mut completed)?;
        Ok(parse::inbound_mail(&message).into_owned())
    }

    /// [`Pipeline::process`] of a message [`Pipeline::prepare`] parsed (or failed to).
    #[tracing::instrument(
        name = "message",
        skip_all,
        fields(source = %source, message_id, ticket)
    )]
    pub async fn process_prepared(
        &self,
        source: &str,
        raw: &[u8],
        prepared: Result<InboundMail<'static>, ProcessError>,
    ) -> Result<Outcome, ProcessError> {
        let this = self.current();
        this.handle(source, raw, prepared?).await
    }

    /// Decides what the parsed `mail` is and writes it.
    async fn handle(
        &self,
        source: &str,
        raw: &[u8],
        mut mail: InboundMail<'_>,
    ) -> Result<Outcome, ProcessError> {
        if let Some(id) = &mail.message_id {
            tracing::Span::current().record("message_id", id.as_str());
        }
        let mut trace = Trace::default();
        let decision = self.decide(&mail, raw, &mut trace).await?;
        let outcome = self.execute(decision, &mut mail, raw, source).await?;
        tracing::info!(outcome = ?outcome, "message handled");
        Ok(outcome)
    }

    /// Size check and MIME parse. `completed` holds the bytes parsed instead of `raw` when
    /// they must differ (see [`ends_in_a_header`]).
    fn read<'r>(
        &self,
        raw: &'r [u8],
        completed: &'r mut Option<Vec<u8>>,
    ) -> Result<mail_parser::Message<'r>, ProcessError> {
        let limit = self.settings.max_message_bytes;
        if raw.len() as u64 > limit {
            return Err(Rejection::TooLarge { limit }.into());
        }
        // mail-parser drops a header field on the last line when no line end follows it:
        // the parser reads a copy with one. The mail kept (and signatures checked) is `raw`.
        *completed = ends_in_a_header(raw).then(|| [raw, b"\r\n"].concat());
        let completed: &'r Option<Vec<u8>> = completed;
        parse::parse_message(completed.as_deref().unwrap_or(raw))
            .map_err(|e| Rejection::Unparseable(e).into())
    }
}

/// Whether the mail's last line is a header field without a line end: no blank line
/// ends the header block and the bytes do not end in a line end (a mail of headers only,
/// such as a `Subject:` sent by a script). Looked at only for the rare mail that does not
/// end in a line end.
fn ends_in_a_header(raw: &[u8]) -> bool {
    !raw.ends_with(b"\n")
        && !raw.windows(2).any(|w| w == b"\n\n")
        && !raw.windows(3).any(|w| w == b"\n\r\n")
}
