//! A site that sends notifications for real: a working directory whose configuration
//! sends through an SMTP server on loopback, the daemon's Maildir, and the test's own
//! connection to its database, to read the outbox behind the daemon's back.

use std::path::PathBuf;

use sqlx::Row;

use crate::daemon::deliver;
use crate::support::helpers::{Cli, connect_any};

/// Whether this is the PostgreSQL pass, which these tests leave to the SQLite one.
pub fn on_postgres() -> bool {
    std::env::var_os(crate::support::postgres::SERVER_ENV).is_some()
}

/// A working directory with a configuration that sends through the SMTP server on
/// `port` of loopback, and the daemon's Maildir.
pub struct Site {
    pub cli: Cli,
    pub inbox: PathBuf,
    pub db: Db,
}

impl Site {
    /// `mail` adds keys to `[mail]`, `extra` sections to the configuration.
    pub fn new(port: u16, mail: &str, extra: &str) -> Site {
        let cli = Cli::new();
        std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
        let config = format!(
            "[mail]\naddresses = [\"support@ours.test\"]\n{mail}\n\
             [smtp]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
             {extra}\n"
        );
        cli.write("config/ticketgate.toml", config.as_bytes());
        let inbox = cli.dir.path().join("data/inbox");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(inbox.join(sub)).unwrap();
        }
        // The database exists before the daemon starts, so that the test can open it at
        // once.
        let out = cli.run(&["migrate"], None);
        assert!(
            out.status.success(),
            "{}",
            crate::support::helpers::stderr(&out)
        );
        let db = Db::open(&cli.database_url());
        Site { cli, inbox, db }
    }

    /// Delivers `mail` into the Maildir as an MTA does, under `name`.
    pub fn deliver(&self, name: &str, mail: &str) {
        deliver(&self.inbox, name, mail.replace('\n', "\r\n").as_bytes());
    }

    /// The mails the daemon has handled (moved to `cur/`).
    pub fn handled(&self) -> usize {
        count_files(&self.inbox.join("cur"))
    }

    /// The mails waiting in `new/`.
    pub fn waiting(&self) -> usize {
        count_files(&self.inbox.join("new"))
    }
}

fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// A mail from its own customer, opening a ticket of its own.
pub fn customer_mail(tag: &str, n: usize) -> String {
    format!(
        "From: Customer {n} <customer{n}@acme.example>\nTo: support@ours.test\n\
         Subject: Broken thing {n}\nMessage-ID: <{tag}-{n}@acme.example>\n\nThing {n} is broken.\n"
    )
}

/// One outbox row, as the test reads it.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    /// The ticket it is about; none for a mail about no ticket.
    pub ticket_id: Option<i64>,
    pub recipient: String,
    pub status: String,
    pub attempts: i64,
    /// When it is next due (milliseconds since the epoch).
    pub next_attempt_at: i64,
    pub message_id: Option<String>,
    pub last_error: Option<String>,
    pub held_reason: Option<String>,
}

/// The test's own connection to the daemon's database, on a runtime of its own so that
/// the tests stay plain threads waiting on conditions.
pub struct Db {
    runtime: tokio::runtime::Runtime,
    conn: sqlx::AnyConnection,
}

impl Db {
    pub fn open(url: &str) -> Db {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conn = runtime.block_on(connect_any(url));
        Db { runtime, conn }
    }

    /// Every mail notification, in queue order.
    pub fn outbox(&mut self) -> Vec<OutboxRow> {
        let rows = self
            .runtime
            .block_on(
                sqlx::query(
                    "SELECT id, ticket_id, recipient, status, attempts, next_attempt_at, message_id, last_error, held_reason \
                     FROM outbox WHERE channel = 'email' ORDER BY id",
                )
                .fetch_all(&mut self.conn),
            )
            .unwrap();
        rows.iter()
            .map(|r| OutboxRow {
                id: r.get("id"),
                ticket_id: r.get("ticket_id"),
                recipient: r.get("recipient"),
                status: r.get("status"),
                attempts: r.get("attempts"),
                next_attempt_at: r.get("next_attempt_at"),
                message_id: r.get("message_id"),
                last_error: r.get("last_error"),
                held_reason: r.get("held_reason"),
            })
            .collect()
    }

    /// The number `sql` (a `SELECT COUNT(*) …`) counts.
    pub fn count(&mut self, sql: &'static str) -> i64 {
        let row = self
            .runtime
            .block_on(sqlx::query(sql).fetch_one(&mut self.conn))
            .unwrap();
        row.get(0)
    }

    /// Runs `sql`, a statement valid on both databases, behind the daemon's back.
    pub fn execute(&mut self, sql: &'static str) {
        self.runtime
            .block_on(sqlx::query(sql).execute(&mut self.conn))
            .unwrap();
    }

    /// Makes every waiting notification due now: the pause before its next try is over,
    /// as if the clock had moved on by up to an hour (the longest pause).
    pub fn pass_retry_pauses(&mut self) {
        self.runtime
            .block_on(
                sqlx::query("UPDATE outbox SET next_attempt_at = 0 WHERE status = 'pending'")
                    .execute(&mut self.conn),
            )
            .unwrap();
    }
}
