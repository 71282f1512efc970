//! `ingest --on-quarantine accept|bounce`: what the exit status, and the output an MTA
//! returns to the sender, say of a quarantined message; mail from standard input is
//! accepted unless asked otherwise, files bounce (exit 1). A configuration that cannot be
//! read keeps piped mail with the MTA (75) rather than bouncing it. Nothing here depends on
//! the database: SQLite only.

use crate::pipeline_rules::mail_with_attachment;
use crate::support::helpers::{Cli, stderr, stdout};
use crate::support::postgres;

/// A mail with no From: nobody could be answered, so it is quarantined.
fn no_sender(id: &str) -> Vec<u8> {
    format!(
        "To: support@localhost\r\nSubject: Who am I\r\nMessage-ID: <{id}@acme.example>\r\n\r\nHello\r\n"
    )
    .into_bytes()
}

fn quarantine_size(cli: &Cli) -> usize {
    let out = cli.run(&["quarantine", "list", "--json"], None);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array().unwrap().len()
}

#[test]
fn mail_piped_in_is_accepted_by_default_and_kept_with_its_reason() {
    if postgres::server().is_some() {
        return;
    }
    let cli = Cli::new();
    let out = cli.run(&["ingest"], Some(&no_sender("default")));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("stdin: quarantined (no usable sender address"),
        "{}",
        stdout(&out)
    );
    let out = cli.run(
        &["ingest", "--on-quarantine", "accept", "-"],
        Some(&no_sender("accept")),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(quarantine_size(&cli), 2);
}

#[test]
fn bounce_exits_1_and_tells_the_sender_a_short_reason_only() {
    if postgres::server().is_some() {
        return;
    }
    let cli = Cli::new();
    let out = cli.run(
        &["ingest", "--on-quarantine", "bounce"],
        Some(&no_sender("bounce")),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "an MTA would return it to the sender");
    assert_eq!(
        stderr(&out),
        "ticketgate: message not accepted: it could not be taken as a support request; \
         it was set aside for the support team\n"
    );
    assert_eq!(quarantine_size(&cli), 1, "kept all the same");

    let giant = mail_with_attachment("giant-bounce@acme.example", 100 * 1024);
    let mut cmd = cli.command(&["ingest", "--on-quarantine", "bounce"]);
    cmd.env("TICKETGATE_MAX_MESSAGE_BYTES", "65536");
    let out = cli.run_with(cmd, Some(&giant));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "ticketgate: message not accepted: it is larger than the 65536 bytes this address accepts\n"
    );
}

#[test]
fn files_bounce_by_default_and_may_be_accepted() {
    if postgres::server().is_some() {
        return;
    }
    let cli = Cli::new();
    let file = cli.write("nobody.eml", &no_sender("file"));
    let out = cli.run(&["ingest", &file], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("nobody.eml: quarantined (no usable sender address"),
        "files keep the whole reason: {}",
        stdout(&out)
    );
    let out = cli.run(&["ingest", "--on-quarantine", "accept", &file], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = cli.run(&["ingest", "--on-quarantine", "reject", &file], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_configuration_that_cannot_be_read_keeps_piped_mail_with_the_mta() {
    if postgres::server().is_some() {
        return;
    }
    let cli = Cli::new();
    cli.write("bad.toml", b"[mail]\naddresses = \"not a list\"\n");
    let out = cli.run(
        &["--config", "bad.toml", "ingest"],
        Some(&no_sender("config")),
    );
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(stderr(&out).contains("mail.addresses"), "{}", stderr(&out));
    let file = cli.write("mail.eml", &no_sender("config-file"));
    let out = cli.run(&["--config", "missing.toml", "ingest", &file], None);
    assert_eq!(out.status.code(), Some(2), "by hand: {}", stderr(&out));
}
