//! Which instance reads which mailbox, and until when: the leases instances sharing a
//! database hold, as an operator reads them.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::store::{LeaseRecord, Store, StoreError};

/// Why the leases could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether a lease is held now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// Renewed until `until`, `remaining` from now.
    Held {
        until: DateTime<Utc>,
        remaining: chrono::Duration,
    },
    /// Released or expired: the next instance to ask takes it.
    Free,
}

/// A lease and its state now.
#[derive(Debug, Clone)]
pub struct LeaseView {
    pub lease: LeaseRecord,
    pub state: LeaseState,
}

/// Reads the leases.
#[derive(Debug, Clone)]
pub struct LeaseService {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl LeaseService {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Every lease ever taken, with whether it is held now.
    pub async fn list(&self) -> Result<Vec<LeaseView>, LeaseError> {
        let now = self.clock.now();
        Ok(self
            .store
            .leases()
            .await?
            .into_iter()
            .map(|lease| {
                let state = if lease.expires_at > now {
                    LeaseState::Held {
                        until: lease.expires_at,
                        remaining: lease.expires_at - now,
                    }
                } else {
                    LeaseState::Free
                };
                LeaseView { lease, state }
            })
            .collect())
    }
}
