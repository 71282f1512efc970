//! The daemon under systemd: the unit file as systemd reads it, the sd_notify messages
//! the daemon sends to the socket systemd gives it (READY, STATUS, WATCHDOG, RELOADING,
//! STOPPING), the watchdog stopping when the main loop stalls, credentials read from
//! `$CREDENTIALS_DIRECTORY`, and SIGHUP reloading the configuration while an IMAP session
//! stays logged in.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::daemon::{Daemon, deliver, stop, wait_for};
use crate::imap::cli_with;
use crate::support::dovecot::Dovecot;
use crate::support::helpers::{Cli, stdout};
use crate::support::require;

/// Whether this is the PostgreSQL pass: what is checked here does not depend on the
/// database, and runs once.
fn postgres_pass() -> bool {
    std::env::var_os("TICKETGATE_TEST_POSTGRES").is_some()
}

fn unit_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/ticketgate.service")
}

/// `systemd-analyze ARGS` on a copy of the unit whose binary is the one just built (verify
/// checks that ExecStart's program exists).
fn analyze(args: &[&str]) -> Option<std::process::Output> {
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(unit_file())
        .unwrap()
        .replace("/usr/bin/ticketgate", env!("CARGO_BIN_EXE_ticketgate"));
    let copy = dir.path().join("ticketgate.service");
    std::fs::write(&copy, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .args(args)
        .arg(&copy)
        .output();
    match out {
        Ok(out) => Some(out),
        Err(_) => {
            require::missing("systemd-analyze", "sudo apt-get install systemd");
            None
        }
    }
}

#[test]
fn the_unit_verifies_and_its_exposure_is_at_most_1_5() {
    if postgres_pass() {
        return;
    }
    let Some(verify) = analyze(&["verify"]) else {
        return;
    };
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(verify.status.success() && said.trim().is_empty(), "{said}");
    let security = analyze(&["security", "--offline=true", "--no-pager"]).unwrap();
    let report = String::from_utf8_lossy(&security.stdout).into_owned();
    let exposure: f64 = report
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for ticketgate.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure in:\n{report}"));
    assert!(exposure <= 1.5, "exposure {exposure} > 1.5:\n{report}");
}

/// A notify socket, as systemd gives one in `NOTIFY_SOCKET`, and what arrives on it.
struct NotifySocket {
    path: PathBuf,
    messages: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl NotifySocket {
    fn bind(dir: &Path) -> Self {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                if tx
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .is_err()
                {
                    break;
                }
            }
        });
        Self {
            path,
            messages,
            seen: Vec::new(),
        }
    }

    /// Waits up to `within` for a message holding the line `line`; returns that message.
    fn expect(&mut self, line: &str, within: Duration) -> String {
        let until = Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(m) => {
                    self.seen.push(m.clone());
                    if m.lines().any(|l| l == line) {
                        return m;
                    }
                }
                Err(_) => panic!("no {line} within {within:?}; got {:?}", self.seen),
            }
        }
    }

    /// The messages that arrive within `during`.
    fn collect(&mut self, during: Duration) -> Vec<String> {
        let until = Instant::now() + during;
        let mut got = Vec::new();
        while let Ok(m) = self
            .messages
            .recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            got.push(m);
        }
        got
    }
}

/// Starts `ticketgate run` in `cli` as systemd would: the notify socket, a watchdog of
/// `watchdog`, and the link secret as a credential.
fn start_under_systemd(
    cli: &Cli,
    socket: &NotifySocket,
    watchdog: Duration,
    extra_env: &[(&str, &str)],
) -> Daemon {
    let credentials = cli.dir.path().join("credentials");
    std::fs::create_dir_all(&credentials).unwrap();
    std::fs::write(
        credentials.join("ticketgate-link-secret"),
        "k".repeat(40) + "\n",
    )
    .unwrap();
    let log = std::fs::File::create(cli.dir.path().join("daemon.log")).unwrap();
    let mut cmd = cli.command(&["run"]);
    cmd.env("TICKETGATE_INTAKE__POLL_INTERVAL_MS", "50")
        .env("NOTIFY_SOCKET", &socket.path)
        .env("WATCHDOG_USEC", watchdog.as_micros().to_string())
        .env("CREDENTIALS_DIRECTORY", &credentials)
        .env(
            "TICKETGATE_PORTAL__LINK_SECRET_FILE",
            "${CREDENTIALS_DIRECTORY}/ticketgate-link-secret",
        )
        .stderr(log);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    Daemon::spawn(cmd)
}

