//! A clean Debian root to install the package into: the one `scripts/test.sh` builds once
//! with debootstrap (minbase and systemd) and caches outside the clone, seen by each test
//! through an overlay (or a copy, where overlays cannot be mounted), so that what an install
//! writes never reaches the cache and runs do not accumulate.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Names a Debian root elsewhere than the cache.
const ROOT_ENV: &str = "TICKETGATE_TEST_DEBIAN_ROOT";

/// What the commands inside the root see: no variable of the test run (a
/// `TICKETGATE_DATABASE__URL` would point the binary elsewhere).
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The cached root: `$TICKETGATE_TEST_DEBIAN_ROOT`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/ticketgate-tests/debian-CODENAME`, CODENAME being this
/// machine's Debian release (the test binary links against its C library).
pub fn cached() -> PathBuf {
    if let Some(dir) = std::env::var_os(ROOT_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        });
    cache
        .join("ticketgate-tests")
        .join(format!("debian-{}", codename()))
}

/// `VERSION_CODENAME` of /etc/os-release, `bookworm` when there is none.
fn codename() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("VERSION_CODENAME=")
                    .map(|v| v.trim_matches('"').to_owned())
            })
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "bookworm".to_owned())
}

/// How this test becomes root: it is, or `sudo -n` works; `None` otherwise.
pub fn as_root() -> Option<Vec<&'static str>> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return Some(Vec::new());
    }
    let sudo = Command::new("sudo").args(["-n", "true"]).output();
    sudo.is_ok_and(|o| o.status.success())
        .then(|| vec!["sudo", "-n"])
}

/// A private view of the cached root, under `dir`; unmounted and removed when dropped.
pub struct Root {
    dir: PathBuf,
    merged: PathBuf,
    /// What is mounted, innermost first: the overlay, the tmpfs under it.
    mounts: Vec<PathBuf>,
    sudo: Vec<&'static str>,
}

impl Root {
    /// An overlay of `cached` whose writes go to a tmpfs (nothing of the install reaches
    /// the disk, and unmounting it throws them away at once), or a copy where the kernel
    /// or the container refuses these mounts.
    pub fn over(cached: &Path, dir: &Path, sudo: Vec<&'static str>) -> Root {
        std::fs::create_dir_all(dir).unwrap();
        let mut root = Root {
            dir: dir.to_owned(),
            merged: dir.join("root"),
            mounts: Vec::new(),
            sudo,
        };
        if root
            .host(&["mount", "-t", "tmpfs", "tmpfs", &path(dir)])
            .status
            .success()
        {
            root.mounts.push(dir.to_owned());
        }
        let subs = ["upper", "work", "root"].map(|s| path(&dir.join(s)));
        let mkdir = root.host(&["mkdir", &subs[0], &subs[1], &subs[2]]);
        assert_ok(&mkdir, "making the root's folders");
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            cached.display(),
            subs[0],
            subs[1]
        );
        let overlay = [
            "mount", "-t", "overlay", "overlay", "-o", &options, &subs[2],
        ];
        if root.host(&overlay).status.success() {
            root.mounts.insert(0, root.merged.clone());
        } else {
            let copy = root.host(&["cp", "-a", &format!("{}/.", cached.display()), &subs[2]]);
            assert_ok(&copy, "copying the Debian root");
        }
        root
    }

    /// The root's folder on this machine.
    pub fn path(&self) -> &Path {
        &self.merged
    }

    /// `file` of this machine, copied to `inside` (an absolute path in the root), readable
    /// by everyone.
    pub fn put(&self, file: &Path, inside: &str) {
        let target = path(&self.merged.join(inside.trim_start_matches('/')));
        let out = self.host(&["install", "-m", "644", &path(file), &target]);
        assert_ok(&out, &format!("copying {} into the root", file.display()));
    }

    /// Runs `args` inside the root (chroot), as root, with a plain environment.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["chroot", self.merged.to_str().unwrap()];
        all.extend_from_slice(args);
        self.host(&all)
    }

    /// Runs `args` inside the root as the user `ticketgate`.
    pub fn run_as_ticketgate(&self, args: &[&str]) -> Output {
        let mut all = vec!["runuser", "-u", "ticketgate", "--"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// Runs `args` on this machine as root.
    fn host(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = self.sudo.clone();
        all.extend_from_slice(args);
        Command::new(all[0])
            .args(&all[1..])
            .env_clear()
            .env("PATH", PATH)
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", all[0]))
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        for mount in &self.mounts {
            if !self.host(&["umount", &path(mount)]).status.success() {
                let _ = self.host(&["umount", "-l", &path(mount)]);
            }
        }
        // Files the install made belong to root and the root's users.
        let _ = self.host(&["rm", "-rf", &path(&self.dir)]);
    }
}

fn path(p: &Path) -> String {
    p.to_str().expect("a UTF-8 path").to_owned()
}

/// Panics with the command's output unless it succeeded.
#[track_caller]
pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
