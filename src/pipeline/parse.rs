//! MIME parsing: raw bytes → [`InboundMail`]. The only module that knows mail-parser.

use std::borrow::Cow;

use chrono::{TimeZone, Utc};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::domain::{
    AutomationHeaders, EmailAddress, EmbeddedHeaders, InboundMail, MailAttachment, Mailbox,
};

/// Why bytes could not be read as a message. Permanent: the same bytes fail again.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the input is empty")]
    Empty,
    #[error("the input has no mail header: it is not an RFC 5322 message")]
    NotAMessage,
}

/// Parses raw bytes with mail-parser. Lenient: only input with no header at all fails.
pub fn parse_message(raw: &[u8]) -> Result<Message<'_>, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let message = MessageParser::default()
        .parse(skip_preamble(raw))
        .ok_or(ParseError::NotAMessage)?;
    if message.headers().is_empty() {
        return Err(ParseError::NotAMessage);
    }
    Ok(message)
}

/// Skips what some deliveries put before the first header: blank or whitespace-only lines
/// (a header block cannot start with a continuation), and the `From ` line of mbox files
/// and procmail pipes.
fn skip_preamble(raw: &[u8]) -> &[u8] {
    let mut rest = raw;
    loop {
        let line_end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = &rest[..line_end];
        let blank = line.iter().all(u8::is_ascii_whitespace);
        if line_end < rest.len() && (blank || line.starts_with(b"From ")) {
            rest = &rest[line_end..];
        } else {
            return rest;
        }
    }
}

/// Reads everything the pipeline needs from a parsed message.
pub fn inbound_mail<'m>(message: &'m Message<'m>) -> InboundMail<'m> {
    let from_raw = message.header_raw("From").map(|s| s.trim().to_string());
    // mail-parser finds no address in some malformed headers that still hold exactly one
    // (`"John Smith"@example.com>`): take it rather than lose the sender.
    let from = first_mailbox(message.from()).or_else(|| {
        let address = EmailAddress::parse(from_raw.as_deref()?).ok()?;
        Some(Mailbox {
            address,
            name: None,
        })
    });
    let subject = message.subject().map(clean_header_text).unwrap_or_default();
    let text = message
        .text_bodies()
        .enumerate()
        .filter_map(|(i, _)| message.body_text(i))
        .collect::<Vec<_>>()
        .join("\n\n");
    let html_parts: Vec<&str> = message
        .html_bodies()
        .filter(|p| p.is_text_html())
        .filter_map(|p| p.text_contents())
        .collect();
    let html = (!html_parts.is_empty()).then(|| html_parts.join("\n"));
    let attachments: Vec<MailAttachment<'m>> = message.attachments().map(attachment).collect();
    let mut mail = InboundMail {
        from_raw,
        from,
        reply_to: first_mailbox(message.reply_to()),
        to: message.all_to().flat_map(mailboxes).collect(),
        cc: message.all_cc().flat_map(mailboxes).collect(),
        subject,
        date: message
            .date()
            .and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single()),
        message_id: message.message_id().and_then(clean_id),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        text,
        html,
        attachments,
        automation: automation_headers(message),
        embedded: embedded_headers(message),
        delivery_failures: delivery_failures(message),
        content_digest: String::new(),
    };
    mail.content_digest = content_digest(&mail, message.header_raw("Date"));
    mail
}

fn clean_header_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn mailboxes<'a>(address: &'a Address<'a>) -> impl Iterator<Item = Mailbox> + 'a {
    address.iter().filter_map(|addr| {
        let address = EmailAddress::parse(addr.address()?).ok()?;
        let name = addr.name().map(clean_header_text).filter(|n| !n.is_empty());
        Some(Mailbox { address, name })
    })
}

fn first_mailbox(address: Option<&Address<'_>>) -> Option<Mailbox> {
    address.and_then(|a| mailboxes(a).next())
}

/// A Message-ID without brackets or spaces; `None` when nothing is left.
fn clean_id(id: &str) -> Option<String> {
    let id = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!id.is_empty() && id.len() <= 998).then(|| id.to_string())
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => t.split_whitespace().filter_map(clean_id).collect(),
        HeaderValue::TextList(list) => list.iter().filter_map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    }
}

