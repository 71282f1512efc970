//! The database itself and what every instance on it must agree on: the link key that
//! signs links and thread tokens.

use std::sync::Arc;

use crate::clock::Clock;
use crate::cluster::Instance;
use crate::config::Settings;
use crate::signing::{LinkKeyError, LinkSigner};
use crate::store::{Store, StoreError};

/// The shared fact naming the link key's fingerprint.
const LINK_KEY_FACT: &str = "link_key_fingerprint";

/// This instance's link key is not the one the database's other instances use: links and
/// replies signed by one would be refused by the others.
#[derive(Debug, thiserror::Error)]
#[error(
    "this instance's link key (fingerprint {ours}) differs from the one {recorded_by} recorded for this database ({theirs}): links and replies signed by one instance would be refused by the others; give every instance the same [portal] link_secret, or the same data_dir/link-secret file (after changing the key on purpose, stop every instance and run `ticketgate migrate --accept-link-key`)"
)]
pub struct LinkKeyMismatch {
    pub ours: String,
    pub theirs: String,
    pub recorded_by: String,
}

/// Why the link key could not be checked or recorded.
#[derive(Debug, thiserror::Error)]
pub enum LinkKeyCheckError {
    #[error(transparent)]
    Mismatch(#[from] LinkKeyMismatch),
    #[error(transparent)]
    Key(#[from] LinkKeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Operations on the database as a whole.
#[derive(Debug, Clone)]
pub struct AdminService {
    store: Store,
    settings: Arc<Settings>,
    clock: Arc<dyn Clock>,
}

impl AdminService {
    pub fn new(store: Store, settings: Arc<Settings>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            settings,
            clock,
        }
    }

    /// This configuration's link key fingerprint, and the instance name it is recorded
    /// under.
    fn ours(&self) -> Result<(String, Instance), LinkKeyError> {
        let fingerprint = LinkSigner::from_settings(&self.settings)?.key_fingerprint();
        Ok((fingerprint, Instance::new(&self.settings.cluster)))
    }

    /// Checks that this instance signs links and thread tokens with the key every other
    /// instance on the database uses (the first to start records its key's fingerprint).
    pub async fn agree_on_link_key(&self) -> Result<(), LinkKeyCheckError> {
        let (ours, instance) = self.ours()?;
        let (theirs, recorded_by) = self
            .store
            .agree_on(LINK_KEY_FACT, &ours, instance.name(), self.clock.now())
            .await?;
        if theirs != ours {
            return Err(LinkKeyMismatch {
                ours,
                theirs,
                recorded_by,
            }
            .into());
        }
        Ok(())
    }

    /// Records this configuration's link key as the one every instance must use, replacing
    /// the recorded one: for an operator who changed the key on purpose.
    pub async fn accept_link_key(&self) -> Result<(), LinkKeyCheckError> {
        let (ours, instance) = self.ours()?;
        self.store
            .replace_fact(LINK_KEY_FACT, &ours, instance.name(), self.clock.now())
            .await?;
        Ok(())
    }
}
