//! The operator's commands, run as an operator runs them: `check-config --connect` against
//! a real Dovecot and a real SMTP server (a wrong password named for each), `send-test-email`
//! received by that SMTP server, `backup` of a SQLite database other processes keep writing
//! to, and `restore`. They do not depend on the database backend (but for `backup` on
//! PostgreSQL, which has its own test in that pass): they run in the SQLite pass.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::daemon;
use crate::support::dovecot::Dovecot;
use crate::support::helpers::{Cli, stderr, stdout};
use crate::support::postgres;
use crate::support::smtp_sink::SmtpSink;

const IMAP_PASSWORD: &str = "imap-Right-4d1e";
const SMTP_PASSWORD: &str = "smtp-Right-8a2c";

const MAIL: &str = "[mail]\naddresses = [\"support@example.com\"]\nagents_address = \"agents@example.com\"\n\
                    [notifications]\ncompany = \"Acme Support\"\n";

/// A working directory whose config/ticketgate.toml holds `config`.
fn cli_with(config: &str) -> Cli {
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    cli.write("config/ticketgate.toml", config.as_bytes());
    cli
}

/// The `[smtp]` section for the sink on `port`, logging in with `password`.
fn smtp_section(port: u16, password: &str) -> String {
    format!(
        "[smtp]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
         username = \"tg\"\npassword = \"{password}\"\n"
    )
}

