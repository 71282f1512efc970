//! Fetching from the folder: the UIDs and sizes after the cursor, grouped into bounded
//! batches, then the bodies of one batch.

use std::collections::HashMap;

use futures::TryStreamExt;

use super::acknowledge::uid_set;
use super::connection::ImapSession;
use super::{ImapError, is_refusal, protocol};

/// The UIDs after `last_uid` with their sizes, in UID order. Sizes first: batches are
/// bounded in count and in bytes, and a message over the size limit is never downloaded.
pub(super) async fn list_after(
    session: &mut ImapSession,
    last_uid: u32,
) -> Result<Vec<(u32, u64)>, ImapError> {
    let listed = session
        .uid_fetch(
            format!("{}:*", last_uid.saturating_add(1)),
            "(UID RFC822.SIZE)",
        )
        .await
        .map_err(protocol("listing new messages"))?;
    // `N:*` names the last message even when it is below N: filter it out.
    let mut sizes: Vec<(u32, u64)> = listed
        .try_collect::<Vec<_>>()
        .await
        .map_err(protocol("listing new messages"))?
        .iter()
        .filter_map(|f| Some((f.uid?, u64::from(f.size.unwrap_or(0)))))
        .filter(|(uid, _)| *uid > last_uid)
        .collect();
    sizes.sort_unstable();
    Ok(sizes)
}

/// Groups UIDs (with their sizes) into batches of at most `count` messages and about
/// `bytes` bytes. Messages over `limit` are kept in the batches so the cursor passes them,
/// but count for nothing: they are not fetched.
pub(super) fn batches(uids: &[(u32, u64)], count: usize, bytes: u64, limit: u64) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut current: Vec<u32> = Vec::new();
    let mut current_bytes = 0u64;
    for &(uid, size) in uids {
        let size = if size > limit { 0 } else { size };
        if !current.is_empty() && (current.len() >= count || current_bytes + size > bytes) {
            out.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.push(uid);
        current_bytes += size;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The bodies of `uids`, fetched at once; when the server refuses the batch, one by one so
/// that a single message it will not give does not hold back the others.
pub(super) async fn bodies(
    session: &mut ImapSession,
    uids: &[u32],
) -> Result<HashMap<u32, Vec<u8>>, ImapError> {
    match fetch_set(session, uids).await {
        Err(e) if is_refusal(&e) && uids.len() > 1 => {}
        fetched => return fetched,
    }
    let mut bodies = HashMap::new();
    for uid in uids {
        match fetch_set(session, std::slice::from_ref(uid)).await {
            Ok(one) => bodies.extend(one),
            Err(e) if is_refusal(&e) => {
                tracing::error!(uid, error = %e, "the server refuses to give this message; it is left there")
            }
            Err(e) => return Err(e),
        }
    }
    Ok(bodies)
}

/// The bodies of `uids`, fetched in one command. Short of some only when the server did
/// not give them: async-imap ends a FETCH's stream in the same way whether the server
/// finished the command or the connection closed between two of its messages, so a short
/// answer is followed by a NOOP whose tagged OK must come. Otherwise the messages after
/// the break would be taken for ones the server will not give, and the cursor would pass
/// them, unread, for good. (Not `Session::noop`, which also takes a closed connection for
/// an answer.)
async fn fetch_set(
    session: &mut ImapSession,
    uids: &[u32],
) -> Result<HashMap<u32, Vec<u8>>, ImapError> {
    let stream = session
        .uid_fetch(uid_set(uids), "(UID BODY.PEEK[])")
        .await
        .map_err(protocol("fetching messages"))?;
    let fetched: Vec<_> = stream
        .try_collect()
        .await
        .map_err(protocol("fetching messages"))?;
    let bodies: HashMap<u32, Vec<u8>> = fetched
        .iter()
        .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
        .collect();
    if bodies.len() < uids.len() {
        session
            .run_command_and_check_ok("NOOP")
            .await
            .map_err(protocol("fetching messages"))?;
    }
    Ok(bodies)
}

#[cfg(test)]
mod tests {
    use super::batches;

    #[test]
    fn batches_are_bounded_in_count_and_bytes() {
        let uids = [(1, 10), (2, 10), (3, 10), (4, 50), (5, 1000), (6, 5)];
        assert_eq!(
            batches(&uids, 2, 100, 500),
            vec![vec![1, 2], vec![3, 4], vec![5, 6]]
        );
        assert_eq!(
            batches(&uids, 10, 25, 500),
            vec![vec![1, 2], vec![3], vec![4], vec![5, 6]]
        );
        assert!(batches(&[], 5, 5, 5).is_empty());
    }
}
