//! The reply-parsing cases of the shared corpus and what each is checked against.
//!
//! # Where the expectations come from
//!
//! * `email_reply_trimmer` (discourse): `emails/X.txt` must give `trimmed/X.txt`.
//! * `talon` (mailgun): the first text/plain part of `X.eml`, decoded by mail-parser, must
//!   give `expected_reply_stripped` of `X.expected.json` (the mail's HTML body, when it has
//!   one, is given beside it, as the pipeline does).
//! * `github-email_reply_parser`: `*.expected.json` describe the upstream parser's
//!   fragments. An exact expectation exists when the file gives `parse_reply`; when the
//!   mail is one fragment (the whole text is the reply); or when every visible fragment is
//!   given with an `equals` check and the others are known hidden (their join is the
//!   reply). Otherwise the fragment checks are run as a separate, looser score: checks on
//!   visible fragments must hold on our text (fragment 0 is taken as visible when the file
//!   does not say), and checks on hidden fragments must not — unless a visible fragment is
//!   of the same kind (quoted or signature), since its text may then match the same
//!   pattern. Files with neither (the performance traps) are robustness inputs only.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::helpers::shared_corpus;
use ticketgate::pipeline::parse::{inbound_mail, parse_message};

pub const TRIMMER: &str = "email_reply_trimmer";
pub const GITHUB: &str = "github-email_reply_parser";
pub const TALON: &str = "talon";

/// The reply-parsing folder of the shared corpus; `None` when the corpus is absent and the
/// run allows skipping (see [`shared_corpus`]). A corpus without this folder is broken:
/// that fails.
pub fn reply_corpus() -> Option<PathBuf> {
    let dir = shared_corpus()?.join("reply-parsing");
    assert!(dir.is_dir(), "{} is missing from the corpus", dir.display());
    Some(dir)
}

/// What a case is checked against.
pub enum Expected {
    Exact(String),
    Checks(Vec<Check>),
    /// Robustness only.
    Nothing,
}

/// One fragment check of the github expectations.
pub struct Check {
    /// `equals`, `contains` or `matches_regex`.
    pub op: String,
    pub value: String,
    /// The fragment must be visible (the check holds) or hidden (it must not).
    pub visible: bool,
}

/// One input of the corpus.
pub struct Case {
    /// The sub-corpus: [`TRIMMER`], [`GITHUB`] or [`TALON`].
    pub suite: &'static str,
    /// The file name without its extension.
    pub name: String,
    /// The plain-text body given to `strip_mail`.
    pub input: String,
    /// The HTML body given beside it, for the full messages that have one.
    pub html: Option<String>,
    pub expected: Expected,
}

/// The comparison's normalisation: `\r\n` → `\n`, no trailing whitespace on any line, no
/// whitespace at either end.
pub fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n")
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

/// `name`s of the files in `dir` ending in `ext`, sorted.
fn names(dir: &Path, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().ok()?;
            Some(name.strip_suffix(ext)?.to_string())
        })
        .collect();
    names.sort();
    names
}

fn trimmer_cases(root: &Path) -> Vec<Case> {
    let dir = root.join(TRIMMER);
    names(&dir.join("emails"), ".txt")
        .into_iter()
        .map(|name| Case {
            suite: TRIMMER,
            input: read(&dir.join("emails").join(format!("{name}.txt"))),
            html: None,
            expected: Expected::Exact(read(&dir.join("trimmed").join(format!("{name}.txt")))),
            name,
        })
        .collect()
}

