//! The IMAP mailboxes as an operator checks them: for each configured one, how far it got,
//! the handled messages whose acknowledgement the server has not taken yet, and what is
//! wrong with it now. What the daemon records, read from the database, so that any
//! instance's state shows from any host.

use std::sync::Arc;

use crate::config::{MailboxSettings, ProcessedAction, Settings};
use crate::store::{MailboxState, Store, StoreError};

/// Why the mailboxes' state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One configured mailbox and where it stands.
#[derive(Debug, Clone)]
pub struct MailboxStatus {
    pub name: String,
    pub host: String,
    pub folder: String,
    /// `move:FOLDER`, `seen` or `delete`, as configured.
    pub processed: String,
    pub state: MailboxState,
}

/// Reads the mailboxes' state.
#[derive(Debug, Clone)]
pub struct MailboxService {
    store: Store,
    settings: Arc<Settings>,
}

impl MailboxService {
    pub fn new(store: Store, settings: Arc<Settings>) -> Self {
        Self { store, settings }
    }

    /// Every configured mailbox, in the configuration's order.
    pub async fn list(&self) -> Result<Vec<MailboxStatus>, MailboxError> {
        let mut list = Vec::with_capacity(self.settings.mailboxes.len());
        for mailbox in &self.settings.mailboxes {
            list.push(MailboxStatus {
                name: mailbox.name.clone(),
                host: mailbox.host.clone(),
                folder: mailbox.folder.clone(),
                processed: processed(mailbox),
                state: self.store.mailbox_state(&mailbox.name).await?,
            });
        }
        Ok(list)
    }
}

fn processed(mailbox: &MailboxSettings) -> String {
    match &mailbox.processed {
        ProcessedAction::Move(folder) => format!("move:{folder}"),
        ProcessedAction::Seen => "seen".into(),
        ProcessedAction::Delete => "delete".into(),
    }
}
