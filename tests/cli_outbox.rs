//! `outbox flush` says what became of each notification, and every enumerated option of
//! every command refuses a typo by naming the accepted values (issue 17).

use crate::cli::ok;
use crate::support::helpers::{Cli, fixtures_dir, stderr, stdout};

/// A loopback port nothing listens on: bound, then let go.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A ticket whose opening queued two notifications (requester and observer).
fn with_two_notifications(cli: &Cli) {
    ok(
        cli,
        &[
            "ingest",
            fixtures_dir().join("new_ticket.eml").to_str().unwrap(),
        ],
    );
}

#[test]
fn flush_with_the_mail_server_down_says_deferred_and_fails() {
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    cli.write(
        "config/ticketgate.toml",
        format!(
            "[smtp]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
            closed_port()
        )
        .as_bytes(),
    );
    with_two_notifications(&cli);
    let flush = cli.run(&["outbox", "flush"], None);
    assert_eq!(flush.status.code(), Some(1), "{}", stderr(&flush));
    assert_eq!(
        stdout(&flush),
        "0 sent, 2 deferred (will be retried), 0 failed\n"
    );
    assert!(
        stderr(&flush).contains("`ticketgate outbox list` shows why"),
        "{}",
        stderr(&flush)
    );
    let pending = ok(&cli, &["outbox", "list", "--status", "pending"]);
    assert_eq!(pending.lines().count(), 2, "{pending}");
}

#[test]
fn flush_with_the_file_transport_sends_all_and_succeeds() {
    let cli = Cli::new();
    with_two_notifications(&cli);
    let flush = cli.run(&["outbox", "flush"], None);
    assert_eq!(flush.status.code(), Some(0), "{}", stderr(&flush));
    assert_eq!(
        stdout(&flush),
        "2 sent, 0 deferred (will be retried), 0 failed\n"
    );
}

/// Runs a command with a mistyped value: clap refuses it (exit 2), naming `accepted`.
fn refused_naming(cli: &Cli, args: &[&str], accepted: &[&str]) {
    let out = cli.run(args, None);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
    let err = stderr(&out);
    for value in accepted {
        assert!(err.contains(value), "{args:?} should name {value}: {err}");
    }
}

#[test]
fn a_mistyped_enumerated_option_is_refused_with_the_accepted_values() {
    let cli = Cli::new();
    refused_naming(
        &cli,
        &["outbox", "list", "--status", "pendng"],
        &["pending", "sending", "sent", "failed", "held", "skipped"],
    );
    refused_naming(
        &cli,
        &["tickets", "list", "--status", "opne"],
        &["new", "in_progress", "waiting_customer"],
    );
    refused_naming(
        &cli,
        &["contacts", "set", "a@acme.example", "--language", "de"],
        &["en", "fr", "ticket"],
    );
    refused_naming(
        &cli,
        &["contacts", "set", "a@acme.example", "--messages", "yes"],
        &["on", "off"],
    );
    refused_naming(
        &cli,
        &["templates", "preview", "ticket_opend"],
        &["ticket_opened", "customer_comment"],
    );
    refused_naming(
        &cli,
        &["templates", "preview", "ticket_opened", "--lang", "de"],
        &["en", "fr"],
    );
    refused_naming(
        &cli,
        &["jobs", "run", "autoclose"],
        &["auto-close", "purge"],
    );
    refused_naming(
        &cli,
        &["tickets", "set", "2611N00001", "--impact", "big"],
        &["degraded", "interrupted"],
    );
    // A mistyped value never reached the database: none was created.
    assert!(!cli.dir.path().join("data").exists());
}
