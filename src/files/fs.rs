//! The files backend: attachments under `data_dir/attachments/ab/cd/<sha256>`, raw mail
//! compressed under `data_dir/raw/YYYY/MM/`: a batch's mails in one zstd pack file
//! ([`super::pack`]), a mail stored on its own (or too large to copy) in a gzip file of
//! its own. Every write goes through a temporary file renamed into place, so a reader
//! (another instance sharing the directory included) never sees half a file. These calls
//! block: [`super::Files`] runs them off the async workers.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::FilesError;
use super::keys::{Digest, RawPlace, RawRef};
use super::pack::{self, Pack};
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
    /// The batch's raw mail, once it has some.
    pack: Option<Pack>,
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
            pack: None,
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

    /// Adds `raw`, received at `at`, to the batch's pack as its next mail, compressed in
    /// the background; its reference. Only for a batch's files.
    pub(super) async fn stage_raw(
        &self,
        raw: Vec<u8>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> RawRef {
        let Some(staging) = &self.staging else {
            unreachable!("only a batch's files have a pack");
        };
        let (raw_ref, index) = {
            let mut staging = lock(staging);
            let pack = staging.pack.get_or_insert_with(|| Pack::new(at));
            pack.members.push(None);
            let index = pack.members.len() - 1;
            (RawRef::member(&pack.name, index), index)
        };
        let path = self.root.join(raw_ref.as_str());
        self.in_background(move |fs| {
            let member = pack::compress(&raw).map_err(|source| FilesError::Disk {
                doing: "compress the raw mail for",
                path,
                source,
            })?;
            let staging = fs.staging.as_ref().expect("a batch's files");
            if let Some(pack) = &mut lock(staging).pack {
                pack.members[index] = Some(member);
            }
            Ok(())
        })
        .await;
        raw_ref
    }

    /// Waits for the background writes (each syncs its file), writes the batch's pack,
    /// then renames every staged file into place. The first failure is returned; the files
    /// not put in place are removed.
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
        let (written, pack) = {
            let mut staging = lock(staging);
            (std::mem::take(&mut staging.written), staging.pack.take())
        };
        if let Some(e) = failure {
            return Err(e);
        }
        let root = self.root.clone();
        super::blocking(move || {
            if let Some(pack) = pack {
                let members = pack.bytes().expect("every member was written");
                let mut file = StagedFile::write(&root.join(&pack.name), |f| {
                    let mut out = std::io::BufWriter::new(f);
                    for member in members {
                        out.write_all(member)?;
                    }
                    out.flush()
                })?;
                file.sync()?;
                file.finish()?;
            }
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

    /// Reads back a raw message kept by [`FsFiles::put_raw`] or [`FsFiles::stage_raw`],
    /// decompressed.
    pub(super) fn raw(&self, raw_ref: &RawRef) -> Result<Vec<u8>, FilesError> {
        let damaged = |source| FilesError::Damaged {
            raw_ref: raw_ref.as_str().to_string(),
            source,
        };
        let (file, index) = match raw_ref.place() {
            RawPlace::File(file) => (file, None),
            RawPlace::Member { pack, index } => (pack, Some(index)),
        };
        let path = self.root.join(file);
        let file = std::fs::File::open(&path)
            .map_err(|e| read_error(e, path, "raw mail", raw_ref.as_str()))?;
        match index {
            Some(index) => pack::read_member(file, index).map_err(damaged),
            None => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(file)
                    .read_to_end(&mut out)
                    .map_err(damaged)?;
                Ok(out)
            }
        }
    }

    /// Deletes a raw message (the purge job), or the pack that holds it: the caller makes
    /// sure no article names another of its mails. An already missing file is fine.
    pub(super) fn remove_raw(&self, raw_ref: &RawRef) -> Result<(), FilesError> {
        match raw_ref.place() {
            RawPlace::File(_) => remove(self.raw_path(raw_ref)),
            RawPlace::Member { pack, .. } => remove(self.root.join(pack)),
        }
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
