//! What the daemon tells a monitoring system: the metrics it records through the `metrics`
//! facade (rendered in Prometheus's text format on `/metrics`), and the condition of each
//! IMAP mailbox as its watcher last saw it (for `/readyz`).
//!
//! Every metric name starts with `ticketgate_`; the names are the constants below, so that
//! the places that record and the documentation agree. Labels take values from small, fixed
//! sets (an outcome, a status, an event, a mailbox's configured name, a route's pattern):
//! never a raw path, an address or a token.

mod mailboxes;

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use mailboxes::{MailboxCondition, MailboxHealth};

/// Mails taken in, by `intake` (`maildir`, `imap`, `cli`) and `outcome` (`created`,
/// `commented`, `ignored`, `duplicate`, `quarantined`).
pub const MAILS: &str = "ticketgate_mails_total";
/// Seconds from the start of a mail's batch to its commit, by `intake`.
pub const MAIL_SECONDS: &str = "ticketgate_mail_processing_seconds";
/// Notifications handed to the transport, by `event`.
pub const DELIVERIES: &str = "ticketgate_outbox_deliveries_total";
/// Seconds from the event (a mail's commit, an agent's action) to its notification's
/// handover to the transport, by `event`: with [`MAIL_SECONDS`], a mail's time to its
/// acknowledgement (`ticket_opened`).
pub const NOTIFICATION_SECONDS: &str = "ticketgate_notification_delay_seconds";
/// Tries to send a notification that failed, by `event` and whether it was the `last`.
pub const DELIVERY_FAILURES: &str = "ticketgate_outbox_failures_total";
/// Notifications the governor held back or preferences skipped, by `decision`.
pub const GOVERNOR: &str = "ticketgate_governor_decisions_total";
/// Rows in the outbox, by `status` and `channel` (`email`, `webhook`), refreshed
/// periodically.
pub const OUTBOX_DEPTH: &str = "ticketgate_outbox_notifications";
/// Tickets, by `status` (refreshed periodically).
pub const TICKETS: &str = "ticketgate_tickets";
/// Whether each IMAP `mailbox` has a session now (1) or not (0).
pub const IMAP_CONNECTED: &str = "ticketgate_imap_connected";
/// Connection failures after which an IMAP `mailbox` reconnects.
pub const IMAP_RECONNECTS: &str = "ticketgate_imap_reconnects_total";
/// Runs of the periodic jobs, by `job` and `result` (`ok`, `failed`).
pub const JOB_RUNS: &str = "ticketgate_job_runs_total";
/// What the periodic jobs' runs did (tickets reminded, closed, purged…), by `job`.
pub const JOB_ITEMS: &str = "ticketgate_job_items_total";
/// HTTP requests answered, by `route` (the matched pattern) and `status`.
pub const HTTP_REQUESTS: &str = "ticketgate_http_requests_total";

/// How often the gauges read from the database are refreshed.
pub const GAUGE_REFRESH: Duration = Duration::from_secs(15);

/// The buckets of [`MAIL_SECONDS`]: from a millisecond to a minute.
const MAIL_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The buckets of [`NOTIFICATION_SECONDS`]: from 10 ms to a day (retries take hours).
const NOTIFICATION_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0,
    86400.0,
];

/// The Prometheus recorder of this process, installed on first use. The `metrics` facade
/// has one global recorder per process: every daemon built in it (tests build several)
/// shares this one.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(MAIL_SECONDS.into()), MAIL_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(NOTIFICATION_SECONDS.into()),
                    NOTIFICATION_BUCKETS,
                )
            })
            .expect("the buckets are not empty");
        match builder.install_recorder() {
            Ok(handle) => {
                describe();
                handle
            }
            // Another recorder came first (a test harness): render ours unattached.
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed; /metrics shows nothing recorded");
                PrometheusBuilder::new().build_recorder().handle()
            }
        }
    })
}

/// Gives each metric its help text (`# HELP`), which Prometheus's tools expect.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(MAILS, "Mails taken in, by intake and outcome.");
    describe_histogram!(
        MAIL_SECONDS,
        Unit::Seconds,
        "Time from the start of a mail's batch to its commit."
    );
    describe_counter!(
        DELIVERIES,
        "Notifications handed to the transport, by event."
    );
    describe_histogram!(
        NOTIFICATION_SECONDS,
        Unit::Seconds,
        "Time from an event to its notification's handover to the transport, by event."
    );
    describe_counter!(
        DELIVERY_FAILURES,
        "Failed tries to send a notification, by event; last=true when it is given up."
    );
    describe_counter!(
        GOVERNOR,
        "Notifications held back by the loop governor or skipped by preferences."
    );
    describe_gauge!(
        OUTBOX_DEPTH,
        "Notifications in the outbox, by status and channel."
    );
    describe_gauge!(TICKETS, "Tickets, by status.");
    describe_gauge!(
        IMAP_CONNECTED,
        "Whether the IMAP mailbox has a session (1) or not (0)."
    );
    describe_counter!(
        IMAP_RECONNECTS,
        "Connection failures after which a mailbox reconnects."
    );
    describe_counter!(JOB_RUNS, "Runs of the periodic jobs, by job and result.");
    describe_counter!(
        JOB_ITEMS,
        "What the periodic jobs' runs did, in items, by job."
    );
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route pattern and status."
    );
}

/// The metrics in Prometheus's text format.
pub fn render() -> String {
    let handle = recorder();
    // Histograms' and summaries' windows age out here, as the exporter's own listener would.
    handle.run_upkeep();
    handle.render()
}
