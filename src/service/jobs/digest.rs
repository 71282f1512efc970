//! The weekly digest: each contact who asked for it is sent the list of their open
//! tickets once per ISO week. The week is marked on the contact in the statement that
//! queues the mail, so a second run in the same week (a catch-up, `jobs run`, another
//! instance at the same tick) sends nothing more.

use chrono::{DateTime, Datelike, Utc};

use super::{BATCH, JobError, Jobs};

impl Jobs {
    pub(super) async fn weekly_digest(
        &self,
        as_of: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Vec<String>, JobError> {
        let iso = as_of.iso_week();
        let week = format!("{}-W{:02}", iso.year(), iso.week());
        let mut lines = Vec::new();
        let mut after = String::new();
        loop {
            let page = self.store.weekly_digest_contacts(&after, BATCH).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = last.key();
            for person in &page {
                if dry_run {
                    lines.push(format!(
                        "{person}: the digest of {week}, unless sent already"
                    ));
                } else if self.store.queue_weekly_digest(person, &week, as_of).await? {
                    lines.push(format!("{person}: the digest of {week}"));
                }
            }
        }
        Ok(lines)
    }
}
