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
//! The body is cut into regions, top to bottom (`regions.rs`):
//!
//! * **quote**: `>` lines, together with the attribution just above them
//!   ("On Mon, 2 Apr 2012, Bob <b@x.org> wrote:", "Le … a écrit :", "вт, 12 мая 2020 г. в
//!   10:15, Bob <b@x.org>:"; `attribution.rs` recognises them by lead word, verb or shape);
//! * **history**: from an attribution above an unprefixed quote (Outlook mobile, Gmail
//!   on phones), an `-----Original Message-----` / `-----Message d'origine-----` line, or
//!   a header block (`From: … Sent: … To: … Subject:`, `De : … Envoyé : … À : … Objet :`,
//!   in the languages of `headers.rs`) down to the end of the mail;
//! * **signature**: from a `-- ` delimiter down to the next quote or history;
//! * **text**: everything else, which the writer typed.
//!
//! Only what trails the writer's last text is removed: quotes, history, signatures, and
//! client footers such as "Sent from my iPhone". Quotes *between* pieces of new text are
//! kept, because interleaved answers ("> Which version?" / "2.3") mean nothing without
//! them. The one exception is a bottom-posted reply: a single attributed quote at the top,
//! then the answer; the quote goes and the answer stays.
//!
//! Where the mail has HTML, [`strip_mail`] also reads its structure (`html.rs`: Gmail's
//! `gmail_quote`, `blockquote type=cite`, Outlook's `divRplyFwdMsg`…), and its reading
//! wins where the text alone kept what the HTML marks as quoted (`mail.rs`).
//!
//! # Fallbacks
//!
//! The result is never empty when the mail has any text. When nothing new is left:
//!
//! * a mail that *starts* with a forwarded message or a header block (a forward without a
//!   comment) gives the forwarded message's own text, stripped the same way;
//! * otherwise (only a quote, only a signature, a reply written inside the quote with no
//!   new line of its own) the whole text is kept, [`StrippedReply::removed`] is false and
//!   [`StrippedReply::whole_kept`] true.
//!
//! # Cost
//!
//! One pass over the lines, each recogniser looking at a bounded part of a line or at a
//! bounded number of neighbouring lines, with linear-time regexes; the HTML is tokenized
//! once, without a tree: time and memory grow linearly with the input, whatever it holds.
//!
//! docs/reply-text.md has every form recognised and the figures.

mod attribution;
mod headers;
mod html;
mod lines;
mod mail;
mod regions;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

pub use mail::strip_mail;

/// What [`strip_reply`] or [`strip_mail`] kept of a mail's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrippedReply {
    /// The new text, lines joined with `\n`, without whitespace at either end. Never empty
    /// when the input has a non-whitespace character.
    pub text: String,
    /// Whether anything besides surrounding whitespace and `\r` line endings was removed:
    /// the caller stores the original mail only then.
    pub removed: bool,
    /// Whether no new text could be told apart from what the mail quotes (only a quote,
    /// only a signature, a reply written inside the quote), so that `text` is the whole
    /// mail: the comment says so rather than show nothing.
    pub whole_kept: bool,
}

/// The new text of the plain-text body `text` of a reply: without the quoted history, the
/// signature and the mobile clients' footers. Never panics, takes time linear in the input,
/// and never returns an empty text for an input with content (see the module docs for the
/// rules and the fallbacks).
pub fn strip_reply(text: &str) -> StrippedReply {
    let normalized = normalize_line_endings(text);
    let whole = normalized.trim();
    let lines: Vec<&str> = normalized.split('\n').collect();
    match kept_text(&lines) {
        Some(text) => StrippedReply {
            removed: text != whole,
            text,
            whole_kept: false,
        },
        None => StrippedReply {
            text: whole.to_string(),
            removed: false,
            whole_kept: !whole.is_empty(),
        },
    }
}

/// The new text of `lines`, trimmed; `None` when there is none.
fn kept_text(lines: &[&str]) -> Option<String> {
    regions::new_text(lines, 0, 0)
        .map(|(start, end)| lines[start..end].join("\n").trim().to_string())
        .filter(|t| !t.is_empty())
}

/// `\r\n` and lone `\r` become `\n`.
fn normalize_line_endings(text: &str) -> Cow<'_, str> {
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}
