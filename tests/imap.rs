//! `ticketgate run` against a real Dovecot: IDLE, acknowledgement after commit, reconnects,
//! crashes, refused logins, TLS, several mailboxes and XOAUTH2.

use std::time::{Duration, Instant};

use crate::daemon::{start, stop, wait_for};
use crate::support::dovecot::{Dovecot, Options};
use crate::support::helpers::Cli;

pub(crate) const USER: &str = "support";
pub(crate) const PASSWORD: &str = "s3cret-pass";

/// A `[[mailbox]]` section for `user` on the harness's plain port.
pub(crate) fn mailbox(
    dovecot: &Dovecot,
    name: &str,
    user: &str,
    password: &str,
    extra: &str,
) -> String {
    format!(
        "[[mailbox]]\nname = \"{name}\"\naddress = \"{user}@localhost\"\nhost = \"{}\"\nport = {}\ntls = \"none\"\n\
         username = \"{user}\"\npassword = \"{password}\"\n{extra}\n",
        dovecot.host(),
        dovecot.port()
    )
}

/// A working directory whose config/ticketgate.toml holds `config`.
pub(crate) fn cli_with(config: &str) -> Cli {
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    cli.write("config/ticketgate.toml", config.as_bytes());
    cli
}

/// A distinct, human-looking mail.
pub(crate) fn mail(n: u32) -> Vec<u8> {
    format!(
        "From: Customer {n} <customer{n}@client{n}.example>\r\nTo: support@localhost\r\nSubject: Problem number {n}\r\n\
         Message-ID: <imap-{n}@client.example>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nHello, thing {n} is broken. Thanks\r\n"
    )
    .into_bytes()
}

/// Tickets in the daemon's database, read directly: quick enough to poll, and unlike
/// `tickets list` it migrates nothing, so it cannot race the daemon's own migrations while
/// the daemon starts (two processes migrating one new SQLite file at once fail with "table
/// already exists"). None until the daemon made its tables. Called from the tests'
/// multi-threaded runtimes.
pub(crate) fn ticket_count(cli: &Cli) -> usize {
    use sqlx::Connection;
    let url = cli.database_url();
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async {
            sqlx::any::install_default_drivers();
            let Ok(mut db) = sqlx::AnyConnection::connect(&url).await else {
                return 0;
            };
            let count = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM tickets")
                .fetch_one(&mut db)
                .await
                .map_or(0, |n| usize::try_from(n).unwrap_or(0));
            let _ = db.close().await;
            count
        })
    })
}

