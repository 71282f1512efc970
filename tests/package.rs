//! The Debian package (`cargo deb`: `[package.metadata.deb]` in Cargo.toml, the maintainer
//! scripts and the conffile in debian/): built from the binary this test run built, its
//! file list and modes, its conffile, lintian; then installed into a clean Debian root,
//! where the `ticketgate` user checks the configuration and ingests a mail from the
//! installed paths, an upgrade migrates the database, and a purge keeps the tickets.
//!
//! Nothing of it depends on the database backend: it runs in the SQLite pass only.

mod root;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::{postgres, require};
use root::{Root, assert_ok};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const CONFIG: &str = "/etc/ticketgate/ticketgate.toml";

/// The conffile is the example configuration but for `data_dir`, so that the two cannot
/// drift apart: a key documented in one is documented in the other.
#[test]
fn packaged_configuration_is_the_example_with_the_state_directory() {
    if postgres::server().is_some() {
        return;
    }
    let read = |p: &str| std::fs::read_to_string(Path::new(MANIFEST_DIR).join(p)).unwrap();
    let example = read("config/ticketgate.example.toml");
    let packaged = read("debian/ticketgate.toml");
    let expected: Vec<&str> = example
        .lines()
        .map(|l| {
            if l.starts_with("data_dir =") {
                r#"data_dir = "/var/lib/ticketgate""#
            } else {
                l
            }
        })
        .collect();
    assert!(
        packaged.lines().eq(expected.iter().copied()) && packaged.ends_with('\n'),
        "debian/ticketgate.toml is no longer config/ticketgate.example.toml with \
         data_dir = \"/var/lib/ticketgate\"; make it again with\n  sed 's|^data_dir = .*$|data_dir = \"/var/lib/ticketgate\"|' \
         config/ticketgate.example.toml > debian/ticketgate.toml"
    );
}

#[test]
fn the_package_installs_and_runs_in_a_clean_debian_root() {
    if postgres::server().is_some() {
        return;
    }
    let Some(sudo) = tools_and_root() else {
        return;
    };
    let cached = root::cached();
    if !cached.join("var/lib/dpkg/status").is_file() {
        require::missing(
            &format!("a Debian root at {}", cached.display()),
            "./scripts/test.sh builds it once (debootstrap --variant=minbase --include=systemd)",
        );
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let deb = build_package(work.path());
    // Runs while the root is used. binaries/spelling reads every string of the binary (5 of
    // lintian's 7 s on a debug one) and can only say `I:`: it is left out.
    let lintian = Command::new("lintian")
        .args(["--tag-display-limit", "0", "-X", "binaries/spelling"])
        .arg(&deb)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lintian runs");
    check_file_list(&deb);

    let root = Root::over(&cached, &work.path().join("debian"), sudo);
    root.put(&deb, "/tmp/ticketgate.deb");
    root.put(
        &Path::new(MANIFEST_DIR).join("tests/fixtures/new_ticket.eml"),
        "/tmp/new_ticket.eml",
    );
    install(&root);
    use_as_ticketgate(&root);
    upgrade_and_purge(&root);

    check_lintian(lintian.wait_with_output().unwrap());
}

/// The tools the test needs and a way to be root, or `None` after saying what is missing.
fn tools_and_root() -> Option<Vec<&'static str>> {
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !runs("cargo", &["deb", "--version"]) {
        require::missing(
            "cargo-deb",
            "cargo install cargo-deb (./scripts/test.sh does)",
        );
        return None;
    }
    if !runs("lintian", &["--version"]) || !runs("dpkg-deb", &["--version"]) {
        require::missing("lintian or dpkg-deb", "sudo apt-get install lintian dpkg");
        return None;
    }
    let sudo = root::as_root();
    if sudo.is_none() {
        require::missing(
            "root (or sudo without a password) to install into a Debian root",
            "run the tests as root or allow sudo -n",
        );
    }
    sudo
}

