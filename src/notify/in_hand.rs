//! The rows a worker is delivering. A claim on a row is a lease that runs out by the wall
//! clock, so that another worker takes over the row of one that died mid-send; but when
//! the clock jumps ahead past the lease while the row is still being delivered (a webhook
//! or SMS gateway that takes its time), a second lane of the same worker could claim it
//! and deliver it beside the first. The worker keeps the ids it has in hand and passes
//! over such a claim.

use std::collections::HashSet;
use std::sync::Mutex;

/// The ids of the rows a worker's lanes are delivering.
#[derive(Debug, Default)]
pub(super) struct RowsInHand(Mutex<HashSet<i64>>);

impl RowsInHand {
    /// Takes row `id` in hand until the guard is dropped (delivered, recorded or given
    /// up); `None` when a lane has it in hand already.
    pub(super) fn take(&self, id: i64) -> Option<InHand<'_>> {
        // The lock is let go of before a guard exists: one dropped at once (row in hand
        // already) takes it again.
        let fresh = self.lock().insert(id);
        fresh.then(|| InHand { rows: self, id })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One row in hand, let go of when dropped.
#[derive(Debug)]
pub(super) struct InHand<'a> {
    rows: &'a RowsInHand,
    id: i64,
}

impl Drop for InHand<'_> {
    fn drop(&mut self) {
        self.rows.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_in_hand_once_until_let_go_of() {
        let rows = RowsInHand::default();
        let first = rows.take(7).unwrap();
        assert!(rows.take(7).is_none());
        assert!(rows.take(8).is_some());
        drop(first);
        assert!(rows.take(7).is_some());
    }
}
