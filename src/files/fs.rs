//! The files backend: attachments under `data_dir/attachments/ab/cd/<sha256>`, raw mail
//! gzip-compressed under `data_dir/raw/YYYY/MM/`. Every write goes through a temporary
//! file renamed into place, so a reader (another instance sharing the directory
//! included) never sees half a file. These calls block: [`super::Files`] runs them off
//! the async workers.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::FilesError;
use super::keys::{Digest, RawRef};
use crate::atomic_file::{StagedFile, write_atomically};
use crate::config::StorageBackend;

/// Attachments and raw mail as files under one directory.
#[derive(Debug, Clone)]
pub(super) struct FsFiles {
    root: PathBuf,
    /// For a batch of mails: the files being written, and those written and synced but
    /// not renamed yet, until [`FsFiles::settle`]. `None`: each file is synced and renamed
    /// as it is written.
    staging: Option<Arc<Mutex<Staging>>>,
}

/// How many of a batch's files are written at once. More would not be faster on a few
/// cores, and each write holds a compressor's tables in memory.
const WRITERS: usize = 4;

/// The files of one batch that are not in place yet.
#[derive(Debug)]
struct Staging {
    /// Bounds the writes running at once to [`WRITERS`]; a mail waits for a free writer.
    writers: Arc<tokio::sync::Semaphore>,
    /// Writes running on the blocking pool; each puts its file in `written`.
    writing: Vec<tokio::task::JoinHandle<Result<(), FilesError>>>,
    written: Vec<StagedFile>,
}

