//! Text that mail-parser could only decode with U+FFFD, decoded again from the raw bytes.
//!
//! mail-parser reads bytes in an unknown charset, or in none, as UTF-8 and replaces what is
//! not UTF-8 with U+FFFD: a quoted-printable `Probl=E8me` with no charset, an
//! `x-unknown-42` part, a Shift_JIS subject written as raw 8-bit bytes. The customer's words
//! are then lost for good. Here such text is decoded again from the transfer-decoded bytes:
//! with the charset the part declares when that decodes them, else with a charset the message
//! declares elsewhere, else with what `chardetng` guesses, else as windows-1252 (which maps
//! every byte). Only text that came out with U+FFFD and whose bytes are not UTF-8 is looked
//! at again, so well-formed mail costs one scan for U+FFFD and is never changed.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use mail_parser::decoders::{charsets::map::charset_decoder, html::html_to_text};
use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderName, Message, MessagePart, MimeHeaders, PartType};

use super::encoded_word::decode_header;

/// What mail-parser puts where bytes could not be decoded.
const REPLACEMENT: char = '\u{FFFD}';

/// The charsets to try, in order, on bytes that are not valid in the charset they came with.
pub(super) struct Fallback {
    /// The charsets the message's parts declare (once each, in order), ASCII and UTF-8 left
    /// out: ASCII would stand for windows-1252 and hide the detector, and bytes that reach
    /// here are not UTF-8.
    declared: Vec<&'static Encoding>,
}

impl Fallback {
    /// The fallback for one message: the charsets its parts declare.
    pub(super) fn of(message: &Message<'_>) -> Self {
        let mut declared = Vec::new();
        let labels = message
            .parts
            .iter()
            .filter_map(|p| p.content_type()?.attribute("charset"));
        for label in labels {
            if label.to_ascii_lowercase().contains("ascii") {
                continue;
            }
            if let Some(encoding) = Encoding::for_label(label.trim().as_bytes())
                && encoding != UTF_8
                && !declared.contains(&encoding)
            {
                declared.push(encoding);
            }
        }
        Fallback { declared }
    }

    /// The charset that decodes `bytes` without a single replacement: UTF-8, else one the
    /// message declares, else the one the detector guesses. `None` when none fits.
    fn fitting(&self, bytes: &[u8], detect: bool) -> Option<&'static Encoding> {
        if std::str::from_utf8(bytes).is_ok() {
            return Some(UTF_8);
        }
        let fits = |encoding: &&'static Encoding| {
            encoding
                .decode_without_bom_handling_and_without_replacement(bytes)
                .is_some()
        };
        self.declared
            .iter()
            .copied()
            .find(fits)
            .or_else(|| detect.then(|| guess(bytes)).filter(fits))
    }

    /// The charset for `bytes`: as [`Fallback::clean`] finds, else windows-1252, which maps
    /// every byte to a character.
    pub(super) fn encoding_for(&self, bytes: &[u8]) -> &'static Encoding {
        self.fitting(bytes, true).unwrap_or(WINDOWS_1252)
    }

    /// `bytes` decoded without a single replacement: as UTF-8, else in a charset the message
    /// declares, else (when `detect`) in the charset the detector guesses. `None` when none
    /// fits.
    pub(super) fn clean(&self, bytes: &[u8], detect: bool) -> Option<String> {
        let encoding = self.fitting(bytes, detect)?;
        Some(encoding.decode_without_bom_handling(bytes).0.into_owned())
    }

    /// A fallback with no declared charset.
    #[cfg(test)]
    pub(super) fn none() -> Self {
        Fallback {
            declared: Vec::new(),
        }
    }
}

/// The charset `chardetng` guesses for `bytes` (never UTF-8: they are not UTF-8 here).
fn guess(bytes: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    detector.guess(None, chardetng::Utf8Detection::Deny)
}

fn windows_1252(bytes: &[u8]) -> String {
    WINDOWS_1252
        .decode_without_bom_handling(bytes)
        .0
        .into_owned()
}

