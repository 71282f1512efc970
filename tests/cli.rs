//! The `ticketgate` binary as users and MTAs run it, on the embedded defaults.

use crate::helpers::{Cli, fixture, fixtures_dir, stderr, stdout};
use crate::pipeline_rules::mail_with_attachment;
use ticketgate::domain::TicketNumber;

fn ticket_of(line: &str) -> TicketNumber {
    line.split_whitespace()
        .last()
        .unwrap()
        .trim_matches(|c| c == '(' || c == ')')
        .parse()
        .unwrap()
}

#[test]
fn ingest_sequence_from_files_and_stdin_as_the_issue_describes() {
    let cli = Cli::new();
    let first = cli.run(
        &[
            "ingest",
            fixtures_dir().join("new_ticket.eml").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let line = stdout(&first);
    assert!(
        line.ends_with(&format!("new_ticket.eml: created {}\n", ticket_of(&line))),
        "{line}"
    );
    let n = ticket_of(&line);

    let reply = cli.write("reply.eml", &fixture("reply_with_tag.eml", Some(&n)));
    let irt = cli.write("irt.eml", &fixture("reply_in_reply_to.eml", None));
    let auto = cli.write("auto.eml", &fixture("auto_reply.eml", Some(&n)));
    let out = cli.run(&["ingest", &reply, &irt, &auto], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "reply.eml: commented {n}\nirt.eml: commented {n}\nauto.eml: ignored (auto-reply)\n"
        )
    );

    // The first mail again, piped in by an MTA.
    let again = cli.run(&["ingest"], Some(&fixture("new_ticket.eml", None)));
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(stdout(&again), format!("stdin: duplicate ({n})\n"));

    let outsider = cli.write(
        "outsider.eml",
        &fixture("outsider_quotes_tag.eml", Some(&n)),
    );
    let out = cli.run(&["ingest", "--json", &outsider], None);
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["outcome"], "created");
    assert_ne!(report["ticket"], n.as_str());
    assert_eq!(report["source"], "outsider.eml");
    assert!(report["reason"].is_null());

    let list = cli.run(&["tickets", "list", "--json"], None);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);

    let show = cli.run(&["tickets", "show", n.as_str(), "--json"], None);
    let show: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(show["articles"].as_array().unwrap().len(), 3);
    assert_eq!(show["observers"][0], "bob@acme.example");
    assert_eq!(show["priority"], "p4");
}

#[test]
fn big_attachment_is_refused_and_shown() {
    let cli = Cli::new();
    let big = cli.write(
        "big.eml",
        &mail_with_attachment("big-cli@acme.example", 3 * 1024 * 1024),
    );
    let out = cli.run(&["ingest", &big], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let n = ticket_of(&stdout(&out));
    let show = stdout(&cli.run(&["tickets", "show", n.as_str()], None));
    assert!(
        show.contains("[refused] crash.log (3.0 MB): 3.0 MB is over the 2.0 MB limit per file"),
        "{show}"
    );
    let json = cli.run(&["tickets", "show", n.as_str(), "--json"], None);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let file = &json["articles"][0]["attachments"][0];
    assert_eq!(file["filename"], "crash.log");
    assert_eq!(file["size"], 3 * 1024 * 1024);
    assert!(file["sha256"].is_null());
}

#[test]
fn ingest_reads_a_maildir_and_reports_quarantine_with_exit_1() {
    let cli = Cli::new();
    let maildir = cli.dir.path().join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::write(maildir.join("new/1.host"), fixture("new_ticket.eml", None)).unwrap();
    std::fs::write(
        maildir.join("cur/2.host:2,S"),
        fixture("no_sender.eml", None),
    )
    .unwrap();
    let out = cli.run(&["ingest", "Maildir"], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("1.host: created"), "{text}");
    assert!(
        text.contains("2.host:2,S: quarantined (no usable sender address"),
        "{text}"
    );

    let list = stdout(&cli.run(&["quarantine", "list"], None));
    assert!(list.contains("no usable sender address"), "{list}");
    let id = list.split_whitespace().next().unwrap().to_string();
    let retry = cli.run(&["quarantine", "retry", &id], None);
    assert_eq!(retry.status.code(), Some(1));
    assert!(
        stdout(&retry).contains("still quarantined"),
        "{}",
        stdout(&retry)
    );
}

#[test]
fn quarantine_retry_succeeds_once_the_cause_is_fixed() {
    let cli = Cli::new();
    let mail = cli.write("m.eml", &mail_with_attachment("retry@acme.example", 2000));
    let mut small = cli.command(&["ingest", &mail]);
    small.env("TICKETGATE_MAX_MESSAGE_BYTES", "1024");
    let out = cli.run_with(small, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("over max_message_bytes = 1024"),
        "{}",
        stdout(&out)
    );
    let list: serde_json::Value =
        serde_json::from_slice(&cli.run(&["quarantine", "list", "--json"], None).stdout).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    let retry = cli.run(&["quarantine", "retry", &id], None);
    assert_eq!(retry.status.code(), Some(0), "{}", stderr(&retry));
    assert!(
        stdout(&retry).starts_with(&format!("{id}: created ")),
        "{}",
        stdout(&retry)
    );
    assert_eq!(
        stdout(&cli.run(&["quarantine", "list"], None)),
        "quarantine is empty\n"
    );
}

#[test]
fn a_giant_message_on_stdin_is_streamed_whole_into_quarantine() {
    let cli = Cli::new();
    let giant = mail_with_attachment("giant-stdin@acme.example", 300 * 1024);
    let mut cmd = cli.command(&["ingest", "--json"]);
    cmd.env("TICKETGATE_MAX_MESSAGE_BYTES", "65536");
    let out = cli.run_with(cmd, Some(&giant));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["outcome"], "quarantined");
    let list: serde_json::Value =
        serde_json::from_slice(&cli.run(&["quarantine", "list", "--json"], None).stdout).unwrap();
    assert_eq!(list[0]["size"], giant.len());
    assert_eq!(list[0]["source"], "stdin");
}

