//! A deterministic generator of support mail for the benchmarks: the same seed gives the
//! same bytes, so runs on different days and machines feed ticketgate the same work.
//!
//! The mix follows the benchmark issue: bodies of 2–20 KB of text, about 10% with a 200 KB
//! attachment (base64), about 30% replies to earlier mails of the set (In-Reply-To,
//! References, "Re:" subject, quoted text), and a mix of charsets (UTF-8 8bit, ISO-8859-1
//! quoted-printable, windows-1252 8bit) with some HTML-only mails.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine;
use chrono::{TimeZone, Utc};

/// How a generated mail's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Utf8,
    Latin1QuotedPrintable,
    Windows1252,
    HtmlOnly,
}

/// What was generated, to check the mix and to label the criterion cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub body: Body,
    pub attachment: bool,
    pub reply: bool,
}

/// Counts of a generated set.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    pub mails: usize,
    pub bytes: u64,
    pub replies: usize,
    pub attachments: usize,
    pub html_only: usize,
    pub latin1: usize,
    pub windows1252: usize,
}

/// An earlier mail a reply can answer.
struct Sent {
    message_id: String,
    subject: String,
    from: usize,
    excerpt: String,
    date: String,
}

/// Generates one mail after another; replies answer mails it generated before.
pub struct MailGen {
    rng: fastrand::Rng,
    seed: u64,
    sent: Vec<Sent>,
}

const ATTACHMENT_BYTES: usize = 200 * 1024;

const FIRST: &[&str] = &[
    "Anna",
    "Bernd",
    "Chloé",
    "David",
    "Elif",
    "François",
    "Greta",
    "Hugo",
    "Inés",
    "Jonas",
    "Katarzyna",
    "Lars",
    "María",
    "Noah",
    "Oskar",
    "Paula",
    "Quentin",
    "Rosa",
    "Søren",
    "Tomás",
];
const LAST: &[&str] = &[
    "Müller",
    "Schmidt",
    "García",
    "Dubois",
    "Novak",
    "Jensen",
    "Rossi",
    "Öztürk",
    "Smith",
    "Fernández",
    "Lefèvre",
    "Nowak",
    "Hansen",
    "Bauer",
    "Costa",
    "Wagner",
];
/// The customers' mail domains, shared with the million-ticket seed.
pub const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "kunde.example.de",
    "client.example.fr",
    "mail.example.net",
];
const TOPICS: &[&str] = &[
    "Invoice 2026-0412 shows the wrong VAT rate",
    "Cannot log in after the password reset",
    "Export to CSV stops at 10,000 rows",
    "Delivery address change for order 88172",
    "Rückfrage zur Rechnung vom März",
    "Le rapport mensuel ne s'affiche plus",
    "Printer driver crashes on Windows 11",
    "Question about the annual subscription",
    "Sync fails with error 0x80070005",
    "Pedido duplicado en la tienda",
];
/// Words, some with letters outside ASCII that all three charsets can carry.
const WORDS: &[&str] = &[
    "the",
    "invoice",
    "account",
    "please",
    "since",
    "yesterday",
    "again",
    "order",
    "customer",
    "server",
    "error",
    "message",
    "attached",
    "screenshot",
    "update",
    "version",
    "could",
    "would",
    "because",
    "déjà",
    "café",
    "naïve",
    "Grüße",
    "Straße",
    "über",
    "señor",
    "año",
    "problem",
    "still",
    "happens",
    "when",
    "we",
    "open",
    "report",
    "and",
    "the",
    "system",
    "says",
    "nothing",
    "useful",
    "colleague",
    "tried",
    "restart",
    "without",
    "success",
    "deadline",
    "Friday",
    "thanks",
    "for",
    "your",
    "help",
    "regarding",
    "ticket",
    "support",
];

