//! The daemon's clock jumps back an hour and forward again while mail arrives, the jobs
//! run (every second here) and the outbox sends, through the test hook of
//! `ticketgate::clock` (a file holding the shift, read at every reading of the clock).
//!
//! What a jump may not do: send a notification twice, fire an auto-close or a reminder
//! before its time, reopen a rate limit's window by going back, or put a ticket's
//! articles out of order; nor panic. A jump forward is time passing as far as the daemon
//! can tell: what falls due within it is due.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;

use super::{
    deliver_named, files_in, ints, ints_with, log_of, make_maildir, postgres_pass, strings,
    wait_until,
};
use crate::daemon::{start, stop};
use crate::support::helpers::{Cli, stdout};

const HOUR: i64 = 3600;

const CONFIG: &str = "[jobs]\n\
    auto_close = \"* * * * * *\"\n\
    resolution_reminder = \"* * * * * *\"\n\
    waiting_reminder = \"* * * * * *\"\n\
    [notifications]\n\
    recipient_limits = [\"1/10m\"]\n";

/// A stretch of the test: the clock's shift in seconds, and the mails that come then,
/// each with the one it answers.
type Phase = (i64, &'static [(&'static str, Option<&'static str>)]);

/// A customer's mail, answering `replying_to` (a Message-ID's local part) when given.
fn mail(from: &str, id: &str, replying_to: Option<&str>) -> Vec<u8> {
    let reply = replying_to
        .map(|r| format!("In-Reply-To: <{r}@acme.example>\r\n"))
        .unwrap_or_default();
    format!(
        "From: {from}@acme.example\r\nTo: support@localhost\r\nSubject: Mail {id}\r\n\
         Message-ID: <{id}@acme.example>\r\n{reply}\r\nThis is mail {id}.\r\n"
    )
    .into_bytes()
}

/// Where the daemon's clock shift is written.
struct Shift(PathBuf);

impl Shift {
    /// Moves the daemon's clock to `seconds` from the true time (written whole, so the
    /// daemon never reads half a number).
    fn to(&self, seconds: i64) {
        let tmp = self.0.with_extension("tmp");
        std::fs::write(&tmp, seconds.to_string()).unwrap();
        std::fs::rename(&tmp, &self.0).unwrap();
    }
}

/// Waits until the auto-close and the resolution reminder each ran as of the clock
/// `shift` seconds from the true time, after the run `after`; the newest run's id.
fn jobs_ran_at(cli: &Cli, shift: i64, after: i64) -> i64 {
    let ran = |job: &str| {
        let at = (Utc::now().timestamp() + shift) * 1000;
        let runs = ints_with(
            cli,
            &format!(
                "SELECT COUNT(*) FROM job_runs WHERE job = '{job}' AND id > $1 \
                 AND as_of BETWEEN $2 AND $3 AND finished_at IS NOT NULL"
            ),
            &[after, at - 300_000, at + 300_000],
        );
        runs[0] > 0
    };
    wait_until(
        cli,
        &format!("the jobs to run at {shift:+} s"),
        Duration::from_secs(10),
        || ran("auto-close") && ran("resolution-reminder"),
    );
    ints(cli, "SELECT MAX(id) FROM job_runs")[0]
}

/// Waits until `handled` mails went through and the outbox has nothing left to send.
fn settled(cli: &Cli, inbox: &Path, handled: usize) {
    wait_until(
        cli,
        "the mails and the outbox",
        Duration::from_secs(10),
        || {
            files_in(&inbox.join("cur")).len() == handled
                && ints(
                    cli,
                    "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')",
                ) == [0]
        },
    );
}

/// A ticket of `from` resolved `ago_secs` ago, with nothing left in the outbox; its number.
fn resolved_ticket(cli: &Cli, from: &str, ago_secs: i64) -> String {
    let file = cli.write(&format!("{from}.eml"), &mail(from, from, None));
    let out = cli.run(&["ingest", &file], None);
    let number = stdout(&out).trim().rsplit(' ').next().unwrap().to_string();
    let resolved = cli.run(
        &["tickets", "resolve", &number, "--solution", "Done."],
        None,
    );
    assert!(resolved.status.success(), "{resolved:?}");
    // Statements run through `ints_with`, whose rows are what RETURNING gives.
    let ticket = format!("(SELECT id FROM tickets WHERE number = '{number}')");
    let back = [ago_secs * 1000];
    ints_with(
        cli,
        &format!(
            "UPDATE tickets SET created_at = created_at - $1, resolved_at = resolved_at - $1, \
             status_since = status_since - $1, updated_at = updated_at - $1 \
             WHERE id = {ticket} RETURNING 0"
        ),
        &back,
    );
    ints_with(
        cli,
        &format!(
            "UPDATE articles SET created_at = created_at - $1 WHERE ticket_id = {ticket} \
             RETURNING 0"
        ),
        &back,
    );
    ints(cli, "DELETE FROM outbox RETURNING 0");
    number
}

#[test]
fn clock_jumps_fire_nothing_early_send_nothing_twice_and_keep_articles_in_order() {
    if postgres_pass() {
        return;
    }
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    cli.write("config/ticketgate.toml", CONFIG.as_bytes());
    let inbox = cli.dir.path().join("data/inbox");
    make_maildir(&inbox);
    let day = 24 * HOUR;
    // The auto-close of one (7 days after its solution) and the reminder of the other (2
    // days before that) fall due 90 minutes from now.
    let closing = resolved_ticket(&cli, "alice", 7 * day - 90 * 60);
    let reminded = resolved_ticket(&cli, "bob", 5 * day - 90 * 60);
    let shift = Shift(cli.dir.path().join("clock-shift"));
    shift.to(0);
    let shift_env = shift.0.to_str().unwrap().to_string();
    let daemon = start(&cli, &[("TICKETGATE_TEST_CLOCK_SHIFT_FILE", &shift_env)]);
    wait_until(
        &cli,
        "the jobs to be scheduled",
        Duration::from_secs(20),
        || log_of(&cli).matches("job scheduled").count() == ticketgate::service::JobKind::ALL.len(),
    );

    // On time, an hour back, an hour ahead, on time again: carol opens a ticket in each
    // but the second and answers it in each but the first.
    let mut run = 0;
    let phases: [Phase; 4] = [
        (0, &[("c1", None)]),
        (-HOUR, &[("c2", Some("c1")), ("c3", None)]),
        (HOUR, &[("c4", Some("c1")), ("c5", None)]),
        (0, &[("c6", Some("c1")), ("c7", None)]),
    ];
    let mut handled = 0;
    for (seconds, mails) in phases {
        shift.to(seconds);
        for (id, replying_to) in mails {
            deliver_named(&inbox, id, &mail("carol", id, *replying_to));
        }
        handled += mails.len();
        settled(&cli, &inbox, handled);
        run = jobs_ran_at(&cli, seconds, run);
    }
    let status = |number: &str| {
        strings(&cli, "SELECT number || ' ' || status FROM tickets")
            .into_iter()
            .find_map(|s| s.strip_prefix(&format!("{number} ")).map(str::to_string))
            .unwrap()
    };
    assert_eq!(status(&closing), "resolved", "not closed early");
    let reminders = |number: &str| {
        strings(
            &cli,
            "SELECT t.number FROM ticket_reminders r JOIN tickets t ON t.id = r.ticket_id",
        )
        .iter()
        .filter(|n| *n == number)
        .count()
    };
    assert_eq!(reminders(&reminded), 0, "not reminded early");
    assert_eq!(reminders(&closing), 1, "reminded at start, once");

    // The comments are in the order they came, each stamped by the clock of its time.
    let thread = carol_thread(&cli);
    let ids: Vec<&str> = thread.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["c1", "c2", "c4", "c6"]);
    let now = Utc::now().timestamp();
    for ((id, at), expected) in thread.iter().zip([0, -HOUR, HOUR, 0]) {
        let off = at - (now + expected);
        assert!((-600..=60).contains(&off), "{id} stamped {off} s off");
    }
    // The limit of one mail to carol per 10 minutes: going back an hour does not reopen
    // its window, nor does coming back from an hour ahead; going ahead is time passing.
    let carol = strings(
        &cli,
        "SELECT status FROM outbox WHERE recipient = 'carol@acme.example' \
         AND event = 'ticket_opened' ORDER BY id",
    );
    assert_eq!(carol, ["sent", "held", "sent", "held"]);

    // Two hours ahead, both fall due; back an hour and ahead again, neither is done twice.
    for seconds in [2 * HOUR, -HOUR, 2 * HOUR] {
        shift.to(seconds);
        run = jobs_ran_at(&cli, seconds, run);
        settled(&cli, &inbox, handled);
    }
    assert_eq!(status(&closing), "closed");
    assert_eq!(reminders(&reminded), 1);
    let stopped = stop(&cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert!(!stopped.log.contains("panicked"), "{}", stopped.log);
    for (event, number) in [
        ("ticket_auto_closed", &closing),
        ("resolution_reminder", &closing),
        ("resolution_reminder", &reminded),
    ] {
        let rows = strings(
            &cli,
            "SELECT e.event || ' ' || t.number || ' ' || e.status FROM outbox e \
             JOIN tickets t ON t.id = e.ticket_id",
        );
        let matching: Vec<_> = rows
            .iter()
            .filter(|r| r.starts_with(&format!("{event} {number} ")))
            .collect();
        assert_eq!(matching.len(), 1, "{event} of {number}: {rows:?}");
        assert!(matching[0].ends_with(" sent"), "{matching:?}");
    }
    assert_sent_once(&stopped.log);
}

/// The Message-ID (local part) and creation time (Unix seconds) of each article of the
/// ticket carol opened first, in the order the ticket shows them.
fn carol_thread(cli: &Cli) -> Vec<(String, i64)> {
    let first = strings(
        cli,
        "SELECT t.number FROM tickets t JOIN articles a ON a.ticket_id = t.id \
         WHERE a.message_id = 'c1@acme.example'",
    );
    let out = cli.run(&["tickets", "show", &first[0], "--json"], None);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    shown["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let id = a["message_id"].as_str().unwrap();
            let at = chrono::DateTime::parse_from_rfc3339(a["created_at"].as_str().unwrap());
            (
                id.trim_end_matches("@acme.example").to_string(),
                at.unwrap().timestamp(),
            )
        })
        .collect()
}