/// `bytes` decoded with the charset `label` names when that decodes them whole; else as
/// the fallback finds; else with `label`'s charset all the same (one broken byte in Shift_JIS
/// text is better shown as one U+FFFD than as mojibake), or as windows-1252 when `label`
/// names no charset known here. The detector is asked only when the label is unknown,
/// absent or UTF-8 (the usual wrong label: windows-1252 text sent as `charset=utf-8`): a
/// single-byte guess would always "fit" Shift_JIS or GBK text with one broken byte.
pub(super) fn decode_labeled(bytes: &[u8], label: Option<&str>, fallback: &Fallback) -> String {
    let labeled = label
        .and_then(|l| charset_decoder(l.trim().as_bytes()))
        .map(|decoder| decoder(bytes));
    if let Some(text) = &labeled
        && !text.contains(REPLACEMENT)
    {
        return labeled.unwrap_or_default();
    }
    let labeled_utf8 = label.and_then(|l| Encoding::for_label(l.trim().as_bytes())) == Some(UTF_8);
    fallback
        .clean(bytes, labeled.is_none() || labeled_utf8)
        .or(labeled)
        .unwrap_or_else(|| windows_1252(bytes))
}

/// The subject, decoded again from its raw bytes when mail-parser's reading holds U+FFFD
/// (raw 8-bit bytes, or an encoded word in an unknown charset).
pub(super) fn subject<'m>(message: &'m Message<'m>) -> Option<Cow<'m, str>> {
    let decoded = message.subject()?;
    if !decoded.contains(REPLACEMENT) {
        return Some(decoded.into());
    }
    // The header mail-parser read the subject from: the last one.
    let header = message
        .root_part()
        .headers
        .iter()
        .rev()
        .find(|h| h.name == HeaderName::Subject)?;
    let raw = message
        .raw_message
        .get(header.offset_start as usize..header.offset_end as usize)?;
    Some(decode_header(raw, &Fallback::of(message)).into())
}

/// The text of text body `pos`, as `Message::body_text` gives it, decoded again when needed.
pub(super) fn body_text<'m>(message: &'m Message<'m>, pos: usize) -> Option<Cow<'m, str>> {
    let part = message.text_part(u32::try_from(pos).ok()?)?;
    match &part.body {
        PartType::Text(text) => Some(redecoded_if_broken(message, part, text)),
        PartType::Html(html) => {
            Some(html_to_text(&redecoded_if_broken(message, part, html)).into())
        }
        _ => None,
    }
}

/// The contents of a text or HTML part, as `MessagePart::text_contents` gives them, decoded
/// again when needed.
pub(super) fn part_contents<'m>(
    message: &'m Message<'m>,
    part: &'m MessagePart<'m>,
) -> Option<Cow<'m, str>> {
    match &part.body {
        PartType::Text(text) | PartType::Html(text) => {
            Some(redecoded_if_broken(message, part, text))
        }
        _ => None,
    }
}

fn redecoded_if_broken<'m>(
    message: &Message<'_>,
    part: &MessagePart<'_>,
    decoded: &'m str,
) -> Cow<'m, str> {
    if decoded.contains(REPLACEMENT)
        && let Some(text) = redecoded(message, part)
    {
        return text.into();
    }
    decoded.into()
}

/// The part's text decoded again from its transfer-decoded bytes; `None` when those are
/// UTF-8 (the U+FFFD was the sender's own) or cannot be found.
fn redecoded(message: &Message<'_>, part: &MessagePart<'_>) -> Option<String> {
    let raw = message
        .raw_message
        .get(part.offset_body as usize..part.offset_end as usize)?;
    let bytes = transfer_decoded(raw, part.encoding);
    if std::str::from_utf8(&bytes).is_ok() {
        return None;
    }
    let label = part.content_type().and_then(|ct| ct.attribute("charset"));
    Some(decode_labeled(&bytes, label, &Fallback::of(message)))
}

/// The body bytes with their Content-Transfer-Encoding undone, as mail-parser undid it (an
/// empty boundary: the slice ends where the part does).
fn transfer_decoded(raw: &[u8], encoding: mail_parser::Encoding) -> Cow<'_, [u8]> {
    match encoding {
        mail_parser::Encoding::QuotedPrintable => {
            MessageStream::new(raw).decode_quoted_printable_mime(b"").1
        }
        mail_parser::Encoding::Base64 => MessageStream::new(raw).decode_base64_mime(b"").1,
        mail_parser::Encoding::None => raw.into(),
    }
}

#[cfg(test)]
mod tests {
    use crate::pipeline::parse::{inbound_mail, parse_message};

