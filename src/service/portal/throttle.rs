//! How often one key (a mail address, a client's network address) may do something within
//! a sliding window: asking for fresh links, or trying links that do not open. Kept in
//! memory, per instance: a restart forgets it, which only gives a stranger a few more
//! tries, never access.
//!
//! The table is bounded: past [`MAX_KEYS`] keys, those whose window has passed are
//! dropped, and if none has, a new key is refused rather than the table grown (a flood
//! from many addresses then meets refusals, not an out-of-memory).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::config::RateLimit;

/// The most keys one table holds.
const MAX_KEYS: usize = 50_000;

/// A sliding-window limit per key.
#[derive(Debug)]
pub(super) struct Throttle {
    limit: RateLimit,
    /// For each key, the times counted within its window, oldest first.
    seen: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl Throttle {
    pub(super) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one more for `key` at `now`, and whether it stays within the limit; a
    /// refused attempt is not counted.
    pub(super) fn admit(&self, key: &str, now: DateTime<Utc>) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if !seen.contains_key(key) && seen.len() >= MAX_KEYS {
            let start = self.window_start(now);
            seen.retain(|_, times| times.back().is_some_and(|t| *t > start));
            if seen.len() >= MAX_KEYS {
                return false;
            }
        }
        let times = seen.entry(key.to_string()).or_default();
        self.forget_old(times, now);
        if times.len() >= self.limit.max as usize {
            return false;
        }
        times.push_back(now);
        true
    }

    /// Whether `key` has used its limit, without counting anything.
    pub(super) fn exhausted(&self, key: &str, now: DateTime<Utc>) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get_mut(key).is_some_and(|times| {
            self.forget_old(times, now);
            times.len() >= self.limit.max as usize
        })
    }

    fn forget_old(&self, times: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>) {
        let start = self.window_start(now);
        while times.front().is_some_and(|t| *t <= start) {
            times.pop_front();
        }
    }

    fn window_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(self.limit.window).unwrap_or(chrono::Duration::days(1))
    }
}

/// The key of a client's address: IPv4 whole, IPv6 by its /64, which one machine usually
/// holds whole.
pub(super) fn client_key(client: IpAddr) -> String {
    match client {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn a_key_gets_its_limit_per_window_and_no_more() {
        let throttle = Throttle::new("2/1m".parse().unwrap());
        assert!(throttle.admit("a", at(0)));
        assert!(!throttle.exhausted("a", at(1)));
        assert!(throttle.admit("a", at(1)));
        assert!(throttle.exhausted("a", at(2)));
        assert!(!throttle.admit("a", at(2)));
        assert!(throttle.admit("b", at(2)), "another key has its own count");
        // The refusal was not counted: the first one leaves the window at 60 s, the
        // second at 61 s.
        assert!(throttle.admit("a", at(60)));
        assert!(!throttle.admit("a", at(60)));
        assert!(throttle.admit("a", at(61)));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_network() {
        let a: IpAddr = "2001:db8:1:2::10".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_eq!(client_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
        assert_eq!(client_key("192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}
