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
//! decide → execute) → store**, one transaction per message (or per batch of messages) with
//! its outbox rows, then **outbox worker → templates → transport**. The agents' actions,
//! the scheduler's jobs and every front end are other writers into the store, through the
//! service layer. Only [`store`] writes SQL; only [`notify::outbox_worker`] sends mail.
//!
//! ```text
//! main.rs, cli/       the binary: parse arguments, call one service, print (one file per command group)
//! app                 wiring of the daemon: build everything from the settings, run until a signal
//! config/             embedded defaults → file → environment, one file per section validating itself
//! domain/             pure types and rules, no I/O: addresses, ticket numbers and tags, Status and
//!                     its moves, Ticket, Article, who hears what (Audience), routing rules, titles,
//!                     safe attachment names, sizes, the parsed mail
//! intake/             where mail comes from (files and stdin, a Maildir, IMAP mailboxes) and one
//!                     driver for all of them: batch, commit, acknowledge, retry, give up
//! pipeline/           one message → one decision → one transaction; `explain`
//! service/            every operation a person can ask for, typed in and out: tickets, contacts,
//!                     outbox, quarantine, mail (ingest, explain), jobs, leases, templates, link key
//! http/               the customer portal inside `run` (axum): decode, call the service, render
//! api/                the JSON API under /api/v1 on the same server: bearer tokens, problem details,
//!                     its OpenAPI document (/api/openapi.json) from the handlers' annotations
//! store/              the only SQL: one file per aggregate, SQLite and PostgreSQL through one handle
//! files/              the bytes of attachments and raw mail: files under data_dir or the database
//! notify/             composing (mail and SMS texts), the loop governor, templates, transports,
//!                     webhooks and the SMS gateway (signed JSON POSTs), the outbox worker (a lane
//!                     per channel)
//! pages/              the portal's page templates and stylesheet (embedded, or the operator's)
//! signing             links (and SMS's short ones) and thread tokens signed with the link key
//! quarantine          messages that could not be handled, kept as files with their reason
//! scheduler           when the periodic jobs run
//! cluster             instances sharing one database: leases on mailboxes, takeover
//! monitoring          the metrics recorded for /metrics, the mailboxes' condition for /readyz
//! clock, backoff, shutdown, telemetry, atomic_file   one small shared mechanism each
//! ```

pub mod api;
pub mod app;
pub mod atomic_file;
pub mod backoff;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod files;
pub mod fuzzing;
pub mod http;
pub mod intake;
pub mod monitoring;
pub mod notify;
pub mod pages;
pub mod pipeline;
pub mod quarantine;
pub mod scheduler;
pub mod service;
pub mod service_manager;
pub mod shutdown;
pub mod signing;
pub mod store;
pub mod telemetry;
