//! Acknowledging handled messages on the server, as a set in one command each: moved to the
//! processed folder (MOVE, or COPY then delete), flagged seen, or deleted. Deleting is
//! `\Deleted` then `UID EXPUNGE` where the server has UIDPLUS; where it has not, a plain
//! EXPUNGE would also remove what other clients flagged, so it is sent only when every
//! message flagged `\Deleted` in the folder is one of ours, and ours otherwise stay flagged
//! until it is.

use std::collections::BTreeSet;

use futures::TryStreamExt;

use super::connection::ImapSession;
use super::session::Capabilities;
use super::{ImapError, protocol};
use crate::store::PendingAck;

/// What acknowledging a message does, the processed folder resolved to the server's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Acknowledgement {
    Move(String),
    Seen,
    Delete,
}

/// An acknowledgement the server did not take, and how far it got.
#[derive(Debug)]
pub(super) struct AckFailure {
    /// The messages were copied into the processed folder already: only their deletion is
    /// left to do.
    pub copied: bool,
    pub error: ImapError,
}

/// The messages this process flagged `\Deleted` in the folder and has not seen expunged:
/// without UIDPLUS, what a plain EXPUNGE may remove.
#[derive(Debug, Default)]
pub(super) struct FlaggedByUs(BTreeSet<u32>);

/// Acknowledges `acks` as `how` says; on failure, says whether they were copied already.
pub(super) async fn acknowledge(
    session: &mut ImapSession,
    acks: &[PendingAck],
    how: &Acknowledgement,
    caps: Capabilities,
    flagged: &mut FlaggedByUs,
) -> Result<(), AckFailure> {
    if acks.is_empty() {
        return Ok(());
    }
    let uids: Vec<u32> = acks.iter().map(|a| a.uid).collect();
    let set = uid_set(&uids);
    let not_copied = |error| AckFailure {
        copied: false,
        error,
    };
    match how {
        Acknowledgement::Move(folder) if caps.r#move => session
            .uid_mv(&set, folder)
            .await
            .map_err(|e| not_copied(protocol("moving handled messages")(e)))?,
        Acknowledgement::Move(folder) => {
            let to_copy: Vec<u32> = acks.iter().filter(|a| !a.copied).map(|a| a.uid).collect();
            if !to_copy.is_empty() {
                session
                    .uid_copy(uid_set(&to_copy), folder)
                    .await
                    .map_err(|e| not_copied(protocol("copying handled messages")(e)))?;
            }
            delete(session, &uids, caps, flagged)
                .await
                .map_err(|error| AckFailure {
                    copied: true,
                    error,
                })?;
        }
        Acknowledgement::Seen => flag(session, &set, "\\Seen", "flagging messages")
            .await
            .map_err(not_copied)?,
        Acknowledgement::Delete => delete(session, &uids, caps, flagged)
            .await
            .map_err(not_copied)?,
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

async fn flag(
    session: &mut ImapSession,
    set: &str,
    flag: &str,
    doing: &'static str,
) -> Result<(), ImapError> {
    session
        .uid_store(set, format!("+FLAGS.SILENT ({flag})"))
        .await
        .map_err(protocol(doing))?
        .try_collect::<Vec<_>>()
        .await
        .map_err(protocol(doing))?;
    Ok(())
}

/// Flags `uids` deleted and expunges them: only them where the server has UID EXPUNGE
/// (UIDPLUS); else with a plain EXPUNGE, once nothing but ours is flagged in the folder.
async fn delete(
    session: &mut ImapSession,
    uids: &[u32],
    caps: Capabilities,
    flagged: &mut FlaggedByUs,
) -> Result<(), ImapError> {
    let set = uid_set(uids);
    flag(session, &set, "\\Deleted", "deleting messages").await?;
    if caps.uidplus {
        session
            .uid_expunge(&set)
            .await
            .map_err(protocol("expunging messages"))?
            .try_collect::<Vec<_>>()
            .await
            .map_err(protocol("expunging messages"))?;
        return Ok(());
    }
    flagged.0.extend(uids);
    let deleted = session
        .uid_search("DELETED")
        .await
        .map_err(protocol("looking for messages flagged deleted"))?;
    let others = deleted
        .iter()
        .filter(|uid| !flagged.0.contains(uid))
        .count();
    if others > 0 {
        tracing::info!(
            others,
            "other messages of the folder are flagged deleted by someone else: ours stay flagged until an EXPUNGE removes only ours"
        );
        return Ok(());
    }
    session
        .expunge()
        .await
        .map_err(protocol("expunging messages"))?
        .try_collect::<Vec<_>>()
        .await
        .map_err(protocol("expunging messages"))?;
    flagged.0.retain(|uid| !deleted.contains(uid));
    Ok(())
}
