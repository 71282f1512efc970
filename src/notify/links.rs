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

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::{EmailAddress, TicketNumber};

type HmacSha256 = Hmac<Sha256>;

/// The shortest key accepted, in bytes: HMAC-SHA256 wants at least its output size.
const MIN_KEY_BYTES: usize = 32;

/// Hex digits of the thread token: 96 bits, enough against guessing, short in headers.
const THREAD_TOKEN_HEX: usize = 24;

/// The parts of one of our notification Message-IDs that matter for threading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationId {
    pub ticket: TicketNumber,
    pub token: String,
}

impl NotificationId {
    /// Reads `tg.NUMBER.ID.QUEUED.TOKEN@domain` (angle brackets already removed); `None`
    /// for any other Message-ID.
    pub fn parse(message_id: &str) -> Option<NotificationId> {
        let (local, _domain) = message_id.rsplit_once('@')?;
        let parts: Vec<&str> = local.split('.').collect();
        let ["tg", number, _id, _queued, token] = parts[..] else {
            return None;
        };
        Some(NotificationId {
            ticket: number.parse().ok()?,
            token: token.to_string(),
        })
    }
}

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

/// Why the signing key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum LinkKeyError {
    #[error("the link secret is shorter than {MIN_KEY_BYTES} bytes; use a long random value")]
    TooShort,
    #[error("cannot read the link secret: {0}")]
    Source(String),
    #[error("cannot create the link secret {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
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
        if key.len() < MIN_KEY_BYTES {
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

    /// The key in `file`, created with 32 random bytes (mode 0600) when missing: links work
    /// on the embedded defaults and stay valid across restarts.
    pub fn key_from_file(file: &Path) -> Result<Vec<u8>, LinkKeyError> {
        let create = |source| LinkKeyError::Create {
            path: file.display().to_string(),
            source,
        };
        match std::fs::read(file) {
            Ok(key) => return Ok(key),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(create(e)),
            Err(_) => {}
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| create(std::io::Error::other(e.to_string())))?;
        let encoded = hex::encode(key);
        // Written aside, then linked into place only if no other process (an instance
        // starting at the same time on a shared data_dir) made the key first: then theirs
        // is everybody's.
        let aside = file.with_extension(format!(
            "new-{}-{}",
            std::process::id(),
            crate::attachments::unique_suffix()
        ));
        crate::attachments::write_atomically(&aside, |f| {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            std::io::Write::write_all(f, encoded.as_bytes())
        })
        .map_err(|e| create(std::io::Error::other(e.to_string())))?;
        let linked = std::fs::hard_link(&aside, file);
        let _ = std::fs::remove_file(&aside);
        match linked {
            Ok(()) => Ok(encoded.into_bytes()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::read(file).map_err(create)
            }
            Err(e) => Err(create(e)),
        }
    }

    /// The signer the settings describe: their secret, or the key kept under the data
    /// directory (created at first use).
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Self, LinkKeyError> {
        let portal = &settings.portal;
        let key = match &portal.link_secret {
            Some(source) => source.read().map_err(LinkKeyError::Source)?.into_bytes(),
            None => Self::key_from_file(&settings.data_dir.join("link-secret"))?,
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

    fn thread_mac(&self, ticket: &TicketNumber, recipient: &EmailAddress) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(format!("thread\n{ticket}\n{}", recipient.key()).as_bytes());
        mac
    }

    /// The Message-ID of notification `outbox_id` (queued at `queued_at`) about `ticket`
    /// for `recipient`, without angle brackets. It is the same on every attempt, so a
    /// resend after a crash is recognised as the same mail; the queueing time keeps ids
    /// unique across databases that reuse row ids.
    pub fn notification_message_id(
        &self,
        ticket: &TicketNumber,
        recipient: &EmailAddress,
        outbox_id: i64,
        queued_at: DateTime<Utc>,
        domain: &str,
    ) -> String {
        let token = hex::encode(self.thread_mac(ticket, recipient).finalize().into_bytes());
        format!(
            "tg.{ticket}.{outbox_id}.{:x}.{}@{domain}",
            queued_at.timestamp_millis().max(0),
            &token[..THREAD_TOKEN_HEX]
        )
    }

    /// Whether `id` was signed for `recipient`, in constant time.
    pub fn thread_token_matches(&self, id: &NotificationId, recipient: &EmailAddress) -> bool {
        let Ok(token) = hex::decode(&id.token) else {
            return false;
        };
        token.len() * 2 == THREAD_TOKEN_HEX
            && self
                .thread_mac(&id.ticket, recipient)
                .verify_truncated_left(&token)
                .is_ok()
    }

    /// What `token` grants at `now`, if it is genuine and unexpired.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<LinkGrant, LinkError> {
        let parts: Vec<&str> = token.split('.').collect();
        let [ticket, expiry, recipient, mac] = parts[..] else {
            return Err(LinkError::Malformed);
        };
        let expiry: i64 = expiry.parse().map_err(|_| LinkError::Malformed)?;
        let recipient = B64
            .decode(recipient)
            .ok()
            .and_then(|r| String::from_utf8(r).ok())
            .ok_or(LinkError::Malformed)?;
        let mac = B64.decode(mac).map_err(|_| LinkError::Malformed)?;
        // The signature first, so that nothing about an altered token is believed.
        self.mac(ticket, expiry, &recipient)
            .verify_slice(&mac)
            .map_err(|_| LinkError::BadSignature)?;
        let expires = Utc
            .timestamp_opt(expiry, 0)
            .single()
            .ok_or(LinkError::Malformed)?;
        if now >= expires {
            return Err(LinkError::Expired(expires));
        }
        Ok(LinkGrant {
            ticket: ticket.parse().map_err(|_| LinkError::Malformed)?,
            recipient: EmailAddress::parse(&recipient).map_err(|_| LinkError::Malformed)?,
            expires,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(key: &[u8]) -> LinkSigner {
        LinkSigner::new(key, "https://support.example.com/", Duration::days(30)).unwrap()
    }

    fn at(day: u32) -> DateTime<Utc> {
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

    #[test]
    fn notification_ids_carry_a_token_only_their_recipient_matches() {
        let s = signer(&[7; 32]);
        let n: TicketNumber = "2611N00042".parse().unwrap();
        let alice = EmailAddress::parse("alice@acme.example").unwrap();
        let bob = EmailAddress::parse("bob@acme.example").unwrap();
        let id = s.notification_message_id(&n, &alice, 17, at(1), "support.example");
        assert_eq!(
            id,
            s.notification_message_id(&n, &alice, 17, at(1), "support.example"),
            "the same notification keeps its id across attempts"
        );
        assert!(
            id.starts_with("tg.2611N00042.17.") && id.ends_with("@support.example"),
            "{id}"
        );
        let parsed = NotificationId::parse(&id).unwrap();
        assert_eq!(parsed.ticket, n);
        assert!(s.thread_token_matches(&parsed, &alice));
        assert!(
            s.thread_token_matches(&parsed, &EmailAddress::parse("ALICE@acme.example").unwrap())
        );
        assert!(!s.thread_token_matches(&parsed, &bob));
        assert!(!signer(&[8; 32]).thread_token_matches(&parsed, &alice));
        let moved = NotificationId::parse(&id.replace("2611N00042", "2611N00043")).unwrap();
        assert!(
            !s.thread_token_matches(&moved, &alice),
            "the token is bound to its ticket"
        );
        let mut altered = parsed.clone();
        altered.token.replace_range(
            0..1,
            if altered.token.starts_with('0') {
                "1"
            } else {
                "0"
            },
        );
        assert!(!s.thread_token_matches(&altered, &alice));
        for other in [
            "abc@example.com",
            "tg.2611N00042.1.2@x",
            "tg.nonsense.1.2.3@x",
            "tg.2611N00042.1.2.zz@x",
        ] {
            let verdict =
                NotificationId::parse(other).is_some_and(|p| s.thread_token_matches(&p, &alice));
            assert!(!verdict, "{other}");
        }
    }

    #[test]
    fn short_keys_are_refused_and_a_missing_key_file_is_created_once() {
        assert!(matches!(
            LinkSigner::new(b"short", "x", Duration::days(1)),
            Err(LinkKeyError::TooShort)
        ));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets/link-key");
        let first = LinkSigner::key_from_file(&file).unwrap();
        assert_eq!(LinkSigner::key_from_file(&file).unwrap(), first);
        assert!(first.len() >= MIN_KEY_BYTES);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn processes_making_the_key_at_once_all_end_up_with_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("link-secret");
        let keys: Vec<Vec<u8>> = std::thread::scope(|s| {
            let makers: Vec<_> = (0..8)
                .map(|_| s.spawn(|| LinkSigner::key_from_file(&file).unwrap()))
                .collect();
            makers.into_iter().map(|m| m.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]));
        assert_eq!(std::fs::read(&file).unwrap(), keys[0]);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "only the key file stays");
    }
}
