//! Faults of the machine under the daemon: a full filesystem, a read-only database, a
//! database locked by another process, a clock that jumps.
//!
//! Each test is the `ticketgate run` users run, fed through a Maildir as an MTA feeds it,
//! with the fault made for real (a small tmpfs filled up, `chattr +i`, a second process in
//! `BEGIN IMMEDIATE`) while mail arrives; then the fault is lifted, and every mail must
//! become exactly one whole ticket without anybody's help. Those that need root (mount,
//! chattr) say so in one line on a machine where they cannot run, and fail in CI.
//!
//! The faults are those of a SQLite file and the files beside it: these tests return early
//! in the PostgreSQL pass.

mod busy;
mod clock;
mod disk_full;
mod read_only;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::daemon::{deliver, files_in};
use crate::support::helpers::{Cli, connect_any};
use crate::support::postgres;
use crate::support::require;

/// Whether this is the PostgreSQL pass, which these tests leave alone.
fn postgres_pass() -> bool {
    postgres::server().is_some()
}

/// Makes an empty Maildir at `inbox`.
fn make_maildir(inbox: &Path) {
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
}

/// A mail that opens a ticket of its own: Message-ID `<TAG-N@acme.example>`, subject
/// `TAG N`.
fn new_mail(tag: &str, n: usize) -> Vec<u8> {
    format!(
        "From: Alice Martin <alice@acme.example>\r\nTo: support@localhost\r\n\
         Subject: {tag} {n}\r\nMessage-ID: <{tag}-{n}@acme.example>\r\n\
         Date: Tue, 24 Nov 2026 09:00:00 +0000\r\n\r\nMail {n} of {tag}.\r\n"
    )
    .into_bytes()
}

/// Delivers `mail` into `inbox` under the name `NAME.eml`.
fn deliver_named(inbox: &Path, name: &str, mail: &[u8]) {
    deliver(inbox, &format!("{name}.eml"), mail);
}

/// The daemon's log so far.
fn log_of(cli: &Cli) -> String {
    std::fs::read_to_string(cli.dir.path().join("daemon.log")).unwrap_or_default()
}

/// Waits (polling every 25 ms) until `done`, or fails after `timeout` with the daemon's
/// log, which says why.
fn wait_until(cli: &Cli, what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}; the daemon's log:\n{}",
            log_of(cli)
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Whether the log says that each of `names` (Maildir files) was kept for a retry at
/// least `times` times.
fn each_kept(cli: &Cli, names: &[&str], times: usize) -> bool {
    let log = log_of(cli);
    names.iter().all(|name| {
        lines_with(&log, &format!("source=maildir:{name} "))
            .iter()
            .filter(|l| l.contains("kept for a retry"))
            .count()
            >= times
    })
}

/// The log's lines that contain `needle`.
fn lines_with<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(needle)).collect()
}

/// The first column, an integer, of each row of `statement` on the test's database.
fn ints(cli: &Cli, statement: &'static str) -> Vec<i64> {
    ints_with(cli, statement, &[])
}

/// [`ints`] of a statement built at run time, with `binds` for its `$1`, `$2`…
fn ints_with(cli: &Cli, statement: &str, binds: &[i64]) -> Vec<i64> {
    use sqlx::Row;
    let url = cli.database_url();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut conn = connect_any(&url).await;
            let mut query = sqlx::query(sqlx::AssertSqlSafe(statement.to_string()));
            for bind in binds {
                query = query.bind(*bind);
            }
            query
                .fetch_all(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"))
                .iter()
                .map(|row| row.try_get::<i64, _>(0).unwrap())
                .collect()
        })
}

