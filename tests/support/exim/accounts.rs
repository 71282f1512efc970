//! Who the pipe runs as: system accounts and groups, read from /etc/passwd and /etc/group.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A system account: its name, uid and gid.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// The uid owning `dir`, a directory we just created: our effective uid.
pub(super) fn current_uid(dir: &Path) -> u32 {
    std::fs::metadata(dir).unwrap().uid()
}

pub(super) fn chown(path: &Path, user: &Account) {
    std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).unwrap();
}

/// The account `name` in /etc/passwd.
pub(super) fn account(name: &str) -> Option<Account> {
    accounts().into_iter().find(|a| a.name == name)
}

/// The account of `uid` in /etc/passwd.
pub(super) fn account_of(uid: u32) -> Option<Account> {
    accounts().into_iter().find(|a| a.uid == uid)
}

fn accounts() -> Vec<Account> {
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            Some(Account {
                name: fields.first()?.to_string(),
                uid: fields.get(2)?.parse().ok()?,
                gid: fields.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

/// The name of group `gid` in /etc/group (Exim's `group =` wants a name or a number).
pub(super) fn group_name(gid: u32) -> String {
    std::fs::read_to_string("/etc/group")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.get(2)? == &gid.to_string()).then(|| fields[0].to_string())
        })
        .unwrap_or_else(|| gid.to_string())
}
