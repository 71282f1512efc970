//! `ticketgate run` against the IMAP servers people run, played by real Dovecot: personal
//! folders under `INBOX.` (Courier, Cyrus), a server without IDLE that tells of new mail
//! only on NOOP (Courier), one that announces new mail during IDLE late, one without MOVE
//! or UIDPLUS, a processed folder the server refuses, and an acknowledgement refused while
//! the daemon runs. In each, mail waiting at start and mail arriving later become tickets
//! once, are acknowledged as configured, and no UID is fetched twice.

use std::collections::HashMap;
use std::time::Duration;

use crate::daemon::{start, stop, wait_for};
use crate::imap::{cli_with, mail, ticket_count};
use crate::support::dovecot::{Dovecot, Options, REFUSED_FOLDER_NAME};
use crate::support::helpers::{Cli, stdout};
use crate::support::imap_proxy::{ImapProxy, ProxyOptions};

const USER: &str = "support";
const PASSWORD: &str = "s3cret-pass";

/// A `[[mailbox]]` section reading through `proxy`.
fn mailbox(proxy: &ImapProxy, extra: &str) -> String {
    format!(
        "[[mailbox]]\nname = \"support\"\naddress = \"support@localhost\"\nhost = \"{}\"\nport = {}\n\
         tls = \"none\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n{extra}\n",
        proxy.host(),
        proxy.port()
    )
}

/// Dovecot with `options` and a proxy in front of it playing `proxy_options`.
async fn server(options: Options, proxy_options: ProxyOptions) -> Option<(Dovecot, ImapProxy)> {
    let dovecot = Dovecot::start_with(&[(USER, PASSWORD)], options).await?;
    let proxy = ImapProxy::start(dovecot.host(), dovecot.port(), proxy_options);
    Some((dovecot, proxy))
}

/// Every UID was fetched once at most.
fn fetched_once(proxy: &ImapProxy) -> HashMap<u32, usize> {
    let counts = proxy.body_fetch_counts();
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "UIDs fetched more than once: {twice:?}");
    counts
}

