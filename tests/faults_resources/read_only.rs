//! The database made read-only under the running daemon. File modes do not bind root, who
//! runs these tests, so the files are made immutable (`chattr +i`): the daemon's open
//! connections fail to write (EPERM), and the connections it opens meanwhile are read-only,
//! as they are for a daemon whose database was `chmod 0444`ed or whose file system went
//! read-only.

use std::time::{Duration, Instant};

use super::{
    Immutable, assert_whole, deliver_named, each_kept, files_in, ints, lines_with, log_of,
    make_maildir, new_mail, postgres_pass, wait_until,
};
use crate::daemon::{start, stop};
use crate::support::helpers::Cli;

#[test]
fn a_read_only_database_keeps_mail_in_new_until_it_is_writable_again() {
    if postgres_pass() {
        return;
    }
    let cli = Cli::new();
    let data = cli.dir.path().join("data");
    let inbox = data.join("inbox");
    make_maildir(&inbox);
    // A budget of two tries: a fault of the machine must not spend it (else every mail
    // would be quarantined after two tries, seconds into the fault).
    let daemon = start(&cli, &[("TICKETGATE_INTAKE__RETRY_BUDGET", "2")]);
    deliver_named(&inbox, "0", &new_mail("ro", 0));
    wait_until(&cli, "the first mail", Duration::from_secs(20), || {
        files_in(&inbox.join("cur")).len() == 1
    });

    let database = data.join("ticketgate.db");
    let wal = data.join("ticketgate.db-wal");
    let Some(read_only) = Immutable::set(&[database, wal]) else {
        return;
    };
    for n in 1..=3 {
        deliver_named(&inbox, &n.to_string(), &new_mail("ro", n));
    }
    wait_until(
        &cli,
        "each mail to fail three times, past its budget",
        Duration::from_secs(20),
        || each_kept(&cli, &["1.eml", "2.eml", "3.eml"], 3),
    );
    assert_eq!(files_in(&inbox.join("new")), ["1.eml", "2.eml", "3.eml"]);
    assert!(files_in(&data.join("quarantine")).is_empty());
    assert_eq!(ints(&cli, "SELECT COUNT(*) FROM tickets"), [1]);

    read_only.lift();
    let lifted = Instant::now();
    wait_until(
        &cli,
        "intake to resume once the database is writable",
        Duration::from_secs(15),
        || files_in(&inbox.join("cur")).len() == 4,
    );
    eprintln!("intake resumed {:?} after the fault", lifted.elapsed());
    let stopped = stop(&cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert_whole(&cli, &data, 4);
    // One line says what failed and what becomes of the mail, one that it is over.
    let told = lines_with(&stopped.log, "the database file cannot be written");
    assert_eq!(told.len(), 1, "{}", stopped.log);
    assert!(told[0].contains("mail waits where it is"), "{}", told[0]);
    assert_eq!(
        lines_with(&stopped.log, "the database file can be written again").len(),
        1,
        "{}",
        stopped.log
    );
    assert!(!stopped.log.contains("panicked"), "{}", stopped.log);
    assert!(!stopped.log.contains("quarantined"), "{}", stopped.log);
}

/// The same fault under an IMAP folder, whose messages are taken in UID order: the first
/// one that fails holds back those after it, so no other message's success can tell the
/// machine's fault from the message's. Before giving one up, the daemon writes a row of its
/// own: while that fails too, the message stays on the server instead of going to the
/// quarantine, however many tries it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_keeps_imap_mail_on_the_server_until_it_is_writable_again() {
    use crate::imap::{PASSWORD, USER, cli_with, mail, mailbox, ticket_count};
    use crate::support::dovecot::Dovecot;

    if postgres_pass() {
        return;
    }
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let cli = cli_with(&mailbox(&dovecot, "support", USER, PASSWORD, ""));
    let daemon = start(&cli, &[("TICKETGATE_INTAKE__RETRY_BUDGET", "2")]);
    dovecot.append(USER, "INBOX", &mail(1)).await;
    let first = Instant::now();
    while dovecot.count(USER, "Processed").await != 1 {
        assert!(first.elapsed() < Duration::from_secs(20), "the first mail");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    let data = cli.dir.path().join("data");
    let Some(read_only) =
        Immutable::set(&[data.join("ticketgate.db"), data.join("ticketgate.db-wal")])
    else {
        return;
    };
    for n in 2..=4 {
        dovecot.append(USER, "INBOX", &mail(n)).await;
    }
    tokio::task::block_in_place(|| {
        wait_until(
            &cli,
            "the first waiting mail to fail three times, past its budget",
            Duration::from_secs(30),
            || {
                let log = log_of(&cli);
                log.contains("quarantined")
                    || lines_with(&log, "the fault is the machine's")
                        .iter()
                        .filter(|l| l.contains("source=imap:support:2 "))
                        .count()
                        >= 2
            },
        )
    });
    assert!(!log_of(&cli).contains("quarantined"), "{}", log_of(&cli));
    assert_eq!(dovecot.count(USER, "INBOX").await, 3, "kept on the server");
    assert!(files_in(&data.join("quarantine")).is_empty());

    read_only.lift();
    let lifted = Instant::now();
    while dovecot.count(USER, "Processed").await != 4 {
        assert!(
            lifted.elapsed() < Duration::from_secs(20),
            "intake did not resume once the database was writable:\n{}",
            log_of(&cli)
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    eprintln!("IMAP intake resumed {:?} after the fault", lifted.elapsed());
    let stopped = stop(&cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert_eq!(ticket_count(&cli), 4);
    assert!(files_in(&data.join("quarantine")).is_empty());
    assert!(!stopped.log.contains("panicked"), "{}", stopped.log);
    assert!(!stopped.log.contains("quarantined"), "{}", stopped.log);
}
