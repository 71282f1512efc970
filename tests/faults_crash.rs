//! Faults that kill a process mid-work: the daemon killed with SIGKILL while mail
//! arrives, Dovecot killed in the middle of a FETCH. Nothing may be lost or doubled.
//!
//! Each test is the `ticketgate run` users run, on its own SQLite database (the crash
//! guarantees of PostgreSQL are its own, tried elsewhere: these return early in the
//! PostgreSQL pass). The kills land at pseudo-random moments from a seed that each test
//! prints; `TICKETGATE_TEST_SEED=N` replays a run.

mod dovecot_killed;
mod ledger;
mod mails;
mod relay;
mod storm;

use std::path::PathBuf;
use std::time::Duration;

use crate::daemon::{Daemon, deliver, files_in, stop, wait_for};
use crate::imap::cli_with;
use crate::support::dovecot::Dovecot;
use crate::support::helpers::Cli;
use ledger::Ledger;
use mails::{CONFIG, Mail, Plan};
use storm::{Inbox, Kills, seed, storm};

/// Mails per run.
const MAILS: usize = 1000;

/// Kills per run (one in four is followed by a second soon after the start).
const KILLS: usize = 6;

fn postgres_pass() -> bool {
    std::env::var_os("TICKETGATE_TEST_POSTGRES").is_some()
}

/// The daemon's Maildir, delivered into as an MTA does: tmp/, then renamed into new/.
struct MaildirInbox(PathBuf);

impl Inbox for MaildirInbox {
    async fn deliver(&mut self, mails: &[Mail]) {
        for mail in mails {
            deliver(&self.0, &mail.message_id, &mail.bytes);
        }
    }

    async fn let_go(&mut self, _: &mut Ledger) -> usize {
        std::fs::read_dir(self.0.join("cur")).unwrap().count()
    }
}

/// Stops the daemon a storm left running with SIGTERM, as an operator would, and checks
/// that it stopped cleanly; says where the kills landed and how many mails came again
/// after one (found to be duplicates).
fn stop_cleanly(cli: &Cli, daemon: Daemon, kills: &Kills, test: &str) {
    let stopped = stop(cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert!(!stopped.log.contains("panicked"), "{}", stopped.log);
    let again = stopped.log.matches("outcome=Duplicate").count();
    eprintln!(
        "{test}: killed with {:?} mails committed, {} time(s) between a commit and its \
         acknowledgements; {again} mail(s) came again and were found duplicates",
        kills.at, kills.unacknowledged
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maildir_mail_killed_daemon_loses_and_doubles_nothing() {
    if postgres_pass() {
        return;
    }
    let seed = seed("maildir");
    let cli = cli_with(CONFIG);
    let inbox = cli.dir.path().join("data/inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    let mut plan = Plan::new(seed);
    let mut ledger = Ledger::new(cli.database_url());
    let (daemon, kills) = storm(
        &cli,
        &mut MaildirInbox(inbox.clone()),
        &mut plan,
        &mut ledger,
        seed,
        MAILS,
        KILLS,
    )
    .await;
    wait_for("new/ to empty", Duration::from_secs(20), || {
        files_in(&inbox.join("new")).is_empty()
    });
    stop_cleanly(&cli, daemon, &kills, "maildir");

    ledger.check(&plan).await;
    let mut handled: Vec<String> = plan
        .mails
        .iter()
        .map(|m| format!("{}:2,S", m.message_id))
        .collect();
    handled.sort();
    assert_eq!(
        files_in(&inbox.join("cur")),
        handled,
        "each file once in cur/"
    );
    assert!(files_in(&inbox.join("tmp")).is_empty());
}

/// The user and password of the Dovecot mailbox.
const USER: &str = "support";
const PASSWORD: &str = "s3cret-pass";

/// The `[[mailbox]]` of the daemon, on `port` of 127.0.0.1, with `extra` keys.
fn mailbox(port: u16, extra: &str) -> String {
    format!(
        "[[mailbox]]\nname = \"support\"\naddress = \"support@localhost\"\nhost = \"127.0.0.1\"\n\
         port = {port}\ntls = \"none\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n{extra}\n"
    )
}

/// Dovecot's INBOX, delivered into as a mail server would: each wave in one MULTIAPPEND
/// (RFC 3502) with non-synchronizing literals (LITERAL+), one exchange rather than two per
/// message, over one connection kept for the run. async-imap knows neither.
struct ImapInbox {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
    tags: u32,
}

impl ImapInbox {
    async fn connect(port: u16) -> Self {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let mut inbox = ImapInbox {
            stream: tokio::io::BufReader::new(stream),
            tags: 0,
        };
        let greeting = inbox.line().await;
        assert!(greeting.starts_with("* OK"), "{greeting}");
        inbox
            .command(format!("LOGIN {USER} {PASSWORD}\r\n").as_bytes())
            .await;
        inbox
    }

    /// Sends `command` (without its tag) and reads up to its tagged answer, which must be OK.
    async fn command(&mut self, command: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.tags += 1;
        let tag = format!("a{} ", self.tags);
        let line = [tag.as_bytes(), command].concat();
        self.stream.get_mut().write_all(&line).await.unwrap();
        loop {
            let line = self.line().await;
            if let Some(answer) = line.strip_prefix(&tag) {
                assert!(answer.starts_with("OK"), "{line}");
                return;
            }
        }
    }

    async fn line(&mut self) -> String {
        use tokio::io::AsyncBufReadExt;
        let mut line = String::new();
        let read = self.stream.read_line(&mut line);
        let read = tokio::time::timeout(Duration::from_secs(10), read).await;
        assert!(read.expect("an answer within 10 s").unwrap() > 0, "closed");
        line
    }
}

impl Inbox for ImapInbox {
    async fn deliver(&mut self, mails: &[Mail]) {
        let mut command = b"APPEND INBOX".to_vec();
        for mail in mails {
            command.extend(format!(" {{{}+}}\r\n", mail.bytes.len()).as_bytes());
            command.extend(&mail.bytes);
        }
        command.extend(b"\r\n");
        self.command(&command).await;
    }

    async fn let_go(&mut self, ledger: &mut Ledger) -> usize {
        ledger.cursor().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_mail_killed_daemon_loses_and_doubles_nothing() {
    if postgres_pass() {
        return;
    }
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let seed = seed("imap");
    let cli = cli_with(&format!("{CONFIG}{}", mailbox(dovecot.port(), "")));
    let mut plan = Plan::new(seed);
    let mut ledger = Ledger::new(cli.database_url());
    let mut inbox = ImapInbox::connect(dovecot.port()).await;
    let (daemon, kills) = storm(&cli, &mut inbox, &mut plan, &mut ledger, seed, MAILS, KILLS).await;
    inbox.command(b"LOGOUT\r\n").await;
    let mut left = u32::MAX;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while left != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{left} messages left in INBOX\n{}",
            storm::log(&cli)
        );
        left = dovecot.count(USER, "INBOX").await;
    }
    stop_cleanly(&cli, daemon, &kills, "imap");

    ledger.check(&plan).await;
    assert_eq!(
        dovecot.count(USER, "Processed").await as usize,
        MAILS,
        "each message moved once"
    );
}
