//! Bytes kept in the database: attachments and raw mail when `[storage] backend =
//! "database"`, so that every instance connected to the database reads what any of them
//! wrote. One row per kind and key; a second write of the same key leaves the first.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::to_millis;
use super::{Doing, Store, StoreError};

/// What a blob is, which also says what its key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    /// An attachment's content, keyed by its hex SHA-256.
    Attachment,
    /// A kept raw message, gzip-compressed, keyed by the article's `raw_ref`.
    RawMail,
}

impl BlobKind {
    /// The value of the `kind` column.
    fn as_str(self) -> &'static str {
        match self {
            BlobKind::Attachment => "attachment",
            BlobKind::RawMail => "raw",
        }
    }

    /// What the store was doing, for the error message: `attachment` or `raw` wording.
    fn wording(self, attachment: &'static str, raw: &'static str) -> &'static str {
        match self {
            BlobKind::Attachment => attachment,
            BlobKind::RawMail => raw,
        }
    }
}

impl Store {
    /// Whether a blob of `kind` is held under `key`: lets a writer skip sending bytes
    /// the database has already (the same attachment in many mails).
    pub async fn has_blob(&self, kind: BlobKind, key: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS held FROM blobs WHERE kind = $1 AND key = $2")
            .bind(kind.as_str())
            .bind(key)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .doing(kind.wording(
                "looking for a stored attachment",
                "looking for stored raw mail",
            ))?;
        Ok(row.is_some())
    }

    /// Stores `bytes` under `kind` and `key` unless a blob is held there already, in
    /// which case nothing changes (keys name their content, so it is the same). `size` is
    /// the content's size before any compression. Whether this call stored it.
    pub async fn insert_blob(
        &self,
        kind: BlobKind,
        key: &str,
        bytes: &[u8],
        size: u64,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO blobs (kind, key, bytes, size, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (kind, key) DO NOTHING",
        )
        .bind(kind.as_str())
        .bind(key)
        .bind(bytes)
        .bind(i64::try_from(size).unwrap_or(i64::MAX))
        .bind(to_millis(at))
        .execute(&mut *self.conn().await?)
        .await
        .doing(kind.wording("storing an attachment", "storing raw mail"))?;
        Ok(done.rows_affected() > 0)
    }

    /// The bytes held under `kind` and `key`, as stored; `None` when there are none.
    pub async fn blob(&self, kind: BlobKind, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT bytes FROM blobs WHERE kind = $1 AND key = $2")
            .bind(kind.as_str())
            .bind(key)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .doing(kind.wording("reading an attachment", "reading raw mail"))?;
        row.map(|r| r.try_get::<Vec<u8>, _>("bytes"))
            .transpose()
            .doing(kind.wording("reading an attachment", "reading raw mail"))
    }

    /// Deletes the blob under `kind` and `key`; whether there was one.
    pub async fn delete_blob(&self, kind: BlobKind, key: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM blobs WHERE kind = $1 AND key = $2")
            .bind(kind.as_str())
            .bind(key)
            .execute(&mut *self.conn().await?)
            .await
            .doing(kind.wording("deleting an attachment", "deleting raw mail"))?;
        Ok(done.rows_affected() > 0)
    }
}
