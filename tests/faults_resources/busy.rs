//! Another process holds the database's write lock (`BEGIN IMMEDIATE`, as a backup
//! script, `sqlite3` or a second `ticketgate` would) while mail arrives: the daemon waits
//! for it (busy_timeout, 15 s); held longer than that, the mail is tried again later,
//! never quarantined for it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{
    assert_whole, deliver_named, files_in, lines_with, log_of, make_maildir, new_mail,
    postgres_pass, wait_until,
};
use crate::daemon::{start, stop};
use crate::support::helpers::Cli;
use crate::support::require;

/// How long the daemon waits for another writer before a statement fails (`PRAGMA
/// busy_timeout` in the store).
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// A Python process holding the write lock of a SQLite database until released (or
/// killed, when dropped).
struct WriteLock(Option<Child>);

/// Holds the lock: begins an immediate transaction, says so, and waits for a line.
const HOLDER: &str = "import sqlite3, sys\n\
    db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n\
    db.execute('BEGIN IMMEDIATE')\n\
    print('locked', flush=True)\n\
    sys.stdin.readline()\n\
    db.execute('ROLLBACK')\n";

impl WriteLock {
    /// Takes the write lock of `database`; `None` (after one line) without python3.
    fn take(database: &Path) -> Option<WriteLock> {
        let spawned = Command::new("python3")
            .args(["-c", HOLDER])
            .arg(database)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                require::missing(
                    &format!("python3, to hold a SQLite write lock ({e})"),
                    "apt-get install python3",
                );
                return None;
            }
        };
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked", "the lock holder did not start");
        Some(WriteLock(Some(child)))
    }

    /// Lets go of the lock and waits for the holder to end.
    fn release(mut self) {
        let mut child = self.0.take().unwrap();
        child.stdin.take().unwrap().write_all(b"\n").unwrap();
        assert!(child.wait().unwrap().success(), "the lock holder failed");
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A daemon that handled its first mail, on a working directory's default data directory.
fn daemon_with_first_mail(cli: &Cli, inbox: &Path) -> crate::daemon::Daemon {
    make_maildir(inbox);
    let daemon = start(cli, &[]);
    deliver_named(inbox, "0", &new_mail("busy", 0));
    wait_until(cli, "the first mail", Duration::from_secs(20), || {
        files_in(&inbox.join("cur")).len() == 1
    });
    daemon
}

#[test]
fn a_write_lock_held_briefly_by_another_process_is_waited_for() {
    if postgres_pass() {
        return;
    }
    let cli = Cli::new();
    let data = cli.dir.path().join("data");
    let inbox = data.join("inbox");
    let daemon = daemon_with_first_mail(&cli, &inbox);

    let Some(lock) = WriteLock::take(&data.join("ticketgate.db")) else {
        return;
    };
    deliver_named(&inbox, "1", &new_mail("busy", 1));
    deliver_named(&inbox, "2", &new_mail("busy", 2));
    // The fault lasts two seconds, well within the busy timeout.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(files_in(&inbox.join("new")), ["1.eml", "2.eml"]);
    let released = Instant::now();
    lock.release();
    wait_until(&cli, "the mails to go in", Duration::from_secs(5), || {
        files_in(&inbox.join("cur")).len() == 3
    });
    eprintln!("stored {:?} after the lock went", released.elapsed());

    let stopped = stop(&cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert!(
        !stopped.log.contains("kept for a retry"),
        "waited for, not failed:\n{}",
        stopped.log
    );
    assert_whole(&cli, &data, 3);
}

#[test]
fn a_write_lock_held_past_the_busy_timeout_defers_mail_and_never_quarantines_it() {
    if postgres_pass() {
        return;
    }
    let cli = Cli::new();
    let data = cli.dir.path().join("data");
    let inbox = data.join("inbox");
    let daemon = daemon_with_first_mail(&cli, &inbox);

    let Some(lock) = WriteLock::take(&data.join("ticketgate.db")) else {
        return;
    };
    let locked = Instant::now();
    deliver_named(&inbox, "1", &new_mail("busy", 1));
    deliver_named(&inbox, "2", &new_mail("busy", 2));
    // The batch that could not begin defers its first mail; the other is tried at the
    // next look. The intake may first wait for a connection as long (the outbox's lanes
    // hold the others, each waiting for the lock), then for the lock.
    wait_until(
        &cli,
        "a mail to be deferred",
        BUSY_TIMEOUT * 2 + Duration::from_secs(10),
        || log_of(&cli).contains("kept for a retry"),
    );
    let waited = locked.elapsed();
    assert!(
        waited >= BUSY_TIMEOUT - Duration::from_secs(1),
        "deferred after {waited:?}, before the busy timeout:\n{}",
        log_of(&cli)
    );
    assert_eq!(files_in(&inbox.join("new")), ["1.eml", "2.eml"]);
    assert!(files_in(&data.join("quarantine")).is_empty());
    let log = log_of(&cli);
    // Waiting for the lock, or for a connection while the others wait for it (the outbox's
    // lanes share the pool).
    let deferred = lines_with(&log, "kept for a retry");
    assert!(
        deferred
            .iter()
            .all(|l| l.contains("database is locked") || l.contains("pool timed out")),
        "{log}"
    );

    let released = Instant::now();
    lock.release();
    wait_until(&cli, "the mails to go in", Duration::from_secs(10), || {
        files_in(&inbox.join("cur")).len() == 3
    });
    eprintln!("stored {:?} after the lock went", released.elapsed());
    let stopped = stop(&cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    assert_whole(&cli, &data, 3);
    assert!(!stopped.log.contains("quarantined"), "{}", stopped.log);
    assert!(!stopped.log.contains("panicked"), "{}", stopped.log);
}