/// Checks that the store holds `tickets` tickets and nothing half-written: every ticket
/// has its article, every article that names a raw mail has that file under `data_dir`,
/// every attachment kept has its file, and no Message-ID made two articles.
fn assert_whole(cli: &Cli, data_dir: &Path, tickets: usize) {
    let count = ints(cli, "SELECT COUNT(*) FROM tickets")[0];
    assert_eq!(count, tickets as i64, "tickets in the store");
    let bare = ints(
        cli,
        "SELECT COUNT(*) FROM tickets t WHERE NOT EXISTS \
         (SELECT 1 FROM articles a WHERE a.ticket_id = t.id)",
    )[0];
    assert_eq!(bare, 0, "tickets without an article");
    let doubled = ints(
        cli,
        "SELECT COUNT(*) FROM (SELECT message_id FROM articles WHERE message_id IS NOT NULL \
         GROUP BY message_id HAVING COUNT(*) > 1) AS d",
    )[0];
    assert_eq!(doubled, 0, "Message-IDs stored twice");
    for raw in strings(
        cli,
        "SELECT raw_ref FROM articles WHERE raw_ref IS NOT NULL",
    ) {
        // A batch's mails are members of one pack file: `raw/…/<id>.pack.zst#N`.
        let file = raw.split('#').next().unwrap();
        assert!(data_dir.join(file).is_file(), "raw mail {raw} is missing");
    }
    for sha in strings(
        cli,
        "SELECT sha256 FROM attachments WHERE sha256 IS NOT NULL",
    ) {
        let path = data_dir
            .join("attachments")
            .join(&sha[..2])
            .join(&sha[2..4])
            .join(&sha);
        assert!(path.is_file(), "attachment {sha} is missing");
    }
}

/// The one text column of every row of `statement`.
fn strings(cli: &Cli, statement: &'static str) -> Vec<String> {
    use sqlx::Row;
    let url = cli.database_url();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let mut conn = connect_any(&url).await;
            sqlx::query(statement)
                .fetch_all(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"))
                .iter()
                .map(|row| row.try_get::<String, _>(0).unwrap())
                .collect()
        })
}

/// Runs a tool that needs root (`mount`, `chattr`). When it cannot run here, says so in
/// one line and returns false on a person's machine (the caller returns), fails in CI.
fn as_root(what: &str, program: &str, args: &[&str]) -> bool {
    let output = Command::new(program).args(args).output();
    match output {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            require::missing(
                &format!(
                    "{what} (`{program} {}`: {})",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                "run the tests as root on a Linux file system that has it (CI does)",
            );
            false
        }
        Err(e) => {
            require::missing(
                &format!("{what} ({program}: {e})"),
                "install it and run the tests as root (CI does)",
            );
            false
        }
    }
}

/// A tmpfs mounted for one test, lazily unmounted when dropped (the daemon, killed
/// before, may still be letting go of its files).
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`4m`) on `dir`; `None` (after one line) where this
    /// machine does not let us.
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let options = format!("size={size},mode=0755");
        let dir_text = dir.to_str().unwrap();
        as_root(
            "root, to mount a small tmpfs as the data directory",
            "mount",
            &["-t", "tmpfs", "-o", &options, "tmpfs", dir_text],
        )
        .then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("--lazy").arg(&self.0).status();
    }
}

/// Files made immutable with `chattr +i` (which binds root too, unlike file modes),
/// made mutable again when dropped so that the test's directory can be removed.
struct Immutable(Vec<PathBuf>);

impl Immutable {
    /// `chattr +i` on `files`; `None` (after one line) where this machine does not let us.
    fn set(files: &[PathBuf]) -> Option<Immutable> {
        let mut args = vec!["+i"];
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        as_root(
            "chattr +i (root, and a file system with the flag)",
            "chattr",
            &args,
        )
        .then(|| Immutable(files.to_vec()))
    }

    /// Lifts the flag now.
    fn lift(mut self) {
        self.clear();
    }

    fn clear(&mut self) {
        for file in std::mem::take(&mut self.0) {
            let status = Command::new("chattr").arg("-i").arg(&file).status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "chattr -i {}",
                file.display()
            );
        }
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for file in &self.0 {
            let _ = Command::new("chattr").arg("-i").arg(file).status();
        }
    }
}
