//! A real IMAP server for the tests: private Dovecot instances on loopback, each from its own
//! configuration in its own temporary directory, so that tests can run side by side. The
//! helpers that put mail in and read it back speak IMAP, as a mail client would, rather than
//! writing files behind Dovecot's back.
//!
//! Dovecot is not a Cargo dependency: when it is not installed, [`Dovecot::start`] hands the
//! matter to [`require::missing`], which fails the test in CI and otherwise says so in one
//! line; `start` then returns `None` and the test returns early (`scripts/test.sh` installs
//! Dovecot). `TICKETGATE_TEST_DOVECOT` names the binary when it is somewhere else.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;

use config::{SystemAccounts, write_users};

// A copy of its own rather than `crate::support::require`, which the benches that include
// this file alone do not have; every copy decides the same way.
#[allow(clippy::duplicate_mod)]
#[path = "require.rs"]
mod require;

// Nested files by path, so that they are found from wherever this file is included.
#[path = "dovecot/config.rs"]
mod config;
#[path = "dovecot/mailbox.rs"]
mod mailbox;
#[cfg(test)]
#[path = "dovecot/tests.rs"]
mod tests;

const HOST: &str = "127.0.0.1";

/// How long Dovecot may take to accept connections before we give up and show its log.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How long Dovecot may take to exit after SIGTERM before it gets SIGKILL. It usually takes
/// 10 to 30 ms; but when a child has died and not been reaped yet, or was forked just after
/// the signal, the master waits for it in naps of 100 ms to 1 s, which added up to over 3 s
/// with eight instances stopping at once.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// How long the ports may stay open once the master has exited.
const PORTS_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Bound on every IMAP exchange of the helpers, so that a wedged server fails the test
/// instead of hanging it.
const IMAP_TIMEOUT: Duration = Duration::from_secs(10);

/// Fresh ports are picked by binding port 0 and releasing it; another process can take one in
/// between, so a start that finds its port taken tries again with new ones.
const PORT_ATTEMPTS: usize = 3;

/// A folder name that Dovecot 2.3 refuses to create, whatever the namespace: with the
/// namespace prefix before it (see [`Dovecot::refused_folder`]), `CREATE` is answered
/// `NO [CANNOT] Invalid mailbox name: Begins with '~'`. (Dovecot refuses a leading `~`
/// because its Maildir layout would read it as a home directory; IMAP wildcards such as `*`
/// and `%`, which some servers refuse, Dovecot 2.3 creates.)
pub const REFUSED_FOLDER_NAME: &str = "~Refused";

/// How an instance differs from Dovecot's defaults, to play the servers people run.
/// `Options::default()` is what [`Dovecot::start`] uses.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// The prefix of the personal namespace, ending with the separator. `Some("INBOX.")`
    /// keeps every folder under INBOX (`INBOX.Processed`), as Courier-IMAP and Cyrus do: a
    /// name without the prefix is then refused, `CREATE Processed` is answered `NO Client
    /// tried to access nonexistent namespace. (Mailbox name should probably be prefixed
    /// with: INBOX.)`, and `NAMESPACE` answers `(("INBOX." ".")) NIL NIL`. `None` (the
    /// default): folders beside INBOX, `NAMESPACE` answers `(("" ".")) NIL NIL`.
    pub namespace_prefix: Option<&'static str>,
    /// The hierarchy separator; `.` by default, which is also Dovecot's own default for
    /// Maildir, so the default configuration behaves as before this option existed.
    pub separator: char,
    /// Whether Dovecot creates the "Processed" folder (within the namespace:
    /// `INBOX.Processed` with the prefix above) at each login; on by default. Off, the code
    /// under test has to create it.
    pub auto_create_processed: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            namespace_prefix: None,
            separator: '.',
            auto_create_processed: true,
        }
    }
}

