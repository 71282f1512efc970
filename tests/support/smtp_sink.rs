//! The SMTP server of the tests and benches: tests/support/smtp_sink.py (aiosmtpd) on a
//! free loopback port. It keeps each accepted message as a file, and logs when it accepted
//! it, so that a bench can time a notification from the mail that caused it.
//!
//! The benches include this file with `#[path]`; it needs nothing else from the tests but
//! `require.rs` beside it, which it includes itself.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

// A copy of its own rather than `crate::support::require`, which the benches that include
// this file alone do not have; every copy decides the same way.
#[allow(clippy::duplicate_mod)]
#[path = "require.rs"]
mod require;

/// The SMTP server process; killed when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// One message the server accepted, from its log.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// When the end of its DATA reached the server (wall clock), before the server said
    /// 250.
    pub at: SystemTime,
    /// The first envelope recipient.
    pub recipient: String,
    /// Its Message-ID header, as written (angle brackets included).
    pub message_id: String,
    /// Its In-Reply-To header, as written; empty when absent.
    pub in_reply_to: String,
}

/// Where the server logs its arrivals: a hidden file beside the messages, which
/// [`SmtpSink::received`] passes over.
const ARRIVALS: &str = ".arrivals.tsv";

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many ports a start tries before giving up.
const PORT_ATTEMPTS: usize = 3;

impl SmtpSink {
    /// Starts the server. Without python3 and aiosmtpd: fails in CI (see
    /// [`require::missing`]); elsewhere says so in one line and returns `None`, and the test
    /// passes by.
    pub fn start() -> Option<SmtpSink> {
        Self::start_with(&[])
    }

    /// Starts the server with extra arguments (`--tls MODE --cert F --key F`).
    pub fn start_with(extra: &[&std::ffi::OsStr]) -> Option<SmtpSink> {
        if !has_aiosmtpd() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        // A free port is picked by binding port 0 and releasing it; another process can
        // take it in between (tests run side by side), so a start that finds it taken
        // tries again with a new one, as the Dovecot helper does.
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            match spawn(&dir, port, extra) {
                Ok(child) => return Some(SmtpSink { child, port, dir }),
                Err(line) => last = line,
            }
        }
        panic!("the SMTP sink did not start in {PORT_ATTEMPTS} attempts: {last:?}");
    }

    /// Starts the server on `port`, which the caller picked with [`free_port`] and gave a
    /// client before the server was there (a server down, then back). Panics when the
    /// port was taken in between. (The benches, which include this file, do not use it.)
    #[allow(dead_code)]
    pub fn start_on(port: u16) -> Option<SmtpSink> {
        if !has_aiosmtpd() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        match spawn(&dir, port, &[]) {
            Ok(child) => Some(SmtpSink { child, port, dir }),
            Err(line) => panic!("the SMTP sink did not start on port {port}: {line:?}"),
        }
    }

    /// The messages received, as (file name, content).
    pub fn received(&self) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .map(|n| {
                let content = std::fs::read_to_string(self.dir.path().join(&n)).unwrap();
                (n, content)
            })
            .collect();
        files.sort();
        files
    }

    /// Every message accepted so far, in the order the server accepted them. Cheaper than
    /// [`SmtpSink::received`]: it reads one log, not every message.
    pub fn arrivals(&self) -> Vec<Arrival> {
        let text = std::fs::read_to_string(self.dir.path().join(ARRIVALS)).unwrap_or_default();
        // A line being written has no newline yet: only whole lines count.
        let whole = text.rfind('\n').map_or("", |end| &text[..end]);
        whole
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('\t');
                let at: f64 = fields.next()?.parse().ok()?;
                let recipient = fields.next()?.to_string();
                let message_id = fields.next()?.to_string();
                let in_reply_to = fields.next()?.to_string();
                Some(Arrival {
                    at: SystemTime::UNIX_EPOCH + Duration::from_secs_f64(at),
                    recipient,
                    message_id,
                    in_reply_to,
                })
            })
            .collect()
    }

    /// The server's process id, to read the CPU time it used (the benches do).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A loopback port nothing listens on now: bound to port 0 and released.
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether python3 with aiosmtpd is there. Without it: fails in CI (see
/// [`require::missing`]); elsewhere says so in one line, and the test passes by.
fn has_aiosmtpd() -> bool {
    let there = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !there {
        require::missing(
            "python3 with aiosmtpd (the tests' SMTP server)",
            "apt-get install python3-aiosmtpd, or pip install aiosmtpd",
        );
    }
    there
}

/// Runs the server on `port`, keeping its messages in `dir`; its first line of output
/// when it did not say it is ready (the port was taken).
fn spawn(dir: &tempfile::TempDir, port: u16, extra: &[&std::ffi::OsStr]) -> Result<Child, String> {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .args(["--port", &port.to_string(), "--dir"])
        .arg(dir.path())
        .arg("--log")
        .arg(dir.path().join(ARRIVALS))
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.starts_with("ready") {
        return Ok(child);
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(line)
}
