//! The `ticketgate` binary as users and MTAs run it, on the embedded defaults.

use crate::pipeline_rules::mail_with_attachment;
use crate::support::helpers::{Cli, fixture, fixtures_dir, stderr, stdout};
use ticketgate::domain::TicketNumber;

pub(crate) fn ticket_of(line: &str) -> TicketNumber {
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
fn tickets_list_shows_a_page_and_says_when_more_match() {
    let cli = Cli::new();
    let mut mails = Vec::new();
    for i in 1..=3 {
        let mail = format!(
            "From: Customer {i} <page{i}@acme.example>\r\nTo: support@localhost\r\n\
             Subject: Printer {i} is broken\r\nMessage-ID: <page-{i}@acme.example>\r\n\
             Date: Tue, 24 Nov 2026 10:0{i}:00 +0000\r\n\r\nIt stopped printing, case {i}.\r\n"
        );
        mails.push(cli.write(&format!("page{i}.eml"), mail.as_bytes()));
    }
    let mut args = vec!["ingest"];
    args.extend(mails.iter().map(String::as_str));
    let out = cli.run(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let page = cli.run(&["tickets", "list", "--limit", "2", "--json"], None);
    assert!(page.status.success(), "{}", stderr(&page));
    let page: serde_json::Value = serde_json::from_slice(&page.stdout).unwrap();
    let page = page.as_array().unwrap();
    assert_eq!(page.len(), 2, "{page:?}");
    assert!(page[0]["title"].as_str().unwrap().contains("Printer 3"));
    let note = stderr(&cli.run(&["tickets", "list", "--limit", "2"], None));
    assert!(
        note.contains("more match") && note.contains("--limit 0"),
        "{note}"
    );

    for args in [
        &["tickets", "list"][..],
        &["tickets", "list", "--limit", "0"],
    ] {
        let all = cli.run(args, None);
        assert_eq!(stdout(&all).lines().count(), 3, "{args:?}");
        assert!(!stderr(&all).contains("more match"), "{}", stderr(&all));
    }
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
    let mut cmd = cli.command(&["ingest", "--json", "--on-quarantine", "bounce"]);
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
    assert_eq!(
        stdout(&cli.run(&["quarantine", "list"], None)),
        "quarantine is empty\n",
        "the MTA keeps the mail: no copy in quarantine"
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
    // The file's URL is the one to show, not the PostgreSQL pass's override.
    cmd.env_remove("TICKETGATE_DATABASE__URL");
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
    // Only the embedded default is a file; the PostgreSQL pass set a server's database.
    if cli.on_sqlite() {
        assert!(cli.dir.path().join("data/ticketgate.db").exists());
    }
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

    // `templates check` with the operator's directory `tpl`: fails, and what it says.
    let check_tpl = || {
        let mut broken = cli.command(&["templates", "check"]);
        broken.env("TICKETGATE_NOTIFICATIONS__TEMPLATE_DIR", "tpl");
        let out = cli.run_with(broken, None);
        assert_eq!(out.status.code(), Some(1));
        stderr(&out)
    };
    std::fs::create_dir_all(cli.dir.path().join("tpl/en")).unwrap();
    cli.write(
        "tpl/en/ticket_opened.text.hbs",
        b"Hello {{recipient.nickname}}",
    );
    let said = check_tpl();
    assert!(
        said.contains("ticket_opened.text (en) cannot be rendered"),
        "{said}"
    );
    // A portal page of the same directory is checked too.
    std::fs::remove_file(cli.dir.path().join("tpl/en/ticket_opened.text.hbs")).unwrap();
    std::fs::create_dir_all(cli.dir.path().join("tpl/portal/fr")).unwrap();
    cli.write(
        "tpl/portal/fr/list.html.hbs",
        b"{{#each tickets}}{{this.colour}}{{/each}}",
    );
    let said = check_tpl();
    assert!(
        said.contains("portal page fr/list.html cannot be rendered"),
        "{said}"
    );
    assert!(
        stdout(&ok).contains("mail templates, 17 SMS texts and 5 portal pages render in en and fr"),
        "{}",
        stdout(&ok)
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
    assert_eq!(
        stdout(&flush),
        "2 sent, 0 deferred (will be retried), 0 failed\n"
    );
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

/// Two agents in the working directory's configuration, and a ticket opened by Alice with
/// Bob in copy; its number.
pub(crate) fn with_agents_and_a_ticket(cli: &Cli) -> TicketNumber {
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    cli.write(
        "config/ticketgate.toml",
        b"[[agent]]\nname = \"Camille\"\nemail = \"camille@ours.test\"\n\
          [[agent]]\nname = \"Dominique\"\nemail = \"dominique@ours.test\"\n",
    );
    let out = cli.run(
        &[
            "ingest",
            fixtures_dir().join("new_ticket.eml").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    ticket_of(&stdout(&out))
}

/// Runs the binary, asserts it succeeded, returns its standard output.
pub(crate) fn ok(cli: &Cli, args: &[&str]) -> String {
    let out = cli.run(args, None);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// Runs the binary, asserts it failed with one line on standard error, returns that line.
fn refused(cli: &Cli, args: &[&str]) -> String {
    let out = cli.run(args, None);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    err
}

fn show_json(cli: &Cli, n: &TicketNumber) -> serde_json::Value {
    serde_json::from_str(&ok(cli, &["tickets", "show", n.as_str(), "--json"])).unwrap()
}

/// The queued notifications, as (event, recipient) pairs.
fn queued(cli: &Cli) -> Vec<(String, String)> {
    let list: Vec<serde_json::Value> = serde_json::from_str(&ok(
        cli,
        &["outbox", "list", "--status", "pending", "--json"],
    ))
    .unwrap();
    list.iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["recipient"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn count(list: &[(String, String)], event: &str, recipient: &str) -> usize {
    list.iter()
        .filter(|(e, r)| e == event && r == recipient)
        .count()
}

#[test]
fn an_agent_attaches_files_to_a_comment_and_an_oversized_one_is_refused_before_anything_is_written()
{
    let cli = Cli::new();
    let n = with_agents_and_a_ticket(&cli);
    let log = cli.write("crash:report.log", b"panic at line 42\n");
    let out = ok(
        &cli,
        &[
            "tickets",
            "comment",
            n.as_str(),
            "--body",
            "The log.",
            "--attach",
            &log,
            "--as",
            "camille",
        ],
    );
    assert!(
        out.contains("[file] crash_report.log (text/plain, 17 bytes)"),
        "{out}"
    );
    let show = show_json(&cli, &n);
    let article = show["articles"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(article["body_text"], "The log.");
    assert_eq!(article["author"], "camille@ours.test");
    let file = &article["attachments"][0];
    let sha = ticketgate::files::sha256_hex(b"panic at line 42\n");
    assert_eq!(file["filename"], "crash_report.log");
    assert_eq!(file["content_type"], "text/plain");
    assert_eq!(file["size"], 17);
    assert_eq!(file["sha256"], sha.as_str());
    let stored = cli
        .dir
        .path()
        .join("data/attachments")
        .join(&sha[..2])
        .join(&sha[2..4])
        .join(&sha);
    assert_eq!(std::fs::read(stored).unwrap(), b"panic at line 42\n");

    // A second, new file beside one over the 2 MB limit: neither is stored, nothing else
    // is written.
    let articles = show["articles"].as_array().unwrap().len();
    let notifications = queued(&cli).len();
    let small = cli.write("notes.txt", b"fresh content");
    let big = cli.write("capture.mov", &vec![0u8; 2 * 1024 * 1024 + 1]);
    let err = refused(
        &cli,
        &[
            "tickets",
            "comment",
            n.as_str(),
            "--body",
            "Two files.",
            "--attach",
            &small,
            "--attach",
            &big,
        ],
    );
    assert!(
        err.contains("capture.mov is 2.0 MB, over the 2.0 MB limit per file"),
        "{err}"
    );
    let missing = refused(
        &cli,
        &[
            "tickets",
            "comment",
            n.as_str(),
            "--body",
            "No file.",
            "--attach",
            "gone.pdf",
        ],
    );
    assert!(
        missing.contains("cannot read gone.pdf: No such file or directory"),
        "{missing}"
    );
    assert_eq!(
        show_json(&cli, &n)["articles"].as_array().unwrap().len(),
        articles
    );
    assert_eq!(queued(&cli).len(), notifications);
    let fresh = ticketgate::files::sha256_hex(b"fresh content");
    assert!(
        !cli.dir
            .path()
            .join("data/attachments")
            .join(&fresh[..2])
            .join(&fresh[2..4])
            .join(&fresh)
            .exists(),
        "the smaller file of the refused comment was not stored either"
    );
}

#[test]
fn assigning_a_ticket_tells_the_agent_and_moves_a_new_ticket_to_in_progress() {
    let cli = Cli::new();
    let n = with_agents_and_a_ticket(&cli);
    let out = ok(
        &cli,
        &[
            "tickets",
            "assign",
            n.as_str(),
            "camille",
            "--as",
            "dominique",
        ],
    );
    assert_eq!(
        out,
        format!(
            "{n}: in_progress (3 notification(s) queued)\n  \
             Assigned to Camille by Dominique. Status changed from new to in_progress.\n"
        )
    );
    let show = show_json(&cli, &n);
    assert_eq!(show["assignee"], "camille@ours.test");
    assert_eq!(show["status"], "in_progress");
    let last = show["articles"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["visibility"], "internal");
    assert_eq!(last["direction"], "system");
    let pending = queued(&cli);
    assert_eq!(
        count(&pending, "ticket_assigned", "camille@ours.test"),
        1,
        "{pending:?}"
    );
    assert_eq!(count(&pending, "status_changed", "alice@acme.example"), 1);
    assert_eq!(count(&pending, "status_changed", "bob@acme.example"), 1);
    assert_eq!(
        pending
            .iter()
            .filter(|(e, _)| e == "ticket_assigned")
            .count(),
        1,
        "only the assigned agent hears of it: {pending:?}"
    );

    let err = refused(&cli, &["tickets", "assign", n.as_str(), "nobody"]);
    assert!(
        err.contains("`nobody` is not a configured agent") && err.contains("[[agent]]"),
        "{err}"
    );
    let err = refused(
        &cli,
        &["tickets", "assign", n.as_str(), "camille@ours.test"],
    );
    assert!(err.contains("already assigned to Camille"), "{err}");

    // An agent who takes the ticket is not told of it; no status moves twice.
    let out = ok(
        &cli,
        &[
            "tickets",
            "assign",
            n.as_str(),
            "Dominique",
            "--as",
            "dominique",
        ],
    );
    assert!(
        out.starts_with(&format!("{n}: in_progress (0 notification(s) queued)")),
        "{out}"
    );
    assert_eq!(show_json(&cli, &n)["assignee"], "dominique@ours.test");

    // The customer's next mail is reported to the assigned agent.
    let reply = cli.write("reply.eml", &fixture("reply_with_tag.eml", Some(&n)));
    ok(&cli, &["ingest", &reply]);
    assert_eq!(
        count(&queued(&cli), "customer_comment", "dominique@ours.test"),
        1
    );
}

#[test]
fn observers_are_added_and_removed_and_hear_of_the_comments_in_between() {
    let cli = Cli::new();
    let n = with_agents_and_a_ticket(&cli);
    let out = ok(
        &cli,
        &[
            "tickets",
            "observers",
            "add",
            n.as_str(),
            "Carol@Acme.example",
            "--as",
            "camille",
        ],
    );
    assert!(
        out.contains("Observer carol@acme.example added by Camille."),
        "{out}"
    );
    assert_eq!(
        show_json(&cli, &n)["observers"],
        serde_json::json!(["bob@acme.example", "carol@acme.example"])
    );
    let err = refused(
        &cli,
        &[
            "tickets",
            "observers",
            "add",
            n.as_str(),
            "carol@acme.example",
        ],
    );
    assert!(
        err.contains("carol@acme.example is already an observer"),
        "{err}"
    );
    let err = refused(
        &cli,
        &[
            "tickets",
            "observers",
            "add",
            n.as_str(),
            "alice@acme.example",
        ],
    );
    assert!(err.contains("is the requester"), "{err}");

    ok(
        &cli,
        &["tickets", "comment", n.as_str(), "--body", "On it."],
    );
    assert_eq!(
        count(&queued(&cli), "agent_comment", "carol@acme.example"),
        1
    );

    let out = ok(
        &cli,
        &[
            "tickets",
            "observers",
            "remove",
            n.as_str(),
            "CAROL@acme.example",
        ],
    );
    assert!(
        out.contains("Observer carol@acme.example removed by Support."),
        "{out}"
    );
    assert_eq!(
        show_json(&cli, &n)["observers"],
        serde_json::json!(["bob@acme.example"])
    );
    let err = refused(
        &cli,
        &[
            "tickets",
            "observers",
            "remove",
            n.as_str(),
            "carol@acme.example",
        ],
    );
    assert!(
        err.contains("carol@acme.example is not an observer"),
        "{err}"
    );

    ok(
        &cli,
        &["tickets", "comment", n.as_str(), "--body", "Fixed?"],
    );
    let pending = queued(&cli);
    assert_eq!(
        count(&pending, "agent_comment", "carol@acme.example"),
        1,
        "no mail after the removal: {pending:?}"
    );
    assert_eq!(count(&pending, "agent_comment", "bob@acme.example"), 2);
}

#[test]
fn set_changes_fields_rederives_the_priority_and_a_no_op_says_nothing_changed() {
    let cli = Cli::new();
    let n = with_agents_and_a_ticket(&cli);
    let before = show_json(&cli, &n);
    assert_eq!(before["priority"], "p4");
    let out = ok(
        &cli,
        &[
            "tickets",
            "set",
            n.as_str(),
            "--type",
            "request",
            "--impact",
            "interrupted",
            "--urgency",
            "high",
            "--category",
            "network",
            "--private",
            "yes",
            "--as",
            "camille",
        ],
    );
    assert_eq!(
        out,
        format!(
            "{n}: new (0 notification(s) queued)\n  Changed by Camille: type incident → request; \
             category (none) → network; impact degraded → interrupted; urgency medium → high; \
             private no → yes; priority P4 → P1.\n"
        )
    );
    let after = show_json(&cli, &n);
    assert_eq!(after["type"], "request");
    assert_eq!(after["impact"], "interrupted");
    assert_eq!(after["urgency"], "high");
    assert_eq!(after["priority"], "p1");
    assert_eq!(after["category"], "network");
    assert_eq!(after["private"], true);
    let articles = after["articles"].as_array().unwrap().len();
    assert_eq!(articles, before["articles"].as_array().unwrap().len() + 1);

    let out = ok(
        &cli,
        &[
            "tickets",
            "set",
            n.as_str(),
            "--impact",
            "interrupted",
            "--private",
            "true",
        ],
    );
    assert_eq!(
        out,
        format!("{n}: nothing changed, every value given is already set\n")
    );
    assert_eq!(
        show_json(&cli, &n)["articles"].as_array().unwrap().len(),
        articles,
        "a no-op writes nothing"
    );

    ok(&cli, &["tickets", "set", n.as_str(), "--urgency", "medium"]);
    assert_eq!(show_json(&cli, &n)["priority"], "p2");

    let err = refused(&cli, &["tickets", "set", n.as_str()]);
    assert!(err.contains("give at least one of --type"), "{err}");
    let bad = cli.run(
        &["tickets", "set", n.as_str(), "--impact", "apocalyptic"],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("`apocalyptic` is not a valid impact"),
        "{}",
        stderr(&bad)
    );
}
