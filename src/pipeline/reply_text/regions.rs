//! The regions of a plain-text body (the writer's text, quotes, history, signature) and
//! which of them are the new text; see the parent module for the rules.

use super::attribution::{Strength, attribution_at, quoted_attribution};
use super::headers::{header_block_at, header_block_end, separator_at};
use super::lines::{
    is_blank, is_decoration, is_footer, is_quoted, is_sign_off, signature_delimiter_at,
};

/// A signature longer than this is more likely text after a stray `--` line: it is kept.
const MAX_SIGNATURE_LINES: usize = 20;
/// How many forwarded messages deep the forward fallback looks.
const MAX_FORWARD_DEPTH: usize = 2;

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
pub(super) fn new_text(lines: &[&str], from: usize, depth: usize) -> Option<(usize, usize)> {
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
            // iOS Mail quotes the attribution too: "> On … wrote:" on top of the quote.
            let attributed = quoted_attribution(line).is_some_and(|s| s >= Strength::Verb);
            regions.push(Region::new(Kind::Quote { attributed }, i, end));
            in_signature = false;
            i = end;
            continue;
        }
        if let Some(attribution) = attribution_at(lines, i) {
            match next_non_blank(lines, attribution.end) {
                Some(q) if is_quoted(lines[q]) => {
                    let end = quote_end(lines, q);
                    // A mere date and colon above a quote goes with it, but does not make
                    // a quote on top of the answer a bottom-posted one.
                    let attributed = attribution.strength >= Strength::Verb;
                    regions.push(Region::new(Kind::Quote { attributed }, i, end));
                    in_signature = false;
                    i = end;
                    continue;
                }
                _ if attribution.strength == Strength::Strong => {
                    let kind = Kind::History { forwarded: false };
                    regions.push(Region::new(kind, i, lines.len()));
                    break;
                }
                _ => {}
            }
        }
        if separator_at(lines, i) || header_block_at(lines, i) {
            let kind = Kind::History { forwarded: true };
            regions.push(Region::new(kind, i, lines.len()));
            break;
        }
        let starts_signature = !in_signature && signature_delimiter_at(lines, i);
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
    if separator_at(lines, j) {
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
