//! What ticketgate signs with its link key, so that nobody can forge it: the direct links
//! of notifications (used by the notifications and, next, the portal) and the thread
//! tokens in our Message-IDs (used by the pipeline to thread replies).
//!
//! Signed direct links: every notification links to its ticket with a token that opens
//! that ticket, for that recipient, until it expires, and nothing more.
//!
//! Token: `NUMBER.EXPIRY.RECIPIENT.MAC`, where EXPIRY is Unix seconds, RECIPIENT the
//! recipient's address in unpadded base64url, and MAC the unpadded base64url of
//! HMAC-SHA256(key, "NUMBER\nEXPIRY\nrecipient-lower-cased").
//!
//! The same key signs the Message-IDs of notifications (`tg.NUMBER.ID.QUEUED.TOKEN@domain`,
//! TOKEN the first 96 bits, in hex, of HMAC-SHA256(key, "thread\nNUMBER\nrecipient")), so
//! that a reply threading by In-Reply-To names a ticket only through an id we signed for
//! someone: a made-up or altered id threads nowhere.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::{EmailAddress, TicketNumber};

mod key;
mod session;
mod short;
mod thread;

pub use key::LinkKeyError;
pub use thread::NotificationId;

type HmacSha256 = Hmac<Sha256>;

/// Why a link token does not open anything.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("the link is damaged or incomplete; open the latest notification's link")]
    Malformed,
    #[error("the link's signature does not match: it was altered, or signed with another secret")]
    BadSignature,
    #[error("the link expired on {0}; the latest notification has a fresh one")]
    Expired(DateTime<Utc>),
}

/// What a valid token grants: one ticket, to one recipient, until `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkGrant {
    pub ticket: TicketNumber,
    pub recipient: EmailAddress,
    pub expires: DateTime<Utc>,
}

/// Signs and verifies link tokens with one secret key.
#[derive(Clone)]
pub struct LinkSigner {
    key: Vec<u8>,
    base_url: String,
    lifetime: Duration,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSigner")
            .field("base_url", &self.base_url)
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

impl LinkSigner {
    /// A signer with `key`, making links under `base_url` valid for `lifetime`.
    pub fn new(key: &[u8], base_url: &str, lifetime: Duration) -> Result<Self, LinkKeyError> {
        if key.len() < key::MIN_KEY_BYTES {
            return Err(LinkKeyError::TooShort);
        }
        Ok(Self {
            key: key.to_vec(),
            base_url: base_url.trim_end_matches('/').to_string(),
            lifetime,
        })
    }

    /// A short digest of the key that says nothing about it: instances sharing a database
    /// compare theirs, since a link or a reply signed by one must be read by all.
    pub fn key_fingerprint(&self) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(b"ticketgate link key fingerprint");
        hex::encode(&mac.finalize().into_bytes()[..8])
    }

    /// The signer the settings describe: their secret, or the key kept under the data
    /// directory (created at first use).
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Self, LinkKeyError> {
        let portal = &settings.portal;
        let key = match &portal.link_secret {
            Some(source) => source.read().map_err(LinkKeyError::Source)?.into_bytes(),
            None => key::from_file(&settings.data_dir.join("link-secret"))?,
        };
        Self::new(
            &key,
            &portal.base_url,
            Duration::days(i64::from(portal.link_lifetime_days)),
        )
    }

    fn mac(&self, ticket: &str, expiry: i64, recipient: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(format!("{ticket}\n{expiry}\n{}", recipient.to_ascii_lowercase()).as_bytes());
        mac
    }

    /// A token for `recipient` on `ticket`, valid from `now` for the signer's lifetime.
    pub fn token(
        &self,
        ticket: &TicketNumber,
        recipient: &EmailAddress,
        now: DateTime<Utc>,
    ) -> String {
        let expiry = (now + self.lifetime).timestamp();
        let mac = self
            .mac(ticket.as_str(), expiry, recipient.as_str())
            .finalize()
            .into_bytes();
        format!(
            "{ticket}.{expiry}.{}.{}",
            B64.encode(recipient.as_str()),
            B64.encode(mac)
        )
    }

    /// The direct link to `ticket` for `recipient`.
    pub fn link(
        &self,
        ticket: &TicketNumber,
        recipient: &EmailAddress,
        now: DateTime<Utc>,
    ) -> String {
        format!(
            "{}/tickets/{ticket}?token={}",
            self.base_url,
            self.token(ticket, recipient, now)
        )
    }

