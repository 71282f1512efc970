//! MIME parsing: raw bytes → [`InboundMail`]. The only module that knows mail-parser.

use std::borrow::Cow;

use chrono::{TimeZone, Utc};
use mail_parser::{
    Address, Header, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};
use sha2::{Digest, Sha256};

mod attachment;
mod charset;
mod delivery_status;
mod encoded_word;
mod names;
mod repair;
pub mod tnef;
mod winmail;

use crate::domain::{
    AutomationHeaders, EmailAddress, EmbeddedHeaders, InboundMail, MailAttachment, Mailbox,
    TraceHeader,
};
use attachment::attachment;
use delivery_status::delivery_failures;
pub(crate) use winmail::why_kept as why_winmail_kept;

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
    // RFC 5322 allows one From field; with several, the first one is the sender (the
    // parser's own accessor would take the last).
    let froms: Vec<&Header<'m>> = message
        .headers()
        .iter()
        .filter(|h| h.name == HeaderName::From)
        .collect();
    let from_raw = froms
        .first()
        .map(|h| clean_header_text(raw_value(message, h)));
    // mail-parser finds no address in some malformed headers that still hold exactly one
    // (`"John Smith"@example.com>`): take it rather than lose the sender.
    let from = froms
        .first()
        .and_then(|h| h.value.as_address())
        .and_then(|a| mailboxes(a).next())
        .or_else(|| {
            let address = EmailAddress::parse(from_raw.as_deref()?).ok()?;
            Some(Mailbox {
                address,
                name: None,
            })
        });
    let subject = charset::subject(message)
        .map(|s| clean_header_text(&s))
        .unwrap_or_default();
    let mut text = joined(
        message
            .text_bodies()
            .enumerate()
            .filter_map(|(i, _)| charset::body_text(message, i))
            .collect(),
        "\n\n",
    );
    let html_parts: Vec<_> = message
        .html_bodies()
        .filter(|p| p.is_text_html())
        .filter_map(|p| charset::part_contents(message, p))
        .collect();
    let mut html = (!html_parts.is_empty()).then(|| joined(html_parts, "\n"));
    // A part whose header lines run straight into its text (no blank line) loses that text
    // in mail-parser: the header blocks are read again.
    if text.trim().is_empty()
        && html.is_none()
        && let Some(recovered) = repair::headerless_text(message)
    {
        text = recovered;
    }
    let mut winmail_body = winmail::WinmailBody::default();
    let attachments: Vec<MailAttachment<'m>> = winmail::expand(
        message.attachments().map(attachment).collect(),
        &mut winmail_body,
    );
    winmail_body.fill(&mut text, &mut html);
    let mut mail = InboundMail {
        from_raw,
        from,
        from_fields: froms.len(),
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
        trace: trace_headers(message),
        dkim_signed: message
            .headers()
            .iter()
            .any(|h| h.name == HeaderName::DkimSignature),
        content_digest: String::new(),
    };
    names::mend_display_names(message, &mut mail);
    mail.content_digest = content_digest(&mail, message.header_raw("Date"));
    mail
}

/// The value of `header` as written, folding included.
fn raw_value<'m>(message: &'m Message<'m>, header: &Header<'_>) -> &'m str {
    message
        .raw_message
        .get(header.offset_start as usize..header.offset_end as usize)
        .and_then(|raw| std::str::from_utf8(raw).ok())
        .unwrap_or("")
}

/// The trace headers, topmost first, authentication results unfolded.
fn trace_headers(message: &Message<'_>) -> Vec<TraceHeader> {
    message
        .headers()
        .iter()
        .filter_map(|h| match h.name {
            HeaderName::Received => Some(TraceHeader::Received),
            HeaderName::AuthenticationResults => Some(TraceHeader::AuthenticationResults(
                raw_value(message, h)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            )),
            _ => None,
        })
        .collect()
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
        let name = addr
            .name()
            .map(clean_header_text)
            .and_then(|n| display_name(n, &address));
        Some(Mailbox { address, name })
    })
}

/// The longest display name kept, in characters: a name is for a greeting and a list, and
/// a 2 MB one would be echoed into every notification and log line.
const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// The display name worth keeping for `address`: none when empty, or when it holds another
/// address (`"support@ours" <evil@x>` would show a stranger as us, or as someone else);
/// cut to [`MAX_DISPLAY_NAME_CHARS`].
fn display_name(name: String, address: &EmailAddress) -> Option<String> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let impersonates = name
        .split(|c: char| c.is_whitespace() || "<>()[],;:\"'".contains(c))
        .filter(|word| word.contains('@'))
        .any(|word| EmailAddress::parse(word).map_or(true, |a| a != *address));
    if impersonates {
        return None;
    }
    Some(match name.char_indices().nth(MAX_DISPLAY_NAME_CHARS) {
        Some((cut, _)) => format!("{}…", name[..cut].trim_end()),
        None => name.to_string(),
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
                // The line end before the closing boundary is the boundary's (RFC 2046):
                // a header block that runs up to it has none after its last field, which
                // mail-parser then drops (the Message-ID naming our notification, say).
                let contents = part.contents();
                let completed;
                let block = if contents.ends_with(b"\n") {
                    contents
                } else {
                    completed = [contents, b"\r\n"].concat();
                    &completed
                };
                if let Some(headers) = MessageParser::default().parse_headers(block) {
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

/// `parts` joined by `separator`; a single part as it is, not copied (a large mail's body
/// would be held twice for a moment).
fn joined(mut parts: Vec<Cow<'_, str>>, separator: &str) -> String {
    match parts.len() {
        1 => parts.pop().map(Cow::into_owned).unwrap_or_default(),
        _ => parts.join(separator),
    }
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
    fn a_display_name_holding_another_address_is_dropped_and_a_long_one_cut() {
        let long = "N".repeat(5000);
        let raw = format!(
            "From: \"support@ours.test\" <evil@attacker.example>\r\n\
             To: \"Bob <bob@example.org>\" <bob@example.org>, \"{long}\" <carol@example.org>\r\n\
             Subject: x\r\n\r\nbody\r\n"
        );
        let msg = parse_message(raw.as_bytes()).unwrap();
        let mail = inbound_mail(&msg);
        let from = mail.from.as_ref().unwrap();
        assert_eq!(from.address.as_str(), "evil@attacker.example");
        assert_eq!(from.name, None);
        // Its own address in its name is no disguise.
        assert_eq!(mail.to[0].name.as_deref(), Some("Bob <bob@example.org>"));
        let cut = mail.to[1].name.as_deref().unwrap();
        assert_eq!(cut.chars().count(), MAX_DISPLAY_NAME_CHARS + 1);
        assert!(cut.ends_with('…'));
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
    fn leading_blank_lines_and_mbox_separator_are_skipped() {
        let raw = [
            b"   \r\nFrom alice@example.org Tue Nov 24 10:00:00 2026\n".as_slice(),
            SIMPLE,
        ]
        .concat();
        let msg = parse_message(&raw).unwrap();
        assert_eq!(inbound_mail(&msg).subject, "Problème de VPN");
    }

    #[test]
    fn refuses_input_without_headers() {
        assert_eq!(parse_message(b"  \r\n").unwrap_err(), ParseError::Empty);
    }
}
