//! A normalised email address, the identity every authorization decision is made on.

use std::fmt;

use serde::Serialize;

/// Why a string is not an address we can act on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("`{0}` is not an email address: it needs exactly one `@` with text on both sides")]
    Malformed(String),
    #[error("`{0}` is longer than the 254 characters an email address may have")]
    TooLong(String),
    #[error("`{0}` held bytes that are not UTF-8 (shown as U+FFFD): no mail could ever reach it")]
    NotText(String),
}

/// An email address in the form we compare and store: trimmed, angle brackets removed,
/// domain lower-cased. The local part keeps its case (RFC 5321 says it may matter), but
/// comparisons with [`EmailAddress::same_mailbox`] ignore it, as every real server does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(example = "alice@client.example")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address as found in a header or typed by an operator.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let trimmed = input
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        if trimmed.len() > 254 {
            return Err(AddressError::TooLong(trimmed.chars().take(40).collect()));
        }
        // Bytes that were not UTF-8 were replaced when the header was read: the address
        // they belonged to is lost, and a notification to the replacement would fail forever.
        if trimmed.contains('\u{FFFD}') {
            return Err(AddressError::NotText(trimmed.to_string()));
        }
        let (local, domain) = trimmed
            .rsplit_once('@')
            .ok_or_else(|| AddressError::Malformed(trimmed.to_string()))?;
        let valid_part = |s: &str| {
            !s.is_empty()
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        };
        // A quoted local part ("john smith"@example.com) may hold spaces and `@`.
        let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
        let local_ok = if quoted {
            !local.chars().any(|c| c.is_control())
        } else {
            valid_part(local) && !local.contains('@')
        };
        if !local_ok || !valid_part(domain) {
            return Err(AddressError::Malformed(trimmed.to_string()));
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// The whole address as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`, lower-cased: what organisations are matched on.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }

    /// Whether two addresses reach the same mailbox (case-insensitive, as servers treat them).
    pub fn same_mailbox(&self, other: &EmailAddress) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// The lower-cased form used as a lookup key in the store.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_brackets_and_domain_case() {
        let a = EmailAddress::parse(" <Alice@Example.COM> ").unwrap();
        assert_eq!(a.as_str(), "Alice@example.com");
        assert_eq!(a.domain(), "example.com");
        assert!(a.same_mailbox(&EmailAddress::parse("alice@example.com").unwrap()));
    }

    #[test]
    fn rejects_what_cannot_be_an_address() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "a b@example.com",
            "a@b@c",
            "j\u{FFFD}r\u{FFFD}me@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            EmailAddress::parse("\"John Smith\"@Example.com")
                .unwrap()
                .as_str(),
            "\"John Smith\"@example.com"
        );
        assert!(matches!(
            EmailAddress::parse(&format!("{}@x.org", "a".repeat(300))),
            Err(AddressError::TooLong(_))
        ));
    }
}
