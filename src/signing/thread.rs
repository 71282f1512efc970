//! Thread tokens: the part of our notifications' Message-IDs
//! (`tg.NUMBER.ID.QUEUED.TOKEN@domain`) that only our key can make, so that a reply names
//! a ticket through In-Reply-To only by an id we signed for someone.

use chrono::{DateTime, Utc};
use hmac::Mac;

use super::{HmacSha256, LinkSigner};
use crate::domain::{EmailAddress, TicketNumber};

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

impl LinkSigner {
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
}

#[cfg(test)]
mod tests {
    use super::super::tests::{at, signer};
    use super::*;

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
}
