//! Outlook's winmail.dat (`application/ms-tnef`, [MS-OXTNEF]): the files and the body an
//! Outlook client wraps into one opaque attachment. Written here rather than taken from
//! the `tnef` crate, which reads attachments only: the body is needed when the mail
//! carries no other. Input is hostile: every length is checked against what is left, the
//! number of files and the bytes handed out are capped, and no input makes it panic.
//!
//! Read: the legacy attributes (attBody, attAttachRendData, attAttachTitle,
//! attAttachData, attOemCodepage) and the MAPI properties PR_BODY, PR_BODY_HTML,
//! PR_INTERNET_CPID, PR_ATTACH_LONG_FILENAME, PR_ATTACH_FILENAME, PR_ATTACH_MIME_TAG,
//! PR_ATTACH_CONTENT_ID and PR_ATTACH_DATA_BIN. Not read: compressed RTF bodies
//! (PR_RTF_COMPRESSED) and attached Outlook items (PR_ATTACH_DATA_OBJ), which are
//! reported so that the caller keeps winmail.dat itself.

mod mapi;
mod reader;

use mapi::{PT_BINARY, PT_STRING8, PT_UNICODE, Prop};
use reader::{Reader, Short};

/// The first four bytes of every TNEF stream.
pub const SIGNATURE: u32 = 0x223E_9F78;
/// The most files one winmail.dat may hold; past it, the stream is refused.
pub const MAX_ATTACHMENTS: usize = 1_000;
/// The most bytes (files and bodies) one winmail.dat may hand out.
pub const MAX_TOTAL_BYTES: usize = 128 << 20;

const ATT_BODY: u16 = 0x800C;
const ATT_ATTACH_DATA: u16 = 0x800F;
const ATT_ATTACH_TITLE: u16 = 0x8010;
const ATT_ATTACH_REND_DATA: u16 = 0x9002;
const ATT_MAPI_PROPS: u16 = 0x9003;
const ATT_ATTACHMENT: u16 = 0x9005;
const ATT_OEM_CODEPAGE: u16 = 0x9007;

const PR_BODY: u16 = 0x1000;
const PR_RTF_COMPRESSED: u16 = 0x1009;
const PR_BODY_HTML: u16 = 0x1013;
const PR_INTERNET_CPID: u16 = 0x3FDE;
const PR_ATTACH_DATA: u16 = 0x3701;
const PR_ATTACH_FILENAME: u16 = 0x3704;
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_ATTACH_MIME_TAG: u16 = 0x370E;
const PR_ATTACH_CONTENT_ID: u16 = 0x3712;

/// Why a TNEF stream was not decoded. The caller keeps the stream as it came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TnefError {
    #[error("not a TNEF stream: it does not start with the TNEF signature")]
    NotTnef,
    #[error("the TNEF stream is cut short: the attribute at byte {0} runs past its end")]
    Truncated(usize),
    #[error("the MAPI properties of the TNEF attribute at byte {0} are malformed")]
    BadProperties(usize),
    #[error("the TNEF stream holds more than {MAX_ATTACHMENTS} files")]
    TooManyAttachments,
    #[error("the TNEF stream's files and body exceed {MAX_TOTAL_BYTES} bytes")]
    TooLarge,
}

/// What a TNEF stream carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tnef<'a> {
    /// The plain-text body (attBody or PR_BODY), if any.
    pub body_text: Option<String>,
    /// The HTML body (PR_BODY_HTML), if any.
    pub body_html: Option<String>,
    /// Whether the body is also (or only) in compressed RTF, which is not decoded.
    pub has_rtf_body: bool,
    /// The files, in the order of the stream.
    pub attachments: Vec<TnefAttachment<'a>>,
}

/// One file of a TNEF stream. Its names are the sender's, untrusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TnefAttachment<'a> {
    /// The short (8.3) name of attAttachTitle or PR_ATTACH_FILENAME.
    pub title: Option<String>,
    /// The real name, PR_ATTACH_LONG_FILENAME.
    pub long_name: Option<String>,
    /// PR_ATTACH_MIME_TAG, as the sender wrote it.
    pub mime_type: Option<String>,
    /// PR_ATTACH_CONTENT_ID, for an image the HTML body shows.
    pub content_id: Option<String>,
    /// The file's bytes, borrowed from the stream; `None` for what is not a file (an
    /// attached Outlook item), which this decoder does not unpack.
    pub data: Option<&'a [u8]>,
}

impl TnefAttachment<'_> {
    /// The best name: the long one, else the 8.3 title.
    pub fn name(&self) -> Option<&str> {
        self.long_name.as_deref().or(self.title.as_deref())
    }
}

/// Decodes a TNEF stream. Pure and total: any input gives a value or an error.
pub fn decode(bytes: &[u8]) -> Result<Tnef<'_>, TnefError> {
    let mut r = Reader::new(bytes);
    if r.u32().ok() != Some(SIGNATURE) {
        return Err(TnefError::NotTnef);
    }
    r.u16().map_err(|_| TnefError::NotTnef)?; // the legacy key, unused
    let mut b = Builder::default();
    while r.remaining() > 0 {
        let at = r.pos();
        let record = (|| -> Result<_, Short> {
            let _level = r.u8()?;
            let id = r.u32()?;
            let len = r.len32()?;
            let data = r.take(len)?;
            // The checksum is not verified: some writers get it wrong, and the lengths
            // already keep a damaged stream from being read past its end.
            let _checksum = r.u16()?;
            Ok((id, data))
        })();
        let (id, data) = record.map_err(|_| TnefError::Truncated(at))?;
        b.attribute(id, data, at)?;
    }
    Ok(b.tnef)
}