/// Each notification the log says was sent, it says so once.
fn assert_sent_once(log: &str) {
    let mut sent: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("notification sent"))
        .filter_map(|l| l.split("notification=").nth(1)?.split([' ', '}']).next())
        .collect();
    let all = sent.len();
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), all, "a notification sent twice:\n{log}");
    assert!(all >= 5, "{log}");
}

/// A webhook receiver that answers only once told to: the webhook-id of each POST it
/// took, and whether it may answer.
#[derive(Debug, Clone, Default)]
struct HeldReceiver {
    posts: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    answer: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl HeldReceiver {
    fn posts(&self) -> Vec<String> {
        self.posts.lock().unwrap().clone()
    }

    fn answer(&self) {
        self.answer.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn held_hook(
    axum::extract::State(receiver): axum::extract::State<HeldReceiver>,
    headers: axum::http::HeaderMap,
) -> axum::http::StatusCode {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    receiver.posts.lock().unwrap().push(id);
    let start = std::time::Instant::now();
    while !receiver.answer.load(std::sync::atomic::Ordering::SeqCst)
        && start.elapsed() < Duration::from_secs(20)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    axum::http::StatusCode::NO_CONTENT
}

#[test]
fn a_clock_jumping_ahead_while_a_webhook_is_posted_does_not_post_it_twice() {
    if postgres_pass() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receiver = HeldReceiver::default();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(held_hook))
        .with_state(receiver.clone());
    runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });

    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    let config = format!(
        "[[webhook]]\nname = \"slow\"\nurl = \"http://127.0.0.1:{port}/hook\"\n\
         secret = \"{}\"\nevents = [\"ticket_opened\"]\ntimeout_secs = 10\n",
        crate::webhooks::SECRET
    );
    cli.write("config/ticketgate.toml", config.as_bytes());
    let inbox = cli.dir.path().join("data/inbox");
    make_maildir(&inbox);
    let shift = Shift(cli.dir.path().join("clock-shift"));
    shift.to(0);
    let shift_env = shift.0.to_str().unwrap().to_string();
    let daemon = start(&cli, &[("TICKETGATE_TEST_CLOCK_SHIFT_FILE", &shift_env)]);
    deliver_named(&inbox, "1", &mail("carol", "w1", None));
    wait_until(
        &cli,
        "the webhook to be posted",
        Duration::from_secs(20),
        || !receiver.posts().is_empty(),
    );
    // An hour ahead while the receiver has not answered: the claim on the row runs out
    // by the clock, not by the time the delivery really took. Another lane claims the
    // row at its next look (a quarter of a second): it passes it over, or posts it again.
    shift.to(HOUR);
    wait_until(
        &cli,
        "another lane to claim the row",
        Duration::from_secs(10),
        || log_of(&cli).contains("the clock jumped past the claim") || receiver.posts().len() > 1,
    );
    receiver.answer();
    wait_until(&cli, "the delivery to end", Duration::from_secs(10), || {
        ints(
            &cli,
            "SELECT COUNT(*) FROM outbox WHERE channel = 'webhook' AND status = 'sent'",
        ) == [1]
    });
    let stopped = stop(&cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    let posts = receiver.posts();
    assert_eq!(posts.len(), 1, "posted {posts:?}:\n{}", stopped.log);
    // Another lane did claim the row once the clock had jumped, and passed it over.
    let passed_over = stopped
        .log
        .matches("the clock jumped past the claim on a notification")
        .count();
    assert_eq!(passed_over, 1, "{}", stopped.log);
}
