//! The new text of a mail with an HTML body, where the HTML's structure says what is
//! quoted when the text alone cannot (an attribution in a language the text rules do not
//! know, an Outlook header block, the text mail-parser makes of an HTML-only mail, which
//! has no `>` and runs blocks together).
//!
//! The text rules run first, on the mail's text. The HTML is read only when it holds one
//! of the clients' marks (a cheap search), and its reading replaces the text rules' answer
//! when:
//!
//! * the mail's text is the HTML's conversion (an HTML-only mail): the HTML, read with its
//!   structure, is the better text; or
//! * the text rules kept some of what the HTML marks as quoted: a few lines of what the
//!   HTML's reading removed ("probes", letters and digits only, so that line wrapping and
//!   `>` do not matter) are found in the text rules' answer.
//!
//! Otherwise the mail's own text part, read by the text rules, is kept: it is what the
//! writer's client made, and the HTML agreed with it.

use std::sync::LazyLock;

use mail_parser::decoders::html::html_to_text;
use regex::Regex;

use super::html::{self, Rendered};
use super::lines::{is_blank, pattern};
use super::{StrippedReply, headers, regions, strip_reply};

/// Probes shorter than this (letters and digits) could match by chance.
const MIN_PROBE: usize = 16;
/// The length of a probe (letters and digits).
const PROBE_LEN: usize = 48;
/// How many probes are looked for.
const MAX_PROBES: usize = 8;
/// How many lines below a history mark its header block may take.
const HEADER_LINES: usize = 12;

/// The marks that make the HTML worth reading (see `html/elements.rs`).
static MARKS: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)blockquote|gmail_quote|yahoo_quoted|moz-cite-prefix|protonmail_quote|divrplyfwdmsg|appendonsend|outlookmessageheader|border-top|stopspelling|zwchr|mail-editor-reference",
    )
});

/// The new text of a mail whose text body is `text` and HTML body `html` (mail-parser's
/// conversion of the HTML when the mail has no text part): [`strip_reply`] on the text,
/// unless the HTML's structure shows that it kept quoted history (see the module docs).
/// Never panics, linear in the input, and never empty when `text` or `html` has content.
pub fn strip_mail(text: &str, html: Option<&str>) -> StrippedReply {
    let plain = strip_reply(text);
    let Some(html) = html else {
        return plain;
    };
    if plain.text.is_empty() {
        return html_alone(html).unwrap_or(plain);
    }
    if !MARKS.is_match(html) {
        return plain;
    }
    let rendered = html::render(html);
    if !rendered.structured {
        return plain;
    }
    let Some(reply) = HtmlReply::of(&rendered) else {
        return plain;
    };
    if !reply.removed {
        return plain;
    }
    let html_only = html_to_text(html).trim() == text.trim();
    if html_only || plain.whole_kept || reply.kept_by(&plain.text) {
        return StrippedReply {
            text: reply.text,
            removed: true,
            whole_kept: false,
        };
    }
    plain
}

/// A mail whose text part is empty: the HTML is all there is.
fn html_alone(html: &str) -> Option<StrippedReply> {
    let rendered = html::render(html);
    if let Some(reply) = HtmlReply::of(&rendered) {
        return Some(StrippedReply {
            text: reply.text,
            removed: true,
            whole_kept: false,
        });
    }
    let whole = rendered.lines.join("\n").trim().to_string();
    (!whole.is_empty()).then_some(StrippedReply {
        text: whole,
        removed: true,
        whole_kept: true,
    })
}

/// What the HTML's reading keeps, and probes of what it removed.
struct HtmlReply {
    text: String,
    removed: bool,
    probes: Vec<String>,
}

impl HtmlReply {
    /// The text rules on the rendered lines above the history mark; when nothing is new
    /// there and the mail starts with the mark (a forward without a comment), on the
    /// forwarded mail below its header block. `None` when nothing new is found.
    fn of(rendered: &Rendered) -> Option<Self> {
        let lines: Vec<&str> = rendered.lines.iter().map(String::as_str).collect();
        let cut = rendered.history_from.unwrap_or(lines.len());
        let (start, end) = match regions::new_text(&lines[..cut], 0, 0) {
            Some(range) => range,
            None => {
                let from = forwarded_body(&lines, rendered.history_from?);
                regions::new_text(&lines, from, 1)?
            }
        };
        let text = lines[start..end].join("\n").trim().to_string();
        if text.is_empty() {
            return None;
        }
        let outside = || lines[end..].iter().chain(&lines[..start]);
        Some(HtmlReply {
            text,
            removed: outside().any(|l| !is_blank(l)),
            probes: outside()
                .map(|l| normalised(l).take(PROBE_LEN).collect::<String>())
                .filter(|p| p.chars().count() >= MIN_PROBE)
                .take(MAX_PROBES)
                .collect(),
        })
    }

    /// Whether `text` holds one of the probes.
    fn kept_by(&self, text: &str) -> bool {
        if self.probes.is_empty() {
            return false;
        }
        let text: String = normalised(text).collect();
        self.probes.iter().any(|p| text.contains(p.as_str()))
    }
}

/// The letters and digits of `text`, lowercased.
fn normalised(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
}

/// Where the forwarded mail's text starts below a history mark at `at`: after the header
/// block when there is one (in any language: the mark says where it is).
fn forwarded_body(lines: &[&str], at: usize) -> usize {
    let Some(first) = (at..lines.len()).find(|&i| !is_blank(lines[i])) else {
        return lines.len();
    };
    if !headers::looks_like_header_block(lines, first) {
        return first;
    }
    let run = lines[first..]
        .iter()
        .take(HEADER_LINES)
        .take_while(|l| !is_blank(l))
        .count();
    first + run
}
