//! Three `ticketgate run` instances on one database, one Dovecot mailbox and one SMTP
//! server, while 500 mails arrive and the instance reading the mailbox is killed and
//! restarted: every mail becomes one ticket or comment, every notification reaches the
//! server once, and the Processed folder holds every mail.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::Row;

use crate::daemon::{Daemon, terminate};
use crate::support::dovecot::Dovecot;
use crate::support::helpers::{Cli, connect_any};
use crate::support::smtp_sink::SmtpSink;

const USER: &str = "support";
const PASSWORD: &str = "s3cret-pass";
/// New tickets; then as many replies as `REPLIES`, each to one of the first tickets.
const NEW_TICKETS: u32 = 400;
const REPLIES: u32 = 100;
/// The lease of the test's instances: a takeover within a few seconds.
const LEASE_SECONDS: u64 = 3;

/// Mail `n`: a new request from customer `n`, or (past `NEW_TICKETS`) that customer's
/// reply to the acknowledgement of an earlier one.
fn mail(n: u32) -> Vec<u8> {
    if n < NEW_TICKETS {
        format!(
            "From: Customer {n} <customer{n}@client{n}.example>\r\nTo: support@localhost\r\n\
             Subject: Problem number {n}\r\nMessage-ID: <cluster-{n}@client.example>\r\n\
             Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nHello, thing {n} is broken.\r\n"
        )
    } else {
        let to = n - NEW_TICKETS;
        format!(
            "From: Customer {to} <customer{to}@client{to}.example>\r\nTo: support@localhost\r\n\
             Subject: Re: Problem number {to}\r\nMessage-ID: <cluster-{n}@client.example>\r\n\
             In-Reply-To: <cluster-{to}@client.example>\r\nReferences: <cluster-{to}@client.example>\r\n\
             Date: Tue, 24 Nov 2026 10:05:00 +0000\r\n\r\nIt is still broken this morning.\r\n"
        )
    }
    .into_bytes()
}

/// The running instances (each killed if the test fails).
struct Nodes {
    cli: Cli,
    children: HashMap<String, Daemon>,
    logs: Vec<PathBuf>,
}

impl Nodes {
    fn start(&mut self, name: &str) {
        let log = self
            .cli
            .dir
            .path()
            .join(format!("{name}.{}.log", self.logs.len()));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = self.cli.command(&["run"]);
        cmd.env("TICKETGATE_CLUSTER__INSTANCE", name)
            .stdout(Stdio::null())
            .stderr(file);
        let child = Daemon::spawn(cmd);
        self.logs.push(log);
        self.children.insert(name.to_string(), child);
    }

