//! The files backend: attachments under `data_dir/attachments/ab/cd/<sha256>`, raw mail
//! gzip-compressed under `data_dir/raw/YYYY/MM/`. Every write goes through a temporary
//! file renamed into place, so a reader (another instance sharing the directory
//! included) never sees half a file. These calls block: [`super::Files`] runs them off
//! the async workers.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::FilesError;
use super::keys::{Digest, RawRef};
use crate::attachments::write_atomically;
use crate::config::StorageBackend;

/// Attachments and raw mail as files under one directory.
#[derive(Debug, Clone)]
pub(super) struct FsFiles {
    root: PathBuf,
}

impl FsFiles {
    /// Files under `data_dir` (`attachments/` and `raw/`).
    pub(super) fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.to_path_buf(),
        }
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
        let path = self.attachment_path(&digest);
        if !path.exists() {
            write_atomically(&path, |f| f.write_all(bytes))?;
        }
        Ok(digest)
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
        let path = self.raw_path(&raw_ref);
        if !path.exists() {
            write_atomically(&path, |f| {
                let mut gz = GzEncoder::new(f, Compression::fast());
                gz.write_all(raw)?;
                gz.finish().map(drop)
            })?;
        }
        Ok(raw_ref)
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
