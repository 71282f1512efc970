//! Messages that could not be turned into tickets, kept as files with their reason so that
//! nothing is lost: `ticketgate quarantine list` shows them, `retry` runs one again.
//! Files, not database rows, because "the database is unreachable" is one of the reasons.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::io::{Read, Write};

use sha2::{Digest, Sha256};

use crate::atomic_file::{FileStoreError, write_atomically};

/// Why the quarantine could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    #[error(transparent)]
    Write(#[from] FileStoreError),
    #[error("cannot read the quarantine at {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no quarantined message has the id `{0}`; `ticketgate quarantine list` shows the ids")]
    NotFound(String),
    #[error("the quarantine entry {path} is damaged: {message}")]
    Damaged { path: PathBuf, message: String },
}

/// What is known about a quarantined message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct QuarantineEntry {
    /// `YYYYMMDDTHHMMSS-<8 hex of the content hash>`: sortable and stable for one content.
    pub id: String,
    /// Where the message came from.
    pub source: String,
    /// Why it is here, in words an operator can act on.
    pub reason: String,
    /// How many times it was tried.
    pub attempts: u32,
    /// When it was (last) put here.
    pub quarantined_at: DateTime<Utc>,
    /// Its size in bytes.
    pub size: u64,
}

/// The quarantine folder: `<id>.eml` with the exact bytes, `<id>.json` with the entry.
#[derive(Debug, Clone)]
pub struct Quarantine {
    dir: PathBuf,
}

impl Quarantine {
    /// The quarantine under `data_dir/quarantine`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("quarantine"),
        }
    }

    /// Keeps `raw` with its reason. The same content quarantined again replaces its entry.
    pub fn put(
        &self,
        raw: &[u8],
        source: &str,
        reason: &str,
        attempts: u32,
        at: DateTime<Utc>,
    ) -> Result<QuarantineEntry, QuarantineError> {
        self.put_reader(raw, source, reason, attempts, at)
    }

    /// Keeps a message read from `reader`, streamed to disk so that a giant message is
    /// kept whole without being held in memory.
    pub fn put_reader(
        &self,
        mut reader: impl Read,
        source: &str,
        reason: &str,
        attempts: u32,
        at: DateTime<Utc>,
    ) -> Result<QuarantineEntry, QuarantineError> {
        let staging = self.dir.join(format!(
            ".incoming-{}-{}",
            std::process::id(),
            crate::atomic_file::unique_suffix()
        ));
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        write_atomically(&staging, |file| {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                hasher.update(&buf[..n]);
                size += n as u64;
                file.write_all(&buf[..n])?;
            }
        })?;
        let digest = hex::encode(hasher.finalize());
        let existing = self
            .list()?
            .into_iter()
            .find(|e| e.id.ends_with(&digest[..8]) && e.size == size);
        let id = match &existing {
            Some(e) => e.id.clone(),
            None => format!("{}-{}", at.format("%Y%m%dT%H%M%S"), &digest[..8]),
        };
        let target = self.dir.join(format!("{id}.eml"));
        std::fs::rename(&staging, &target).map_err(|source| QuarantineError::Read {
            path: target,
            source,
        })?;
        let entry = QuarantineEntry {
            id,
            source: source.to_string(),
            reason: reason.to_string(),
            attempts: attempts + existing.map_or(0, |e| e.attempts),
            quarantined_at: at,
            size,
        };
        self.save(&entry)?;
        Ok(entry)
    }

    fn save(&self, entry: &QuarantineEntry) -> Result<(), QuarantineError> {
        let json = serde_json::to_vec_pretty(entry).expect("entries always serialize");
        write_atomically(&self.dir.join(format!("{}.json", entry.id)), |f| {
            f.write_all(&json)
        })?;
        Ok(())
    }

    /// Every entry, oldest first.
    pub fn list(&self) -> Result<Vec<QuarantineEntry>, QuarantineError> {
        let read_err = |source| QuarantineError::Read {
            path: self.dir.clone(),
            source,
        };
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(read_err(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(read_err)?.path();
            if path.extension().is_some_and(|e| e == "json") {
                // One damaged entry must not hide the others nor block new ones.
                match self.read_entry(&path) {
                    Ok(entry) => out.push(entry),
                    Err(e) => tracing::warn!(error = %e, "skipping a damaged quarantine entry"),
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    fn read_entry(&self, path: &Path) -> Result<QuarantineEntry, QuarantineError> {
        let bytes = std::fs::read(path).map_err(|source| QuarantineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| QuarantineError::Damaged {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    fn checked_id<'a>(&self, id: &'a str) -> Result<&'a str, QuarantineError> {
        let ok = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if ok {
            Ok(id)
        } else {
            Err(QuarantineError::NotFound(id.to_string()))
        }
    }

    /// The entry and the message bytes of `id`.
    pub fn get(&self, id: &str) -> Result<(QuarantineEntry, Vec<u8>), QuarantineError> {
        let id = self.checked_id(id)?;
        let meta = self.dir.join(format!("{id}.json"));
        if !meta.exists() {
            return Err(QuarantineError::NotFound(id.to_string()));
        }
        let entry = self.read_entry(&meta)?;
        let eml = self.dir.join(format!("{id}.eml"));
        let raw =
            std::fs::read(&eml).map_err(|source| QuarantineError::Read { path: eml, source })?;
        Ok((entry, raw))
    }

    /// Records another failed attempt on `id`.
    pub fn record_failure(
        &self,
        id: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<QuarantineEntry, QuarantineError> {
        let (mut entry, _) = self.get(id)?;
        entry.reason = reason.to_string();
        entry.attempts += 1;
        entry.quarantined_at = at;
        self.save(&entry)?;
        Ok(entry)
    }

    /// Forgets `id` once its message was handled.
    pub fn remove(&self, id: &str) -> Result<(), QuarantineError> {
        let id = self.checked_id(id)?;
        for ext in ["eml", "json"] {
            let path = self.dir.join(format!("{id}.{ext}"));
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(QuarantineError::Read { path, source }),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_bytes_and_reason_and_refuses_path_ids() {
        let dir = tempfile::tempdir().unwrap();
        let q = Quarantine::new(dir.path());
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 24, 9, 0, 0).unwrap();
        let e = q.put(b"garbage", "stdin", "no header", 1, at).unwrap();
        let again = q
            .put(b"garbage", "stdin", "still no header", 1, at)
            .unwrap();
        assert_eq!(e.id, again.id);
        assert_eq!(again.attempts, 2);
        assert_eq!(q.list().unwrap().len(), 1);
        assert_eq!(q.get(&e.id).unwrap().1, b"garbage");
        assert!(matches!(
            q.get("../../etc/passwd"),
            Err(QuarantineError::NotFound(_))
        ));
        q.remove(&e.id).unwrap();
        assert!(q.list().unwrap().is_empty());
    }
}
