//! Text in charsets mail-parser cannot read, and a body glued to its part's headers, through
//! the whole pipeline: the ticket's title and description hold the customer's words, not
//! U+FFFD, and a mail that carries text never opens a ticket with an empty description.

use crate::support::helpers::{TestEnv, created};
use crate::support::postgres;

const HEAD: &str = "From: Alice <alice@client.example>\r\nTo: support@localhost\r\n\
Date: Tue, 24 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n";

/// A Subject in raw Shift_JIS bytes (no encoded word), the body part declaring Shift_JIS.
fn shift_jis_subject() -> Vec<u8> {
    let sjis = |s: &str| encoding_rs::SHIFT_JIS.encode(s).0.into_owned();
    [
        HEAD.as_bytes(),
        b"Message-ID: <sjis@client.example>\r\nSubject: ",
        &sjis("件名のテスト"),
        b"\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\n",
        &sjis("本文です。"),
        b"\r\n",
    ]
    .concat()
}

fn quoted_printable_without_charset() -> Vec<u8> {
    format!(
        "{HEAD}Message-ID: <qp@client.example>\r\nSubject: Coffee\r\n\
         Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         Probl=E8me de caf=E9\r\n"
    )
    .into_bytes()
}

fn unknown_charset() -> Vec<u8> {
    format!(
        "{HEAD}Message-ID: <charset@client.example>\r\nSubject: =?x-unknown-42?Q?caf=E9?=\r\n\
         Content-Type: text/plain; charset=x-unknown-42\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 cr=E8me\r\n"
    )
    .into_bytes()
}

fn part_without_blank_line() -> Vec<u8> {
    format!(
        "{HEAD}Message-ID: <noblank@client.example>\r\nSubject: Printer\r\n\
         Content-Type: multipart/mixed; boundary=k\r\n\r\n--k\r\nContent-Type: text/plain\r\n\
         The printer is broken since Monday.\r\n--k--\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn legacy_charsets_and_glued_bodies_reach_the_ticket_readable() {
    // Parsing does not depend on the database: the SQLite pass says it all.
    if postgres::server().is_some() {
        return;
    }
    let env = TestEnv::new().await;
    let cases = [
        (shift_jis_subject(), "件名のテスト", "本文です。"),
        (
            quoted_printable_without_charset(),
            "Coffee",
            "Problème de café",
        ),
        (unknown_charset(), "café", "café crème"),
        (
            part_without_blank_line(),
            "Printer",
            "The printer is broken since Monday.",
        ),
    ];
    for (mail, title, description) in cases {
        let number = created(&env.process(&mail).await);
        let ticket = env.details(&number).await.ticket;
        assert_eq!(ticket.title, title);
        assert_eq!(ticket.description.trim(), description);
    }
}
