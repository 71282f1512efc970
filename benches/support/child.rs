//! Running the `ticketgate` binary as its users do, and reading what it cost: the child
//! starts in a directory of the bench's (so `data_dir = "data"` lands there) with every
//! `TICKETGATE_*` variable removed, so that it runs on the embedded defaults whatever the
//! shell that started the bench had set, and it is reaped with `wait4` for its rusage.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// What one run of the binary cost, and how it ended.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// From spawning to reaping.
    pub wall_secs: f64,
    /// User + system CPU of the child.
    pub cpu_secs: f64,
    /// The child's peak resident set (`ru_maxrss`), in KiB.
    pub max_rss_kib: i64,
    /// Its exit status, `None` when a signal ended it.
    pub exit: Option<i32>,
}

/// `binary ARGS…` to run in `dir`, standard input closed, no `TICKETGATE_*` variable
/// inherited; `env` adds the ones a run needs (a PostgreSQL URL).
pub fn command(binary: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary);
    command.args(args).current_dir(dir).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TICKETGATE_") {
            command.env_remove(key);
        }
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Lowers this process's recorded peak (VmHWM) to what it holds now. A child started with
/// `vfork` (as `Command` does where it can) shares this process's memory until it execs,
/// and the kernel carries that peak into the child's `ru_maxrss`: without the reset, a
/// bench that once held a few hundred MB would report that much for every child.
pub fn reset_peak() {
    // Best effort: /proc/self/clear_refs accepts "5" since Linux 4.0.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Starts `ticketgate run` in `dir` with `env`, its log (standard error) in `log`: the
/// daemon, and when it was spawned. The peak is reset first, as for [`run`].
pub fn spawn_daemon(
    binary: &Path,
    dir: &Path,
    env: &[(&str, &str)],
    log: &Path,
) -> (Child, Instant) {
    let mut command = command(binary, dir, &["run"], env);
    command
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("cannot create the log"));
    reset_peak();
    let started = Instant::now();
    (command.spawn().expect("cannot start the daemon"), started)
}

/// The settings of a daemon serving a seeded history (the scale seed's), beyond the
/// embedded defaults: a port of its own, and no periodic job that would find work in a
/// history that ended before today. Left on, the start's auto-close closed the seed's
/// 5,290 pending solutions of 100,000 tickets and sent their notifications through the
/// portal bench's runs (22 s of closing, then the outbox) once the seed was a week old.
pub fn quiet_daemon() -> Vec<(&'static str, &'static str)> {
    vec![
        ("TICKETGATE_HTTP__LISTEN", "127.0.0.1:0"),
        ("TICKETGATE_TICKETS__AUTO_CLOSE_DAYS", "3650"),
        ("TICKETGATE_JOBS__RESOLUTION_REMINDER_DAYS", "0"),
        ("TICKETGATE_JOBS__WAITING_REMINDER_DAYS", "0"),
        ("TICKETGATE_JOBS__PURGE_RAW_MAIL_DAYS", "0"),
        ("TICKETGATE_JOBS__PURGE_QUARANTINE_DAYS", "0"),
    ]
}

/// This process's resident set now, in KiB: what a child's `ru_maxrss` cannot go below.
pub fn own_rss_kib() -> i64 {
    proc_status_kib(std::process::id(), "VmRSS").unwrap_or(0)
}

/// A `kB` line of `/proc/PID/status` (`VmRSS`, `VmHWM`), in KiB.
pub fn proc_status_kib(pid: u32, key: &str) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// User + system CPU seconds of a process (all its threads) from /proc/PID/stat.
pub fn process_cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in brackets, may hold spaces: count fields after its end.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((utime + stime) / ticks)
}

/// Runs `command` to its end, its standard output going to the file `stdout` (a pipe
/// could fill up and stall it: `wait4` reads nothing) and its standard error to `stderr`.
pub fn run(mut command: Command, stdout: &Path, stderr: &Path) -> Cost {
    command
        .stdout(std::fs::File::create(stdout).expect("cannot create the output file"))
        .stderr(std::fs::File::create(stderr).expect("cannot create the log file"));
    reset_peak();
    let started = Instant::now();
    let child = command.spawn().expect("cannot start ticketgate");
    reap(child, started)
}

/// Stops the daemon `child` (started at `started`, logging to `log`) with SIGTERM, as
/// systemd does, and reaps it; it must exit cleanly.
pub fn stop_daemon(child: Child, started: Instant, log: &Path) {
    // SAFETY: kill sends a signal to our own child, which has not been reaped yet.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let cost = reap(child, started);
    assert_eq!(
        cost.exit,
        Some(0),
        "the daemon failed; see {}",
        log.display()
    );
}

/// Waits for `child`, started at `started`, and reads its rusage.
pub fn reap(child: Child, started: Instant) -> Cost {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; the child is ours and not yet reaped
    // (std's Child is never waited on, and dropping it does not reap).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_secs = started.elapsed().as_secs_f64();
    assert_eq!(
        reaped,
        pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    drop(child);
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Cost {
        wall_secs,
        cpu_secs: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
        exit: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
    }
}

/// The `ticketgate` binary to measure: `BENCH_BIN`, else the release build cargo made for
/// this bench.
pub fn binary() -> PathBuf {
    std::env::var_os("BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ticketgate")))
}

/// A numeric `BENCH_*` knob, or its default.
pub fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// The median of `values` (sorted in place), with the smallest and largest.
pub fn spread(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, values[0], values[n - 1])
}
