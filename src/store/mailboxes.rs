//! Where each IMAP mailbox is: its folder's UIDVALIDITY and the last UID handled, the
//! handled messages still to be acknowledged on the server, and what is wrong with it now.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::{from_millis, get, to_millis};
use super::{Doing, Store, StoreError};

/// The position of a mailbox: every UID up to `last_uid` of the folder generation
/// `uid_validity` was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxCursor {
    pub uid_validity: u32,
    pub last_uid: u32,
}

impl Store {
    /// The cursor of `mailbox`, if it ever ran.
    pub async fn mailbox_cursor(&self, mailbox: &str) -> Result<Option<MailboxCursor>, StoreError> {
        let row =
            sqlx::query("SELECT uid_validity, last_uid FROM mailbox_cursors WHERE mailbox = $1")
                .bind(mailbox.to_string())
                .fetch_optional(&mut *self.conn().await?)
                .await
                .doing("reading a mailbox cursor")?;
        row.map(|r| {
            let validity: i64 = r
                .try_get("uid_validity")
                .doing("reading a mailbox cursor")?;
            let last: i64 = r.try_get("last_uid").doing("reading a mailbox cursor")?;
            Ok(MailboxCursor {
                uid_validity: validity as u32,
                last_uid: last as u32,
            })
        })
        .transpose()
    }

    /// Records how far `mailbox` got. Within one folder generation the cursor only moves
    /// forward: an instance that lost the mailbox's lease while saving cannot move it back
    /// over the work of the instance that took over.
    pub async fn save_mailbox_cursor(
        &self,
        mailbox: &str,
        cursor: MailboxCursor,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        save_cursor(&mut *self.conn().await?, mailbox, cursor, at).await
    }
}

/// [`Store::save_mailbox_cursor`] on a connection the caller holds.
async fn save_cursor(
    conn: &mut sqlx::AnyConnection,
    mailbox: &str,
    cursor: MailboxCursor,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mailbox_cursors (mailbox, uid_validity, last_uid, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (mailbox) DO UPDATE SET \
           last_uid = CASE WHEN mailbox_cursors.uid_validity = $2 AND mailbox_cursors.last_uid > $3 \
                           THEN mailbox_cursors.last_uid ELSE $3 END, \
           uid_validity = $2, updated_at = $4",
    )
    .bind(mailbox.to_string())
    .bind(i64::from(cursor.uid_validity))
    .bind(i64::from(cursor.last_uid))
    .bind(to_millis(at))
    .execute(&mut *conn)
    .await
    .doing("saving a mailbox cursor")?;
    Ok(())
}

/// A message already turned into a ticket whose acknowledgement on the server is still to
/// be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingAck {
    pub uid: u32,
    /// It was copied into the processed folder already: only its deletion is left.
    pub copied: bool,
}

/// Where a mailbox has a problem, one at a time per area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemArea {
    /// The session: connecting, logging in, or the server failing a command.
    Connection,
    /// A folder that cannot be created or selected: the mailbox is not watched.
    Folder,
    /// Handled messages the server would not let us move, flag or delete.
    Acknowledge,
}

impl ProblemArea {
    fn as_str(self) -> &'static str {
        match self {
            ProblemArea::Connection => "connection",
            ProblemArea::Folder => "folder",
            ProblemArea::Acknowledge => "acknowledge",
        }
    }
}

/// What is wrong with a mailbox now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxProblem {
    pub area: String,
    pub message: String,
    /// When the problem began (a change of message within the same area keeps it).
    pub since: DateTime<Utc>,
}

/// A mailbox as the status command shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxState {
    pub cursor: Option<MailboxCursor>,
    pub cursor_updated_at: Option<DateTime<Utc>>,
    /// Handled messages still to be acknowledged on the server, and since when the oldest.
    pub pending_acks: u64,
    pub pending_since: Option<DateTime<Utc>>,
    pub problems: Vec<MailboxProblem>,
}

impl Store {
    /// Records how far `mailbox` got and, in the same transaction, the handled messages
    /// whose acknowledgement is still to be made: the cursor never passes a message that
    /// is neither acknowledged nor remembered.
    pub async fn save_mailbox_progress(
        &self,
        mailbox: &str,
        cursor: MailboxCursor,
        pending: &[PendingAck],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.doing("starting a transaction")?;
        save_pending(&mut tx, mailbox, cursor.uid_validity, pending, at).await?;
        save_cursor(&mut tx, mailbox, cursor, at).await?;
        tx.commit().await.doing("saving a mailbox cursor")
    }

    /// The messages of `mailbox` (folder generation `uid_validity`) still to be
    /// acknowledged, in UID order.
    pub async fn pending_acks(
        &self,
        mailbox: &str,
        uid_validity: u32,
    ) -> Result<Vec<PendingAck>, StoreError> {
        let rows = sqlx::query(
            "SELECT uid, copied FROM mailbox_pending_acks WHERE mailbox = $1 AND uid_validity = $2 \
             ORDER BY uid",
        )
        .bind(mailbox.to_string())
        .bind(i64::from(uid_validity))
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("reading acknowledgements to make")?;
        rows.iter()
            .map(|r| {
                let uid: i64 = r.try_get("uid").doing("reading an acknowledgement")?;
                let copied: i64 = r.try_get("copied").doing("reading an acknowledgement")?;
                Ok(PendingAck {
                    uid: uid as u32,
                    copied: copied != 0,
                })
            })
            .collect()
    }

