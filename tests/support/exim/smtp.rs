//! Just enough of an SMTP client to submit one mail to the private Exim and read the queue
//! id it answers with.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Submits `mail` to the server at `host:port` from `sender` to `recipient`, with
/// dot-stuffing and CRLF line ends; returns the queue id of Exim's `250 OK id=…`.
pub(super) fn submit(host: &str, port: u16, sender: &str, recipient: &str, mail: &[u8]) -> String {
    let stream = TcpStream::connect((host, port)).expect("connect to Exim");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut smtp = Smtp {
        reader: BufReader::new(stream.try_clone().unwrap()),
        writer: stream,
    };
    smtp.expect("", "220");
    smtp.expect("EHLO client.test", "250");
    smtp.expect(&format!("MAIL FROM:<{sender}>"), "250");
    smtp.expect(&format!("RCPT TO:<{recipient}>"), "250");
    smtp.expect("DATA", "354");
    let mut data = Vec::new();
    for line in mail.split_inclusive(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b".") {
            data.push(b'.');
        }
        data.extend_from_slice(line);
        data.extend_from_slice(b"\r\n");
    }
    smtp.writer.write_all(&data).unwrap();
    let accepted = smtp.expect(".", "250");
    smtp.expect("QUIT", "221");
    accepted
        .split("id=")
        .nth(1)
        .map(|id| id.trim().to_string())
        .unwrap_or_else(|| panic!("no queue id in Exim's answer {accepted:?}"))
}

/// One SMTP conversation, line by line.
struct Smtp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Smtp {
    /// Sends `command` (nothing when empty), reads the whole answer, checks its code and
    /// returns its last line.
    fn expect(&mut self, command: &str, code: &str) -> String {
        if !command.is_empty() {
            self.writer
                .write_all(format!("{command}\r\n").as_bytes())
                .unwrap();
        }
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            assert!(
                line.starts_with(code),
                "{command:?}: Exim answered {line:?}, not {code}"
            );
            if line.as_bytes().get(3) != Some(&b'-') {
                return line;
            }
        }
    }
}
