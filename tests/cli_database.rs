//! `check-config` and the database (issue 17): the database is opened and reported, a
//! mistyped variable is named, the warning about customer comments nobody hears; only
//! `run`, `ingest` and `migrate` create a database; and its errors read once, naming the
//! server or the file.

use std::time::Duration;

use crate::cli::ok;
use crate::daemon::{start, stop, wait_for};
use crate::support::helpers::{Cli, stderr, stdout};

/// A loopback port nothing listens on: bound, then let go.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Runs `args` on the database at `url`; the output.
fn on_database(cli: &Cli, url: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = cli.command(args);
    cmd.env("TICKETGATE_DATABASE__URL", url);
    cli.run_with(cmd, None)
}

/// Asserts that no clause of an error line (the parts between `:` and `;`) is said twice.
fn assert_said_once(err: &str) {
    let clauses: Vec<String> = err
        .split([':', ';'])
        .map(|c| c.trim().to_lowercase())
        .filter(|c| c.len() > 3)
        .collect();
    for (i, clause) in clauses.iter().enumerate() {
        assert!(
            !clauses[i + 1..].contains(clause),
            "`{clause}` is said twice: {err}"
        );
    }
}

#[test]
fn check_config_opens_the_database_and_reports_what_is_in_effect() {
    let cli = Cli::new();
    let out = cli.run(&["check-config"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "smtp.transport = file",
        "portal: links to http://localhost:8080/tickets/",
        "job auto-close",
        "job purge",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    if cli.on_sqlite() {
        assert!(text.contains("does not exist yet"), "{text}");
        assert!(!cli.dir.path().join("data").exists(), "nothing created");
    }
    ok(&cli, &["migrate"]);
    let text = ok(&cli, &["check-config"]);
    let applied = text
        .lines()
        .find(|l| l.starts_with("database: reachable, "))
        .unwrap_or_else(|| panic!("{text}"));
    let counts: Vec<&str> = applied
        .trim_start_matches("database: reachable, ")
        .split(" of ")
        .collect();
    assert_eq!(counts[0], counts[1].split(' ').next().unwrap(), "{applied}");
}

#[test]
fn check_config_fails_on_an_unreachable_database_naming_it() {
    let cli = Cli::new();
    let port = closed_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/ticketgate");
    let out = on_database(&cli, &url, &["check-config"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("(valid)"), "the file is not to blame");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("connection refused to 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(!err.contains("pool timed out"), "{err}");
    assert_said_once(err.lines().last().unwrap());
}

#[test]
fn a_mistyped_variable_is_named_and_every_unknown_key_reported() {
    let cli = Cli::new();
    let mut cmd = cli.command(&["check-config"]);
    cmd.env("TICKETGATE_SMTP__TRASPORT", "smtp");
    let out = cli.run_with(cmd, None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("TICKETGATE_SMTP__TRASPORT: unknown environment key (`smtp.trasport`"),
        "{err}"
    );
    assert!(!err.contains("not valid TOML"), "{err}");

    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    cli.write(
        "config/ticketgate.toml",
        b"[tickets]\nnumbr_tag = \"#\"\n[mail]\nagent_address = \"team@ours.test\"\n",
    );
    let out = cli.run(&["check-config"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("2 error(s)"), "{err}");
    assert!(
        err.contains("tickets.numbr_tag: unknown key in config/ticketgate.toml"),
        "{err}"
    );
    assert!(err.contains("mail.agent_address: unknown key in"), "{err}");
}

const NOBODY: &str =
    "customer comments on unassigned tickets reach nobody: set [mail] agents_address";

#[test]
fn customer_comments_nobody_hears_are_warned_of_by_check_config_and_the_daemon() {
    let cli = Cli::new();
    let out = cli.run(&["check-config"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(NOBODY), "{}", stderr(&out));

    let daemon = start(&cli, &[]);
    let log = cli.dir.path().join("daemon.log");
    wait_for("the daemon to start", Duration::from_secs(20), || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains(NOBODY))
    });
    let stopped = stop(&cli, daemon);
    assert_eq!(stopped.log.matches(NOBODY).count(), 1, "{}", stopped.log);

    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    cli.write(
        "config/ticketgate.toml",
        b"[mail]\nagents_address = \"team@ours.test\"\n",
    );
    let out = cli.run(&["check-config"], None);
    assert!(!stderr(&out).contains("reach nobody"), "{}", stderr(&out));
}

#[test]
fn only_run_ingest_and_migrate_create_a_database() {
    let cli = Cli::new();
    let typo = cli.dir.path().join("dta/ticketgate.db");
    let url = format!("sqlite://{}", typo.display());
    for args in [
        &["tickets", "list"][..],
        &["outbox", "list"],
        &["outbox", "flush"],
        &["jobs", "run", "purge"],
        &["mailboxes"],
    ] {
        let out = on_database(&cli, &url, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("the database {} does not exist", typo.display()))
                && err.contains("`ticketgate migrate`"),
            "{args:?}: {err}"
        );
        assert!(!cli.dir.path().join("dta").exists(), "{args:?} created it");
    }
    let out = on_database(&cli, &url, &["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(typo.exists());
    let out = on_database(&cli, &url, &["tickets", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn an_unreachable_server_is_named_at_once_with_its_cause() {
    let cli = Cli::new();
    let port = closed_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/ticketgate");
    let out = on_database(&cli, &url, &["tickets", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("connection refused to 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(!err.contains("pool timed out"), "{err}");
    assert_eq!(
        err.to_lowercase().matches("connection refused").count(),
        1,
        "{err}"
    );
    assert_said_once(&err);
}

/// Tests run as root, whom file permissions do not stop: what root cannot get past either
/// is a path through a regular file, or a directory where the database file should be.
#[test]
fn a_sqlite_path_that_cannot_be_a_database_is_explained_once() {
    let cli = Cli::new();
    cli.write("plain", b"not a directory");
    let through_file = cli.dir.path().join("plain/ticketgate.db");
    let out = on_database(
        &cli,
        &format!("sqlite://{}", through_file.display()),
        &["migrate"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{} is a file, not a directory",
            cli.dir.path().join("plain").display()
        )),
        "{err}"
    );
    assert_said_once(&err);

    std::fs::create_dir(cli.dir.path().join("folder.db")).unwrap();
    let folder = cli.dir.path().join("folder.db");
    let out = on_database(
        &cli,
        &format!("sqlite://{}", folder.display()),
        &["tickets", "list"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{} is a directory, not a database file",
            folder.display()
        )),
        "{err}"
    );
    assert!(!err.contains("code 14"), "{err}");
    assert_said_once(&err);
}
