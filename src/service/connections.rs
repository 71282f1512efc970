//! `check-config --connect`: every server the configuration names, reached as the daemon
//! would reach it (each mailbox logged in to, an SMTP session opened, the database opened),
//! each answer on its own, within a bound so that a dead server cannot hang the check.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Settings;
use crate::notify::transport::Transport;
use crate::store::{DatabaseState, Store};

/// The longest one check may take: the connection code's own timeouts (30 s for IMAP and
/// SMTP) are for a daemon that retries; a person waiting wants the answer sooner.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// One server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionCheck {
    /// What was checked: `mailbox support`, `smtp`, `database`.
    pub what: String,
    /// What it found, or why it failed (never a secret).
    pub outcome: Result<String, String>,
}

/// Reaches the servers the settings name. Needs no database to exist.
#[derive(Debug, Clone)]
pub struct ConnectionService {
    settings: Arc<Settings>,
}

impl ConnectionService {
    pub fn new(settings: Arc<Settings>) -> Self {
        Self { settings }
    }

    /// Every mailbox, the transport and the database, checked at once; in that order.
    pub async fn check_all(&self) -> Vec<ConnectionCheck> {
        let mailboxes = self.settings.mailboxes.iter().map(|mailbox| async move {
            let outcome = bounded(async {
                crate::intake::imap::check_login(mailbox)
                    .await
                    .map_err(|e| e.to_string())
            })
            .await;
            ConnectionCheck {
                what: format!("mailbox {}", mailbox.name),
                outcome,
            }
        });
        let (mut checks, smtp, database) = tokio::join!(
            futures::future::join_all(mailboxes),
            self.check_transport(),
            self.check_database()
        );
        checks.push(smtp);
        checks.push(database);
        checks
    }

    /// The way out, as the outbox worker builds it: an SMTP session (EHLO, STARTTLS,
    /// AUTH), the outbox directory, or the sendmail command.
    async fn check_transport(&self) -> ConnectionCheck {
        let outcome = bounded(async {
            let transport = Transport::from_settings(&self.settings).map_err(|e| e.to_string())?;
            transport.check().await.map_err(|e| e.to_string())
        })
        .await;
        ConnectionCheck {
            what: "smtp".into(),
            outcome,
        }
    }

    /// The database opened (not created nor changed), and how far it is migrated.
    async fn check_database(&self) -> ConnectionCheck {
        let outcome = bounded(async {
            match Store::probe(self.settings.database_url.expose()).await {
                Ok(DatabaseState::NotCreated { path }) => Ok(format!(
                    "{path} does not exist yet; `ticketgate run` or `ticketgate migrate` creates it"
                )),
                Ok(DatabaseState::Reachable { applied, known }) => Ok(format!(
                    "{}: {} of {known} migrations applied",
                    crate::config::DatabaseUrl::redact(self.settings.database_url.expose()),
                    applied.unwrap_or(0)
                )),
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
        ConnectionCheck {
            what: "database".into(),
            outcome,
        }
    }
}

/// `check` within [`CHECK_TIMEOUT`].
async fn bounded(
    check: impl std::future::Future<Output = Result<String, String>>,
) -> Result<String, String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())))
}
