//! The intake driver's rules through real sources: a Maildir watched in-process on the
//! test's database, and the files and standard input of `ticketgate ingest`. The IMAP
//! source's are in `imap.rs`, against Dovecot.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::daemon::{files_in, wait_for};
use crate::pipeline_rules::mail_with_attachment;
use crate::support::helpers::{Cli, TestEnv, fixture, stderr, stdout};
use ticketgate::intake::maildir::{self, Maildir};
use ticketgate::notify::outbox_worker::OutboxWake;

/// A mail that cannot be stored for now stays in new/ and is tried again later, alone:
/// once the cause is gone it is committed, moved to cur/, and the outbox worker, idle for
/// an hour, is woken to send its acknowledgement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maildir_mail_deferred_is_committed_once_it_can_be_and_wakes_the_outbox() {
    let env = TestEnv::new().await;
    let inbox = Maildir::create(&env.dir.path().join("inbox")).unwrap();
    // The attachment store cannot be created: a disk-level failure, until the file goes.
    std::fs::create_dir_all(env.data_dir()).unwrap();
    let blocker = env.data_dir().join("attachments");
    std::fs::write(&blocker, b"not a directory").unwrap();
    std::fs::write(
        inbox.root().join("new/1700000000.1.host"),
        mail_with_attachment("deferred@acme.example", 500),
    )
    .unwrap();

    let wake = OutboxWake::default();
    let shutdown = CancellationToken::new();
    let worker = ticketgate::notify::outbox_worker::OutboxWorker::from_settings(
        env.pipeline().settings(),
        env.store().clone(),
        env.clock.clone(),
    )
    .unwrap();
    let sending =
        tokio::spawn(worker.run(Duration::from_secs(3600), wake.clone(), shutdown.clone()));
    let watching = tokio::spawn(maildir::watch(
        inbox.clone(),
        env.ingestor.clone(),
        Duration::from_millis(20),
        8,
        wake,
        Default::default(),
        shutdown.clone(),
    ));

    // Tried at once (the watcher's first look), kept for a second.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(files_in(&inbox.root().join("new")), ["1700000000.1.host"]);
    assert!(env.store().list_tickets(None).await.unwrap().is_empty());
    assert!(env.ingestor.quarantine().list().unwrap().is_empty());

    std::fs::remove_file(&blocker).unwrap();
    wait_for("the mail to be committed", Duration::from_secs(10), || {
        files_in(&inbox.root().join("cur")) == ["1700000000.1.host:2,S"]
    });
    let outbox = env.data_dir().join("outbox");
    wait_for(
        "the acknowledgement, sent on the watcher's wake",
        Duration::from_secs(10),
        || files_in(&outbox).len() == 1,
    );
    shutdown.cancel();
    watching.await.unwrap();
    sending.await.unwrap();
    assert!(files_in(&inbox.root().join("new")).is_empty());
    assert_eq!(env.store().list_tickets(None).await.unwrap().len(), 1);
    assert!(env.ingestor.quarantine().list().unwrap().is_empty());
}

/// `ingest` answers each input in its order, once its batch is committed: one too large
/// to read goes to the quarantine unread between the others; one that keeps failing is
/// retried at once, then quarantined, and the next ones still go through.
#[test]
fn ingest_answers_in_the_order_of_its_inputs_whatever_becomes_of_each() {
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("data")).unwrap();
    std::fs::write(cli.dir.path().join("data/attachments"), b"not a directory").unwrap();
    let first = cli.write("1.eml", &fixture("new_ticket.eml", None));
    let large = cli.write("2.eml", &mail_with_attachment("large@acme.example", 6000));
    let stuck = cli.write("3.eml", &mail_with_attachment("stuck@acme.example", 1000));
    let last = cli.write("4.eml", &fixture("html_only.eml", None));
    let mut cmd = cli.command(&["ingest", &first, &large, &stuck, &last]);
    cmd.env("TICKETGATE_MAX_MESSAGE_BYTES", "4096");
    let out = cli.run_with(cmd, None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("1.eml: created"), "{text}");
    assert!(
        lines[1].starts_with("2.eml: quarantined (") && lines[1].contains("max_message_bytes"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("3.eml: quarantined (gave up after 3 attempts: cannot write"),
        "{text}"
    );
    assert!(lines[3].starts_with("4.eml: created"), "{text}");
    let list = stdout(&cli.run(&["quarantine", "list"], None));
    assert!(list.contains("tries 3  3.eml"), "{list}");
}
