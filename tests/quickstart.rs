//! The README's first round trip, pasted as a newcomer pastes it: a customer's mail, the
//! acknowledgement in `data/outbox/`, her reply as a comment, an agent's answer. The block
//! is read from the README itself, so the README cannot drift from what works.

use std::process::Command;

/// The shell lines of the README's "A first round trip" block, but the build.
fn round_trip_script() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    let section = readme
        .split("### A first round trip")
        .nth(1)
        .expect("the README has a first round trip");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a sh block in the round trip");
    block
        .lines()
        .filter(|l| !l.starts_with("cargo build"))
        .map(|l| {
            l.replace(
                "tg=target/release/ticketgate",
                &format!("tg={}", env!("CARGO_BIN_EXE_ticketgate")),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_readme_round_trip_works_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(round_trip_script())
        .current_dir(dir.path());
    for (key, _) in std::env::vars() {
        if key.starts_with("TICKETGATE_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("reply.eml: commented"), "{stdout}");
    assert!(
        stdout.contains("A technician comes this afternoon."),
        "{stdout}"
    );
    let mails = std::fs::read_dir(dir.path().join("data/outbox"))
        .unwrap()
        .count();
    assert_eq!(
        mails, 2,
        "the acknowledgement and the agent's answer: {stdout}"
    );
}
