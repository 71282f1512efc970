//! Golden fixtures: every `tests/fixtures/NAME.eml` goes through the pipeline on a fresh
//! environment (fresh database, clock stopped on 24 November 2026), and what came of it must
//! equal `tests/fixtures/NAME.json` beside it: the outcome, the ticket as it then stands, the
//! articles and attachments the mail added and the notifications it queued (see
//! [`actual`]).
//!
//! As mail-parser checks its own test messages: each fixture also runs with the other line
//! ending (an LF file as CRLF, a CRLF file as LF), which must give the same result but for
//! the line endings themselves, which the store keeps as the mail had them in its texts
//! and in an enclosed message (see [`Actual::modulo_line_endings`]); a mismatch writes what
//! came out beside the fixture, as `NAME.actual.json` (or `NAME.crlf.actual.json`,
//! `NAME.lf.actual.json` for the twin; git ignores them), and fails naming the files; and a
//! run that found no fixture fails, as does a golden file or a [`GIVEN`] row left without
//! its fixture.
//!
//! A new fixture gets its golden file from
//! `TICKETGATE_TEST_BLESS=1 cargo test --test integration golden::`, which writes every
//! `.json` that is missing or differs. Read what it wrote before committing it: a golden
//! file that keeps a bug is worse than none.
//!
//! A fixture that answers a ticket needs that ticket first: [`GIVEN`] says what comes before
//! it, and the golden file repeats it under `given`.

mod actual;

use std::path::{Path, PathBuf};

use actual::{Actual, Given};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::support::helpers::{TestEnv, fixture, fixtures_dir};

/// Set (to anything but empty or `0`), the test writes the golden files instead of failing
/// on them.
const BLESS_ENV: &str = "TICKETGATE_TEST_BLESS";

/// How many fixtures run at once.
const SIDE_BY_SIDE: usize = 4;

/// The fixtures that need something before them; every other one runs on a fresh
/// environment.
const GIVEN: &[(&str, Given)] = &[
    ("auto_reply.eml", Given::Ticket),
    (
        "bounce_of_notification.eml",
        Given::TicketNotified("notification-2@localhost"),
    ),
    ("colleague_quotes_tag.eml", Given::Ticket),
    ("loop_from_ourselves.eml", Given::Ticket),
    ("outsider_quotes_tag.eml", Given::Ticket),
    ("reply_in_reply_to.eml", Given::Ticket),
    ("reply_with_tag.eml", Given::Ticket),
];

#[tokio::test]
async fn every_fixture_gives_its_golden_outcome_with_either_line_ending() {
    let bless = std::env::var(BLESS_ENV).is_ok_and(|v| !v.is_empty() && v != "0");
    let names = fixture_names();
    assert!(
        !names.is_empty(),
        "no *.eml in {}: the golden test ran no case",
        fixtures_dir().display()
    );
    // A few at a time rather than all at once: each needs two fresh databases, which in the
    // PostgreSQL pass are the server's work.
    let checks = futures::stream::iter(names.iter().map(|name| check(name, bless)));
    let mut problems: Vec<String> = checks
        .buffered(SIDE_BY_SIDE)
        .filter_map(|problem| async { problem })
        .collect()
        .await;
    problems.extend(stale_entries(&names));
    assert!(
        problems.is_empty(),
        "{} of {} fixtures:\n{}",
        problems.len(),
        names.len(),
        problems.join("\n")
    );
}

