//! A real IMAP server for the tests: private Dovecot instances on loopback, each from its own
//! configuration in its own temporary directory, so that tests can run side by side. The
//! helpers that put mail in and read it back speak IMAP, as a mail client would, rather than
//! writing files behind Dovecot's back.
//!
//! Dovecot is not a Cargo dependency: when it is not installed, [`Dovecot::start`] hands the
//! matter to [`require::missing`], which fails the test in CI and otherwise says so in one
//! line; `start` then returns `None` and the test returns early (`scripts/test.sh` installs
//! Dovecot). `TICKETGATE_TEST_DOVECOT` names the binary when it is somewhere else.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_imap::types::Fetch;
use async_imap::{Authenticator, Client, Session};
use futures::TryStreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

// A copy of its own rather than `crate::support::require`, which the benches that include
// this file alone do not have; every copy decides the same way.
#[allow(clippy::duplicate_mod)]
#[path = "require.rs"]
mod require;

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

/// A private Dovecot on loopback, from a config in its own temporary directory.
pub struct Dovecot {
    dir: TempDir,
    users: Vec<(String, String)>,
    accounts: SystemAccounts,
    port: u16,
    tls_port: u16,
    /// The master process, run in the foreground (`-F`) as the leader of its own process
    /// group, so that one signal reaches it and all its children.
    master: Option<Child>,
    /// Incremented by each start: names that start's runtime and state directories.
    generation: u32,
}

/// Who Dovecot's processes run as: Dovecot refuses to run logins or mail access as root, so
/// when the tests run as root these are unprivileged system users; otherwise, every process
/// already runs as the current user and can only be that user.
struct SystemAccounts {
    /// Owner of the mailboxes (userdb uid and gid).
    mail_uid: u32,
    mail_gid: u32,
    /// `default_login_user`: runs imap-login.
    login_user: String,
    /// `default_internal_user`: runs auth, anvil and the other internal services.
    internal_user: String,
    /// `default_internal_group`: group of the internal services' sockets.
    internal_group: String,
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
        // A child forked just before the master died may still hold the listening sockets.
        let group = master.id();
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

    /// APPENDs a message to `folder` of `user` over IMAP. The folder must exist: INBOX,
    /// Processed, or one the code under test created.
    pub async fn append(&self, user: &str, folder: &str, message: &[u8]) {
        let mut session = self.session(user).await;
        imap(
            format!("APPEND to {folder} of {user}"),
            session.append(folder, None, None, message),
        )
        .await;
        logout(session).await;
    }

    /// APPENDs `messages` in order over one session, `pause` apart: mail arriving while
    /// something else happens.
    pub async fn append_all(
        &self,
        user: &str,
        folder: &str,
        messages: &[Vec<u8>],
        pause: Duration,
    ) {
        let mut session = self.session(user).await;
        for message in messages {
            imap(
                format!("APPEND to {folder} of {user}"),
                session.append(folder, None, None, message),
            )
            .await;
            tokio::time::sleep(pause).await;
        }
        logout(session).await;
    }

    /// Deletes `folder` of `user` if it exists and creates it again: a new folder with a new
    /// UIDVALIDITY, as after a restore or a server migration.
    pub async fn recreate_folder(&self, user: &str, folder: &str) {
        let mut session = self.session(user).await;
        let _ = session.delete(folder).await;
        imap(format!("CREATE {folder} of {user}"), session.create(folder)).await;
        logout(session).await;
    }

    /// Number of messages in `folder` of `user`, from IMAP STATUS.
    pub async fn count(&self, user: &str, folder: &str) -> u32 {
        let mut session = self.session(user).await;
        let status = imap(
            format!("STATUS of {folder} of {user}"),
            session.status(folder, "(MESSAGES)"),
        )
        .await;
        logout(session).await;
        status.exists
    }

    /// The raw messages in `folder` of `user`, in UID order, fetched over IMAP without
    /// setting \Seen.
    pub async fn messages(&self, user: &str, folder: &str) -> Vec<Vec<u8>> {
        let mut session = self.session(user).await;
        let mailbox = imap(
            format!("EXAMINE {folder} of {user}"),
            session.examine(folder),
        )
        .await;
        let what = format!("UID FETCH in {folder} of {user}");
        let fetches: Vec<Fetch> = if mailbox.exists == 0 {
            Vec::new()
        } else {
            imap(&what, async {
                session
                    .uid_fetch("1:*", "BODY.PEEK[]")
                    .await?
                    .try_collect()
                    .await
            })
            .await
        };
        let mut messages: Vec<(u32, Vec<u8>)> = fetches
            .iter()
            .map(|f| {
                let uid = f
                    .uid
                    .unwrap_or_else(|| panic!("{what}: a reply without UID"));
                let body = f
                    .body()
                    .unwrap_or_else(|| panic!("{what}: no body for {uid}"));
                (uid, body.to_vec())
            })
            .collect();
        messages.sort_by_key(|(uid, _)| *uid);
        logout(session).await;
        messages.into_iter().map(|(_, body)| body).collect()
    }

