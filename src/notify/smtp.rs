//! The SMTP client of the outbox: connections to the server kept open between
//! notifications (one per sender the mail lane runs at once), with Nagle's algorithm off.
//!
//! lettre speaks the protocol; this module opens the connections itself, because lettre's
//! own transport (0.11) leaves Nagle's algorithm on: it writes a message and then its final
//! `CRLF.CRLF` as two small writes, the second waits for the server's delayed ACK, and
//! every notification cost 40 ms of waiting on Linux (about 20 notifications per second on
//! one connection, whatever the CPU). With `TCP_NODELAY` a notification costs what its
//! exchange costs.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::send_error::{SendError, SendFailure, TransportError};

/// How long connecting, the TLS handshake, the greeting, EHLO and AUTH may take together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection unused for this long is closed and a new one opened: servers drop idle
/// clients after a few minutes (RFC 5321 asks them to wait at least 5).
const MAX_IDLE: Duration = Duration::from_secs(60);

/// A connection used within this long is sent the next message without a NOOP first: in
/// a backlog the check was one exchange of five per message. Should the server have
/// closed it all the same, the message is offered again at once on a new connection.
const CHECK_AFTER: Duration = Duration::from_secs(2);

/// How the connection is secured.
#[derive(Clone)]
enum Security {
    /// Plain SMTP (the configuration allows it for a loopback host only).
    None,
    /// Plain, then STARTTLS before anything else; lettre upgrades the stream.
    StartTls(TlsParameters),
    /// TLS from the first byte.
    Implicit {
        config: Arc<ClientConfig>,
        name: rustls_pki_types::ServerName<'static>,
    },
}

/// Where and how to send; cloning shares the kept connections.
#[derive(Clone)]
pub struct SmtpClient {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    /// The open connections no send is using, the most recently used last.
    kept: Arc<std::sync::Mutex<Vec<Kept>>>,
}

/// The open connection between two notifications.
struct Kept {
    connection: AsyncSmtpConnection,
    last_used: Instant,
}

impl std::fmt::Debug for SmtpClient {
    /// Never shows the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let security = match self.security {
            Security::None => "none",
            Security::StartTls(_) => "starttls",
            Security::Implicit { .. } => "implicit",
        };
        f.debug_struct("SmtpClient")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &security)
            .field("authenticated", &self.credentials.is_some())
            .finish()
    }
}

impl SmtpClient {
    /// A client for `host:port`; `tls` is the configured mode, `ca_file` a CA to trust
    /// besides the public roots, `credentials` the login (AUTH PLAIN or LOGIN).
    pub fn new(
        host: &str,
        port: u16,
        tls: crate::config::TlsMode,
        ca_file: Option<&std::path::Path>,
        credentials: Option<Credentials>,
    ) -> Result<SmtpClient, TransportError> {
        use crate::config::TlsMode;
        let security = match tls {
            TlsMode::None => Security::None,
            TlsMode::StartTls => Security::StartTls(starttls_parameters(host, ca_file)?),
            TlsMode::Implicit => Security::Implicit {
                config: implicit_tls_config(ca_file)?,
                name: rustls_pki_types::ServerName::try_from(host.to_string())
                    .map_err(|e| TransportError::new(format!("smtp.host {host}: {e}")))?,
            },
        };
        Ok(SmtpClient {
            host: host.to_string(),
            port,
            security,
            credentials,
            hello: ClientId::default(),
            kept: Arc::default(),
        })
    }

    /// Sends `message` to the envelope's recipients over a kept connection (checked with
    /// NOOP first unless it was used a moment ago) or a new one. After any failure the
    /// connection is closed, so that the next notification starts on a fresh one.
    /// Says the server's answer to the message: its code and text (`250 2.0.0 Ok: queued`).
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<String, SendError> {
        let (mut connection, checked) = self.connection().await?;
        let mut sent = connection.send(envelope, message).await;
        if let Err(e) = &sent
            && !checked
            && closed_meanwhile(e)
        {
            tracing::debug!(error = %e, "the kept SMTP connection was closed; sending on a new one");
            connection.abort().await;
            connection = self.connect().await?;
            sent = connection.send(envelope, message).await;
        }
        match sent {
            Ok(response) => {
                self.keep(connection);
                Ok(answer(&response))
            }
            Err(e) => {
                connection.abort().await;
                Err(classify(e))
            }
        }
    }

    /// A kept connection or a new one, and whether it is known to work (new, or it
    /// answered NOOP just now).
    async fn connection(&self) -> Result<(AsyncSmtpConnection, bool), SendError> {
        loop {
            let Some(mut kept) = self.lock().pop() else {
                return Ok((self.connect().await?, true));
            };
            let idle = kept.last_used.elapsed();
            if kept.connection.has_broken() || idle >= MAX_IDLE {
                kept.connection.abort().await;
            } else if idle < CHECK_AFTER {
                return Ok((kept.connection, false));
            } else if kept.connection.test_connected().await {
                return Ok((kept.connection, true));
            } else {
                kept.connection.abort().await;
            }
        }
    }

