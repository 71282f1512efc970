//! The new text of a reply, without the quoted earlier mail and the signature.
//!
//! Customers answer our notifications from every mail client there is, and most of them
//! copy the whole conversation below (or above) what the customer typed. A comment that
//! repeats the ticket's history on every answer is unreadable, so the comment keeps only
//! the new text; the caller keeps the original mail beside it whenever something was
//! removed, so nothing is ever lost.
//!
//! # How
//!
//! The body is cut into regions, top to bottom:
//!
//! * **quote**: `>` lines, together with the attribution just above them
//!   ("On Mon, 2 Apr 2012, Bob <b@x.org> wrote:", "Le … a écrit :", "Am … schrieb …:");
//! * **history**: from an attribution above an unprefixed quote (Outlook mobile, Gmail
//!   on phones), an `-----Original Message-----` / `-----Message d'origine-----` line, or
//!   a header block (`From: … Sent: … To: … Subject:`, `De : … Envoyé : … À : … Objet :`)
//!   down to the end of the mail;
//! * **signature**: from a `-- ` delimiter down to the next quote or history;
//! * **text**: everything else, which the writer typed.
//!
//! Only what trails the writer's last text is removed: quotes, history, signatures, and
//! client footers such as "Sent from my iPhone". Quotes *between* pieces of new text are
//! kept, because interleaved answers ("> Which version?" / "2.3") mean nothing without
//! them. The one exception is a bottom-posted reply: a single attributed quote at the top,
//! then the answer; the quote goes and the answer stays.
//!
//! # Fallbacks
//!
//! The result is never empty when the mail has any text. When nothing new is left:
//!
//! * a mail that *starts* with a forwarded message or a header block (a forward without a
//!   comment) gives the forwarded message's own text, stripped the same way;
//! * otherwise (only a quote, only a signature, a reply written inside the quote with no
//!   new line of its own) the whole text is kept, and [`StrippedReply::removed`] is false.
//!
//! # Cost
//!
//! One pass over the lines, each recogniser looking at a bounded part of a line or at a
//! bounded number of neighbouring lines, with linear-time regexes: time and memory grow
//! linearly with the input, whatever it holds.

mod lines;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use lines::{
    attribution_at, header_block_at, header_block_end, is_blank, is_decoration, is_footer,
    is_quoted, is_separator, is_sign_off, is_signature_delimiter,
};

/// A signature longer than this is more likely text after a stray `--` line: it is kept.
const MAX_SIGNATURE_LINES: usize = 20;
/// How many forwarded messages deep the forward fallback looks.
const MAX_FORWARD_DEPTH: usize = 2;

/// What [`strip_reply`] kept of a mail's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrippedReply {
    /// The new text, lines joined with `\n`, without whitespace at either end. Never empty
    /// when the input has a non-whitespace character.
    pub text: String,
    /// Whether anything besides surrounding whitespace and `\r` line endings was removed:
    /// the caller stores the original mail only then.
    pub removed: bool,
}

/// The new text of the plain-text body `text` of a reply: without the quoted history, the
/// signature and the mobile clients' footers. Never panics, takes time linear in the input,
/// and never returns an empty text for an input with content (see the module docs for the
/// rules and the fallbacks).
pub fn strip_reply(text: &str) -> StrippedReply {
    let normalized = normalize_line_endings(text);
    let whole = normalized.trim();
    let lines: Vec<&str> = normalized.split('\n').collect();
    let kept = new_text(&lines, 0, 0)
        .map(|(start, end)| lines[start..end].join("\n"))
        .filter(|t| !t.trim().is_empty());
    let text = match kept {
        Some(t) => t.trim().to_string(),
        None => whole.to_string(),
    };
    StrippedReply {
        removed: text != whole,
        text,
    }
}

/// `\r\n` and lone `\r` become `\n`.
fn normalize_line_endings(text: &str) -> Cow<'_, str> {
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// What a run of lines is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Lines the writer typed.
    Text,
    /// `>` lines, with the attribution above them when there is one.
    Quote { attributed: bool },
    /// From a signature delimiter to the next quote or history.
    Signature,
    /// From a strong attribution, a separator or a header block to the end of the mail.
    /// `forwarded` when it starts with a separator or a header block.
    History { forwarded: bool },
}

/// A run of lines of one kind. Blank lines between two runs belong to neither.
#[derive(Debug, Clone, Copy)]
struct Region {
    kind: Kind,
    start: usize,
    /// After the last non-blank line.
    end: usize,
    /// Non-blank lines.
    filled: usize,
    /// Non-blank lines that are client footers ("Sent from my iPhone").
    footers: usize,
}

impl Region {
    fn new(kind: Kind, start: usize, end: usize) -> Self {
        Region {
            kind,
            start,
            end,
            filled: 0,
            footers: 0,
        }
    }

