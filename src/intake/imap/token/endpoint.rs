//! The refresh request to an OAuth2 token endpoint (RFC 6749 §6), over reqwest with the
//! mailbox's own rustls configuration, so the endpoint is trusted exactly as the IMAP
//! server is (the public web roots plus the mailbox's `ca_file`).

use std::time::Duration;

use reqwest::header::ACCEPT;
use serde_json::Value;
use tokio_rustls::rustls::ClientConfig;

use super::TokenError;
use crate::config::OAuth2Endpoint;

/// How long and how much the exchange with the endpoint may take.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// To open the TCP connection (and the TLS session).
    pub connect: Duration,
    /// For the whole request, the answer's last byte included. Under the 30 s that
    /// opening an IMAP session may take in all, so that a stalled endpoint is reported as
    /// such rather than as a silent IMAP server.
    pub request: Duration,
    /// The largest answer read: a token answer is well under 10 KiB, and a wrong URL must
    /// not make ticketgate read a whole web page or an endless stream into memory.
    pub max_answer: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        connect: Duration::from_secs(10),
        request: Duration::from_secs(20),
        max_answer: 64 * 1024,
    };
}

/// How many characters of an answer that is not JSON are quoted in the error.
const EXCERPT_CHARS: usize = 200;

/// What the endpoint granted.
#[derive(Debug)]
pub(super) struct Granted {
    pub access_token: String,
    /// How long the access token lives, as the provider says (an hour when it does not).
    pub lifetime: Duration,
    /// The refresh token to use from now on, when the provider sent one (it may be the
    /// same as the one used).
    pub refresh_token: Option<String>,
}

/// One refresh: the endpoint's settings and the secrets read for this attempt.
pub(super) struct RefreshRequest<'a> {
    pub endpoint: &'a OAuth2Endpoint,
    pub refresh_token: &'a str,
    pub client_secret: Option<&'a str>,
}

impl RefreshRequest<'_> {
    /// Posts the refresh form and reads the answer, within `limits`.
    pub async fn send(&self, tls: &ClientConfig, limits: &Limits) -> Result<Granted, TokenError> {
        let url = self.url()?;
        let client = http_client(tls, limits)?;
        let response = client
            .post(url.clone())
            .header(ACCEPT, "application/json")
            .form(&self.form())
            .send()
            .await
            .map_err(|e| failed(e, url.as_str(), limits))?;
        let status = response.status().as_u16();
        let body = read_limited(response, url.as_str(), limits).await?;
        self.parse(status, &body)
    }

    /// The endpoint's URL, if it is an http(s) one: reqwest would refuse the others with
    /// a message that does not name the setting.
    fn url(&self) -> Result<reqwest::Url, TokenError> {
        let text = &self.endpoint.token_url;
        let bad = |source: Option<Box<dyn std::error::Error + Send + Sync>>| TokenError::BadUrl {
            url: text.clone(),
            source,
        };
        let url = reqwest::Url::parse(text).map_err(|e| bad(Some(Box::new(e))))?;
        if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
            return Err(bad(None));
        }
        Ok(url)
    }

    fn form(&self) -> Vec<(&str, &str)> {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", self.refresh_token),
            ("client_id", self.endpoint.client_id.as_str()),
        ];
        if let Some(secret) = self.client_secret {
            form.push(("client_secret", secret));
        }
        if let Some(scope) = &self.endpoint.scope {
            form.push(("scope", scope.as_str()));
        }
        form
    }

    /// Reads the answer as providers write it: JSON in both cases, `error` and
    /// `error_description` when refused. `expires_in` is read leniently (an hour when
    /// absent or not a number), as some providers send it as a string.
    fn parse(&self, status: u16, body: &[u8]) -> Result<Granted, TokenError> {
        let json: Value = serde_json::from_slice(body).map_err(|source| TokenError::NotJson {
            status,
            excerpt: self.excerpt(body),
            source,
        })?;
        if !(200..300).contains(&status) {
            return Err(TokenError::Refused {
                status,
                error: json["error"].as_str().unwrap_or("error").to_string(),
                description: json["error_description"].as_str().unwrap_or("").to_string(),
                file: self.endpoint.refresh_token_file.clone(),
            });
        }
        let access_token = json["access_token"]
            .as_str()
            .ok_or(TokenError::NoAccessToken)?
            .to_string();
        Ok(Granted {
            access_token,
            lifetime: Duration::from_secs(json["expires_in"].as_u64().unwrap_or(3600)),
            refresh_token: json["refresh_token"].as_str().map(str::to_string),
        })
    }

    /// The start of an answer for the log, with our secrets masked should it echo them.
    fn excerpt(&self, body: &[u8]) -> String {
        let mut text = String::from_utf8_lossy(body).into_owned();
        for secret in [Some(self.refresh_token), self.client_secret]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
        {
            text = text.replace(secret, "***");
        }
        text.chars().take(EXCERPT_CHARS).collect()
    }
}

/// A client for one refresh. A refresh comes about once an hour: a connection kept in a
/// pool would only go stale in between. No proxy and no redirects, as before reqwest:
/// the refresh token goes to the configured URL and nowhere else.
fn http_client(tls: &ClientConfig, limits: &Limits) -> Result<reqwest::Client, TokenError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls.clone())
        .connect_timeout(limits.connect)
        .timeout(limits.request)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent("ticketgate")
        .build()
        .map_err(TokenError::Client)
}

/// Reads the body, refusing it as soon as it passes `limits.max_answer`: at once when the
/// announced length is over, else while the chunks come.
async fn read_limited(
    mut response: reqwest::Response,
    url: &str,
    limits: &Limits,
) -> Result<Vec<u8>, TokenError> {
    let too_large = || TokenError::TooLarge {
        url: url.to_string(),
        limit: limits.max_answer,
    };
    if response
        .content_length()
        .is_some_and(|n| n > limits.max_answer as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(e, url, limits))? {
        if body.len() + chunk.len() > limits.max_answer {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Sorts a failed exchange into what the operator can act on. The URL is taken out of
/// reqwest's message: ours already names it.
fn failed(e: reqwest::Error, url: &str, limits: &Limits) -> TokenError {
    let url = url.to_string();
    let source = e.without_url();
    if source.is_timeout() {
        let after = if source.is_connect() {
            limits.connect
        } else {
            limits.request
        };
        TokenError::Timeout { url, after }
    } else if source.is_connect() {
        TokenError::Connect { url, source }
    } else {
        TokenError::Exchange { url, source }
    }
}