    /// A logged-in session of `user` over plain IMAP, for exchanges the helpers above do
    /// not cover (the benches time their own APPENDs on it).
    pub async fn session(&self, user: &str) -> Session<TcpStream> {
        let password = self
            .users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.as_str())
            .unwrap_or_else(|| panic!("{user} is not a user of this Dovecot"));
        let stream = imap(
            format!("connecting to {HOST}:{}", self.port),
            TcpStream::connect((HOST, self.port)),
        )
        .await;
        let client = greeted(Client::new(stream)).await;
        let login = tokio::time::timeout(IMAP_TIMEOUT, client.login(user, password));
        match login.await {
            Ok(Ok(session)) => session,
            Ok(Err((e, _))) => panic!("LOGIN of {user}: {e}\n{}", self.log()),
            Err(_) => panic!("LOGIN of {user}: no answer within {IMAP_TIMEOUT:?}"),
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

    /// Writes `dovecot.conf` for the next run and returns its path.
    fn write_config(&self) -> PathBuf {
        let dir = self.dir.path();
        let base_dir = dir.join(format!("run-{}", self.generation));
        let state_dir = dir.join(format!("state-{}", self.generation));
        let accounts = &self.accounts;
        // Everything not set here is Dovecot's built-in default: no system configuration is
        // read. `protocols = imap` leaves POP3, LMTP and submission without listeners, so that
        // instances do not compete for their well-known ports. Logins on loopback count as
        // secured, so plaintext authentication needs no setting. XOAUTH2 in Dovecot 2.3 checks
        // the bearer token like a password against the passdb: no oauth2 passdb is needed.
        let text = format!(
            "\
base_dir = {base_dir}
state_dir = {state_dir}
log_path = {log}
# Process titles read dovecot-ticketgate-test-PORT/imap and so on.
instance_name = ticketgate-test-{port}
listen = {HOST}
protocols = imap
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
# Any user but root may own mail (the default starts at uid 500).
first_valid_uid = 1
auth_mechanisms = plain login xoauth2
# Failed logins are answered at once, not after the default 2 s.
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = never
ssl = yes
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem

passdb {{
  driver = passwd-file
  args = {dir}/users
}}
userdb {{
  driver = passwd-file
  args = {dir}/users
}}

namespace inbox {{
  inbox = yes
  mailbox Processed {{
    auto = create
  }}
}}

# No chroots: they need root, and the tests do not always run as root.
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
}}
service submission-login {{
  chroot =
}}
service anvil {{
  chroot =
}}
# Runs as root by default; as another user it can only be that user.
service auth-worker {{
  user = $default_internal_user
}}
",
            base_dir = base_dir.display(),
            state_dir = state_dir.display(),
            log = self.log_path().display(),
            dir = dir.display(),
            login_user = accounts.login_user,
            internal_user = accounts.internal_user,
            internal_group = accounts.internal_group,
            port = self.port,
            tls_port = self.tls_port,
        );
        let path = dir.join("dovecot.conf");
        std::fs::write(&path, text).unwrap();
        path
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

impl SystemAccounts {
    /// Accounts for a Dovecot started by the owner of `dir`, a directory we just created:
    /// its uid is our effective uid.
    fn for_owner_of(dir: &Path) -> Self {
        let owner = std::fs::metadata(dir).unwrap();
        if owner.uid() == 0 {
            let (mail_uid, mail_gid) = system_user("nobody").unwrap_or((65534, 65534));
            let user_or_nobody = |name: &str| match system_user(name) {
                Some(_) => name.to_string(),
                None => "nobody".to_string(),
            };
            SystemAccounts {
                mail_uid,
                mail_gid,
                login_user: user_or_nobody("dovenull"),
                internal_user: user_or_nobody("dovecot"),
                internal_group: if group_exists("dovecot") {
                    "dovecot".to_string()
                } else {
                    account_name("/etc/group", mail_gid).unwrap_or("nogroup".into())
                },
            }
        } else {
            let user = account_name("/etc/passwd", owner.uid())
                .or_else(|| std::env::var("USER").ok())
                .expect("the current user's name, from /etc/passwd or $USER");
            SystemAccounts {
                mail_uid: owner.uid(),
                mail_gid: owner.gid(),
                login_user: user.clone(),
                internal_user: user,
                internal_group: account_name("/etc/group", owner.gid())
                    .expect("the current user's group, in /etc/group"),
            }
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

/// The lines of /etc/passwd or /etc/group, split into fields.
fn account_database(file: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .map(|line| line.split(':').map(str::to_string).collect())
        .collect()
}

/// The uid and gid of a user.
fn system_user(name: &str) -> Option<(u32, u32)> {
    account_database("/etc/passwd")
        .into_iter()
        .find(|fields| fields[0] == name && fields.len() > 3)
        .and_then(|fields| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
}

/// The name of the user (in "/etc/passwd") or group (in "/etc/group") with this id.
fn account_name(file: &str, id: u32) -> Option<String> {
    account_database(file)
        .into_iter()
        .find(|fields| fields.get(2) == Some(&id.to_string()))
        .map(|fields| fields[0].clone())
}

fn group_exists(name: &str) -> bool {
    account_database("/etc/group")
        .iter()
        .any(|fields| fields[0] == name)
}

/// Writes the passwd-file (passdb and userdb at once) and creates each user's home, owned by
/// the mail user.
fn write_users(dir: &Path, users: &[(&str, &str)], accounts: &SystemAccounts) {
    let mail = dir.join("mail");
    std::fs::create_dir(&mail).unwrap();
    let mut file = std::fs::File::create(dir.join("users")).unwrap();
    for (user, password) in users {
        let home = mail.join(user);
        std::fs::create_dir(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(accounts.mail_uid), Some(accounts.mail_gid)).unwrap();
        writeln!(
            file,
            "{user}:{{PLAIN}}{password}:{}:{}::{}::",
            accounts.mail_uid,
            accounts.mail_gid,
            home.display()
        )
        .unwrap();
    }
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

/// The client after reading the server's greeting, which `Client::new` does not read; without
/// this the greeting is taken as the answer to the first command.
async fn greeted<T>(mut client: Client<T>) -> Client<T>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let greeting = imap("reading the greeting", client.read_response()).await;
    assert!(greeting.is_some(), "the server closed without a greeting");
    client
}

/// Awaits an IMAP exchange, panicking with `what` on an error or after the IMAP timeout.
async fn imap<T, E: std::fmt::Display>(
    what: impl std::fmt::Display,
    exchange: impl Future<Output = Result<T, E>>,
) -> T {
    match tokio::time::timeout(IMAP_TIMEOUT, exchange).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: no answer within {IMAP_TIMEOUT:?}"),
    }
}

async fn logout<T>(mut session: Session<T>)
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    imap("LOGOUT", session.logout()).await;
}

/// SASL XOAUTH2 as Gmail and Outlook take it: the user and a bearer token in one response.
/// After a failure the server sends an error challenge, answered with an empty response.
struct XOAuth2 {
    user: String,
    token: String,
}

impl Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, challenge: &[u8]) -> String {
        if challenge.is_empty() {
            format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
        } else {
            String::new()
        }
    }
}

/// A TLS connection to the instance's imaps port that trusts its certificate and nothing else.
async fn connect_tls(dovecot: &Dovecot) -> Client<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(dovecot.ca_file()).expect("the instance's certificate"))
        .unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect((dovecot.host(), dovecot.tls_port()))
        .await
        .unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("a TLS handshake that verifies the instance's certificate");
    greeted(Client::new(tls)).await
}