/// Runs fixture `name` as stored and as its twin, and compares with its golden file (or
/// writes it when blessing). Returns what is wrong, if anything.
async fn check(name: &str, bless: bool) -> Option<String> {
    let given = given(name);
    let raw = fixture(name, None);
    if matches!(given, Given::Nothing) && contains(&raw, b"{{TICKET}}") {
        return Some(format!(
            "{name}: names {{{{TICKET}}}} but GIVEN opens no ticket before it"
        ));
    }
    let (twin_label, _) = twin(&raw);
    let stored = outcome(name, given, |bytes| bytes.to_vec()).await;
    let twinned = outcome(name, given, |bytes| twin(bytes).1).await;
    let stored_value = serde_json::to_value(&stored).unwrap();
    let alike = stored.modulo_line_endings() == twinned.modulo_line_endings();

    let golden = path_of(name, "json");
    let actual = path_of(name, "actual.json");
    let twin_actual = path_of(name, &format!("{twin_label}.actual.json"));
    let mut wrong = Vec::new();
    if alike {
        remove_if_there(&twin_actual);
    } else {
        write_json(&twin_actual, &twinned);
        wrong.push(format!(
            "with {} line endings it gives something else, {}",
            twin_label.to_uppercase(),
            shown(&twin_actual)
        ));
    }
    let expected = read_json(&golden);
    if expected.as_ref() == Some(&stored_value) {
        remove_if_there(&actual);
    } else if bless {
        write_json(&golden, &stored);
        remove_if_there(&actual);
        eprintln!("wrote {}: read it before committing it", shown(&golden));
    } else {
        write_json(&actual, &stored);
        wrong.push(match expected {
            Some(_) => format!("{} differs from {}", shown(&actual), shown(&golden)),
            None => format!(
                "no golden file {} (see {}; {BLESS_ENV}=1 writes it)",
                shown(&golden),
                shown(&actual)
            ),
        });
    }
    (!wrong.is_empty()).then(|| format!("{name}: {}", wrong.join("; ")))
}

/// What came of fixture `name`, its bytes changed by `transform`, on a fresh environment
/// set up as `given` says.
async fn outcome(name: &str, given: Given, transform: impl Fn(&[u8]) -> Vec<u8>) -> Actual {
    let env = TestEnv::new().await;
    let ticket = given.apply(&env).await;
    let bytes = transform(&fixture(name, ticket.as_ref()));
    actual::run(&env, given, &bytes).await
}

fn given(name: &str) -> Given {
    GIVEN
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(Given::Nothing, |(_, g)| *g)
}

/// The fixtures, sorted.
fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    names
}

/// Golden files without their fixture, and [`GIVEN`] rows without theirs: left behind by a
/// rename, they would check nothing.
fn stale_entries(names: &[String]) -> Vec<String> {
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stem) = file.strip_suffix(".json") else {
            continue;
        };
        if !stem.ends_with(".actual") && !names.contains(&format!("{stem}.eml")) {
            stale.push(format!("{file}: no {stem}.eml beside it"));
        }
    }
    for (name, _) in GIVEN {
        if !names.iter().any(|n| n == name) {
            stale.push(format!("GIVEN names {name}, which is not a fixture"));
        }
    }
    stale.sort();
    stale
}

/// The same mail with the other line ending, and that ending's name: a file with CRLFs
/// becomes LF only, any other gets CRLF.
fn twin(bytes: &[u8]) -> (&'static str, Vec<u8>) {
    let lf = lf_only(bytes);
    if lf.len() < bytes.len() {
        return ("lf", lf);
    }
    let mut crlf = Vec::with_capacity(bytes.len() + bytes.len() / 20);
    for b in lf {
        if b == b'\n' {
            crlf.push(b'\r');
        }
        crlf.push(b);
    }
    ("crlf", crlf)
}

/// `bytes` with every CRLF turned into LF.
fn lf_only(bytes: &[u8]) -> Vec<u8> {
    let mut lf = Vec::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        if !(b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
            lf.push(b);
        }
    }
    lf
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `tests/fixtures/STEM.ext` for fixture `STEM.eml`.
fn path_of(name: &str, ext: &str) -> PathBuf {
    let stem = name.strip_suffix(".eml").unwrap();
    fixtures_dir().join(format!("{stem}.{ext}"))
}

/// A path as the messages show it: from the repository's root.
fn shown(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not valid JSON: {e}", shown(path)));
    Some(value)
}

/// Writes `value` as pretty JSON with a final newline, so that a blessed file diffs cleanly.
fn write_json(path: &Path, value: &impl Serialize) {
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", shown(path)));
}

fn remove_if_there(path: &Path) {
    let _ = std::fs::remove_file(path);
}
