//! Integration tests: the library and the `ticketgate` binary on real SQLite files (or,
//! with `TICKETGATE_TEST_POSTGRES` set, on real PostgreSQL databases), real Maildirs and
//! real processes, on our fixtures and on the shared corpus.

mod support;

mod api;
mod api_opening;
mod authentication;
mod batches;
mod cli;
mod cli_database;
mod cli_jobs;
mod cli_on_quarantine;
mod cli_outbox;
mod cli_output;
mod cli_waiting;
mod cluster;
mod corpus;
mod daemon;
mod dialects;
mod fuzz_seeds;
mod golden;
mod health;
mod hostile_mail;
mod hostile_recipients;
mod hostile_text;
mod imap;
mod imap_harness;
mod imap_servers;
mod instances;
mod intake;
mod lifecycle;
mod logs;
mod mta;
mod notification_content;
mod notification_look;
mod notifications;
mod openapi;
mod operator_commands;
mod package;
mod pipeline_rules;
mod portal;
mod portal_browser;
mod portal_html;
mod portal_links;
mod portal_timeouts;
mod quickstart;
mod reply_text;
mod sms;
mod smtp;
mod storage;
mod systemd;
mod ticket_edits;
mod tnef;
mod webhooks;
