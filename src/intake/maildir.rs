//! A Maildir (new/, cur/, tmp/) as a mail source: an MTA delivers into new/, ticketgate
//! takes each file from there and moves it to cur/ only after its ticket is committed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Driver, Ingestor, Received, Report, Retry, Rules, Source};
use crate::backoff::Backoff;
use crate::notify::outbox_worker::OutboxWake;

/// The pause before a file that failed (to be stored, read or moved) is looked at again:
/// doubling from a second to five minutes, per file.
const PAUSES: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));

/// A Maildir folder.
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

impl Maildir {
    /// The Maildir at `root`, not checked.
    pub fn at(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// The Maildir at `root`, creating new/, cur/ and tmp/ when missing.
    pub fn create(root: &Path) -> std::io::Result<Self> {
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        Ok(Self::at(root))
    }

    /// Whether `dir` has the shape of a Maildir.
    pub fn looks_like(dir: &Path) -> bool {
        dir.join("new").is_dir() || dir.join("cur").is_dir()
    }

    /// Its root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The messages in `sub` (`new` or `cur`), oldest first (by modification time, then
    /// name, which starts with the delivery time in Maildir naming). A missing `sub` is empty.
    pub fn messages_in(&self, sub: &str) -> std::io::Result<Vec<PathBuf>> {
        let dir = self.root.join(sub);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files: Vec<(SystemTime, PathBuf)> = Vec::new();
        for entry in entries {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue }; // gone meanwhile
            if meta.is_file() {
                files.push((
                    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    entry.path(),
                ));
            }
        }
        files.sort();
        Ok(files.into_iter().map(|(_, p)| p).collect())
    }

    /// Messages waiting in new/.
    pub fn pending(&self) -> std::io::Result<Vec<PathBuf>> {
        self.messages_in("new")
    }

    /// Acknowledges a handled message: moves it from new/ to cur/ flagged as seen (or finds
    /// it already moved there).
    pub fn mark_handled(&self, path: &Path) -> std::io::Result<PathBuf> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let base = name.split(":2,").next().unwrap_or(&name);
        let target = self.root.join("cur").join(format!("{base}:2,S"));
        match std::fs::rename(path, &target) {
            // Another instance watching the same (shared) Maildir handled it too and moved
            // it first; its commit won, ours was a duplicate.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && target.exists() => Ok(target),
            Err(e) => Err(e),
            Ok(()) => Ok(target),
        }
    }

    /// Drops a message from new/ once a copy is safe in quarantine.
    pub fn remove(&self, path: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Watches a Maildir until `shutdown`: every file in new/ (those present at start first)
/// goes through the intake driver and is moved to cur/ once its batch is committed (removed
/// once quarantined). A message that fails for a temporary reason stays in new/ and is
/// tried again later, with a pause that doubles each time, without holding back the
/// others; after `retry_budget` attempts it is quarantined. `outbox` is woken after each
/// commit.
pub async fn watch(
    maildir: Maildir,
    ingestor: Ingestor,
    poll: Duration,
    retry_budget: u32,
    outbox: OutboxWake,
    heartbeat: crate::service_manager::Heartbeat,
    shutdown: CancellationToken,
) {
    let stall = crate::service_manager::Heartbeat::stall_requested();
    let rules = Rules {
        budget: retry_budget,
        retry: Retry::Later,
        quarantine_when_spent: true,
        intake: "maildir",
    };
    let mut driver = Driver::new(ingestor, rules).waking(outbox);
    let mut postponed: HashMap<PathBuf, Postponed> = HashMap::new();
    let mut scan_failing = false;
    tracing::info!(maildir = %maildir.root().display(), "watching Maildir");
    // Each mail's lines name the Maildir as an IMAP mail's name its `[[mailbox]]`.
    let span = tracing::info_span!("maildir", mailbox = %maildir.root().display());
    while !shutdown.is_cancelled() {
        // The daemon's main loop: the watchdog is pinged while it turns.
        heartbeat.beat();
        let pending = maildir.scan(&mut scan_failing);
        let present: HashSet<&PathBuf> = pending.iter().collect();
        driver.forget_unless(|path| present.contains(path));
        postponed.retain(|path, _| present.contains(path));
        let mut look = Look {
            maildir: &maildir,
            pending: pending.into_iter().peekable(),
            postponed: &mut postponed,
            shutdown: &shutdown,
        };
        // Each file on its own: a look never stops at a file that failed.
        let _ = tracing::Instrument::instrument(driver.run(&mut look), span.clone()).await;
        if stall {
            tracing::warn!("the intake loop stops turning, as the test hook asks");
            shutdown.cancelled().await;
            break;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(poll) => {}
        }
    }
    tracing::info!("Maildir watcher stopped");
}

impl Maildir {
    /// The files waiting in new/, logging once when the folder becomes unreadable and once
    /// when it is readable again (`failing` carries that between looks).
    fn scan(&self, failing: &mut bool) -> Vec<PathBuf> {
        match self.pending() {
            Ok(pending) => {
                if std::mem::take(failing) {
                    tracing::info!("Maildir readable again");
                }
                pending
            }
            Err(e) => {
                if !std::mem::replace(failing, true) {
                    tracing::error!(error = %e, maildir = %self.root.display(), "cannot read the Maildir; will keep trying");
                }
                Vec::new()
            }
        }
    }
}

/// A file that failed `times` times in a row (to be stored, read or moved): not looked at
/// again before `until`.
#[derive(Debug)]
struct Postponed {
    times: u32,
    until: Instant,
}

/// Whether the file at `path` waits out a pause after failing.
fn is_postponed(postponed: &HashMap<PathBuf, Postponed>, path: &Path) -> bool {
    postponed
        .get(path)
        .is_some_and(|p| Instant::now() < p.until)
}

/// One look at new/: the files found there, oldest first, as a source for the driver.
struct Look<'a> {
    maildir: &'a Maildir,
    pending: std::iter::Peekable<std::vec::IntoIter<PathBuf>>,
    postponed: &'a mut HashMap<PathBuf, Postponed>,
    shutdown: &'a CancellationToken,
}

