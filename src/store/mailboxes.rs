//! Where each IMAP mailbox is: its folder's UIDVALIDITY and the last UID handled.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::to_millis;
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
        .execute(&mut *self.conn().await?)
        .await
        .doing("saving a mailbox cursor")?;
        Ok(())
    }
}
