//! `ticketgate run` as the benches drive it: started in a directory of its own with a
//! configuration file and no `TICKETGATE_*` variable, its log followed line by line as it
//! grows, its CPU read from /proc while it runs, stopped with SIGTERM and reaped with wait4.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::support::child::process_cpu_secs;

/// The mailbox every bench reads: a user of the private Dovecot.
pub const USER: &str = "support";
/// Its password.
pub const PASSWORD: &str = "bench-pass";

/// The `[[mailbox]]` section for the private Dovecot on `port` (plain IMAP on loopback,
/// every other key at its default: `INBOX`, `processed = "move:Processed"`, batches of 50).
pub fn mailbox_section(port: u16) -> String {
    format!(
        "[[mailbox]]\nname = \"support\"\naddress = \"support@localhost\"\nhost = \"127.0.0.1\"\n\
         port = {port}\ntls = \"none\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n"
    )
}

/// The `[smtp]` section for the SMTP sink on `port`.
pub fn smtp_section(port: u16) -> String {
    format!("[smtp]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n")
}

/// Writes `dir/config/ticketgate.toml`, which `ticketgate` reads when started in `dir`.
pub fn write_config(dir: &Path, config: &str) {
    std::fs::create_dir_all(dir.join("config")).expect("cannot create the config directory");
    std::fs::write(dir.join("config/ticketgate.toml"), config).expect("cannot write the config");
}

/// A `ticketgate` command to run in `dir`, with no `TICKETGATE_*` variable, so that only
/// `dir/config/ticketgate.toml` and the embedded defaults apply.
pub fn command(binary: &Path, dir: &Path) -> Command {
    let mut command = Command::new(binary);
    command.current_dir(dir).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TICKETGATE_") {
            command.env_remove(key);
        }
    }
    command
}

/// A running `ticketgate run`; killed if dropped before [`Daemon::stop`].
pub struct Daemon {
    child: Option<Child>,
    /// When it was spawned, on the wall clock (the clock of its log and of the SMTP sink).
    pub started: SystemTime,
    log_path: PathBuf,
    log: LogFollower,
}

/// What a stopped daemon cost in all, from wait4.
pub struct Stopped {
    /// User + system CPU seconds, shutdown included.
    pub cpu_secs: f64,
    pub max_rss_kib: i64,
}

impl Daemon {
    /// Starts `ticketgate run` in `dir`, its log (standard error) going to `dir/daemon.log`.
    pub fn start(binary: &Path, dir: &Path) -> Daemon {
        let log_path = dir.join("daemon.log");
        let log = std::fs::File::create(&log_path).expect("cannot create the daemon's log");
        let mut command = command(binary, dir);
        command.arg("run").stdout(Stdio::null()).stderr(log);
        // A bench stopped by a signal does not drop its Daemon: the daemon then dies too.
        // SAFETY: prctl is async-signal-safe and touches only the child being started.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let started = SystemTime::now();
        let child = command.spawn().expect("cannot start ticketgate run");
        Daemon {
            child: Some(child),
            started,
            log: LogFollower::new(&log_path),
            log_path,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("a running daemon").id()
    }

    /// User + system CPU seconds used so far, from /proc/PID/stat (every thread).
    pub fn cpu_secs(&self) -> f64 {
        process_cpu_secs(self.pid()).expect("the daemon's /proc/PID/stat")
    }

    /// Log lines written since the last call (complete lines only).
    pub fn new_log_lines(&mut self) -> Vec<String> {
        self.log.new_lines()
    }

    /// Panics with the end of its log if the daemon has exited.
    pub fn assert_running(&mut self) {
        let child = self.child.as_mut().expect("a running daemon");
        if let Some(status) = child.try_wait().expect("cannot check the daemon") {
            panic!(
                "ticketgate run exited ({status}); its log:\n{}",
                tail(&self.log_path)
            );
        }
    }

    /// Waits, following the log, until `done` returns true for the lines read so far
    /// (called after each read, with every new line), or panics after `timeout`.
    pub fn follow_until(
        &mut self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&[String]) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            let lines = self.new_log_lines();
            if done(&lines) {
                return;
            }
            self.assert_running();
            assert!(
                Instant::now() < deadline,
                "{what}: not within {timeout:?}; the daemon's log ends with:\n{}",
                tail(&self.log_path)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then waits for it to exit (SIGKILL after 10 s) and reaps it with wait4.
    pub fn stop(mut self) -> Stopped {
        let child = self.child.take().expect("a running daemon");
        let pid = child.id() as libc::pid_t;
        // SAFETY: a plain signal to our own child, which is not reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut status = 0;
        // SAFETY: rusage is plain data that wait4 fills; std's Child is never waited on.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
            if reaped == pid {
                break;
            }
            assert_eq!(reaped, 0, "wait4: {}", std::io::Error::last_os_error());
            if Instant::now() > deadline {
                eprintln!("ticketgate run did not stop within 10 s of SIGTERM: killed");
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(child);
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Stopped {
            cpu_secs: seconds(usage.ru_utime) + seconds(usage.ru_stime),
            max_rss_kib: usage.ru_maxrss,
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The time at the start of a log line (tracing's RFC 3339 timestamp).
pub fn line_time(line: &str) -> Option<SystemTime> {
    let stamp = line.split_whitespace().next()?;
    let at = chrono::DateTime::parse_from_rfc3339(stamp).ok()?;
    Some(SystemTime::from(at.with_timezone(&chrono::Utc)))
}

/// The value of `key=` in a log line (up to the next space or the end).
pub fn line_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("{key}="))? + key.len() + 1;
    let rest = &line[start..];
    Some(rest.split([' ', ':', '}']).next().unwrap_or(rest))
}

/// Reads a growing file line by line.
struct LogFollower {
    file: std::fs::File,
    partial: Vec<u8>,
}

impl LogFollower {
    fn new(path: &Path) -> Self {
        LogFollower {
            file: std::fs::File::open(path).expect("cannot open the daemon's log"),
            partial: Vec::new(),
        }
    }

    fn new_lines(&mut self) -> Vec<String> {
        let mut bytes = std::mem::take(&mut self.partial);
        self.file
            .read_to_end(&mut bytes)
            .expect("cannot read the daemon's log");
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        self.partial = bytes.split_off(whole);
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// The last 40 lines of a file, for panic messages.
fn tail(path: &Path) -> String {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return format!("({}: {e})", path.display()),
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