#[tokio::test]
async fn dovecot_harness_appends_counts_restarts_and_speaks_tls_and_xoauth2() {
    let Some(mut dovecot) = Dovecot::start(&[("support", "token-7f3a")]).await else {
        return;
    };
    let first = b"From: a@example.com\r\nSubject: one\r\n\r\nFirst.\r\n".to_vec();
    let second = b"From: b@example.com\r\nSubject: two\r\n\r\nSecond.\r\n".to_vec();
    dovecot.append("support", "INBOX", &first).await;
    dovecot.append("support", "INBOX", &second).await;
    assert_eq!(dovecot.count("support", "INBOX").await, 2);
    assert_eq!(dovecot.count("support", "Processed").await, 0);
    assert_eq!(
        dovecot.messages("support", "INBOX").await,
        [first.clone(), second.clone()]
    );

    let xoauth2 = |token: &str| XOAuth2 {
        user: "support".into(),
        token: token.into(),
    };
    let client = connect_tls(&dovecot).await;
    let mut session = match client.authenticate("XOAUTH2", xoauth2("token-7f3a")).await {
        Ok(session) => session,
        Err((e, _)) => panic!("XOAUTH2 over TLS: {e}\n{}", dovecot.log()),
    };
    assert_eq!(session.examine("INBOX").await.unwrap().exists, 2);
    logout(session).await;
    let client = connect_tls(&dovecot).await;
    assert!(
        client
            .authenticate("XOAUTH2", xoauth2("not-the-token"))
            .await
            .is_err(),
        "Dovecot accepted a wrong XOAUTH2 token"
    );

    let ports = (dovecot.port(), dovecot.tls_port());
    dovecot.restart().await;
    assert_eq!((dovecot.port(), dovecot.tls_port()), ports);
    assert_eq!(dovecot.messages("support", "INBOX").await, [first, second]);
}
