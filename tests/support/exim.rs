//! A private Exim (Debian's `exim4-daemon-light`) in front of the built binary, as
//! docs/mta.md sets one up: the same router and pipe transport, adapted only in paths,
//! user and port, behind a main section of its own (spool, log and listener in a temporary
//! directory, nothing of `/etc/exim4` read). It listens for SMTP on a loopback port and
//! queues what it receives; a test delivers with an explicit queue run, never waiting for
//! a timer. Mail to the customers' domain lands in one mbox file, so a bounce can be read.
//!
//! Exim runs as root here (it switches to the pipe's user, as on a real host): the pipe
//! runs as `nobody`, which owns the data directory. Run by another user, Exim gives up
//! its privileges and delivers as that user, who then owns everything.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::require;

mod accounts;
mod smtp;

use accounts::{Account, account, account_of, chown, current_uid, group_name};

/// The domain ticketgate receives mail for, and its address.
pub const OUR_DOMAIN: &str = "help.example";
pub const SUPPORT: &str = "support@help.example";
/// The customers' domain: Exim delivers mail to it (bounces) into [`Exim::sender_mbox`].
pub const CUSTOMER_DOMAIN: &str = "customer.example";

const HOST: &str = "127.0.0.1";

/// A running private Exim, its directory, and the data directory of the ticketgate it
/// pipes into. Dropping it kills the daemon it started.
pub struct Exim {
    dir: TempDir,
    binary: PathBuf,
    /// The daemon, started with `-bdf` (in the foreground): its pid is the one killed.
    daemon: Option<Child>,
    port: u16,
    /// Who the pipe (and the test's own `ticketgate` commands) run as.
    user: Account,
    /// `--on-quarantine` in the transport's command.
    policy: String,
}