    fn kill(&mut self, name: &str) {
        let mut child = self.children.remove(name).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM to each; each must stop cleanly.
    fn stop_all(&mut self) {
        for (name, daemon) in std::mem::take(&mut self.children) {
            assert_eq!(
                terminate(daemon).status.code(),
                Some(0),
                "{name} exit status"
            );
        }
    }

    fn log(&self) -> String {
        self.logs
            .iter()
            .map(|l| std::fs::read_to_string(l).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn count(db: &mut sqlx::AnyConnection, sql: &'static str) -> i64 {
    sqlx::query(sql)
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<i64, _>(0)
}

/// The instance named in the mailbox's lease while it is held.
async fn reader(db: &mut sqlx::AnyConnection) -> Option<String> {
    let row = sqlx::query("SELECT holder, expires_at FROM leases WHERE name = 'mailbox:support'")
        .fetch_optional(db)
        .await
        .ok()??;
    let expires: i64 = row.get("expires_at");
    let holder: String = row.get("holder");
    (expires > chrono::Utc::now().timestamp_millis())
        .then(|| holder.split('/').next().unwrap_or_default().to_string())
}

async fn wait_until<F: AsyncFnMut() -> bool>(what: &str, timeout: Duration, mut done: F) {
    let start = Instant::now();
    while !done().await {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The Message-ID header of a received mail.
fn message_id(mail: &str) -> String {
    mail.lines()
        .find_map(|l| {
            l.strip_prefix("Message-ID:")
                .or_else(|| l.strip_prefix("Message-Id:"))
        })
        .map(|v| v.trim().trim_matches(['<', '>']).to_string())
        .unwrap_or_else(|| panic!("a notification without Message-ID: {mail}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_500_mails_while_the_reader_is_killed_and_restarted() {
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    let config = format!(
        "[[mailbox]]\nname = \"support\"\naddress = \"support@localhost\"\nhost = \"{}\"\nport = {}\n\
         tls = \"none\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n\
         [smtp]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
         [notifications]\nretry_first_secs = 1\n[cluster]\nlease_seconds = {LEASE_SECONDS}\n",
        dovecot.host(),
        dovecot.port(),
        sink.port
    );
    cli.write("config/ticketgate.toml", config.as_bytes());
    let url = cli.database_url();
    let mut nodes = Nodes {
        cli,
        children: HashMap::new(),
        logs: Vec::new(),
    };
    // All three at once: they migrate the fresh database together.
    for name in ["node-1", "node-2", "node-3"] {
        nodes.start(name);
    }
    wait_until(
        "an instance to read the mailbox",
        Duration::from_secs(30),
        async || {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            // Until the instances created and migrated it, the database may not be there.
            match sqlx::AnyConnection::connect(&url).await {
                Ok(mut conn) => reader(&mut conn).await.is_some(),
                Err(_) => false,
            }
        },
    )
    .await;
    let mut db = connect_any(&url).await;
    let began = Instant::now();

    // The mail arrives steadily while the reader is killed and restarted.
    let all: Vec<Vec<u8>> = (0..NEW_TICKETS + REPLIES).map(mail).collect();
    let appending = {
        let (first, rest) = all.split_at(150);
        dovecot
            .append_all(USER, "INBOX", first, Duration::ZERO)
            .await;
        dovecot.append_all(USER, "INBOX", rest, Duration::from_millis(5))
    };
    let chaos = async {
        let mut conn = connect_any(&url).await;
        wait_until(
            "the first 100 tickets",
            Duration::from_secs(60),
            async || count(&mut conn, "SELECT COUNT(*) FROM tickets").await >= 100,
        )
        .await;
        let victim = reader(&mut conn).await.expect("someone reads the mailbox");
        nodes.kill(&victim);
        let killed_at = Instant::now();
        let mut successor = None;
        wait_until(
            "another instance to take the mailbox over",
            Duration::from_secs(20),
            async || {
                successor = reader(&mut conn).await.filter(|r| *r != victim);
                successor.is_some()
            },
        )
        .await;
        let takeover = killed_at.elapsed();
        eprintln!(
            "{victim} killed; {} took the mailbox over after {takeover:?}",
            successor.unwrap()
        );
        assert!(
            takeover < Duration::from_secs(LEASE_SECONDS + 3),
            "takeover took {takeover:?}"
        );
        nodes.start(&victim);
        victim
    };
    let ((), victim) = tokio::join!(appending, chaos);

    let total = i64::from(NEW_TICKETS + REPLIES);
    wait_until(
        "every mail handled and every notification sent",
        Duration::from_secs(120),
        async || {
            let processed = dovecot.count(USER, "Processed").await;
            let unsent = count(
                &mut db,
                "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')",
            )
            .await;
            let sent = count(&mut db, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'").await;
            i64::from(processed) == total && unsent == 0 && sink.received().len() as i64 >= sent
        },
    )
    .await;
    let handled_in = began.elapsed();
    // Anything late would show now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    nodes.stop_all();
    let log = nodes.log();

    // Every mail: once in the Processed folder, none left in the INBOX.
    assert_eq!(i64::from(dovecot.count(USER, "Processed").await), total);
    assert_eq!(dovecot.count(USER, "INBOX").await, 0);

    // Every mail: exactly one ticket or comment.
    assert_eq!(count(&mut db, "SELECT COUNT(*) FROM messages").await, total);
    let inbound: Vec<String> =
        sqlx::query("SELECT message_id FROM articles WHERE direction = 'inbound'")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("message_id"))
            .collect();
    let distinct: HashSet<&String> = inbound.iter().collect();
    assert_eq!(inbound.len() as i64, total, "one article per mail");
    assert_eq!(distinct.len(), inbound.len(), "no mail twice");
    assert_eq!(
        count(&mut db, "SELECT COUNT(*) FROM tickets").await,
        i64::from(NEW_TICKETS)
    );
    let numbers = count(&mut db, "SELECT COUNT(DISTINCT number) FROM tickets").await;
    assert_eq!(numbers, i64::from(NEW_TICKETS), "ticket numbers are unique");
    let answered = count(
        &mut db,
        "SELECT COUNT(*) FROM (SELECT ticket_id FROM articles WHERE direction = 'inbound' \
         GROUP BY ticket_id HAVING COUNT(*) = 2) answered",
    )
    .await;
    assert_eq!(
        answered,
        i64::from(REPLIES),
        "each reply is a comment on its ticket"
    );

    // Every notification: sent, and received once, but for what the killed instance may
    // have handed to the server just before it died (released at its restart, and said so).
    let rows = sqlx::query("SELECT id, status, message_id FROM outbox")
        .fetch_all(&mut db)
        .await
        .unwrap();
    let mut expected: HashMap<String, i64> = HashMap::new();
    for row in &rows {
        let status: String = row.get("status");
        assert_eq!(status, "sent", "outbox row {}", row.get::<i64, _>("id"));
        expected.insert(row.get("message_id"), row.get("id"));
    }
    assert!(
        expected.len() as u32 >= NEW_TICKETS,
        "one acknowledgement per ticket at least"
    );
    let mut received: HashMap<String, u32> = HashMap::new();
    for (_, content) in sink.received() {
        *received.entry(message_id(&content)).or_default() += 1;
    }
    let released: HashSet<i64> = log
        .lines()
        .filter(|l| l.contains("sent again"))
        .flat_map(|l| {
            let ids = l
                .split("ids=[")
                .nth(1)
                .unwrap_or("")
                .split(']')
                .next()
                .unwrap_or("");
            ids.split(',')
                .filter_map(|i| i.trim().parse().ok())
                .collect::<Vec<i64>>()
        })
        .collect();
    for (message_id, id) in &expected {
        let times = received.get(message_id).copied().unwrap_or(0);
        assert!(times >= 1, "notification {id} never arrived");
        assert!(
            times == 1 || (times == 2 && released.contains(id)),
            "notification {id} arrived {times} times (released after the kill: {released:?})"
        );
    }
    assert_eq!(
        received.len(),
        expected.len(),
        "nothing arrived that the outbox did not send"
    );
    eprintln!(
        "{total} mails handled by three instances in {handled_in:?}, {} notifications, {} sent twice after the kill of {victim}",
        expected.len(),
        received.values().filter(|&&n| n > 1).count()
    );
    assert!(log.contains("lease taken"), "{log}");
}
