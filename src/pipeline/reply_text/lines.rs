//! What one line (or a few neighbouring lines) of a plain-text mail body is: a quote, the
//! attribution above a quote, the start of a forwarded or Outlook-style header block, a
//! signature delimiter, a mobile client's footer.
//!
//! Every recogniser looks at a bounded amount of text: whole-line patterns only consider
//! lines up to [`SHORT_LINE`] bytes (attributions, separators and footers are short), and
//! prefix patterns only the first [`PREFIX`] bytes. The regex crate matches in linear time,
//! so a line of 700 KB costs no more than a line of 300 bytes.

use std::sync::LazyLock;

use regex::Regex;

/// Longest line that may be part of an attribution, a separator or a footer.
const SHORT_LINE: usize = 300;
/// How much of a line the prefix patterns (header keys) look at.
const PREFIX: usize = 200;
/// How many lines an attribution may be wrapped over ("On …,\n<address>\nwrote:").
const ATTRIBUTION_LINES: usize = 4;
/// How far below a `From:` line the other header keys of a block are looked for.
const HEADER_BLOCK_LINES: usize = 8;
/// Leading spaces allowed before the `>` of a quoted line.
const QUOTE_INDENT: usize = 4;

/// Compiles a constant pattern. The unit tests exercise every pattern, so this cannot fail
/// at run time.
fn pattern(source: &str) -> Regex {
    Regex::new(source).expect("a valid constant pattern")
}

/// The first `max` bytes of `line`, cut on a character boundary.
fn head(line: &str, max: usize) -> &str {
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
fn short(line: &str) -> Option<&str> {
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

/// The lines `start..end` are an attribution ("On … wrote:"). A strong one names a date
/// with a known lead word or an address, and marks the rest of the mail as history even
/// when the quoted mail below it is not prefixed with `>`; a weak one ("Bob wrote:") only
/// counts when a `>` quote follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Attribution {
    pub end: usize,
    pub strong: bool,
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
          | (?:dnia|w\s+dniu)\s.+[\s>,]napisał(?:\(a\)|a)?
          | il\s.+[\s>,]ha\s+scritto
          | 在.+写道
        )\s*(?:[:：]|-{2,})$",
    )
});

/// Attributions recognised by their verb alone ("codinghorror <x@y> schrieb:",
/// "… пользователь bob написал:").
static VERB_ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)(?:(?:^|[\s>,])(?:wrote|a\s+écrit|schrieb|escribió|escreveu|geschreven|schreef|skrev|napisał(?:\(a\)|a)?|написал(?:\(а\)|а)?|ha\s+scritto|kirjoitti)|写道|寫道)\s*[:：]$",
    )
});

/// Gmail's older attribution without a verb: `2013/7/20 Name <address>`.
static DATED_ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\d{4}/\d{1,2}/\d{1,2}\s.+<[^<>\s]+@[^<>\s]+>$"));

/// A date or a time, which the first line of a wrapped attribution without a lead word
/// must contain.
static DATE_OR_TIME: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"\d{1,4}[./-]\d{1,2}[./-]\d{2,4}|\b\d{1,2}:\d{2}\b|\b(?:19|20)\d{2}\b")
});

/// Whether a line may be part of an attribution.
fn attribution_line(line: &str) -> bool {
    line.len() <= SHORT_LINE && !is_blank(line) && !is_quoted(line)
}

/// The attribution starting at `lines[i]`, if any, possibly wrapped over a few lines.
pub(super) fn attribution_at(lines: &[&str], i: usize) -> Option<Attribution> {
    let mut joined = String::new();
    let mut by_verb = None;
    for (k, line) in lines.iter().skip(i).take(ATTRIBUTION_LINES).enumerate() {
        if !attribution_line(line) {
            break;
        }
        if k > 0 {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        if !joined.ends_with([':', '：', '-', '>']) {
            // A wrapped attribution does not end a sentence before its verb: a line that
            // does is the writer's, even when the next one reads "Bob <b@x> wrote:".
            if joined.ends_with(['.', '!', '?']) {
                break;
            }
            continue;
        }
        let end = i + k + 1;
        if joined.bytes().any(|b| b.is_ascii_digit()) && LEAD_ATTRIBUTION.is_match(&joined) {
            return Some(Attribution { end, strong: true });
        }
        if k == 0 && DATED_ADDRESS.is_match(&joined) {
            return Some(Attribution { end, strong: true });
        }
        // Without a lead word, a wrapped attribution must start with its date: this keeps
        // "Thanks!" from being read as the first line of "Bob <b@x> wrote:" below it.
        let starts_well = k == 0 || DATE_OR_TIME.is_match(lines[i]);
        if by_verb.is_none() && starts_well && VERB_ATTRIBUTION.is_match(&joined) {
            by_verb = Some(Attribution {
                end,
                strong: joined.contains('@'),
            });
        }
    }
    by_verb
}

/// The separator some clients put above the mail they quote or forward.
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?ix)^(?:
            -{2,}\s*(?:original\s+message|message\s+d'origine|ursprüngliche\s+nachricht
                |originalnachricht|mensaje\s+original|messaggio\s+originale|mensagem\s+original
                |oorspronkelijk\s+bericht|originalmeddelande|opprinnelig\s+melding
                |oprindelig\s+meddelelse|alkuperäinen\s+viesti|forwarded\s+message
                |message\s+transféré|weitergeleitete\s+nachricht|mensaje\s+reenviado
                |messaggio\s+inoltrato|mensagem\s+encaminhada|doorgestuurd\s+bericht)\s*-{2,}
          | (?:begin\s+forwarded\s+message|début\s+du\s+message\s+réexpédié
                |anfang\s+der\s+weitergeleiteten\s+nachricht|inicio\s+del\s+mensaje\s+reenviado)\s*:
        )$",
    )
});