impl Look<'_> {
    fn postpone(&mut self, path: PathBuf) {
        let times = self.postponed.get(&path).map_or(0, |p| p.times);
        let until = Instant::now() + PAUSES.delay(times);
        self.postponed.insert(
            path,
            Postponed {
                times: times + 1,
                until,
            },
        );
    }
}

impl Source for Look<'_> {
    type Key = PathBuf;

    fn next(&mut self, ingestor: &Ingestor) -> Option<(PathBuf, Received)> {
        while let Some(path) = self.pending.next() {
            if self.shutdown.is_cancelled() {
                return None;
            }
            if is_postponed(self.postponed, &path) {
                continue;
            }
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let source = format!("maildir:{name}");
            let read = std::fs::File::open(&path).and_then(|file| {
                let size = file.metadata().ok().map(|m| m.len());
                ingestor.read_message(&source, file, size)
            });
            match read {
                Ok(received) => return Some((path, received)),
                // Taken meanwhile (another instance watching the same Maildir).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "cannot read a delivered message; will retry");
                    self.postpone(path);
                }
            }
        }
        None
    }

    fn next_size(&mut self) -> Option<u64> {
        while let Some(path) = self.pending.peek() {
            if !is_postponed(self.postponed, path) {
                return std::fs::metadata(path).ok().map(|m| m.len());
            }
            self.pending.next();
        }
        None
    }

    /// Moves a handled file to cur/, or removes one whose copy is safe in quarantine.
    fn acknowledge(&mut self, path: PathBuf, report: &Report) {
        let done = if report.handled() {
            self.maildir.mark_handled(&path).map(drop)
        } else {
            self.maildir.remove(&path)
        };
        match done {
            Ok(()) => {
                self.postponed.remove(&path);
            }
            Err(e) => {
                if report.handled() {
                    tracing::error!(file = %path.display(), error = %e, "handled, but cannot move the file out of new/; it will be seen as a duplicate next time");
                } else {
                    tracing::error!(file = %path.display(), error = %e, "quarantined, but cannot remove it from new/");
                }
                self.postpone(path);
            }
        }
    }

    fn keep(&mut self, path: PathBuf, _attempts: u32) {
        self.postpone(path);
    }
}
