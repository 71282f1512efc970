//! The keys outside any table: where ticketgate keeps what it writes, how large a message
//! or a file may be, and which mail domains strangers share.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::error::Errors;

/// Public mail providers: a shared domain there says nothing about a shared organisation.
const DEFAULT_PUBLIC_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.fr",
    "live.com",
    "live.fr",
    "msn.com",
    "yahoo.com",
    "yahoo.fr",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "gmx.com",
    "gmx.de",
    "gmx.fr",
    "web.de",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "sfr.fr",
    "laposte.net",
    "bbox.fr",
    "proton.me",
    "protonmail.com",
    "yandex.ru",
    "mail.ru",
    "zoho.com",
    "fastmail.com",
];

/// The top-level keys as written. They sit beside the tables in the file's shape
/// ([`RawConfig`](super::raw::RawConfig)), which hands them over in this struct: serde
/// cannot flatten them into one and still refuse unknown keys.
#[derive(Debug)]
pub(super) struct RawTopLevel {
    /// Root of everything ticketgate writes: the SQLite database, files, quarantine, the
    /// default inbox Maildir.
    pub(super) data_dir: PathBuf,
    /// Files larger than this are not stored; the ticket is still created.
    pub(super) max_attachment_bytes: u64,
    /// Messages larger than this are quarantined without being parsed.
    pub(super) max_message_bytes: u64,
    /// Domains whose users are not one organisation (they may not write on each other's
    /// tickets); replaces the built-in list when set.
    pub(super) public_domains: Vec<String>,
}

impl Default for RawTopLevel {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            max_attachment_bytes: 2 * 1024 * 1024,
            max_message_bytes: 50 * 1024 * 1024,
            public_domains: DEFAULT_PUBLIC_DOMAINS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// The validated top-level keys.
#[derive(Debug)]
pub(super) struct TopLevel {
    pub(super) data_dir: PathBuf,
    /// More than 0.
    pub(super) max_attachment_bytes: u64,
    /// At least 1024: room for the headers of any real message.
    pub(super) max_message_bytes: u64,
    /// Trimmed and lower-cased, to compare with a parsed address's domain.
    pub(super) public_domains: BTreeSet<String>,
}

impl RawTopLevel {
    /// Validates the top-level keys, recording each error with its key.
    pub(super) fn validate(self, errors: &mut Errors) -> TopLevel {
        if self.max_attachment_bytes == 0 {
            errors.push("max_attachment_bytes", "must be more than 0");
        }
        if self.max_message_bytes < 1024 {
            errors.push("max_message_bytes", "must be at least 1024");
        }
        TopLevel {
            data_dir: self.data_dir,
            max_attachment_bytes: self.max_attachment_bytes,
            max_message_bytes: self.max_message_bytes,
            public_domains: self
                .public_domains
                .iter()
                .map(|d| d.trim().to_ascii_lowercase())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_too_small_are_named_and_domains_compare_in_lower_case() {
        let mut errors = Errors::default();
        let top = RawTopLevel {
            max_attachment_bytes: 0,
            max_message_bytes: 1023,
            public_domains: vec![" Example.COM ".into()],
            ..RawTopLevel::default()
        }
        .validate(&mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "max_attachment_bytes: must be more than 0",
                "max_message_bytes: must be at least 1024",
            ]
        );
        assert!(top.public_domains.contains("example.com"));
    }
}
