//! Several instances on one database: what this instance is called in leases and logs, and
//! how long a lease lasts without renewal (so how long a dead instance's mailboxes wait
//! before another instance reads them).

use std::time::Duration;

use serde::Deserialize;

use super::error::Errors;

/// The `[cluster]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawCluster {
    /// The name this instance goes by in leases, job runs and logs.
    instance: Option<String>,
    /// How long a lease lasts without renewal, 2 to 3600 seconds.
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

impl RawCluster {
    /// Validates `[cluster]`, recording each error with its key.
    pub(super) fn validate(self, errors: &mut Errors) -> ClusterSettings {
        if !(2..=3600).contains(&self.lease_seconds) {
            errors.push(
                "cluster.lease_seconds",
                format_args!(
                    "{} is out of range; give 2 to 3600 (30 by default)",
                    self.lease_seconds
                ),
            );
        }
        let instance = match self.instance.map(|i| i.trim().to_string()) {
            Some(i) if i.is_empty() || i.len() > 64 || i.chars().any(char::is_control) => {
                errors.push(
                    "cluster.instance",
                    format_args!("`{i}` must be 1 to 64 printable characters"),
                );
                i
            }
            Some(i) => i,
            None => host_name(),
        };
        ClusterSettings {
            instance,
            lease: Duration::from_secs(self.lease_seconds.clamp(2, 3600)),
        }
    }
}

/// The host's name, as the kernel knows it (uname, which a hardened unit's ProcSubset=pid
/// does not hide as it hides /proc/sys); `ticketgate` where it cannot be read.
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is writable for its whole length; gethostname NUL-terminates
    // within it, or truncates, and the name is read up to the first NUL or the end.
    let read = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let kernel = read.then(|| {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    });
    kernel
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
        let mut errors = Errors::default();
        let named = raw(Some(" web-2 "), 30).validate(&mut errors);
        assert_eq!(named.instance, "web-2");
        assert_eq!(named.lease, Duration::from_secs(30));
        assert!(!raw(None, 30).validate(&mut errors).instance.is_empty());
        assert_eq!(errors.count(), 0, "{errors:?}");
    }

    #[test]
    fn leases_too_short_or_too_long_and_blank_names_are_refused() {
        for (instance, secs, key) in [
            (None, 1, "cluster.lease_seconds: 1 is out of range"),
            (None, 7200, "cluster.lease_seconds: 7200 is out of range"),
            (Some(""), 30, "cluster.instance: `` must be"),
        ] {
            let mut errors = Errors::default();
            raw(instance, secs).validate(&mut errors);
            let errors = errors.into_messages();
            assert_eq!(errors.len(), 1, "{instance:?} {secs}: {errors:?}");
            assert!(errors[0].starts_with(key), "{errors:?}");
        }
    }
}
