//! Portal sessions: a direct link, once verified, is exchanged for a session cookie, so
//! that the token leaves the address bar (and with it history, logs and Referer). The
//! cookie is signed with the link key rather than stored: any instance sharing the key
//! reads it, and nothing needs purging.
//!
//! Cookie value: `EXPIRY.ADDRESS.MAC`, ADDRESS in unpadded base64url, MAC the unpadded
//! base64url of HMAC-SHA256(key, "portal-session\nEXPIRY\naddress-lower-cased"). The
//! first line is no ticket number, so a session can never pass for a link, nor a link
//! for a session.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use hmac::Mac;

use super::{HmacSha256, LinkError, LinkSigner, signed_parts, unexpired};
use crate::domain::EmailAddress;

impl LinkSigner {
    fn session_mac(&self, expiry: i64, address: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(
            format!("portal-session\n{expiry}\n{}", address.to_ascii_lowercase()).as_bytes(),
        );
        mac
    }

    /// A session for `address` until `expires`.
    pub fn session(&self, address: &EmailAddress, expires: DateTime<Utc>) -> String {
        let expiry = expires.timestamp();
        let mac = self
            .session_mac(expiry, address.as_str())
            .finalize()
            .into_bytes();
        format!(
            "{expiry}.{}.{}",
            B64.encode(address.as_str()),
            B64.encode(mac)
        )
    }

    /// The form token of the session `value`: every form of the portal carries it, and a
    /// POST without the token of the session that sent it changes nothing. Another site
    /// can make a browser send the cookie, never read the token.
    pub fn form_token(&self, value: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(format!("portal-form\n{value}").as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    /// Whether `token` is the form token of the session `value` (in constant time).
    pub fn form_token_matches(&self, value: &str, token: &str) -> bool {
        let Ok(given) = B64.decode(token) else {
            return false;
        };
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(format!("portal-form\n{value}").as_bytes());
        mac.verify_slice(&given).is_ok()
    }

    /// Whose session `value` is at `now`, if it is genuine and unexpired.
    pub fn verify_session(
        &self,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<EmailAddress, LinkError> {
        let parts: Vec<&str> = value.split('.').collect();
        let [expiry, address, mac] = parts[..] else {
            return Err(LinkError::Malformed);
        };
        let (expiry, address, mac) = signed_parts(expiry, address, mac)?;
        self.session_mac(expiry, &address)
            .verify_slice(&mac)
            .map_err(|_| LinkError::BadSignature)?;
        unexpired(expiry, now)?;
        EmailAddress::parse(&address).map_err(|_| LinkError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, signer};
    use super::*;

    #[test]
    fn a_session_names_its_address_until_it_ends_and_is_no_link() {
        let s = signer(&[7; 32]);
        let alice = EmailAddress::parse("Alice@Acme.example").unwrap();
        let value = s.session(&alice, at(8));
        assert_eq!(s.verify_session(&value, at(1)).unwrap(), alice);
        assert!(matches!(
            s.verify_session(&value, at(9)),
            Err(LinkError::Expired(_))
        ));
        let forged = value.replace(&B64.encode(alice.as_str()), &B64.encode("bob@acme.example"));
        assert_ne!(forged, value);
        assert_eq!(
            s.verify_session(&forged, at(1)),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            signer(&[8; 32]).verify_session(&value, at(1)),
            Err(LinkError::BadSignature)
        );
        // Neither passes for the other.
        assert!(s.verify(&format!("portal-session.{value}"), at(1)).is_err());
        let link = s.token(&"2611N00042".parse().unwrap(), &alice, at(1));
        assert!(s.verify_session(&link, at(1)).is_err());
    }

    #[test]
    fn a_form_token_belongs_to_one_session() {
        let s = signer(&[7; 32]);
        let alice = s.session(&EmailAddress::parse("alice@acme.example").unwrap(), at(8));
        let bob = s.session(&EmailAddress::parse("bob@acme.example").unwrap(), at(8));
        let token = s.form_token(&alice);
        assert!(s.form_token_matches(&alice, &token));
        assert!(!s.form_token_matches(&bob, &token));
        assert!(!s.form_token_matches(&alice, "not base64!"));
        assert!(!s.form_token_matches(&alice, ""));
    }
}