fn signal(daemon: &Daemon, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[test]
fn readiness_status_watchdog_reload_and_stop_are_told_to_systemd() {
    if postgres_pass() {
        return;
    }
    let cli = Cli::new();
    let mut socket = NotifySocket::bind(cli.dir.path());
    let daemon = start_under_systemd(&cli, &socket, Duration::from_secs(1), &[]);
    let ready = socket.expect("READY=1", Duration::from_secs(20));
    assert!(
        ready.contains("STATUS=no IMAP mailbox; 0 notifications waiting"),
        "{ready:?}"
    );
    // A quarter of the period: several pings in a second and a half.
    let pings = socket
        .collect(Duration::from_millis(1500))
        .iter()
        .filter(|m| m.lines().any(|l| l == "WATCHDOG=1"))
        .count();
    assert!(pings >= 3, "{pings} pings in 1.5 s with a 1 s watchdog");
    signal(&daemon, "HUP");
    let reloading = socket.expect("RELOADING=1", Duration::from_secs(5));
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading:?}");
    socket.expect("READY=1", Duration::from_secs(5));
    let stopped = stop(&cli, daemon);
    assert!(stopped.status.success(), "{}", stopped.log);
    let late = socket.collect(Duration::from_millis(200));
    assert!(
        socket
            .seen
            .iter()
            .chain(&late)
            .any(|m| m.contains("STOPPING=1")),
        "{:?} {late:?}",
        socket.seen
    );
    assert!(
        stopped.log.contains("configuration reloaded"),
        "{}",
        stopped.log
    );
}

#[test]
fn a_stalled_intake_loop_stops_the_watchdog_pings() {
    if postgres_pass() {
        return;
    }
    let cli = Cli::new();
    let mut socket = NotifySocket::bind(cli.dir.path());
    let daemon = start_under_systemd(
        &cli,
        &socket,
        Duration::from_secs(1),
        &[(ticketgate::service_manager::STALL_HOOK_ENV, "1")],
    );
    socket.expect("READY=1", Duration::from_secs(20));
    // Past three quarters of the period without a turn, the pings stop for good.
    std::thread::sleep(Duration::from_millis(1200));
    while socket.messages.try_recv().is_ok() {}
    let late = socket.collect(Duration::from_millis(1500));
    assert!(
        !late.iter().any(|m| m.contains("WATCHDOG=1")),
        "pings went on while the loop stood still: {late:?}"
    );
    let stopped = stop(&cli, daemon);
    assert!(
        stopped.log.contains("watchdog pings stop"),
        "{}",
        stopped.log
    );
}

/// The daemon's configuration: one IMAP mailbox (or two), a routing rule, templates from
/// `templates`.
fn config(dovecot: &Dovecot, category: &str, templates: &Path, with_sales: bool) -> String {
    let mailbox = |name: &str, user: &str, password: &str| {
        format!(
            "[[mailbox]]\nname = \"{name}\"\naddress = \"{user}@localhost\"\nhost = \"{}\"\n\
             port = {}\ntls = \"none\"\nusername = \"{user}\"\npassword = \"{password}\"\n\
             idle_timeout_secs = 600\n",
            dovecot.host(),
            dovecot.port()
        )
    };
    let mut text = format!(
        "[notifications]\ntemplate_dir = \"{}\"\n\n[[routing]]\nname = \"printers\"\n\
         subject = \"(?i)printer\"\ncategory = \"{category}\"\n\n{}",
        templates.display(),
        mailbox("support", "support", "support-pass")
    );
    if with_sales {
        text += &mailbox("sales", "sales", "sales-pass");
    }
    text
}

/// Dovecot's log lines of user `user` logging in.
fn logins(dovecot: &Dovecot, user: &str) -> usize {
    dovecot
        .log_text()
        .lines()
        .filter(|l| l.contains("Login: user=<") && l.contains(&format!("user=<{user}>")))
        .count()
}

fn printer_mail(n: u32) -> Vec<u8> {
    format!(
        "From: Customer {n} <c{n}@client.example>\r\nTo: support@localhost\r\n\
         Subject: The printer number {n} jams\r\nMessage-ID: <reload-{n}@client.example>\r\n\r\nIt jams.\r\n"
    )
    .into_bytes()
}

