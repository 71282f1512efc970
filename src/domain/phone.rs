//! A phone number that SMS can reach: E.164 (`+` then the country code and the number, at
//! most 15 digits), as SMS gateways take it. People type numbers with spaces, dots,
//! dashes and brackets; those are dropped, and a national number (no `+`) is refused
//! rather than guessed. The number is personal data: its `Debug` and [`PhoneNumber::masked`]
//! show only its first and last digits, for logs and errors.

use std::fmt;

/// Why text is not a phone number SMS can reach.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{0}` is not a phone number in international form: write + then the country code and the number, like +33612345678"
)]
pub struct PhoneError(String);

/// A phone number in E.164 form.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number as people type it: `+33 6 12 34 56 78`, `+1 (415) 555-0100`.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let refused = || PhoneError(mask(input.trim()));
        let compact: String = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '\u{a0}'))
            .collect();
        let digits = compact.strip_prefix('+').ok_or_else(refused)?;
        let valid = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !valid {
            return Err(refused());
        }
        Ok(Self(compact))
    }

    /// The whole number, for the gateway (never for a log).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but its first three and last two characters hidden:
    /// `+33•••••••78`, what logs and messages show.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// `text` with all but its first three and last two characters hidden.
fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 5 {
        return "•".repeat(chars.len());
    }
    let hidden = chars.len() - 5;
    chars[..3]
        .iter()
        .chain(std::iter::repeat_n(&'•', hidden))
        .chain(&chars[chars.len() - 2..])
        .collect()
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_people_type_them_become_e164() {
        for (typed, e164) in [
            ("+33 6 12 34 56 78", "+33612345678"),
            ("+1 (415) 555-0100", "+14155550100"),
            ("+44.20.7946.0958", "+442079460958"),
        ] {
            assert_eq!(PhoneNumber::parse(typed).unwrap().as_str(), e164);
        }
    }

    #[test]
    fn what_cannot_be_reached_is_refused_without_being_repeated_whole() {
        for bad in [
            "06 12 34 56 78",
            "+0612345678",
            "+33 6 12 ab 56 78",
            "+1234567",
            "+1234567890123456",
            "",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?} accepted");
        }
        let error = PhoneNumber::parse("0612345678").unwrap_err().to_string();
        assert!(!error.contains("0612345678"), "{error}");
    }

    #[test]
    fn logs_see_only_the_ends() {
        let n = PhoneNumber::parse("+33612345678").unwrap();
        assert_eq!(n.masked(), "+33•••••••78");
        assert_eq!(format!("{n:?}"), "PhoneNumber(+33•••••••78)");
    }
}
