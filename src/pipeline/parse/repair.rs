//! Bodies written straight after their header block, with no blank line between.
//!
//! Some appliances (printers, scanners, alarm panels) send a MIME part as
//! `Content-Type: text/plain\r\nThe printer is broken.\r\n--k--`. mail-parser then reads the
//! text as more header lines, up to the next blank line or the end, and the mail comes out
//! with no text at all: a ticket with an empty description. When a mail has neither text
//! nor HTML, the header blocks are read again here; the first line in one that is neither a
//! header (`Name:`) nor a continuation starts its body, a blank line is put before it, and
//! the mended bytes are parsed again for their text.

use mail_parser::{HeaderName, HeaderValue, Message, MessageParser};

use super::charset;

/// The text of a mail whose header blocks swallowed their bodies; `None` when no header
/// block ends that way, or when the mended mail has no text either.
pub(super) fn headerless_text(message: &Message<'_>) -> Option<String> {
    let mended = mended(&message.raw_message, &boundaries(message))?;
    let reparsed = MessageParser::default().parse(&mended)?;
    let text = reparsed
        .text_bodies()
        .enumerate()
        .filter_map(|(i, _)| charset::body_text(&reparsed, i))
        .collect::<Vec<_>>()
        .join("\n\n");
    (!text.trim().is_empty()).then_some(text)
}

/// Every MIME boundary the message declares, in any of its Content-Type fields (a part that
/// swallowed the next one holds that one's Content-Type too).
fn boundaries(message: &Message<'_>) -> Vec<Vec<u8>> {
    let mut found: Vec<Vec<u8>> = Vec::new();
    let content_types = message
        .parts
        .iter()
        .flat_map(|p| &p.headers)
        .filter(|h| h.name == HeaderName::ContentType);
    for header in content_types {
        if let HeaderValue::ContentType(ct) = &header.value
            && let Some(boundary) = ct.attribute("boundary")
            && !boundary.is_empty()
            && !found.iter().any(|b| b == boundary.as_bytes())
        {
            found.push(boundary.as_bytes().to_vec());
        }
    }
    found
}

/// `raw` with a blank line put before the first line of each header block that is neither a
/// header nor a continuation; `None` when every header block ends properly.
fn mended(raw: &[u8], boundaries: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len() + 64);
    let mut mended_any = false;
    // The message starts with a header block; so does every part after its delimiter.
    let mut in_headers = true;
    let mut first_in_block = true;
    let mut previous_eol: &[u8] = b"\r\n";
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let content = line.trim_ascii_end();
        if let Some(opens) = delimiter(content, boundaries) {
            in_headers = opens;
            first_in_block = true;
        } else if in_headers {
            if content.is_empty() {
                in_headers = false;
            } else if !is_header(content) && (first_in_block || !is_continuation(line)) {
                out.extend_from_slice(previous_eol);
                mended_any = true;
                in_headers = false;
            }
            first_in_block = false;
        }
        out.extend_from_slice(line);
        previous_eol = if line.ends_with(b"\r\n") {
            b"\r\n"
        } else {
            b"\n"
        };
    }
    mended_any.then_some(out)
}

/// For a delimiter line of one of the message's boundaries: `Some(true)` for `--boundary`
/// (a part and its header block follow), `Some(false)` for the closing `--boundary--`.
fn delimiter(line: &[u8], boundaries: &[Vec<u8>]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?;
    boundaries
        .iter()
        .find_map(|b| match rest.strip_prefix(b.as_slice())? {
            b"" => Some(true),
            b"--" => Some(false),
            _ => None,
        })
}

/// `Name:` with a field name of printable ASCII (RFC 5322 §3.6.8), blanks allowed before the
/// colon (the obsolete syntax).
fn is_header(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = line[..colon].trim_ascii_end();
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b))
}

fn is_continuation(line: &[u8]) -> bool {
    matches!(line.first(), Some(b' ' | b'\t'))
}

#[cfg(test)]
mod tests {
    use crate::pipeline::parse::{inbound_mail, parse_message};

    fn text(raw: &str) -> String {
        let message = parse_message(raw.as_bytes()).unwrap();
        inbound_mail(&message).text.trim().to_string()
    }

    const HEAD: &str = "From: a@client.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n";

    #[test]
    fn a_part_with_no_blank_line_keeps_its_body() {
        let raw = format!(
            "{HEAD}Content-Type: multipart/mixed; boundary=k\r\n\r\n--k\r\n\
             Content-Type: text/plain\r\nThe printer is broken since Monday.\r\n--k--\r\n"
        );
        assert_eq!(text(&raw), "The printer is broken since Monday.");
    }

    #[test]
    fn the_part_after_it_is_still_a_part_and_encodings_apply() {
        let raw = format!(
            "{HEAD}Content-Type: multipart/mixed; boundary=k\r\n\r\n--k\r\n\
             Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\
             Le caf=E9 est\r\n froid.\r\n--k\r\nContent-Type: application/pdf\r\n\
             Content-Disposition: attachment; filename=a.pdf\r\n\r\nPDF\r\n--k--\r\n"
        );
        let message = parse_message(raw.as_bytes()).unwrap();
        let mail = inbound_mail(&message);
        assert_eq!(mail.text.trim(), "Le café est\r\n froid.");
    }

    #[test]
    fn a_top_level_body_with_no_blank_line_and_lf_endings() {
        let raw = "From: a@client.example\nSubject: s\nAlarm: zone 3\nDoor open.\nSecond line.\n";
        assert_eq!(text(raw), "Door open.\nSecond line.");
    }

    #[test]
    fn well_formed_and_attachment_only_mail_is_left_alone() {
        let raw = format!(
            "{HEAD}Content-Type: multipart/mixed; boundary=k\r\n\r\n--k\r\n\
             Content-Type: application/pdf\r\n\r\nPDF\r\n--k--\r\n"
        );
        assert_eq!(text(&raw), "");
        let message = parse_message(raw.as_bytes()).unwrap();
        assert!(super::headerless_text(&message).is_none());
    }
}
