//! The purge: kept raw mail and quarantined mail deleted once older than the settings keep
//! them; the articles keep their text and say that their original was purged.

use chrono::{DateTime, Duration, Utc};

use super::{BATCH, JobError, Jobs};

impl Jobs {
    /// Deletes what is older than the settings keep as of `as_of`; with `dry_run`, only
    /// says what.
    pub(super) async fn purge(
        &self,
        as_of: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Vec<String>, JobError> {
        let j = &self.settings.jobs;
        let mut lines = Vec::new();
        if j.purge_raw_mail_days > 0 {
            let cutoff = as_of - Duration::days(i64::from(j.purge_raw_mail_days));
            for (article, path, unshared) in self.store.raw_mail_before(cutoff, BATCH).await? {
                // A batch's mails share a pack: each is forgotten on its own, and the file
                // goes with the last of them. A file of its own may be shared by a later
                // article with the same content, which keeps it.
                let (said, remove) = match crate::files::Files::raw_pack_range(&path) {
                    Some((from, to)) => (
                        true,
                        !self.store.raw_refs_in_use(&from, &to, article).await?,
                    ),
                    None => (unshared, unshared),
                };
                if dry_run {
                    if said {
                        lines.push(format!("raw mail {path} would be deleted"));
                    }
                    continue;
                }
                if remove && let Err(e) = self.files.remove_raw(&path).await {
                    tracing::warn!(error = %e, article, "raw mail not purged");
                    continue;
                }
                if said {
                    lines.push(format!("raw mail {path} deleted"));
                }
                self.store.forget_raw_mail(article, as_of).await?;
            }
        }
        if j.purge_quarantine_days > 0 {
            let cutoff = as_of - Duration::days(i64::from(j.purge_quarantine_days));
            for entry in self.quarantine.list()? {
                if entry.quarantined_at < cutoff && dry_run {
                    lines.push(format!(
                        "quarantined {} would be deleted (since {})",
                        entry.id,
                        entry.quarantined_at.format("%Y-%m-%d")
                    ));
                } else if entry.quarantined_at < cutoff {
                    self.quarantine.remove(&entry.id)?;
                    tracing::info!(id = %entry.id, reason = %entry.reason, "quarantined mail purged");
                    lines.push(format!(
                        "quarantined {} deleted (since {})",
                        entry.id,
                        entry.quarantined_at.format("%Y-%m-%d")
                    ));
                }
            }
        }
        Ok(lines)
    }
}