/// `-----Original Message-----`, `-----Message d'origine-----`, `Begin forwarded message:`…
pub(super) fn is_separator(line: &str) -> bool {
    short(line).is_some_and(|l| SEPARATOR.is_match(l))
}

/// The first line of a quoted header block: `From:`, `De :`, `Von:`, `*From:*`…
static FROM_KEY: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)^\*{0,2}(?:from|de|von|da|från|fra|van|od|от|发件人|寄件者|差出人)\*{0,2}\s*[:：]\*{0,2}\s*\S",
    )
});

/// The other keys of such a block, in the languages of common clients.
static HEADER_KEY: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?ix)^\*{0,2}(?:
            sent|date|to|subject|cc|bcc|reply-to
          | envoyé|à|objet|répondre\s+à
          | gesendet|datum|an|betreff|antwort\s+an
          | inviato|data|a|oggetto|risposta
          | skickat|till|ämne|sendt|til|emne|dato
          | verzonden|aan|onderwerp
          | enviado|enviada|para|asunto|fecha|assunto
          | wysłano|do|temat
          | отправлено|кому|тема|дата
          | 发送时间|收件人|主题|日期|送信日時|宛先|件名
        )\*{0,2}\s*[:：]",
    )
});

/// Whether `lines[i]` starts a header block of a quoted or forwarded mail: a `From:` line
/// followed, before the next blank line, by at least two more header lines (`Sent:`, `To:`,
/// `Subject:`…). One `From:` line alone is ordinary text.
pub(super) fn header_block_at(lines: &[&str], i: usize) -> bool {
    let Some(first) = lines.get(i) else {
        return false;
    };
    if is_quoted(first) || !FROM_KEY.is_match(head(first, PREFIX).trim_start()) {
        return false;
    }
    let keys = lines
        .iter()
        .skip(i + 1)
        .take(HEADER_BLOCK_LINES)
        .take_while(|l| !is_blank(l))
        .filter(|l| HEADER_KEY.is_match(head(l, PREFIX).trim_start()))
        .count();
    keys >= 2
}

/// The index after a header block starting at `i`: its lines run to the next blank line
/// (a long `Subject:` may wrap), bounded so that a block without a blank line below it
/// cannot swallow the mail.
pub(super) fn header_block_end(lines: &[&str], i: usize) -> usize {
    let run = lines
        .iter()
        .skip(i)
        .take(HEADER_BLOCK_LINES + 4)
        .take_while(|l| !is_blank(l))
        .count();
    i + run
}

/// The signature delimiter: `-- ` (RFC 3676), or `--` as many clients trim the space (and
/// HTML-to-text conversions pad it with no-break spaces); also the line of underscores
/// above a mailing list's footer.
pub(super) fn is_signature_delimiter(line: &str) -> bool {
    short(line).is_some_and(|l| l == "--" || (l.len() >= 5 && l.bytes().all(|b| b == b'_')))
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
          | von\s+meine[mn]\s.{1,50}\sgesendet\.?
          | gesendet\s+(?:von|mit)\s+(?:meinem\s)?.{1,50}
          | diese\s+nachricht\s+wurde\s+von\s+meinem\s.{1,80}\sgesendet\.?
          | verzonden\s+(?:met|vanaf|van)\s.{1,50}
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
        r"(?i)sent|from|outlook|envoy|gesendet|verzonden|sendt|skickat|enviado|inviato|wysłane|отправлено|我的|から送信",
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

/// A one-line sign-off such as `-Abhishek` or `--John`: a dash glued to a name.
static SIGN_OFF: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^-{1,2}\p{L}[\p{L}\p{M}.' -]{0,40}$"));

pub(super) fn is_sign_off(line: &str) -> bool {
    short(line).is_some_and(|l| SIGN_OFF.is_match(l))
}
