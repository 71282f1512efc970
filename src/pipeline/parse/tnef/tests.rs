//! The decoder on streams made by the tests' TNEF writer, and on damaged ones.

use super::*;

#[path = "../../../../tests/support/tnef_writer.rs"]
mod writer;
use writer::{MapiProps, TnefWriter};

fn two_files() -> Vec<u8> {
    TnefWriter::new()
        .body("Hello from Outlook.\r\n")
        .attachment(
            "REPORT~1.PDF",
            Some("Quarterly report 2026.pdf"),
            b"%PDF-1.7 fake",
        )
        .attachment("EVIL~1.TXT", Some("../../etc/\u{7}evil\r\n.txt"), b"x")
        .finish()
}

#[test]
fn reads_the_files_with_their_long_names_and_the_body() {
    let bytes = two_files();
    let tnef = decode(&bytes).unwrap();
    assert_eq!(tnef.body_text.as_deref(), Some("Hello from Outlook.\r\n"));
    assert_eq!(tnef.attachments.len(), 2);
    let a = &tnef.attachments[0];
    assert_eq!(a.title.as_deref(), Some("REPORT~1.PDF"));
    assert_eq!(a.name(), Some("Quarterly report 2026.pdf"));
    assert_eq!(a.data, Some(b"%PDF-1.7 fake".as_slice()));
    assert_eq!(
        tnef.attachments[1].name(),
        Some("../../etc/\u{7}evil\r\n.txt")
    );
}

#[test]
fn without_a_long_name_the_title_is_the_name() {
    let bytes = TnefWriter::new()
        .attachment("NOTES.TXT", None, b"notes")
        .finish();
    let tnef = decode(&bytes).unwrap();
    assert_eq!(tnef.attachments[0].name(), Some("NOTES.TXT"));
    assert_eq!(tnef.body_text, None);
}

#[test]
fn reads_the_bodies_of_the_mapi_properties() {
    let props = MapiProps::new()
        .named_long(0x8001, "Kind", 7)
        .long(0x3FDE, 1252)
        .unicode(writer::PR_BODY, "Grüße")
        .binary(writer::PR_BODY_HTML, b"<p>Gr\xfc\xdfe</p>");
    let bytes = TnefWriter::new().message_props(&props).finish();
    let tnef = decode(&bytes).unwrap();
    assert_eq!(tnef.body_text.as_deref(), Some("Grüße"));
    assert_eq!(tnef.body_html.as_deref(), Some("<p>Grüße</p>"));
}

#[test]
fn string8_properties_use_the_code_page() {
    let props = MapiProps::new().string8(writer::PR_BODY, b"caf\xe9");
    let bytes = TnefWriter::new().message_props(&props).finish();
    assert_eq!(decode(&bytes).unwrap().body_text.as_deref(), Some("café"));
}

#[test]
fn every_truncation_is_an_error_and_none_panics() {
    let bytes = two_files();
    // Cut between two records, a stream is whole as far as it goes; cut anywhere else, it
    // is refused.
    let mut boundaries = vec![6];
    let mut at = 6;
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 5..at + 9].try_into().unwrap()) as usize;
        at += 1 + 4 + 4 + len + 2;
        boundaries.push(at);
    }
    for cut in 0..bytes.len() {
        let result = decode(&bytes[..cut]);
        assert_eq!(
            result.is_ok(),
            boundaries.contains(&cut),
            "a stream cut at {cut}: {result:?}"
        );
    }
    assert_eq!(decode(&bytes[..4]), Err(TnefError::NotTnef));
    assert!(matches!(
        decode(&bytes[..bytes.len() - 1]),
        Err(TnefError::Truncated(_))
    ));
}

#[test]
fn garbage_is_refused() {
    assert_eq!(decode(b""), Err(TnefError::NotTnef));
    assert_eq!(decode(b"MZ\x90\0 not tnef at all"), Err(TnefError::NotTnef));
    // The signature followed by noise: some record is cut short or malformed.
    let mut noise = SIGNATURE.to_le_bytes().to_vec();
    noise.extend_from_slice(&[1, 0]);
    noise.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    assert!(decode(&noise).is_err());
    // A length field of 4 GiB does not allocate: it is checked against what is left.
    let huge = TnefWriter::new().finish();
    let mut huge = huge;
    huge.extend_from_slice(&[2, 0x0F, 0x80, 0x06, 0x00, 0xFF, 0xFF, 0xFF, 0xFF]);
    assert!(matches!(decode(&huge), Err(TnefError::Truncated(_))));
    // Flipping each byte of a valid stream never panics.
    let bytes = two_files();
    for i in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0xFF;
        let _ = decode(&flipped);
    }
}

#[test]
fn bad_mapi_properties_are_an_error() {
    let bytes = TnefWriter::new()
        .attribute(1, 0x0006_9003, &[5, 0, 0, 0, 0x1F, 0, 0, 0x10])
        .finish();
    assert!(matches!(decode(&bytes), Err(TnefError::BadProperties(_))));
}

#[test]
fn the_number_of_files_is_capped() {
    let mut w = TnefWriter::new();
    for _ in 0..=MAX_ATTACHMENTS {
        w = w.attachment("A.TXT", None, b"");
    }
    assert_eq!(decode(&w.finish()), Err(TnefError::TooManyAttachments));
}
