//! The harness itself: mail in and out, a restart, and the TLS and XOAUTH2 logins that the
//! IMAP tests rely on.

use std::sync::Arc;

use async_imap::{Authenticator, Client};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use super::Dovecot;
use super::mailbox::greeted;

/// SASL XOAUTH2 as Gmail and Outlook take it: the user and a bearer token in one response.
/// After a failure the server sends an error challenge, answered with an empty response.
struct XOAuth2 {
    user: String,
    token: String,
}

impl Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, challenge: &[u8]) -> String {
        if challenge.is_empty() {
            format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
        } else {
            String::new()
        }
    }
}

/// A TLS connection to the instance's imaps port that trusts its certificate and nothing else.
async fn connect_tls(dovecot: &Dovecot) -> Client<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(dovecot.ca_file()).expect("the instance's certificate"))
        .unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect((dovecot.host(), dovecot.tls_port()))
        .await
        .unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("a TLS handshake that verifies the instance's certificate");
    greeted(Client::new(tls)).await
}

#[tokio::test]
async fn dovecot_harness_appends_counts_restarts_and_speaks_tls_and_xoauth2() {
    let Some(mut dovecot) = Dovecot::start(&[("support", "token-7f3a")]).await else {
        return;
    };
    let first = b"From: a@example.com\r\nSubject: one\r\n\r\nFirst.\r\n".to_vec();
    let second = b"From: b@example.com\r\nSubject: two\r\n\r\nSecond.\r\n".to_vec();
    dovecot.append("support", "INBOX", &first).await;
    dovecot.append("support", "INBOX", &second).await;
    assert_eq!(dovecot.count("support", "INBOX").await, 2);
    assert_eq!(dovecot.count("support", "Processed").await, 0);
    assert_eq!(
        dovecot.messages("support", "INBOX").await,
        [first.clone(), second.clone()]
    );

    let xoauth2 = |token: &str| XOAuth2 {
        user: "support".into(),
        token: token.into(),
    };
    let client = connect_tls(&dovecot).await;
    let mut session = match client.authenticate("XOAUTH2", xoauth2("token-7f3a")).await {
        Ok(session) => session,
        Err((e, _)) => panic!("XOAUTH2 over TLS: {e}\n{}", dovecot.log()),
    };
    assert_eq!(session.examine("INBOX").await.unwrap().exists, 2);
    super::mailbox::logout(session).await;
    let client = connect_tls(&dovecot).await;
    assert!(
        client
            .authenticate("XOAUTH2", xoauth2("not-the-token"))
            .await
            .is_err(),
        "Dovecot accepted a wrong XOAUTH2 token"
    );

    let ports = (dovecot.port(), dovecot.tls_port());
    dovecot.restart().await;
    assert_eq!((dovecot.port(), dovecot.tls_port()), ports);
    assert_eq!(dovecot.messages("support", "INBOX").await, [first, second]);
}
