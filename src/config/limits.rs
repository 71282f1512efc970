//! Sending limits over sliding windows, written `MAX/WINDOW` (`10/10m`, `40/1d`): how the
//! loop governor bounds what one recipient or one ticket can receive.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The longest window a limit may span.
const MAX_WINDOW_SECS: u64 = 366 * 86_400;

/// At most `max` notifications within any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// How many notifications the window allows.
    pub max: u32,
    /// How far back they are counted: 1 second to 366 days.
    pub window: Duration,
}

impl FromStr for RateLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a limit like 10/10m (units s, m, h, d)");
        let (max, window) = s.trim().split_once('/').ok_or_else(bad)?;
        let max: u32 = max.trim().parse().map_err(|_| bad())?;
        let window = window.trim();
        let unit_at = window.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let count: u64 = window[..unit_at].parse().map_err(|_| bad())?;
        let seconds = match &window[unit_at..] {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        let window = count
            .checked_mul(seconds)
            .filter(|w| (1..=MAX_WINDOW_SECS).contains(w))
            .ok_or_else(|| format!("`{s}`: the window must be between 1s and 366d"))?;
        Ok(RateLimit {
            max,
            window: Duration::from_secs(window),
        })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.window.as_secs();
        let (n, unit) = match s {
            s if s % 86_400 == 0 => (s / 86_400, "d"),
            s if s % 3600 == 0 => (s / 3600, "h"),
            s if s % 60 == 0 => (s / 60, "m"),
            s => (s, "s"),
        };
        write!(f, "{}/{n}{unit}", self.max)
    }
}

/// The governor's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopLimits {
    /// Per recipient, over all tickets.
    pub per_recipient: Vec<RateLimit>,
    /// Per ticket, over all recipients.
    pub per_ticket: Vec<RateLimit>,
    /// How long an address that bounced one of our notifications gets nothing.
    pub undeliverable_for: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_and_print_alike() {
        let l: RateLimit = "10/10m".parse().unwrap();
        assert_eq!(l.max, 10);
        assert_eq!(l.window, Duration::from_secs(600));
        assert_eq!(l.to_string(), "10/10m");
        assert_eq!("40/1d".parse::<RateLimit>().unwrap().to_string(), "40/1d");
        for bad in [
            "10",
            "x/1m",
            "10/m",
            "10/0m",
            "10/3w",
            "",
            "1/400d",
            "1/99999999999999999d",
        ] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }
}
