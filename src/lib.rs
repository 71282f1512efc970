//! ticketgate: an email-driven ticketing gateway.
//!
//! Customers open and follow tickets by mail; ticketgate sits between the support mailbox
//! and the ticket store. Each message becomes a new ticket or a comment on an existing one
//! (by the ticket tag in the subject, or by In-Reply-To/References), in one transaction
//! with the notifications it causes.
//!
//! # Layout
//!
//! Mail flows one way: **intake → pipeline (parse → classify → thread → authorize →
//! route) → store**, one transaction per message with its outbox rows.
//!
//! - [`domain`]: pure types (addresses, ticket numbers and tags, statuses, the parsed mail).
//! - [`config`]: embedded defaults, TOML file and environment, validated into [`config::Settings`].
//! - [`intake`]: where raw mail comes from (files, standard input, a watched Maildir) and
//!   the [`intake::Ingestor`] that quarantines what cannot be handled.
//! - [`pipeline`]: one message → one decision → one transaction; also `explain`.
//! - [`service`]: operations on existing tickets (comment with files, status moves,
//!   resolve, close, reopen, auto-close, assignment, observers, hand-set fields), and
//!   reading back a ticket's files and raw mail, for the CLI and later front ends.
//! - [`jobs`]: the scheduler's periodic work (auto-close, reminders, purge).
//! - [`notify`]: templates, signed links and thread tokens, the loop governor, delivery.
//! - [`store`]: the only module that writes SQL (SQLite or PostgreSQL through one handle).
//! - [`attachments`]: safe names, content types and digests of attachments; atomic writes.
//! - [`files`]: the bytes of attachments and kept raw messages, in the backend
//!   `[storage] backend` names (files under the data directory, or the database).
//! - [`quarantine`]: messages that could not be handled, with their reason.
//! - [`app`], [`shutdown`], [`telemetry`], [`clock`]: running it as a daemon.

pub mod app;
pub mod atomic_file;
pub mod backoff;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod files;
pub mod intake;
pub mod jobs;
pub mod notify;
pub mod pipeline;
pub mod quarantine;
pub mod service;
pub mod shutdown;
pub mod signing;
pub mod store;
pub mod telemetry;
