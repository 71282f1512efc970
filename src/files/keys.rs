//! The keys bytes are stored under, parsed before any backend sees them: an attachment's
//! hex SHA-256, and a raw message's reference `raw/YYYY/MM/<sha256>.eml.gz`. Both come
//! back from the database, where a damaged or hand-edited row could hold anything; only
//! keys of the form ticketgate gives are used to build a path or a query, so none can
//! reach outside the storage or name another kind of file.

use sha2::{Digest as _, Sha256};

use super::FilesError;

/// Hex SHA-256 of `bytes`: an attachment's address.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An attachment's address: 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Digest(String);

impl Digest {
    /// The digest of `bytes`.
    pub(super) fn of(bytes: &[u8]) -> Self {
        Digest(sha256_hex(bytes))
    }

    /// Accepts `key` only as [`Digest::of`] writes it.
    pub(super) fn parse(key: &str) -> Result<Self, FilesError> {
        if is_hex_digest(key) {
            Ok(Digest(key.to_string()))
        } else {
            Err(FilesError::NotAKey {
                key: key.to_string(),
                expected: "an attachment's SHA-256 (64 lower-case hex digits)",
            })
        }
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a raw message is kept: `raw/YYYY/MM/<sha256>.eml.gz`, relative to the data
/// directory for the files backend, and the row's key for the database one. The month
/// groups the files of one month in a folder; the digest makes a second write of the same
/// message land on the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawRef(String);

impl RawRef {
    const PREFIX: &'static str = "raw/";
    const SUFFIX: &'static str = ".eml.gz";

    /// The reference of the message `raw` received at `at`.
    pub(super) fn of(raw: &[u8], at: chrono::DateTime<chrono::Utc>) -> Self {
        RawRef(format!(
            "{}{}/{}{}",
            Self::PREFIX,
            at.format("%Y/%m"),
            sha256_hex(raw),
            Self::SUFFIX
        ))
    }

    /// Accepts `key` only as [`RawRef::of`] writes it.
    pub(super) fn parse(key: &str) -> Result<Self, FilesError> {
        let well_formed = key
            .strip_prefix(Self::PREFIX)
            .and_then(|rest| rest.strip_suffix(Self::SUFFIX))
            .and_then(|rest| {
                let mut parts = rest.split('/');
                let (year, month, digest) = (parts.next()?, parts.next()?, parts.next()?);
                Some(
                    parts.next().is_none()
                        && year.len() == 4
                        && year.bytes().all(|b| b.is_ascii_digit())
                        && month.len() == 2
                        && month.bytes().all(|b| b.is_ascii_digit())
                        && is_hex_digest(digest),
                )
            })
            .unwrap_or(false);
        if well_formed {
            Ok(RawRef(key.to_string()))
        } else {
            Err(FilesError::NotAKey {
                key: key.to_string(),
                expected: "a raw mail reference (raw/YYYY/MM/<sha256>.eml.gz)",
            })
        }
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }

    /// The reference as articles record it.
    pub(super) fn into_string(self) -> String {
        self.0
    }
}

fn is_hex_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn keys_written_here_are_read_back() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let raw = RawRef::of(b"Subject: x\r\n\r\nbody", at);
        assert!(raw.as_str().starts_with("raw/2026/11/"), "{raw:?}");
        assert_eq!(RawRef::parse(raw.as_str()).unwrap(), raw);
        let digest = Digest::of(b"bytes");
        assert_eq!(Digest::parse(digest.as_str()).unwrap(), digest);
    }

    #[test]
    fn anything_else_is_refused() {
        let sha = sha256_hex(b"x");
        for bad in [
            String::new(),
            "../../etc/passwd".into(),
            sha.to_uppercase(),
            format!("{sha}0"),
            format!("../{}", &sha[3..]),
            format!("{}/x", &sha[..62]),
        ] {
            assert!(Digest::parse(&bad).is_err(), "{bad:?}");
        }
        for bad in [
            format!("raw/2026/11/../../{sha}.eml.gz"),
            format!("raw/2026/11/{sha}.eml"),
            format!("/raw/2026/11/{sha}.eml.gz"),
            format!("raw/2026/11/x/{sha}.eml.gz"),
            format!("raw/26/11/{sha}.eml.gz"),
            format!("raw//11/{sha}.eml.gz"),
            format!("attachments/2026/11/{sha}.eml.gz"),
            "raw/2026/11/passwd.eml.gz".into(),
        ] {
            assert!(RawRef::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