    /// Whether the region is something to remove when nothing the writer typed follows.
    fn is_removable(&self) -> bool {
        match self.kind {
            Kind::Quote { .. } | Kind::History { .. } => true,
            Kind::Signature => self.filled <= MAX_SIGNATURE_LINES,
            Kind::Text => self.footers == self.filled,
        }
    }
}

/// The lines `start..end` holding the new text of `lines[from..]`, if any.
fn new_text(lines: &[&str], from: usize, depth: usize) -> Option<(usize, usize)> {
    let regions = segment(lines, from);
    let kept_count = regions.len()
        - regions
            .iter()
            .rev()
            .take_while(|r| r.is_removable())
            .count();
    let kept = &regions[..kept_count];
    let Some(last) = kept.last() else {
        // Nothing new. A forward without a comment: its own text is what was meant.
        return match regions.first() {
            Some(r)
                if r.kind == (Kind::History { forwarded: true }) && depth < MAX_FORWARD_DEPTH =>
            {
                new_text(lines, forwarded_body(lines, r.start), depth + 1)
            }
            _ => None,
        };
    };
    let start = match kept {
        // Bottom-posting: one attributed quote on top, then the answer.
        [first, rest @ ..]
            if first.kind == (Kind::Quote { attributed: true })
                && !rest.iter().any(|r| matches!(r.kind, Kind::Quote { .. })) =>
        {
            rest.first().map_or(first.start, |r| r.start)
        }
        _ => kept[0].start,
    };
    let end = trim_footers(lines, start, last.end);
    Some((start, end))
}

/// Cuts `lines[from..]` into regions.
fn segment(lines: &[&str], from: usize) -> Vec<Region> {
    let mut regions: Vec<Region> = Vec::new();
    let mut in_signature = false;
    let mut i = from;
    while i < lines.len() {
        let line = lines[i];
        if is_blank(line) {
            i += 1;
            continue;
        }
        if is_quoted(line) {
            let end = quote_end(lines, i);
            regions.push(Region::new(Kind::Quote { attributed: false }, i, end));
            in_signature = false;
            i = end;
            continue;
        }
        if let Some(attribution) = attribution_at(lines, i) {
            match next_non_blank(lines, attribution.end) {
                Some(q) if is_quoted(lines[q]) => {
                    let end = quote_end(lines, q);
                    regions.push(Region::new(Kind::Quote { attributed: true }, i, end));
                    in_signature = false;
                    i = end;
                    continue;
                }
                _ if attribution.strong => {
                    let kind = Kind::History { forwarded: false };
                    regions.push(Region::new(kind, i, lines.len()));
                    break;
                }
                _ => {}
            }
        }
        if is_separator(line) || header_block_at(lines, i) {
            let kind = Kind::History { forwarded: true };
            regions.push(Region::new(kind, i, lines.len()));
            break;
        }
        let starts_signature = is_signature_delimiter(line) && !in_signature;
        in_signature |= starts_signature;
        let kind = if in_signature {
            Kind::Signature
        } else {
            Kind::Text
        };
        match regions.last_mut() {
            Some(r) if r.kind == kind && !starts_signature => r.end = i + 1,
            _ => regions.push(Region::new(kind, i, i + 1)),
        }
        if let Some(r) = regions.last_mut() {
            r.filled += 1;
            r.footers += usize::from(is_footer(line));
        }
        i += 1;
    }
    regions
}

/// After the last `>` line of the quote starting at `i` (blank lines may separate them).
fn quote_end(lines: &[&str], i: usize) -> usize {
    let mut last = i;
    for (j, line) in lines.iter().enumerate().skip(i) {
        if is_quoted(line) {
            last = j;
        } else if !is_blank(line) {
            break;
        }
    }
    last + 1
}

fn next_non_blank(lines: &[&str], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&j| !is_blank(lines[j]))
}

/// Where the text of a forwarded message starting at `i` begins: after its separator line
/// and its header block.
fn forwarded_body(lines: &[&str], i: usize) -> usize {
    let mut j = i;
    if lines.get(j).is_some_and(|l| is_separator(l)) {
        j += 1;
    }
    j = next_non_blank(lines, j).unwrap_or(lines.len());
    if header_block_at(lines, j) {
        j = header_block_end(lines, j);
    }
    j
}

/// `end` moved up over trailing blank lines, client footers, decoration lines
/// (`-----` left above a cut) and a one-line `-Name` sign-off. If that would remove every
/// line, `end` is kept: a mail that only says "Sent from my iPhone" says that.
fn trim_footers(lines: &[&str], start: usize, end: usize) -> usize {
    let skip_blank = |mut e: usize| {
        while e > start && is_blank(lines[e - 1]) {
            e -= 1;
        }
        e
    };
    let mut e = skip_blank(end);
    while e > start && (is_footer(lines[e - 1]) || is_decoration(lines[e - 1])) {
        e = skip_blank(e - 1);
    }
    if e >= start + 3 && is_sign_off(lines[e - 1]) && is_blank(lines[e - 2]) {
        e = skip_blank(e - 1);
    }
    if e > start { e } else { end }
}