fn tickets(cli: &Cli) -> Vec<serde_json::Value> {
    let out = cli.run(&["tickets", "list", "--json"], None);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let n = t["number"].as_str().unwrap();
            serde_json::from_slice(&cli.run(&["tickets", "show", n, "--json"], None).stdout)
                .unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_mail_is_handled_then_idle_picks_up_new_mail_within_a_second() {
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    dovecot.append(USER, "INBOX", &mail(1)).await;
    dovecot.append(USER, "INBOX", &mail(2)).await;
    let cli = cli_with(&mailbox(&dovecot, "support", USER, PASSWORD, ""));
    let child = start(&cli, &[]);

    wait_for("the two waiting mails", Duration::from_secs(20), || {
        ticket_count(&cli) == 2
    });
    // Give the daemon time to enter IDLE, then deliver while it idles.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(dovecot.count(USER, "Processed").await, 2);
    let appended = chrono::Utc::now();
    dovecot.append(USER, "INBOX", &mail(3)).await;
    wait_for(
        "the mail appended during IDLE",
        Duration::from_secs(10),
        || ticket_count(&cli) == 3,
    );

    let stopped = stop(&cli, child);
    // From the APPEND to the commit, as the daemon's own log timestamps it.
    let committed = stopped
        .log
        .lines()
        .find(|l| l.contains("imap-3@client.example") && l.contains("ticket opened"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .unwrap_or_else(|| panic!("no commit logged for the third mail: {}", stopped.log));
    let latency = (committed.with_timezone(&chrono::Utc) - appended)
        .to_std()
        .unwrap_or_default();
    eprintln!("IMAP IDLE: APPEND to ticket committed in {latency:?}");
    assert!(latency < Duration::from_secs(1), "IDLE took {latency:?}");
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert_eq!(dovecot.count(USER, "INBOX").await, 0);
    assert_eq!(dovecot.count(USER, "Processed").await, 3);
    let processed = dovecot.messages(USER, "Processed").await;
    assert_eq!(processed[0], mail(1), "the message is moved untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dovecot_restart_mid_run_is_survived_without_loss() {
    let Some(mut dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let cli = cli_with(&mailbox(&dovecot, "support", USER, PASSWORD, ""));
    let child = start(&cli, &[]);
    dovecot.append(USER, "INBOX", &mail(1)).await;
    wait_for("the first mail", Duration::from_secs(20), || {
        ticket_count(&cli) == 1
    });

    dovecot.stop().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    dovecot.restart().await;
    dovecot.append(USER, "INBOX", &mail(2)).await;
    dovecot.append(USER, "INBOX", &mail(3)).await;
    wait_for(
        "the mails after the restart",
        Duration::from_secs(30),
        || ticket_count(&cli) == 3,
    );
    let stopped = stop(&cli, child);
    assert!(stopped.log.contains("connected again"), "{}", stopped.log);
    assert_eq!(dovecot.count(USER, "Processed").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_commit_and_move_gives_no_second_ticket() {
    // Without Dovecot's auto-creation, a deleted processed folder stays deleted.
    let options = Options {
        auto_create_processed: false,
        ..Options::default()
    };
    let Some(dovecot) = Dovecot::start_with(&[(USER, PASSWORD)], options).await else {
        return;
    };
    let cli = cli_with(&mailbox(&dovecot, "support", USER, PASSWORD, ""));
    let mut child = start(&cli, &[]);
    wait_for("the processed folder", Duration::from_secs(20), || {
        std::fs::read_to_string(cli.dir.path().join("daemon.log"))
            .is_ok_and(|l| l.contains("created the folder handled messages move to"))
    });
    // The move cannot succeed: the ticket is committed, the message stays in INBOX.
    let mut other = dovecot.session(USER).await;
    other.delete("Processed").await.unwrap();
    other.logout().await.unwrap();
    dovecot.append(USER, "INBOX", &mail(1)).await;
    wait_for("the commit", Duration::from_secs(20), || {
        ticket_count(&cli) == 1
    });
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert_eq!(dovecot.count(USER, "INBOX").await, 1, "not acknowledged");
    // As if the process had died before even recording how far it got: the mailbox's
    // state is gone, and the message comes back at the next start.
    forget_mailbox_state(&cli).await;

    let child = start(&cli, &[]);
    let start_wait = Instant::now();
    while dovecot.count(USER, "INBOX").await != 0 {
        assert!(
            start_wait.elapsed() < Duration::from_secs(20),
            "the message was never acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stopped = stop(&cli, child);
    assert!(stopped.log.contains("Duplicate"), "{}", stopped.log);
    assert_eq!(ticket_count(&cli), 1);
    assert_eq!(dovecot.count(USER, "Processed").await, 1);
}

/// Deletes what the daemon recorded of its mailboxes (cursor, acknowledgements to make),
/// directly in its database.
async fn forget_mailbox_state(cli: &Cli) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&cli.database_url())
        .await
        .unwrap();
    for table in ["mailbox_cursors", "mailbox_pending_acks"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut db)
            .await
            .unwrap();
    }
    db.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_one_clear_error_then_retries_with_backoff() {
    // The login fails before anything is stored: the SQLite pass says all of it.
    if crate::support::postgres::server().is_some() {
        return;
    }
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let cli = cli_with(&mailbox(&dovecot, "support", USER, "wrong", ""));
    let child = start(&cli, &[("TICKETGATE_LOG", "ticketgate=debug")]);
    let started = Instant::now();
    // Dovecot delays repeated failures from one address, so wait for the retry to show.
    wait_for("a second login attempt", Duration::from_secs(30), || {
        std::fs::read_to_string(cli.dir.path().join("daemon.log"))
            .is_ok_and(|l| l.contains("still unavailable"))
    });
    let elapsed = started.elapsed();
    let stopped = stop(&cli, child);
    assert_eq!(stopped.status.code(), Some(0));
    let errors: Vec<&str> = stopped
        .log
        .lines()
        .filter(|l| l.contains("ERROR"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", stopped.log);
    assert!(
        errors[0].contains("login refused for support"),
        "{}",
        errors[0]
    );
    assert!(
        stopped.log.contains("still unavailable"),
        "retried: {}",
        stopped.log
    );
    let retries = stopped.log.matches("still unavailable").count() as u64;
    assert!(
        retries <= elapsed.as_secs() + 1,
        "backoff, not a tight loop: {retries} retries in {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_with_a_self_signed_certificate_trusted_through_ca_file() {
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    dovecot.append(USER, "INBOX", &mail(1)).await;
    let config = format!(
        "[[mailbox]]\nname = \"tls\"\naddress = \"support@localhost\"\nhost = \"localhost\"\nport = {}\ntls = \"implicit\"\n\
         username = \"{USER}\"\npassword_file = \"secret\"\nca_file = '{}'\n",
        dovecot.tls_port(),
        dovecot.ca_file().display()
    );
    let cli = cli_with(&config);
    cli.write("secret", format!("{PASSWORD}\n").as_bytes());
    let child = start(&cli, &[]);
    wait_for("the mail over TLS", Duration::from_secs(20), || {
        ticket_count(&cli) == 1
    });
    stop(&cli, child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mailboxes_at_once_with_their_own_defaults() {
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD), ("sales", "sales-pass")]).await else {
        return;
    };
    let short = |n: u32| {
        format!(
            "From: c{n}@client.example\r\nTo: x@localhost\r\nSubject: {n}\r\nMessage-ID: <two-{n}@client.example>\r\n\r\n#{n}\r\n"
        )
        .into_bytes()
    };
    dovecot.append(USER, "INBOX", &short(1)).await;
    dovecot.append("sales", "INBOX", &short(2)).await;
    let config = format!(
        "{}{}",
        mailbox(
            &dovecot,
            "support",
            USER,
            PASSWORD,
            "type = \"incident\"\nlanguage = \"en\""
        ),
        mailbox(
            &dovecot,
            "sales",
            "sales",
            "sales-pass",
            "type = \"request\"\nlanguage = \"fr\""
        ),
    );
    // A third mailbox whose login is refused must not hold the others back.
    let broken = mailbox(&dovecot, "broken", USER, "not-the-password", "");
    let cli = cli_with(&format!(
        "{config}{}",
        broken.replace("support@localhost", "broken@localhost")
    ));
    let child = start(&cli, &[]);
    wait_for("both mailboxes", Duration::from_secs(20), || {
        ticket_count(&cli) == 2
    });
    wait_for(
        "the broken mailbox's error",
        Duration::from_secs(20),
        || {
            std::fs::read_to_string(cli.dir.path().join("daemon.log"))
                .is_ok_and(|l| l.contains("mailbox{mailbox=broken}: mailbox unavailable"))
        },
    );
    let stopped = stop(&cli, child);
    assert!(
        stopped
            .log
            .contains("mailbox{mailbox=broken}: mailbox unavailable"),
        "{}",
        stopped.log
    );
    let all = tickets(&cli);
    let by_title = |t: &str| all.iter().find(|x| x["title"] == t).unwrap().clone();
    assert_eq!(
        (
            by_title("1")["type"].as_str(),
            by_title("1")["language"].as_str()
        ),
        (Some("incident"), Some("en"))
    );
    assert_eq!(
        (
            by_title("2")["type"].as_str(),
            by_title("2")["language"].as_str()
        ),
        (Some("request"), Some("fr"))
    );
}

/// A one-shot OAuth2 token endpoint: answers every POST with a fresh access token (the
/// user's password, which the harness's Dovecot takes as XOAUTH2 token) and a rotated
/// refresh token; returns the form bodies it received.
async fn token_endpoint(access_token: &'static str) -> (u16, tokio::task::JoinHandle<Vec<String>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        let mut bodies = Vec::new();
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= len {
                    bodies.push(body.to_string());
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let json = format!(
            "{{\"access_token\":\"{access_token}\",\"expires_in\":3600,\"refresh_token\":\"rotated-2\"}}"
        );
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
            json.len()
        );
        socket.write_all(response.as_bytes()).await.unwrap();
        bodies
    });
    (port, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xoauth2_with_a_refresh_token_that_the_provider_rotates() {
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    dovecot.append(USER, "INBOX", &mail(1)).await;
    let (port, endpoint) = token_endpoint(PASSWORD).await;
    let config = format!(
        "[[mailbox]]\nname = \"oauth\"\naddress = \"support@localhost\"\nhost = \"{}\"\nport = {}\ntls = \"none\"\n\
         username = \"{USER}\"\nauth = \"xoauth2\"\noauth2_token_url = \"http://127.0.0.1:{port}/token\"\n\
         oauth2_client_id = \"ticketgate-test\"\noauth2_client_secret = \"client-secret\"\noauth2_refresh_token_file = \"refresh\"\n",
        dovecot.host(),
        dovecot.port()
    );
    let cli = cli_with(&config);
    cli.write("refresh", b"refresh-1\n");
    let child = start(&cli, &[]);
    wait_for("the mail through XOAUTH2", Duration::from_secs(20), || {
        ticket_count(&cli) == 1
    });
    stop(&cli, child);
    let bodies = endpoint.await.unwrap();
    assert!(
        bodies[0].contains("grant_type=refresh_token")
            && bodies[0].contains("refresh_token=refresh-1"),
        "{bodies:?}"
    );
    assert!(
        bodies[0].contains("client_id=ticketgate-test"),
        "{bodies:?}"
    );
    assert_eq!(
        std::fs::read_to_string(cli.dir.path().join("refresh")).unwrap(),
        "rotated-2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_uidvalidity_change_rereads_the_folder_without_second_tickets() {
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    dovecot.recreate_folder(USER, "Support").await;
    dovecot.append(USER, "Support", &mail(1)).await;
    let config = mailbox(
        &dovecot,
        "support",
        USER,
        PASSWORD,
        "folder = \"Support\"\nprocessed = \"seen\"",
    );
    let cli = cli_with(&config);
    let child = start(&cli, &[]);
    wait_for("the first mail", Duration::from_secs(20), || {
        ticket_count(&cli) == 1
    });
    stop(&cli, child);

    // The folder is recreated (a restore, a migration): new UIDVALIDITY, same mail.
    dovecot.recreate_folder(USER, "Support").await;
    dovecot.append(USER, "Support", &mail(1)).await;
    dovecot.append(USER, "Support", &mail(2)).await;
    let child = start(&cli, &[]);
    wait_for("the new mail", Duration::from_secs(20), || {
        ticket_count(&cli) == 2
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = stop(&cli, child);
    assert!(
        stopped.log.contains("UIDVALIDITY changed"),
        "{}",
        stopped.log
    );
    assert_eq!(
        ticket_count(&cli),
        2,
        "mail 1 was read again but not ticketed twice"
    );
    assert_eq!(
        dovecot.count(USER, "Support").await,
        2,
        "seen mode leaves the messages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_announced_while_a_pass_runs_is_not_left_until_the_idle_renewal() {
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let cli = cli_with(&mailbox(&dovecot, "support", USER, PASSWORD, ""));
    let child = start(&cli, &[("TICKETGATE_LOG", "ticketgate=debug")]);
    wait_for("the daemon to connect", Duration::from_secs(20), || {
        std::fs::read_to_string(cli.dir.path().join("daemon.log"))
            .is_ok_and(|l| l.contains("connected"))
    });
    // A long message keeps the pass busy; the second one arrives meanwhile.
    let mut big = String::from(
        "From: Big <big@client.example>\r\nTo: support@localhost\r\nSubject: big\r\nMessage-ID: <big@client.example>\r\n\r\n",
    );
    for i in 0..100_000 {
        big.push_str(&format!("line {i} of a long body, hello the world\r\n"));
    }
    dovecot.append(USER, "INBOX", big.as_bytes()).await;
    wait_for(
        "the long message to be taken",
        Duration::from_secs(20),
        || {
            std::fs::read_to_string(cli.dir.path().join("daemon.log"))
                .is_ok_and(|l| l.contains("imap:support:1"))
        },
    );
    dovecot.append(USER, "INBOX", &mail(2)).await;
    wait_for(
        "the second message, well before any IDLE renewal",
        Duration::from_secs(10),
        || ticket_count(&cli) == 2,
    );
    stop(&cli, child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_after_login_backs_off_and_is_logged_once() {
    // The folder is refused before anything is stored: the SQLite pass says all of it.
    if crate::support::postgres::server().is_some() {
        return;
    }
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let cli = cli_with(&mailbox(
        &dovecot,
        "support",
        USER,
        PASSWORD,
        "folder = \"NoSuchFolder\"",
    ));
    let child = start(&cli, &[]);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let stopped = stop(&cli, child);
    let errors = stopped.log.lines().filter(|l| l.contains("ERROR")).count();
    let logins = stopped.log.matches("connected").count();
    assert_eq!(errors, 1, "{}", stopped.log);
    assert!(stopped.log.contains("NoSuchFolder"), "{}", stopped.log);
    assert!(
        logins <= 1,
        "one 'connected' line, not one per retry: {}",
        stopped.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_size_limit_is_left_on_the_server_undownloaded() {
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let mut big = String::from_utf8(mail(1)).unwrap();
    big.push_str(&"x".repeat(8000));
    dovecot.append(USER, "INBOX", big.as_bytes()).await;
    dovecot.append(USER, "INBOX", &mail(2)).await;
    let cli = cli_with(&mailbox(&dovecot, "support", USER, PASSWORD, ""));
    let child = start(&cli, &[("TICKETGATE_MAX_MESSAGE_BYTES", "4096")]);
    wait_for("the small message", Duration::from_secs(20), || {
        ticket_count(&cli) == 1
    });
    let stopped = stop(&cli, child);
    assert!(
        stopped
            .log
            .contains("over max_message_bytes: left on the server"),
        "{}",
        stopped.log
    );
    assert_eq!(dovecot.count(USER, "INBOX").await, 1, "the big one stays");
    assert_eq!(dovecot.count(USER, "Processed").await, 1);
}

/// A working directory whose attachment store cannot be created (a file stands in its
/// way): a disk-level failure that lasts until the file is removed.
fn cli_with_blocked_attachments(config: &str) -> Cli {
    let cli = cli_with(config);
    std::fs::create_dir_all(cli.dir.path().join("data")).unwrap();
    std::fs::write(cli.dir.path().join("data/attachments"), b"not a directory").unwrap();
    cli
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_cannot_be_stored_for_now_holds_back_those_after_it_until_it_can() {
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let stuck = crate::pipeline_rules::mail_with_attachment("imap-stuck@acme.example", 500);
    dovecot.append(USER, "INBOX", &stuck).await;
    dovecot.append(USER, "INBOX", &mail(2)).await;
    let cli = cli_with_blocked_attachments(&mailbox(&dovecot, "support", USER, PASSWORD, ""));
    let child = start(&cli, &[]);
    let log = cli.dir.path().join("daemon.log");
    wait_for("the first retry", Duration::from_secs(20), || {
        std::fs::read_to_string(&log)
            .is_ok_and(|l| l.matches("message kept for a retry").count() >= 2)
    });
    // The mail after it may be committed, but is acknowledged only after the one before it.
    assert_eq!(dovecot.count(USER, "INBOX").await, 2);
    assert_eq!(dovecot.count(USER, "Processed").await, 0);

    std::fs::remove_file(cli.dir.path().join("data/attachments")).unwrap();
    let started = Instant::now();
    while dovecot.count(USER, "Processed").await != 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the messages were never acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stopped = stop(&cli, child);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert_eq!(dovecot.count(USER, "INBOX").await, 0);
    assert_eq!(ticket_count(&cli), 2);
    let list = crate::support::helpers::stdout(&cli.run(&["quarantine", "list"], None));
    assert_eq!(list, "quarantine is empty\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_retry_budget_is_spent_is_quarantined_and_acknowledged() {
    let Some(dovecot) = Dovecot::start(&[(USER, PASSWORD)]).await else {
        return;
    };
    let stuck = crate::pipeline_rules::mail_with_attachment("imap-spent@acme.example", 500);
    dovecot.append(USER, "INBOX", &stuck).await;
    dovecot.append(USER, "INBOX", &mail(2)).await;
    let cli = cli_with_blocked_attachments(&mailbox(&dovecot, "support", USER, PASSWORD, ""));
    let child = start(&cli, &[("TICKETGATE_INTAKE__RETRY_BUDGET", "2")]);
    let started = Instant::now();
    while dovecot.count(USER, "Processed").await != 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the messages were never acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stopped = stop(&cli, child);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert_eq!(dovecot.count(USER, "INBOX").await, 0);
    assert_eq!(ticket_count(&cli), 1, "the second mail went through");
    let list = crate::support::helpers::stdout(&cli.run(&["quarantine", "list"], None));
    assert!(
        list.contains("tries 2  imap:support:1")
            && list.contains("gave up after 2 attempts: cannot write"),
        "{list}"
    );
}
