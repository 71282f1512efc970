//! The bench's mails, generated as they are written: the bench never holds a whole one,
//! since a child started while it held 49 MB would carry that into its `ru_maxrss`.
//!
//! Bodies are mailgen's sentences (UTF-8, some words outside ASCII), as text or as HTML
//! paragraphs, in 8bit, base64 or quoted-printable with CRLF line ends.

use std::io::{self, BufRead, Write};
use std::path::Path;

use base64::Engine;

use crate::support::mailgen::MailGen;

/// Alice's header block (From, To, Subject, Date, Message-ID, MIME-Version), CRLF ends.
pub fn headers(subject: &str, id: &str) -> String {
    format!(
        "From: Alice Martin <alice@example.com>\r\nTo: Support <support@localhost>\r\n\
         Subject: {subject}\r\nDate: Wed, 25 Nov 2026 09:00:00 +0000\r\n\
         Message-ID: <{id}@example.com>\r\nMIME-Version: 1.0\r\n"
    )
}

/// A mail whose text/plain body makes it `bytes` long, written as it is generated.
pub fn write_text_mail(path: &Path, bytes: u64) -> io::Result<()> {
    let mut file = io::BufWriter::new(std::fs::File::create(path)?);
    let head = headers("Full export of the server log", "memory-text")
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
    file.write_all(head.as_bytes())?;
    let mut written = head.len() as u64;
    let mut generator = MailGen::new(25);
    while written < bytes {
        let text = generator.text(64 * 1024).replace('\n', "\r\n");
        let take = text.len().min((bytes - written) as usize);
        // Cut at a line end, so that the body stays whole lines of UTF-8.
        let cut = text[..take].rfind("\r\n").map_or(take, |i| i + 2);
        let chunk = if take < text.len() {
            &text[..cut]
        } else {
            &text
        };
        file.write_all(chunk.as_bytes())?;
        written += chunk.len() as u64;
        if take < text.len() {
            break;
        }
    }
    file.flush()
}

/// A short mail with one attachment part that makes it `bytes` long; the decoded size.
pub fn write_attachment_mail(path: &Path, bytes: u64) -> io::Result<u64> {
    let mut file = io::BufWriter::new(std::fs::File::create(path)?);
    let head = headers("Our database dump", "memory-attachment")
        + "Content-Type: multipart/mixed; boundary=\"=_memory\"\r\n\r\n--=_memory\r\n\
           Content-Type: text/plain; charset=utf-8\r\n\r\n\
           Hello, the dump you asked for is attached.\r\n--=_memory\r\n\
           Content-Type: application/pdf; name=\"dump.pdf\"\r\n\
           Content-Disposition: attachment; filename=\"dump.pdf\"\r\n\
           Content-Transfer-Encoding: base64\r\n\r\n";
    let tail = "--=_memory--\r\n";
    file.write_all(head.as_bytes())?;
    // 57 bytes make one line of 76 base64 characters and CRLF.
    let lines = bytes.saturating_sub((head.len() + tail.len()) as u64) / 78;
    let mut rng = fastrand::Rng::with_seed(25);
    let mut line = [0u8; 57];
    for n in 0..lines {
        rng.fill(&mut line);
        if n == 0 {
            line[..8].copy_from_slice(b"%PDF-1.7");
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(line);
        file.write_all(encoded.as_bytes())?;
        file.write_all(b"\r\n")?;
    }
    file.write_all(tail.as_bytes())?;
    file.flush()?;
    Ok(lines * 57)
}

/// The four large mails of issue 21, each about `LARGE_BYTES`, under the default
/// `max_message_bytes` of 50 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Large {
    /// One text/html body, 8bit.
    Html8bit,
    /// One text/html body, base64 (about 36 MB of HTML decoded).
    HtmlBase64,
    /// One text/plain body, quoted-printable (UTF-8: accented words become `=C3=A9`).
    TextQuotedPrintable,
    /// multipart/alternative: half text/plain, half the same text as HTML, both 8bit.
    Alternative,
}

/// The size of each large mail: 49 MB, 3.4 MB under the 50 MiB limit.
pub const LARGE_BYTES: u64 = 49_000_000;

