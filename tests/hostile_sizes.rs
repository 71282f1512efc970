//! What one large mail may cost everything after it: an article keeps the first MiB of a
//! mail's text (the whole body becomes a file of the article), a notification quotes a
//! bounded excerpt, and a batch staging thousands of files holds few of them open. The
//! memory these bound is measured by `cargo bench --bench memory`, not here.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use crate::support::helpers::{Cli, run_command, stdout};

/// How much of a mail's text an article keeps (`pipeline::article::MAX_BODY_BYTES`).
const KEPT: usize = 1 << 20;

fn mail(id: &str, subject: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice Martin <alice@client.example>\r\nTo: support@localhost\r\n\
         Message-ID: <{id}@client.example>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\
         Subject: {subject}\r\nMIME-Version: 1.0\r\n{extra_headers}\r\n{body}"
    )
    .into_bytes()
}

/// `ticketgate ingest --json FILE` of `bytes`; the ticket number it reports.
fn ingest(cli: &Cli, name: &str, bytes: &[u8]) -> String {
    let file = cli.write(name, bytes);
    let out = stdout(&cli.run(&["ingest", "--json", &file], None));
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        matches!(report["outcome"].as_str(), Some("created" | "commented")),
        "{name}: {report}"
    );
    report["ticket"].as_str().unwrap().to_string()
}

fn show(cli: &Cli, number: &str) -> serde_json::Value {
    serde_json::from_str(&stdout(
        &cli.run(&["tickets", "show", number, "--json"], None),
    ))
    .unwrap()
}

/// The notifications `outbox flush` wrote to `data/outbox/` (the file transport), parsed.
fn flushed(cli: &Cli) -> Vec<(PathBuf, Vec<u8>)> {
    stdout(&cli.run(&["outbox", "flush"], None));
    let dir = cli.dir.path().join("data/outbox");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

fn text_of(eml: &[u8]) -> String {
    let message = mail_parser::MessageParser::default().parse(eml).unwrap();
    message.body_text(0).unwrap_or_default().into_owned()
}

#[test]
fn a_large_mail_keeps_its_beginning_in_the_article_and_the_whole_as_files() {
    // Backend-independent: what the pipeline keeps, and what the notification quotes.
    if std::env::var_os("TICKETGATE_TEST_POSTGRES").is_some() {
        return;
    }
    let cli = Cli::new();
    let paragraph = "<p>The export stopped at line {n}: connection reset by peer.</p>\n";
    let html: String = (0..40_000)
        .map(|n| paragraph.replace("{n}", &n.to_string()))
        .collect();
    let html = format!("<html><body>{html}</body></html>\n");
    assert!(html.len() > 2 * KEPT);
    let opening = mail(
        "large-html",
        "The export log",
        "Cc: Bob Stone <bob@client.example>\r\nContent-Type: text/html; charset=utf-8\r\n",
        &html,
    );
    let number = ingest(&cli, "large-html.eml", &opening);
    let ticket = show(&cli, &number);
    let article = &ticket["articles"][0];
    let text = article["body_text"].as_str().unwrap();
    assert!(
        text.starts_with("The export stopped at line 0"),
        "{}",
        &text[..80]
    );
    assert!(
        text.len() <= KEPT + 8 && text.ends_with("[…]"),
        "{}",
        text.len()
    );
    assert_eq!(article["body_html"], serde_json::Value::Null);
    let note = article["note"].as_str().unwrap();
    assert!(
        note.contains("the whole text is the file message.txt"),
        "{note}"
    );
    assert!(note.contains("the HTML is the file message.html"), "{note}");
    let files: Vec<(String, u64)> = article["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert!(a["sha256"].is_string(), "{a}");
            (
                a["filename"].as_str().unwrap().to_string(),
                a["size"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[0].0, "message.txt");
    assert!(files[0].1 > 2 * KEPT as u64, "{files:?}");
    assert_eq!(files[1], ("message.html".to_string(), html.len() as u64));
    assert_eq!(
        ticket["description"].as_str().unwrap(),
        text,
        "the description is the article's text"
    );
    // The acknowledgement quotes nothing of it.
    for (path, eml) in flushed(&cli) {
        assert!(
            eml.len() < 64 * 1024,
            "{}: {} bytes",
            path.display(),
            eml.len()
        );
    }

    // Alice's 3 MB answer reaches Bob (an observer) as a bounded excerpt.
    let line = "Line of the second export log: timeout while reading the reply.\n";
    let reply = mail(
        "large-reply",
        &format!("Re: [#{number}] The export log"),
        "Content-Type: text/plain; charset=utf-8\r\n",
        &line.repeat(3 * KEPT / line.len()),
    );
    assert_eq!(ingest(&cli, "large-reply.eml", &reply), number);
    let all = flushed(&cli);
    let to_bob: Vec<_> = all
        .iter()
        .filter(|(_, eml)| {
            let head = String::from_utf8_lossy(&eml[..eml.len().min(4096)]).into_owned();
            head.contains("bob@client.example") && text_of(eml).contains("second export log")
        })
        .collect();
    assert_eq!(to_bob.len(), 1, "one comment notification for Bob");
    let (path, eml) = to_bob[0];
    assert!(
        eml.len() < 200 * 1024,
        "{}: {} bytes",
        path.display(),
        eml.len()
    );
    let quoted = text_of(eml);
    assert!(
        quoted.contains("[…] The rest of this message is on the ticket page."),
        "{quoted}"
    );
}

/// A directory on a memory file system when there is one: ten thousand files cost this
/// machine's disk a minute to delete.
fn scratch() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    }
}

#[test]
fn thousands_of_attachments_are_staged_with_few_open_files() {
    if std::env::var_os("TICKETGATE_TEST_POSTGRES").is_some() {
        return;
    }
    let cli = Cli::new();
    let data = scratch();
    let files = 3_000;
    let mut body = String::from("--b\r\nContent-Type: text/plain\r\n\r\nThe scans.\r\n");
    for i in 0..files {
        body += &format!(
            "--b\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"scan{i}.bin\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nAAAA{i:08}\r\n"
        );
    }
    body += "--b--\r\n";
    let bytes = mail(
        "many-files",
        "The scans",
        "Content-Type: multipart/mixed; boundary=b\r\n",
        &body,
    );
    let file = cli.write("many-files.eml", &bytes);
    let data_dir = data.path().to_str().unwrap();
    let mut command = cli.command(&["ingest", "--json", &file]);
    command.env("TICKETGATE_DATA_DIR", data_dir);
    // Far fewer descriptors than files: each staged file must be closed once written.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 128,
                rlim_max: 128,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run_command(command, None);
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["outcome"], "created", "{report}");
    // Not through the fallback of a batch that failed (each file written alone).
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        !log.contains("could not be committed") && !log.contains("Too many open files"),
        "{log}"
    );
    let mut command = cli.command(&[
        "tickets",
        "show",
        report["ticket"].as_str().unwrap(),
        "--json",
    ]);
    command.env("TICKETGATE_DATA_DIR", data_dir);
    let ticket: serde_json::Value =
        serde_json::from_str(&stdout(&run_command(command, None))).unwrap();
    let stored = ticket["articles"][0]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["sha256"].is_string())
        .count();
    assert_eq!(stored, files);
}