    /// Remembers `pending` as still to be acknowledged (updating what was copied already).
    pub async fn remember_pending_acks(
        &self,
        mailbox: &str,
        uid_validity: u32,
        pending: &[PendingAck],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.doing("starting a transaction")?;
        save_pending(&mut tx, mailbox, uid_validity, pending, at).await?;
        tx.commit()
            .await
            .doing("recording acknowledgements to make")
    }

    /// Forgets the acknowledgements of `uids`: the server took them, or the folder they
    /// were in is gone (a new UIDVALIDITY).
    pub async fn forget_pending_acks(
        &self,
        mailbox: &str,
        uid_validity: u32,
        uids: &[u32],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.doing("starting a transaction")?;
        for uid in uids {
            sqlx::query(
                "DELETE FROM mailbox_pending_acks WHERE mailbox = $1 AND uid_validity = $2 AND uid = $3",
            )
            .bind(mailbox.to_string())
            .bind(i64::from(uid_validity))
            .bind(i64::from(*uid))
            .execute(&mut *tx)
            .await
            .doing("forgetting an acknowledgement made")?;
        }
        tx.commit().await.doing("forgetting acknowledgements made")
    }

    /// Forgets the acknowledgements left in a folder generation other than `uid_validity`:
    /// their messages went with it.
    pub async fn forget_other_pending_acks(
        &self,
        mailbox: &str,
        uid_validity: u32,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mailbox_pending_acks WHERE mailbox = $1 AND uid_validity <> $2")
            .bind(mailbox.to_string())
            .bind(i64::from(uid_validity))
            .execute(&mut *self.conn().await?)
            .await
            .doing("forgetting acknowledgements of an old folder generation")?;
        Ok(())
    }

    /// Records that `mailbox` has a problem in `area`, keeping when it began if it had one
    /// there already.
    pub async fn set_mailbox_problem(
        &self,
        mailbox: &str,
        area: ProblemArea,
        message: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mailbox_problems (mailbox, area, message, since, updated_at) \
             VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (mailbox, area) DO UPDATE SET message = $3, updated_at = $4",
        )
        .bind(mailbox.to_string())
        .bind(area.as_str())
        .bind(super::rows::storable(message))
        .bind(to_millis(at))
        .execute(&mut *self.conn().await?)
        .await
        .doing("recording a mailbox problem")?;
        Ok(())
    }

    /// The problem of `mailbox` in `area` is over.
    pub async fn clear_mailbox_problem(
        &self,
        mailbox: &str,
        area: ProblemArea,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mailbox_problems WHERE mailbox = $1 AND area = $2")
            .bind(mailbox.to_string())
            .bind(area.as_str())
            .execute(&mut *self.conn().await?)
            .await
            .doing("clearing a mailbox problem")?;
        Ok(())
    }

    /// Where `mailbox` stands: its cursor, its acknowledgements to make, its problems.
    pub async fn mailbox_state(&self, mailbox: &str) -> Result<MailboxState, StoreError> {
        let mut conn = self.conn().await?;
        let cursor = sqlx::query(
            "SELECT uid_validity, last_uid, updated_at FROM mailbox_cursors WHERE mailbox = $1",
        )
        .bind(mailbox.to_string())
        .fetch_optional(&mut *conn)
        .await
        .doing("reading a mailbox cursor")?;
        let (cursor, cursor_updated_at) = match cursor {
            Some(r) => (
                Some(MailboxCursor {
                    uid_validity: get::<i64>(&r, "uid_validity")? as u32,
                    last_uid: get::<i64>(&r, "last_uid")? as u32,
                }),
                Some(from_millis(get(&r, "updated_at")?)?),
            ),
            None => (None, None),
        };
        let pending = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(since) AS oldest FROM mailbox_pending_acks WHERE mailbox = $1",
        )
        .bind(mailbox.to_string())
        .fetch_one(&mut *conn)
        .await
        .doing("counting acknowledgements to make")?;
        let oldest: Option<i64> = get(&pending, "oldest")?;
        let problems = sqlx::query(
            "SELECT area, message, since FROM mailbox_problems WHERE mailbox = $1 ORDER BY area",
        )
        .bind(mailbox.to_string())
        .fetch_all(&mut *conn)
        .await
        .doing("reading mailbox problems")?
        .iter()
        .map(|r| {
            Ok(MailboxProblem {
                area: get(r, "area")?,
                message: get(r, "message")?,
                since: from_millis(get(r, "since")?)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(MailboxState {
            cursor,
            cursor_updated_at,
            pending_acks: get::<i64>(&pending, "n")?.max(0) as u64,
            pending_since: oldest.map(from_millis).transpose()?,
            problems,
        })
    }
}

/// Writes `pending` inside the caller's transaction.
async fn save_pending(
    tx: &mut sqlx::AnyConnection,
    mailbox: &str,
    uid_validity: u32,
    pending: &[PendingAck],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for ack in pending {
        sqlx::query(
            "INSERT INTO mailbox_pending_acks (mailbox, uid_validity, uid, copied, since) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (mailbox, uid_validity, uid) DO UPDATE SET copied = $4",
        )
        .bind(mailbox.to_string())
        .bind(i64::from(uid_validity))
        .bind(i64::from(ack.uid))
        .bind(i64::from(ack.copied))
        .bind(to_millis(at))
        .execute(&mut *tx)
        .await
        .doing("recording an acknowledgement to make")?;
    }
    Ok(())
}
