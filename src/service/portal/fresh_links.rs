//! A fresh link for a person whose link no longer opens: they type their address on the
//! page that says so, and if it is the address of someone on a ticket, the `portal_link`
//! mail goes through the outbox (and its governor) with a fresh link to each of their
//! open tickets. The answer is the same whether or not the address is known, so that
//! nobody learns who is a customer by typing addresses; requests are limited per client
//! and per address typed, so that nobody floods a mailbox through us.

use std::net::IpAddr;

use super::throttle::client_key;
use super::{PortalError, PortalService};
use crate::domain::EmailAddress;

impl PortalService {
    /// Queues fresh links for `typed` if it is on a ticket, asked from `client`.
    pub async fn send_fresh_links(&self, typed: &str, client: IpAddr) -> Result<(), PortalError> {
        let address = EmailAddress::parse(typed.trim()).map_err(|_| PortalError::BadAddress)?;
        let now = self.clock.now();
        let limits = &self.throttles;
        // Both counts are taken before the address is looked up: a refusal says nothing
        // of whether it is known.
        if !limits.fresh_links_by_client.admit(&client_key(client), now)
            || !limits.fresh_links_by_address.admit(&address.key(), now)
        {
            return Err(PortalError::TooManyAttempts);
        }
        match self.store.queue_portal_link(&address, now).await? {
            Some(ticket) => tracing::info!(%ticket, "fresh links queued"),
            None => tracing::info!("fresh links asked for an address on no ticket"),
        }
        Ok(())
    }
}
