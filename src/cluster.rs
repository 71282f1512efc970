//! Sharing work between instances on one database: a piece of work that only one instance
//! may do at a time (reading a mailbox) is done under a lease, renewed while the work
//! goes on and given up when it stops. An instance that dies or hangs stops renewing; after
//! the lease's time another instance takes the work over.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::ClusterSettings;
use crate::store::{Lease, LeaseClaim, Store};

/// This process, as the other instances see it.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The configured name: what logs and `ticketgate leases` show.
    name: String,
    /// `name/pid/nonce`: unique to this process, even when two share a name or a pid.
    holder: String,
    lease_for: Duration,
}

impl Instance {
    /// This process, named as configured. Every `Instance` of one process has the same
    /// holder string.
    pub fn new(settings: &ClusterSettings) -> Instance {
        static NONCE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        let holder = format!(
            "{}/{}/{:08x}",
            settings.instance,
            std::process::id(),
            NONCE.get_or_init(|| fastrand::u32(..))
        );
        Instance {
            name: settings.instance.clone(),
            holder,
            lease_for: settings.lease,
        }
    }

    /// The configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The holder string this process writes in leases.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Whether `holder` is an earlier process of this instance on this host that has
    /// died: its lease can be taken at once instead of after it expires (a daemon that
    /// crashed and was restarted by systemd goes on at once).
    pub fn is_dead_predecessor(&self, holder: &str) -> bool {
        let mut parts = holder.rsplitn(3, '/');
        let (Some(_nonce), Some(pid), Some(name)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        if name != self.name || holder == self.holder {
            return false;
        }
        let Ok(pid) = pid.parse::<u32>() else {
            return false;
        };
        // Our own pid with another nonce: that process is gone, we are its pid now.
        if pid == std::process::id() {
            return true;
        }
        let proc = std::path::Path::new("/proc");
        proc.join("self").exists() && !proc.join(pid.to_string()).exists()
    }

    /// Waits until this instance holds lease `name`, or `None` on shutdown. While another
    /// instance holds it, this one stands by and asks again every third of the lease.
    pub async fn hold(
        &self,
        store: &Store,
        name: &str,
        shutdown: &CancellationToken,
    ) -> Option<HeldLease> {
        let mut told_holder: Option<String> = None;
        let mut stale: Option<String> = None;
        loop {
            if shutdown.is_cancelled() {
                return None;
            }
            let asked_at = Instant::now();
            match store
                .acquire_lease(name, &self.holder, stale.as_deref(), self.lease_for)
                .await
            {
                Ok(LeaseClaim::Held(lease)) => {
                    tracing::info!(lease = %name, token = lease.token, "lease taken: this instance does the work");
                    return Some(HeldLease::keep(
                        store.clone(),
                        lease,
                        self.lease_for,
                        asked_at,
                        shutdown,
                    ));
                }
                Ok(LeaseClaim::Taken { holder, expires_at }) => {
                    if self.is_dead_predecessor(&holder) {
                        tracing::info!(lease = %name, %holder, "the lease's holder was this instance's earlier process, now gone: taking it over");
                        stale = Some(holder);
                        continue;
                    }
                    if told_holder.as_deref() != Some(holder.as_str()) {
                        tracing::info!(lease = %name, %holder, %expires_at, "another instance does this work: standing by to take over");
                        told_holder = Some(holder);
                    }
                }
                Err(e) => {
                    tracing::warn!(lease = %name, error = %e, "cannot ask for the lease; asking again");
                }
            }
            stale = None;
            tokio::select! {
                _ = tokio::time::sleep(renewal_interval(self.lease_for)) => {}
                _ = shutdown.cancelled() => return None,
            }
        }
    }
}

/// How often a held lease is renewed, and a taken one asked for again: a third of its
/// time, so that two renewals may fail before it runs out.
fn renewal_interval(lease_for: Duration) -> Duration {
    (lease_for / 3).max(Duration::from_millis(500))
}

/// A lease held by this process, renewed in the background until released. Work done
/// under it stops when [`HeldLease::work`] is cancelled: at shutdown, when another instance
/// took the lease over, or when it could not be renewed before it ran out.
#[derive(Debug)]
pub struct HeldLease {
    store: Store,
    lease: Lease,
    work: CancellationToken,
    keeper: tokio::task::JoinHandle<()>,
}

impl HeldLease {
    fn keep(
        store: Store,
        lease: Lease,
        lease_for: Duration,
        asked_at: Instant,
        shutdown: &CancellationToken,
    ) -> HeldLease {
        let work = shutdown.child_token();
        let keeper = tokio::spawn(keep_renewed(
            store.clone(),
            lease.clone(),
            lease_for,
            asked_at,
            work.clone(),
        ));
        HeldLease {
            store,
            lease,
            work,
            keeper,
        }
    }

