//! Display names written as raw 8-bit bytes in a legacy charset (`From: José <j@x>` in
//! Latin-1, a name in Shift_JIS), which mail-parser reads with U+FFFD: the address header is
//! decoded again from its raw bytes and parsed once more, and the name of each mailbox that
//! held U+FFFD is taken from there.

use mail_parser::{HeaderName, Message, MessageParser};

use super::charset::Fallback;
use super::mailboxes;
use crate::domain::{InboundMail, Mailbox};

const REPLACEMENT: char = '\u{FFFD}';

/// Mends the display names of `mail` that hold U+FFFD; the others, and the addresses, are
/// left as they are.
pub(super) fn mend_display_names(message: &Message<'_>, mail: &mut InboundMail<'_>) {
    let broken = |m: &Mailbox| m.name.as_deref().is_some_and(|n| n.contains(REPLACEMENT));
    let all = mail
        .from
        .iter()
        .chain(&mail.reply_to)
        .chain(&mail.to)
        .chain(&mail.cc);
    if !all.clone().any(broken) {
        return;
    }
    let mended = mended_mailboxes(message);
    let fields = mail.from.iter_mut().chain(mail.reply_to.iter_mut());
    for mailbox in fields.chain(mail.to.iter_mut()).chain(mail.cc.iter_mut()) {
        if broken(mailbox)
            && let Some(found) = mended.iter().find(|m| m.address == mailbox.address)
        {
            mailbox.name.clone_from(&found.name);
        }
    }
}

/// The mailboxes of every address header whose raw bytes are not UTF-8, read again from
/// those bytes decoded into UTF-8 (encoded words left for the parser).
fn mended_mailboxes(message: &Message<'_>) -> Vec<Mailbox> {
    let fallback = Fallback::of(message);
    let mut found = Vec::new();
    let headers = message.root_part().headers.iter().filter(|h| {
        matches!(
            h.name,
            HeaderName::From | HeaderName::To | HeaderName::Cc | HeaderName::ReplyTo
        )
    });
    for header in headers {
        let Some(raw) = message
            .raw_message
            .get(header.offset_start as usize..header.offset_end as usize)
        else {
            continue;
        };
        if std::str::from_utf8(raw).is_ok() {
            continue;
        }
        let text = fallback
            .encoding_for(raw)
            .decode_without_bom_handling(raw)
            .0;
        let field = format!("{}:{}\r\n\r\n", header.name.as_str(), text.trim_end());
        let Some(parsed) = MessageParser::default().parse_headers(field.as_bytes()) else {
            continue;
        };
        for h in parsed.root_part().headers.iter() {
            if let Some(address) = h.value.as_address() {
                found.extend(mailboxes(address));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::pipeline::parse::{inbound_mail, parse_message};

    #[test]
    fn raw_latin_1_and_shift_jis_display_names_are_decoded() {
        let raw = [
            b"From: Jos\xe9 Garc\xeda <jose@client.example>\r\nTo: support@ours.test, ".as_slice(),
            &encoding_rs::SHIFT_JIS.encode("山田太郎").0,
            b" <taro@client.example>\r\nCc: =?utf-8?q?Ren=C3=A9?= <rene@client.example>\r\n\
              Subject: s\r\n\r\nbody\r\n",
        ]
        .concat();
        let message = parse_message(&raw).unwrap();
        let mail = inbound_mail(&message);
        assert_eq!(mail.from.unwrap().name.as_deref(), Some("José García"));
        assert_eq!(mail.to[1].name.as_deref(), Some("山田太郎"));
        assert_eq!(mail.cc[0].name.as_deref(), Some("René"));
    }
}
