//! The attribution a client writes above the mail it quotes: "On … Bob <b@x> wrote:",
//! "Le … a écrit :", "вт, 12 мая 2020 г. в 10:15, Bob <b@x>:", "Bob <b@x> 于2020年5月12日写道：".
//!
//! Three ways to recognise one, from the most to the least certain:
//!
//! * a **lead word and a verb** ("On … wrote:", "Am … schrieb …:") with a digit;
//! * a **verb** alone ("… napsal(a):", "… пише:", "… kirjoitti 12.5.2020 klo 10.15:");
//! * its **shape**: a date or a time, then a name with its address in brackets and a colon
//!   at the end, whatever the language ("2020-05-12 10:15 GMT+02:00 Bob <b@x>:",
//!   "tir. 12. mai 2020 kl. 10:15 skrev Bob <b@x>:"). A date or time and a colon without an
//!   address is a weaker shape: it only counts right above a `>` quote.
//!
//! An attribution may be wrapped over up to [`ATTRIBUTION_LINES`] lines.

use std::sync::LazyLock;

use regex::Regex;

use super::lines::{SHORT_LINE, is_blank, is_quoted, pattern, unquoted};

/// How many lines an attribution may be wrapped over ("On …,\n<address>\nwrote:").
const ATTRIBUTION_LINES: usize = 4;

/// How sure a recognised attribution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Strength {
    /// A date or a time and a colon at the end, nothing more: an attribution only right
    /// above a `>` quote, and even there the quote is not taken as bottom-posted.
    Shape,
    /// A verb without an address ("Bob wrote:"): counts above a `>` quote.
    Verb,
    /// A lead word and a verb with a date, a verb with an address, or a date with a
    /// bracketed address: the rest of the mail is history even when it is not `>`-quoted.
    Strong,
}

/// The lines `start..end` are an attribution of some [`Strength`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Attribution {
    pub end: usize,
    pub strength: Strength,
}

/// Attributions that start with a lead word and end with a verb, one pair per language:
/// Gmail, Apple Mail, Thunderbird and most webmails write them this way. A digit (the date)
/// must also appear, which keeps prose such as "On the ticket, Bob wrote:" out.
static LEAD_ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?ix)^(?:-{2,}\s*)?(?:
            on\s.+[\s>,]wrote
          | le\s.+[\s>,]a\s+écrit
          | am\s.+[\s>,]schrieb(?:\s.+)?
          | el\s.+[\s>,]escribió
          | em\s.+[\s>,]escreveu
          | op\s.+[\s>,](?:het\s+volgende\s+geschreven|schreef(?:\s.+)?)
          | den\s.+[\s>,]skrev(?:\s.+)?
          | (?:dnia|w\s+dniu)\s.+[\s>,](?:napisał(?:\(a\)|a)?|pisze)
          | dne\s.+[\s>,]napsal(?:\(a\)|a)?
          | (?:il|in\s+data)\s.+[\s>,](?:ha\s+scritto|scrisse)
          | 在.+[写寫]道
        )\s*(?:[:：]|-{2,})$",
    )
});

/// A verb that ends an attribution ("… schrieb:", "… пишет:", "… 写道：", "…のメール:"),
/// possibly followed by the date in parentheses (Hungarian Gmail: "… ezt írta (időpont:
/// 2020. máj. 12., K, 10:15):").
static VERB_ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?ix)(?:
            (?:^|[\s>,)])(?:wrote|a\s+écrit|schrieb|escribió|escreveu|geschreven|schreef|skrev
                |napisał(?:\(a\)|a)?|napsal(?:\(a\)|a)?|pisze|написал(?:\(а\)|а)?|пишет
                |написав(?:\(ла\)|ла)?|пише|ha\s+scritto|scrisse|kirjoitti|yazdı|έγραψε
                |ezt\s+írta(?:\s*\([^()]{0,80}\))?)
          | 写道|寫道|のメッセージ|のメール|님이\s*작성
        )\s*[:：]$",
    )
});

/// A verb followed by the date ("Bob kirjoitti 12.5.2020 klo 10.15:", "Bob wrote on
/// 12/05/2020:").
static VERB_THEN_DATE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)(?:^|[\s>,])(?:kirjoitti|wrote|schrieb|skrev|schreef|escribió)\s.{0,80}\d.{0,40}[:：]$",
    )
});

/// Gmail's older attribution without a verb: `2013/7/20 Name <address>`.
static DATED_ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\d{4}/\d{1,2}/\d{1,2}\s.+<[^<>\s]+@[^<>\s]+>$"));

/// A date or a time: `12.05.2020`, `2020-05-12`, `12/5/20` (not an IP address's
/// `0.2.153`), `10:15`, `10.15` after `kl` or `klo`, a year, `2020年5月12日`.
static DATE_OR_TIME: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)(?:^|[^\d.])\d{1,4}[./-]\s?\d{1,2}[./-]\s?\d{2,4}(?:[^\d.]|$)|\b\d{1,2}:\d{2}\b|\bklo?\.?\s\d{1,2}[.:]\d{2}\b|\b(?:19|20)\d{2}\b|\d{1,4}年\d{1,2}月",
    )
});