/// `cargo deb` on the debug binary of this run, staged where cargo-deb looks for a release
/// one (it strips it); gzip -1 rather than xz: a few seconds instead of a minute.
fn build_package(work: &Path) -> PathBuf {
    let release = work.join("target/release");
    std::fs::create_dir_all(&release).unwrap();
    let binary = release.join("ticketgate");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_ticketgate"), &binary).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_ticketgate"), &binary).unwrap();
    }
    let deb = work.join("ticketgate.deb");
    let out = Command::new("cargo")
        .args([
            "deb",
            "--no-build",
            "--fast",
            "-Z",
            "gz",
            "--compress-system",
            "--offline",
            "-q",
            "-o",
        ])
        .arg(&deb)
        .env("CARGO_TARGET_DIR", work.join("target"))
        .current_dir(MANIFEST_DIR)
        .output()
        .unwrap();
    assert_ok(&out, "cargo deb");
    deb
}

/// Every path the package must hold, with its mode; and every embedded template at the
/// place `[notifications] template_dir` reads it from.
fn check_file_list(deb: &Path) {
    let listing = dpkg_deb(&["-c"], deb);
    let files: Vec<(&str, &str, &str)> = listing
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 6).then(|| (f[0], f[1], f[5].trim_start_matches("./")))
        })
        .collect();
    let mode_of = |path: &str| files.iter().find(|f| f.2 == path).map(|f| f.0);
    let mut expected = vec![
        ("usr/bin/ticketgate", "-rwxr-xr-x"),
        ("usr/lib/systemd/system/ticketgate.service", "-rw-r--r--"),
        ("usr/lib/sysusers.d/ticketgate.conf", "-rw-r--r--"),
        ("usr/lib/tmpfiles.d/ticketgate.conf", "-rw-r--r--"),
        ("etc/ticketgate/ticketgate.toml", "-rw-r--r--"),
        ("usr/share/doc/ticketgate/README.md", "-rw-r--r--"),
        ("usr/share/doc/ticketgate/copyright", "-rw-r--r--"),
        ("usr/share/doc/ticketgate/changelog.Debian.gz", "-rw-r--r--"),
        ("usr/share/doc/ticketgate/multi-instance.md", "-rw-r--r--"),
        (
            "usr/share/doc/ticketgate/monitoring/alerts.yml",
            "-rw-r--r--",
        ),
    ];
    let templates = shipped_templates();
    expected.extend(templates.iter().map(|t| (t.as_str(), "-rw-r--r--")));
    for (path, mode) in expected {
        assert_eq!(
            mode_of(path),
            Some(mode),
            "{path} in the package:\n{listing}"
        );
    }
    assert!(
        files.iter().all(|f| f.1 == "0/0"),
        "files not root's:\n{listing}"
    );
    let conffiles = dpkg_deb_control_file(deb, "conffiles");
    assert_eq!(conffiles.trim(), CONFIG, "the package's conffiles");
}

