//! The token sources against real files, a real shell and a real HTTP server on a real
//! socket (IPv4, IPv6, TLS): chunked, oversized, silent and refusing answers.

mod server;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::*;
use crate::config::{ProcessedAction, SecretSource, TlsMode};
use server::{Answer, ENDLESS_CAP, chunked, json_ok, serve, serve_tls};

/// A mailbox logging in with `auth`, trusting `ca_file` beside the web roots.
fn mailbox(auth: MailboxAuth, ca_file: Option<PathBuf>) -> MailboxSettings {
    MailboxSettings {
        name: "oauth".into(),
        address: crate::domain::EmailAddress::parse("support@localhost").unwrap(),
        host: "127.0.0.1".into(),
        port: 143,
        tls: TlsMode::None,
        username: "support".into(),
        auth,
        ca_file,
        folder: "INBOX".into(),
        processed: ProcessedAction::Seen,
        ticket_type: None,
        language: None,
        time_zone: None,
        batch_size: 10,
        poll_interval: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(600),
        idle_check: None,
        agents: None,
        customers: None,
    }
}

/// A provider refreshing at `url` with the refresh token in `dir/refresh`.
fn endpoint_provider(dir: &Path, url: &str, ca_file: Option<PathBuf>) -> TokenProvider {
    std::fs::write(dir.join("refresh"), "refresh-1\n").unwrap();
    let auth = MailboxAuth::XOAuth2(TokenSource::Endpoint(OAuth2Endpoint {
        token_url: url.to_string(),
        client_id: "a b/c+d".into(),
        client_secret: Some(SecretSource::Inline("client-secret".into())),
        refresh_token_file: dir.join("refresh"),
        scope: Some("imap offline_access".into()),
        refresh_token_lifetime_days: 90,
    }));
    let mailbox = mailbox(auth, ca_file);
    let tls = super::super::connection::tls_config(&mailbox).unwrap();
    TokenProvider::new(&mailbox, tls)
}

/// The message an operator reads in the log for a failed token.
async fn failure(provider: &TokenProvider) -> String {
    provider.access_token().await.unwrap_err().to_string()
}

const GRANT: &str = r#"{"access_token":"access-1","expires_in":3600,"refresh_token":"rotated-2","token_type":"Bearer"}"#;

#[tokio::test]
async fn a_token_comes_from_a_file_or_a_command() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "from-file\n").unwrap();
    let tls = Arc::new(
        ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(tokio_rustls::rustls::RootCertStore::empty())
        .with_no_client_auth(),
    );
    let provider =
        |source| TokenProvider::new(&mailbox(MailboxAuth::XOAuth2(source), None), tls.clone());
    let file = provider(TokenSource::File(dir.path().join("token")));
    assert_eq!(file.access_token().await.unwrap(), "from-file");
    let command = provider(TokenSource::Command("echo ' from-command '".into()));
    assert_eq!(command.access_token().await.unwrap(), "from-command");

    let failing = provider(TokenSource::Command("echo no grant >&2; exit 3".into()));
    let error = failure(&failing).await;
    assert!(
        error.contains("token_command failed") && error.contains("no grant"),
        "{error}"
    );
    let missing = provider(TokenSource::File(dir.path().join("absent")));
    let error = failure(&missing).await;
    assert!(
        error.contains("cannot read token_file") && error.contains("No such file"),
        "{error}"
    );
    let password = TokenProvider::new(
        &mailbox(
            MailboxAuth::Password(SecretSource::Inline("x".into())),
            None,
        ),
        tls,
    );
    assert!(failure(&password).await.contains("logs in with a password"));
}

#[tokio::test]
async fn a_refresh_posts_the_form_saves_the_rotated_token_and_is_cached() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let server = serve(listener, json_ok(GRANT));
    let provider = endpoint_provider(dir.path(), &url, None);
    assert_eq!(provider.access_token().await.unwrap(), "access-1");
    // The server took one connection only: a second refresh could not be answered.
    assert_eq!(provider.access_token().await.unwrap(), "access-1");

    let received = server.await.unwrap();
    assert!(
        received.head.starts_with("POST /token HTTP/1.1"),
        "{received:?}"
    );
    let head = received.head.to_ascii_lowercase();
    assert!(
        head.contains("content-type: application/x-www-form-urlencoded")
            && head.contains("accept: application/json"),
        "{received:?}"
    );
    let mut fields: Vec<&str> = received.body.split('&').collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "client_id=a+b%2Fc%2Bd",
            "client_secret=client-secret",
            "grant_type=refresh_token",
            "refresh_token=refresh-1",
            "scope=imap+offline_access",
        ]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("refresh")).unwrap(),
        "rotated-2"
    );
}

