//! What one line of a plain-text mail body is: a quote, a signature delimiter, a mobile
//! client's footer, a decoration; and the helpers the other recognisers share (attributions
//! are in `attribution.rs`, separators and header blocks in `headers.rs`).
//!
//! Every recogniser looks at a bounded amount of text: whole-line patterns only consider
//! lines up to [`SHORT_LINE`] bytes (attributions, separators and footers are short), and
//! prefix patterns only the first [`PREFIX`] bytes. The regex crate matches in linear time,
//! so a line of 700 KB costs no more than a line of 300 bytes.

use std::sync::LazyLock;

use regex::Regex;

/// Longest line that may be part of an attribution, a separator or a footer.
pub(super) const SHORT_LINE: usize = 300;
/// How much of a line the prefix patterns (header keys) look at.
pub(super) const PREFIX: usize = 200;
/// Leading spaces allowed before the `>` of a quoted line.
const QUOTE_INDENT: usize = 4;

/// Compiles a constant pattern. The unit tests exercise every pattern, so this cannot fail
/// at run time.
pub(super) fn pattern(source: &str) -> Regex {
    Regex::new(source).expect("a valid constant pattern")
}

/// The first `max` bytes of `line`, cut on a character boundary.
pub(super) fn head(line: &str, max: usize) -> &str {
    if line.len() <= max {
        return line;
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// `line` without its surrounding whitespace, or `None` when it is too long to be one of
/// the short lines the whole-line patterns look for.
pub(super) fn short(line: &str) -> Option<&str> {
    (line.len() <= SHORT_LINE).then(|| line.trim())
}

/// A line with nothing but whitespace.
pub(super) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// A line of quoted text: `>` after at most a few spaces (`> text`, `>> text`, ` > text`).
pub(super) fn is_quoted(line: &str) -> bool {
    head(line, QUOTE_INDENT + 1)
        .trim_start_matches([' ', '\t'])
        .starts_with('>')
}

/// What a `>` line says without its `>` marks and the spaces between them.
pub(super) fn unquoted(line: &str) -> &str {
    line.trim_start_matches([' ', '\t', '>'])
}

/// The signature delimiter: `-- ` (RFC 3676), or `--` as many clients trim the space (and
/// HTML-to-text conversions pad it with no-break spaces); also the line of underscores
/// above a mailing list's footer.
pub(super) fn is_signature_delimiter(line: &str) -> bool {
    short(line).is_some_and(|l| l == "--" || (l.len() >= 5 && l.bytes().all(|b| b == b'_')))
}

/// A signature delimiter at `lines[i]` that is not a dash inside a sentence: "the one that
/// writes the archive" / "--" / "not the upload" is one sentence, whose first line does not
/// end it and whose last goes on in lower case. A signature starts after a greeting or a
/// blank line, and its first line is a name.
pub(super) fn signature_delimiter_at(lines: &[&str], i: usize) -> bool {
    if !is_signature_delimiter(lines[i]) {
        return false;
    }
    let before = i.checked_sub(1).map(|j| lines[j].trim_end());
    let after = lines.get(i + 1).map(|l| l.trim_start());
    let (Some(before), Some(after)) = (before, after) else {
        return true;
    };
    let open_sentence = !before.trim().is_empty()
        && !before.ends_with(['.', '!', '?', ':', ';', ',', ')', '…'])
        && !is_quoted(before);
    let goes_on = after.chars().next().is_some_and(char::is_lowercase);
    !(open_sentence && goes_on)
}

/// Lines mobile and desktop clients add below the text ("Sent from my iPhone", "Envoyé de
/// mon iPhone", "Get Outlook for Android"). "Sent from my desk, much easier" is prose:
/// after "Sent from my" only a few words, a link, or an apology for typos may follow.
static FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?ix)^(?:
            sent\s+from\s+my\s+[\w-]+(?:\s+[\w-]+){0,5}\s*(?:<[^>]*>)?\.?
          | sent\s+from\s+my\s+[\w-]+(?:\s+[\w-]+){0,5}[.,;!]?\s+(?:please\s+)?(?:excuse|pardon|forgive|sorry)\b.*
          | from\s+my\s+(?:iphone|ipad|android|mobile|phone|samsung|galaxy|blackberry|cell)\b.{0,30}
          | (?:\w+\s+)?from\s+(?:my\s+)?(?:mobile|phone|cell|iphone|ipad|android)(?:\s+device|\s+phone)?\.?
          | get\s+\[?outlook\s+for\b.*
          | envoy[ée]\s+(?:de|depuis|à\s+partir\s+de|avec)\s+(?:mon|ma)\s.{1,50}
          | (?:envoy[ée]\s+(?:de|depuis|à\s+partir\s+de|avec)|télécharger)\s+outlook\s.{1,50}
          | von\s+meine[mn]\s.{1,50}\sgesendet\.?
          | gesendet\s+(?:von|mit)\s+(?:meinem\s)?.{1,50}
          | diese\s+nachricht\s+wurde\s+von\s+meinem\s.{1,80}\sgesendet\.?
          | (?:verzonden|verstuurd)\s+(?:met|vanaf|van|via)\s.{1,50}
          | lähetetty\s.{1,50}
          | odesláno\s+(?:z|ze|pomocí)\s.{1,50}
          | надіслано\s+(?:з|із)\s.{1,50}
          | отправлено\s+из\s.{1,50}
          | sendt\s+fra\s+min\s.{1,50}
          | skickat\s+från\s+min\s.{1,50}
          | enviado\s+(?:desde|do|de)\s+(?:mi|meu|o\s+meu)\s.{1,50}
          | inviato\s+da(?:l\s+mio)?\s.{1,50}
          | wysłane\s+z\s.{1,50}
          | отправлено\s+с\s.{1,50}
          | (?:发自|寄自|來自|来自|從|从)我的.{1,30}
          | .{1,20}から送信
        )$",
    )
});

