//! Mail arriving in waves while the daemon is killed with SIGKILL and started again. Each
//! kill lands once the daemon has committed a random number of mails, then at one of two
//! kinds of moment, chosen at random: a random few milliseconds later (inside a batch,
//! while it reads mail or idles), or as soon as it has committed mail it has not yet let
//! go of at the source (between a commit and its acknowledgements, whose mail must come
//! again and be found a duplicate). One kill in four is followed by another soon after the
//! start (while the daemon opens its database or logs in).

use std::time::{Duration, Instant};

use super::ledger::Ledger;
use super::mails::{Mail, Plan};
use crate::daemon::{Daemon, start, wait_for};
use crate::support::helpers::Cli;

/// Mails delivered at once.
const WAVE: usize = 100;

/// A wave is delivered when fewer than this many mails wait for the daemon.
const LEAD: usize = 60;

/// How long a whole run may take before the test fails: several times what it takes.
const DEADLINE: Duration = Duration::from_secs(90);

/// How long a kill waits for committed mail not yet let go of before it lands anyway.
const WINDOW_WAIT: Duration = Duration::from_secs(2);

/// Where mail is delivered, as an MTA or a mail server would.
pub trait Inbox {
    /// Delivers `mails`.
    async fn deliver(&mut self, mails: &[Mail]);

    /// How many mails the daemon has let go of at the source (moved to cur/, moved to the
    /// processed folder and passed by its cursor).
    async fn let_go(&mut self, ledger: &mut Ledger) -> usize;
}

/// A run's randomness: the seed, printed so that a failure can be replayed with
/// `TICKETGATE_TEST_SEED`.
pub fn seed(test: &str) -> u64 {
    let seed = match std::env::var("TICKETGATE_TEST_SEED") {
        Ok(s) => s.parse().expect("TICKETGATE_TEST_SEED is a number"),
        Err(_) => fastrand::u64(..),
    };
    eprintln!("{test}: seed {seed} (replay with TICKETGATE_TEST_SEED={seed})");
    seed
}

/// What happened during a run, for the test's own output.
#[derive(Debug, Default)]
pub struct Kills {
    /// How many mails were committed when each kill landed.
    pub at: Vec<usize>,
    /// How many kills landed between a commit and its acknowledgements.
    pub unacknowledged: usize,
}

/// Delivers `total` mails of `plan` to `inbox` in waves while the daemon runs, and kills
/// it `kills` times (started again at once each time); returns, once every mail is
/// committed and the daemon started last has said it is ready (so that a SIGTERM finds
/// its handler in place), that daemon, and where the kills landed.
pub async fn storm(
    cli: &Cli,
    inbox: &mut impl Inbox,
    plan: &mut Plan,
    ledger: &mut Ledger,
    seed: u64,
    total: usize,
    kills: usize,
) -> (Daemon, Kills) {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x6b69_6c6c);
    let mut thresholds: Vec<usize> = (0..kills).map(|_| rng.usize(1..total)).collect();
    thresholds.sort_unstable();
    let mut thresholds = thresholds.into_iter().peekable();
    let mut landed = Kills::default();
    let (mut daemon, mut log_from) = restart(cli, None);
    let started = Instant::now();
    loop {
        let committed = ledger.committed().await;
        if plan.len() < total && committed + LEAD >= plan.len() {
            let opened = ledger.opened().await;
            let n = WAVE.min(total - plan.len());
            inbox.deliver(plan.more(n, &opened)).await;
            continue;
        }
        if thresholds.next_if(|&t| committed >= t).is_some() {
            if rng.bool() {
                tokio::time::sleep(Duration::from_millis(rng.u64(..=20))).await;
            } else if unacknowledged(inbox, ledger).await {
                landed.unacknowledged += 1;
            }
            landed.at.push(ledger.committed().await);
            (daemon, log_from) = restart(cli, Some(daemon));
            if rng.u8(..4) == 0 {
                tokio::time::sleep(Duration::from_millis(rng.u64(..150))).await;
                landed.at.push(ledger.committed().await);
                (daemon, log_from) = restart(cli, Some(daemon));
            }
            continue;
        }
        if plan.len() == total && thresholds.peek().is_none() && committed >= total {
            let within = DEADLINE.saturating_sub(started.elapsed());
            wait_for("the daemon started last to be ready", within, || {
                log(cli)
                    .get(log_from..)
                    .is_some_and(|l| l.contains(" INFO ready\n"))
            });
            return (daemon, landed);
        }
        assert!(
            started.elapsed() < DEADLINE,
            "after {DEADLINE:?}: {committed} of {} mails committed, kills at {:?}\n{}",
            plan.len(),
            landed.at,
            log(cli)
        );
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}

/// Waits (at most [`WINDOW_WAIT`]) until the daemon has committed mail it has not let go
/// of yet; whether it did.
async fn unacknowledged(inbox: &mut impl Inbox, ledger: &mut Ledger) -> bool {
    let since = Instant::now();
    while since.elapsed() < WINDOW_WAIT {
        // In this order: mail committed before the look at the source and not let go of
        // by then is certainly waiting for its acknowledgement.
        let committed = ledger.committed().await;
        if inbox.let_go(ledger).await < committed {
            return true;
        }
        tokio::task::yield_now().await;
    }
    false
}

/// Kills `daemon` with SIGKILL, as the kernel's OOM killer or a power cut would end it, and
/// reaps it (a zombie would still hold its pid, which the next start checks before taking
/// over the dead process's mailbox leases); then starts a new one. Returns it with the
/// length of the log at its start: what follows is its own.
fn restart(cli: &Cli, daemon: Option<Daemon>) -> (Daemon, usize) {
    if let Some(mut daemon) = daemon {
        daemon.kill().unwrap();
        daemon.wait().unwrap();
    }
    let log_from = log(cli).len();
    (start(cli, &[]), log_from)
}

/// The daemon's log so far, for failure messages.
pub fn log(cli: &Cli) -> String {
    std::fs::read_to_string(cli.dir.path().join("daemon.log")).unwrap_or_default()
}
