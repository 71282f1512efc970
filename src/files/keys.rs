//! The keys bytes are stored under, parsed before any backend sees them: an attachment's
//! hex SHA-256, and a raw message's reference (`raw/YYYY/MM/<sha256>.eml.gz`, or
//! `raw/YYYY/MM/<id>.pack.zst#N` for a mail of a batch's pack). Both come
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

/// How a pack file's name ends (see [`super::pack`]).
pub(super) const PACK_SUFFIX: &str = ".pack.zst";

/// Where a raw message is kept, relative to the data directory for the files backend, and
/// the row's key for the database one:
///
/// - `raw/YYYY/MM/<sha256>.eml.gz`, a file of its own: the digest makes a second write of
///   the same message land on the first;
/// - `raw/YYYY/MM/<id>.pack.zst#N`, the N-th mail of a batch's pack (the files backend only).
///
/// The month groups the files of one month in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawRef(String);

/// Where the bytes of a [`RawRef`] are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RawPlace<'r> {
    /// A file of its own, at this path under the data directory.
    File(&'r str),
    /// The `index`-th member of the pack file at `pack` under the data directory.
    Member { pack: &'r str, index: usize },
}

impl RawRef {
    const PREFIX: &'static str = "raw/";
    const SUFFIX: &'static str = ".eml.gz";
    /// Between a pack's name and a member's index.
    const MEMBER: char = '#';

    /// The reference of the `index`-th member of the pack `pack` (`raw/YYYY/MM/<id>.pack.zst`).
    pub(super) fn member(pack: &str, index: usize) -> Self {
        RawRef(format!("{pack}{}{index}", Self::MEMBER))
    }

    /// Where its bytes are.
    pub(super) fn place(&self) -> RawPlace<'_> {
        match self.0.split_once(Self::MEMBER) {
            Some((pack, index)) => RawPlace::Member {
                pack,
                index: index
                    .parse()
                    .expect("checked by RawRef::parse or made by member"),
            },
            None => RawPlace::File(&self.0),
        }
    }

    /// For a pack's member, the range of references that holds every member of the same
    /// pack, `[from, to)` in byte order: the pack file may go only once no article names
    /// one of them.
    pub(super) fn pack_range(&self) -> Option<(String, String)> {
        match self.place() {
            RawPlace::Member { pack, .. } => Some((
                format!("{pack}{}", Self::MEMBER),
                // The character after '#'.
                format!("{pack}$"),
            )),
            RawPlace::File(_) => None,
        }
    }

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

    /// Accepts `key` only as [`RawRef::of`] or [`RawRef::member`] writes it.
    pub(super) fn parse(key: &str) -> Result<Self, FilesError> {
        let well_formed = key
            .strip_prefix(Self::PREFIX)
            .and_then(|rest| {
                let mut parts = rest.split('/');
                let (year, month, name) = (parts.next()?, parts.next()?, parts.next()?);
                Some(
                    parts.next().is_none()
                        && year.len() == 4
                        && year.bytes().all(|b| b.is_ascii_digit())
                        && month.len() == 2
                        && month.bytes().all(|b| b.is_ascii_digit())
                        && (name.strip_suffix(Self::SUFFIX).is_some_and(is_hex_digest)
                            || is_member_name(name)),
                )
            })
            .unwrap_or(false);
        if well_formed {
            Ok(RawRef(key.to_string()))
        } else {
            Err(FilesError::NotAKey {
                key: key.to_string(),
                expected: "a raw mail reference (raw/YYYY/MM/<sha256>.eml.gz or raw/YYYY/MM/<id>.pack.zst#N)",
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

/// `<id>.pack.zst#N`: 32 lower-case hex digits, then an index of at most five digits.
fn is_member_name(name: &str) -> bool {
    let Some((pack, index)) = name.split_once(RawRef::MEMBER) else {
        return false;
    };
    pack.strip_suffix(PACK_SUFFIX).is_some_and(|id| {
        id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }) && (1..=5).contains(&index.len())
        && index.bytes().all(|b| b.is_ascii_digit())
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
        let pack = super::super::pack::Pack::new(at);
        let member = RawRef::member(&pack.name, 12);
        assert_eq!(RawRef::parse(member.as_str()).unwrap(), member);
        assert_eq!(
            member.place(),
            RawPlace::Member {
                pack: &pack.name,
                index: 12
            }
        );
        let (from, to) = member.pack_range().unwrap();
        assert!(from.as_str() < member.as_str() && member.as_str() < to.as_str());
        assert!(RawRef::member(&pack.name, 99_999).as_str() < to.as_str());
        assert_eq!(raw.place(), RawPlace::File(raw.as_str()));
        assert_eq!(raw.pack_range(), None);
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
            "raw/2026/11/0123456789abcdef0123456789abcdef.pack.zst".into(),
            "raw/2026/11/0123456789abcdef0123456789abcdef.pack.zst#".into(),
            "raw/2026/11/0123456789abcdef0123456789abcdef.pack.zst#123456".into(),
            "raw/2026/11/0123456789abcdef0123456789abcdef.pack.zst#-1".into(),
            "raw/2026/11/0123456789abcdef0123456789abcdef.pack.zst#1/x".into(),
            "raw/2026/11/../0123456789abcdef0123456789abcdef.pack.zst#1".into(),
            "raw/2026/11/0123456789ABCDEF0123456789abcdef.pack.zst#1".into(),
            format!("raw/2026/11/{sha}.eml.gz#1"),
        ] {
            assert!(RawRef::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
