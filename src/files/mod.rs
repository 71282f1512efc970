//! The bytes behind tickets: attachments, stored once per content (SHA-256), and raw
//! messages, kept so that a mail can be read again as it arrived. [`Files`] puts, gets and
//! removes them in the backend `[storage] backend` names: files under the data directory
//! (`fs`) or rows of the database (`db`), which every instance connected to it shares.
//!
//! Writers store the bytes before the transaction that records them: a ticket never points
//! at bytes that are missing, and bytes whose transaction then fails are harmless (keyed by
//! their content, so the retry finds them).

mod db;
mod fs;
mod keys;
mod pack;

pub use keys::sha256_hex;

use std::path::{Path, PathBuf};

use crate::atomic_file::FileStoreError;
use crate::config::{Settings, StorageBackend};
use crate::store::{Batch, Store, StoreError};
use keys::{Digest, RawRef};

/// Why bytes could not be stored, read or removed. [`FilesError::is_transient`] tells
/// whether the same call may succeed later.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// A file could not be written under the data directory; its message names the path.
    #[error(transparent)]
    Write(#[from] FileStoreError),
    /// A file under the data directory could not be read or deleted.
    #[error("cannot {doing} {path}: {source}; check the permissions under the data directory")]
    Disk {
        doing: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The database failed; its message says what it was doing.
    #[error(transparent)]
    Database(#[from] StoreError),
    /// Nothing is stored under the key: purged, or stored while another backend was
    /// configured (changing `[storage] backend` does not move what is stored).
    #[error(
        "the {what} is not in the storage ([storage] backend = \"{backend}\"): it was purged, or stored while another backend was configured"
    )]
    Missing {
        what: String,
        backend: StorageBackend,
    },
    /// A key of a form ticketgate never gives (a damaged or hand-edited row): nothing was
    /// read or deleted.
    #[error("`{key}` is not {expected}; nothing was read or deleted (was the row edited by hand?)")]
    NotAKey { key: String, expected: &'static str },
    /// The stored raw mail does not decompress.
    #[error("the raw mail {raw_ref} is damaged and cannot be decompressed: {source}")]
    Damaged {
        raw_ref: String,
        source: std::io::Error,
    },
}

impl FilesError {
    /// Whether trying again later may succeed: a full disk, a permission, an unreachable
    /// database can be fixed; a missing or damaged file stays so.
    pub fn is_transient(&self) -> bool {
        match self {
            FilesError::Write(_) | FilesError::Disk { .. } => true,
            FilesError::Database(e) => e.is_transient(),
            FilesError::Missing { .. }
            | FilesError::NotAKey { .. }
            | FilesError::Damaged { .. } => false,
        }
    }
}

/// Where attachments and raw mail are kept; cheap to clone.
#[derive(Debug, Clone)]
pub struct Files {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Fs(fs::FsFiles),
    Db(db::DbFiles),
}

impl Files {
    /// The backend the settings name: files under `data_dir`, or the database of `store`.
    pub fn new(settings: &Settings, store: &Store) -> Self {
        match settings.storage.backend {
            StorageBackend::Fs => Self::on_disk(&settings.data_dir),
            StorageBackend::Database => Self::in_database(store.clone()),
        }
    }

    /// Files under `data_dir` (`attachments/`, `raw/`).
    pub fn on_disk(data_dir: &Path) -> Self {
        Self {
            backend: Backend::Fs(fs::FsFiles::new(data_dir)),
        }
    }

    /// Rows of the `blobs` table of `store`'s database.
    pub fn in_database(store: Store) -> Self {
        Self {
            backend: Backend::Db(db::DbFiles::new(store)),
        }
    }

    /// The same storage for the mails of `batch`. In the database, the bytes go into the
    /// batch's transaction. On disk, files are written without a sync each, and
    /// [`Files::settle`] syncs them all before the batch commits.
    pub fn for_batch(&self, batch: &Batch) -> Files {
        let backend = match &self.backend {
            Backend::Fs(fs) => Backend::Fs(fs.staging()),
            Backend::Db(_) => Backend::Db(db::DbFiles::new(batch.store().clone())),
        };
        Files { backend }
    }

    /// Makes every file written for a batch durable and visible under its name: called
    /// before the batch commits, so that no committed row names a file a crash could lose.
    pub async fn settle(&self) -> Result<(), FilesError> {
        match &self.backend {
            Backend::Fs(fs) => fs.settle().await,
            Backend::Db(_) => Ok(()),
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> StorageBackend {
        match self.backend {
            Backend::Fs(_) => StorageBackend::Fs,
            Backend::Db(_) => StorageBackend::Database,
        }
    }

    /// Stores an attachment's `bytes`, received `at`, unless the same content is stored
    /// already; returns its hex SHA-256, by which it is read back.
    pub async fn put_attachment(
        &self,
        bytes: &[u8],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, FilesError> {
        let digest = match &self.backend {
            // As for raw mail: a large file is not copied for another thread.
            Backend::Fs(fs) if bytes.len() > COPY_TO_WRITER_BYTES => {
                let digest = Digest::of(bytes);
                blocking_here(|| fs.put_attachment_as(&digest, bytes))?;
                digest
            }
            _ => self.put_small_attachment(bytes.to_vec(), at).await?,
        };
        Ok(digest.as_str().to_string())
    }

    /// [`Files::put_attachment`] of `bytes` copied for a writer on the blocking pool (or
    /// for the database).
    async fn put_small_attachment(
        &self,
        bytes: Vec<u8>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Digest, FilesError> {
        Ok(match &self.backend {
            Backend::Fs(fs) if fs.is_staging() => {
                let digest = Digest::of(&bytes);
                let key = digest.clone();
                fs.in_background(move |fs| fs.put_attachment_as(&key, &bytes))
                    .await;
                digest
            }
            Backend::Fs(fs) => {
                let fs = fs.clone();
                blocking(move || fs.put_attachment(&bytes)).await?
            }
            Backend::Db(db) => db.put_attachment(bytes, at).await?,
        })
    }

    /// The content of the attachment whose hex SHA-256 is `sha256`.
    pub async fn attachment(&self, sha256: &str) -> Result<Vec<u8>, FilesError> {
        let digest = Digest::parse(sha256)?;
        match &self.backend {
            Backend::Fs(fs) => {
                let fs = fs.clone();
                blocking(move || fs.attachment(&digest)).await
            }
            Backend::Db(db) => db.attachment(&digest).await,
        }
    }

    /// Deletes the attachment `sha256`; already gone is fine. Content is shared by every
    /// attachment with the same bytes: the caller makes sure none still names it.
    pub async fn remove_attachment(&self, sha256: &str) -> Result<(), FilesError> {
        let digest = Digest::parse(sha256)?;
        match &self.backend {
            Backend::Fs(fs) => {
                let fs = fs.clone();
                blocking(move || fs.remove_attachment(&digest)).await
            }
            Backend::Db(db) => db.remove_attachment(&digest).await,
        }
    }

    /// Keeps the raw message `raw` received at `at`; returns the reference the article
    /// records: `raw/YYYY/MM/<sha256>.eml.gz` on both backends, or `raw/YYYY/MM/<id>.pack.zst#N`
    /// for a mail of a batch on disk.
    pub async fn put_raw(
        &self,
        raw: &[u8],
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, FilesError> {
        let raw_ref = match &self.backend {
            // A large mail is not copied for another thread: compressed and written here,
            // as a blocking call (a 25 MB mail held once less).
            Backend::Fs(fs) if raw.len() > COPY_TO_WRITER_BYTES => {
                let raw_ref = RawRef::of(raw, at);
                blocking_here(|| fs.put_raw_as(&raw_ref, raw))?;
                raw_ref
            }
            Backend::Fs(fs) if fs.is_staging() => fs.stage_raw(raw.to_vec(), at).await,
            Backend::Fs(fs) => {
                let (fs, raw) = (fs.clone(), raw.to_vec());
                blocking(move || fs.put_raw(&raw, at)).await?
            }
            Backend::Db(db) => db.put_raw(raw.to_vec(), at).await?,
        };
        Ok(raw_ref.into_string())
    }

    /// For a raw mail kept in a batch's pack, the range `[from, to)` (in byte order) of the
    /// references every mail of that pack has: deleting it deletes the pack, which the
    /// purge does only once no other article names one of them. `None` for a mail kept on
    /// its own.
    pub fn raw_pack_range(raw_ref: &str) -> Option<(String, String)> {
        RawRef::parse(raw_ref).ok()?.pack_range()
    }

    /// The raw message an article's `raw_ref` names, byte for byte as received.
    pub async fn raw(&self, raw_ref: &str) -> Result<Vec<u8>, FilesError> {
        let raw_ref = RawRef::parse(raw_ref)?;
        match &self.backend {
            Backend::Fs(fs) => {
                let fs = fs.clone();
                blocking(move || fs.raw(&raw_ref)).await
            }
            Backend::Db(db) => db.raw(&raw_ref).await,
        }
    }

    /// Deletes the raw message `raw_ref` (the purge job); already gone is fine. Only a
    /// reference of the form [`Files::put_raw`] gives is accepted, so a damaged row cannot
    /// delete anything else.
    pub async fn remove_raw(&self, raw_ref: &str) -> Result<(), FilesError> {
        let raw_ref = RawRef::parse(raw_ref)?;
        match &self.backend {
            Backend::Fs(fs) => {
                let fs = fs.clone();
                blocking(move || fs.remove_raw(&raw_ref)).await
            }
            Backend::Db(db) => db.remove_raw(&raw_ref).await,
        }
    }
}

/// Up to this size, raw mail is copied for a writer on the blocking pool; past it, it is
/// written on the calling thread.
const COPY_TO_WRITER_BYTES: usize = 1024 * 1024;

/// Runs blocking `work` on this thread: through `block_in_place` on the daemon's
/// multi-thread runtime (the other tasks move to other workers meanwhile), directly on a
/// command's current-thread runtime, which has nothing else to run.
fn blocking_here<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// Runs `work` (file I/O, hashing, compressing) on tokio's blocking threads, so that a big
/// mail or a file's sync does not hold up the async workers; a panic in it goes on in the
/// caller.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

#[cfg(test)]
mod tests;