impl Large {
    pub const ALL: [Large; 4] = [
        Large::Html8bit,
        Large::HtmlBase64,
        Large::TextQuotedPrintable,
        Large::Alternative,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Large::Html8bit => "html-8bit",
            Large::HtmlBase64 => "html-base64",
            Large::TextQuotedPrintable => "text-qp",
            Large::Alternative => "alternative",
        }
    }

    /// Writes this mail (`id` its Message-ID's local part) to `path`, as it is generated.
    pub fn write(self, path: &Path, id: &str) -> io::Result<()> {
        let head = headers("The nightly export log", id);
        match self {
            Large::Html8bit => write_single(path, &head, Content::Html, Transfer::EightBit),
            Large::HtmlBase64 => write_single(path, &head, Content::Html, Transfer::Base64),
            Large::TextQuotedPrintable => {
                write_single(path, &head, Content::Text, Transfer::QuotedPrintable)
            }
            Large::Alternative => write_alternative(path, &head),
        }
    }
}

/// A small opening mail from Alice with Bob in Cc: Bob becomes an observer of the ticket.
pub fn write_opening_with_cc(path: &Path) -> io::Result<()> {
    let mail = headers("The nightly export fails", "large-opening")
        + "Cc: Bob Stone <bob@example.com>\r\n\
           Content-Type: text/plain; charset=utf-8\r\n\r\n\
           The nightly export fails again; I will send the whole log.\r\n";
    std::fs::write(path, mail)
}

/// Alice's 49 MB answer (8bit), text/plain or text/html, with the ticket's tag in its
/// subject.
pub fn write_answer(path: &Path, number: &str, html: bool) -> io::Result<()> {
    let subject = format!("Re: [#{number}] The nightly export fails");
    let (id, content) = if html {
        ("large-answer-html", Content::Html)
    } else {
        ("large-answer-text", Content::Text)
    };
    write_single(path, &headers(&subject, id), content, Transfer::EightBit)
}

/// A copy of the mail at `from` whose Message-ID is `<id@example.com>`: the same body
/// without generating it again.
pub fn copy_with_id(from: &Path, to: &Path, id: &str) -> io::Result<()> {
    let mut input = io::BufReader::new(std::fs::File::open(from)?);
    let mut out = io::BufWriter::new(std::fs::File::create(to)?);
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 || line == "\r\n" {
            out.write_all(line.as_bytes())?;
            break;
        }
        if line.starts_with("Message-ID:") {
            line = format!("Message-ID: <{id}@example.com>\r\n");
        }
        out.write_all(line.as_bytes())?;
    }
    io::copy(&mut input, &mut out)?;
    out.flush()
}

/// What a body holds once decoded.
#[derive(Debug, Clone, Copy)]
enum Content {
    Text,
    Html,
}

/// How a body goes on the wire.
#[derive(Debug, Clone, Copy)]
enum Transfer {
    EightBit,
    Base64,
    QuotedPrintable,
}

impl Transfer {
    fn name(self) -> &'static str {
        match self {
            Transfer::EightBit => "8bit",
            Transfer::Base64 => "base64",
            Transfer::QuotedPrintable => "quoted-printable",
        }
    }
}

fn content_type(content: Content, transfer: Transfer) -> String {
    let kind = match content {
        Content::Text => "text/plain",
        Content::Html => "text/html",
    };
    format!(
        "Content-Type: {kind}; charset=utf-8\r\nContent-Transfer-Encoding: {}\r\n",
        transfer.name()
    )
}

fn write_single(path: &Path, head: &str, content: Content, transfer: Transfer) -> io::Result<()> {
    let mut file = io::BufWriter::new(std::fs::File::create(path)?);
    let head = format!("{head}{}\r\n", content_type(content, transfer));
    file.write_all(head.as_bytes())?;
    let budget = LARGE_BYTES - head.len() as u64;
    write_body(&mut file, content, transfer, budget)?;
    file.flush()
}