fn attachment<'m>(part: &'m mail_parser::MessagePart<'m>) -> MailAttachment<'m> {
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

fn automation_headers(message: &Message<'_>) -> AutomationHeaders {
    let present = super::classify::HEADERS_READ
        .iter()
        .filter_map(|&name| {
            message
                .header_raw(name)
                .map(|v| (name, clean_header_text(v)))
        })
        .collect();
    let root = message.root_part().content_type();
    AutomationHeaders {
        present,
        top_content_type: root
            .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")).to_ascii_lowercase())
            .unwrap_or_else(|| "text/plain".into()),
        report_type: root
            .and_then(|ct| ct.attribute("report-type"))
            .map(|s| s.to_ascii_lowercase()),
    }
}

fn embedded_headers(message: &Message<'_>) -> Vec<EmbeddedHeaders> {
    let mut found = Vec::new();
    for part in message.parts.iter().skip(1) {
        match &part.body {
            PartType::Message(inner) => found.push(EmbeddedHeaders {
                message_id: inner.message_id().and_then(clean_id),
                subject: inner.subject().map(str::to_string),
            }),
            _ if part.is_content_type("text", "rfc822-headers") => {
                if let Some(headers) = MessageParser::default().parse_headers(part.contents()) {
                    found.push(EmbeddedHeaders {
                        message_id: headers.message_id().and_then(clean_id),
                        subject: headers.subject().map(str::to_string),
                    });
                }
            }
            _ => {}
        }
    }
    found
}

/// The recipients the delivery-status parts of a report (RFC 3464, and RFC 6533's
/// `message/global-delivery-status`) say delivery failed to. A status part is a block of
/// per-message fields, then one block per recipient, separated by blank lines; a recipient
/// counts only when its own block says `Action: failed`.
fn delivery_failures(message: &Message<'_>) -> Vec<EmailAddress> {
    let mut failed: Vec<EmailAddress> = Vec::new();
    let status_parts = message.parts.iter().filter(|p| {
        p.is_content_type("message", "delivery-status")
            || p.is_content_type("message", "global-delivery-status")
    });
    for part in status_parts {
        let text = String::from_utf8_lossy(part.contents());
        for block in status_blocks(&text) {
            let field = |name: &str| {
                block
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_str())
            };
            let action_failed = field("Action").is_some_and(|a| {
                a.split(|c: char| c.is_whitespace() || c == '(')
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case("failed"))
            });
            let recipient = field("Final-Recipient")
                .or_else(|| field("Original-Recipient"))
                .and_then(status_address);
            if let (true, Some(address)) = (action_failed, recipient)
                && !failed.iter().any(|f| f.same_mailbox(&address))
            {
                failed.push(address);
            }
        }
    }
    failed
}

