//! A small TNEF (winmail.dat) writer for the tests, written from Microsoft's [MS-OXTNEF]
//! description: the signature, then attribute records (level, id, length, data, checksum),
//! MAPI property blocks for the long file names and bodies. Every test file of the TNEF
//! decoder is made with it, so no Outlook output of unknown licence is kept in the tree.

#![allow(dead_code)]

pub const SIGNATURE: u32 = 0x223E_9F78;
pub const LEVEL_MESSAGE: u8 = 1;
pub const LEVEL_ATTACHMENT: u8 = 2;

pub const ATT_BODY: u32 = 0x0001_800C;
pub const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
pub const ATT_ATTACH_DATA: u32 = 0x0006_800F;
pub const ATT_ATTACH_REND_DATA: u32 = 0x0006_9002;
pub const ATT_MAPI_PROPS: u32 = 0x0006_9003;
pub const ATT_ATTACHMENT: u32 = 0x0006_9005;
pub const ATT_TNEF_VERSION: u32 = 0x0008_9006;
pub const ATT_OEM_CODEPAGE: u32 = 0x0006_9007;

pub const PT_LONG: u16 = 0x0003;
pub const PT_STRING8: u16 = 0x001E;
pub const PT_UNICODE: u16 = 0x001F;
pub const PT_BINARY: u16 = 0x0102;

pub const PR_BODY: u16 = 0x1000;
pub const PR_BODY_HTML: u16 = 0x1013;
pub const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
pub const PR_ATTACH_MIME_TAG: u16 = 0x370E;

/// A TNEF stream being written.
pub struct TnefWriter {
    out: Vec<u8>,
}

impl Default for TnefWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl TnefWriter {
    /// The signature, the legacy key, and the version and code page Outlook writes first.
    pub fn new() -> Self {
        let mut out = SIGNATURE.to_le_bytes().to_vec();
        out.extend_from_slice(&0x0001u16.to_le_bytes());
        let w = Self { out };
        let mut codepage = 1252u32.to_le_bytes().to_vec();
        codepage.extend_from_slice(&0u32.to_le_bytes());
        w.attribute(
            LEVEL_MESSAGE,
            ATT_TNEF_VERSION,
            &0x0001_0000u32.to_le_bytes(),
        )
        .attribute(LEVEL_MESSAGE, ATT_OEM_CODEPAGE, &codepage)
    }

    /// One attribute record, with its checksum (the sum of the data bytes, modulo 65536).
    pub fn attribute(mut self, level: u8, id: u32, data: &[u8]) -> Self {
        self.out.push(level);
        self.out.extend_from_slice(&id.to_le_bytes());
        self.out
            .extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        self.out.extend_from_slice(data);
        let sum = data.iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
        self.out.extend_from_slice(&sum.to_le_bytes());
        self
    }

    /// The plain-text body as the legacy attBody attribute (NUL-terminated, code page).
    pub fn body(self, text: &str) -> Self {
        self.attribute(LEVEL_MESSAGE, ATT_BODY, &nul_terminated(text.as_bytes()))
    }

    /// The message's MAPI properties (PR_BODY, PR_BODY_HTML…).
    pub fn message_props(self, props: &MapiProps) -> Self {
        self.attribute(LEVEL_MESSAGE, ATT_MAPI_PROPS, &props.bytes())
    }

    /// An attachment: its rendering record, 8.3 title, data, and, when given, its long
    /// name in the attachment's MAPI properties (as Unicode, the way Outlook writes it).
    pub fn attachment(self, title: &str, long_name: Option<&str>, data: &[u8]) -> Self {
        // attAttachRendData: type (1 = file), position, width, height, flags.
        let mut rend = 1u16.to_le_bytes().to_vec();
        rend.extend_from_slice(&u32::MAX.to_le_bytes());
        rend.extend_from_slice(&[0; 8]);
        let w = self
            .attribute(LEVEL_ATTACHMENT, ATT_ATTACH_REND_DATA, &rend)
            .attribute(
                LEVEL_ATTACHMENT,
                ATT_ATTACH_TITLE,
                &nul_terminated(title.as_bytes()),
            )
            .attribute(LEVEL_ATTACHMENT, ATT_ATTACH_DATA, data);
        match long_name {
            Some(name) => {
                let props = MapiProps::new().unicode(PR_ATTACH_LONG_FILENAME, name);
                w.attribute(LEVEL_ATTACHMENT, ATT_ATTACHMENT, &props.bytes())
            }
            None => w,
        }
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// A MAPI property block: a count, then each property's type, id and value.
#[derive(Default)]
pub struct MapiProps {
    count: u32,
    buf: Vec<u8>,
}

impl MapiProps {
    pub fn new() -> Self {
        Self::default()
    }

    fn tag(mut self, ptype: u16, id: u16) -> Self {
        self.count += 1;
        self.buf.extend_from_slice(&ptype.to_le_bytes());
        self.buf.extend_from_slice(&id.to_le_bytes());
        self
    }

    /// A variable-length value: a count of values (1), its length, the bytes, padding to 4.
    fn variable(mut self, ptype: u16, id: u16, value: &[u8]) -> Self {
        self = self.tag(ptype, id);
        self.buf.extend_from_slice(&1u32.to_le_bytes());
        self.buf
            .extend_from_slice(&u32::try_from(value.len()).unwrap().to_le_bytes());
        self.buf.extend_from_slice(value);
        self.buf
            .extend(std::iter::repeat_n(0, (4 - value.len() % 4) % 4));
        self
    }

    pub fn unicode(self, id: u16, text: &str) -> Self {
        let mut bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        bytes.extend_from_slice(&[0, 0]);
        self.variable(PT_UNICODE, id, &bytes)
    }

    pub fn string8(self, id: u16, bytes: &[u8]) -> Self {
        self.variable(PT_STRING8, id, &nul_terminated(bytes))
    }

    pub fn binary(self, id: u16, bytes: &[u8]) -> Self {
        self.variable(PT_BINARY, id, bytes)
    }

    pub fn long(mut self, id: u16, value: u32) -> Self {
        self = self.tag(PT_LONG, id);
        self.buf.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// A named property (id ≥ 0x8000): GUID, kind 1 (a name), the UTF-16 name, then a
    /// long value; the decoder must step over it.
    pub fn named_long(mut self, id: u16, name: &str, value: u32) -> Self {
        self = self.tag(PT_LONG, id);
        self.buf.extend_from_slice(&[0x11; 16]);
        self.buf.extend_from_slice(&1u32.to_le_bytes());
        let mut n: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
        n.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&u32::try_from(n.len()).unwrap().to_le_bytes());
        self.buf.extend_from_slice(&n);
        self.buf
            .extend(std::iter::repeat_n(0, (4 - n.len() % 4) % 4));
        self.buf.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = self.count.to_le_bytes().to_vec();
        out.extend_from_slice(&self.buf);
        out
    }
}

fn nul_terminated(bytes: &[u8]) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v.push(0);
    v
}