/// "Sent with Airmail", "Sent from Yahoo Mail on Android": the same, naming an app or a
/// device rather than "my …".
static SENT_WITH_APP: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?i)^sent\s+(?:from|with|via|by|using)\s+\S.{0,100}$"));

static APP_OR_DEVICE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)mail|outlook|iphone|ipad|ipod|android|blackberry|mobile|phone|cell|device|tablet|galaxy|samsung|airmail|sparrow|spark|newton|windows",
    )
});

/// A word every [`FOOTER`] and [`SENT_WITH_APP`] line holds. Checked first: this search
/// for plain words is many times faster than the footer patterns, and nearly every line
/// of a mail holds none of them (the patterns were 7% of the CPU time of ingesting mail).
static FOOTER_WORD: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)sent|from|outlook|envoy|télécharger|gesendet|verzonden|verstuurd|sendt|skickat|enviado|inviato|wysłane|lähetetty|odesláno|отправлено|надіслано|我的|から送信",
    )
});

/// A client's footer line (see [`FOOTER`]), also when wrapped in `()`, `<< >>` or `[]`.
pub(super) fn is_footer(line: &str) -> bool {
    let Some(l) = short(line) else {
        return false;
    };
    if !FOOTER_WORD.is_match(l) {
        return false;
    }
    let unwrapped = l.trim_matches(['(', ')', '<', '>', '[', ']']).trim();
    if FOOTER.is_match(l) || FOOTER.is_match(unwrapped) {
        return true;
    }
    // "Gesendet von Outlook für Android<https://aka.ms/…>": the same, with its link.
    if let Some((text, _)) = l.split_once('<')
        && l.ends_with('>')
        && FOOTER.is_match(text.trim_end())
    {
        return true;
    }
    let l = unwrapped;
    let about_my = l
        .get(..13)
        .is_some_and(|p| p.eq_ignore_ascii_case("sent from my "));
    !about_my && SENT_WITH_APP.is_match(l) && APP_OR_DEVICE.is_match(l)
}

/// A line that only decorates (`-----`, `_____`, `=====`), left over above a cut.
pub(super) fn is_decoration(line: &str) -> bool {
    short(line).is_some_and(|l| {
        l.chars().count() >= 3 && l.chars().all(|c| matches!(c, '-' | '_' | '=' | '*' | '~'))
    })
}

/// A one-line sign-off such as `-Abhishek` or `--John Doe`: a dash glued to a name of at
/// most three capitalised words ("--and then it worked" is a sentence).
static SIGN_OFF: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"^-{1,2}\p{Lu}[\p{L}\p{M}.'-]{0,20}(?:\s\p{Lu}[\p{L}\p{M}.'-]{0,20}){0,2}$")
});

pub(super) fn is_sign_off(line: &str) -> bool {
    short(line).is_some_and(|l| SIGN_OFF.is_match(l))
}
