//! One connected session on a mailbox: open the folder, then until shutdown, or until the
//! connection fails, pass over it (take every message after the cursor, see `pass`) and
//! wait for new mail (see `idle`).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::acknowledge::{Acknowledgement, FlaggedByUs};
use super::connection::ImapSession;
use super::pass::Pass;
use super::pending::PendingAcks;
use super::{ImapError, folders, idle, protocol};
use crate::backoff::Backoff;
use crate::config::{MailboxSettings, ProcessedAction};
use crate::intake::{Driver, Ingestor, Retry, Rules};
use crate::notify::outbox_worker::OutboxWake;
use crate::pipeline::IntakeDefaults;
use crate::store::{MailboxCursor, ProblemArea};

/// The pause before the pass that follows one stopped by a message kept for a retry:
/// doubling from a second to five minutes while passes keep stopping.
const DEFERRED_PAUSES: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));

/// How long logging out may take: a dead connection must not hold up shutdown.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the server can do, read once per session.
#[derive(Debug, Clone, Copy)]
pub(super) struct Capabilities {
    pub(super) idle: bool,
    pub(super) r#move: bool,
    pub(super) uidplus: bool,
    pub(super) namespace: bool,
}

impl Capabilities {
    async fn read(session: &mut ImapSession) -> Result<Self, ImapError> {
        let caps = session
            .capabilities()
            .await
            .map_err(protocol("reading capabilities"))?;
        Ok(Capabilities {
            idle: caps.has_str("IDLE"),
            r#move: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
            namespace: caps.has_str("NAMESPACE"),
        })
    }
}

/// Works one mailbox, across reconnections.
pub(super) struct MailboxWorker {
    pub(super) mailbox: MailboxSettings,
    /// Takes the fetched messages into the store; it keeps their failed tries by UID from
    /// one session to the next.
    pub(super) driver: Driver<u32>,
    /// Whether a pass went through since the supervisor last asked: only then is a later
    /// failure a new problem rather than the same one again.
    healthy: bool,
    /// What acknowledging a message does in this session, its folder resolved.
    pub(super) acknowledgement: Acknowledgement,
    /// Handled messages whose acknowledgement the server has not taken yet.
    pub(super) pending: PendingAcks,
    /// What this process flagged deleted without seeing it expunged (servers without
    /// UIDPLUS).
    pub(super) flagged: FlaggedByUs,
}

impl MailboxWorker {
    /// A worker on `mailbox`, its tickets opened with the mailbox's defaults; `outbox` is
    /// woken after each commit.
    pub(super) fn new(
        mailbox: MailboxSettings,
        ingestor: Ingestor,
        retry_budget: u32,
        outbox: OutboxWake,
    ) -> Self {
        let defaults = IntakeDefaults {
            ticket_type: mailbox.ticket_type,
            language: mailbox.language.clone(),
            time_zone: mailbox.time_zone,
            agents: mailbox.agents,
            customers: mailbox.customers,
        };
        let ingestor = Ingestor::new(ingestor.pipeline().with_defaults(defaults));
        let rules = Rules {
            budget: retry_budget,
            retry: Retry::LaterInOrder,
            quarantine_when_spent: true,
            intake: "imap",
        };
        let acknowledgement = match &mailbox.processed {
            ProcessedAction::Move(folder) => Acknowledgement::Move(folder.clone()),
            ProcessedAction::Seen => Acknowledgement::Seen,
            ProcessedAction::Delete => Acknowledgement::Delete,
        };
        Self {
            mailbox,
            driver: Driver::new(ingestor, rules).waking(outbox),
            healthy: false,
            acknowledgement,
            pending: PendingAcks::default(),
            flagged: FlaggedByUs::default(),
        }
    }