fn mailboxes(cli: &Cli) -> String {
    stdout(&cli.run(&["mailboxes"], None))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_under_inbox_dot_work_with_the_defaults() {
    let Some((dovecot, proxy)) = server(Options::courier(), ProxyOptions::default()).await else {
        return;
    };
    let processed = dovecot.folder("Processed");
    assert_eq!(processed, "INBOX.Processed");
    dovecot.append(USER, "INBOX", &mail(1)).await;
    dovecot.append(USER, "INBOX", &mail(2)).await;
    // processed left at its default, move:Processed.
    let cli = cli_with(&mailbox(&proxy, ""));
    let child = start(&cli, &[]);
    wait_for("the two waiting mails", Duration::from_secs(20), || {
        ticket_count(&cli) == 2
    });
    dovecot.append(USER, "INBOX", &mail(3)).await;
    wait_for("the mail appended later", Duration::from_secs(20), || {
        ticket_count(&cli) == 3
    });
    wait_for_count(&dovecot, &processed, 3).await;
    // The cursor is saved just after the move.
    wait_for("the cursor past the third", Duration::from_secs(10), || {
        mailboxes(&cli).contains("handled up to UID 3")
    });
    let state = mailboxes(&cli);
    let stopped = stop(&cli, child);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert!(
        stopped
            .log
            .contains("created the folder handled messages move to")
            && stopped.log.contains("INBOX.Processed"),
        "{}",
        stopped.log
    );
    assert_eq!(dovecot.count(USER, "INBOX").await, 0);
    assert_eq!(fetched_once(&proxy).len(), 3);
    assert!(!stopped.log.contains("ERROR"), "{}", stopped.log);
    assert!(
        state.contains("handled up to UID 3") && state.contains("no problem"),
        "{state}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_idle_new_mail_is_seen_by_polling_with_noop() {
    let options = ProxyOptions {
        remove_capabilities: &["IDLE"],
        hold_new_mail_until_noop: true,
    };
    let Some((dovecot, proxy)) = server(Options::default(), options).await else {
        return;
    };
    dovecot.append(USER, "INBOX", &mail(1)).await;
    let cli = cli_with(&mailbox(&proxy, "poll_interval_secs = 1"));
    let child = start(&cli, &[]);
    wait_for("the waiting mail", Duration::from_secs(20), || {
        ticket_count(&cli) == 1
    });
    for n in 2..=4 {
        dovecot.append(USER, "INBOX", &mail(n)).await;
    }
    wait_for(
        "the mails a server shows only after NOOP",
        Duration::from_secs(20),
        || ticket_count(&cli) == 4,
    );
    wait_for_count(&dovecot, "Processed", 4).await;
    let stopped = stop(&cli, child);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    let commands = proxy.commands();
    assert!(commands.iter().any(|c| c == "NOOP"), "{commands:?}");
    assert!(!commands.iter().any(|c| c == "IDLE"), "{commands:?}");
    assert_eq!(fetched_once(&proxy).len(), 4);
    assert_eq!(dovecot.count(USER, "INBOX").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_announcing_late_is_asked_again_during_idle() {
    // IDLE is there, but new mail shows only after NOOP: without idle_check_secs the daemon
    // would idle until its renewal, 25 minutes later.
    let options = ProxyOptions {
        remove_capabilities: &[],
        hold_new_mail_until_noop: true,
    };
    let Some((dovecot, proxy)) = server(Options::default(), options).await else {
        return;
    };
    let cli = cli_with(&mailbox(&proxy, "idle_check_secs = 1"));
    let child = start(&cli, &[]);
    wait_for("the daemon to idle", Duration::from_secs(20), || {
        proxy.commands().iter().any(|c| c == "IDLE")
    });
    dovecot.append(USER, "INBOX", &mail(1)).await;
    wait_for(
        "the mail announced only to NOOP",
        Duration::from_secs(20),
        || ticket_count(&cli) == 1,
    );
    let stopped = stop(&cli, child);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert_eq!(fetched_once(&proxy).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_move_or_uidplus_only_our_messages_are_expunged() {
    let options = ProxyOptions {
        remove_capabilities: &["MOVE", "UIDPLUS"],
        hold_new_mail_until_noop: false,
    };
    let Some((dovecot, proxy)) = server(Options::default(), options).await else {
        return;
    };
    dovecot.append(USER, "INBOX", &mail(1)).await;
    // A message over max_message_bytes stays in INBOX, unread; another client flags it
    // deleted without expunging it: ours must not expunge it with our own.
    let large = format!(
        "From: big@example.com\r\nSubject: Large\r\n\r\n{}\r\n",
        "x".repeat(20_000)
    );
    let cli = cli_with(&format!(
        "max_message_bytes = 10000\n{}",
        mailbox(&proxy, "")
    ));
    let child = start(&cli, &[]);
    wait_for("the first mail", Duration::from_secs(20), || {
        ticket_count(&cli) == 1
    });
    wait_for_count(&dovecot, "INBOX", 0).await;
    dovecot.append(USER, "INBOX", large.as_bytes()).await;
    flag_all_deleted(&dovecot).await;
    dovecot.append(USER, "INBOX", &mail(2)).await;
    wait_for("the second mail", Duration::from_secs(20), || {
        ticket_count(&cli) == 2
    });
    wait_for_count(&dovecot, "Processed", 2).await;
    let stopped = stop(&cli, child);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    let commands = proxy.commands();
    assert!(
        commands.iter().any(|c| c.starts_with("UID COPY"))
            && !commands
                .iter()
                .any(|c| c.contains("MOVE") || c.starts_with("UID EXPUNGE")),
        "{commands:?}"
    );
    assert_eq!(
        commands.iter().filter(|c| *c == "EXPUNGE").count(),
        1,
        "expunged only while nothing but ours was flagged: {commands:?}"
    );
    // The other client's message is still there, beside ours, flagged and not expunged.
    let left = dovecot.messages(USER, "INBOX").await;
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().any(|m| m == large.as_bytes()));
    assert_eq!(fetched_once(&proxy).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processed_folder_the_server_refuses_is_an_error_not_a_loop() {
    let Some((dovecot, proxy)) = server(Options::default(), ProxyOptions::default()).await else {
        return;
    };
    dovecot.append(USER, "INBOX", &mail(1)).await;
    let cli = cli_with(&mailbox(
        &proxy,
        &format!("processed = \"move:{REFUSED_FOLDER_NAME}\""),
    ));
    let child = start(&cli, &[]);
    let log = cli.dir.path().join("daemon.log");
    wait_for("the mailbox given up", Duration::from_secs(20), || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("mailbox not watched"))
    });
    // Long enough for a loop to show: a reconnect would come within a second or two.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = mailboxes(&cli);
    let stopped = stop(&cli, child);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert_eq!(proxy.connections(), 1, "{:?}", proxy.commands());
    assert!(proxy.body_fetch_counts().is_empty(), "nothing fetched");
    assert_eq!(ticket_count(&cli), 0);
    assert_eq!(dovecot.count(USER, "INBOX").await, 1);
    let errors: Vec<&str> = stopped
        .log
        .lines()
        .filter(|l| l.contains("ERROR"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", stopped.log);
    assert!(
        errors[0].contains(REFUSED_FOLDER_NAME) && errors[0].contains("refuses to create it"),
        "{}",
        errors[0]
    );
    assert!(
        state.contains("folder problem") && state.contains(REFUSED_FOLDER_NAME),
        "{state}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_acknowledgement_is_retried_and_never_fetches_again() {
    // Dovecot would otherwise make the folder again at its first mention.
    let options = Options {
        auto_create_processed: false,
        ..Options::default()
    };
    let Some((dovecot, proxy)) = server(options, ProxyOptions::default()).await else {
        return;
    };
    let cli = cli_with(&mailbox(&proxy, ""));
    let child = start(&cli, &[]);
    dovecot.append(USER, "INBOX", &mail(1)).await;
    wait_for("the first mail", Duration::from_secs(20), || {
        ticket_count(&cli) == 1
    });
    wait_for_count(&dovecot, "Processed", 1).await;
    // Another client deletes the processed folder: the next move is refused.
    delete_folder(&dovecot, "Processed").await;
    dovecot.append(USER, "INBOX", &mail(2)).await;
    dovecot.append(USER, "INBOX", &mail(3)).await;
    wait_for("the two mails", Duration::from_secs(20), || {
        ticket_count(&cli) == 3
    });
    wait_for("the refusal recorded", Duration::from_secs(20), || {
        mailboxes(&cli).contains("2 handled message(s) not acknowledged")
    });
    // New mail keeps coming in meanwhile, and nothing is fetched again.
    dovecot.append(USER, "INBOX", &mail(4)).await;
    wait_for(
        "the mail after the refusal",
        Duration::from_secs(20),
        || ticket_count(&cli) == 4,
    );
    assert_eq!(dovecot.count(USER, "INBOX").await, 3);
    // The folder is back: the acknowledgements go through at their next try (5 s, then
    // 10 s…).
    dovecot.recreate_folder(USER, "Processed").await;
    wait_for_count_within(&dovecot, "INBOX", 0, Duration::from_secs(40)).await;
    wait_for("the problem cleared", Duration::from_secs(10), || {
        mailboxes(&cli).contains("no problem")
    });
    let stopped = stop(&cli, child);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert_eq!(dovecot.count(USER, "Processed").await, 3);
    assert_eq!(fetched_once(&proxy).len(), 4);
    let refusals = stopped
        .log
        .lines()
        .filter(|l| l.contains("refuses to acknowledge"))
        .count();
    assert_eq!(refusals, 1, "logged once per change: {}", stopped.log);
    assert!(
        stopped
            .log
            .contains("took the acknowledgements it had refused"),
        "{}",
        stopped.log
    );
    assert!(!stopped.log.contains("duplicate"), "{}", stopped.log);
}

/// Waits until `folder` holds `count` messages.
async fn wait_for_count(dovecot: &Dovecot, folder: &str, count: u32) {
    wait_for_count_within(dovecot, folder, count, Duration::from_secs(20)).await;
}

async fn wait_for_count_within(dovecot: &Dovecot, folder: &str, count: u32, within: Duration) {
    let started = std::time::Instant::now();
    loop {
        let now = dovecot.count(USER, folder).await;
        if now == count {
            return;
        }
        assert!(
            started.elapsed() < within,
            "{folder} holds {now} messages, not {count}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Flags every message of INBOX deleted, as another client would, without expunging.
async fn flag_all_deleted(dovecot: &Dovecot) {
    use futures::TryStreamExt;
    let mut session = dovecot.session(USER).await;
    session.select("INBOX").await.unwrap();
    session
        .store("1:*", "+FLAGS.SILENT (\\Deleted)")
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    session.logout().await.unwrap();
}

/// Deletes `folder`, as another client would.
async fn delete_folder(dovecot: &Dovecot, folder: &str) {
    let mut session = dovecot.session(USER).await;
    session.delete(folder).await.unwrap();
    session.logout().await.unwrap();
}
