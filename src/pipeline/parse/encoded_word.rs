//! A header value decoded from its raw bytes, for the headers mail-parser could only read
//! with U+FFFD: raw 8-bit text in a legacy charset (a Shift_JIS subject with no encoded word,
//! as some Japanese mailers send) and RFC 2047 encoded words in a charset it does not know.

use mail_parser::decoders::base64::base64_decode;

use super::charset::{Fallback, decode_labeled};

/// A run of the value: raw bytes as written, or the text of one encoded word.
enum Piece<'a> {
    Raw(&'a [u8]),
    Word(String),
}

/// The raw value of a header (after the colon, folding included) decoded: encoded words
/// with their own charset (or the fallback when it is unknown or does not fit), raw bytes
/// with one charset chosen for all of them, folding and the blanks between two encoded words
/// removed (RFC 2047 §6.2).
pub(super) fn decode_header(raw: &[u8], fallback: &Fallback) -> String {
    let unfolded: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    let pieces = pieces(&unfolded, fallback);
    let raw_bytes: Vec<u8> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Raw(bytes) => Some(*bytes),
            Piece::Word(_) => None,
        })
        .flatten()
        .copied()
        .collect();
    // One charset for every raw run, chosen on all of them at once: the detector sees more.
    let encoding = fallback.encoding_for(&raw_bytes);
    let mut out = String::with_capacity(unfolded.len());
    for piece in &pieces {
        match piece {
            Piece::Raw(bytes) => out.push_str(&encoding.decode_without_bom_handling(bytes).0),
            Piece::Word(text) => out.push_str(text),
        }
    }
    out.trim().to_string()
}

/// The value cut into raw runs and encoded words; the blanks between two encoded words
/// dropped.
fn pieces<'a>(value: &'a [u8], fallback: &Fallback) -> Vec<Piece<'a>> {
    let mut pieces: Vec<Piece<'a>> = Vec::new();
    let mut raw_start = 0;
    let mut i = 0;
    while i < value.len() {
        if value[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let end = value[i..]
            .iter()
            .position(u8::is_ascii_whitespace)
            .map_or(value.len(), |n| i + n);
        if let Some(words) = encoded_words(&value[i..end], fallback) {
            let blank_only = value[raw_start..i].iter().all(u8::is_ascii_whitespace);
            let after_word = matches!(pieces.last(), Some(Piece::Word(_)));
            if !(blank_only && after_word) && raw_start < i {
                pieces.push(Piece::Raw(&value[raw_start..i]));
            }
            pieces.extend(words.into_iter().map(Piece::Word));
            raw_start = end;
        }
        i = end;
    }
    if raw_start < value.len() {
        pieces.push(Piece::Raw(&value[raw_start..]));
    }
    pieces
}

/// The texts of the encoded words that make up `token` whole (`=?cs?Q?..?=`, several
/// written together allowed); `None` when it is not made of encoded words only.
fn encoded_words(token: &[u8], fallback: &Fallback) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut rest = token;
    while !rest.is_empty() {
        let inner = rest.strip_prefix(b"=?")?;
        let mut fields = inner.splitn(3, |&b| b == b'?');
        let charset = fields.next()?;
        let encoding = fields.next()?;
        let tail = fields.next()?;
        let payload_len = tail.windows(2).position(|w| w == b"?=")?;
        let payload = &tail[..payload_len];
        rest = &tail[payload_len + 2..];
        let bytes = match encoding {
            b"Q" | b"q" => q_decode(payload),
            b"B" | b"b" => base64_decode(payload)?,
            _ => return None,
        };
        // RFC 2231 puts a language after `*`: `=?utf-8*en?Q?…?=`.
        let charset = std::str::from_utf8(charset).ok()?;
        let charset = charset.split('*').next().unwrap_or(charset);
        words.push(decode_labeled(&bytes, Some(charset), fallback));
    }
    (!words.is_empty()).then_some(words)
}

/// RFC 2047 "Q": `_` is a space, `=XX` a byte; a malformed `=` is kept as written.
fn q_decode(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len());
    let mut i = 0;
    while i < payload.len() {
        match payload[i] {
            b'_' => out.push(b' '),
            b'=' if payload
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
            {
                let hex = std::str::from_utf8(&payload[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Fallback {
        Fallback::none()
    }

    #[test]
    fn raw_windows_1252_bytes_and_folding() {
        assert_eq!(
            decode_header(b" Probl\xe8me\r\n de caf\xe9\r\n", &none()),
            "Probl\u{e8}me de caf\u{e9}"
        );
    }

    #[test]
    fn blanks_between_encoded_words_go_others_stay() {
        let raw = b" =?x-unknown?Q?caf=E9?=  =?utf-8?B?IGNyw6htZQ==?= and =?bad?X?y?= \xe9";
        assert_eq!(
            decode_header(raw, &none()),
            "caf\u{e9} cr\u{e8}me and =?bad?X?y?= \u{e9}"
        );
    }

    #[test]
    fn q_decoding_keeps_a_malformed_escape() {
        assert_eq!(q_decode(b"a_b=3Dc=Zz="), b"a b=c=Zz=");
    }
}
