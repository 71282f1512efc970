//! Short direct links, for SMS: `BASE/s/NUMBER.EXPIRY.MAC`, about 60 characters where the
//! mail's link takes 150. The recipient is not written in the token: the MAC (its first 96
//! bits, in base64url) is checked against each person the ticket tells (requester and
//! observers), and names the one it was made for. EXPIRY is Unix days in base 36.
//!
//! MAC = HMAC-SHA256(key, "short\nNUMBER\nEXPIRY\nrecipient-lower-cased"): its own prefix,
//! so that no other token of the same key can be passed off as a short one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use hmac::Mac;

use super::{HmacSha256, LinkError, LinkGrant, LinkSigner, unexpired};
use crate::domain::{EmailAddress, TicketNumber};

/// The bytes of the MAC a short token keeps: 96 bits, as the thread tokens.
const MAC_BYTES: usize = 12;

impl LinkSigner {
    fn short_mac(&self, ticket: &str, expiry_days: u64, recipient: &EmailAddress) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(format!("short\n{ticket}\n{expiry_days}\n{}", recipient.key()).as_bytes());
        mac
    }

    /// The short link to `ticket` for `recipient`, valid from `now` for the signer's
    /// lifetime (to the end of its last day).
    pub fn short_link(
        &self,
        ticket: &TicketNumber,
        recipient: &EmailAddress,
        now: DateTime<Utc>,
    ) -> String {
        let expiry_days = ((now + self.lifetime).timestamp().max(0) as u64).div_ceil(86_400);
        let mac = self
            .short_mac(ticket.as_str(), expiry_days, recipient)
            .finalize()
            .into_bytes();
        format!(
            "{}/s/{ticket}.{}.{}",
            self.base_url,
            base36(expiry_days),
            B64.encode(&mac[..MAC_BYTES])
        )
    }

    /// The ticket a short token names, before anything about it is checked: whose
    /// people to try it against.
    pub fn short_token_ticket(token: &str) -> Result<TicketNumber, LinkError> {
        let ticket = token.split('.').next().unwrap_or_default();
        ticket.parse().map_err(|_| LinkError::Malformed)
    }

    /// What the short `token` grants: its ticket, to whichever of `people` it was made
    /// for, until it expires.
    pub fn verify_short(
        &self,
        token: &str,
        people: &[EmailAddress],
        now: DateTime<Utc>,
    ) -> Result<LinkGrant, LinkError> {
        let parts: Vec<&str> = token.split('.').collect();
        let [ticket, expiry, mac] = parts[..] else {
            return Err(LinkError::Malformed);
        };
        let expiry_days = u64::from_str_radix(expiry, 36).map_err(|_| LinkError::Malformed)?;
        let mac = B64.decode(mac).map_err(|_| LinkError::Malformed)?;
        if mac.len() != MAC_BYTES {
            return Err(LinkError::Malformed);
        }
        let recipient = people
            .iter()
            .find(|p| {
                self.short_mac(ticket, expiry_days, p)
                    .verify_truncated_left(&mac)
                    .is_ok()
            })
            .ok_or(LinkError::BadSignature)?;
        let seconds = i64::try_from(expiry_days)
            .ok()
            .and_then(|d| d.checked_mul(86_400))
            .ok_or(LinkError::Malformed)?;
        let expires = unexpired(seconds, now)?;
        Ok(LinkGrant {
            ticket: ticket.parse().map_err(|_| LinkError::Malformed)?,
            recipient: recipient.clone(),
            expires,
        })
    }
}

/// `n` in base 36, lower case.
fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, signer};
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_short_link_opens_its_ticket_for_the_person_it_was_made_for() {
        let s = signer(&[7; 32]);
        let n: TicketNumber = "2611N00042".parse().unwrap();
        let alice = EmailAddress::parse("Alice@Acme.example").unwrap();
        let bob = EmailAddress::parse("bob@acme.example").unwrap();
        let link = s.short_link(&n, &alice, at(1));
        assert!(link.len() <= 70, "{link} ({} characters)", link.len());
        let token = link.rsplit("/s/").next().unwrap();
        assert_eq!(LinkSigner::short_token_ticket(token).unwrap(), n);
        let grant = s
            .verify_short(token, &[bob.clone(), alice.clone()], at(20))
            .unwrap();
        assert_eq!((grant.ticket, grant.recipient), (n, alice));
        assert_eq!(
            s.verify_short(token, &[bob], at(20)),
            Err(LinkError::BadSignature),
            "not for someone it was not made for"
        );
    }

    #[test]
    fn an_altered_expired_or_foreign_short_link_opens_nothing() {
        let s = signer(&[7; 32]);
        let n: TicketNumber = "2611N00042".parse().unwrap();
        let alice = EmailAddress::parse("alice@acme.example").unwrap();
        let people = [alice.clone()];
        let link = s.short_link(&n, &alice, at(1));
        let token = link.rsplit("/s/").next().unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let later = format!("{}.{}.{}", parts[0], "zzzz", parts[2]);
        let other = format!("2611N00043.{}.{}", parts[1], parts[2]);
        assert_eq!(
            s.verify_short(&later, &people, at(2)),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            s.verify_short(&other, &people, at(2)),
            Err(LinkError::BadSignature)
        );
        assert!(matches!(
            s.verify_short(token, &people, at(1) + Duration::days(32)),
            Err(LinkError::Expired(_))
        ));
        assert!(
            signer(&[8; 32])
                .verify_short(token, &people, at(2))
                .is_err()
        );
        for junk in ["", "2611N00042", "2611N00042.x.y", "a.b.c.d"] {
            assert!(s.verify_short(junk, &people, at(2)).is_err(), "{junk}");
        }
    }
}