    /// The link that opens `action` (`approve`, `refuse`) of `ticket` for `recipient`:
    /// the same token, so it grants no more than the direct link; the page it opens asks
    /// for a confirmation before anything changes (mail scanners follow every link).
    pub fn action_link(
        &self,
        ticket: &TicketNumber,
        recipient: &EmailAddress,
        action: &str,
        now: DateTime<Utc>,
    ) -> String {
        format!(
            "{}/tickets/{ticket}/{action}?token={}",
            self.base_url,
            self.token(ticket, recipient, now)
        )
    }

    /// What `token` grants at `now`, if it is genuine and unexpired.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<LinkGrant, LinkError> {
        let parts: Vec<&str> = token.split('.').collect();
        let [ticket, expiry, recipient, mac] = parts[..] else {
            return Err(LinkError::Malformed);
        };
        let (expiry, recipient, mac) = signed_parts(expiry, recipient, mac)?;
        // The signature first, so that nothing about an altered token is believed.
        self.mac(ticket, expiry, &recipient)
            .verify_slice(&mac)
            .map_err(|_| LinkError::BadSignature)?;
        let expires = unexpired(expiry, now)?;
        Ok(LinkGrant {
            ticket: ticket.parse().map_err(|_| LinkError::Malformed)?,
            recipient: EmailAddress::parse(&recipient).map_err(|_| LinkError::Malformed)?,
            expires,
        })
    }
}

/// The expiry, address and MAC of a token or session, decoded; not yet verified.
fn signed_parts(
    expiry: &str,
    address: &str,
    mac: &str,
) -> Result<(i64, String, Vec<u8>), LinkError> {
    let expiry: i64 = expiry.parse().map_err(|_| LinkError::Malformed)?;
    let address = B64
        .decode(address)
        .ok()
        .and_then(|a| String::from_utf8(a).ok())
        .ok_or(LinkError::Malformed)?;
    let mac = B64.decode(mac).map_err(|_| LinkError::Malformed)?;
    Ok((expiry, address, mac))
}

/// When `expiry` (Unix seconds) is, if it is still ahead of `now`.
fn unexpired(expiry: i64, now: DateTime<Utc>) -> Result<DateTime<Utc>, LinkError> {
    let expires = Utc
        .timestamp_opt(expiry, 0)
        .single()
        .ok_or(LinkError::Malformed)?;
    if now >= expires {
        return Err(LinkError::Expired(expires));
    }
    Ok(expires)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signer of links under a fixed base URL, valid 30 days.
    pub(super) fn signer(key: &[u8]) -> LinkSigner {
        LinkSigner::new(key, "https://support.example.com/", Duration::days(30)).unwrap()
    }

    /// Noon on `day` November 2026.
    pub(super) fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_token_opens_its_ticket_for_its_recipient_until_it_expires() {
        let s = signer(&[7; 32]);
        let n: TicketNumber = "2611N00042".parse().unwrap();
        let alice = EmailAddress::parse("Alice@Acme.example").unwrap();
        let link = s.link(&n, &alice, at(1));
        assert!(
            link.starts_with("https://support.example.com/tickets/2611N00042?token=2611N00042."),
            "{link}"
        );
        let token = link.split("token=").nth(1).unwrap();
        let grant = s.verify(token, at(20)).unwrap();
        assert_eq!((grant.ticket, grant.recipient), (n, alice));
        assert_eq!(
            s.verify(token, at(1) + Duration::days(31)),
            Err(LinkError::Expired(at(1) + Duration::days(30)))
        );
    }

    #[test]
    fn an_altered_or_foreign_token_opens_nothing() {
        let s = signer(&[7; 32]);
        let n: TicketNumber = "2611N00042".parse().unwrap();
        let alice = EmailAddress::parse("alice@acme.example").unwrap();
        let token = s.token(&n, &alice, at(1));
        let parts: Vec<&str> = token.split('.').collect();
        let other_ticket = format!("2611N00043.{}.{}.{}", parts[1], parts[2], parts[3]);
        let later = format!(
            "{}.{}.{}.{}",
            parts[0],
            parts[1].parse::<i64>().unwrap() + 86400,
            parts[2],
            parts[3]
        );
        let mallory = format!(
            "{}.{}.{}.{}",
            parts[0],
            parts[1],
            B64.encode("mallory@evil.example"),
            parts[3]
        );
        for forged in [other_ticket, later, mallory] {
            assert_eq!(
                s.verify(&forged, at(2)),
                Err(LinkError::BadSignature),
                "{forged}"
            );
        }
        assert_eq!(
            signer(&[8; 32]).verify(&token, at(2)),
            Err(LinkError::BadSignature)
        );
        for junk in ["", "a.b.c", "2611N00042.x.y.z", "a.1.!!.??"] {
            assert_eq!(s.verify(junk, at(2)), Err(LinkError::Malformed), "{junk}");
        }
    }
}