    /// Records (`Some`) or ends (`None`) a problem of the mailbox in `area`, for
    /// `ticketgate mailboxes`. A store that cannot take it is only logged: the mailbox goes
    /// on.
    pub(super) async fn problem(&self, area: ProblemArea, message: Option<&str>) {
        let pipeline = self.driver.ingestor().pipeline();
        let store = pipeline.store();
        let recorded = match message {
            Some(m) => {
                store
                    .set_mailbox_problem(&self.mailbox.name, area, m, pipeline.clock().now())
                    .await
            }
            None => store.clear_mailbox_problem(&self.mailbox.name, area).await,
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "cannot record the mailbox's state for `ticketgate mailboxes`");
        }
    }

    /// Whether a full pass succeeded since the last call.
    pub(super) fn take_healthy(&mut self) -> bool {
        std::mem::take(&mut self.healthy)
    }

    /// Runs the session until shutdown (`Ok`) or until the connection fails (`Err`).
    pub(super) async fn run(
        &mut self,
        mut session: ImapSession,
        shutdown: &CancellationToken,
    ) -> Result<(), ImapError> {
        let caps = Capabilities::read(&mut session).await?;
        let mut cursor = self.open_folder(&mut session, caps).await?;
        let mut deferred = DEFERRED_PAUSES.pauses();
        loop {
            idle::drain_announcements(&mut session);
            self.retry_pending(&mut session, cursor, caps).await?;
            match self.pass(&mut session, &mut cursor, caps, shutdown).await? {
                Pass::Stopped => break,
                Pass::Deferred => {
                    tokio::select! {
                        _ = tokio::time::sleep(deferred.after_failure()) => {}
                        _ = shutdown.cancelled() => break,
                    }
                    session
                        .noop()
                        .await
                        .map_err(protocol("checking the connection"))?;
                    continue;
                }
                Pass::Done { found } => {
                    deferred.reset();
                    if !self.healthy {
                        // The session works: whatever kept it from working is over.
                        self.problem(ProblemArea::Connection, None).await;
                        self.problem(ProblemArea::Folder, None).await;
                    }
                    self.healthy = true;
                    // The news of mail that arrived during a pass that did work may be
                    // lost: async-imap keeps 100 unsolicited responses and drops the rest,
                    // and each message moved away is one (EXPUNGE). Look again, until a
                    // pass finds nothing, rather than idle with mail waiting.
                    if found {
                        continue;
                    }
                }
            }
            if shutdown.is_cancelled() {
                break;
            }
            // Mail that arrived during the pass was announced then, and the server will not
            // announce it again: look before going idle.
            if idle::drain_announcements(&mut session) {
                continue;
            }
            let due = self.pending.due_in();
            let (back, stop) =
                idle::wait_for_mail(session, &self.mailbox, caps, due, shutdown).await?;
            session = back;
            if stop {
                break;
            }
            // Some servers (Courier) tell of new mail only when asked: NOOP before every
            // pass, as after every IDLE check.
            session
                .noop()
                .await
                .map_err(protocol("asking the server for new mail"))?;
        }
        match tokio::time::timeout(LOGOUT_TIMEOUT, session.logout()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "logout failed"),
            Err(_) => tracing::debug!("logout timed out"),
        }
        Ok(())
    }

    /// Resolves the folders by the server's namespace, makes the processed one exist,
    /// selects the watched one, and returns the cursor to start from, with what is still to
    /// acknowledge loaded.
    async fn open_folder(
        &mut self,
        session: &mut ImapSession,
        caps: Capabilities,
    ) -> Result<MailboxCursor, ImapError> {
        let personal = folders::personal_namespace(session, &self.mailbox, caps).await?;
        if let Some(folder) = folders::processed_folder(session, &self.mailbox, &personal).await? {
            self.acknowledgement = Acknowledgement::Move(folder);
        }
        let watched = personal.full_name(&self.mailbox.folder);
        let folder_error = |message: String| ImapError::Folder {
            folder: watched.clone(),
            message,
        };
        let selected = match session.select(&watched).await {
            Ok(selected) => selected,
            Err(e) if super::is_throttled(&e) => return Err(protocol("selecting the folder")(e)),
            Err(e) => {
                return Err(folder_error(format!(
                    "the server refuses to select it ({e}); check [[mailbox]] folder"
                )));
            }
        };
        let uid_validity = selected
            .uid_validity
            .ok_or_else(|| folder_error("the server gives no UIDVALIDITY".into()))?;
        let cursor = self.cursor(uid_validity).await?;
        self.load_pending(uid_validity).await?;
        Ok(cursor)
    }

    /// The saved cursor, reset when the folder's UIDVALIDITY changed.
    async fn cursor(&self, uid_validity: u32) -> Result<MailboxCursor, ImapError> {
        let store = self.driver.ingestor().pipeline().store();
        let fresh = MailboxCursor {
            uid_validity,
            last_uid: 0,
        };
        match store.mailbox_cursor(&self.mailbox.name).await? {
            Some(c) if c.uid_validity == uid_validity => Ok(c),
            Some(c) => {
                tracing::warn!(
                    old = c.uid_validity,
                    new = uid_validity,
                    "the folder's UIDVALIDITY changed: reading it all again (known mail is recognised as duplicate)"
                );
                Ok(fresh)
            }
            None => Ok(fresh),
        }
    }
}
