//! Accuracy of [`strip_mail`] (what the pipeline calls) on the reply-parsing part of the
//! shared corpus (expectations written by three other projects) and on our own fixtures,
//! and robustness on every input there.
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
mod fixtures;

use std::fmt::Write as _;

use crate::support::helpers::{TestEnv, created};
use cases::{
    Case, Check, Expected, GITHUB, TALON, TRIMMER, all_cases, holds, normalise, reply_corpus,
};
use ticketgate::pipeline::Outcome;
use ticketgate::pipeline::parse::{inbound_mail, parse_message};
use ticketgate::pipeline::reply_text::strip_mail;

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
        let actual = normalise(&strip_mail(&case.input, case.html.as_deref()).text);
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
        let result = std::panic::catch_unwind(|| strip_mail(&case.input, case.html.as_deref()));
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

/// Beyond the reply-parsing files: the text and HTML bodies of every full message of the
/// corpus (bounces, forwards, HTML-only mail, broken MIME) go through too.
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
        let mail = inbound_mail(&message);
        let (text, html) = (&mail.text, mail.html.as_deref());
        let result = std::panic::catch_unwind(|| strip_mail(text, html));
        let result = result.unwrap_or_else(|_| panic!("{path}: panic"));
        assert!(
            !result.text.is_empty() || text.trim().is_empty(),
            "{path}: empty text for a body with content"
        );
        bodies += 1;
    }
    assert!(bodies > 200, "only {bodies} bodies read");
}

/// Our own fixtures (`tests/reply_text/fixtures/`, see [`fixtures`]): every one must give
/// its expected text.
#[test]
fn accuracy_on_our_reply_fixtures() {
    if crate::support::postgres::server().is_some() {
        return;
    }
    let (matched, total, misses) = fixtures::score();
    println!("\nreply_text on tests/reply_text/fixtures: {matched}/{total} exact");
    if !misses.is_empty() {
        println!("mismatches:\n{}", misses.join("\n"));
    }
    assert!(
        total >= 90,
        "only {total} fixtures: is the folder complete?"
    );
    assert_eq!(
        matched, total,
        "fixtures that do not give their expected text"
    );
}

/// The pipeline, on a real database: an HTML-only reply (Mail.ru's, whose quote only its
/// HTML marks) becomes a comment with the new text, the whole mail beside it; a reply with
/// nothing new keeps the whole mail, with a note that says so.
#[tokio::test]
async fn a_comment_keeps_the_new_text_of_an_html_only_reply() {
    if crate::support::postgres::server().is_some() {
        return;
    }
    let env = TestEnv::new().await;
    let n = created(&env.fixture("new_ticket.eml", None).await);
    let reply = |id: &str, html: &str| {
        format!(
            "From: Alice Martin <alice@acme.example>\r\nTo: support@localhost\r\n\
             Subject: Re: [#{n}] VPN is down since this morning\r\nMessage-ID: <{id}@acme.example>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}"
        )
    };
    let html = std::fs::read_to_string(fixtures::dir().join("mailru_html.html")).unwrap();
    let outcome = env.process(reply("mailru", &html).as_bytes()).await;
    assert_eq!(outcome, Outcome::Commented(n.clone()));
    let comment = env.details(&n).await.articles.pop().unwrap();
    assert_eq!(
        comment.body_text,
        "Добрый день,\n\nвсё заработало, спасибо!\n\nИрина"
    );
    assert!(
        comment
            .body_original
            .as_deref()
            .is_some_and(|o| o.contains("Мы восстановили доступ")),
        "the whole mail stays on the article: {comment:?}"
    );
    assert_eq!(comment.note, None);

    let html = std::fs::read_to_string(fixtures::dir().join("html_only_quote.html")).unwrap();
    let outcome = env.process(reply("nothing-new", &html).as_bytes()).await;
    assert_eq!(outcome, Outcome::Commented(n.clone()));
    let comment = env.details(&n).await.articles.pop().unwrap();
    assert!(comment.body_text.contains("Is the problem solved?"));
    assert!(
        comment
            .note
            .as_deref()
            .is_some_and(|n| n.contains("whole mail is kept")),
        "{comment:?}"
    );
}