/// A mail from a customer, made unique by `n`.
fn customer_mail(n: usize) -> Vec<u8> {
    format!(
        "From: Alice Martin <alice@acme.example>\nTo: support@example.com\nSubject: Printer {n}\n\
         Message-ID: <printer-{n}@acme.example>\n\nThe printer {n} does not print.\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_connect_names_each_server_that_refuses_the_login() {
    if postgres::server().is_some() {
        return;
    }
    let Some(dovecot) = Dovecot::start(&[("support", IMAP_PASSWORD)]).await else {
        return;
    };
    let Some(smtp) =
        SmtpSink::start_with(&["--auth".as_ref(), format!("tg:{SMTP_PASSWORD}").as_ref()])
    else {
        return;
    };
    let config = |imap_password: &str, smtp_password: &str| {
        format!(
            "{MAIL}{}[[mailbox]]\nname = \"support\"\naddress = \"support@example.com\"\nhost = \"{}\"\n\
             port = {}\ntls = \"none\"\nusername = \"support\"\npassword = \"{imap_password}\"\n",
            smtp_section(smtp.port, smtp_password),
            dovecot.host(),
            dovecot.port(),
        )
    };
    let cli = cli_with(&config("imap-Wrong-1", "smtp-Wrong-2"));
    let started = std::time::Instant::now();
    let out = cli.run(&["check-config", "--connect"], None);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{said}{}", stderr(&out));
    let line = |what: &str| {
        said.lines()
            .find(|l| l.starts_with(what))
            .unwrap_or_else(|| panic!("no `{what}` line in:\n{said}"))
            .to_string()
    };
    let imap = line("mailbox support: ");
    assert!(
        imap.starts_with("mailbox support: FAILED: login refused for support at"),
        "{imap}"
    );
    let smtp_line = line("smtp: ");
    assert!(
        smtp_line.starts_with("smtp: FAILED: ") && smtp_line.contains("535"),
        "{smtp_line}"
    );
    assert!(line("database: ").starts_with("database: ok"), "{said}");
    for secret in ["imap-Wrong-1", "smtp-Wrong-2"] {
        assert!(!said.contains(secret) && !stderr(&out).contains(secret));
    }

    cli.write(
        "config/ticketgate.toml",
        config(IMAP_PASSWORD, SMTP_PASSWORD).as_bytes(),
    );
    let out = cli.run(&["check-config", "--connect"], None);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{said}{}", stderr(&out));
    assert!(
        said.contains(
            "mailbox support: ok (logged in as support, folder INBOX holds 0 message(s))"
        ),
        "{said}"
    );
    assert!(
        said.contains(&format!("smtp: ok (127.0.0.1:{} answered as ", smtp.port))
            && said.contains("EHLO, no TLS, AUTH accepted)"),
        "{said}"
    );
    assert!(!said.contains(IMAP_PASSWORD) && !said.contains(SMTP_PASSWORD));
    eprintln!("check-config --connect, twice: {:?}", started.elapsed());
}

#[test]
fn send_test_email_reaches_the_smtp_server_in_the_chosen_language() {
    if postgres::server().is_some() {
        return;
    }
    let Some(smtp) =
        SmtpSink::start_with(&["--auth".as_ref(), format!("tg:{SMTP_PASSWORD}").as_ref()])
    else {
        return;
    };
    let cli = cli_with(&format!("{MAIL}{}", smtp_section(smtp.port, SMTP_PASSWORD)));
    assert!(cli.run(&["migrate"], None).status.success());
    let out = cli.run(
        &["send-test-email", "camille@client.example", "--lang", "fr"],
        None,
    );
    let said = stdout(&out);
    assert!(out.status.success(), "{said}{}", stderr(&out));
    assert!(
        said.starts_with("sent \"Message de test de Acme Support\" to camille@client.example"),
        "{said}"
    );
    assert!(said.contains("the SMTP server answered: 250 "), "{said}");
    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let mail = &received[0].1;
    for expected in [
        "Subject: Message de test de Acme Support",
        "From: \"Acme Support\" <support@example.com>",
        "To: camille@client.example",
        "Auto-Submitted: auto-generated",
        "X-Ticketgate-Event: test_email",
    ] {
        assert!(mail.contains(expected), "no {expected:?} in:\n{mail}");
    }
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.as_bytes())
        .unwrap();
    let text = parsed.body_text(0).unwrap();
    let html = parsed.body_html(0).unwrap();
    assert!(
        text.contains("Ceci est un message de test du support de Acme Support, envoyé le"),
        "{text}"
    );
    assert!(html.contains("<html lang=\"fr\">"), "{html}");

    // The file transport says where the message went.
    cli.write("config/ticketgate.toml", MAIL.as_bytes());
    let out = cli.run(&["send-test-email", "camille@client.example"], None);
    let said = stdout(&out);
    assert!(out.status.success(), "{said}{}", stderr(&out));
    let written = said
        .lines()
        .find_map(|l| l.strip_prefix("[smtp] transport = \"file\": written to "))
        .and_then(|rest| rest.split(" (").next())
        .unwrap_or_else(|| panic!("no file named in:\n{said}"));
    let mail = std::fs::read_to_string(cli.dir.path().join(written)).unwrap();
    assert!(
        mail.contains("Subject: Test message from Acme Support"),
        "{mail}"
    );

    // A wrong password: the server's refusal, exit 1.
    cli.write(
        "config/ticketgate.toml",
        format!("{MAIL}{}", smtp_section(smtp.port, "smtp-Wrong-3")).as_bytes(),
    );
    let out = cli.run(&["send-test-email", "camille@client.example"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("535"), "{}", stderr(&out));
}

/// Runs `command` as an operator pastes it, in the working directory; whether it succeeded.
fn run_shell(cli: &Cli, command: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", command])
        .current_dir(cli.dir.path())
        .status()
        .unwrap()
        .success()
}

/// The ticket numbers in the SQLite file at `path`, and its integrity check.
async fn tickets_in(path: &std::path::Path) -> (Vec<String>, String) {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let numbers = sqlx::query_scalar::<_, String>("SELECT number FROM tickets")
        .fetch_all(&mut db)
        .await
        .unwrap();
    let integrity = sqlx::query_scalar::<_, String>("PRAGMA integrity_check")
        .fetch_one(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    (numbers, integrity)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_tickets_are_committed_holds_every_one_committed_before() {
    if postgres::server().is_some() {
        return;
    }
    let cli = Arc::new(cli_with(MAIL));
    assert!(cli.run(&["migrate"], None).status.success());
    // Another process keeps committing tickets, one `ingest` after another.
    let committed = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (cli, committed, stop) = (cli.clone(), committed.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let out = cli.run(&["ingest"], Some(&customer_mail(n)));
                let said = stdout(&out);
                let number = said.trim().rsplit(' ').next().unwrap().to_string();
                assert!(said.contains("created"), "{said}{}", stderr(&out));
                committed.lock().unwrap().push(number);
            }
        })
    };
    daemon::wait_for("three tickets", std::time::Duration::from_secs(20), || {
        committed.lock().unwrap().len() >= 3
    });
    let before: Vec<String> = committed.lock().unwrap().clone();
    let out = cli.run(&["backup", "copy.db"], None);
    let in_flight = committed.lock().unwrap().len();
    daemon::wait_for(
        "a ticket after the backup",
        std::time::Duration::from_secs(20),
        || committed.lock().unwrap().len() > in_flight,
    );
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let said = stdout(&out);
    assert!(out.status.success(), "{said}{}", stderr(&out));
    assert!(said.starts_with("wrote copy.db ("), "{said}");
    assert!(said.contains("integrity ok"), "{said}");

    let (numbers, integrity) = tickets_in(&cli.dir.path().join("copy.db")).await;
    assert_eq!(integrity, "ok");
    for number in &before {
        assert!(
            numbers.contains(number),
            "{number} missing from {numbers:?}"
        );
    }
    let all = committed.lock().unwrap().clone();
    assert!(numbers.len() < all.len(), "{numbers:?} / {all:?}");
    assert!(
        said.contains(&format!("{} ticket(s)", numbers.len())),
        "{said}"
    );

    // The data directory's archive, as printed, leaves the database's files out.
    let tar = said
        .lines()
        .find(|l| l.trim_start().starts_with("tar "))
        .unwrap();
    assert!(run_shell(&cli, tar.trim()), "{tar}");
    let listed = std::process::Command::new("tar")
        .args(["-tzf", "copy.db.data.tar.gz"])
        .current_dir(cli.dir.path())
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("./link-secret"), "{listed}");
    assert!(!listed.contains("ticketgate.db"), "{listed}");

    // A second backup to the same file is refused without --force.
    let out = cli.run(&["backup", "copy.db"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("copy.db exists already"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_puts_a_backup_back_and_keeps_the_database_it_replaced() {
    if postgres::server().is_some() {
        return;
    }
    let cli = cli_with(MAIL);
    let ticket_count = || {
        let out = cli.run(&["tickets", "list"], None);
        stdout(&out)
            .lines()
            .filter(|l| l.contains("Printer"))
            .count()
    };
    assert!(
        cli.run(&["ingest"], Some(&customer_mail(1)))
            .status
            .success()
    );
    assert!(cli.run(&["backup", "one.db"], None).status.success());
    assert!(
        cli.run(&["ingest"], Some(&customer_mail(2)))
            .status
            .success()
    );
    assert_eq!(ticket_count(), 2);

    // Not a database, or while the daemon runs: refused, nothing changed.
    let out = cli.run(&["restore", "config/ticketgate.toml"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not a ticketgate SQLite database"),
        "{}",
        stderr(&out)
    );
    let running = daemon::start(&cli, &[("TICKETGATE_HTTP__LISTEN", "127.0.0.1:0")]);
    daemon::wait_for(
        "the daemon's log",
        std::time::Duration::from_secs(10),
        || {
            std::fs::read_to_string(cli.dir.path().join("daemon.log"))
                .is_ok_and(|log| log.contains("job scheduled"))
        },
    );
    let out = cli.run(&["restore", "one.db"], None);
    daemon::stop(&cli, running);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is in use"), "{}", stderr(&out));
    assert_eq!(ticket_count(), 2);

    let out = cli.run(&["restore", "one.db"], None);
    let said = stdout(&out);
    assert!(out.status.success(), "{said}{}", stderr(&out));
    assert!(said.contains("1 ticket(s)"), "{said}");
    assert_eq!(ticket_count(), 1);
    let aside = said
        .lines()
        .find_map(|l| l.strip_prefix("the database it replaced is kept as "))
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no file kept aside in:\n{said}"));
    let (kept, integrity) = tickets_in(&cli.dir.path().join(aside)).await;
    assert_eq!((kept.len(), integrity.as_str()), (2, "ok"));
    // The restored database takes mail again.
    assert!(
        cli.run(&["ingest"], Some(&customer_mail(3)))
            .status
            .success()
    );
    assert_eq!(ticket_count(), 2);
}

#[test]
fn backup_on_postgresql_writes_nothing_and_says_which_pg_dump_to_run() {
    if postgres::server().is_none() {
        return;
    }
    let cli = cli_with(MAIL);
    assert!(cli.run(&["migrate"], None).status.success());
    let out = cli.run(&["backup", "tickets.dump"], None);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{said}{}", stderr(&out));
    assert!(
        said.starts_with("nothing written: the database is on PostgreSQL"),
        "{said}"
    );
    assert!(
        said.contains("pg_dump -Fc -f tickets.dump 'postgres://"),
        "{said}"
    );
    assert!(!said.contains(":***@"), "{said}");
    assert!(!cli.dir.path().join("tickets.dump").exists());
    // The command printed makes the dump, where pg_dump is installed (it comes with the
    // PostgreSQL client, which the pass's server usually brings).
    let pg_dump = said
        .lines()
        .find(|l| l.trim_start().starts_with("pg_dump "))
        .unwrap();
    if std::process::Command::new("pg_dump")
        .arg("--version")
        .output()
        .is_ok()
    {
        assert!(run_shell(&cli, pg_dump.trim()), "{pg_dump}");
        let listed = std::process::Command::new("pg_restore")
            .args(["-l", "tickets.dump"])
            .current_dir(cli.dir.path())
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&listed.stdout).contains("TABLE public tickets"));
    }
    let out = cli.run(&["restore", "tickets.dump"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("pg_restore"), "{}", stderr(&out));
}
