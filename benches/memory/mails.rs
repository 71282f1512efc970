//! The bench's mails, generated as they are written: the bench never holds a whole one,
//! since a child started while it held 25 MB would carry that into its `ru_maxrss`.

use std::io::{self, Write};
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
