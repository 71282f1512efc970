//! The IMAP harness's own tests, for the servers people run: Dovecot with Courier's
//! `INBOX.` namespace, and a folder name Dovecot refuses. Checked with async-imap, as a
//! client sees them, and on the wire where async-imap parses the lines away.

use std::time::Duration;

use async_imap::Session;
use async_imap::error::Error;
use futures::TryStreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::support::dovecot::{Dovecot, Options};

const USER: &str = "support";
const PASSWORD: &str = "s3cret-pass";

/// Bound on each read of [`Wire`].
const WIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A distinct small message.
fn mail(n: u32) -> Vec<u8> {
    format!("From: customer{n}@example.com\r\nSubject: Problem {n}\r\n\r\nThing {n} is broken.\r\n")
        .into_bytes()
}

async fn start(options: Options) -> Option<Dovecot> {
    Dovecot::start_with(&[(USER, PASSWORD)], options).await
}

/// A bare IMAP connection, for the exact lines (greetings, response codes, NAMESPACE).
struct Wire {
    stream: BufReader<TcpStream>,
    tags: u32,
}

impl Wire {
    /// Connected to 127.0.0.1:`port`, with the server's greeting.
    async fn connect(port: u16) -> (Wire, String) {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut wire = Wire {
            stream: BufReader::new(stream),
            tags: 0,
        };
        let greeting = wire.line().await;
        (wire, greeting)
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        let read = tokio::time::timeout(WIRE_TIMEOUT, self.stream.read_line(&mut line));
        read.await.expect("a line within 10 s").unwrap();
        assert!(!line.is_empty(), "the connection closed");
        line.trim_end().to_string()
    }

    /// Sends `command`, then `literal` once the server asks for it, and returns the lines of
    /// the answer, the tagged one last. Not for answers with literals.
    async fn send(&mut self, command: &str, literal: Option<&[u8]>) -> Vec<String> {
        self.tags += 1;
        let tag = format!("w{}", self.tags);
        let stream = self.stream.get_mut();
        stream
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .await
            .unwrap();
        let mut lines = Vec::new();
        if let Some(literal) = literal {
            let go_ahead = self.line().await;
            assert!(go_ahead.starts_with('+'), "{command}: {go_ahead}");
            let stream = self.stream.get_mut();
            stream.write_all(literal).await.unwrap();
            stream.write_all(b"\r\n").await.unwrap();
        }
        loop {
            let line = self.line().await;
            let done = line.starts_with(&format!("{tag} "));
            lines.push(line);
            if done {
                return lines;
            }
        }
    }
}

/// The folders `LIST "" "*"` shows, each as its name, a space and its hierarchy
/// delimiter, sorted.
async fn folders(session: &mut Session<TcpStream>) -> Vec<String> {
    let names: Vec<_> = session
        .list(Some(""), Some("*"))
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut folders: Vec<String> = names
        .iter()
        .map(|n| format!("{} {}", n.name(), n.delimiter().unwrap_or("NIL")))
        .collect();
    folders.sort();
    folders
}

#[tokio::test]
async fn courier_namespace_keeps_every_folder_under_inbox() {
    let Some(dovecot) = start(Options::courier()).await else {
        return;
    };
    assert_eq!(dovecot.folder("Processed"), "INBOX.Processed");
    let mut session = dovecot.session(USER).await;
    assert_eq!(folders(&mut session).await, ["INBOX ."], "no Processed yet");
    match session.create("Processed").await {
        Err(Error::No(answer)) => assert!(answer.contains("namespace"), "{answer}"),
        other => panic!("CREATE Processed outside the namespace: {other:?}"),
    }
    session.create("INBOX.Processed").await.unwrap();
    assert_eq!(
        folders(&mut session).await,
        ["INBOX .", "INBOX.Processed ."]
    );
    session.logout().await.unwrap();

    dovecot.append(USER, "INBOX.Processed", &mail(1)).await;
    assert_eq!(dovecot.count(USER, "INBOX.Processed").await, 1);
    assert_eq!(dovecot.messages(USER, "INBOX.Processed").await, [mail(1)]);
    dovecot.recreate_folder(USER, "INBOX.Processed").await;
    assert_eq!(dovecot.count(USER, "INBOX.Processed").await, 0);

    let (mut wire, _) = Wire::connect(dovecot.port()).await;
    wire.send(&format!("LOGIN {USER} {PASSWORD}"), None).await;
    let namespace = wire.send("NAMESPACE", None).await;
    assert_eq!(namespace[0], r#"* NAMESPACE (("INBOX." ".")) NIL NIL"#);
    let root = wire.send(r#"LIST "" """#, None).await;
    assert_eq!(root[0], r#"* LIST (\Noselect) "." """#);
}

#[tokio::test]
async fn processed_is_auto_created_inside_the_namespace_when_asked() {
    let options = Options {
        auto_create_processed: true,
        ..Options::courier()
    };
    let Some(dovecot) = start(options).await else {
        return;
    };
    assert_eq!(dovecot.count(USER, "INBOX.Processed").await, 0);
}

#[tokio::test]
async fn the_refused_folder_name_is_answered_no_in_either_namespace() {
    for options in [Options::default(), Options::courier()] {
        let Some(dovecot) = start(options).await else {
            return;
        };
        let mut session = dovecot.session(USER).await;
        match session.create(dovecot.refused_folder()).await {
            Err(Error::No(answer)) => assert!(
                answer.contains("Invalid mailbox name"),
                "{options:?}: {answer}"
            ),
            other => panic!(
                "{options:?}: CREATE {}: {other:?}",
                dovecot.refused_folder()
            ),
        }
    }
}