impl Options {
    /// Courier-IMAP's layout: every personal folder under `INBOX.`, separator `.`, and no
    /// "Processed" folder until someone creates `INBOX.Processed`.
    pub fn courier() -> Self {
        Options {
            namespace_prefix: Some("INBOX."),
            separator: '.',
            auto_create_processed: false,
        }
    }
}

/// A private Dovecot on loopback, from a config in its own temporary directory.
pub struct Dovecot {
    dir: TempDir,
    users: Vec<(String, String)>,
    accounts: SystemAccounts,
    port: u16,
    tls_port: u16,
    options: Options,
    /// The master process, run in the foreground (`-F`) as the leader of its own process
    /// group, so that one signal reaches it and all its children.
    master: Option<Child>,
    /// Incremented by each start: names that start's runtime and state directories.
    generation: u32,
}

/// Whether a start got as far as accepting IMAP connections.
enum Launch {
    Up,
    /// A port was taken between choosing it and Dovecot binding it.
    PortTaken,
}

impl Dovecot {
    /// Starts Dovecot with these (user, password) pairs: plain IMAP on a free 127.0.0.1 port and
    /// implicit TLS (imaps) on another, with a self-signed certificate made for this instance
    /// (see [`Dovecot::ca_file`]). Mail is kept in Maildirs under the temporary directory; each
    /// user has INBOX and an auto-created "Processed" folder. Authentication mechanisms are
    /// PLAIN, LOGIN and XOAUTH2, where the XOAUTH2 bearer token is the user's password.
    ///
    /// Panics with Dovecot's log when it does not accept connections within 10 s. When Dovecot
    /// (or openssl, for the certificate) is not installed, fails in CI (see
    /// [`require::missing`]); elsewhere prints one line to stderr and returns `None`, and the
    /// calling test returns early.
    pub async fn start(users: &[(&str, &str)]) -> Option<Dovecot> {
        Dovecot::start_with(users, Options::default()).await
    }

    /// As [`Dovecot::start`], with the namespace and folders that `options` describe (see
    /// [`Options::courier`]).
    pub async fn start_with(users: &[(&str, &str)], options: Options) -> Option<Dovecot> {
        if let Some(prefix) = options.namespace_prefix {
            assert!(
                prefix.ends_with(options.separator),
                "namespace prefix {prefix:?}: Dovecot wants it to end with the separator {:?}",
                options.separator
            );
        }
        let binary = match dovecot_binary() {
            Ok(binary) => binary,
            Err(looked_in) => {
                require::missing(
                    &format!("Dovecot ({looked_in})"),
                    "apt-get install dovecot-imapd, or run scripts/test.sh",
                );
                return None;
            }
        };
        for (user, password) in users {
            assert!(
                !user.is_empty() && !format!("{user}{password}").contains([':', '\n', '\r']),
                "user {user:?}: Dovecot's passwd-file cannot hold an empty name, ':' or line breaks"
            );
        }

        let dir = tempfile::tempdir().expect("a temporary directory for Dovecot");
        // The unprivileged users that Dovecot switches to must reach the password file, the
        // certificate and the mailboxes below this directory.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        if !make_certificate(dir.path()).await {
            return None;
        }
        let accounts = SystemAccounts::for_owner_of(dir.path());
        write_users(dir.path(), users, &accounts);

