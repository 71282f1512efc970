//! The harness every capability file uses: test environments on a fresh database
//! ([`helpers`]), the PostgreSQL pass ([`postgres`]), the real servers the tests talk to
//! (private Dovecot instances, [`dovecot`], and an IMAP proxy in front of them that plays
//! other servers, [`imap_proxy`]; an SMTP server, [`smtp_sink`], which runs
//! `smtp_sink.py` beside it; a private Exim piping into the binary, [`exim`]), and what a
//! test does when one of them, or the shared corpus, is missing ([`require`]); and a
//! headless Chromium for what people see ([`browser`]).
//!
//! `dovecot.rs`, `smtp_sink.rs` and `postgres.rs` are also included by the benches with
//! `#[path]`: they must not reach for anything of this module but what they include
//! themselves.

pub mod browser;
pub mod dovecot;
pub mod exim;
pub mod helpers;
pub mod http;
pub mod imap_proxy;
pub mod outbox_site;
pub mod postgres;
pub mod require;
pub mod smtp_sink;
pub mod tnef_writer;
