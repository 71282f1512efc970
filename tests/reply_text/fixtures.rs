//! Our own reply fixtures, `tests/reply_text/fixtures/`: replies written the way real
//! clients write them (Gmail, Apple Mail, Thunderbird, Outlook desktop and web, Yahoo,
//! Hotmail, Mail.ru, Yandex) in the languages customers write in, each beside the text a
//! comment should keep (`NAME.expected.txt`).
//!
//! * `NAME.txt` is a plain-text body, read as it is;
//! * `NAME.html` is the HTML body of an HTML-only mail: it is wrapped in a `text/html`
//!   part and parsed like any mail, so the text the reply is read from is the one the
//!   pipeline would have (mail-parser's conversion of the HTML);
//! * `NAME.eml` is a whole message (text and HTML alternatives).
//!
//! Each goes through [`reply_of`], the very call the pipeline makes. Texts are compared as
//! for the corpus ([`normalise`]).

use std::path::{Path, PathBuf};

use super::cases::normalise;
use ticketgate::pipeline::parse::{inbound_mail, parse_message};
use ticketgate::pipeline::reply_text::{StrippedReply, strip_mail};

/// One fixture: its file name and what it gives.
pub struct Fixture {
    pub file: String,
    pub expected: String,
}

/// The folder of the fixtures.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reply_text/fixtures")
}

/// Every fixture, sorted by file name; a missing expectation fails.
pub fn all() -> Vec<Fixture> {
    let dir = dir();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.ends_with(".expected.txt"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let stem = file.rsplit_once('.').unwrap().0;
            let expected = dir.join(format!("{stem}.expected.txt"));
            let expected = std::fs::read_to_string(&expected)
                .unwrap_or_else(|e| panic!("{}: {e}", expected.display()));
            Fixture { file, expected }
        })
        .collect()
}

/// What the pipeline keeps of the fixture `file`.
pub fn reply_of(file: &str) -> StrippedReply {
    let bytes = std::fs::read(dir().join(file)).unwrap();
    if file.ends_with(".txt") {
        return strip_mail(&String::from_utf8(bytes).unwrap(), None);
    }
    let raw = if file.ends_with(".html") {
        let mut raw =
            b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n".to_vec();
        raw.extend(bytes);
        raw
    } else {
        bytes
    };
    let message = parse_message(&raw).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mail = inbound_mail(&message);
    strip_mail(&mail.text, mail.html.as_deref())
}

/// Runs every fixture: how many gave their expected text, of how many, and a line for
/// each that did not.
pub fn score() -> (usize, usize, Vec<String>) {
    let fixtures = all();
    let mut misses = Vec::new();
    for f in &fixtures {
        let actual = normalise(&reply_of(&f.file).text);
        let expected = normalise(&f.expected);
        if actual != expected {
            misses.push(format!(
                "  {}: expected {expected:?}\n      got {actual:?}",
                f.file
            ));
        }
    }
    (fixtures.len() - misses.len(), fixtures.len(), misses)
}
