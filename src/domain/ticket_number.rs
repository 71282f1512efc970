//! Ticket numbers (`2611N00001`) and the subject tag that carries them (`[#2611N00001]`).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};

/// Why a string is not a ticket number.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{0}` is not a ticket number: expected YYMM, `N`, then at least 5 digits, like 2611N00001"
)]
pub struct TicketNumberError(String);

/// A ticket number: year and month of opening (`YYMM`), the letter `N`, and a counter that
/// restarts each month, padded to five digits (it grows past 99999 rather than wrapping).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(example = "2612N00001")]
pub struct TicketNumber(#[serde(deserialize_with = "deserialize_number")] String);

/// Reads a stored number back through the same validation as any other input.
fn deserialize_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<TicketNumber>()
        .map(|n| n.0)
        .map_err(serde::de::Error::custom)
}

impl TicketNumber {
    /// Builds the number of the `counter`-th ticket of the month of `opened`.
    pub fn new(opened: DateTime<Utc>, counter: u64) -> Self {
        Self(format!("{}N{counter:05}", Self::period(opened)))
    }

    /// The `YYMM` period a ticket opened at `at` is counted in.
    pub fn period(at: DateTime<Utc>) -> String {
        format!("{:02}{:02}", at.year() % 100, at.month())
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn is_valid(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() >= 10
            && b[..4].iter().all(u8::is_ascii_digit)
            && (b[4] == b'N' || b[4] == b'n')
            && b[5..].iter().all(u8::is_ascii_digit)
            && matches!(
                &s[2..4],
                "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
            )
    }
}

impl FromStr for TicketNumber {
    type Err = TicketNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if Self::is_valid(s) {
            Ok(Self(s.to_ascii_uppercase()))
        } else {
            Err(TicketNumberError(s.to_string()))
        }
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// Why a configured tag template cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "the ticket tag `{0}` must contain `{{number}}` exactly once, with some text around it, like `[#{{number}}]`"
)]
pub struct SubjectTagError(String);

/// The configured marker that carries a ticket number in a subject, such as `[#{number}]`.
/// Mail clients keep the subject when replying, so the tag is the strongest threading signal.
#[derive(Debug, Clone)]
pub struct SubjectTag {
    prefix: String,
    suffix: String,
    finder: Regex,
}

impl SubjectTag {
    /// Parses a template with one `{number}` placeholder.
    pub fn new(template: &str) -> Result<Self, SubjectTagError> {
        let err = || SubjectTagError(template.to_string());
        let (prefix, suffix) = template.split_once("{number}").ok_or_else(err)?;
        if suffix.contains("{number}") || (prefix.trim().is_empty() && suffix.trim().is_empty()) {
            return Err(err());
        }
        let pattern = format!(
            r"(?i){}\s*(\d{{4}}N\d{{5,}})\s*{}",
            regex::escape(prefix.trim_end()),
            regex::escape(suffix.trim_start())
        );
        let finder = Regex::new(&pattern).map_err(|_| err())?;
        Ok(Self {
            prefix: prefix.to_string(),
            suffix: suffix.to_string(),
            finder,
        })
    }

    /// The tag for a number, as it goes into notification subjects.
    pub fn render(&self, number: &TicketNumber) -> String {
        format!("{}{}{}", self.prefix, number, self.suffix)
    }

    /// The first valid ticket number tagged in `subject`, if any.
    pub fn find(&self, subject: &str) -> Option<TicketNumber> {
        self.finder
            .captures_iter(subject)
            .find_map(|c| c.get(1).and_then(|m| m.as_str().parse().ok()))
    }

    /// The subject with every tag removed, for titles and comparisons.
    pub fn strip(&self, subject: &str) -> String {
        let stripped = self.finder.replace_all(subject, "");
        stripped.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn numbers_follow_the_seed_format() {
        let at = Utc.with_ymd_and_hms(2021, 3, 24, 19, 42, 0).unwrap();
        assert_eq!(TicketNumber::new(at, 9201).as_str(), "2103N09201");
        assert_eq!(TicketNumber::new(at, 123456).as_str(), "2103N123456");
        assert_eq!(
            "2103n09201".parse::<TicketNumber>().unwrap().as_str(),
            "2103N09201"
        );
        for bad in ["2113N00001", "2103X00001", "2103N0001", "abcdN00001"] {
            assert!(bad.parse::<TicketNumber>().is_err(), "{bad}");
        }
    }

    #[test]
    fn default_tag_round_trips_and_strips() {
        let tag = SubjectTag::new("[#{number}]").unwrap();
        let n: TicketNumber = "2611N00042".parse().unwrap();
        let subject = format!("RE: AW: {} Printer on fire", tag.render(&n));
        assert_eq!(tag.find(&subject), Some(n.clone()));
        assert_eq!(tag.strip(&subject), "RE: AW: Printer on fire");
        assert_eq!(tag.find("Re: [# 2611n00042 ] hello"), Some(n));
        assert_eq!(tag.find("Order 2611N00042 shipped"), None);
    }

    #[test]
    fn custom_tags_work_and_bad_ones_are_refused() {
        let tag = SubjectTag::new("[Ticket#{number}]").unwrap();
        assert_eq!(
            tag.find("Re: [ticket#2611N00007] x").unwrap().as_str(),
            "2611N00007"
        );
        assert!(SubjectTag::new("#").is_err());
        assert!(SubjectTag::new("{number}").is_err());
        assert!(SubjectTag::new("{number}{number}").is_err());
    }
}
