//! Notifications over real SMTP: a Python aiosmtpd server on loopback (tests/support/
//! smtp_sink.py) greylists one recipient once (451) and refuses another (550).

use std::time::Duration;

use ticketgate::notify::outbox_worker::{OutboxWake, OutboxWorker, Step};

use crate::daemon::{start, stop, wait_for};
use crate::support::helpers::Cli;
use crate::support::smtp_sink::SmtpSink;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_retried_after_4xx_failed_on_5xx_and_sent_once() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    let config = format!(
        "[smtp]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n[notifications]\nretry_first_secs = 1\n",
        sink.port
    );
    cli.write("config/ticketgate.toml", config.as_bytes());
    let inbox = cli.dir.path().join("data/inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    let mail = "From: Alice <alice@acme.example>\r\nTo: support@localhost\r\nCc: temp-bob@acme.example, perm-carol@acme.example\r\n\
                Subject: Printer on fire\r\nMessage-ID: <smtp-1@acme.example>\r\n\r\nHello, the printer is on fire. Thanks\r\n";
    std::fs::write(inbox.join("new/1.host"), mail).unwrap();
    let child = start(&cli, &[]);
    wait_for(
        "the acknowledgement and the greylisted notice",
        Duration::from_secs(20),
        || sink.received().len() == 2,
    );
    tokio::time::sleep(Duration::from_millis(1500)).await; // nothing more may come
    let stopped = stop(&cli, child);

    let received = sink.received();
    assert_eq!(
        received.len(),
        2,
        "each notification exactly once: {:?}",
        received.iter().map(|r| &r.0).collect::<Vec<_>>()
    );
    assert!(
        received
            .iter()
            .any(|(n, _)| n.ends_with("alice@acme.example.eml"))
    );
    assert!(
        received
            .iter()
            .any(|(n, _)| n.ends_with("temp-bob@acme.example.eml")),
        "sent after the 451"
    );
    let (_, ack) = received.iter().find(|(n, _)| n.contains("alice")).unwrap();
    assert!(
        ack.contains("Subject: [#") && ack.contains("Printer on fire"),
        "{ack}"
    );
    assert!(ack.contains("In-Reply-To: <smtp-1@acme.example>"), "{ack}");
    assert!(
        ack.contains("multipart/alternative") && ack.contains("text/html"),
        "{ack}"
    );
    assert!(ack.contains("Auto-Submitted: auto-replied"), "{ack}");

    use sqlx::Row;
    let mut db = crate::support::helpers::connect_any(&cli.database_url()).await;
    let rows =
        sqlx::query("SELECT recipient, status, attempts, last_error FROM outbox ORDER BY id")
            .fetch_all(&mut db)
            .await
            .unwrap();
    let status: Vec<(String, String, i64)> = rows
        .iter()
        .map(|r| (r.get("recipient"), r.get("status"), r.get("attempts")))
        .collect();
    assert!(
        status.contains(&("temp-bob@acme.example".into(), "sent".into(), 2)),
        "{status:?}"
    );
    let carol = rows
        .iter()
        .find(|r| r.get::<String, _>("recipient") == "perm-carol@acme.example")
        .unwrap();
    assert_eq!(carol.get::<String, _>("status"), "failed");
    assert!(
        carol.get::<String, _>("last_error").contains("550"),
        "the server's answer is kept"
    );
    assert!(stopped.log.contains("refused for good"), "{}", stopped.log);
}

/// STARTTLS (the server refuses mail before it) and implicit TLS, each with the server's
/// self-signed certificate trusted through `[smtp] ca_file`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_go_over_starttls_and_implicit_tls() {
    use std::ffi::OsStr;
    let certs = tempfile::tempdir().unwrap();
    if !crate::support::dovecot::make_certificate(certs.path()).await {
        return;
    }
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    for mode in ["starttls", "implicit"] {
        let Some(sink) = SmtpSink::start_with(&[
            OsStr::new("--tls"),
            OsStr::new(mode),
            OsStr::new("--cert"),
            cert.as_os_str(),
            OsStr::new("--key"),
            key.as_os_str(),
        ]) else {
            return;
        };
        let tls = format!("tls = \"{mode}\"\nca_file = '{}'\n", cert.display());
        let (env, worker) = smtp_env_with(&sink, &tls).await;
        env.process(
            b"From: alice@acme.example\r\nTo: support@ours.test\r\nSubject: Fax\r\n\
              Message-ID: <tls-1@acme.example>\r\n\r\nThe fax is silent.\r\n",
        )
        .await;
        while worker.step().await.unwrap() == ticketgate::notify::outbox_worker::Step::Handled {}
        let outbox = env.store().list_outbox(None, 5).await.unwrap();
        assert_eq!(outbox[0].status, "sent", "{mode}: {outbox:?}");
        assert_eq!(sink.received().len(), 1, "{mode}");
    }
}