impl MailGen {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
            seed,
            sent: Vec::new(),
        }
    }

    /// The next mail of the mix, with its shape.
    pub fn next_mail(&mut self) -> (Shape, Vec<u8>) {
        let reply = !self.sent.is_empty() && self.rng.f64() < 0.30;
        let attachment = self.rng.f64() < 0.10;
        let body = match self.rng.u32(0..100) {
            0..10 => Body::HtmlOnly,
            10..30 => Body::Latin1QuotedPrintable,
            30..45 => Body::Windows1252,
            _ => Body::Utf8,
        };
        let shape = Shape {
            body,
            attachment,
            reply,
        };
        let bytes = self.mail(shape);
        (shape, bytes)
    }

    /// A mail of the given shape; a reply answers a random earlier mail of this generator
    /// (and is a new mail when there is none).
    pub fn mail(&mut self, shape: Shape) -> Vec<u8> {
        let answered = if shape.reply && !self.sent.is_empty() {
            Some(self.rng.usize(0..self.sent.len()))
        } else {
            None
        };
        self.compose(shape, answered)
    }

    /// A reply, of the given body and attachment, to the latest mail of this generator.
    pub fn reply_to_latest(&mut self, shape: Shape) -> Vec<u8> {
        let latest = self.sent.len().checked_sub(1);
        self.compose(shape, latest)
    }

    fn compose(&mut self, shape: Shape, answered: Option<usize>) -> Vec<u8> {
        let index = self.sent.len();
        let date_time = Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap()
            + chrono::Duration::seconds(37 * index as i64);
        let date = date_time.to_rfc2822();
        let message_id = format!("<bench.{}.{index}@mail.example.net>", self.seed);
        let from = match answered {
            Some(j) => self.sent[j].from,
            None => self.rng.usize(0..2000),
        };
        let topic = TOPICS[self.rng.usize(0..TOPICS.len())];
        let subject = match answered {
            Some(j) => format!("Re: {}", self.sent[j].subject),
            None => format!("{topic} ({index})"),
        };
        let target = self.rng.usize(2 * 1024..20 * 1024);
        let mut text = self.text(target);
        if let Some(j) = answered {
            let original = &self.sent[j];
            text.push_str(&format!(
                "\n\nOn {}, {} wrote:\n",
                original.date,
                name(from)
            ));
            for line in original.excerpt.lines() {
                text.push_str("> ");
                text.push_str(line);
                text.push('\n');
            }
        }

        let mut head = String::new();
        head.push_str(&format!("Return-Path: <{}>\r\n", address(from)));
        head.push_str(&format!(
            "Received: from mx.example.net (mx.example.net [192.0.2.{}])\r\n\tby mail.localhost with ESMTPS id {index:08x}; {date}\r\n",
            index % 250 + 1
        ));
        head.push_str(&format!(
            "From: {} <{}>\r\n",
            encode_word(&name(from)),
            address(from)
        ));
        head.push_str("To: Support <support@localhost>\r\n");
        head.push_str(&format!("Subject: {}\r\n", encode_word(&subject)));
        head.push_str(&format!("Date: {date}\r\n"));
        head.push_str(&format!("Message-ID: {message_id}\r\n"));
        if let Some(j) = answered {
            let parent = &self.sent[j].message_id;
            head.push_str(&format!(
                "In-Reply-To: {parent}\r\nReferences: {parent}\r\n"
            ));
        }
        head.push_str("MIME-Version: 1.0\r\nUser-Agent: bench-mailgen/1\r\n");

        let (part_head, part_body) = body_part(shape.body, &text);
        let mut out = head.into_bytes();
        if shape.attachment {
            let boundary = format!("=_bench_{index}_boundary");
            out.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n")
                    .as_bytes(),
            );
            out.extend_from_slice(
                format!("This is a multipart message.\r\n--{boundary}\r\n").as_bytes(),
            );
            out.extend_from_slice(part_head.as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&part_body);
            out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
            out.extend_from_slice(
                format!(
                    "Content-Type: application/pdf; name=\"report-{index}.pdf\"\r\n\
                     Content-Disposition: attachment; filename=\"report-{index}.pdf\"\r\n\
                     Content-Transfer-Encoding: base64\r\n\r\n"
                )
                .as_bytes(),
            );
            let mut blob = vec![0u8; ATTACHMENT_BYTES];
            self.rng.fill(&mut blob);
            blob[..8].copy_from_slice(b"%PDF-1.7");
            let encoded = base64::engine::general_purpose::STANDARD.encode(&blob);
            for line in encoded.as_bytes().chunks(76) {
                out.extend_from_slice(line);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        } else {
            out.extend_from_slice(part_head.as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&part_body);
        }

        let excerpt: String = text.lines().take(12).collect::<Vec<_>>().join("\n");
        self.sent.push(Sent {
            message_id,
            subject: match answered {
                Some(j) => self.sent[j].subject.clone(),
                None => subject,
            },
            from,
            excerpt,
            date,
        });
        out
    }

    /// Paragraphs of sentences until `target` bytes, lines wrapped under 78 columns: the
    /// body of a mail of the mix, also what other benches fill tickets and large mails with.
    pub fn text(&mut self, target: usize) -> String {
        let mut text = String::from("Hello support team,\n\n");
        let mut line_len = 0;
        while text.len() < target {
            let words = self.rng.usize(6..18);
            for w in 0..words {
                let mut word = WORDS[self.rng.usize(0..WORDS.len())].to_string();
                if w == 0 {
                    word = capitalize(&word);
                }
                if line_len + word.len() + 1 > 72 {
                    text.push('\n');
                    line_len = 0;
                } else if line_len > 0 {
                    text.push(' ');
                    line_len += 1;
                }
                line_len += word.len();
                text.push_str(&word);
            }
            text.push('.');
            line_len += 1;
            if self.rng.u32(0..5) == 0 {
                text.push_str("\n\n");
                line_len = 0;
            }
        }
        text.push_str("\n\nBest regards\n");
        text
    }
}