    /// Cancelled when the work must stop (shutdown, or the lease lost).
    pub fn work(&self) -> &CancellationToken {
        &self.work
    }

    /// Stops renewing and gives the lease up, so another instance may take it at once.
    pub async fn release(self) {
        self.work.cancel();
        let _ = self.keeper.await;
        match self.store.release_lease(&self.lease).await {
            Ok(()) => tracing::info!(lease = %self.lease.name, "lease released"),
            Err(e) => {
                tracing::warn!(lease = %self.lease.name, error = %e, "cannot release the lease: another instance takes it when it expires")
            }
        }
    }
}

/// Renews `lease` every third of its time until `work` is cancelled; cancels `work` when
/// the lease is lost or runs out. The time is counted from when each renewal was asked,
/// on this host's monotonic clock, so a process that was frozen finds its lease run out as
/// soon as it wakes. (Work it might still start in that instant is safe: a message handled
/// twice is recognised as a duplicate when it is committed.)
async fn keep_renewed(
    store: Store,
    lease: Lease,
    lease_for: Duration,
    asked_at: Instant,
    work: CancellationToken,
) {
    let every = renewal_interval(lease_for);
    // A little under the lease's time, so that this instance stops before another may start.
    let margin = (lease_for / 10).min(Duration::from_secs(2));
    let mut valid_until = asked_at + lease_for - margin;
    let mut next = asked_at + every;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next.min(valid_until)) => {}
            _ = work.cancelled() => return,
        }
        if Instant::now() >= valid_until {
            tracing::warn!(lease = %lease.name, "the lease ran out before it could be renewed: stopping this work");
            work.cancel();
            return;
        }
        let asked = Instant::now();
        match store.renew_lease(&lease, lease_for).await {
            Ok(true) => {
                valid_until = asked + lease_for - margin;
                next = asked + every;
            }
            Ok(false) => {
                tracing::warn!(lease = %lease.name, "another instance took the lease over: stopping this work");
                work.cancel();
                return;
            }
            Err(e) => {
                tracing::warn!(lease = %lease.name, error = %e, "cannot renew the lease; trying again");
                next = Instant::now() + Duration::from_millis(500);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: &str) -> Instance {
        Instance::new(&ClusterSettings {
            instance: name.into(),
            lease: Duration::from_secs(30),
        })
    }

    #[test]
    fn only_a_gone_process_of_the_same_instance_is_a_dead_predecessor() {
        let me = instance("web-1");
        assert!(!me.is_dead_predecessor(me.holder()));
        // Our own pid under another nonce: an earlier life of this pid.
        let earlier = format!("web-1/{}/deadbeef", std::process::id());
        assert!(me.is_dead_predecessor(&earlier));
        // A live process (pid 1 always is) is not dead, nor is another instance's.
        assert!(!me.is_dead_predecessor("web-1/1/deadbeef"));
        assert!(!me.is_dead_predecessor(&format!("web-2/{}/deadbeef", u32::MAX - 1)));
        assert!(!me.is_dead_predecessor("garbage"));
        // A name with slashes still parses from the right.
        let slashed = instance("eu/web-1");
        assert!(slashed.is_dead_predecessor(&format!("eu/web-1/{}/00000000", u32::MAX - 1)));
    }
}