/// A new mail from its own sender, so that the loop governor's limits never come in.
fn customer_mail(n: usize) -> Vec<u8> {
    format!(
        "From: customer{n}@acme.example\r\nTo: support@ours.test\r\nSubject: Broken thing {n}\r\n\
         Message-ID: <speed-{n}@acme.example>\r\n\r\nThing {n} is broken.\r\n"
    )
    .into_bytes()
}

/// A test environment whose notifications go to `sink` in plain text, with a worker to
/// send them.
async fn smtp_env(sink: &SmtpSink) -> (crate::support::helpers::TestEnv, OutboxWorker) {
    smtp_env_with(sink, "tls = \"none\"\n").await
}

/// The same with `tls` (the `[smtp]` keys of the TLS mode) for the connection.
async fn smtp_env_with(
    sink: &SmtpSink,
    tls: &str,
) -> (crate::support::helpers::TestEnv, OutboxWorker) {
    let env = crate::support::helpers::TestEnv::with_config(&format!(
        "[mail]\naddresses = [\"support@ours.test\"]\n[smtp]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\n{tls}",
        sink.port
    ))
    .await;
    let worker = ticketgate::notify::outbox_worker::OutboxWorker::from_settings(
        env.pipeline().settings(),
        env.store().clone(),
        env.clock.clone(),
    )
    .unwrap();
    (env, worker)
}

/// Nagle's algorithm held lettre's final `CRLF.CRLF` until the server's delayed ACK, 40 ms
/// later on Linux, so that no notification took less than 40 ms (about 20 a second). Each
/// one is timed; the fastest tells, whatever else loads the machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_go_out_without_waiting_for_delayed_acks() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (env, worker) = smtp_env(&sink).await;
    for n in 0..12 {
        env.process(&customer_mail(n)).await;
    }
    let mut fastest = Duration::MAX;
    loop {
        let started = std::time::Instant::now();
        if worker.step().await.unwrap() == Step::Idle {
            break;
        }
        fastest = fastest.min(started.elapsed());
    }
    assert_eq!(sink.received().len(), 12);
    assert!(
        fastest < Duration::from_millis(35),
        "the fastest notification took {fastest:?}: each waits for a delayed ACK (TCP_NODELAY off?)"
    );
}

/// The running worker looks at the outbox when it is woken, not only after its idle pause
/// (an hour here): the IMAP readers wake it after each commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_woken_outbox_worker_sends_at_once() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (env, worker) = smtp_env(&sink).await;
    env.process(&customer_mail(1)).await;
    let wake = OutboxWake::default();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running =
        tokio::spawn(worker.run(Duration::from_secs(3600), wake.clone(), shutdown.clone()));
    // The first look sends what was queued before the start; then the worker idles.
    wait_for("the first notification", Duration::from_secs(10), || {
        sink.received().len() == 1
    });
    env.process(&customer_mail(2)).await;
    wake.notify();
    wait_for(
        "the notification queued while the worker idled",
        Duration::from_secs(10),
        || sink.received().len() == 2,
    );
    // The server's log (what the benches time) names each acknowledgement, its recipient
    // and the mail it answers, in the order they arrived.
    let arrivals = sink.arrivals();
    let answered: Vec<(&str, &str)> = arrivals
        .iter()
        .map(|a| (a.recipient.as_str(), a.in_reply_to.as_str()))
        .collect();
    assert_eq!(
        answered,
        [
            ("customer1@acme.example", "<speed-1@acme.example>"),
            ("customer2@acme.example", "<speed-2@acme.example>")
        ]
    );
    assert!(arrivals.iter().all(|a| a.message_id.starts_with("<tg.")));
    assert!(arrivals[0].at <= arrivals[1].at);
    shutdown.cancel();
    running.await.unwrap();
}

/// A connection used a moment ago is sent the next message without a NOOP first; when the
/// server closed it meanwhile (this one closes a silent client after 0.3 s), the message
/// goes out at once on a new connection, not after a retry pause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_connection_the_server_closed_meanwhile_costs_no_retry() {
    let Some(sink) = SmtpSink::start_with(&["--idle-timeout".as_ref(), "0.3".as_ref()]) else {
        return;
    };
    let (env, worker) = smtp_env(&sink).await;
    env.process(&customer_mail(1)).await;
    assert_eq!(worker.step().await.unwrap(), Step::Handled);
    // Closed by the server, still within the time the client sends without a check.
    tokio::time::sleep(Duration::from_millis(900)).await;
    env.process(&customer_mail(2)).await;
    assert_eq!(
        worker.deliver_next().await.unwrap(),
        Some(ticketgate::notify::outbox_worker::Delivery::Sent)
    );
    assert_eq!(sink.received().len(), 2);
    let rows = env.store().list_outbox(None, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|r| r.status == "sent" && r.attempts == 1),
        "{rows:#?}"
    );
}
