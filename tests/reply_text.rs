//! Accuracy of [`strip_reply`] on the reply-parsing part of the shared corpus (expectations
//! written by three other projects), and robustness on every input there.
//!
//! Run `cargo test --test integration reply_text -- --nocapture` to see the table.
//!
//! # What counts as a match
//!
//! Expected and actual texts are compared after the same normalisation: `\r\n` → `\n`,
//! trailing whitespace removed from every line, whitespace removed at both ends. Nothing
//! else: a different word, line or blank line is a mismatch.
//!
//! The cases and their expectations are read by [`cases`], which says where each comes from.

mod cases;

use std::fmt::Write as _;

use cases::{
    Case, Check, Expected, GITHUB, TALON, TRIMMER, all_cases, holds, normalise, reply_corpus,
};
use ticketgate::pipeline::parse::{inbound_mail, parse_message};
use ticketgate::pipeline::reply_text::strip_reply;

/// Exact matches reached on 2026-11-24 (56 of 59, see docs/reply-text.md), minus two.
const MIN_EXACT_MATCHES: usize = 54;
/// Fragment-check cases passed on the same day (9 of 9), minus one.
const MIN_CHECK_PASSES: usize = 8;

/// Matches of one sub-corpus.
#[derive(Default)]
struct Score {
    exact: usize,
    exact_total: usize,
    checks: usize,
    checks_total: usize,
    robustness_only: usize,
}

impl Score {
    /// Runs `case`, counts the result, and writes what went wrong to `misses`.
    fn record(&mut self, case: &Case, misses: &mut String) {
        let actual = normalise(&strip_reply(&case.input).text);
        let id = format!("{}/{}", case.suite, case.name);
        match &case.expected {
            Expected::Exact(expected) => {
                self.exact_total += 1;
                let expected = normalise(expected);
                if actual == expected {
                    self.exact += 1;
                } else {
                    let (expected, actual) = (clip(&expected), clip(&actual));
                    let _ = writeln!(
                        misses,
                        "  {id}: expected {expected:?}\n      got {actual:?}"
                    );
                }
            }
            Expected::Checks(checks) => {
                self.checks_total += 1;
                let failed: Vec<&Check> = checks.iter().filter(|c| !holds(c, &actual)).collect();
                self.checks += usize::from(failed.is_empty());
                for c in failed {
                    let should = if c.visible { "should" } else { "should not" };
                    let (op, value, actual) = (&c.op, &c.value, clip(&actual));
                    let _ = writeln!(misses, "  {id}: {op} {value:?} {should} hold on {actual:?}");
                }
            }
            Expected::Nothing => self.robustness_only += 1,
        }
    }

    fn add(&mut self, other: &Score) {
        self.exact += other.exact;
        self.exact_total += other.exact_total;
        self.checks += other.checks;
        self.checks_total += other.checks_total;
        self.robustness_only += other.robustness_only;
    }

    fn print_row(&self, label: &str) {
        println!(
            "{:<27} {:>14} {:>14} {:>16}",
            label,
            ratio(self.exact, self.exact_total),
            ratio(self.checks, self.checks_total),
            self.robustness_only
        );
    }
}

#[test]
fn accuracy_on_the_reply_parsing_corpus() {
    let Some(root) = reply_corpus() else { return };
    let mut scores: Vec<(&str, Score)> = [TRIMMER, GITHUB, TALON]
        .into_iter()
        .map(|s| (s, Score::default()))
        .collect();
    let mut misses = String::new();
    for case in all_cases(&root) {
        let (_, score) = scores.iter_mut().find(|(s, _)| *s == case.suite).unwrap();
        score.record(&case, &mut misses);
    }
    println!("\nreply_text accuracy on ../shared/corpus/reply-parsing");
    println!(
        "{:<27} {:>14} {:>14} {:>16}",
        "sub-corpus", "exact", "checks", "robustness only"
    );
    let mut total = Score::default();
    for (suite, score) in &scores {
        score.print_row(suite);
        total.add(score);
    }
    total.print_row("overall");
    if !misses.is_empty() {
        println!("mismatches:\n{misses}");
    }
    for (suite, score) in &scores {
        let ran = score.exact_total + score.checks_total + score.robustness_only;
        assert!(ran > 0, "no case of {suite} ran: is the corpus complete?");
    }
    assert!(
        total.exact_total >= 55,
        "only {} cases with an exact expectation: is the corpus complete?",
        total.exact_total
    );
    assert!(
        total.exact >= MIN_EXACT_MATCHES,
        "exact matches fell to {}/{} (at least {MIN_EXACT_MATCHES} expected)",
        total.exact,
        total.exact_total
    );
    assert!(
        total.checks >= MIN_CHECK_PASSES,
        "fragment-check passes fell to {}/{} (at least {MIN_CHECK_PASSES} expected)",
        total.checks,
        total.checks_total
    );
}

#[test]
fn every_reply_input_goes_through_without_panic_and_keeps_content() {
    let Some(root) = reply_corpus() else { return };
    let cases = all_cases(&root);
    assert!(cases.len() >= 70, "{} inputs", cases.len());
    let mut problems = Vec::new();
    for case in &cases {
        let result = std::panic::catch_unwind(|| strip_reply(&case.input));
        let id = format!("{}/{}", case.suite, case.name);
        match result {
            Err(_) => problems.push(format!("{id}: panic")),
            Ok(r) if r.text.is_empty() && !case.input.trim().is_empty() => {
                problems.push(format!("{id}: empty text for an input with content"))
            }
            Ok(_) => {}
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

fn ratio(n: usize, of: usize) -> String {
    if of == 0 {
        return "-".into();
    }
    format!("{n}/{of} ({:.0}%)", 100.0 * n as f64 / of as f64)
}

/// The first characters of `text`, for the mismatch list.
fn clip(text: &str) -> String {
    let clipped: String = text.chars().take(160).collect();
    if clipped.len() < text.len() {
        format!("{clipped}…")
    } else {
        clipped
    }
}

/// Beyond the reply-parsing files: the text body of every full message of the corpus
/// (bounces, forwards, HTML-only mail, broken MIME) goes through too.
#[test]
fn every_corpus_text_body_goes_through_without_panic_and_keeps_content() {
    let Some(reply_dir) = reply_corpus() else {
        return;
    };
    let dir = reply_dir.parent().unwrap();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let mut bodies = 0;
    for line in manifest.lines().skip(1) {
        let mut cols = line.split('\t');
        let (Some(path), Some("mime")) = (cols.next(), cols.next()) else {
            continue;
        };
        let raw = std::fs::read(dir.join(path)).unwrap();
        let Ok(message) = parse_message(&raw) else {
            continue;
        };
        let text = inbound_mail(&message).text;
        let result = std::panic::catch_unwind(|| strip_reply(&text));
        let result = result.unwrap_or_else(|_| panic!("{path}: panic"));
        assert!(
            !result.text.is_empty() || text.trim().is_empty(),
            "{path}: empty text for a body with content"
        );
        bodies += 1;
    }
    assert!(bodies > 200, "only {bodies} bodies read");
}
