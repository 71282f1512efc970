//! Outlook's winmail.dat in a mail: replaced by the files inside, each then stored like
//! any attachment (its name sanitized, the size limit applied, its bytes content-addressed
//! by the article), and its body kept for a mail that has no other. A stream that cannot
//! be decoded, or holds what the decoder does not unpack, is kept as it came: nothing the
//! sender sent is lost.

use std::borrow::Cow;

use super::tnef::{self, Tnef, TnefAttachment};
use crate::domain::{MailAttachment, content_type_from_name};

/// The body a winmail.dat carried, for a mail with no text or HTML of its own.
#[derive(Debug, Default)]
pub(super) struct WinmailBody {
    pub text: Option<String>,
    pub html: Option<String>,
}

impl WinmailBody {
    /// Gives a mail with no body of its own (no text, no HTML) the winmail.dat's: its
    /// text, else its HTML and the text made from it.
    pub(super) fn fill(self, text: &mut String, html: &mut Option<String>) {
        if !text.trim().is_empty() || html.is_some() {
            return;
        }
        if let Some(t) = self.text.filter(|t| !t.trim().is_empty()) {
            *text = t;
        } else if let Some(h) = self.html {
            *text = mail_parser::decoders::html::html_to_text(&h);
            *html = Some(h);
        }
    }
}

/// Replaces each winmail.dat of `attachments` with the files inside it; the first body
/// found goes to `body`.
pub(super) fn expand<'m>(
    attachments: Vec<MailAttachment<'m>>,
    body: &mut WinmailBody,
) -> Vec<MailAttachment<'m>> {
    let mut out = Vec::with_capacity(attachments.len());
    for a in attachments {
        if !is_winmail(&a) {
            out.push(a);
            continue;
        }
        let decoded = match &a.bytes {
            Cow::Borrowed(bytes) => tnef::decode(bytes).map(|t| unpack(t, body, Cow::Borrowed)),
            Cow::Owned(bytes) => {
                tnef::decode(bytes).map(|t| unpack(t, body, |d| Cow::Owned(d.to_vec())))
            }
        };
        match decoded {
            Ok((files, complete)) => {
                tracing::debug!(files = files.len(), complete, "winmail.dat unpacked");
                out.extend(files);
                if !complete {
                    out.push(a);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "winmail.dat kept as it came: it could not be decoded");
                out.push(a);
            }
        }
    }
    out
}

/// Why a winmail.dat still among the attachments (after [`expand`]) was kept as it came,
/// for `explain`; `None` for any other file.
pub(crate) fn why_kept(a: &MailAttachment<'_>) -> Option<String> {
    if !is_winmail(a) {
        return None;
    }
    Some(match tnef::decode(&a.bytes) {
        Err(e) => format!("kept as it came: {e}"),
        Ok(_) => "kept beside its files: it holds what is not unpacked (a body only in \
                  compressed RTF, an attached Outlook item) or nothing readable"
            .into(),
    })
}

/// A part Outlook wrote as TNEF: by its type, or by its name when the type was lost.
fn is_winmail(a: &MailAttachment<'_>) -> bool {
    matches!(
        a.content_type.as_str(),
        "application/ms-tnef" | "application/vnd.ms-tnef"
    ) || a
        .filename
        .as_deref()
        .is_some_and(|n| n.trim().eq_ignore_ascii_case("winmail.dat"))
}

/// The files of a decoded stream, and whether they are all it holds (an attached Outlook
/// item is not unpacked, so the stream is kept beside the files).
fn unpack<'a, 'm>(
    tnef: Tnef<'a>,
    body: &mut WinmailBody,
    own: impl Fn(&'a [u8]) -> Cow<'m, [u8]>,
) -> (Vec<MailAttachment<'m>>, bool) {
    let has_body = tnef.body_text.is_some() || tnef.body_html.is_some();
    // A body only in compressed RTF is not decoded: the stream is kept for it.
    let mut complete = has_body || !tnef.has_rtf_body;
    if body.text.is_none() && body.html.is_none() {
        body.text = tnef.body_text;
        body.html = tnef.body_html;
    }
    let mut files = Vec::with_capacity(tnef.attachments.len());
    for a in &tnef.attachments {
        match a.data {
            Some(data) => files.push(file(a, own(data))),
            None => complete = false,
        }
    }
    // A stream with nothing this decoder could read (no file, no body) is kept too.
    if files.is_empty() && !has_body {
        complete = false;
    }
    (files, complete)
}

fn file<'m>(a: &TnefAttachment<'_>, bytes: Cow<'m, [u8]>) -> MailAttachment<'m> {
    let filename = a.name().map(str::to_string);
    let content_type = a
        .mime_type
        .as_deref()
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| is_media_type(t))
        .unwrap_or_else(|| content_type_from_name(filename.as_deref().unwrap_or("")).into());
    MailAttachment {
        filename,
        content_type,
        content_id: a.content_id.as_deref().and_then(super::clean_id),
        // As for a MIME part: a file with a Content-ID is an image the HTML body shows.
        inline: a.content_id.is_some(),
        bytes,
    }
}

/// Whether a sender's MIME tag looks like `type/subtype` (and nothing else).
fn is_media_type(t: &str) -> bool {
    t.len() <= 127
        && t.split_once('/').is_some_and(|(a, b)| {
            let token = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&c))
            };
            token(a) && token(b)
        })
}
