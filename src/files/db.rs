//! The database backend: attachments and raw mail as rows of `blobs`, through the
//! [`Store`], so that every instance connected to the database reads what any of them
//! wrote. Raw mail is gzip-compressed as on disk; attachments are kept as received.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::keys::{Digest, RawRef};
use super::{FilesError, blocking};
use crate::config::StorageBackend;
use crate::store::{BlobKind, Store};

/// Attachments and raw mail as rows of the database.
#[derive(Debug, Clone)]
pub(super) struct DbFiles {
    store: Store,
}

impl DbFiles {
    pub(super) fn new(store: Store) -> Self {
        Self { store }
    }

    /// Stores `bytes`, received `at`, under their SHA-256 unless the database holds them
    /// already (then they are not sent again); returns the digest.
    pub(super) async fn put_attachment(
        &self,
        bytes: Vec<u8>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Digest, FilesError> {
        let (digest, bytes) = blocking(move || (Digest::of(&bytes), bytes)).await;
        if !self
            .store
            .has_blob(BlobKind::Attachment, digest.as_str())
            .await?
        {
            let size = bytes.len() as u64;
            self.store
                .insert_blob(BlobKind::Attachment, digest.as_str(), &bytes, size, at)
                .await?;
        }
        Ok(digest)
    }

    /// The content of the attachment `digest`.
    pub(super) async fn attachment(&self, digest: &Digest) -> Result<Vec<u8>, FilesError> {
        self.store
            .blob(BlobKind::Attachment, digest.as_str())
            .await?
            .ok_or_else(|| missing("attachment", digest.as_str()))
    }

    /// Deletes the attachment `digest`; an already missing one is fine.
    pub(super) async fn remove_attachment(&self, digest: &Digest) -> Result<(), FilesError> {
        self.store
            .delete_blob(BlobKind::Attachment, digest.as_str())
            .await?;
        Ok(())
    }

    /// Keeps the raw message gzip-compressed under the reference [`RawRef::of`] gives,
    /// unless the database holds it already; returns the reference.
    pub(super) async fn put_raw(
        &self,
        raw: Vec<u8>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<RawRef, FilesError> {
        let size = raw.len() as u64;
        let (raw_ref, compressed) = blocking(move || (RawRef::of(&raw, at), gzip(&raw))).await;
        self.store
            .insert_blob(BlobKind::RawMail, raw_ref.as_str(), &compressed, size, at)
            .await?;
        Ok(raw_ref)
    }

    /// Reads back a raw message kept by [`DbFiles::put_raw`], decompressed.
    pub(super) async fn raw(&self, raw_ref: &RawRef) -> Result<Vec<u8>, FilesError> {
        let compressed = self
            .store
            .blob(BlobKind::RawMail, raw_ref.as_str())
            .await?
            .ok_or_else(|| missing("raw mail", raw_ref.as_str()))?;
        blocking(move || gunzip(&compressed))
            .await
            .map_err(|source| FilesError::Damaged {
                raw_ref: raw_ref.as_str().to_string(),
                source,
            })
    }

    /// Deletes a raw message (the purge job); an already missing one is fine.
    pub(super) async fn remove_raw(&self, raw_ref: &RawRef) -> Result<(), FilesError> {
        self.store
            .delete_blob(BlobKind::RawMail, raw_ref.as_str())
            .await?;
        Ok(())
    }
}

fn missing(kind: &str, key: &str) -> FilesError {
    FilesError::Missing {
        what: format!("{kind} {key}"),
        backend: StorageBackend::Database,
    }
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::with_capacity(raw.len() / 3), Compression::fast());
    gz.write_all(raw)
        .and_then(|()| gz.finish())
        .expect("compressing into memory cannot fail: a Vec takes every write")
}

fn gunzip(compressed: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(compressed.len() * 3);
    flate2::read::GzDecoder::new(compressed).read_to_end(&mut out)?;
    Ok(out)
}
