//! The fuzz targets' checks (`ticketgate::fuzzing`, which `fuzz/fuzz_targets/` wrap) over
//! their seeds, on the stable toolchain: our fixtures, the shared corpus (read in place),
//! the small hand-made seeds in `fuzz/corpus/<target>/` and every crasher kept in
//! `fuzz/regressions/<target>/`. Where no nightly toolchain runs libFuzzer, this is what
//! runs the targets; where one does, a crasher found there fails here too once its file is
//! added. Well under a second; SQLite pass only (no store is involved).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use ticketgate::domain::{EmailAddress, TicketNumber};
use ticketgate::fuzzing;

use crate::support::helpers::{fixtures_dir, shared_corpus};
use crate::support::postgres;

/// One fuzz target: its name (that of its file in `fuzz/fuzz_targets/`) and its check.
struct Target {
    name: &'static str,
    check: fn(&[u8]),
}

const TARGETS: &[Target] = &[
    Target {
        name: "mail",
        check: fuzzing::mail,
    },
    Target {
        name: "subject_tag",
        check: fuzzing::subject_tag,
    },
    Target {
        name: "reply_text",
        check: fuzzing::reply_text,
    },
    Target {
        name: "link_tokens",
        check: fuzzing::link_tokens,
    },
    Target {
        name: "config",
        check: fuzzing::config,
    },
    Target {
        name: "tnef",
        check: fuzzing::tnef,
    },
    Target {
        name: "customer_text",
        check: fuzzing::customer_text,
    },
];

#[test]
fn every_fuzz_target_passes_its_seeds() {
    if postgres::server().is_some() {
        return;
    }
    let corpus = shared_corpus();
    let mut failures = Vec::new();
    for target in TARGETS {
        let seeds = seeds(target.name, corpus.as_deref());
        assert!(!seeds.is_empty(), "{}: no seed at all", target.name);
        for (origin, bytes) in &seeds {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| (target.check)(bytes))) {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("a panic");
                failures.push(format!("{} on {origin}: {why}", target.name));
            }
        }
        eprintln!("fuzz target {}: {} seeds", target.name, seeds.len());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The seeds of `target`, each with where it comes from.
fn seeds(target: &str, corpus: Option<&Path>) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = files_in(&root.join("corpus").join(target));
    files.extend(files_in(&root.join("regressions").join(target)));
    let fixtures: Vec<PathBuf> = files_in(&fixtures_dir())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    let manifest = corpus.map(manifest).unwrap_or_default();
    let of_kind = |kind: &str| -> Vec<PathBuf> {
        manifest
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, p)| p.clone())
            .collect()
    };
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    match target {
        "mail" => {
            files.extend(fixtures);
            files.extend(of_kind("mime"));
        }
        "customer_text" => {
            files.extend(files_in(
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/body_fields"),
            ));
            files.extend(of_kind("text"));
        }
        "reply_text" => {
            files.extend(of_kind("text"));
            files.extend(fixtures);
            let replies = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reply_text/fixtures");
            files.extend(files_in(&replies));
        }
        "subject_tag" => {
            for path in fixtures.iter().chain(&of_kind("mime")) {
                for subject in subject_lines(&read(path)) {
                    seeds.push((format!("Subject of {}", path.display()), subject));
                }
            }
        }
        "link_tokens" => seeds.extend(genuine_tokens()),
        "config" => {
            let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
            files.push(repo.join("config/ticketgate.example.toml"));
            files.push(repo.join("debian/ticketgate.toml"));
        }
        "tnef" => files.extend(of_kind("tnef-raw")),
        _ => {}
    }
    seeds.extend(files.iter().map(|p| (p.display().to_string(), read(p))));
    seeds
}

/// Tokens and ids signed with the fuzzing key, so that the verifiers' whole way is seeded.
fn genuine_tokens() -> Vec<(String, Vec<u8>)> {
    let s = fuzzing::link_signer();
    let n: TicketNumber = "2611N00042".parse().unwrap();
    let alice = EmailAddress::parse("alice@acme.example").unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z")
        .unwrap()
        .to_utc();
    let short = s.short_link(&n, &alice, now);
    [
        s.token(&n, &alice, now),
        short.rsplit("/s/").next().unwrap().to_string(),
        s.session(&alice, now + chrono::Duration::hours(1)),
        s.notification_message_id(&n, &alice, 7, now, "support.example"),
    ]
    .into_iter()
    .map(|t| {
        (
            "a token signed with the fuzzing key".to_string(),
            t.into_bytes(),
        )
    })
    .collect()
}

/// The `Subject:` lines of a raw mail, without the field name, unfolded no further.
fn subject_lines(raw: &[u8]) -> Vec<Vec<u8>> {
    raw.split(|&b| b == b'\n')
        .filter_map(|line| {
            let head = line.get(..8)?;
            head.eq_ignore_ascii_case(b"subject:")
                .then(|| line[8..].trim_ascii().to_vec())
        })
        .collect()
}

/// The corpus's entries as (kind, path), from its MANIFEST.tsv.
fn manifest(corpus: &Path) -> Vec<(String, PathBuf)> {
    let text = String::from_utf8(read(&corpus.join("MANIFEST.tsv"))).expect("a UTF-8 manifest");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let path = fields.next()?;
            let kind = fields.next()?;
            Some((kind.to_string(), corpus.join(path)))
        })
        .collect()
}

/// The files directly in `dir`, sorted; none when it does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
