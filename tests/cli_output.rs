//! What the commands print, issue 17: a reader that stops early ends them quietly, `tickets
//! list` lines its columns up under a header, `--as` and `--now` take what people type, and
//! progress is drawn only on a terminal.

use std::process::Stdio;

use crate::cli::{ok, with_agents_and_a_ticket};
use crate::support::helpers::{Cli, stderr, stdout};

/// A new customer mail, numbered `i`, as a file of the working directory; its name.
fn customer_mail(cli: &Cli, i: usize) -> String {
    let mail = format!(
        "From: Customer {i} <pipe{i}@acme.example>\r\nTo: support@localhost\r\n\
         Subject: Scanner {i} jams\r\nMessage-ID: <pipe-{i}@acme.example>\r\n\
         Date: Tue, 24 Nov 2026 10:0{i}:00 +0000\r\n\r\nIt jams on every page, case {i}.\r\n"
    );
    cli.write(&format!("pipe{i}.eml"), mail.as_bytes())
}

#[test]
fn a_reader_that_closed_the_pipe_ends_every_command_quietly() {
    let cli = Cli::new();
    let n = with_agents_and_a_ticket(&cli);
    let mut files: Vec<String> = (1..=4).map(|i| customer_mail(&cli, i)).collect();
    let last = files.pop().unwrap();
    let mut args = vec!["ingest"];
    args.extend(files.iter().map(String::as_str));
    ok(&cli, &args);

    let commands: &[&[&str]] = &[
        &["tickets", "list"],
        &["tickets", "list", "--json"],
        &["tickets", "show", n.as_str()],
        &["outbox", "list"],
        &["jobs", "list"],
        &["contacts", "show", "alice@acme.example"],
        &["templates", "preview", "ticket_opened"],
        &["check-config"],
        &["ingest", &last],
    ];
    for args in commands {
        // The reading end is closed before the command starts: its first write fails.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = cli.command(args);
        cmd.stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped());
        let out = cmd.spawn().unwrap().wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
    }
    // The mail whose report nobody read was still ingested.
    let list: serde_json::Value =
        serde_json::from_str(&ok(&cli, &["tickets", "list", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 5);
}

#[test]
fn tickets_list_lines_columns_up_under_a_header_when_asked() {
    let cli = Cli::new();
    with_agents_and_a_ticket(&cli);
    ok(&cli, &["ingest", &customer_mail(&cli, 1)]);

    let lines: Vec<String> = ok(&cli, &["tickets", "list", "--header"])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines[0].starts_with("NUMBER"), "{lines:#?}");
    let requester = lines[0].find("REQUESTER").unwrap();
    let title = lines[0].find("TITLE").unwrap();
    assert_eq!(
        lines[1].find("pipe1@acme.example"),
        Some(requester),
        "{lines:#?}"
    );
    assert_eq!(
        lines[2].find("alice@acme.example"),
        Some(requester),
        "{lines:#?}"
    );
    assert_eq!(lines[1].find("Scanner 1 jams"), Some(title), "{lines:#?}");

    // Without a terminal, and with --no-header, the rows alone, still lined up.
    for args in [
        &["tickets", "list"][..],
        &["tickets", "list", "--header", "--no-header"],
    ] {
        let plain: Vec<String> = ok(&cli, args).lines().map(String::from).collect();
        assert_eq!(plain.len(), 2, "{args:?}: {plain:#?}");
        assert!(plain[0].starts_with(&lines[1][..10]), "{plain:#?}");
        assert_eq!(
            plain[0].find("pipe1@"),
            plain[1].find("alice@"),
            "{args:?}: {plain:#?}"
        );
    }
}

#[test]
fn as_takes_an_agents_name_or_address_in_any_case() {
    let cli = Cli::new();
    let n = with_agents_and_a_ticket(&cli);
    cli.write(
        "config/ticketgate.toml",
        "[[agent]]\nname = \"Élodie\"\nemail = \"elodie@ours.test\"\n\
         [[agent]]\nname = \"Camille\"\nemail = \"camille@ours.test\"\n"
            .as_bytes(),
    );
    for who in ["ÉLODIE", "élodie", "CAMILLE", "Camille@Ours.Test"] {
        ok(
            &cli,
            &[
                "tickets",
                "comment",
                n.as_str(),
                "--body",
                "On it.",
                "--as",
                who,
            ],
        );
    }
    let show: serde_json::Value =
        serde_json::from_str(&ok(&cli, &["tickets", "show", n.as_str(), "--json"])).unwrap();
    let authors: Vec<&str> = show["articles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["author"].as_str())
        .filter(|a| a.ends_with("@ours.test"))
        .collect();
    assert_eq!(
        authors,
        [
            "elodie@ours.test",
            "elodie@ours.test",
            "camille@ours.test",
            "camille@ours.test"
        ]
    );
}

#[test]
fn now_takes_a_date_alone_as_midnight_utc() {
    let cli = Cli::new();
    ok(&cli, &["migrate"]);
    let out = ok(
        &cli,
        &[
            "jobs",
            "run",
            "auto-close",
            "--now",
            "2026-12-24",
            "--dry-run",
        ],
    );
    assert!(out.contains("as of 2026-12-24T00:00:00+00:00"), "{out}");
    let bad = cli.run(&["jobs", "run", "auto-close", "--now", "24/12/2026"], None);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("2026-12-24"), "{}", stderr(&bad));
}

#[test]
fn ingest_of_a_folder_into_a_pipe_draws_no_progress() {
    let cli = Cli::new();
    let maildir = cli.dir.path().join("backlog");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    for i in 1..=6 {
        let name = customer_mail(&cli, i);
        std::fs::rename(
            cli.dir.path().join(&name),
            maildir.join("new").join(format!("17000000{i}.{i}.host")),
        )
        .unwrap();
    }
    let out = cli.run(&["ingest", "backlog"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 6, "{}", stdout(&out));
    for (name, text) in [("stdout", stdout(&out)), ("stderr", stderr(&out))] {
        assert!(!text.contains('\x1b'), "escape codes on {name}: {text:?}");
        assert!(!text.contains('\r'), "a redrawn line on {name}: {text:?}");
    }
    let migrate = cli.run(&["migrate"], None);
    assert!(!stderr(&migrate).contains('\x1b'), "{}", stderr(&migrate));
}