/// The stream read so far.
#[derive(Default)]
struct Builder<'a> {
    tnef: Tnef<'a>,
    /// The OEM code page of 8-bit strings (attOemCodepage).
    codepage: Option<u32>,
    /// PR_INTERNET_CPID: the code page of an 8-bit HTML body.
    html_codepage: Option<u32>,
    total: usize,
}

impl<'a> Builder<'a> {
    fn attribute(&mut self, id: u32, data: &'a [u8], at: usize) -> Result<(), TnefError> {
        match (id & 0xFFFF) as u16 {
            ATT_OEM_CODEPAGE => {
                self.codepage = data
                    .get(..4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            }
            ATT_BODY => {
                self.count(data.len())?;
                self.tnef.body_text = Some(text_8bit(data, self.codepage));
            }
            ATT_MAPI_PROPS => {
                let props = mapi::parse(data).map_err(|_| TnefError::BadProperties(at))?;
                self.message_props(&props)?;
            }
            ATT_ATTACH_REND_DATA => {
                if self.tnef.attachments.len() >= MAX_ATTACHMENTS {
                    return Err(TnefError::TooManyAttachments);
                }
                self.tnef.attachments.push(TnefAttachment::default());
            }
            ATT_ATTACH_TITLE => {
                let title = text_8bit(data, self.codepage);
                if let Some(a) = self.tnef.attachments.last_mut() {
                    a.title = Some(title);
                }
            }
            ATT_ATTACH_DATA => {
                self.count(data.len())?;
                if let Some(a) = self.tnef.attachments.last_mut() {
                    a.data = Some(data);
                }
            }
            ATT_ATTACHMENT => {
                let props = mapi::parse(data).map_err(|_| TnefError::BadProperties(at))?;
                self.attachment_props(&props)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn count(&mut self, n: usize) -> Result<(), TnefError> {
        self.total = self.total.saturating_add(n);
        if self.total > MAX_TOTAL_BYTES {
            return Err(TnefError::TooLarge);
        }
        Ok(())
    }

    fn message_props(&mut self, props: &[Prop<'a>]) -> Result<(), TnefError> {
        if let Some(cpid) = find(props, PR_INTERNET_CPID).and_then(|p| p.value) {
            self.html_codepage = cpid
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        }
        for p in props {
            let Some(value) = p.value else { continue };
            match p.id {
                PR_BODY => {
                    if let Some(text) = prop_text(p, value, self.codepage) {
                        self.count(value.len())?;
                        self.tnef.body_text = Some(text);
                    }
                }
                PR_BODY_HTML => {
                    let codepage = self.html_codepage.or(self.codepage);
                    if let Some(html) = prop_text(p, value, codepage) {
                        self.count(value.len())?;
                        self.tnef.body_html = Some(html);
                    }
                }
                PR_RTF_COMPRESSED => self.tnef.has_rtf_body = true,
                _ => {}
            }
        }
        Ok(())
    }

    fn attachment_props(&mut self, props: &[Prop<'a>]) -> Result<(), TnefError> {
        let codepage = self.codepage;
        let text = |id| {
            find(props, id)
                .and_then(|p| prop_text(p, p.value?, codepage))
                .filter(|s| !s.is_empty())
        };
        let (long_name, short_name) = (text(PR_ATTACH_LONG_FILENAME), text(PR_ATTACH_FILENAME));
        let (mime_type, content_id) = (text(PR_ATTACH_MIME_TAG), text(PR_ATTACH_CONTENT_ID));
        let binary = find(props, PR_ATTACH_DATA)
            .filter(|p| p.ptype == PT_BINARY)
            .and_then(|p| p.value);
        let Some(a) = self.tnef.attachments.last_mut() else {
            return Ok(());
        };
        a.long_name = long_name.or(a.long_name.take());
        a.title = a.title.take().or(short_name);
        a.mime_type = mime_type.or(a.mime_type.take());
        a.content_id = content_id.or(a.content_id.take());
        if let (None, Some(data)) = (a.data, binary) {
            a.data = Some(data);
            self.count(data.len())?;
        }
        Ok(())
    }
}

fn find<'p, 'a>(props: &'p [Prop<'a>], id: u16) -> Option<&'p Prop<'a>> {
    props.iter().find(|p| p.id == id)
}

/// A string or binary property as text: UTF-16 for PT_UNICODE, the code page otherwise.
fn prop_text(p: &Prop<'_>, value: &[u8], codepage: Option<u32>) -> Option<String> {
    match p.ptype {
        PT_UNICODE => Some(text_utf16(value)),
        PT_STRING8 | PT_BINARY => Some(text_8bit(value, codepage)),
        _ => None,
    }
}

fn text_utf16(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    let s: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    s.trim_end_matches('\0').to_string()
}

/// 8-bit text in a Windows code page, up to its first NUL. UTF-8 is taken as it is
/// whatever the code page says; an unknown code page is read as windows-1252.
fn text_8bit(bytes: &[u8], codepage: Option<u32>) -> String {
    let bytes = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    let charset = match codepage {
        Some(932) => "shift_jis".to_string(),
        Some(936) => "gbk".to_string(),
        Some(949) => "euc_kr".to_string(),
        Some(950) => "big5".to_string(),
        Some(cp @ 1250..=1258) => format!("cp{cp}"),
        _ => "cp1252".to_string(),
    };
    match mail_parser::decoders::charsets::map::charset_decoder(charset.as_bytes()) {
        Some(decode) => decode(bytes),
        None => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

#[cfg(test)]
mod tests;
