//! `[[webhook]]`: URLs told of ticket events (and of mail set aside in the quarantine) by a
//! signed JSON POST, delivered through the outbox like mail.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::error::Errors;
use super::secret::SecretSource;
use crate::domain::{Subscription, Subscriptions, WebhookEvent, WebhookKey};

/// One `[[webhook]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    /// Names the webhook in `outbox list` and the logs; the URL's host when absent.
    name: Option<String>,
    /// Where events are posted: http or https.
    url: String,
    /// The signing key, `whsec_<base64>`: exactly one of `secret`, `secret_env`,
    /// `secret_file`.
    secret: Option<String>,
    secret_env: Option<String>,
    secret_file: Option<PathBuf>,
    /// The events posted: notification events and `mail_quarantined`.
    events: Vec<String>,
    /// How long one POST may take, connection included.
    timeout_secs: Option<u64>,
}

/// The timeout of a POST when `timeout_secs` is not given.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a POST may be allowed: the outbox worker sends one at a time.
const MAX_TIMEOUT_SECS: u64 = 300;

/// A webhook the outbox worker posts events to.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Its outbox rows' recipient: the same name must keep naming the same webhook, so
    /// that rows queued before a restart still find it.
    pub name: String,
    pub url: reqwest::Url,
    /// Read when the sender is built, so that a rotated secret is taken at the next start.
    pub secret: SecretSource,
    pub events: BTreeSet<WebhookEvent>,
    pub timeout: Duration,
}

impl WebhookSettings {
    /// The signing key, read from where the configuration says.
    pub fn key(&self) -> Result<WebhookKey, String> {
        WebhookKey::parse(&self.secret.read()?)
    }

    /// The webhook's host, which the logs name it by when the name is not enough (the URL
    /// itself may carry a token in its path or query).
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or("")
    }
}

/// Who hears which event, for the store.
pub fn subscriptions(webhooks: &[WebhookSettings]) -> Subscriptions {
    Subscriptions::new(
        webhooks
            .iter()
            .map(|w| Subscription {
                name: w.name.clone(),
                events: w.events.clone(),
            })
            .collect(),
    )
}

/// Validates every `[[webhook]]`, recording each problem with its key (`webhook[1].url`).
pub(super) fn validate_all(raw: Vec<RawWebhook>, errors: &mut Errors) -> Vec<WebhookSettings> {
    // The names taken so far, with the index of the webhook that took each.
    let mut names: Vec<(usize, String)> = Vec::new();
    let mut webhooks = Vec::new();
    for (i, w) in raw.into_iter().enumerate() {
        let before = errors.count();
        let url = check_url(i, &w.url, errors);
        let name = w
            .name
            .clone()
            .or_else(|| url.as_ref().and_then(|u| u.host_str().map(str::to_string)));
        if let Some(name) = &name
            && check_name(i, name, &names, errors)
        {
            names.push((i, name.clone()));
        }
        let secret = check_secret(i, &w, errors);
        let events = check_events(i, &w.events, errors);
        let timeout = match w.timeout_secs {
            None => DEFAULT_TIMEOUT,
            Some(0) => {
                errors.push(
                    format_args!("webhook[{i}].timeout_secs"),
                    "must be at least 1",
                );
                DEFAULT_TIMEOUT
            }
            Some(s) => {
                errors.at_most(
                    format_args!("webhook[{i}].timeout_secs"),
                    s,
                    MAX_TIMEOUT_SECS,
                );
                Duration::from_secs(s)
            }
        };
        if errors.count() > before {
            continue;
        }
        if let (Some(name), Some(url), Some(secret)) = (name, url, secret) {
            webhooks.push(WebhookSettings {
                name,
                url,
                secret,
                events,
                timeout,
            });
        }
    }
    webhooks
}

fn check_url(i: usize, text: &str, errors: &mut Errors) -> Option<reqwest::Url> {
    check_url_at(&format!("webhook[{i}].url"), text, errors)
}

/// `text` as an http or https URL, else an error recorded under `key`.
pub(super) fn check_url_at(key: &str, text: &str, errors: &mut Errors) -> Option<reqwest::Url> {
    let url = errors.check(
        key,
        reqwest::Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}")),
    )?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        errors.push(
            key,
            format_args!("`{text}`: use an http:// or https:// URL"),
        );
        return None;
    }
    Some(url)
}

