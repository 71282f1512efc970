//! The short links of SMS (`/s/NUMBER.EXPIRY.MAC`): traded for a session as the mail's
//! direct links are, the person found among those the ticket tells (its requester and
//! observers), since the token does not carry their address.

use std::net::IpAddr;

use super::{PortalError, PortalService, PortalSession};
use crate::signing::LinkSigner;

impl PortalService {
    /// Trades the short link `token` for a session of the person it was made for. A
    /// `client` whose links failed too often lately is turned away first, and a failure
    /// counts against it, as for a direct link.
    pub async fn open_short_link(
        &self,
        token: &str,
        client: IpAddr,
    ) -> Result<PortalSession, PortalError> {
        let now = self.clock.now();
        let client = self.link_client(client, now)?;
        let checked = match LinkSigner::short_token_ticket(token) {
            Ok(number) => match self.store.ticket_by_number(&number).await? {
                Some(ticket) => {
                    let mut people = vec![ticket.requester.clone()];
                    people.extend(ticket.observers.iter().cloned());
                    self.links
                        .verify_short(token, &people, now)
                        .map_err(PortalError::Link)
                }
                None => Err(PortalError::Link(crate::signing::LinkError::BadSignature)),
            },
            Err(e) => Err(PortalError::Link(e)),
        };
        self.session_for(checked, &client, now)
    }
}
