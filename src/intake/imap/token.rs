//! XOAUTH2 access tokens: from a file, from a command, or refreshed by ticketgate at an
//! OAuth2 token endpoint. Google and Microsoft 365 rotate refresh tokens: a new one is
//! written back to its file at once, and the log warns well before the one in use expires.
//!
//! The HTTP exchange with the endpoint lives in `endpoint.rs`; this file decides where a
//! token comes from, caches it, and keeps the refresh token file current.

mod endpoint;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Mutex;
use tokio_rustls::rustls::ClientConfig;

use super::ImapError;
use crate::atomic_file::FileStoreError;
use crate::config::{MailboxAuth, MailboxSettings, OAuth2Endpoint, TokenSource};
use endpoint::{Limits, RefreshRequest};

/// Refresh an access token this long before the provider says it expires.
const EARLY_REFRESH: Duration = Duration::from_secs(120);
/// Warn this long before a refresh token reaches its lifetime.
const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);

/// Why no access token could be had. Each message names the setting or the party at
/// fault and what to check; the underlying error stays reachable through `source()`.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("this mailbox logs in with a password")]
    PasswordLogin,
    #[error("cannot read token_file {}", path.display())]
    ReadTokenFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run token_command; check that `sh` is installed")]
    RunCommand(#[source] std::io::Error),
    #[error("token_command failed ({status}): {stderr}")]
    CommandFailed {
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("cannot read oauth2_refresh_token_file {}", path.display())]
    ReadRefreshToken {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The secret's own reader says why in words; it has no error type to keep.
    #[error("cannot read oauth2_client_secret: {0}")]
    ClientSecret(String),
    #[error(
        "oauth2_token_url `{url}` is not an http(s) URL; it must start with https:// (or http:// for a local test server)"
    )]
    BadUrl {
        url: String,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("cannot set up an HTTP client for the token endpoint")]
    Client(#[source] reqwest::Error),
    #[error(
        "cannot reach the token endpoint {url}; check oauth2_token_url, that this machine can reach it and, for https, that its certificate is trusted (ca_file)"
    )]
    Connect { url: String, source: reqwest::Error },
    #[error("the token endpoint {url} did not answer within {} s", .after.as_secs())]
    Timeout { url: String, after: Duration },
    #[error("the exchange with the token endpoint {url} failed")]
    Exchange { url: String, source: reqwest::Error },
    #[error(
        "the token endpoint {url} answered more than {limit} bytes, which no token answer needs; check that oauth2_token_url is the provider's token endpoint"
    )]
    TooLarge { url: String, limit: usize },
    #[error("the token endpoint answered {status} with no JSON: {excerpt}")]
    NotJson {
        status: u16,
        excerpt: String,
        source: serde_json::Error,
    },
    #[error(
        "the token endpoint refused the refresh token ({status} {error}: {description}); get a new refresh token into {}",
        file.display()
    )]
    Refused {
        status: u16,
        error: String,
        description: String,
        file: PathBuf,
    },
    #[error("the token endpoint answered without access_token")]
    NoAccessToken,
    #[error(
        "the provider rotated the refresh token but it cannot be saved; make {} writable by ticketgate, or sign in again if the old token is refused",
        file.display()
    )]
    SaveRotated {
        file: PathBuf,
        source: FileStoreError,
    },
}

/// `e` with its causes: the IMAP side logs errors with `Display` only, so the causes are
/// spelled out for the log line to say what went wrong underneath (a refused connection, a
/// bad certificate), each cause once even when a message already quotes its source.
pub(super) fn spelled_out(e: &TokenError) -> String {
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = c.source();
    }
    message
}

