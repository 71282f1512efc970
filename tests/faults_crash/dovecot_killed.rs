//! Dovecot dying in the middle of a FETCH of a large batch: the daemon reconnects by itself
//! and says so, fetches the batch again, and no mail is lost or doubled. The relay of
//! [`super::relay`] makes each failure land inside the FETCH: its connection closed in the
//! middle of a message, then right after a whole one (where the stream ends between two
//! responses, as cleanly as a finished one), then Dovecot itself killed with SIGKILL while
//! the relay holds the rest of the response.

use std::time::{Duration, Instant};

use super::ledger::Ledger;
use super::mails::{CONFIG, Plan};
use super::relay::{Cut, CutBy, Relay};
use super::{PASSWORD, USER, mailbox, postgres_pass};
use crate::daemon::{start, stop};
use crate::imap::cli_with;
use crate::support::dovecot::Dovecot;

/// Mails waiting in INBOX when the daemon starts: two fetch batches.
const MAILS: usize = 160;

/// Messages fetched (and committed) at once.
const BATCH: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dovecot_killed_mid_fetch_loses_and_doubles_nothing() {
    if postgres_pass() {
        return;
    }
    let Some(mut dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let mut plan = Plan::new(0);
    let mails: Vec<Vec<u8>> = plan
        .more(MAILS, &Default::default())
        .iter()
        .map(|m| m.bytes.clone())
        .collect();
    dovecot
        .append_all(USER, "INBOX", &mails, Duration::ZERO)
        .await;
    let cut = |after, mid_message, how| Cut {
        after,
        mid_message,
        how,
    };
    let relay = Relay::start(
        dovecot.port(),
        &[
            cut(37, true, CutBy::Relay),
            cut(62, false, CutBy::Relay),
            cut(80, true, CutBy::ServerDeath),
        ],
    );
    let extra = format!("batch_size = {BATCH}");
    let cli = cli_with(&format!("{CONFIG}{}", mailbox(relay.port(), &extra)));
    let mut ledger = Ledger::new(cli.database_url());
    let daemon = start(&cli, &[]);

    let held = relay.held(Duration::from_secs(20)).await;
    assert!(
        held,
        "no FETCH held for Dovecot's death: {} cut(s) made, body fetches {:?}\n{}",
        relay.cuts_made(),
        relay.body_fetches(),
        super::storm::log(&cli)
    );
    assert_eq!(
        ledger.committed().await,
        0,
        "nothing of a cut batch is kept"
    );
    dovecot.kill().await;
    dovecot.restart().await;

    let started = Instant::now();
    while ledger.committed().await < MAILS || dovecot.count(USER, "INBOX").await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} of {MAILS} mails committed after Dovecot came back\n{}",
            ledger.committed().await,
            super::storm::log(&cli)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stopped = stop(&cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    let log = &stopped.log;
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(relay.cuts_made(), 3);

    // Each cut is a lost connection, logged as one, and followed by a new session, said
    // so as well.
    let lost = log
        .matches("mailbox unavailable; retrying with backoff")
        .count();
    assert!(lost >= 3, "{lost} connection losses logged:\n{log}");
    let again = log.matches("connected again").count();
    assert!(again >= 3, "{again} reconnections logged:\n{log}");

    // The first batch was fetched four times, whole the last time; the second once.
    let first: Vec<String> = (1..=BATCH).map(|uid| uid.to_string()).collect();
    let first = first.join(",");
    let fetches = relay.body_fetches();
    let of_first = fetches.iter().filter(|set| **set == first).count();
    assert_eq!(of_first, 4, "{fetches:?}");
    assert_eq!(fetches.len(), 5, "{fetches:?}");

    ledger.check(&plan).await;
    assert_eq!(dovecot.count(USER, "Processed").await as usize, MAILS);
}
