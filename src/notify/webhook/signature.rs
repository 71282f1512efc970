//! The Standard Webhooks signature: HMAC-SHA256 over `{id}.{timestamp}.{body}` with the
//! key's bytes, sent as `v1,<base64>` in `webhook-signature`.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::WebhookKey;

/// The `webhook-signature` value of one delivery attempt.
pub fn sign(key: &WebhookKey, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.bytes()).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification and its reference libraries
    /// (github.com/standard-webhooks/standard-webhooks).
    #[test]
    fn the_specifications_example_signs_as_published() {
        let key = WebhookKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = sign(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn any_change_changes_the_signature() {
        let key = WebhookKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let base = sign(&key, "msg_1", 1, b"{}");
        assert_ne!(base, sign(&key, "msg_2", 1, b"{}"));
        assert_ne!(base, sign(&key, "msg_1", 2, b"{}"));
        assert_ne!(base, sign(&key, "msg_1", 1, b"{ }"));
    }
}
