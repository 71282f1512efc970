//! What the governor's limits count for a mail: the sends the store recorded within each
//! limit's window, and the sends of the mail's group that it does not record yet.
//!
//! A group reads the recorded counts of all its recipients and all its tickets at once,
//! when it starts ([`RecordedCounts`]): two reads per group, where each mail took two of
//! its own, in turn with the group's other connections. A mail alone (`outbox flush`, the
//! other lanes), or one whose address or ticket the group's read does not hold, reads its
//! own when it is judged.
//!
//! What the group's read cannot see is what is recorded after it: the mails about no
//! ticket, recorded one by one as they go (so they stay in the group's tally instead), and
//! the sends of other instances in the fraction of a second a group lasts, which a mail's
//! own read could not see either while their groups were still being sent.

use std::collections::HashMap;

use super::unrecorded::UnrecordedSends;
use crate::domain::EmailAddress;
use crate::store::{Store, StoreError};

/// The sends the store recorded within each window of the limits, for a group's
/// recipients (by address key) and tickets, as of the group's start.
#[derive(Debug, Default)]
pub struct RecordedCounts {
    pub(super) to: HashMap<String, Vec<u32>>,
    pub(super) about: HashMap<i64, Vec<u32>>,
}

/// What a verdict counts: the group's recorded counts where they hold the mail's address
/// or ticket, else a read of the mail's own; plus the group's sends not recorded yet.
#[derive(Debug, Clone, Copy)]
pub struct Counting<'a> {
    pub recorded: &'a RecordedCounts,
    pub unrecorded: &'a UnrecordedSends,
}

impl Counting<'_> {
    /// How many mails went to `recipient` since each of `sinces`.
    pub async fn to(
        &self,
        store: &Store,
        recipient: &EmailAddress,
        sinces: &[chrono::DateTime<chrono::Utc>],
    ) -> Result<Vec<u32>, StoreError> {
        let key = recipient.key();
        let (mut counts, since_group_read) = match self.recorded.to.get(&key) {
            Some(counts) => (counts.clone(), true),
            None => (
                store
                    .sent_to_recipient_since_each(recipient, sinces)
                    .await?,
                false,
            ),
        };
        let more = self.unrecorded.to(recipient, since_group_read);
        counts.iter_mut().for_each(|n| *n += more);
        Ok(counts)
    }

    /// How many notifications ticket `ticket_id` caused since each of `sinces`.
    pub async fn about(
        &self,
        store: &Store,
        ticket_id: i64,
        sinces: &[chrono::DateTime<chrono::Utc>],
    ) -> Result<Vec<u32>, StoreError> {
        let mut counts = match self.recorded.about.get(&ticket_id) {
            Some(counts) => counts.clone(),
            None => store.sent_for_ticket_since_each(ticket_id, sinces).await?,
        };
        let more = self.unrecorded.about(ticket_id);
        counts.iter_mut().for_each(|n| *n += more);
        Ok(counts)
    }
}
