//! Delivery reports (RFC 3464, and RFC 6533's global form), read once at parse time: the
//! recipients their machine-readable part says delivery failed to.

use mail_parser::{Message, MimeHeaders};

use crate::domain::EmailAddress;

/// The recipients the delivery-status parts of a report (RFC 3464, and RFC 6533's
/// `message/global-delivery-status`) say delivery failed to. A status part is a block of
/// per-message fields, then one block per recipient, separated by blank lines; a recipient
/// counts only when its own block says `Action: failed`.
pub(super) fn delivery_failures(message: &Message<'_>) -> Vec<EmailAddress> {
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

#[cfg(test)]
mod tests {
    use super::super::{inbound_mail, parse_message};

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

    /// The original's header, enclosed as `text/rfc822-headers`, names the notification
    /// that bounced by its Message-ID, on the block's last line or not, with or without a
    /// line end before the closing boundary.
    #[test]
    fn the_enclosed_header_names_the_original_whatever_its_last_line() {
        for (block, end) in [
            ("Subject: Hello\r\nMessage-ID: <tg.1@ours.test>", ""),
            ("Subject: Hello\r\nMessage-ID: <tg.1@ours.test>", "\r\n"),
            ("Message-ID: <tg.1@ours.test>\r\nSubject: Hello", ""),
        ] {
            let raw = format!(
                "From: MAILER-DAEMON@mx.acme.example\r\nTo: support@ours.test\r\n\
                 Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n\
                 --r\r\nContent-Type: message/delivery-status\r\n\r\n\
                 Final-Recipient: rfc822; gone@acme.example\r\nAction: failed\r\n\
                 --r\r\nContent-Type: text/rfc822-headers\r\n\r\n{block}{end}\r\n--r--\r\n"
            );
            let message = parse_message(raw.as_bytes()).unwrap();
            let embedded = inbound_mail(&message).embedded;
            assert_eq!(embedded.len(), 1, "{block:?}{end:?}");
            assert_eq!(
                embedded[0].message_id.as_deref(),
                Some("tg.1@ours.test"),
                "{block:?}{end:?}"
            );
            assert_eq!(
                embedded[0].subject.as_deref(),
                Some("Hello"),
                "{block:?}{end:?}"
            );
        }
    }
}
