//! The atomic file write that every file ticketgate keeps goes through (attachments, raw
//! mail, quarantine, keys, notifications written to files): a reader never sees half a
//! file, and a crash leaves at most a stray temporary file.

use std::path::{Path, PathBuf};

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
    file: std::fs::File,
    tmp: PathBuf,
    path: PathBuf,
    synced: bool,
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
        let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), unique_suffix()));
        let mut staged = StagedFile {
            file: std::fs::File::create(&tmp).map_err(err)?,
            tmp,
            path: path.to_path_buf(),
            synced: false,
            finished: false,
        };
        write(&mut staged.file).map_err(err)?;
        Ok(staged)
    }

    /// Syncs the file's content to disk, under its temporary name still: writers of
    /// many files sync them from several threads at once, which the filesystem's journal
    /// commits together.
    pub fn sync(&mut self) -> Result<(), FileStoreError> {
        self.file.sync_all().map_err(|source| FileStoreError {
            path: self.path.clone(),
            source,
        })?;
        self.synced = true;
        Ok(())
    }

    /// Syncs the file unless [`StagedFile::sync`] did, and renames it into place.
    pub fn finish(mut self) -> Result<(), FileStoreError> {
        let synced = if self.synced {
            Ok(())
        } else {
            self.file.sync_all()
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