        let mut dovecot = Dovecot {
            dir,
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
            accounts,
            port: 0,
            tls_port: 0,
            options,
            master: None,
            generation: 0,
        };
        for _ in 0..PORT_ATTEMPTS {
            (dovecot.port, dovecot.tls_port) = (free_port(), free_port());
            if dovecot.port == dovecot.tls_port {
                continue;
            }
            if let Launch::Up = dovecot.launch(&binary).await {
                return Some(dovecot);
            }
        }
        panic!(
            "Dovecot found its ports taken {PORT_ATTEMPTS} times in a row\n{}",
            dovecot.log()
        );
    }

    /// The address of both ports: "127.0.0.1".
    pub fn host(&self) -> &str {
        HOST
    }

    /// The plain IMAP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The implicit TLS (imaps) port.
    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// The full name of the personal folder `name`: the namespace prefix, if any, then
    /// `name` ("INBOX.Processed" for "Processed" with [`Options::courier`]).
    pub fn folder(&self, name: &str) -> String {
        format!("{}{name}", self.options.namespace_prefix.unwrap_or(""))
    }

    /// A folder name this instance refuses to create: [`REFUSED_FOLDER_NAME`] in the
    /// personal namespace, so that it is refused for its name, not for its namespace.
    pub fn refused_folder(&self) -> String {
        self.folder(REFUSED_FOLDER_NAME)
    }

    /// The PEM of the server's self-signed certificate (for "localhost" and 127.0.0.1), to
    /// trust it, as the only root, in a TLS client.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Stops the server: SIGTERM to the master and all its children at once (SIGKILL if they
    /// are still there after half a second), then waits until both ports refuse connections.
    /// Connected clients get `* BYE Server shutting down.` at once. (A SIGTERM to the master
    /// alone leaves a logged-in client's imap process running for about ten seconds.) Does
    /// nothing if stopped already.
    pub async fn stop(&mut self) {
        let Some(mut master) = self.master.take() else {
            return;
        };
        signal_group(master.id(), "TERM");
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while master.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                kill_group(&mut master);
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.wait_ports_closed(master.id()).await;
    }

    /// Kills the server as a crash would: SIGKILL to the master and all its children at
    /// once, so that connected clients see their connections end with no `BYE`; then waits
    /// until both ports refuse connections. [`Dovecot::restart`] starts it again. Does
    /// nothing if stopped already.
    pub async fn kill(&mut self) {
        let Some(mut master) = self.master.take() else {
            return;
        };
        kill_group(&mut master);
        self.wait_ports_closed(master.id()).await;
    }

    /// Waits until both ports refuse connections, once the master of process group `group`
    /// has exited.
    async fn wait_ports_closed(&self, group: u32) {
        // A child forked just before the master died may still hold the listening sockets.
        let deadline = Instant::now() + PORTS_CLOSE_TIMEOUT;
        while accepts(self.port).await || accepts(self.tls_port).await {
            signal_group(group, "KILL");
            assert!(
                Instant::now() < deadline,
                "Dovecot's ports were still open {PORTS_CLOSE_TIMEOUT:?} after its master exited\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Starts it again, stopping it first if needed, on the same ports with the same mail and
    /// users; runtime and state directories are fresh, so nothing left by the last run (such as
    /// master.pid) stands in the way.
    pub async fn restart(&mut self) {
        self.stop().await;
        let binary = dovecot_binary().expect("Dovecot was installed when this instance started");
        if let Launch::PortTaken = self.launch(&binary).await {
            panic!(
                "ports {} and {} were taken while Dovecot was stopped\n{}",
                self.port,
                self.tls_port,
                self.log()
            );
        }
    }

    /// Writes this run's configuration and starts the master, then waits until both ports
    /// accept connections and the plain one greets.
    async fn launch(&mut self, binary: &Path) -> Launch {
        self.generation += 1;
        let config = self.write_config();
        let log_start = std::fs::metadata(self.log_path()).map_or(0, |m| m.len());
        let stderr_path = self
            .dir
            .path()
            .join(format!("stderr-{}.log", self.generation));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut master = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = master.try_wait().unwrap() {
                let log = std::fs::read(self.log_path()).unwrap_or_default();
                let output = format!(
                    "{}{}",
                    String::from_utf8_lossy(&log[(log_start as usize).min(log.len())..]),
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
                if output.contains("Address already in use") {
                    return Launch::PortTaken;
                }
                panic!("Dovecot exited at start ({status})\n{output}");
            }
            if greets(self.port).await && accepts(self.tls_port).await {
                self.master = Some(master);
                return Launch::Up;
            }
            if Instant::now() > deadline {
                kill_group(&mut master);
                panic!(
                    "Dovecot did not accept connections within {START_TIMEOUT:?}\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Dovecot's log as written so far (logins and logouts are logged at info level).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("dovecot.log")
    }

    /// Dovecot's log and the master's stderr, for panic messages.
    fn log(&self) -> String {
        let mut text = format!("--- {} ---\n", self.log_path().display());
        text += &std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let stderr = self
            .dir
            .path()
            .join(format!("stderr-{}.log", self.generation));
        if let Ok(s) = std::fs::read_to_string(&stderr)
            && !s.is_empty()
        {
            text += &format!("--- {} ---\n{s}", stderr.display());
        }
        text
    }
}

impl Drop for Dovecot {
    /// Never leaves Dovecot running: as [`Dovecot::stop`], without waiting for the ports.
    /// Blocking, as drops are.
    fn drop(&mut self) {
        let Some(mut master) = self.master.take() else {
            return;
        };
        signal_group(master.id(), "TERM");
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while let Ok(None) = master.try_wait() {
            if Instant::now() > deadline {
                kill_group(&mut master);
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// The variable that names the Dovecot binary, for an installation outside PATH and sbin.
const BINARY_ENV: &str = "TICKETGATE_TEST_DOVECOT";

/// The Dovecot binary: the one [`BINARY_ENV`] names, else the first on PATH or in /usr/sbin
/// (not on a normal user's PATH on Debian). When there is none, where it was looked for.
fn dovecot_binary() -> Result<PathBuf, String> {
    if let Some(named) = std::env::var_os(BINARY_ENV).filter(|v| !v.is_empty()) {
        let named = PathBuf::from(named);
        return match named.is_file() {
            true => Ok(named),
            false => Err(format!("{BINARY_ENV}={}", named.display())),
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("dovecot"))
        .find(|p| p.is_file())
        .ok_or_else(|| "not on PATH, in /usr/sbin or /usr/local/sbin".to_string())
}

/// A self-signed certificate that rustls accepts for "localhost" and 127.0.0.1: a leaf
/// (CA:FALSE) with subjectAltName, as rustls refuses CA certificates as end entities and
/// ignores the common name. An EC key, because it takes milliseconds where RSA takes up to a
/// second. When openssl is not installed: false, after [`require::missing`] (which fails the
/// test in CI).
pub async fn make_certificate(dir: &Path) -> bool {
    let output = tokio::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec"])
        .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .await;
    match output {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            require::missing(
                "openssl (for the test servers' TLS certificates)",
                "apt-get install openssl",
            );
            false
        }
        Err(e) => panic!("openssl: {e}"),
        Ok(o) => {
            assert!(
                o.status.success(),
                "openssl req: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            true
        }
    }
}

/// A port that was free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind((HOST, 0))
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// Sends a signal to a process group (the master's pid is its group's id) with the shell's
/// `kill`, as Rust's standard library only sends SIGKILL, to one process. (dash's `kill`
/// takes no `--`.)
fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{signal} -{pgid} 2>/dev/null"))
        .status();
}

/// Kills the master and all its children at once, and reaps the master.
fn kill_group(master: &mut Child) {
    signal_group(master.id(), "KILL");
    let _ = master.kill();
    let _ = master.wait();
}

/// Whether something accepts TCP connections on this loopback port.
async fn accepts(port: u16) -> bool {
    TcpStream::connect((HOST, port)).await.is_ok()
}

/// Whether an IMAP server on this loopback port sends its `* OK` greeting.
async fn greets(port: u16) -> bool {
    let Ok(stream) = TcpStream::connect((HOST, port)).await else {
        return false;
    };
    let mut line = String::new();
    let mut reader = BufReader::new(stream);
    let read = reader.read_line(&mut line);
    matches!(
        tokio::time::timeout(Duration::from_secs(1), read).await,
        Ok(Ok(_))
    ) && line.starts_with("* OK")
}