/// Hands out access tokens for one mailbox.
pub struct TokenProvider {
    source: Option<TokenSource>,
    /// The mailbox's TLS trust (web roots plus its ca_file), reused for the token endpoint.
    tls: Arc<ClientConfig>,
    limits: Limits,
    cached: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the cached token.
        f.debug_struct("TokenProvider")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl TokenProvider {
    /// Forgets the cached access token, after the server refused it.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    /// The provider for `mailbox` (none needed with password login).
    pub fn new(mailbox: &MailboxSettings, tls: Arc<ClientConfig>) -> Self {
        let source = match &mailbox.auth {
            MailboxAuth::XOAuth2(source) => Some(source.clone()),
            MailboxAuth::Password(_) => None,
        };
        Self {
            source,
            tls,
            limits: Limits::DEFAULT,
            cached: Mutex::new(None),
        }
    }

    /// A token valid now.
    pub async fn access_token(&self) -> Result<String, ImapError> {
        Ok(self.token().await?)
    }

    async fn token(&self) -> Result<String, TokenError> {
        match &self.source {
            None => Err(TokenError::PasswordLogin),
            Some(TokenSource::File(path)) => std::fs::read_to_string(path)
                .map(|t| t.trim().to_string())
                .map_err(|source| TokenError::ReadTokenFile {
                    path: path.clone(),
                    source,
                }),
            Some(TokenSource::Command(cmd)) => token_from_command(cmd).await,
            Some(TokenSource::Endpoint(endpoint)) => {
                let mut cached = self.cached.lock().await;
                if let Some((token, until)) = cached.as_ref()
                    && Instant::now() < *until
                {
                    return Ok(token.clone());
                }
                let (token, lifetime) = self.refresh(endpoint).await?;
                *cached = Some((
                    token.clone(),
                    Instant::now() + lifetime.saturating_sub(EARLY_REFRESH),
                ));
                Ok(token)
            }
        }
    }

    /// Trades the refresh token for an access token, keeping a rotated refresh token.
    async fn refresh(&self, e: &OAuth2Endpoint) -> Result<(String, Duration), TokenError> {
        let file = &e.refresh_token_file;
        let refresh_token = std::fs::read_to_string(file)
            .map_err(|source| TokenError::ReadRefreshToken {
                path: file.clone(),
                source,
            })?
            .trim()
            .to_string();
        warn_if_expiring(e);
        let client_secret = match &e.client_secret {
            Some(secret) => Some(secret.read().map_err(TokenError::ClientSecret)?),
            None => None,
        };
        let request = RefreshRequest {
            endpoint: e,
            refresh_token: &refresh_token,
            client_secret: client_secret.as_deref(),
        };
        let granted = request.send(&self.tls, &self.limits).await?;
        if let Some(rotated) = granted
            .refresh_token
            .as_deref()
            .filter(|r| *r != refresh_token)
        {
            save_rotated(file, rotated)?;
        }
        Ok((granted.access_token, granted.lifetime))
    }
}

/// Runs `token_command` through `sh -c`; its trimmed output is the token.
async fn token_from_command(cmd: &str) -> Result<String, TokenError> {
    let out = tokio::process::Command::new("sh")
        .args(["-c", cmd])
        .kill_on_drop(true)
        .output()
        .await
        .map_err(TokenError::RunCommand)?;
    if !out.status.success() {
        return Err(TokenError::CommandFailed {
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Writes the provider's new refresh token over the old one at once: the old one may stop
/// working as soon as the new one was issued.
fn save_rotated(file: &Path, rotated: &str) -> Result<(), TokenError> {
    crate::atomic_file::write_atomically(file, |f| {
        std::io::Write::write_all(f, rotated.as_bytes())
    })
    .map_err(|source| TokenError::SaveRotated {
        file: file.to_path_buf(),
        source,
    })?;
    tracing::info!(file = %file.display(), "refresh token rotated by the provider; the new one is saved");
    Ok(())
}

/// Warns when the refresh token file has not been renewed for most of its lifetime.
fn warn_if_expiring(e: &OAuth2Endpoint) {
    let lifetime = Duration::from_secs(u64::from(e.refresh_token_lifetime_days) * 24 * 3600);
    let age = std::fs::metadata(&e.refresh_token_file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    if let Some(age) = age
        && age + EXPIRY_WARNING >= lifetime
    {
        let left_days = lifetime.saturating_sub(age).as_secs() / 86400;
        tracing::warn!(
            file = %e.refresh_token_file.display(),
            days_left = left_days,
            "the OAuth2 refresh token is about to expire: sign in again to get a new one before it does"
        );
    }
}