/// The category of the newest ticket (`tickets list`, then `tickets show`); empty when
/// there is no ticket or it has none.
fn category_of_last(cli: &Cli) -> String {
    let list = stdout(&cli.run(&["tickets", "list", "--json"], None));
    let tickets: serde_json::Value = serde_json::from_str(&list).unwrap_or_default();
    let Some(last) = tickets
        .as_array()
        .and_then(|a| a.iter().filter_map(|t| t["number"].as_str()).max())
        .map(str::to_string)
    else {
        return String::new();
    };
    stdout(&cli.run(&["tickets", "show", &last], None))
        .lines()
        .find_map(|l| l.trim().strip_prefix("category ").map(str::to_string))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_templates_routing_and_mailboxes_and_keeps_unchanged_sessions() {
    if postgres_pass() {
        return;
    }
    let Some(dovecot) =
        Dovecot::start(&[("support", "support-pass"), ("sales", "sales-pass")]).await
    else {
        return;
    };
    let templates = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(templates.path().join("en")).unwrap();
    let cli = cli_with(&config(&dovecot, "hardware", templates.path(), false));
    let inbox = cli.dir.path().join("data/inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    let mut socket = NotifySocket::bind(cli.dir.path());
    let daemon = start_under_systemd(&cli, &socket, Duration::from_secs(30), &[]);
    let ready = socket.expect("READY=1", Duration::from_secs(30));
    assert!(
        ready.contains("1 of 1 IMAP mailboxes connected"),
        "{ready:?}"
    );
    // Dovecot's log process may write the line a moment after the login answered.
    wait_for("the login in Dovecot's log", Duration::from_secs(5), || {
        logins(&dovecot, "support") >= 1
    });

    deliver(&inbox, "1.host", &printer_mail(1));
    wait_for("the first ticket", Duration::from_secs(10), || {
        category_of_last(&cli) == "hardware"
    });

    // A new routing rule, a new acknowledgement subject, a second mailbox.
    std::fs::write(
        templates.path().join("en/ticket_opened.subject.hbs"),
        "Reloaded acknowledgement: {{ticket.title}}",
    )
    .unwrap();
    let changed = config(&dovecot, "printers", templates.path(), true);
    cli.write("config/ticketgate.toml", changed.as_bytes());
    signal(&daemon, "HUP");
    socket.expect("RELOADING=1", Duration::from_secs(5));
    socket.expect("READY=1", Duration::from_secs(10));
    deliver(&inbox, "2.host", &printer_mail(2));
    wait_for("the second ticket", Duration::from_secs(10), || {
        category_of_last(&cli) == "printers"
    });
    wait_for("the new mailbox's login", Duration::from_secs(10), || {
        logins(&dovecot, "sales") == 1
    });
    let outbox = cli.dir.path().join("data/outbox");
    wait_for(
        "the acknowledgement on the new template",
        Duration::from_secs(10),
        || {
            std::fs::read_dir(&outbox)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    std::fs::read_to_string(e.path())
                        .is_ok_and(|m| m.contains("Reloaded acknowledgement"))
                })
        },
    );

    // An invalid configuration is refused; the running one stays.
    cli.write("config/ticketgate.toml", b"[[routing]]\nname = 3\n");
    signal(&daemon, "HUP");
    socket.expect("RELOADING=1", Duration::from_secs(5));
    socket.expect("READY=1", Duration::from_secs(10));
    // The commands below read the file too: give it back, without a reload.
    cli.write("config/ticketgate.toml", changed.as_bytes());
    deliver(&inbox, "3.host", &printer_mail(3));
    wait_for("the third ticket", Duration::from_secs(10), || {
        stdout(&cli.run(&["tickets", "list"], None)).lines().count() >= 3
            && category_of_last(&cli) == "printers"
    });

    // The same IMAP session all along: one login, never logged out.
    assert_eq!(logins(&dovecot, "support"), 1, "{}", dovecot.log_text());
    let stopped = stop(&cli, daemon);
    assert!(stopped.log.contains("reload refused"), "{}", stopped.log);
    assert!(
        stopped.log.contains("configuration reloaded"),
        "{}",
        stopped.log
    );
}