#[test]
fn stdin_that_cannot_be_stored_exits_75_so_the_mta_retries() {
    let cli = Cli::new();
    let mut cmd = cli.command(&["ingest"]);
    cmd.env(
        "TICKETGATE_DATABASE__URL",
        "postgres://nobody@127.0.0.1:9/ticketgate",
    );
    let out = cli.run_with(cmd, Some(&fixture("new_ticket.eml", None)));
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot open the database"),
        "{}",
        stderr(&out)
    );

    // A disk problem while storing: the attachment directory cannot be created.
    std::fs::create_dir_all(cli.dir.path().join("data")).unwrap();
    std::fs::write(cli.dir.path().join("data/attachments"), b"not a directory").unwrap();
    let out = cli.run(
        &["ingest"],
        Some(&mail_with_attachment("disk@acme.example", 1000)),
    );
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("kept for a retry"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_file_that_keeps_failing_is_quarantined_after_its_retries() {
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("data")).unwrap();
    std::fs::write(cli.dir.path().join("data/attachments"), b"not a directory").unwrap();
    let mail = cli.write("m.eml", &mail_with_attachment("disk2@acme.example", 1000));
    let out = cli.run(&["ingest", &mail], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("m.eml: quarantined (gave up after 3 attempts: cannot write"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn usage_and_configuration_errors_exit_2_and_name_the_key() {
    let cli = Cli::new();
    assert_eq!(cli.run(&["ingest", "--bogus"], None).status.code(), Some(2));
    assert_eq!(
        cli.run(&["ingest", "missing.eml"], None).status.code(),
        Some(2)
    );
    cli.write(
        "bad.toml",
        b"[tickets]\nnumber_tag = \"#\"\ndefault_urgency = \"whenever\"\n",
    );
    let out = cli.run(&["--config", "bad.toml", "check-config"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("tickets.number_tag") && err.contains("tickets.default_urgency"),
        "{err}"
    );

    let mut env_override = cli.command(&["check-config"]);
    env_override.env("TICKETGATE_TICKETS__DEFAULT_LANGUAGE", "de");
    let out = cli.run_with(env_override, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("tickets.default_language"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn config_file_is_found_in_config_dir_and_through_the_environment() {
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    cli.write("config/ticketgate.toml", b"data_dir = \"elsewhere\"\n");
    let out = stdout(&cli.run(&["check-config"], None));
    assert!(
        out.contains("config/ticketgate.toml (valid)") && out.contains("data_dir = elsewhere"),
        "{out}"
    );
    cli.write(
        "other.toml",
        b"data_dir = \"third\"\n[database]\nurl = \"postgres://tg:secret@db/tg\"\n",
    );
    let mut cmd = cli.command(&["check-config"]);
    cmd.env("TICKETGATE_CONFIG", "other.toml");
    let out = stdout(&cli.run_with(cmd, None));
    assert!(out.contains("data_dir = third"), "{out}");
    assert!(
        out.contains("postgres://tg:***@db/tg") && !out.contains("secret"),
        "{out}"
    );
}

#[test]
fn migrate_and_explain_work_on_a_fresh_directory() {
    let cli = Cli::new();
    let out = cli.run(&["migrate"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(cli.dir.path().join("data/ticketgate.db").exists());
    let explain = cli.run(
        &[
            "explain",
            fixtures_dir().join("bulk_newsletter.eml").to_str().unwrap(),
        ],
        None,
    );
    let text = stdout(&explain);
    assert!(
        text.contains("classify:  auto-reply: Precedence: bulk"),
        "{text}"
    );
    assert!(text.contains("verdict:   ignored (auto-reply)"), "{text}");
    let list: serde_json::Value =
        serde_json::from_slice(&cli.run(&["tickets", "list", "--json"], None).stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0);
}

#[test]
fn templates_check_and_preview_and_an_operator_override_that_breaks() {
    let cli = Cli::new();
    let ok = cli.run(&["templates", "check"], None);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let preview = stdout(&cli.run(
        &["templates", "preview", "ticket_closed", "--lang", "fr"],
        None,
    ));
    assert!(
        preview.starts_with("Subject: [#2611N00042] Le ticket 2611N00042 est clôturé"),
        "{preview}"
    );
    assert!(
        preview.contains("text/html") && preview.contains("<html lang=\"fr\">"),
        "{preview}"
    );

    std::fs::create_dir_all(cli.dir.path().join("tpl/en")).unwrap();
    cli.write(
        "tpl/en/ticket_opened.text.hbs",
        b"Hello {{recipient.nickname}}",
    );
    let mut broken = cli.command(&["templates", "check"]);
    broken.env("TICKETGATE_NOTIFICATIONS__TEMPLATE_DIR", "tpl");
    let out = cli.run_with(broken, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("ticket_opened.text (en) cannot be rendered"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn outbox_list_flush_and_retry() {
    let cli = Cli::new();
    cli.run(
        &[
            "ingest",
            fixtures_dir().join("new_ticket.eml").to_str().unwrap(),
        ],
        None,
    );
    let list = stdout(&cli.run(&["outbox", "list"], None));
    assert_eq!(list.matches("pending").count(), 2, "{list}");
    assert!(
        list.contains("ticket_opened") && list.contains("bob@acme.example"),
        "{list}"
    );

    let flush = cli.run(&["outbox", "flush"], None);
    assert_eq!(flush.status.code(), Some(0), "{}", stderr(&flush));
    assert_eq!(stdout(&flush), "2 notification(s) handled\n");
    assert_eq!(
        std::fs::read_dir(cli.dir.path().join("data/outbox"))
            .unwrap()
            .count(),
        2
    );

    let sent: serde_json::Value = serde_json::from_slice(
        &cli.run(&["outbox", "list", "--status", "sent", "--json"], None)
            .stdout,
    )
    .unwrap();
    assert_eq!(sent.as_array().unwrap().len(), 2);
    let id = sent[0]["id"].as_i64().unwrap().to_string();
    let retry = cli.run(&["outbox", "retry", &id], None);
    assert_eq!(
        retry.status.code(),
        Some(1),
        "a sent notification is not sent again"
    );
}

#[test]
fn agents_move_a_ticket_from_the_command_line_and_invalid_moves_are_refused() {
    let cli = Cli::new();
    let out = cli.run(
        &[
            "ingest",
            fixtures_dir().join("new_ticket.eml").to_str().unwrap(),
        ],
        None,
    );
    let n = ticket_of(&stdout(&out));
    let run = |args: &[&str]| cli.run(args, None);
    let ok = |args: &[&str]| {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    assert!(
        ok(&[
            "tickets",
            "comment",
            n.as_str(),
            "--body",
            "Looking into it."
        ])
        .contains("new")
    );
    assert!(ok(&["tickets", "status", n.as_str(), "in_progress"]).contains("in_progress"));
    let resolved = ok(&[
        "tickets",
        "resolve",
        n.as_str(),
        "--solution",
        "Replaced the toner.",
    ]);
    assert!(resolved.contains("resolved"), "{resolved}");
    assert!(ok(&["tickets", "close", n.as_str()]).contains("closed"));

    let again = run(&["tickets", "close", n.as_str()]);
    assert_eq!(again.status.code(), Some(1));
    let err = stderr(&again);
    assert_eq!(
        err.matches("cannot go from closed to closed").count(),
        1,
        "said once: {err}"
    );
    let unknown = run(&["tickets", "reopen", n.as_str(), "--as", "nobody"]);
    assert!(stderr(&unknown).contains("`nobody` is not a configured agent"));

    let details = ok(&["tickets", "show", n.as_str()]);
    assert!(
        details.contains("Replaced the toner.") && details.contains("Status changed from"),
        "{details}"
    );
    let outbox = ok(&["outbox", "list", "--json"]);
    let events: Vec<serde_json::Value> = serde_json::from_str(&outbox).unwrap();
    assert!(
        events.iter().any(|e| e["event"] == "solution_proposed"),
        "{outbox}"
    );
}
