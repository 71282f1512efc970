//! Slow clients against the portal: headers that never end lose their connection, a body
//! that never ends gets 408, within `[http] request_timeout_secs`; others are served
//! meanwhile, and the daemon still stops at once. Over real sockets against the real
//! daemon.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::portal::{Portal, cli_with};

/// What the server sends on `stream` until it closes it (or 10 s pass), and when that was.
fn until_closed(mut stream: TcpStream) -> (String, Duration) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn slow_clients_are_cut_off_and_others_served_meanwhile() {
    let portal = Portal::start(cli_with("[http]\nrequest_timeout_secs = 1\n"));
    let address = ("127.0.0.1", portal.port);

    // Headers that never end: the connection is closed.
    let mut headers = TcpStream::connect(address).unwrap();
    headers
        .write_all(b"GET /tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")
        .unwrap();
    // A body that never ends: 408.
    let mut body = TcpStream::connect(address).unwrap();
    body.write_all(
        b"POST /links HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 1000\r\n\r\nemail=a",
    )
    .unwrap();
    // Meanwhile, another client is served.
    assert_eq!(portal.get("/links", &[]).status, 200);

    let (said, after) = until_closed(headers);
    assert!(
        after < Duration::from_secs(5),
        "closed after {after:?}: {said}"
    );
    let (said, after) = until_closed(body);
    assert!(said.starts_with("HTTP/1.1 408"), "{said}");
    assert!(after < Duration::from_secs(5), "answered after {after:?}");

    // A connection left open does not hold the daemon up.
    let idle = TcpStream::connect(address).unwrap();
    let stopping = Instant::now();
    let log = portal.stop();
    assert!(stopping.elapsed() < Duration::from_secs(10), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    drop(idle);
}