/// A name is the outbox rows' recipient: short, plain, and not an address (the governor
/// counts mail by recipient). Whether it is fit and free.
fn check_name(i: usize, name: &str, taken: &[(usize, String)], errors: &mut Errors) -> bool {
    let key = format!("webhook[{i}].name");
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        errors.push(
            &key,
            format_args!("`{name}`: use up to 64 letters, digits, '-', '_' or '.'"),
        );
        return false;
    }
    if let Some((j, _)) = taken.iter().find(|(_, n)| n == name) {
        errors.push(
            &key,
            format_args!("`{name}` already names webhook[{j}]; give each webhook its own name"),
        );
        return false;
    }
    true
}

/// Exactly one source; an inline secret is checked at once, one from the environment or
/// a file when the sender is built (and by `check-config`).
fn check_secret(i: usize, w: &RawWebhook, errors: &mut Errors) -> Option<SecretSource> {
    check_secret_at(
        &format!("webhook[{i}].secret"),
        [w.secret.clone(), w.secret_env.clone()],
        w.secret_file.clone(),
        errors,
    )
}

/// The signing secret from exactly one of `secret` and `secret_env` (`inline_or_env`)
/// and `secret_file`, recorded under `key`.
pub(super) fn check_secret_at(
    key: &str,
    [secret, secret_env]: [Option<String>; 2],
    secret_file: Option<PathBuf>,
    errors: &mut Errors,
) -> Option<SecretSource> {
    let before = errors.count();
    let source = SecretSource::one_of(key, secret, secret_env, secret_file, errors);
    match &source {
        None if errors.count() == before => {
            errors.push(key, "missing: give one of secret, secret_env, secret_file");
        }
        Some(SecretSource::Inline(text)) => {
            errors.check(key, WebhookKey::parse(text))?;
        }
        _ => {}
    }
    source
}

fn check_events(i: usize, names: &[String], errors: &mut Errors) -> BTreeSet<WebhookEvent> {
    if names.is_empty() {
        errors.push(
            format_args!("webhook[{i}].events"),
            "empty: name the events to post (ticket_opened, agent_comment, mail_quarantined…)",
        );
    }
    names
        .iter()
        .enumerate()
        .filter_map(|(j, name)| {
            errors.check(format_args!("webhook[{i}].events[{j}]"), name.parse())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::load;

    #[test]
    fn a_webhook_is_read_with_its_defaults() {
        let s = load(
            "[[webhook]]\nurl = \"https://hooks.example.com/t?k=1\"\nsecret = \"whsec_c2VjcmV0\"\n\
             events = [\"ticket_opened\", \"mail_quarantined\"]\n",
            &[],
        )
        .unwrap();
        let w = &s.webhooks[0];
        assert_eq!(
            (w.name.as_str(), w.host()),
            ("hooks.example.com", "hooks.example.com")
        );
        assert_eq!(w.timeout, std::time::Duration::from_secs(10));
        assert_eq!(w.events.len(), 2);
        assert!(
            !format!("{w:?}").contains("c2VjcmV0"),
            "secrets stay out of logs"
        );
    }

    #[test]
    fn every_webhook_error_is_named_by_its_key() {
        let err = load(
            "[[webhook]]\nurl = \"ftp://x\"\nevents = [\"ticket_exploded\"]\ntimeout_secs = 0\n\
             [[webhook]]\nname = \"a b\"\nurl = \"http://h\"\nsecret = \"plain\"\nevents = []\n\
             [[webhook]]\nurl = \"http://h\"\nsecret = \"whsec_c2VjcmV0\"\nsecret_env = \"X\"\nevents = [\"agent_comment\"]\n\
             [[webhook]]\nurl = \"http://h\"\nsecret = \"whsec_c2VjcmV0\"\nevents = [\"agent_comment\"]\n\
             [[webhook]]\nurl = \"http://h\"\nsecret = \"whsec_c2VjcmV0\"\nevents = [\"agent_comment\"]\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        for key in [
            "webhook[0].url: ",
            "webhook[0].secret: missing",
            "webhook[0].events[0]: ",
            "webhook[0].timeout_secs: ",
            "webhook[1].name: ",
            "webhook[1].secret: a webhook secret is written whsec_",
            "webhook[1].events: empty",
            "webhook[2].secret: give only one of",
            "webhook[4].name: `h` already names webhook[2]",
        ] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
    }
}
