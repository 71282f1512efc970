//! A one-connection HTTP server on a real socket, for the token endpoint tests: it reads
//! one request, answers as told, and hands back what it received. Plain bytes on purpose:
//! the answers under test (chunked, oversized, silent) are about the wire, not about an
//! HTTP library's idea of them.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// How the server answers the one request it takes.
pub enum Answer {
    /// These bytes, then close.
    Bytes(Vec<u8>),
    /// A chunked 200 whose chunks keep coming until the client hangs up (or
    /// [`ENDLESS_CAP`] bytes were written).
    EndlessChunks,
    /// Nothing: the connection stays open for a while.
    Silence,
}

/// The bound on an "endless" answer, far over anything a client that reads it all could
/// mistake for a limit of its own.
pub const ENDLESS_CAP: usize = 128 * 1024 * 1024;

/// What the server got, and how much of its answer it could write.
#[derive(Debug)]
pub struct Received {
    pub head: String,
    pub body: String,
    pub written: usize,
}

/// A 200 with a JSON body and a Content-Length.
pub fn json_ok(json: &str) -> Answer {
    Answer::Bytes(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
            json.len()
        )
        .into_bytes(),
    )
}

/// `status` with `body` sent in chunks of the given sizes (their sum is the body length).
pub fn chunked(status: &str, body: &str, sizes: &[usize]) -> Answer {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let mut rest = body;
    for &size in sizes {
        let (chunk, tail) = rest.split_at(size);
        out.push_str(&format!("{size:x}\r\n{chunk}\r\n"));
        rest = tail;
    }
    assert!(rest.is_empty(), "the chunk sizes cover the body");
    out.push_str("0\r\n\r\n");
    Answer::Bytes(out.into_bytes())
}

/// Serves one plain connection from `listener`.
pub fn serve(listener: TcpListener, answer: Answer) -> JoinHandle<Received> {
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("a client");
        exchange(socket, answer).await
    })
}

/// Serves one TLS connection from `listener`; a failed handshake ends with nothing received.
pub fn serve_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    answer: Answer,
) -> JoinHandle<Option<Received>> {
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("a client");
        let stream = acceptor.accept(socket).await.ok()?;
        Some(exchange(stream, answer).await)
    })
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, answer: Answer) -> Received {
    let (head, body) = read_request(&mut stream).await;
    let mut written = 0;
    match answer {
        Answer::Bytes(bytes) => {
            if stream.write_all(&bytes).await.is_ok() {
                written = bytes.len();
            }
            let _ = stream.shutdown().await;
        }
        Answer::EndlessChunks => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            let chunk = format!("2000\r\n{}\r\n", "x".repeat(0x2000));
            let mut sent = stream.write_all(head.as_bytes()).await;
            while sent.is_ok() && written < ENDLESS_CAP {
                sent = stream.write_all(chunk.as_bytes()).await;
                written += chunk.len();
            }
        }
        Answer::Silence => tokio::time::sleep(Duration::from_secs(30)).await,
    }
    Received {
        head,
        body,
        written,
    }
}

/// The request's head and its body, as long as Content-Length says.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> (String, String) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.expect("the request");
        request.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&request).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().expect("a length"))
                })
                .unwrap_or(0);
            if body.len() >= length || n == 0 {
                return (head.to_string(), body.to_string());
            }
        }
        assert!(n > 0, "the client closed before its request ended");
    }
}
