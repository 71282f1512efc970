//! The configuration of one instance: which system accounts its processes run as, its
//! users' passwd-file and Maildirs, and `dovecot.conf`.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{Dovecot, HOST};

/// Who Dovecot's processes run as: Dovecot refuses to run logins or mail access as root, so
/// when the tests run as root these are unprivileged system users; otherwise, every process
/// already runs as the current user and can only be that user.
pub(super) struct SystemAccounts {
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

impl SystemAccounts {
    /// Accounts for a Dovecot started by the owner of `dir`, a directory we just created:
    /// its uid is our effective uid.
    pub(super) fn for_owner_of(dir: &Path) -> Self {
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

impl Dovecot {
    /// Writes `dovecot.conf` for the next run and returns its path.
    pub(super) fn write_config(&self) -> PathBuf {
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

{namespace}

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
            namespace = self.namespace(),
        );
        let path = dir.join("dovecot.conf");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The personal namespace. Mailbox names inside it are written without its prefix:
    /// `mailbox Processed` is `INBOX.Processed` under the prefix `INBOX.`.
    fn namespace(&self) -> String {
        let options = &self.options;
        let mut text = format!(
            "namespace inbox {{\n  inbox = yes\n  separator = {}\n",
            options.separator
        );
        if let Some(prefix) = options.namespace_prefix {
            text += &format!("  prefix = {prefix}\n");
        }
        if options.auto_create_processed {
            text += "  mailbox Processed {\n    auto = create\n  }\n";
        }
        text + "}"
    }
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
pub(super) fn write_users(dir: &Path, users: &[(&str, &str)], accounts: &SystemAccounts) {
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
