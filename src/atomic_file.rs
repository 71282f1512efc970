//! The atomic file write that every file ticketgate keeps goes through (attachments, raw
//! mail, quarantine, keys, notifications written to files): a reader never sees half a
//! file, and a crash leaves at most a stray temporary file.

use std::path::{Path, PathBuf};

/// How the temporary files of [`StagedFile`] are named: `.tmp-PID-N`.
const TMP_PREFIX: &str = ".tmp-";

/// Why a file could not be written. Transient: disk full or permissions can be fixed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}; check free space and permissions under the data directory")]
pub struct FileStoreError {
    path: PathBuf,
    source: std::io::Error,
}

/// Writes through a temporary file in the same directory, synced, then renamed: a reader
/// never sees half a file, and a crash leaves at most a stray temporary file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), FileStoreError> {
    StagedFile::write(path, write)?.finish()
}

/// A file written under a temporary name beside its final path, not synced nor renamed
/// yet: [`StagedFile::finish`] does both. Lets a writer of many files sync them together
/// at the end (a batch of mails) instead of one by one while writing. Dropped unfinished,
/// it removes its temporary file.
#[derive(Debug)]
pub struct StagedFile {
    /// Open until synced: a batch stages thousands of files (one per attachment), which
    /// must not each hold a descriptor until the batch settles.
    file: Option<std::fs::File>,
    tmp: PathBuf,
    path: PathBuf,
    finished: bool,
}

impl StagedFile {
    /// Creates the directories and writes the temporary file.
    pub fn write(
        path: &Path,
        write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
    ) -> Result<StagedFile, FileStoreError> {
        let err = |source| FileStoreError {
            path: path.to_path_buf(),
            source,
        };
        let dir = path
            .parent()
            .expect("stored files always have a parent directory");
        std::fs::create_dir_all(dir).map_err(err)?;
        let tmp = dir.join(format!(
            "{TMP_PREFIX}{}-{}",
            std::process::id(),
            unique_suffix()
        ));
        let mut staged = StagedFile {
            file: Some(std::fs::File::create(&tmp).map_err(err)?),
            tmp,
            path: path.to_path_buf(),
            finished: false,
        };
        if let Some(file) = &mut staged.file {
            write(file).map_err(err)?;
        }
        Ok(staged)
    }

    /// Syncs the file's content to disk, under its temporary name still, and closes it:
    /// writers of many files sync them from several threads at once, which the
    /// filesystem's journal commits together.
    pub fn sync(&mut self) -> Result<(), FileStoreError> {
        if let Some(file) = &self.file {
            file.sync_all().map_err(|source| FileStoreError {
                path: self.path.clone(),
                source,
            })?;
        }
        self.file = None;
        Ok(())
    }

    /// Syncs the file unless [`StagedFile::sync`] did, and renames it into place.
    pub fn finish(mut self) -> Result<(), FileStoreError> {
        let synced = match self.file.take() {
            Some(file) => file.sync_all(),
            None => Ok(()),
        };
        let result = synced.and_then(|()| std::fs::rename(&self.tmp, &self.path));
        self.finished = result.is_ok();
        result.map_err(|source| FileStoreError {
            path: self.path.clone(),
            source,
        })
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A number no other call in this process got: for temporary file names.
pub fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// The directories under the data directory that [`StagedFile`]s are written in and that
/// are cheap to walk at start (raw mail's `YYYY/MM`, notifications written to files, the
/// quarantine). Attachments' 65,536 directories are not walked.
const SWEPT: [&str; 3] = ["raw", "outbox", "quarantine"];

/// Removes the temporary files a process killed while writing (kill -9, power loss) left
/// under `data_dir`: only names of the exact form `.tmp-PID-N`, and only when PID is not a
/// live ticketgate process (another instance may be writing its own). How many were
/// removed. Called at the daemon's start and at `ingest`'s; failures are logged, not fatal.
pub fn sweep_temporaries(data_dir: &Path) -> usize {
    let removed: usize = SWEPT.iter().map(|d| sweep_dir(&data_dir.join(d), 3)).sum();
    if removed > 0 {
        tracing::info!(
            removed,
            data_dir = %data_dir.display(),
            "removed temporary files left by a process that stopped while writing"
        );
    }
    removed
}

/// [`sweep_temporaries`] in `dir` and its subdirectories, `depth` levels down.
fn sweep_dir(dir: &Path, depth: u32) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if depth > 0 {
                removed += sweep_dir(&path, depth - 1);
            }
            continue;
        }
        let stale = kind.is_file()
            && entry
                .file_name()
                .to_str()
                .and_then(temporary_of)
                .is_some_and(|pid| !live_writer(pid));
        if stale {
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot remove a stale temporary file")
                }
            }
        }
    }
    removed
}

/// The PID in a temporary file's name `.tmp-PID-N`; `None` for any other name.
fn temporary_of(name: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix(TMP_PREFIX)?.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n))
        .then(|| pid.parse().ok())
        .flatten()
}

/// Whether `pid` is this process or a live process of the same program (which may be
/// writing the file now). Without `/proc` nobody can tell: every writer counts as live.
fn live_writer(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(own) = std::fs::read("/proc/self/comm") else {
        return true;
    };
    std::fs::read(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm == own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temporaries_of_dead_writers_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let month = dir.path().join("raw/2026/11");
        let outbox = dir.path().join("outbox");
        std::fs::create_dir_all(&month).unwrap();
        std::fs::create_dir_all(&outbox).unwrap();
        // A PID above the kernel's maximum (4,194,304) is never alive.
        let dead = month.join(".tmp-9999999-3");
        let dead_outbox = outbox.join(".tmp-9999999-4");
        let ours = outbox.join(format!(".tmp-{}-0", std::process::id()));
        let kept = [
            month.join("abc.eml.gz"),
            month.join(".tmp-9999999-3x"),
            month.join(".tmp-abc-1"),
            outbox.join("tmp-9999999-1"),
            ours.clone(),
        ];
        for f in kept.iter().chain([&dead, &dead_outbox]) {
            std::fs::write(f, b"x").unwrap();
        }
        assert_eq!(sweep_temporaries(dir.path()), 2);
        assert!(!dead.exists() && !dead_outbox.exists());
        for f in &kept {
            assert!(f.exists(), "{} was removed", f.display());
        }
        assert_eq!(temporary_of(".tmp-12-7"), Some(12));
        assert_eq!(temporary_of(".tmp--7"), None);
    }
}
