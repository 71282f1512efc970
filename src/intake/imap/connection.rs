//! Opening an authenticated IMAP session: TCP, TLS (implicit or STARTTLS), then LOGIN or
//! XOAUTH2.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::{Client, Session};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::ImapError;
use super::token::TokenProvider;
use crate::config::{MailboxAuth, MailboxSettings, TlsMode};

/// How long connecting, the TLS handshake and login may take together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The byte stream under an IMAP session: plain TCP (loopback only) or TLS.
#[derive(Debug)]
pub enum ImapStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An authenticated session.
pub type ImapSession = Session<ImapStream>;

/// The TLS settings for a mailbox: the public web roots plus its `ca_file`.
pub fn tls_config(mailbox: &MailboxSettings) -> Result<Arc<ClientConfig>, ImapError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = &mailbox.ca_file {
        let bad = |message: String| ImapError::CaFile {
            path: path.display().to_string(),
            message,
        };
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))?;
        let mut added = 0;
        for cert in certs {
            roots
                .add(cert.map_err(|e| bad(e.to_string()))?)
                .map_err(|e| bad(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad("no PEM certificate in it".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapError::Tls {
            host: mailbox.host.clone(),
            message: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Connects and logs in, within [`CONNECT_TIMEOUT`].
pub async fn open_session(
    mailbox: &MailboxSettings,
    tls: &Arc<ClientConfig>,
    tokens: &TokenProvider,
) -> Result<ImapSession, ImapError> {
    tokio::time::timeout(CONNECT_TIMEOUT, async {
        let client = connect(mailbox, tls).await?;
        login(mailbox, client, tokens).await
    })
    .await
    .map_err(|_| ImapError::Timeout {
        host: mailbox.host.clone(),
        port: mailbox.port,
    })?
}

async fn connect(
    mailbox: &MailboxSettings,
    tls: &Arc<ClientConfig>,
) -> Result<Client<ImapStream>, ImapError> {
    let address = format!("{}:{}", mailbox.host, mailbox.port);
    let tcp = TcpStream::connect(&address)
        .await
        .map_err(|source| ImapError::Connect {
            address: address.clone(),
            source,
        })?;
    tcp.set_nodelay(true).ok();
    let stream = match mailbox.tls {
        TlsMode::Implicit => ImapStream::Tls(Box::new(handshake(mailbox, tls, tcp).await?)),
        TlsMode::None | TlsMode::StartTls => ImapStream::Plain(tcp),
    };
    let mut client = Client::new(stream);
    read_greeting(&mut client, &address).await?;
    if mailbox.tls != TlsMode::StartTls {
        return Ok(client);
    }
    client
        .run_command_and_check_ok("STARTTLS", None)
        .await
        .map_err(|source| ImapError::Protocol {
            doing: "starting TLS (STARTTLS)",
            source,
        })?;
    let ImapStream::Plain(tcp) = client.into_inner() else {
        unreachable!("STARTTLS runs on a plain stream")
    };
    Ok(Client::new(ImapStream::Tls(Box::new(
        handshake(mailbox, tls, tcp).await?,
    ))))
}

async fn read_greeting(client: &mut Client<ImapStream>, address: &str) -> Result<(), ImapError> {
    // async-imap does not read the server's greeting by itself.
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ImapError::Connect {
            address: address.to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed before its greeting",
            ),
        }),
        Err(source) => Err(ImapError::Connect {
            address: address.to_string(),
            source,
        }),
    }
}

async fn handshake(
    mailbox: &MailboxSettings,
    tls: &Arc<ClientConfig>,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, ImapError> {
    let name = rustls_pki_types::ServerName::try_from(mailbox.host.clone()).map_err(|e| {
        ImapError::Tls {
            host: mailbox.host.clone(),
            message: e.to_string(),
        }
    })?;
    TlsConnector::from(tls.clone()).connect(name, tcp).await.map_err(|e| ImapError::Tls {
        host: mailbox.host.clone(),
        message: format!("{e} (is tls = \"implicit\" right for port {}? is the certificate trusted, or ca_file set?)", mailbox.port),
    })
}

/// The XOAUTH2 exchange, as Google, Microsoft and Dovecot take it: the credentials first;
/// a second challenge carries the server's error, which is answered with an empty line so
/// that the server ends with NO instead of waiting.
struct XOAuth2 {
    user: String,
    token: String,
    sent: bool,
}

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        if std::mem::replace(&mut self.sent, true) {
            return String::new();
        }
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

async fn login(
    mailbox: &MailboxSettings,
    client: Client<ImapStream>,
    tokens: &TokenProvider,
) -> Result<ImapSession, ImapError> {
    let refused = |e: async_imap::error::Error| ImapError::LoginRefused {
        user: mailbox.username.clone(),
        address: format!("{}:{}", mailbox.host, mailbox.port),
        message: e.to_string(),
    };
    match &mailbox.auth {
        MailboxAuth::Password(secret) => {
            let password = secret.read().map_err(ImapError::Secret)?;
            client
                .login(&mailbox.username, password)
                .await
                .map_err(|(e, _)| refused(e))
        }
        MailboxAuth::XOAuth2(_) => {
            let token = tokens.access_token().await?;
            let auth = XOAuth2 {
                user: mailbox.username.clone(),
                token,
                sent: false,
            };
            match client.authenticate("XOAUTH2", auth).await {
                Ok(session) => Ok(session),
                Err((e, _)) => {
                    // A revoked token must not be offered again until it expires.
                    tokens.invalidate().await;
                    Err(refused(e))
                }
            }
        }
    }
}
