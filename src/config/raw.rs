//! The configuration file's shape: the top-level keys, then one table (or array of tables)
//! per section, each of its section's raw type. Unknown keys are refused here, by serde,
//! before any value is checked; a key left out takes its section's default.

use std::path::PathBuf;

use serde::Deserialize;

use super::agent::RawAgent;
use super::authentication::RawAuthentication;
use super::cluster::RawCluster;
use super::database::RawDatabase;
use super::http::RawHttp;
use super::intake::RawIntake;
use super::jobs::RawJobs;
use super::log::RawLog;
use super::mail::RawMail;
use super::mailbox::RawMailbox;
use super::notifications::RawNotifications;
use super::portal::RawPortal;
use super::sms::RawSms;
use super::smtp::RawSmtp;
use super::storage::RawStorage;
use super::tickets::RawTickets;
use super::top_level::RawTopLevel;
use super::webhook::RawWebhook;
use crate::domain::RoutingRuleSpec;

/// The whole file as written, with defaults for what it leaves out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawConfig {
    pub(super) data_dir: PathBuf,
    pub(super) max_attachment_bytes: u64,
    pub(super) max_message_bytes: u64,
    pub(super) public_domains: Vec<String>,
    pub(super) database: RawDatabase,
    pub(super) mail: RawMail,
    pub(super) tickets: RawTickets,
    pub(super) intake: RawIntake,
    pub(super) portal: RawPortal,
    pub(super) http: RawHttp,
    pub(super) notifications: RawNotifications,
    pub(super) smtp: RawSmtp,
    pub(super) jobs: RawJobs,
    pub(super) cluster: RawCluster,
    pub(super) storage: RawStorage,
    pub(super) authentication: RawAuthentication,
    pub(super) routing: Vec<RoutingRuleSpec>,
    pub(super) agent: Vec<RawAgent>,
    pub(super) mailbox: Vec<RawMailbox>,
    pub(super) webhook: Vec<RawWebhook>,
    pub(super) sms: RawSms,
    pub(super) log: RawLog,
}

impl Default for RawConfig {
    fn default() -> Self {
        let top = RawTopLevel::default();
        Self {
            data_dir: top.data_dir,
            max_attachment_bytes: top.max_attachment_bytes,
            max_message_bytes: top.max_message_bytes,
            public_domains: top.public_domains,
            database: RawDatabase::default(),
            mail: RawMail::default(),
            tickets: RawTickets::default(),
            intake: RawIntake::default(),
            portal: RawPortal::default(),
            http: RawHttp::default(),
            notifications: RawNotifications::default(),
            smtp: RawSmtp::default(),
            jobs: RawJobs::default(),
            cluster: RawCluster::default(),
            storage: RawStorage::default(),
            authentication: RawAuthentication::default(),
            routing: Vec::new(),
            agent: Vec::new(),
            mailbox: Vec::new(),
            webhook: Vec::new(),
            sms: RawSms::default(),
            log: RawLog::default(),
        }
    }
}
