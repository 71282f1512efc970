//! The IMAP harness's own tests, for the servers people run: Dovecot with Courier's
//! `INBOX.` namespace, a folder name Dovecot refuses, and the proxy that plays a server
//! without IDLE, MOVE or UIDPLUS, or one that tells of new mail only on NOOP. Checked with
//! async-imap, as a client sees them, and on the wire where async-imap parses the lines away.

use std::collections::HashMap;
use std::time::Duration;

use async_imap::Session;
use async_imap::error::Error;
use async_imap::imap_proto::{Capability, Outcome, Response, ResponseCode};
use async_imap::types::UnsolicitedResponse;
use futures::TryStreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::support::dovecot::{Dovecot, Options};
use crate::support::imap_proxy::{ImapProxy, ProxyOptions};

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

/// The capabilities of a `* CAPABILITY` line or a `[CAPABILITY …]` response code.
fn capabilities(line: &str) -> Vec<String> {
    let list = match line.split_once("[CAPABILITY ") {
        Some((_, rest)) => rest.split(']').next().unwrap(),
        None => line.strip_prefix("* CAPABILITY ").expect(line),
    };
    list.split(' ').map(str::to_string).collect()
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

/// The UIDs a client listing new mail sees, as the intake lists it.
async fn listed(session: &mut Session<TcpStream>) -> Vec<u32> {
    let fetches: Vec<_> = session
        .uid_fetch("1:*", "(UID RFC822.SIZE)")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut uids: Vec<u32> = fetches.iter().filter_map(|f| f.uid).collect();
    uids.sort_unstable();
    uids
}

/// The message counts the server announced since the last call.
fn announced(session: &mut Session<TcpStream>) -> Vec<u32> {
    let mut counts = Vec::new();
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        if let UnsolicitedResponse::Exists(n) = response {
            counts.push(n);
        }
    }
    counts
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

#[tokio::test]
async fn the_proxy_removes_idle_move_and_uidplus_and_passes_the_rest() {
    let Some(dovecot) = start(Options::default()).await else {
        return;
    };
    dovecot.append(USER, "INBOX", &mail(1)).await;
    let removed = ["IDLE", "MOVE", "UIDPLUS"];
    let proxy = ImapProxy::start(
        dovecot.host(),
        dovecot.port(),
        ProxyOptions {
            remove_capabilities: &["IDLE", "MOVE", "UIDPLUS"],
            ..ProxyOptions::default()
        },
    );
    let kept_and_gone = |caps: &[String]| {
        assert!(caps.iter().any(|c| c == "IMAP4rev1"), "{caps:?}");
        assert!(!caps.iter().any(|c| removed.contains(&&**c)), "{caps:?}");
    };

    // On the wire: the greeting, CAPABILITY before login, LOGIN's tagged OK, and the
    // commands and response codes that go with the capabilities.
    // (Dovecot leaves the capabilities out of LOGIN's OK for a client that asked for them.)
    let (mut wire, _) = Wire::connect(proxy.port()).await;
    kept_and_gone(&capabilities(&wire.send("CAPABILITY", None).await[0]));
    let (mut wire, greeting) = Wire::connect(proxy.port()).await;
    kept_and_gone(&capabilities(&greeting));
    let login = wire.send(&format!("LOGIN {USER} {PASSWORD}"), None).await;
    let after_login = capabilities(login.last().unwrap());
    kept_and_gone(&after_login);
    assert!(after_login.contains(&"CONDSTORE".to_string()));
    kept_and_gone(&capabilities(&wire.send("CAPABILITY", None).await[0]));
    let append = wire.send("APPEND INBOX {5}", Some(b"Hi.\r\n")).await;
    assert!(append.last().unwrap().contains(" OK "), "{append:?}");
    assert!(!append.last().unwrap().contains("APPENDUID"), "{append:?}");
    // Dovecot refuses an APPEND to a missing folder before the client sends the literal.
    let nowhere = wire.send("APPEND Nowhere {5}", None).await;
    assert!(nowhere[0].contains(" NO [TRYCREATE]"), "{nowhere:?}");
    wire.send("SELECT INBOX", None).await;
    let commands = proxy.commands_of(1);
    assert_eq!(
        commands[commands.len() - 2..],
        ["APPEND Nowhere {5}", "SELECT INBOX"]
    );
    for refused in ["IDLE", "UID MOVE 1 Processed", "UID EXPUNGE 1"] {
        let answer = wire.send(refused, None).await;
        assert!(answer.last().unwrap().contains(" BAD "), "{answer:?}");
    }

    // As async-imap sees it, and a session that fetches a body (a literal) and appends one.
    let stream = TcpStream::connect((proxy.host(), proxy.port()))
        .await
        .unwrap();
    let mut client = async_imap::Client::new(stream);
    let greeting = client.read_response().await.unwrap().unwrap();
    let Response::Data {
        outcome:
            Outcome {
                code: Some(ResponseCode::Capabilities(caps)),
                ..
            },
        ..
    } = greeting.parsed()
    else {
        panic!("a greeting without capabilities: {:?}", greeting.parsed());
    };
    assert!(!caps.contains(&Capability::Atom("IDLE".into())), "{caps:?}");
    let (mut session, caps) = client
        .login_with_capabilities(USER, PASSWORD)
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    let caps = caps.expect("capabilities in LOGIN's tagged OK");
    assert!(caps.has_str("IMAP4rev1") && caps.has_str("CONDSTORE"));
    assert!(!removed.iter().any(|c| caps.has_str(c)));
    let asked = session.capabilities().await.unwrap();
    assert!(asked.has_str("IMAP4rev1") && !removed.iter().any(|c| asked.has_str(c)));
    session.select("INBOX").await.unwrap();
    let bodies: Vec<_> = session
        .uid_fetch("1", "(UID BODY.PEEK[])")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(bodies[0].body(), Some(&mail(1)[..]));
    session.append("INBOX", None, None, mail(2)).await.unwrap();
    assert!(matches!(
        session.uid_mv("1", "Processed").await,
        Err(Error::Bad(_))
    ));
    session.logout().await.unwrap();
    assert_eq!(
        dovecot.messages(USER, "INBOX").await,
        [mail(1), b"Hi.\r\n".to_vec(), mail(2)]
    );
}

/// The same listing, with and without Courier's late news: Dovecot itself tells a selected
/// session of new mail at the end of the next command; the proxy holds it until NOOP.
#[tokio::test]
async fn held_new_mail_is_listed_only_after_noop() {
    let Some(dovecot) = start(Options::default()).await else {
        return;
    };
    dovecot.append(USER, "INBOX", &mail(1)).await;
    let plain = ImapProxy::start(dovecot.host(), dovecot.port(), ProxyOptions::default());
    let courier = ImapProxy::start(
        dovecot.host(),
        dovecot.port(),
        ProxyOptions {
            remove_capabilities: &["IDLE"],
            hold_new_mail_until_noop: true,
        },
    );
    let mut told = dovecot.session_at(USER, plain.port()).await;
    let mut held = dovecot.session_at(USER, courier.port()).await;
    assert_eq!(told.select("INBOX").await.unwrap().exists, 1);
    assert_eq!(held.select("INBOX").await.unwrap().exists, 1);
    announced(&mut held);

    dovecot.append(USER, "INBOX", &mail(2)).await;
    listed(&mut told).await;
    assert_eq!(
        listed(&mut told).await,
        [1, 2],
        "Dovecot tells without NOOP"
    );
    assert_eq!(listed(&mut held).await, [1]);
    assert_eq!(
        listed(&mut held).await,
        [1],
        "still held after Dovecot told it"
    );
    let bodies: Vec<_> = held
        .uid_fetch("1:*", "(UID BODY.PEEK[])")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let bodies: Vec<_> = bodies.iter().map(|f| (f.uid, f.body())).collect();
    assert_eq!(
        bodies,
        [(Some(1), Some(&mail(1)[..]))],
        "a held body is dropped whole"
    );
    assert_eq!(announced(&mut held), [0u32; 0]);
    held.noop().await.unwrap();
    assert_eq!(announced(&mut held), [2]);
    assert_eq!(listed(&mut held).await, [1, 2]);

    // An EXPUNGE of a message the client knows passes while new mail is held; the count
    // told at NOOP is the folder's after it.
    dovecot.append(USER, "INBOX", &mail(3)).await;
    held.uid_store("1", "+FLAGS (\\Deleted)")
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let expunged: Vec<u32> = held.expunge().await.unwrap().try_collect().await.unwrap();
    assert_eq!(expunged, [1]);
    assert_eq!(listed(&mut held).await, [2]);
    announced(&mut held);
    held.noop().await.unwrap();
    assert_eq!(announced(&mut held), [2]);
    assert_eq!(listed(&mut held).await, [2, 3]);
}

#[tokio::test]
async fn the_command_log_counts_connections_and_body_fetches_by_uid() {
    let Some(dovecot) = start(Options::default()).await else {
        return;
    };
    for n in 1..=3 {
        dovecot.append(USER, "INBOX", &mail(n)).await;
    }
    let proxy = ImapProxy::start(dovecot.host(), dovecot.port(), ProxyOptions::default());
    let mut session = dovecot.session_at(USER, proxy.port()).await;
    session.select("INBOX").await.unwrap();
    for (set, items) in [
        ("1:2", "(UID BODY.PEEK[])"),
        ("3,2", "(UID BODY.PEEK[])"),
        ("1:3", "(UID RFC822.SIZE)"),
    ] {
        let stream = session.uid_fetch(set, items).await.unwrap();
        stream.try_collect::<Vec<_>>().await.unwrap();
    }
    session.logout().await.unwrap();
    dovecot.session_at(USER, proxy.port()).await;

    assert_eq!(proxy.connections(), 2);
    assert_eq!(
        proxy.body_fetch_counts(),
        HashMap::from([(1, 1), (2, 2), (3, 1)])
    );
    let first = proxy.commands_of(0);
    assert_eq!(first[0], format!("LOGIN \"{USER}\" \"{PASSWORD}\""));
    assert!(
        first.contains(&"UID FETCH 1:2 (UID BODY.PEEK[])".to_string()),
        "{first:?}"
    );
    assert_eq!(first.last().unwrap(), "LOGOUT");
    assert_eq!(proxy.commands_of(1).len(), 1, "{:?}", proxy.commands());
}
