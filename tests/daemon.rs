//! `ticketgate run` as a service: watches the Maildir, acknowledges after commit, stops
//! cleanly on SIGTERM.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::pipeline_rules::mail_with_attachment;
use crate::support::helpers::{Cli, fixture, stdout};

pub fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The names of the files in `dir` (none when it is missing), sorted.
pub(crate) fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Delivers like an MTA: write into tmp/, then rename into new/.
pub(crate) fn deliver(inbox: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(inbox.join("tmp").join(name), bytes).unwrap();
    std::fs::rename(inbox.join("tmp").join(name), inbox.join("new").join(name)).unwrap();
}

/// A running `ticketgate run`, killed when dropped: a test that fails before [`stop`]
/// must not leave a daemon behind, polling a deleted directory (or, in the PostgreSQL
/// pass, a dropped database) for as long as the machine runs.
pub struct Daemon(Option<Child>);

impl std::ops::Deref for Daemon {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().expect("a daemon not yet stopped")
    }
}

impl std::ops::DerefMut for Daemon {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().expect("a daemon not yet stopped")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `ticketgate run`; its log goes to `daemon.log` in the working directory (a pipe
/// nobody reads could fill up and stall it).
pub fn start(cli: &Cli, env: &[(&str, &str)]) -> Daemon {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(cli.dir.path().join("daemon.log"))
        .unwrap();
    let mut cmd = cli.command(&["run"]);
    cmd.env("TICKETGATE_INTAKE__POLL_INTERVAL_MS", "50")
        .stdout(Stdio::piped())
        .stderr(log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Daemon::spawn(cmd)
}

impl Daemon {
    /// Starts `cmd`, to be killed when dropped.
    pub fn spawn(mut cmd: std::process::Command) -> Daemon {
        Daemon(Some(cmd.spawn().unwrap()))
    }
}

/// Sends SIGTERM and waits (5 s at most) for the daemon to exit; what it wrote on its
/// standard output and its exit status.
pub fn terminate(mut daemon: Daemon) -> std::process::Output {
    let mut child = daemon.0.take().expect("a daemon stopped once");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the daemon did not stop within 5 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// What a stopped daemon left: its exit status, its standard output and its log.
pub struct Stopped {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub log: String,
}

/// Sends SIGTERM and waits (5 s at most) for the daemon to exit, with its log.
pub fn stop(cli: &Cli, daemon: Daemon) -> Stopped {
    let output = terminate(daemon);
    let log = std::fs::read_to_string(cli.dir.path().join("daemon.log")).unwrap_or_default();
    Stopped {
        status: output.status,
        stdout: output.stdout,
        log,
    }
}

#[test]
fn run_processes_waiting_and_new_mail_then_stops_on_sigterm() {
    let cli = Cli::new();
    let inbox = cli.dir.path().join("data/inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    deliver(
        &inbox,
        "1700000000.1.host",
        &fixture("new_ticket.eml", None),
    );
    let child = start(&cli, &[]);

    wait_for(
        "the waiting mail to be handled",
        Duration::from_secs(20),
        || files_in(&inbox.join("cur")).len() == 1,
    );
    assert_eq!(files_in(&inbox.join("cur")), ["1700000000.1.host:2,S"]);

    deliver(&inbox, "1700000001.2.host", &fixture("html_only.eml", None));
    deliver(
        &inbox,
        "1700000002.3.host",
        &fixture("auto_reply.eml", None),
    );
    wait_for("new mail to be handled", Duration::from_secs(5), || {
        files_in(&inbox.join("cur")).len() == 3
    });
    assert!(files_in(&inbox.join("new")).is_empty());

    let output = stop(&cli, child);
    assert_eq!(output.status.code(), Some(0), "{}", output.log);
    let log = &output.log;
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(
        output.stdout.is_empty(),
        "the daemon writes logs to stderr only"
    );

    let list: serde_json::Value =
        serde_json::from_slice(&cli.run(&["tickets", "list", "--json"], None).stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
}

#[test]
fn run_quarantines_a_message_that_keeps_failing_after_its_retry_budget() {
    let cli = Cli::new();
    let inbox = cli.dir.path().join("data/inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    // The attachment store cannot be created: a disk-level failure that never heals.
    std::fs::write(cli.dir.path().join("data/attachments"), b"not a directory").unwrap();
    deliver(
        &inbox,
        "1700000000.1.host",
        &mail_with_attachment("stuck@acme.example", 500),
    );
    deliver(
        &inbox,
        "1700000001.2.host",
        &fixture("new_ticket.eml", None),
    );
    let child = start(&cli, &[("TICKETGATE_INTAKE__RETRY_BUDGET", "2")]);

    wait_for(
        "the failing mail to be quarantined",
        Duration::from_secs(15),
        || files_in(&inbox.join("new")).is_empty(),
    );
    let output = stop(&cli, child);
    assert_eq!(output.status.code(), Some(0), "{}", output.log);
    assert_eq!(
        files_in(&inbox.join("cur")),
        ["1700000001.2.host:2,S"],
        "the good mail went through meanwhile"
    );
    let list = stdout(&cli.run(&["quarantine", "list"], None));
    assert!(
        list.contains("gave up after 2 attempts: cannot write"),
        "{list}"
    );
    assert!(
        list.contains("tries 2  maildir:1700000000.1.host"),
        "{list}"
    );
}

#[test]
fn run_writes_acknowledgements_with_the_tag_threading_headers_and_a_signed_link() {
    use ticketgate::domain::EmailAddress;
    use ticketgate::pipeline::parse::{inbound_mail, parse_message};
    use ticketgate::signing::LinkSigner;

    let cli = Cli::new();
    let inbox = cli.dir.path().join("data/inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    deliver(&inbox, "1.host", &fixture("french_latin1.eml", None));
    let child = start(&cli, &[]);
    let outbox = cli.dir.path().join("data/outbox");
    wait_for("the acknowledgement", Duration::from_secs(20), || {
        files_in(&outbox).len() == 1
    });
    let stopped = stop(&cli, child);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);

    let raw = std::fs::read(outbox.join(&files_in(&outbox)[0])).unwrap();
    let message = parse_message(&raw).unwrap();
    let ack = inbound_mail(&message);
    let number = ack
        .subject
        .split(']')
        .next()
        .unwrap()
        .trim_start_matches("[#")
        .to_string();
    assert!(
        ack.subject
            .ends_with("Nous avons bien reçu votre demande : Problème d'accès à la messagerie"),
        "{}",
        ack.subject
    );
    assert_eq!(ack.to[0].address.as_str(), "renee@client.example");
    assert_eq!(ack.in_reply_to, ["fr-1@client.example"]);
    assert!(ack.text.contains("Bonjour Renée François"), "{}", ack.text);
    assert!(ack.html.as_deref().unwrap().contains("<html lang=\"fr\">"));
    assert_eq!(ack.automation.get("Auto-Submitted"), Some("auto-replied"));

    // The link opens that ticket for that recipient.
    let token = ack
        .text
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let key = std::fs::read(cli.dir.path().join("data/link-secret")).unwrap();
    let signer =
        LinkSigner::new(&key, "http://localhost:8080", chrono::Duration::days(30)).unwrap();
    let grant = signer.verify(token, chrono::Utc::now()).unwrap();
    assert_eq!(grant.ticket.as_str(), number);
    assert_eq!(
        grant.recipient,
        EmailAddress::parse("renee@client.example").unwrap()
    );

    // A reply to the acknowledgement, subject edited and tag removed, threads by In-Reply-To.
    let reply = format!(
        "From: renee@client.example\r\nTo: support@localhost\r\nSubject: Re: merci\r\nMessage-ID: <fr-2@client.example>\r\n\
         In-Reply-To: <{}>\r\n\r\nToujours en panne.\r\n",
        ack.message_id.as_deref().unwrap()
    );
    let out = cli.run(&["ingest"], Some(reply.as_bytes()));
    assert_eq!(stdout(&out), format!("stdin: commented {number}\n"));
}

#[test]
fn run_catches_up_on_jobs_that_fell_due_while_it_was_stopped() {
    let cli = Cli::new();
    let path = cli.dir.path().join("mail.eml");
    std::fs::write(&path, fixture("new_ticket.eml", None)).unwrap();
    assert!(
        cli.run(&["ingest", path.to_str().unwrap()], None)
            .status
            .success()
    );
    let list: serde_json::Value =
        serde_json::from_slice(&cli.run(&["tickets", "list", "--json"], None).stdout).unwrap();
    let number = list[0]["number"].as_str().unwrap().to_string();
    let resolved = cli.run(
        &["tickets", "resolve", &number, "--solution", "Fixed."],
        None,
    );
    assert!(resolved.status.success());
    // The solution was proposed 8 days ago, while the daemon was stopped.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut conn = crate::support::helpers::connect_any(&cli.database_url()).await;
        let eight_days = chrono::Duration::days(8).num_milliseconds();
        for statement in [
            "UPDATE tickets SET created_at = created_at - $1, resolved_at = resolved_at - $1, \
             status_since = status_since - $1",
            "UPDATE articles SET created_at = created_at - $1",
        ] {
            sqlx::query(statement)
                .bind(eight_days)
                .execute(&mut conn)
                .await
                .unwrap();
        }
    });

    let child = start(&cli, &[]);
    let status = || {
        let out = cli.run(&["tickets", "list", "--json"], None);
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        list[0]["status"].as_str().unwrap_or_default().to_string()
    };
    wait_for(
        "the overdue ticket to be auto-closed at start",
        Duration::from_secs(20),
        || status() == "closed",
    );
    // The catch-up runs first, then the jobs are put on their schedules.
    let log = cli.dir.path().join("daemon.log");
    wait_for("the jobs to be scheduled", Duration::from_secs(10), || {
        std::fs::read_to_string(&log).is_ok_and(|l| {
            l.matches("job scheduled").count() == ticketgate::service::JobKind::ALL.len()
        })
    });
    let output = stop(&cli, child);
    assert!(
        output.log.contains("auto-closed") && output.log.contains("job scheduled"),
        "{}",
        output.log
    );
    let jobs = stdout(&cli.run(&["jobs", "list"], None));
    assert!(jobs.contains("(start on "), "{jobs}");
}