#[tokio::test]
async fn an_ipv6_literal_endpoint_is_reached() {
    let Ok(listener) = TcpListener::bind("[::1]:0").await else {
        eprintln!("skipping the IPv6 token endpoint test: this machine has no IPv6 loopback");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = serve(listener, json_ok(GRANT));
    let provider = endpoint_provider(dir.path(), &format!("http://[::1]:{port}/token"), None);
    assert_eq!(provider.access_token().await.unwrap(), "access-1");
    let received = server.await.unwrap();
    assert!(
        received
            .head
            .to_ascii_lowercase()
            .contains(&format!("host: [::1]:{port}")),
        "{received:?}"
    );
}

#[tokio::test]
async fn a_chunked_answer_is_read_whole_granted_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    // Chunk boundaries inside a string and inside a key.
    let server = serve(
        listener,
        chunked("200 OK", GRANT, &[3, 17, 40, GRANT.len() - 60]),
    );
    let provider = endpoint_provider(dir.path(), &url, None);
    assert_eq!(provider.access_token().await.unwrap(), "access-1");
    server.await.unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let refusal =
        r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#;
    let server = serve(
        listener,
        chunked("400 Bad Request", refusal, &[5, refusal.len() - 5]),
    );
    let provider = endpoint_provider(dir.path(), &url, None);
    let error = failure(&provider).await;
    assert!(
        error.contains(
            "refused the refresh token (400 invalid_grant: Token has been expired or revoked.)"
        ) && error.contains("get a new refresh token into"),
        "{error}"
    );
    server.await.unwrap();
}

#[tokio::test]
async fn an_oversized_answer_is_refused_announced_or_while_it_streams() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let announced = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n{\"access_token\":";
    let server = serve(listener, Answer::Bytes(announced.as_bytes().to_vec()));
    let provider = endpoint_provider(dir.path(), &url, None);
    let error = failure(&provider).await;
    assert!(
        error.contains("answered more than 65536 bytes") && error.contains(&url),
        "{error}"
    );
    server.await.unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let server = serve(listener, Answer::EndlessChunks);
    let provider = endpoint_provider(dir.path(), &url, None);
    let error = failure(&provider).await;
    assert!(error.contains("answered more than 65536 bytes"), "{error}");
    drop(provider);
    let received = server.await.unwrap();
    assert!(
        received.written < ENDLESS_CAP / 2,
        "the client hung up early, not after reading {} bytes",
        received.written
    );
}

#[tokio::test]
async fn a_silent_endpoint_times_out_and_a_bad_url_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let server = serve(listener, Answer::Silence);
    let mut provider = endpoint_provider(dir.path(), &url, None);
    provider.limits.request = Duration::from_secs(1);
    let error = failure(&provider).await;
    assert!(
        error.contains(&format!(
            "the token endpoint {url} did not answer within 1 s"
        )),
        "{error}"
    );
    server.abort();

    for bad in [
        "ftp://127.0.0.1/token",
        "127.0.0.1:8080/token",
        "http://[::1/token",
    ] {
        let provider = endpoint_provider(dir.path(), bad, None);
        let error = failure(&provider).await;
        assert!(
            error.contains(&format!("oauth2_token_url `{bad}` is not an http(s) URL")),
            "{error}"
        );
    }
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_quoted_without_our_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let page = "<html>Bad gateway for refresh_token=refresh-1&client_secret=client-secret</html>";
    let answer = format!(
        "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\n\r\n{page}",
        page.len()
    );
    let server = serve(listener, Answer::Bytes(answer.into_bytes()));
    let provider = endpoint_provider(dir.path(), &url, None);
    let error = failure(&provider).await;
    assert!(
        error.contains(
            "answered 502 with no JSON: <html>Bad gateway for refresh_token=***&client_secret=***"
        ),
        "{error}"
    );
    assert!(
        !error.contains("refresh-1") && !error.contains("client-secret"),
        "{error}"
    );
    server.await.unwrap();
}

#[tokio::test]
async fn an_https_endpoint_is_trusted_through_the_mailbox_ca_file_only() {
    let certs = tempfile::tempdir().unwrap();
    if !make_certificate(certs.path()).await {
        eprintln!("skipping the HTTPS token endpoint test: openssl is not installed");
        return;
    }
    let acceptor = tls_acceptor(certs.path());
    let dir = tempfile::tempdir().unwrap();
    let ca_file = certs.path().join("cert.pem");

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/token", listener.local_addr().unwrap());
    let server = serve_tls(listener, acceptor.clone(), json_ok(GRANT));
    let provider = endpoint_provider(dir.path(), &url, Some(ca_file));
    assert_eq!(provider.access_token().await.unwrap(), "access-1");
    assert!(server.await.unwrap().is_some());

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/token", listener.local_addr().unwrap());
    let server = serve_tls(listener, acceptor, json_ok(GRANT));
    let provider = endpoint_provider(dir.path(), &url, None);
    let error = failure(&provider).await;
    assert!(
        error.contains(&format!("cannot reach the token endpoint {url}"))
            && error.contains("ca_file")
            && error.contains("certificate"),
        "{error}"
    );
    assert!(server.await.unwrap().is_none(), "no request without trust");
}

/// A self-signed leaf for 127.0.0.1 (rustls wants subjectAltName and CA:FALSE); false
/// when the openssl command is not installed.
async fn make_certificate(dir: &Path) -> bool {
    let output = tokio::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .await;
    match output {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => panic!("openssl: {e}"),
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            true
        }
    }
}

fn tls_acceptor(dir: &Path) -> tokio_rustls::TlsAcceptor {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls::{ServerConfig, crypto::ring};
    let certs = CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}
