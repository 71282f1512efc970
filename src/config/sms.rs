//! `[sms]`: the operator's SMS gateway. Contacts who chose `email,sms` get a short text of
//! each event they receive, posted to `webhook` as signed JSON (the `[[webhook]]` format),
//! through the outbox like mail.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::error::Errors;
use super::webhook::{WebhookSettings, check_secret_at, check_url_at};

/// The `[sms]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSms {
    /// The gateway's URL, http or https; no SMS without it.
    webhook: Option<String>,
    /// The signing key, `whsec_<base64>`: exactly one of `secret`, `secret_env`,
    /// `secret_file`.
    secret: Option<String>,
    secret_env: Option<String>,
    secret_file: Option<PathBuf>,
    /// How long one POST may take, connection included.
    timeout_secs: Option<u64>,
}

/// The outbox rows' recipient name of the gateway, in logs and in `outbox list`.
pub const SMS_GATEWAY: &str = "sms-gateway";

/// The timeout of a POST when `timeout_secs` is not given.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl RawSms {
    /// The gateway, when `[sms] webhook` is set; each problem recorded with its key.
    pub(super) fn validate(self, errors: &mut Errors) -> Option<WebhookSettings> {
        let Some(url) = self.webhook.as_deref() else {
            if self.secret.is_some() || self.secret_env.is_some() || self.secret_file.is_some() {
                errors.push(
                    "sms.webhook",
                    "missing: the gateway's URL, which SMS are posted to",
                );
            }
            return None;
        };
        let before = errors.count();
        let url = check_url_at("sms.webhook", url, errors);
        let secret = check_secret_at(
            "sms.secret",
            [self.secret, self.secret_env],
            self.secret_file,
            errors,
        );
        let timeout = match self.timeout_secs {
            None => DEFAULT_TIMEOUT,
            Some(s) if (1..=60).contains(&s) => Duration::from_secs(s),
            Some(_) => {
                errors.push("sms.timeout_secs", "must be between 1 and 60");
                DEFAULT_TIMEOUT
            }
        };
        if errors.count() > before {
            return None;
        }
        Some(WebhookSettings {
            name: SMS_GATEWAY.to_string(),
            url: url?,
            secret: secret?,
            events: BTreeSet::new(),
            timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::load;

    #[test]
    fn the_gateway_is_optional_and_checked_when_given() {
        assert!(load("", &[]).unwrap().sms_gateway.is_none());
        let s = load(
            "[sms]\nwebhook = \"https://sms.example.com/send\"\nsecret = \"whsec_c2VjcmV0\"\n",
            &[],
        )
        .unwrap();
        let gateway = s.sms_gateway.unwrap();
        assert_eq!(gateway.host(), "sms.example.com");
        let err = load("[sms]\nwebhook = \"ftp://x\"\ntimeout_secs = 0\n", &[])
            .unwrap_err()
            .to_string();
        for key in ["sms.webhook: ", "sms.secret: missing", "sms.timeout_secs: "] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
        let err = load("[sms]\nsecret = \"whsec_c2VjcmV0\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("sms.webhook: missing"), "{err}");
    }
}
