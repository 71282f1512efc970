//! A Maildir (new/, cur/, tmp/) as a mail source: an MTA delivers into new/, ticketgate
//! takes each file from there and moves it to cur/ only after its ticket is committed.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::RawMessage;

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
/// goes through the ingestor and is moved to cur/ once handled. A message that fails for a
/// temporary reason stays in new/ and is tried again later, with a pause that doubles each
/// time; after `retry_budget` attempts it is quarantined. `outbox` is woken after each
/// commit.
pub async fn watch(
    maildir: Maildir,
    ingestor: super::Ingestor,
    poll: std::time::Duration,
    retry_budget: u32,
    outbox: crate::notify::outbox_worker::OutboxWake,
    shutdown: tokio_util::sync::CancellationToken,
) {
    use std::collections::HashMap;
    use tokio::time::{Duration, Instant};

    /// A message that failed for a temporary reason: how often, and when to try again.
    struct Retry {
        attempts: u32,
        not_before: Instant,
    }
    impl Retry {
        /// The next try after `attempts` failed ones: a pause doubling from 1 s to 5 min.
        fn after(attempts: u32) -> Self {
            let pause = Duration::from_secs(1 << attempts.min(8)).min(Duration::from_secs(300));
            Retry {
                attempts: attempts + 1,
                not_before: Instant::now() + pause,
            }
        }
    }
    let mut retries: HashMap<PathBuf, Retry> = HashMap::new();
    let mut scan_failing = false;
    tracing::info!(maildir = %maildir.root().display(), "watching Maildir");
    while !shutdown.is_cancelled() {
        let pending = match maildir.pending() {
            Ok(p) => {
                if scan_failing {
                    tracing::info!("Maildir readable again");
                    scan_failing = false;
                }
                p
            }
            Err(e) => {
                if !scan_failing {
                    tracing::error!(error = %e, maildir = %maildir.root().display(), "cannot read the Maildir; will keep trying");
                    scan_failing = true;
                }
                Vec::new()
            }
        };
        retries.retain(|path, _| pending.contains(path));
        let mut batch: Vec<(RawMessage, u32)> = Vec::new();
        let mut paths: Vec<PathBuf> = Vec::new();
        let mut batch_bytes = 0;
        for path in pending {
            if shutdown.is_cancelled() {
                break;
            }
            if retries
                .get(&path)
                .is_some_and(|r| Instant::now() < r.not_before)
            {
                continue;
            }
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let source = format!("maildir:{name}");
            let attempts = retries.get(&path).map_or(0, |r| r.attempts);
            let received =
                std::fs::File::open(&path).and_then(|file| ingestor.read_message(&source, file));
            match received {
                Ok(super::Received::Message(m)) => {
                    batch_bytes += m.bytes.len();
                    batch.push((m, attempts));
                    paths.push(path);
                }
                Ok(super::Received::TooLarge(_)) => {
                    if let Err(e) = maildir.remove(&path) {
                        tracing::error!(file = %path.display(), error = %e, "quarantined, but cannot remove it from new/");
                        retries.insert(path.clone(), Retry::after(attempts));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "cannot read a delivered message; will retry");
                    retries.insert(path.clone(), Retry::after(attempts));
                }
            }
            if batch.len() >= super::BATCH_MAILS || batch_bytes >= super::BATCH_BYTES {
                let failed =
                    handle_batch(&maildir, &ingestor, &batch, &paths, retry_budget, &outbox).await;
                retries.extend(failed.into_iter().map(|(p, a)| (p, Retry::after(a))));
                batch.clear();
                paths.clear();
                batch_bytes = 0;
            }
        }
        let failed = handle_batch(&maildir, &ingestor, &batch, &paths, retry_budget, &outbox).await;
        retries.extend(failed.into_iter().map(|(p, a)| (p, Retry::after(a))));
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(poll) => {}
        }
    }
    tracing::info!("Maildir watcher stopped");
}

/// Runs one batch of messages read from `paths` and acknowledges each handled one (moved
/// to cur/, or removed once quarantined), waking `outbox` when the batch committed any.
/// Returns the paths to try again later, with the attempts they had; a message that
/// failed `retry_budget` times is quarantined instead.
async fn handle_batch(
    maildir: &Maildir,
    ingestor: &super::Ingestor,
    batch: &[(RawMessage, u32)],
    paths: &[PathBuf],
    retry_budget: u32,
    outbox: &crate::notify::outbox_worker::OutboxWake,
) -> Vec<(PathBuf, u32)> {
    if batch.is_empty() {
        return Vec::new();
    }
    let results = ingestor.try_batch(batch).await;
    if results.iter().any(Result::is_ok) {
        // Their acknowledgements are due: the outbox worker need not wait for its next look.
        outbox.notify();
    }
    let mut results = results.into_iter();
    let mut again = Vec::new();
    for ((message, attempts), path) in batch.iter().zip(paths) {
        let attempts = *attempts;
        let acknowledged = match results.next() {
            Some(Ok(report)) if report.handled() => maildir.mark_handled(path).map(drop),
            Some(Ok(_)) => maildir.remove(path),
            Some(Err(deferred)) if attempts + 1 >= retry_budget => {
                match ingestor.give_up(message, attempts + 1, &deferred) {
                    Ok(_) => maildir.remove(path),
                    Err(e) => {
                        tracing::error!(file = %path.display(), error = %e, "cannot quarantine; the message stays in new/");
                        again.push((path.clone(), attempts));
                        Ok(())
                    }
                }
            }
            Some(Err(deferred)) => {
                tracing::warn!(file = %path.display(), attempt = attempts + 1, reason = %deferred.cause, "message kept for a retry");
                again.push((path.clone(), attempts));
                Ok(())
            }
            // Not tried: a message before it in the batch failed; the next scan offers it.
            None => Ok(()),
        };
        if let Err(e) = acknowledged {
            tracing::error!(file = %path.display(), error = %e, "handled, but cannot move the file out of new/; it will be seen as a duplicate next time");
            again.push((path.clone(), attempts));
        }
    }
    again
}