    /// Keeps `connection` open for the next message.
    fn keep(&self, connection: AsyncSmtpConnection) {
        self.lock().push(Kept {
            connection,
            last_used: Instant::now(),
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Kept>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session as [`SmtpClient::send`] would (TLS, EHLO, STARTTLS when configured,
    /// AUTH when credentials are) and ends it with QUIT, sending nothing: what
    /// `check-config --connect` reports. Says who answered and how the session went.
    pub async fn check(&self) -> Result<String, SendError> {
        let mut connection = self.connect().await?;
        let server = connection.server_info().name().to_string();
        let _ = tokio::time::timeout(Duration::from_secs(5), connection.quit()).await;
        let security = match self.security {
            Security::None => "no TLS",
            Security::StartTls(_) => "STARTTLS",
            Security::Implicit { .. } => "implicit TLS",
        };
        let login = if self.credentials.is_some() {
            "AUTH accepted"
        } else {
            "no login"
        };
        Ok(format!(
            "{} answered as {server}: EHLO, {security}, {login}",
            self.address()
        ))
    }

    /// Closes the kept connections that have not been used for a while, so that an idle
    /// daemon holds no connection the server is about to drop.
    pub async fn close_idle(&self) {
        let idle: Vec<Kept> = {
            let mut kept = self.lock();
            let (idle, fresh) = std::mem::take(&mut *kept)
                .into_iter()
                .partition(|k| k.last_used.elapsed() >= MAX_IDLE);
            *kept = fresh;
            idle
        };
        for mut k in idle {
            k.connection.abort().await;
        }
    }

    /// Opens, secures and authenticates a new connection, within [`CONNECT_TIMEOUT`].
    /// Whatever fails here is [`SendError::Unreachable`]: no message was offered yet.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let opening = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|source| {
                    SendError::Temporary(SendFailure::Connect {
                        address: self.address(),
                        source,
                    })
                })?;
            // The reason this module exists: see the module's documentation.
            tcp.set_nodelay(true)
                .map_err(|e| SendError::Temporary(SendFailure::NoDelay(e)))?;
            let mut connection = match &self.security {
                Security::None => {
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                        .await
                        .map_err(classify)?
                }
                Security::StartTls(parameters) => {
                    let mut connection =
                        AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                            .await
                            .map_err(classify)?;
                    connection
                        .starttls(parameters.clone(), &self.hello)
                        .await
                        .map_err(classify)?;
                    connection
                }
                Security::Implicit { config, name } => {
                    let tls = TlsConnector::from(config.clone())
                        .connect(name.clone(), tcp)
                        .await
                        .map_err(|source| {
                            SendError::Temporary(SendFailure::Tls {
                                address: self.address(),
                                source,
                            })
                        })?;
                    AsyncSmtpConnection::connect_with_transport(
                        Box::new(ImplicitTls(tls)),
                        &self.hello,
                    )
                    .await
                    .map_err(classify)?
                }
            };
            if let Some(credentials) = &self.credentials {
                connection
                    .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                    .await
                    .map_err(classify)?;
            }
            Ok(connection)
        };
        tokio::time::timeout(CONNECT_TIMEOUT, opening)
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Temporary(SendFailure::LoginTimeout {
                    address: self.address(),
                    timeout: CONNECT_TIMEOUT,
                }))
            })
            .map_err(SendError::unreachable)
    }

    /// `host:port`, as messages name the server.
    fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Whether `e`, met on a kept connection sent to without a NOOP first, says that the
/// server had closed it meanwhile (a server that drops idle clients early): it answered
/// nothing, or 421, which servers say as they close a connection on a timeout. The message
/// is then offered again at once on a new connection.
fn closed_meanwhile(e: &lettre::transport::smtp::Error) -> bool {
    e.status().is_none_or(|code| code.to_string() == "421")
}

/// A server's answer as it said it: code and text, its lines joined.
fn answer(response: &lettre::transport::smtp::response::Response) -> String {
    let text: Vec<&str> = response.message().collect();
    format!("{} {}", response.code(), text.join(" "))
}

/// A 5xx answer is for good; anything else (4xx, connection or TLS trouble) may pass.
fn classify(e: lettre::transport::smtp::Error) -> SendError {
    if e.is_permanent() {
        SendError::Permanent(SendFailure::Smtp(e))
    } else {
        SendError::Temporary(SendFailure::Smtp(e))
    }
}

/// lettre's parameters for STARTTLS: the public roots, plus `ca_file` when given.
fn starttls_parameters(
    host: &str,
    ca_file: Option<&std::path::Path>,
) -> Result<TlsParameters, TransportError> {
    use lettre::transport::smtp::client::Certificate;
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(file) = ca_file {
        let bad = |e: &dyn std::fmt::Display| {
            TransportError::new(format!("smtp.ca_file {}: {e}", file.display()))
        };
        let pem = std::fs::read(file).map_err(|e| bad(&e))?;
        builder = builder.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| bad(&e))?);
    }
    builder
        .build_rustls()
        .map_err(|e| TransportError::new(e.to_string()))
}

/// The TLS client of implicit TLS: the public roots, plus every certificate of `ca_file`.
fn implicit_tls_config(
    ca_file: Option<&std::path::Path>,
) -> Result<Arc<ClientConfig>, TransportError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(file) = ca_file {
        let bad = |e: &dyn std::fmt::Display| {
            TransportError::new(format!("smtp.ca_file {}: {e}", file.display()))
        };
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(file).map_err(|e| bad(&e))? {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad(&"no PEM certificate in it"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::new(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A TLS stream that lettre can speak SMTP over, as it does over a plain one.
#[derive(Debug)]
struct ImplicitTls(TlsStream<TcpStream>);

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for ImplicitTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}