/// Writes `count` mails of the mix into `maildir/new/` (creating new/, cur/ and tmp/), with
/// increasing modification times so that `ingest` reads them in generation order.
pub fn write_maildir(maildir: &Path, count: usize, seed: u64) -> std::io::Result<Summary> {
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub))?;
    }
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    let mut generator = MailGen::new(seed);
    let mut summary = Summary::default();
    for index in 0..count {
        let (shape, bytes) = generator.next_mail();
        let path = maildir
            .join("new")
            .join(format!("{:010}.M{index:06}P1.bench", 1_790_000_000 + index));
        let mut file = File::create(&path)?;
        file.write_all(&bytes)?;
        file.set_modified(base + Duration::from_secs(index as u64))?;
        summary.mails += 1;
        summary.bytes += bytes.len() as u64;
        summary.replies += usize::from(shape.reply);
        summary.attachments += usize::from(shape.attachment);
        summary.html_only += usize::from(shape.body == Body::HtmlOnly);
        summary.latin1 += usize::from(shape.body == Body::Latin1QuotedPrintable);
        summary.windows1252 += usize::from(shape.body == Body::Windows1252);
    }
    Ok(summary)
}

fn name(person: usize) -> String {
    format!(
        "{} {}",
        FIRST[person % FIRST.len()],
        LAST[(person / FIRST.len()) % LAST.len()]
    )
}

fn address(person: usize) -> String {
    format!("customer{person}@{}", DOMAINS[person % DOMAINS.len()])
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An RFC 2047 encoded word when `text` is not ASCII.
fn encode_word(text: &str) -> String {
    if text.is_ascii() {
        text.to_string()
    } else {
        format!(
            "=?utf-8?b?{}?=",
            base64::engine::general_purpose::STANDARD.encode(text)
        )
    }
}

/// The Content-Type (and transfer encoding) header lines and the encoded body.
fn body_part(body: Body, text: &str) -> (String, Vec<u8>) {
    match body {
        Body::Utf8 => (
            "Content-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n".into(),
            crlf(text.as_bytes()),
        ),
        Body::Latin1QuotedPrintable => (
            "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n".into(),
            quoted_printable(&single_byte(text, false)),
        ),
        Body::Windows1252 => {
            // Typographic quotes and the euro sign: the characters 1252 adds to Latin-1.
            let text = text.replace(". ", ". \u{201c}Really\u{201d} \u{20ac}5. ");
            (
                "Content-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit\r\n".into(),
                crlf(&single_byte(&text, true)),
            )
        }
        Body::HtmlOnly => {
            let mut html = String::from(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>p{margin:0}</style></head><body>\n",
            );
            for paragraph in text.split("\n\n") {
                html.push_str("<div><p style=\"font-family:Calibri,sans-serif\">");
                for line in paragraph.lines() {
                    let line = line.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
                    html.push_str(&line);
                    html.push_str("<br>\n");
                }
                html.push_str("</p></div>\n");
            }
            html.push_str("</body></html>\n");
            (
                "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n".into(),
                crlf(html.as_bytes()),
            )
        }
    }
}

/// `text` in ISO-8859-1, or windows-1252 when `cp1252` (characters outside become '?').
fn single_byte(text: &str, cp1252: bool) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20ac}' if cp1252 => 0x80,
            '\u{201c}' if cp1252 => 0x93,
            '\u{201d}' if cp1252 => 0x94,
            c if (c as u32) < 0x100 => c as u32 as u8,
            _ => b'?',
        })
        .collect()
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

/// Quoted-printable (RFC 2045) of text whose lines are already short; CRLF line ends.
fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 11 / 10);
    let mut column = 0;
    for &b in bytes {
        if b == b'\n' {
            out.extend_from_slice(b"\r\n");
            column = 0;
            continue;
        }
        let encoded = if b == b'=' || !(32..=126).contains(&b) {
            format!("={b:02X}").into_bytes()
        } else {
            vec![b]
        };
        if column + encoded.len() > 75 {
            out.extend_from_slice(b"=\r\n");
            column = 0;
        }
        column += encoded.len();
        out.extend_from_slice(&encoded);
    }
    out
}
