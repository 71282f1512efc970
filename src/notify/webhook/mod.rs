//! Webhooks: events posted as signed JSON to the configured URLs, by the outbox worker
//! (the only code that sends), with the same claim, retries and failure marking as mail.
//!
//! Each try carries the Standard Webhooks headers: `webhook-id` is the outbox row's
//! (`msg_<id>`, the same on every retry, so a receiver can drop a second delivery),
//! `webhook-timestamp` the try's time, `webhook-signature` the HMAC of both and the body.
//! Redirects are not followed: the events go to the configured URL and nowhere else.

mod payload;
mod signature;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

pub use payload::payload;
pub use signature::sign;

use crate::config::WebhookSettings;
use crate::domain::WebhookKey;

/// Why the webhooks cannot be set up from the settings.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSetupError {
    #[error("cannot read the secret of {name}: {reason}; check {key}")]
    Secret {
        name: String,
        /// The configuration key to look at: `webhook[1].secret`, `sms.secret`.
        key: String,
        reason: String,
    },
    #[error("cannot build the HTTP client for webhooks: {0}")]
    Client(#[source] reqwest::Error),
    #[error("cannot set up TLS for webhooks: {0}")]
    Tls(#[source] rustls::Error),
}

/// Why one POST did not count as delivered. Every one of them is tried again after the
/// usual pause, until the retries are spent; the message is what `outbox list` shows.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{host} answered {status}")]
    Status { host: String, status: u16 },
    #[error(
        "{host} answered {status}, a redirect to {location}, which is not followed; set the webhook's url to where it points"
    )]
    Redirect {
        host: String,
        status: u16,
        location: String,
    },
    #[error("{host} did not answer within {timeout:?}")]
    Timeout { host: String, timeout: Duration },
    #[error("cannot post to {host}: {source}")]
    Request {
        host: String,
        #[source]
        source: reqwest::Error,
    },
}

/// A webhook ready to post to.
#[derive(Debug)]
struct Hook {
    settings: WebhookSettings,
    key: WebhookKey,
}

/// Posts events to the configured webhooks. The default has none (and no HTTP client).
#[derive(Debug, Clone, Default)]
pub struct WebhookSender {
    hooks: Arc<HashMap<String, Hook>>,
    /// Built only when a webhook is configured.
    client: Option<reqwest::Client>,
}

impl WebhookSender {
    /// The webhooks of the settings, each secret read and checked now, so that a bad one
    /// stops the start instead of failing every event.
    pub fn from_settings(webhooks: &[WebhookSettings]) -> Result<Self, WebhookSetupError> {
        let mut hooks = HashMap::new();
        for (index, w) in webhooks.iter().enumerate() {
            let key = w.key().map_err(|reason| WebhookSetupError::Secret {
                name: if w.name == crate::config::SMS_GATEWAY {
                    "the SMS gateway".to_string()
                } else {
                    format!("webhook {}", w.name)
                },
                key: if w.name == crate::config::SMS_GATEWAY {
                    "sms.secret".to_string()
                } else {
                    format!("webhook[{index}].secret")
                },
                reason,
            })?;
            hooks.insert(
                w.name.clone(),
                Hook {
                    settings: w.clone(),
                    key,
                },
            );
        }
        if hooks.is_empty() {
            return Ok(Self::default());
        }
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("ticketgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(WebhookSetupError::Client)?;
        Ok(Self {
            hooks: Arc::new(hooks),
            client: Some(client),
        })
    }

    /// The host a webhook posts to, by its name, for the logs (never its URL, which may
    /// carry a token); `None` when no webhook has that name.
    pub fn host(&self, name: &str) -> Option<&str> {
        self.hooks.get(name).map(|h| h.settings.host())
    }

    /// Posts `body` to the webhook `name` as delivery `id`, signed at `timestamp` (unix
    /// seconds). `Ok` on a 2xx answer. The caller checks first that the webhook exists.
    pub async fn post(
        &self,
        name: &str,
        id: &str,
        timestamp: i64,
        body: Vec<u8>,
    ) -> Result<(), WebhookError> {
        let (Some(hook), Some(client)) = (self.hooks.get(name), &self.client) else {
            unreachable!("the caller checked that the webhook exists");
        };
        let host = hook.settings.host().to_string();
        let timeout = hook.settings.timeout;
        let signature = sign(&hook.key, id, timestamp, &body);
        let sent = client
            .post(hook.settings.url.clone())
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Err(WebhookError::Timeout { host, timeout }),
            Err(e) => {
                return Err(WebhookError::Request {
                    host,
                    source: e.without_url(),
                });
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("nowhere")
                .to_string();
            return Err(WebhookError::Redirect {
                host,
                status: status.as_u16(),
                location,
            });
        }
        Err(WebhookError::Status {
            host,
            status: status.as_u16(),
        })
    }
}

/// TLS for https webhooks: ring and the Mozilla roots of webpki-roots.
fn tls_config() -> Result<ClientConfig, WebhookSetupError> {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(WebhookSetupError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
