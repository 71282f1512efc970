//! Where SQLite and PostgreSQL would answer differently, held to one behaviour: text
//! PostgreSQL cannot hold, case folding, the order of text and of ties. Each test runs on
//! the backend of the pass (see [`crate::postgres`]), so both passes must agree.

use ticketgate::pipeline::Outcome;

use crate::helpers::{TestEnv, created};

/// PostgreSQL refuses U+0000 in text, SQLite keeps it: a mail carrying one must become the
/// same ticket on both, be recognised when delivered again, and thread its replies.
#[tokio::test]
async fn a_nul_character_in_a_mail_is_stored_as_a_replacement_character() {
    let env = TestEnv::new().await;
    let mail = b"From: \"Ali\x00ce\" <alice@acme.example>\r\nTo: support@localhost\r\n\
                 Subject: Printer\r\nMessage-ID: <nul\x00-1@acme.example>\r\n\r\n\
                 The printer prints \x00 instead of text.\r\n";
    let n = created(&env.process(mail).await);
    let ticket = env.details(&n).await;
    let article = &ticket.articles[0];
    assert_eq!(
        article.body_text.trim_end(),
        "The printer prints \u{FFFD} instead of text."
    );
    assert!(!ticket.ticket.description.contains('\0'));
    assert!(
        article
            .author_name
            .as_deref()
            .is_none_or(|name| !name.contains('\0')),
        "{:?}",
        article.author_name
    );

    assert_eq!(env.process(mail).await, Outcome::Duplicate(Some(n.clone())));
    let reply = b"From: alice@acme.example\r\nTo: support@localhost\r\nSubject: more\r\n\
                  Message-ID: <nul-2@acme.example>\r\nIn-Reply-To: <nul\x00-1@acme.example>\r\n\r\n\
                  It also jams.\r\n";
    assert_eq!(env.process(reply).await, Outcome::Commented(n));
}