fn write_alternative(path: &Path, head: &str) -> io::Result<()> {
    let mut file = io::BufWriter::new(std::fs::File::create(path)?);
    let boundary = "=_alternative";
    let head =
        format!("{head}Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n");
    file.write_all(head.as_bytes())?;
    // Both halves from the same seed: the HTML says what the text says, as in real mail.
    let half = (LARGE_BYTES - head.len() as u64) / 2 - 1_000;
    for content in [Content::Text, Content::Html] {
        let part = format!(
            "--{boundary}\r\n{}\r\n",
            content_type(content, Transfer::EightBit)
        );
        file.write_all(part.as_bytes())?;
        write_body(&mut file, content, Transfer::EightBit, half)?;
    }
    file.write_all(format!("--{boundary}--\r\n").as_bytes())?;
    file.flush()
}

/// Writes about `budget` bytes of encoded body (at most one chunk more), ending with a
/// line end.
fn write_body(
    out: &mut impl Write,
    content: Content,
    transfer: Transfer,
    budget: u64,
) -> io::Result<()> {
    let mut generator = MailGen::new(49);
    let mut encoder = Encoder::new(out, transfer);
    if let Content::Html = content {
        encoder.write(b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n")?;
    }
    // Each chunk stops short of the budget by its own size at most: the mail stays under
    // the limit by far (LARGE_BYTES leaves 3.4 MB).
    while encoder.written + 96 * 1024 < budget {
        let text = generator.text(64 * 1024);
        match content {
            Content::Text => encoder.write(text.as_bytes())?,
            Content::Html => encoder.write(html(&text).as_bytes())?,
        }
    }
    if let Content::Html = content {
        encoder.write(b"</body></html>\n")?;
    }
    encoder.finish()
}

/// The paragraphs of `text` as HTML paragraphs, its lines kept (`<br>`).
fn html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() * 6 / 5);
    for paragraph in text.split("\n\n").filter(|p| !p.is_empty()) {
        html.push_str("<p style=\"font-family:Calibri,sans-serif\">");
        for line in paragraph.lines() {
            html.push_str(&line.replace('&', "&amp;").replace('<', "&lt;"));
            html.push_str("<br>\n");
        }
        html.push_str("</p>\n");
    }
    html
}

/// Encodes LF-ended bytes into one transfer encoding with CRLF line ends, as they come.
struct Encoder<'a, W: Write> {
    out: &'a mut W,
    transfer: Transfer,
    /// base64: the bytes short of a whole line (57 bytes).
    carry: Vec<u8>,
    /// quoted-printable: the column the next byte goes to.
    column: usize,
    /// Encoded bytes written.
    written: u64,
}

impl<'a, W: Write> Encoder<'a, W> {
    fn new(out: &'a mut W, transfer: Transfer) -> Self {
        Self {
            out,
            transfer,
            carry: Vec::new(),
            column: 0,
            written: 0,
        }
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let encoded = match self.transfer {
            Transfer::EightBit => crlf(bytes),
            Transfer::QuotedPrintable => self.quoted_printable(bytes),
            Transfer::Base64 => {
                self.carry.extend_from_slice(&crlf(bytes));
                let whole = self.carry.len() / 57 * 57;
                let lines: Vec<u8> = self.carry[..whole].chunks(57).flat_map(line64).collect();
                self.carry.drain(..whole);
                lines
            }
        };
        self.written += encoded.len() as u64;
        self.out.write_all(&encoded)
    }

    fn finish(self) -> io::Result<()> {
        if !self.carry.is_empty() {
            self.out.write_all(&line64(&self.carry))?;
        }
        Ok(())
    }

    /// Quoted-printable (RFC 2045): `=` and bytes outside printable ASCII as `=XX`, soft
    /// line breaks before column 76.
    fn quoted_printable(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len() * 11 / 10);
        for &b in bytes {
            if b == b'\n' {
                out.extend_from_slice(b"\r\n");
                self.column = 0;
                continue;
            }
            let hex;
            let encoded: &[u8] = if b == b'=' || !(32..=126).contains(&b) {
                hex = format!("={b:02X}");
                hex.as_bytes()
            } else {
                std::slice::from_ref(&b)
            };
            if self.column + encoded.len() > 75 {
                out.extend_from_slice(b"=\r\n");
                self.column = 0;
            }
            self.column += encoded.len();
            out.extend_from_slice(encoded);
        }
        out
    }
}

fn line64(bytes: &[u8]) -> Vec<u8> {
    let mut line = base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .into_bytes();
    line.extend_from_slice(b"\r\n");
    line
}

fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 60);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}
