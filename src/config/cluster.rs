//! Several instances on one database: what this instance is called in leases and logs, and
//! how long a lease lasts without renewal (so how long a dead instance's mailboxes wait
//! before another instance reads them).

use std::time::Duration;

use serde::Deserialize;

/// The `[cluster]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawCluster {
    instance: Option<String>,
    lease_seconds: u64,
}

impl Default for RawCluster {
    fn default() -> Self {
        Self {
            instance: None,
            lease_seconds: 30,
        }
    }
}

/// How this instance shares work with the others on its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// The name other instances and the logs know this one by; the host's name unless
    /// configured. Two instances may share one (they still tell each other apart).
    pub instance: String,
    /// How long a lease (a mailbox being read) lasts without renewal. Its holder renews
    /// it every third of this; an instance that dies or hangs loses its mailboxes after
    /// at most this long.
    pub lease: Duration,
}

/// Validates `[cluster]`, pushing each error with its key.
pub(super) fn cluster(raw: RawCluster, errors: &mut Vec<String>) -> ClusterSettings {
    if !(2..=3600).contains(&raw.lease_seconds) {
        errors.push(format!(
            "cluster.lease_seconds: {} is out of range; give 2 to 3600 (30 by default)",
            raw.lease_seconds
        ));
    }
    let instance = match raw.instance.map(|i| i.trim().to_string()) {
        Some(i) if i.is_empty() || i.len() > 64 || i.chars().any(char::is_control) => {
            errors.push(format!(
                "cluster.instance: `{i}` must be 1 to 64 printable characters"
            ));
            i
        }
        Some(i) => i,
        None => host_name(),
    };
    ClusterSettings {
        instance,
        lease: Duration::from_secs(raw.lease_seconds.clamp(2, 3600)),
    }
}

/// The host's name, as the kernel knows it; `ticketgate` where it cannot be read.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "ticketgate".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(instance: Option<&str>, lease_seconds: u64) -> RawCluster {
        RawCluster {
            instance: instance.map(str::to_string),
            lease_seconds,
        }
    }

    #[test]
    fn the_instance_is_named_after_the_host_unless_configured() {
        let mut errors = Vec::new();
        let named = cluster(raw(Some(" web-2 "), 30), &mut errors);
        assert_eq!(named.instance, "web-2");
        assert_eq!(named.lease, Duration::from_secs(30));
        assert!(!cluster(raw(None, 30), &mut errors).instance.is_empty());
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn leases_too_short_or_too_long_and_blank_names_are_refused() {
        for (instance, secs) in [(None, 1), (None, 7200), (Some(""), 30)] {
            let mut errors = Vec::new();
            cluster(raw(instance, secs), &mut errors);
            assert_eq!(errors.len(), 1, "{instance:?} {secs}: {errors:?}");
        }
    }
}
