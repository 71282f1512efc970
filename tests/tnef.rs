//! Outlook's winmail.dat through the real pipeline: the files inside become the ticket's
//! attachments under their real names (sanitized, size-limited, content-addressed like any
//! file), its body is the description of a mail with no other, and a stream that cannot be
//! decoded is kept as it came. The streams are made by the tests' TNEF writer.

use base64::Engine;
use ticketgate::files::sha256_hex;

use crate::support::helpers::{TestEnv, created};
use crate::support::tnef_writer::{MapiProps, PR_BODY_HTML, TnefWriter};

/// A mail from Outlook whose only part is `winmail.dat`, base64-encoded.
fn outlook_mail(id: &str, winmail: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(winmail);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "From: Olga Outlook <olga@example.com>\r\nTo: support@localhost\r\n\
         Subject: Files from Outlook\r\nMessage-ID: <{id}@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"winmail.dat\"\r\n\r\n{}\r\n--b1--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

#[tokio::test]
async fn winmail_dat_becomes_its_files_and_its_body() {
    let env = TestEnv::with_config("max_attachment_bytes = 1000").await;
    let report = b"%PDF-1.7 quarterly figures".to_vec();
    let evil = b"not a password file".to_vec();
    let big = vec![7u8; 1001];
    let winmail = TnefWriter::new()
        .body("Please find the figures attached.\r\nOlga\r\n")
        .attachment("QUARTE~1.PDF", Some("Quarterly report 2026.pdf"), &report)
        .attachment("EVIL~1.TXT", Some("../../etc/pass\u{7}wd\r\n.txt"), &evil)
        .attachment("BIG.BIN", None, &big)
        .finish();
    let n = created(&env.process(&outlook_mail("tnef-1", &winmail)).await);
    let details = env.details(&n).await;
    assert!(
        details
            .ticket
            .description
            .contains("Please find the figures attached."),
        "{:?}",
        details.ticket.description
    );
    let files = &details.articles[0].attachments;
    let seen: Vec<(&str, u64, Option<&str>)> = files
        .iter()
        .map(|f| (f.filename.as_str(), f.size, f.sha256.as_deref()))
        .collect();
    let (report_sha, evil_sha) = (sha256_hex(&report), sha256_hex(&evil));
    assert_eq!(
        seen,
        [
            (
                "Quarterly report 2026.pdf",
                report.len() as u64,
                Some(report_sha.as_str())
            ),
            ("pass_wd__.txt", evil.len() as u64, Some(evil_sha.as_str())),
            ("BIG.BIN", 1001, None),
        ]
    );
    assert_eq!(files[0].content_type, "application/pdf");
    assert!(files[2].refused_reason.is_some(), "over the size limit");
    let stored = env
        .pipeline()
        .files()
        .attachment(&report_sha)
        .await
        .unwrap();
    assert_eq!(stored, report, "content-addressed, byte for byte");
}

#[tokio::test]
async fn an_html_body_in_winmail_dat_is_the_description_when_there_is_no_other() {
    let env = TestEnv::new().await;
    let props = MapiProps::new().binary(PR_BODY_HTML, b"<p>The <b>VPN</b> drops.</p>");
    let winmail = TnefWriter::new().message_props(&props).finish();
    let n = created(&env.process(&outlook_mail("tnef-2", &winmail)).await);
    let details = env.details(&n).await;
    assert!(
        details.ticket.description.contains("The VPN drops."),
        "{:?}",
        details.ticket.description
    );
    assert!(details.articles[0].attachments.is_empty());
}

#[tokio::test]
async fn a_winmail_dat_that_cannot_be_decoded_is_kept_as_it_came() {
    let env = TestEnv::new().await;
    let whole = TnefWriter::new()
        .attachment("A.TXT", Some("a.txt"), b"hello")
        .finish();
    let cut = &whole[..whole.len() - 3];
    for (id, bytes) in [("tnef-3", cut), ("tnef-4", b"garbage, not TNEF".as_slice())] {
        let n = created(&env.process(&outlook_mail(id, bytes)).await);
        let details = env.details(&n).await;
        let files = &details.articles[0].attachments;
        assert_eq!(files.len(), 1, "{id}");
        assert_eq!(files[0].filename, "winmail.dat");
        assert_eq!(files[0].sha256.as_deref(), Some(sha256_hex(bytes).as_str()));
    }
    let explained = env
        .pipeline()
        .explain(&outlook_mail("tnef-5", cut))
        .await
        .unwrap();
    let lines: Vec<String> = explained.steps.iter().map(|s| s.to_string()).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("attachment:")
            && l.contains("winmail.dat kept as it came: the TNEF stream is cut short")),
        "{lines:#?}"
    );
}