/// The field blocks of a delivery-status body, each as (name, value) pairs, continuation
/// lines unfolded.
fn status_blocks(text: &str) -> Vec<Vec<(String, String)>> {
    let mut blocks = Vec::new();
    let mut block: Vec<(String, String)> = Vec::new();
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if line.trim().is_empty() {
            if !block.is_empty() {
                blocks.push(std::mem::take(&mut block));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = block.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            block.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    if !block.is_empty() {
        blocks.push(block);
    }
    blocks
}

/// The address of a recipient field (`rfc822; <gone@example.com>`).
fn status_address(value: &str) -> Option<EmailAddress> {
    let (_, address) = value.split_once(';')?;
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    EmailAddress::parse(address.trim()).ok()
}

/// SHA-256 over what two deliveries of one mail share. Fields are length-prefixed so that
/// moving text from one field to another changes the digest.
fn content_digest(mail: &InboundMail<'_>, date_raw: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(
        mail.from
            .as_ref()
            .map(|m| m.address.key())
            .unwrap_or_default()
            .as_bytes(),
    );
    field(mail.subject.as_bytes());
    field(date_raw.unwrap_or("").trim().as_bytes());
    field(mail.text.as_bytes());
    field(mail.html.as_deref().unwrap_or("").as_bytes());
    for a in &mail.attachments {
        field(a.filename.as_deref().unwrap_or("").as_bytes());
        field(&a.bytes);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIMPLE: &[u8] = b"From: =?utf-8?q?Am=C3=A9lie?= <amelie@Example.ORG>\r\n\
To: support@ours.test, \"Bob\" <bob@example.org>\r\nCc: carol@example.org\r\n\
Subject: =?iso-8859-1?q?Probl=E8me?= de VPN\r\nMessage-ID: <abc@example.org>\r\n\
In-Reply-To: <n1@ours.test>\r\nReferences: <n0@ours.test> <n1@ours.test>\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0100\r\nReceived: from a by b\r\n\r\nBonjour\r\n";

    #[test]
    fn reads_addresses_subject_and_threading_headers() {
        let msg = parse_message(SIMPLE).unwrap();
        let mail = inbound_mail(&msg);
        let from = mail.from.as_ref().unwrap();
        assert_eq!(from.address.as_str(), "amelie@example.org");
        assert_eq!(from.name.as_deref(), Some("Amélie"));
        assert_eq!(mail.subject, "Problème de VPN");
        assert_eq!(mail.to.len(), 2);
        assert_eq!(mail.cc[0].address.as_str(), "carol@example.org");
        assert_eq!(mail.message_id.as_deref(), Some("abc@example.org"));
        assert_eq!(mail.in_reply_to, ["n1@ours.test"]);
        assert_eq!(mail.references, ["n0@ours.test", "n1@ours.test"]);
        assert_eq!(mail.text.trim(), "Bonjour");
        assert!(mail.html.is_none());
    }

    #[test]
    fn digest_ignores_transport_headers_but_not_content() {
        let a = parse_message(SIMPLE).unwrap();
        let relayed = [
            b"Received: from relay by mx\r\nDelivered-To: other@ours.test\r\n".as_slice(),
            SIMPLE,
        ]
        .concat();
        let b = parse_message(&relayed).unwrap();
        let edited = String::from_utf8_lossy(SIMPLE).replace("Bonjour", "Bonsoir");
        let c = parse_message(edited.as_bytes()).unwrap();
        let (a, b, c) = (inbound_mail(&a), inbound_mail(&b), inbound_mail(&c));
        assert_eq!(a.content_digest, b.content_digest);
        assert_ne!(a.content_digest, c.content_digest);
    }

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

    #[test]
    fn leading_blank_lines_and_mbox_separator_are_skipped() {
        let raw = [
            b"   \r\nFrom alice@example.org Tue Nov 24 10:00:00 2026\n".as_slice(),
            SIMPLE,
        ]
        .concat();
        let msg = parse_message(&raw).unwrap();
        assert_eq!(inbound_mail(&msg).subject, "Problème de VPN");
    }

    /// A delivery report whose status part is `status`.
    fn report(status: &str) -> Vec<u8> {
        format!(
            "From: MAILER-DAEMON@mx.acme.example\r\nTo: support@ours.test\r\nSubject: Undelivered\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n\
             --r\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n\
             --r\r\nContent-Type: message/delivery-status\r\n\r\n{status}\r\n--r--\r\n"
        )
        .into_bytes()
    }

    fn failures(raw: &[u8]) -> Vec<String> {
        let message = parse_message(raw).unwrap();
        inbound_mail(&message)
            .delivery_failures
            .iter()
            .map(|a| a.key())
            .collect()
    }

    #[test]
    fn only_a_failed_delivery_in_the_report_part_counts() {
        let failed = report(
            "Reporting-MTA: dns; mx.acme.example\r\n\r\n\
             Final-Recipient: rfc822; Gone@acme.example\r\nAction: failed\r\nStatus: 5.1.1",
        );
        assert_eq!(failures(&failed), ["gone@acme.example"]);
        let delayed = report(
            "Final-Recipient: rfc822; gone@acme.example\r\nAction: delayed\r\nStatus: 4.4.7",
        );
        assert!(failures(&delayed).is_empty());
        let other_block = report(
            "Final-Recipient: rfc822;<other@acme.example>\r\nAction: delivered\r\n\r\n\
             Original-Recipient: rfc822; <late@acme.example>\r\nAction: failed",
        );
        assert_eq!(failures(&other_block), ["late@acme.example"]);
        let text_only = b"From: MAILER-DAEMON@evil.example\r\nSubject: Undeliverable\r\n\r\n\
            Final-Recipient: rfc822; gone@acme.example\r\nAction: failed\r\n";
        assert!(
            failures(text_only).is_empty(),
            "a text that looks like a report is not one"
        );
    }

    #[test]
    fn refuses_input_without_headers() {
        assert_eq!(parse_message(b"  \r\n").unwrap_err(), ParseError::Empty);
    }
}