fn talon_cases(root: &Path) -> Vec<Case> {
    let dir = root.join(TALON).join("standard_replies");
    names(&dir, ".eml")
        .into_iter()
        .map(|name| {
            let raw = std::fs::read(dir.join(format!("{name}.eml"))).unwrap();
            let message = parse_message(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
            let input = message
                .body_text(0)
                .unwrap_or_else(|| panic!("{name}: no text part"))
                .into_owned();
            let html = inbound_mail(&message).html;
            let json = read(&dir.join(format!("{name}.expected.json")));
            let json: Value = serde_json::from_str(&json).unwrap();
            let expected = json["expected_reply_stripped"]
                .as_str()
                .unwrap()
                .to_string();
            Case {
                suite: TALON,
                name,
                input,
                html,
                expected: Expected::Exact(expected),
            }
        })
        .collect()
}

fn github_cases(root: &Path) -> Vec<Case> {
    let dir = root.join(GITHUB);
    names(&dir, ".txt")
        .into_iter()
        .map(|name| {
            let input = read(&dir.join(format!("{name}.txt")));
            let json = read(&dir.join(format!("{name}.expected.json")));
            let json: Value = serde_json::from_str(&json).unwrap();
            let expected = github_expectation(&json, &input);
            Case {
                suite: GITHUB,
                name,
                input,
                html: None,
                expected,
            }
        })
        .collect()
}

/// The github expectation of one file (see the module docs).
fn github_expectation(json: &Value, input: &str) -> Expected {
    if let Some(reply) = json["parse_reply"].as_str() {
        return Expected::Exact(reply.to_string());
    }
    let flags = |key: &str| -> Option<Vec<bool>> {
        json[key]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_bool().unwrap()).collect())
    };
    let (quoted, signature, hidden) = (flags("quoted"), flags("signature"), flags("hidden"));
    if json["fragment_count"].as_u64() == Some(1) && hidden.is_none() {
        return Expected::Exact(input.to_string());
    }
    let checks: Vec<&Value> = json["fragment_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    if checks.is_empty() {
        return Expected::Nothing;
    }
    let equals = |fragment: usize| {
        checks
            .iter()
            .find(|c| c["fragment"].as_u64() == Some(fragment as u64) && c["op"] == "equals")
            .and_then(|c| c["value"].as_str())
    };
    if let Some(hidden) = &hidden {
        let visible: Vec<usize> = (0..hidden.len()).filter(|&i| !hidden[i]).collect();
        if let Some(parts) = visible
            .iter()
            .map(|&i| equals(i))
            .collect::<Option<Vec<_>>>()
        {
            return Expected::Exact(parts.join("\n"));
        }
    }
    let kind = |i: usize| {
        (
            quoted.as_ref().and_then(|q| q.get(i).copied()),
            signature.as_ref().and_then(|s| s.get(i).copied()),
        )
    };
    let mut judged = Vec::new();
    for check in checks {
        let fragment = check["fragment"].as_u64().unwrap() as usize;
        let visible = match &hidden {
            Some(h) => !h[fragment],
            None if fragment == 0 => true,
            None => continue,
        };
        if !visible {
            let h = hidden.as_ref().unwrap();
            let shares_kind = (0..h.len()).any(|i| !h[i] && kind(i) == kind(fragment));
            if shares_kind {
                continue;
            }
        }
        judged.push(Check {
            op: check["op"].as_str().unwrap().to_string(),
            value: check["value"].as_str().unwrap().to_string(),
            visible,
        });
    }
    Expected::Checks(judged)
}

/// Whether `check` holds on `text` (Ruby regexes: `^` matches at every line start).
pub fn holds(check: &Check, text: &str) -> bool {
    let found = match check.op.as_str() {
        "equals" => text.contains(normalise(&check.value).as_str()),
        "contains" => text.contains(&check.value),
        "matches_regex" => regex::Regex::new(&format!("(?m){}", check.value))
            .unwrap_or_else(|e| panic!("{}: {e}", check.value))
            .is_match(text),
        other => panic!("unknown check {other}"),
    };
    found == check.visible
}

pub fn all_cases(root: &Path) -> Vec<Case> {
    let mut cases = trimmer_cases(root);
    cases.extend(github_cases(root));
    cases.extend(talon_cases(root));
    cases
}
