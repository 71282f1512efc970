//! Acknowledging handled messages on the server, as a set in one command each: moved to the
//! processed folder (MOVE, or COPY then delete), flagged seen, or deleted.

use futures::TryStreamExt;

use super::connection::ImapSession;
use super::session::Capabilities;
use super::{ImapError, protocol};
use crate::config::ProcessedAction;

/// Moves, flags or deletes the messages `uids`, as `processed` says.
pub(super) async fn acknowledge(
    session: &mut ImapSession,
    uids: &[u32],
    processed: &ProcessedAction,
    caps: Capabilities,
) -> Result<(), ImapError> {
    if uids.is_empty() {
        return Ok(());
    }
    let set = uid_set(uids);
    match processed {
        ProcessedAction::Move(folder) if caps.r#move => session
            .uid_mv(&set, folder)
            .await
            .map_err(protocol("moving handled messages"))?,
        ProcessedAction::Move(folder) => {
            session
                .uid_copy(&set, folder)
                .await
                .map_err(protocol("copying handled messages"))?;
            delete(session, &set, caps).await?;
        }
        ProcessedAction::Seen => {
            let updates = session
                .uid_store(&set, "+FLAGS.SILENT (\\Seen)")
                .await
                .map_err(protocol("flagging messages"))?;
            updates
                .try_collect::<Vec<_>>()
                .await
                .map_err(protocol("flagging messages"))?;
        }
        ProcessedAction::Delete => delete(session, &set, caps).await?,
    }
    tracing::debug!(uids = %set, "acknowledged on the server");
    Ok(())
}

/// `uids` as an IMAP sequence set: `3,4,9`.
pub(super) fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Flags `set` deleted and expunges it: only it where the server has UID EXPUNGE
/// (UIDPLUS), else everything flagged deleted in the folder.
async fn delete(session: &mut ImapSession, set: &str, caps: Capabilities) -> Result<(), ImapError> {
    let updates = session
        .uid_store(set, "+FLAGS.SILENT (\\Deleted)")
        .await
        .map_err(protocol("deleting messages"))?;
    updates
        .try_collect::<Vec<_>>()
        .await
        .map_err(protocol("deleting messages"))?;
    if caps.uidplus {
        let gone = session
            .uid_expunge(set)
            .await
            .map_err(protocol("expunging messages"))?;
        gone.try_collect::<Vec<_>>()
            .await
            .map_err(protocol("expunging messages"))?;
    } else {
        let gone = session
            .expunge()
            .await
            .map_err(protocol("expunging messages"))?;
        gone.try_collect::<Vec<_>>()
            .await
            .map_err(protocol("expunging messages"))?;
    }
    Ok(())
}