    const HEAD: &str = "From: alice@client.example\r\nTo: support@ours.test\r\n";

    fn mail(raw: &[u8]) -> (String, String) {
        let message = parse_message(raw).unwrap();
        let mail = inbound_mail(&message);
        (mail.subject, mail.text.trim().to_string())
    }

    #[test]
    fn a_raw_shift_jis_subject_takes_the_charset_the_body_declares() {
        let raw = [
            HEAD.as_bytes(),
            b"Subject: ",
            &encoding_rs::SHIFT_JIS.encode("件名のテスト").0,
            b"\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\n",
            &encoding_rs::SHIFT_JIS.encode("本文です。").0,
            b"\r\n",
        ]
        .concat();
        assert_eq!(mail(&raw), ("件名のテスト".into(), "本文です。".into()));
    }

    #[test]
    fn a_raw_subject_with_no_charset_anywhere_is_detected() {
        let raw = [
            HEAD.as_bytes(),
            b"Subject: Re: ",
            &encoding_rs::SHIFT_JIS.encode("プリンターが壊れました").0,
            b"\r\n\r\nhello\r\n",
        ]
        .concat();
        assert_eq!(mail(&raw).0, "Re: プリンターが壊れました");
    }

    #[test]
    fn quoted_printable_latin_1_without_charset_is_read_as_windows_1252() {
        let raw = format!(
            "{HEAD}Subject: Test\r\nContent-Type: text/plain\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\nProbl=E8me de caf=E9 =80\r\n"
        );
        assert_eq!(mail(raw.as_bytes()).1, "Problème de café €");
    }

    #[test]
    fn an_unknown_charset_in_subject_and_part_falls_back() {
        let raw = format!(
            "{HEAD}Subject: =?x-unknown-42?Q?caf=E9?= =?x-unknown-42?B?Y3LobWU=?= ok\r\n\
             Content-Type: text/plain; charset=x-unknown-42\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nY2Fm6SBjcuhtZQ==\r\n"
        );
        assert_eq!(
            mail(raw.as_bytes()),
            ("cafécrème ok".into(), "café crème".into())
        );
    }

    #[test]
    fn windows_1252_sent_as_utf_8_and_html_without_charset_are_read() {
        let raw = b"From: alice@client.example\r\nSubject: x\r\n\
Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nGr\xfc\xdfe\r\n--b\r\n\
Content-Type: text/html\r\n\r\n<p>Gr\xfc\xdfe</p>\r\n--b--\r\n";
        let message = parse_message(raw).unwrap();
        let mail = inbound_mail(&message);
        assert_eq!(mail.text.trim(), "Grüße");
        assert_eq!(mail.html.as_deref().map(str::trim), Some("<p>Grüße</p>"));
    }

    #[test]
    fn a_charset_declared_in_another_part_is_tried_first() {
        let cp1251 = encoding_rs::WINDOWS_1251.encode("Принтер").0;
        let raw = [
            HEAD.as_bytes(),
            b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
              Content-Type: text/plain\r\n\r\n",
            &cp1251,
            b"\r\n--b\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\nok\r\n--b--\r\n",
        ]
        .concat();
        // koi8-r, declared by the other part, decodes every byte: it is taken.
        let expected = encoding_rs::KOI8_R.decode_without_bom_handling(&cp1251).0;
        assert!(mail(&raw).1.starts_with(&*expected));
    }

    #[test]
    fn well_formed_text_and_the_senders_own_replacement_characters_are_kept() {
        let raw = format!(
            "{HEAD}Subject: =?utf-8?q?=EF=BF=BD_ok?=\r\nContent-Type: text/plain; charset=utf-8\r\n\
             \r\nalready \u{FFFD} here\r\n"
        );
        assert_eq!(
            mail(raw.as_bytes()),
            ("\u{FFFD} ok".into(), "already \u{FFFD} here".into())
        );
    }

    #[test]
    fn one_broken_byte_in_a_declared_charset_stays_one_replacement() {
        let mut body = encoding_rs::SHIFT_JIS.encode("本文です").0.into_owned();
        body.push(0x81); // a lead byte with no trail byte
        let raw = [
            HEAD.as_bytes(),
            b"Subject: x\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\n",
            &body,
        ]
        .concat();
        assert!(mail(&raw).1.starts_with("本文です"));
    }
}
