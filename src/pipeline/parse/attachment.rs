//! An attachment as the pipeline sees it: type, name, Content-ID, whether it is shown
//! inline, and its decoded bytes (uuencoded bodies, which mail-parser leaves as they are,
//! decoded here).

use std::borrow::Cow;

use mail_parser::{MimeHeaders, PartType};

use super::clean_id;
use crate::domain::MailAttachment;

pub(super) fn attachment<'m>(part: &'m mail_parser::MessagePart<'m>) -> MailAttachment<'m> {
    let content_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| match part.body {
            PartType::Message(_) => "message/rfc822".into(),
            PartType::Text(_) => "text/plain".into(),
            _ => "application/octet-stream".into(),
        })
        .to_ascii_lowercase();
    let filename = part
        .attachment_name()
        .map(str::to_string)
        .or_else(|| match &part.body {
            PartType::Message(m) => Some(format!("{}.eml", m.subject().unwrap_or("message"))),
            _ => None,
        });
    let content_id = part.content_id().and_then(clean_id);
    let inline = part
        .content_disposition()
        .map(|cd| cd.ctype().eq_ignore_ascii_case("inline"))
        .unwrap_or(content_id.is_some());
    let uuencoded = part.content_transfer_encoding().is_some_and(|cte| {
        matches!(
            cte.trim().to_ascii_lowercase().as_str(),
            "x-uuencode" | "uuencode" | "x-uue"
        )
    });
    let bytes = match uuencoded.then(|| uudecode(part.contents())).flatten() {
        Some(decoded) => Cow::Owned(decoded),
        None => Cow::Borrowed(part.contents()),
    };
    MailAttachment {
        filename,
        content_type,
        content_id,
        inline,
        bytes,
    }
}

/// Decodes a uuencoded body (mail-parser leaves x-uuencode undecoded), with or without
/// its `begin MODE NAME` and `end` lines. `None` when the body is not uuencoded after all,
/// so the bytes are kept as they came.
fn uudecode(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty())
        .collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("begin "))
        .map_or(0, |i| i + 1);
    let mut out = Vec::new();
    for line in &lines[start..] {
        let line = line.as_bytes();
        if line == b"end" || line == b"`" {
            break;
        }
        if !line.iter().all(|&c| (b' '..=b'`').contains(&c)) {
            return None;
        }
        let len = usize::from((line[0] - b' ') & 0x3f);
        let mut decoded = Vec::with_capacity(len + 2);
        for q in line[1..].chunks(4) {
            let n = q.iter().enumerate().fold(0u32, |acc, (i, &c)| {
                acc | (u32::from((c - b' ') & 0x3f) << (18 - 6 * i))
            });
            decoded.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
        }
        if decoded.len() < len {
            return None;
        }
        decoded.truncate(len);
        out.extend_from_slice(&decoded);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuencoded_attachments_are_decoded() {
        assert_eq!(
            uudecode(b"begin 644 hello.txt\n,2&5L;&\\@6F%M;6%D\n`\nend\n").unwrap(),
            b"Hello Zammad"
        );
        assert_eq!(
            uudecode(b",2&5L;&\\@6F%M;6%D\r\n`\r\n").unwrap(),
            b"Hello Zammad"
        );
        assert_eq!(uudecode(b"no uuencode here"), None);
    }
}