impl Exim {
    /// Starts Exim with the transport's `--on-quarantine policy`; `None` (having said so
    /// through [`require::missing`]) when Exim is not installed.
    pub fn start(policy: &str) -> Option<Exim> {
        let Some(binary) = exim_binary() else {
            require::missing(
                "Exim (/usr/sbin/exim4)",
                "apt-get install exim4-daemon-light, or run scripts/test.sh",
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary directory for Exim");
        // The pipe's user must reach its configuration and data below this directory.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let owner = std::fs::metadata(dir.path()).unwrap();
        let user = if owner.uid() == 0 {
            account("nobody").expect("a `nobody` account in /etc/passwd")
        } else {
            account_of(owner.uid()).expect("the current user in /etc/passwd")
        };
        for sub in ["spool", "log", "out", "data"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        for sub in ["out", "data"] {
            chown(&dir.path().join(sub), &user);
        }
        runnable_binary(dir.path());
        std::fs::write(
            dir.path().join("ticketgate.toml"),
            format!(
                "data_dir = \"{}\"\n\n[mail]\naddresses = [\"{SUPPORT}\"]\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let mut exim = Exim {
            dir,
            binary,
            daemon: None,
            port: 0,
            user,
            policy: policy.to_string(),
        };
        for _ in 0..3 {
            exim.port = free_port();
            exim.write_config();
            exim.daemon = Some(
                Command::new(&exim.binary)
                    .arg("-C")
                    .arg(exim.config_path())
                    .arg("-bdf")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(exim.stderr_log())
                    .spawn()
                    .expect("exim starts"),
            );
            if exim.listens() {
                return Some(exim);
            }
            exim.stop();
        }
        panic!(
            "Exim did not listen on a loopback port after 3 tries; its log:\n{}",
            exim.log()
        );
    }

    /// Kills and reaps the daemon this test started.
    fn stop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("exim.conf")
    }

    /// Writes `exim.conf`: a private main section, then the router and transport of
    /// docs/mta.md with this directory's paths and users.
    fn write_config(&self) {
        let dir = self.dir.path().display();
        let runner = account_of(current_uid(self.dir.path())).expect("the current user");
        let user = &self.user.name;
        let transport = self.documented_transport();
        let router = documented(ROUTER);
        let text = format!(
            "\
# Private: nothing of /etc/exim4 is read.
primary_hostname = mta.test
spool_directory = {dir}/spool
log_file_path = {dir}/log/%slog
exim_user = {runner}
exim_group = {runner_group}
daemon_smtp_ports = {port}
local_interfaces = {HOST}
# Received mail waits for the test's queue runs.
queue_only = true
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
keep_environment =
domainlist local_domains = {OUR_DOMAIN}
message_size_limit = 49M
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  accept domains = +local_domains
         verify = recipient
  accept domains = {CUSTOMER_DOMAIN}
  deny   message = relay not permitted

begin routers
# From docs/mta.md.
{router}

# The customers' mail server, for the test: one mbox.
customers:
  driver = accept
  domains = {CUSTOMER_DOMAIN}
  transport = customer_mbox

begin transports
# From docs/mta.md, with this directory's paths and users.
{transport}

customer_mbox:
  driver = appendfile
  file = {dir}/out/customers.mbox
  user = {user}

begin retry
*  *  F,1d,1m
",
            runner = runner.name,
            runner_group = group_name(runner.gid),
            port = self.port,
        );
        std::fs::write(self.config_path(), text).unwrap();
    }

    /// The pipe transport of docs/mta.md, with this directory's binary, configuration,
    /// user and `--on-quarantine` policy.
    pub fn documented_transport(&self) -> String {
        let ticketgate = self.dir.path().join("ticketgate");
        let config = self.dir.path().join("ticketgate.toml");
        let replaced = [
            ("/usr/bin/ticketgate ", format!("{} ", ticketgate.display())),
            (
                "/etc/ticketgate/ticketgate.toml",
                config.display().to_string(),
            ),
            (
                "--on-quarantine accept",
                format!("--on-quarantine {}", self.policy),
            ),
            ("user = ticketgate", format!("user = {}", self.user.name)),
            (
                "group = ticketgate",
                format!("group = {}", group_name(self.user.gid)),
            ),
        ];
        let mut transport = documented(TRANSPORT);
        for (documented, here) in replaced {
            assert!(
                transport.contains(documented),
                "docs/mta.md's transport no longer has {documented:?}: {transport}"
            );
            transport = transport.replace(documented, &here);
        }
        transport
    }

    /// Changes the transport's `--on-quarantine` for the deliveries to come (each queue
    /// run reads the configuration afresh).
    pub fn set_policy(&mut self, policy: &str) {
        self.policy = policy.to_string();
        self.write_config();
    }

    /// Waits up to 5 s for the daemon's SMTP greeting.
    fn listens(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let daemon = self.daemon.as_mut().expect("a daemon started");
            if let Ok(Some(_)) = daemon.try_wait() {
                return false;
            }
            if let Ok(stream) = TcpStream::connect((HOST, self.port)) {
                let mut line = String::new();
                let _ = BufReader::new(stream).read_line(&mut line);
                if line.starts_with("220") {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Submits `mail` over SMTP from `sender` to `recipient`; returns Exim's queue id.
    pub fn send(&self, sender: &str, recipient: &str, mail: &[u8]) -> String {
        smtp::submit(HOST, self.port, sender, recipient, mail)
    }

    /// One queue run that tries every message whatever its retry time (`-qff`), and
    /// returns when it is done.
    pub fn queue_run(&self) {
        let out = self.exim(&["-qff"]);
        assert!(out.status.success(), "exim -qff: {out:?}");
    }

    /// How many messages wait in the queue.
    pub fn queued(&self) -> usize {
        let out = self.exim(&["-bpc"]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    fn exim(&self, args: &[&str]) -> Output {
        Command::new(&self.binary)
            .arg("-C")
            .arg(self.config_path())
            .args(args)
            .stdin(Stdio::null())
            .stderr(self.stderr_log())
            .output()
            .expect("exim runs")
    }

    /// Where Exim's standard error goes: run by another user than root, Exim writes its
    /// log there rather than to `log_file_path`.
    fn stderr_log(&self) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("log/stderr"))
            .unwrap()
    }

    /// Exim's log: the main log, and what it wrote on standard error.
    pub fn log(&self) -> String {
        let read = |name: &str| {
            std::fs::read_to_string(self.dir.path().join("log").join(name)).unwrap_or_default()
        };
        read("mainlog") + &read("stderr")
    }

    /// How many deliveries into the pipe the log records so far.
    pub fn deliveries(&self) -> usize {
        let delivered = format!(" => support <{SUPPORT}>");
        self.log()
            .lines()
            .filter(|l| l.contains(&delivered))
            .count()
    }

    /// What Exim delivered to the customers' domain (bounces): an mbox.
    pub fn sender_mbox(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("out/customers.mbox")).unwrap_or_default()
    }

    /// The data directory of the ticketgate behind Exim.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `ticketgate ARGS` on the same configuration, as the pipe's user: files the
    /// database creates must stay that user's.
    pub fn ticketgate(&self, args: &[&str]) -> Output {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(self.dir.path().join("ticketgate"));
        cmd.arg("--config")
            .arg(self.dir.path().join("ticketgate.toml"))
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        // Only the configuration file speaks, as for the pipe: none of the caller's
        // variables (the test run's own TICKETGATE_TEST_* would be unknown keys).
        for (key, _) in std::env::vars() {
            if key.starts_with("TICKETGATE_") {
                cmd.env_remove(key);
            }
        }
        if self.user.uid != current_uid(self.dir.path()) {
            cmd.uid(self.user.uid).gid(self.user.gid);
        }
        cmd.output().expect("the binary runs")
    }
}

impl Drop for Exim {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The first lines of the router and of the transport in docs/mta.md.
pub const ROUTER: &str = "ticketgate:";
pub const TRANSPORT: &str = "ticketgate_pipe:";

/// The code block of docs/mta.md that starts with the line `first`: the test runs what
/// the guide says, not a copy that could drift from it.
pub fn documented(first: &str) -> String {
    let guide = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/mta.md");
    let text = std::fs::read_to_string(guide).expect("docs/mta.md");
    let start = text
        .find(&format!("```\n{first}\n"))
        .unwrap_or_else(|| panic!("docs/mta.md has no code block starting with {first:?}"));
    let block = &text[start + 4..];
    block[..block.find("```").expect("the block's end")].to_string()
}

/// Debian's Exim binary, where installed.
pub fn exim_binary() -> Option<PathBuf> {
    ["/usr/sbin/exim4", "/usr/sbin/exim"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The built binary, where the pipe's user can run it: a link (or copy) in `dir`, since
/// the build directory may sit below a home only its owner can enter.
fn runnable_binary(dir: &Path) {
    let built = Path::new(env!("CARGO_BIN_EXE_ticketgate"));
    let here = dir.join("ticketgate");
    if std::fs::hard_link(built, &here).is_err() {
        std::fs::copy(built, &here).expect("copy the built binary");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind((HOST, 0))
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}