impl FsFiles {
    /// Files under `data_dir` (`attachments/` and `raw/`).
    pub(super) fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.to_path_buf(),
            staging: None,
        }
    }

    /// The same files for a batch: compressed, written and synced in the background
    /// (on another core while the batch goes on) under temporary names, then put in
    /// place together by [`FsFiles::settle`] before the batch commits.
    pub(super) fn staging(&self) -> Self {
        let staging = Staging {
            writers: Arc::new(tokio::sync::Semaphore::new(WRITERS)),
            writing: Vec::new(),
            written: Vec::new(),
        };
        Self {
            root: self.root.clone(),
            staging: Some(Arc::new(Mutex::new(staging))),
        }
    }

    /// Whether this is a batch's, writing in the background.
    pub(super) fn is_staging(&self) -> bool {
        self.staging.is_some()
    }

    /// Runs `write` on the blocking pool; [`FsFiles::settle`] waits for it. Only for a
    /// batch's files: the caller already knows the key, which names the content.
    pub(super) async fn in_background(
        &self,
        write: impl FnOnce(&FsFiles) -> Result<(), FilesError> + Send + 'static,
    ) {
        let Some(staging) = &self.staging else {
            unreachable!("only a batch's files write in the background");
        };
        let writers = lock(staging).writers.clone();
        let writer = writers
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let fs = self.clone();
        let handle = tokio::task::spawn_blocking(move || {
            let written = write(&fs);
            drop(writer);
            written
        });
        lock(staging).writing.push(handle);
    }

    /// Waits for the background writes (each syncs its file), then renames every staged
    /// file into place. The first failure is returned; the files not put in place are
    /// removed.
    pub(super) async fn settle(&self) -> Result<(), FilesError> {
        let Some(staging) = &self.staging else {
            return Ok(());
        };
        let writing = std::mem::take(&mut lock(staging).writing);
        let mut failure = None;
        for handle in writing {
            let written = match handle.await {
                Ok(result) => result,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            };
            if let Err(e) = written {
                failure.get_or_insert(e);
            }
        }
        let written = std::mem::take(&mut lock(staging).written);
        if let Some(e) = failure {
            return Err(e);
        }
        super::blocking(move || {
            for file in written {
                file.finish()?;
            }
            Ok(())
        })
        .await
    }

    /// Writes `path` at once, or stages it when this is a batch's.
    fn write(
        &self,
        path: &Path,
        write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
    ) -> Result<(), FilesError> {
        match &self.staging {
            None => write_atomically(path, write)?,
            Some(staging) => {
                let mut file = StagedFile::write(path, write)?;
                file.sync()?;
                lock(staging).written.push(file);
            }
        }
        Ok(())
    }

    fn attachment_path(&self, digest: &Digest) -> PathBuf {
        let sha = digest.as_str();
        self.root
            .join("attachments")
            .join(&sha[..2])
            .join(&sha[2..4])
            .join(sha)
    }

    fn raw_path(&self, raw_ref: &RawRef) -> PathBuf {
        self.root.join(raw_ref.as_str())
    }

    /// Stores `bytes` under their SHA-256 unless a copy exists; returns the digest.
    pub(super) fn put_attachment(&self, bytes: &[u8]) -> Result<Digest, FilesError> {
        let digest = Digest::of(bytes);
        self.put_attachment_as(&digest, bytes)?;
        Ok(digest)
    }

    /// Stores `bytes`, whose digest is `digest`, unless a copy exists.
    pub(super) fn put_attachment_as(
        &self,
        digest: &Digest,
        bytes: &[u8],
    ) -> Result<(), FilesError> {
        let path = self.attachment_path(digest);
        if !path.exists() {
            self.write(&path, |f| f.write_all(bytes))?;
        }
        Ok(())
    }

    /// The content of the attachment `digest`.
    pub(super) fn attachment(&self, digest: &Digest) -> Result<Vec<u8>, FilesError> {
        let path = self.attachment_path(digest);
        std::fs::read(&path).map_err(|e| read_error(e, path, "attachment", digest.as_str()))
    }

    /// Deletes the attachment `digest`; an already missing file is fine.
    pub(super) fn remove_attachment(&self, digest: &Digest) -> Result<(), FilesError> {
        remove(self.attachment_path(digest))
    }

    /// Keeps the raw message gzip-compressed under the reference [`RawRef::of`] gives,
    /// unless a copy exists; returns the reference.
    pub(super) fn put_raw(
        &self,
        raw: &[u8],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<RawRef, FilesError> {
        let raw_ref = RawRef::of(raw, at);
        self.put_raw_as(&raw_ref, raw)?;
        Ok(raw_ref)
    }

    /// Keeps `raw`, whose reference is `raw_ref`, unless a copy exists.
    pub(super) fn put_raw_as(&self, raw_ref: &RawRef, raw: &[u8]) -> Result<(), FilesError> {
        let path = self.raw_path(raw_ref);
        if !path.exists() {
            self.write(&path, |f| {
                let mut gz = GzEncoder::new(std::io::BufWriter::new(f), Compression::fast());
                gz.write_all(raw)?;
                gz.finish()?.flush()
            })?;
        }
        Ok(())
    }

    /// Reads back a raw message kept by [`FsFiles::put_raw`], decompressed.
    pub(super) fn raw(&self, raw_ref: &RawRef) -> Result<Vec<u8>, FilesError> {
        let path = self.raw_path(raw_ref);
        let file = std::fs::File::open(&path)
            .map_err(|e| read_error(e, path, "raw mail", raw_ref.as_str()))?;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut out)
            .map_err(|source| FilesError::Damaged {
                raw_ref: raw_ref.as_str().to_string(),
                source,
            })?;
        Ok(out)
    }

    /// Deletes a raw message (the purge job); an already missing file is fine.
    pub(super) fn remove_raw(&self, raw_ref: &RawRef) -> Result<(), FilesError> {
        remove(self.raw_path(raw_ref))
    }
}

/// A failed read: [`FilesError::Missing`] when there is no such file, so that the caller
/// can tell a purged file from a disk problem.
fn read_error(source: std::io::Error, path: PathBuf, kind: &'static str, key: &str) -> FilesError {
    if source.kind() == std::io::ErrorKind::NotFound {
        FilesError::Missing {
            what: format!("{kind} {key}"),
            backend: StorageBackend::Fs,
        }
    } else {
        FilesError::Disk {
            doing: "read",
            path,
            source,
        }
    }
}

fn remove(path: PathBuf) -> Result<(), FilesError> {
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(FilesError::Disk {
            doing: "delete",
            path,
            source,
        }),
    }
}

/// The staging list, even if a writer panicked while holding it (the list stays usable).
fn lock(staging: &Mutex<Staging>) -> std::sync::MutexGuard<'_, Staging> {
    staging.lock().unwrap_or_else(|e| e.into_inner())
}
