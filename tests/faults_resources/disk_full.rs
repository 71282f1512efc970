//! The data directory's file system fills up while mail arrives: a small tmpfs holds the
//! database, the raw mail and the attachments, as one partition of a server would; the
//! MTA's Maildir is elsewhere, as it is when the MTA delivers on its own partition.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{
    Tmpfs, assert_whole, deliver_named, each_kept, files_in, ints, lines_with, log_of,
    make_maildir, new_mail, postgres_pass, wait_until,
};
use crate::daemon::{start, stop};
use crate::pipeline_rules::mail_with_attachment;
use crate::support::helpers::Cli;

/// Writes zeros into `path` until its file system is full.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => panic!("cannot fill {}: {e}", path.display()),
        }
    }
}

#[test]
fn a_full_data_directory_keeps_mail_in_new_and_intake_resumes_when_space_is_back() {
    if postgres_pass() {
        return;
    }
    let inbox_dir = tempfile::tempdir().unwrap();
    let inbox = inbox_dir.path().join("inbox");
    make_maildir(&inbox);
    let cli = Cli::new();
    let data = cli.dir.path().join("data");
    let Some(_tmpfs) = Tmpfs::mount(&data, "4m") else {
        return;
    };
    let inbox_text = inbox.to_str().unwrap();
    let daemon = start(&cli, &[("TICKETGATE_INTAKE__MAILDIR", inbox_text)]);
    deliver_named(&inbox, "0", &new_mail("full", 0));
    wait_until(&cli, "the first mail", Duration::from_secs(20), || {
        files_in(&inbox.join("cur")).len() == 1
    });

    fill(&data.join("filler"));
    let mails = [
        ("1", new_mail("full", 1)),
        ("2", mail_with_attachment("full-2@acme.example", 20_000)),
        ("3", new_mail("full", 3)),
    ];
    for (name, mail) in &mails {
        deliver_named(&inbox, name, mail);
    }
    // Each mail is tried, and fails, twice: its retry is on the way.
    wait_until(
        &cli,
        "each mail to fail twice",
        Duration::from_secs(10),
        || each_kept(&cli, &["1.eml", "2.eml", "3.eml"], 2),
    );
    assert_eq!(files_in(&inbox.join("new")), ["1.eml", "2.eml", "3.eml"]);
    assert!(files_in(&data.join("quarantine")).is_empty());
    assert_eq!(ints(&cli, "SELECT COUNT(*) FROM tickets"), [1]);
    let log = log_of(&cli);
    assert!(
        lines_with(&log, "No space left on device")
            .iter()
            .any(|l| l.contains("check free space")),
        "a line says what failed and what to do:\n{log}"
    );

    std::fs::remove_file(data.join("filler")).unwrap();
    let freed = Instant::now();
    wait_until(
        &cli,
        "intake to resume once space is back",
        Duration::from_secs(15),
        || files_in(&inbox.join("cur")).len() == 4,
    );
    eprintln!("intake resumed {:?} after space came back", freed.elapsed());
    let stopped = stop(&cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert!(files_in(&inbox.join("new")).is_empty());
    assert_whole(&cli, &data, 4);

    // A bounded log: a few lines per mail and try (tries a second, then 2, 4… apart), not
    // one per look at new/.
    let full = lines_with(&stopped.log, "No space left on device").len();
    eprintln!("{full} lines of the log said the disk was full");
    assert!((3..=24).contains(&full), "{full} lines:\n{}", stopped.log);
    assert!(!stopped.log.contains("panicked"), "{}", stopped.log);
    assert!(!stopped.log.contains("quarantined"), "{}", stopped.log);
}