/// Whether `line` holds a digit of any script, without which [`DATE_OR_TIME`] (whose `\d`
/// is Unicode's) cannot match: a test far cheaper than the pattern.
fn may_hold_a_date(line: &str) -> bool {
    line.chars().any(char::is_numeric)
}

/// A name's address in brackets just before the closing colon: `<b@x>:`, `(b@x):`,
/// `[mailto:b@x]:`, `(<b@x>):`; `< b@x>:` or `<b@x >:` where a wrapped line was joined.
static ADDRESS_AT_END: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"[<(\[]\s?(?:mailto:)?[^<>()\[\]\s@]+@[^<>()\[\]\s@]+\s?[>)\]]\)?\s*[:：]$")
});

/// An attribution whose colon was left out: a bracketed address, then the verb, then the
/// end of the line ("On Wed, 14 Nov 2018 08:14:43 -0200 Bob <b@x> wrote").
static WITHOUT_COLON: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)[<(\[][^<>()\[\]\s@]+@[^<>()\[\]\s@]+[>)\]]\s+(?:wrote|a\s+écrit|schrieb|escribió|escreveu|ha\s+scritto|schreef|skrev|kirjoitti|napisał(?:\(a\)|a)?|napsal(?:\(a\)|a)?|написал(?:\(а\)|а)?|пише)$",
    )
});

/// Whether a line may be part of an attribution: short, not blank, not quoted, except for
/// a lone `>:` (Gmail wraps "… <b@x" / ">:" when the address fills the line).
fn attribution_line(line: &str, wrapped: bool) -> bool {
    if wrapped && matches!(line.trim(), ">:" | ">：") {
        return true;
    }
    line.len() <= SHORT_LINE && !is_blank(line) && !is_quoted(line)
}

/// What `joined` (an attribution candidate ending in a colon or dash, joined from
/// `wraps + 1` lines) is, if anything. `dated_start`: its first line holds a date or a
/// time, or it is one line.
fn classify(joined: &str, wraps: usize, dated_start: bool) -> Option<Strength> {
    let has_digit = joined.bytes().any(|b| b.is_ascii_digit());
    if has_digit && LEAD_ATTRIBUTION.is_match(joined) {
        return Some(Strength::Strong);
    }
    if wraps == 0 && DATED_ADDRESS.is_match(joined) {
        return Some(Strength::Strong);
    }
    if !dated_start {
        return None;
    }
    let dated = has_digit && DATE_OR_TIME.is_match(joined);
    // By its shape alone, over two lines at most (clients wrap an attribution once, at
    // the address): a date in one sentence and an address three lines below is prose.
    if dated && wraps <= 1 && ADDRESS_AT_END.is_match(joined) {
        return Some(Strength::Strong);
    }
    if VERB_ATTRIBUTION.is_match(joined) || (dated && VERB_THEN_DATE.is_match(joined)) {
        let strength = if joined.contains('@') {
            Strength::Strong
        } else {
            Strength::Verb
        };
        return Some(strength);
    }
    (dated && joined.ends_with([':', '：'])).then_some(Strength::Shape)
}

/// The attribution starting at `lines[i]`, if any, possibly wrapped over a few lines.
pub(super) fn attribution_at(lines: &[&str], i: usize) -> Option<Attribution> {
    let mut joined = String::new();
    let mut best: Option<Attribution> = None;
    for (k, line) in lines.iter().skip(i).take(ATTRIBUTION_LINES).enumerate() {
        if !attribution_line(line, k > 0) {
            break;
        }
        if k > 0 {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        if !joined.ends_with([':', '：', '-', '>']) {
            // A wrapped attribution does not end a sentence before its verb: a line that
            // does is the writer's, even when the next one reads "Bob <b@x> wrote:".
            if joined.ends_with(['.', '!', '?', '。', '！', '？']) {
                break;
            }
            // Cheapest first: this runs on nearly every line the writer typed, and the
            // date's word boundaries send the regex engine to its slowest path.
            if k <= 1
                && joined.contains('@')
                && may_hold_a_date(lines[i])
                && WITHOUT_COLON.is_match(&joined)
                && DATE_OR_TIME.is_match(lines[i])
            {
                return Some(Attribution {
                    end: i + k + 1,
                    strength: Strength::Strong,
                });
            }
            continue;
        }
        // Without a lead word, a wrapped attribution must start with its date: this keeps
        // "Thanks!" from being read as the first line of "Bob <b@x> wrote:" below it.
        let dated_start = k == 0 || (may_hold_a_date(lines[i]) && DATE_OR_TIME.is_match(lines[i]));
        let Some(strength) = classify(&joined, k, dated_start) else {
            continue;
        };
        let found = Attribution {
            end: i + k + 1,
            strength,
        };
        if strength == Strength::Strong {
            return Some(found);
        }
        if best.is_none_or(|b| b.strength < strength) {
            best = Some(found);
        }
    }
    best
}

/// The strength of the attribution a `>` line holds ("> On … wrote:", as iOS Mail quotes
/// it), if it holds one on its own.
pub(super) fn quoted_attribution(line: &str) -> Option<Strength> {
    let inner = unquoted(line).trim();
    if inner.is_empty() || inner.len() > SHORT_LINE || !inner.ends_with([':', '：']) {
        return None;
    }
    classify(inner, 0, true)
}
