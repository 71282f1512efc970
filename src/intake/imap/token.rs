//! XOAUTH2 access tokens: from a file, from a command, or refreshed by ticketgate at an
//! OAuth2 token endpoint. Google and Microsoft 365 rotate refresh tokens: a new one is
//! written back to its file at once, and the log warns well before the one in use expires.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;

use super::ImapError;
use crate::config::{MailboxAuth, MailboxSettings, OAuth2Endpoint, TokenSource};

/// Refresh an access token this long before the provider says it expires.
const EARLY_REFRESH: Duration = Duration::from_secs(120);
/// Warn this long before a refresh token reaches its lifetime.
const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);

/// Hands out access tokens for one mailbox.
pub struct TokenProvider {
    source: Option<TokenSource>,
    tls: Arc<ClientConfig>,
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
            cached: Mutex::new(None),
        }
    }

    /// A token valid now.
    pub async fn access_token(&self) -> Result<String, ImapError> {
        let token_err = |m: String| ImapError::Token(m);
        match &self.source {
            None => Err(token_err("this mailbox logs in with a password".into())),
            Some(TokenSource::File(path)) => std::fs::read_to_string(path)
                .map(|t| t.trim().to_string())
                .map_err(|e| token_err(format!("cannot read token_file {}: {e}", path.display()))),
            Some(TokenSource::Command(cmd)) => {
                let out = tokio::process::Command::new("sh")
                    .args(["-c", cmd])
                    .kill_on_drop(true)
                    .output()
                    .await
                    .map_err(|e| token_err(format!("cannot run token_command: {e}")))?;
                if !out.status.success() {
                    return Err(token_err(format!(
                        "token_command failed ({}): {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    )));
                }
                Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
            }
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
    async fn refresh(&self, e: &OAuth2Endpoint) -> Result<(String, Duration), ImapError> {
        let file = &e.refresh_token_file;
        let refresh_token = std::fs::read_to_string(file)
            .map_err(|err| {
                ImapError::Token(format!(
                    "cannot read oauth2_refresh_token_file {}: {err}",
                    file.display()
                ))
            })?
            .trim()
            .to_string();
        warn_if_expiring(e);
        let mut form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", refresh_token.clone()),
            ("client_id", e.client_id.clone()),
        ];
        if let Some(secret) = &e.client_secret {
            form.push(("client_secret", secret.read().map_err(ImapError::Token)?));
        }
        if let Some(scope) = &e.scope {
            form.push(("scope", scope.clone()));
        }
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let (status, response) = post_form(&e.token_url, &body, &self.tls).await?;
        let json: serde_json::Value = serde_json::from_slice(&response).map_err(|_| {
            ImapError::Token(format!(
                "the token endpoint answered {status} with no JSON: {}",
                String::from_utf8_lossy(&response)
            ))
        })?;
        if !(200..300).contains(&status) {
            let error = json["error"].as_str().unwrap_or("error");
            let description = json["error_description"].as_str().unwrap_or("");
            return Err(ImapError::Token(format!(
                "the token endpoint refused the refresh token ({status} {error}: {description}); get a new refresh token into {}",
                file.display()
            )));
        }
        let access = json["access_token"].as_str().ok_or_else(|| {
            ImapError::Token("the token endpoint answered without access_token".into())
        })?;
        let lifetime = Duration::from_secs(json["expires_in"].as_u64().unwrap_or(3600));
        if let Some(rotated) = json["refresh_token"]
            .as_str()
            .filter(|r| *r != refresh_token)
        {
            crate::attachments::write_atomically(file, |f| {
                std::io::Write::write_all(f, rotated.as_bytes())
            })
            .map_err(|err| {
                ImapError::Token(format!(
                    "the provider rotated the refresh token but it cannot be saved: {err}"
                ))
            })?;
            tracing::info!(file = %file.display(), "refresh token rotated by the provider; the new one is saved");
        }
        Ok((access.to_string(), lifetime))
    }
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

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// A minimal HTTP/1.1 POST (the token endpoint is the only HTTP ticketgate's intake needs).
async fn post_form(
    url: &str,
    body: &str,
    tls: &Arc<ClientConfig>,
) -> Result<(u16, Vec<u8>), ImapError> {
    let err = |m: String| ImapError::Token(format!("token endpoint {url}: {m}"));
    let (https, rest) = match url.split_once("://") {
        Some(("https", rest)) => (true, rest),
        Some(("http", rest)) => (false, rest),
        _ => {
            return Err(err(
                "the URL must start with https:// (or http:// for a local test server)".into(),
            ));
        }
    };
    let (authority, path) = rest
        .find('/')
        .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h, p.parse().unwrap_or(443)),
        _ => (authority, if https { 443 } else { 80 }),
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Accept: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: ticketgate\r\n\r\n{body}",
        body.len()
    );
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| err(e.to_string()))?;
    let exchange = async {
        if https {
            let name = rustls_pki_types::ServerName::try_from(host.to_string())
                .map_err(|e| err(e.to_string()))?;
            let stream = TlsConnector::from(tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| err(e.to_string()))?;
            send_and_read(stream, &request).await
        } else {
            send_and_read(tcp, &request).await
        }
        .map_err(|e| err(e.to_string()))
    };
    let response = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .map_err(|_| err("no answer within 30 s".into()))??;
    parse_response(&response).ok_or_else(|| err("the answer is not HTTP".into()))
}

/// Writes the request, then reads until the server closes (the request says `Connection: close`).
async fn send_and_read<S>(mut stream: S, request: &str) -> std::io::Result<Vec<u8>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    Ok(response)
}

/// Status and body of an HTTP/1.1 response, de-chunked.
fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = &raw[split + 4..];
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    if !chunked {
        return Some((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(
            std::str::from_utf8(&rest[..line_end])
                .ok()?
                .split(';')
                .next()?
                .trim(),
            16,
        )
        .ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some((status, out));
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_read_plain_or_chunked() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}";
        assert_eq!(parse_response(plain), Some((200, b"{\"a\":1}".to_vec())));
        let chunked = b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), Some((400, b"{\"a\":1}".to_vec())));
    }

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(form_encode("a b/c+d"), "a+b%2Fc%2Bd");
    }
}