/// templates/email/X, templates/sms/X and templates/portal/X of the sources, as the package
/// installs them: /usr/share/ticketgate/templates/X, …/sms/X, …/portal/X.
fn shipped_templates() -> Vec<String> {
    let mut out = Vec::new();
    for (source, target) in [("email", ""), ("sms", "sms/"), ("portal", "portal/")] {
        let base = Path::new(MANIFEST_DIR).join("templates").join(source);
        for file in files_under(&base) {
            let rel = file
                .strip_prefix(&base)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            out.push(format!("usr/share/ticketgate/templates/{target}{rel}"));
        }
    }
    assert!(out.len() > 50, "templates found: {out:?}");
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let out = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .unwrap();
    assert_ok(&out, "dpkg-deb");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dpkg_deb_control_file(deb: &Path, control_file: &str) -> String {
    let out = Command::new("dpkg-deb")
        .arg("-I")
        .arg(deb)
        .arg(control_file)
        .output()
        .unwrap();
    assert_ok(&out, "dpkg-deb -I");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A first install: the user and its 0750 state directory, the conffile readable by it
/// alone, the unit enabled (nothing can start it in a chroot, nor does the postinst try).
fn install(root: &Root) {
    let out = root.run(&["dpkg", "--force-unsafe-io", "-i", "/tmp/ticketgate.deb"]);
    assert_ok(&out, "dpkg -i of the package");
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let user = passwd
        .lines()
        .find(|l| l.starts_with("ticketgate:"))
        .unwrap_or_else(|| panic!("no user ticketgate in /etc/passwd:\n{passwd}"));
    assert!(
        user.ends_with(":/var/lib/ticketgate:/usr/sbin/nologin"),
        "{user}"
    );
    assert_eq!(
        stat(root, "/var/lib/ticketgate"),
        "750 ticketgate ticketgate"
    );
    assert_eq!(stat(root, CONFIG), "640 root ticketgate");
    let wants = root
        .path()
        .join("etc/systemd/system/multi-user.target.wants/ticketgate.service");
    assert!(wants.symlink_metadata().is_ok(), "the unit is not enabled");
}

/// The installed binary, as the daemon's user, on the installed configuration: the mail's
/// ticket lands in /var/lib/ticketgate.
fn use_as_ticketgate(root: &Root) {
    let tg = |args: &[&str]| {
        let mut all = vec!["/usr/bin/ticketgate", "--config", CONFIG];
        all.extend_from_slice(args);
        root.run_as_ticketgate(&all)
    };
    let out = tg(&["check-config"]);
    assert_ok(&out, "ticketgate check-config");
    assert!(
        text(&out).contains("data_dir = /var/lib/ticketgate"),
        "{}",
        text(&out)
    );

    let out = tg(&["ingest", "/tmp/new_ticket.eml"]);
    assert_ok(&out, "ticketgate ingest");
    let said = text(&out);
    assert!(said.contains(": created "), "{said}");
    let number = said.split_whitespace().last().unwrap().to_owned();
    assert_ok(
        &tg(&["tickets", "show", &number]),
        "ticketgate tickets show",
    );
    assert_eq!(
        stat(root, "/var/lib/ticketgate/ticketgate.db")
            .split_once(' ')
            .unwrap()
            .1,
        "ticketgate ticketgate"
    );
}

/// An upgrade migrates the existing database: the postinst run as dpkg runs it after
/// unpacking a new version over 0.0.1 (unpacking the same files again would only cost
/// time). A purge takes the configuration and keeps the tickets.
fn upgrade_and_purge(root: &Root) {
    let postinst = "/var/lib/dpkg/info/ticketgate.postinst";
    let out = root.run(&[postinst, "configure", "0.0.1"]);
    assert_ok(&out, "the postinst of an upgrade");
    assert!(
        text(&out).contains("migrating the database"),
        "{}",
        text(&out)
    );

    let out = root.run(&["dpkg", "--force-unsafe-io", "--purge", "ticketgate"]);
    assert_ok(&out, "dpkg --purge");
    assert!(
        !root.path().join("etc/ticketgate").exists(),
        "/etc/ticketgate left"
    );
    let overrides = root.run(&["dpkg-statoverride", "--list"]);
    assert!(!text(&overrides).contains(CONFIG), "{}", text(&overrides));
    assert_ok(
        &root.run(&["test", "-f", "/var/lib/ticketgate/ticketgate.db"]),
        "the database kept by the purge",
    );
}

/// `stat -c '%a %U %G'` of a path inside the root.
fn stat(root: &Root, path: &str) -> String {
    let out = root.run(&["stat", "-c", "%a %U %G", path]);
    assert_ok(&out, &format!("stat {path}"));
    text(&out).trim().to_owned()
}

/// No error from lintian; its warnings are printed (`--nocapture` shows them).
fn check_lintian(out: Output) {
    let report = text(&out);
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E: ")).collect();
    assert!(
        errors.is_empty() && out.status.success(),
        "lintian:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for warning in report.lines().filter(|l| l.starts_with("W: ")) {
        eprintln!("lintian {warning}");
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
