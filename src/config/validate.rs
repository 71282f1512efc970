//! Every section validated, then what spans sections, then the [`Settings`] assembled:
//! the settings exist only when no key had a problem, and otherwise every problem is
//! listed.

use super::agent::{self, Agent};
use super::authentication::AuthenticationSettings;
use super::cluster::ClusterSettings;
use super::database::DatabaseUrl;
use super::error::Errors;
use super::http::HttpSettings;
use super::intake::IntakeSettings;
use super::jobs::JobsSettings;
use super::log::LogSettings;
use super::mail::MailSettings;
use super::mailbox::{self, MailboxSettings};
use super::notifications::NotificationSettings;
use super::portal::PortalSettings;
use super::raw::RawConfig;
use super::routing;
use super::smtp::SmtpSettings;
use super::storage::StorageSettings;
use super::tickets::TicketSettings;
use super::top_level::{RawTopLevel, TopLevel};
use super::webhook::{self, WebhookSettings};
use super::{ConfigSource, Settings};
use crate::domain::RoutingRule;

/// Every section, validated: what [`Settings`] is assembled from once no error was found.
struct Sections {
    top: TopLevel,
    database_url: DatabaseUrl,
    storage: StorageSettings,
    mail: MailSettings,
    /// `None` only when `[tickets]` recorded an error.
    tickets: Option<TicketSettings>,
    jobs: JobsSettings,
    cluster: ClusterSettings,
    intake: IntakeSettings,
    routing: Vec<RoutingRule>,
    agents: Vec<Agent>,
    mailboxes: Vec<MailboxSettings>,
    portal: PortalSettings,
    http: HttpSettings,
    notifications: NotificationSettings,
    smtp: SmtpSettings,
    authentication: AuthenticationSettings,
    webhooks: Vec<WebhookSettings>,
    sms_gateway: Option<WebhookSettings>,
    log: LogSettings,
}

/// Checks every key and assembles the settings, or lists every problem found.
pub(super) fn validate(raw: RawConfig, source: ConfigSource) -> Result<Settings, Vec<String>> {
    let mut errors = Errors::default();
    let sections = validate_sections(raw, &mut errors);
    if errors.count() > 0 {
        return Err(errors.into_messages());
    }
    Ok(assemble(source, sections))
}

/// Validates each section in the order of the example file, then the checks that span
/// sections; every problem is recorded, none stops the others.
fn validate_sections(raw: RawConfig, errors: &mut Errors) -> Sections {
    let RawConfig {
        data_dir,
        max_attachment_bytes,
        max_message_bytes,
        public_domains,
        database,
        mail,
        tickets,
        intake,
        portal,
        http,
        notifications,
        smtp,
        jobs,
        cluster,
        storage,
        authentication,
        routing,
        agent,
        mailbox,
        webhook,
        sms,
        log,
    } = raw;
    let top = RawTopLevel {
        data_dir,
        max_attachment_bytes,
        max_message_bytes,
        public_domains,
    }
    .validate(errors);
    let auto_close_days = tickets.auto_close_days;
    let sections = Sections {
        database_url: database.validate(&top.data_dir, errors),
        storage: storage.validate(errors),
        mail: mail.validate(errors),
        tickets: tickets.validate(errors),
        jobs: jobs.validate(errors),
        cluster: cluster.validate(errors),
        intake: intake.validate(&top.data_dir, errors),
        routing: routing::validate_all(routing, errors),
        agents: agent::validate_all(agent, errors),
        mailboxes: mailbox::validate_all(mailbox, errors),
        portal: portal.validate(errors),
        http: http.validate(errors),
        notifications: notifications.validate(errors),
        smtp: smtp.validate(errors),
        authentication: authentication.validate(errors),
        webhooks: webhook::validate_all(webhook, errors),
        sms_gateway: sms.validate(errors),
        log: log.validate(errors),
        top,
    };
    check_reminder_before_auto_close(&sections.jobs, auto_close_days, errors);
    sections
}

/// The resolution reminder must go before the ticket closes by itself, or it would remind
/// the requester of a ticket already closed.
fn check_reminder_before_auto_close(
    jobs: &JobsSettings,
    auto_close_days: u32,
    errors: &mut Errors,
) {
    let days = jobs.resolution_reminder_days;
    if days > 0 && days >= auto_close_days {
        errors.push(
            "jobs.resolution_reminder_days",
            format_args!(
                "{days} must be under tickets.auto_close_days ({auto_close_days}), or 0 to turn the reminder off"
            ),
        );
    }
}

/// Builds the settings from sections that recorded no error. The mailboxes' addresses
/// become our own too, and the company defaults to the domain of our first address.
fn assemble(source: ConfigSource, s: Sections) -> Settings {
    let tickets = s.tickets.expect("[tickets] records why it gives nothing");
    let mut own_addresses = s.mail.own_addresses;
    for m in &s.mailboxes {
        if !own_addresses.iter().any(|a| a.same_mailbox(&m.address)) {
            own_addresses.push(m.address.clone());
        }
    }
    let company = s.notifications.company.unwrap_or_else(|| {
        own_addresses
            .first()
            .map_or("localhost", |a| a.domain())
            .to_string()
    });
    Settings {
        source,
        data_dir: s.top.data_dir,
        database_url: s.database_url,
        max_attachment_bytes: s.top.max_attachment_bytes,
        max_message_bytes: s.top.max_message_bytes,
        public_domains: s.top.public_domains,
        own_addresses,
        agents_address: s.mail.agents_address,
        sender_from_reply_to: s.mail.sender_from_reply_to,
        my_tickets: s.mail.my_tickets,
        subject_tag: tickets.subject_tag,
        ticket_defaults: tickets.defaults,
        maildir: s.intake.maildir,
        poll_interval_ms: s.intake.poll_interval_ms,
        retry_budget: s.intake.retry_budget,
        routing: s.routing,
        agents: s.agents,
        mailboxes: s.mailboxes,
        portal: s.portal,
        http: s.http,
        template_dir: s.notifications.template_dir,
        smtp: s.smtp,
        notification_retry_first: s.notifications.retry_first,
        loop_limits: s.notifications.loop_limits,
        company,
        branding: s.notifications.branding,
        auto_close_days: tickets.auto_close_days,
        reopen_window_days: tickets.reopen_window_days,
        approval_words: tickets.approval_words,
        refusal_words: tickets.refusal_words,
        max_observers_from_mail: tickets.max_observers_from_mail as usize,
        field_labels: tickets.field_labels,
        jobs: s.jobs,
        cluster: s.cluster,
        authentication: s.authentication,
        storage: s.storage,
        webhooks: s.webhooks,
        sms_gateway: s.sms_gateway,
        log: s.log,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::load;
    use std::path::PathBuf;

    use crate::config::{ProcessedAction, TlsMode};

    #[test]
    fn embedded_defaults_are_valid() {
        let s = load("", &[]).unwrap();
        assert_eq!(s.database_url.expose(), "sqlite://data/ticketgate.db");
        assert_eq!(s.maildir, PathBuf::from("data/inbox"));
        assert_eq!(s.max_attachment_bytes, 2 * 1024 * 1024);
        assert!(s.public_domains.contains("gmail.com"));
    }

    #[test]
    fn every_error_is_reported_with_its_key() {
        let err = load(
            "[tickets]\nnumber_tag = \"#\"\ndefault_type = \"bug\"\n[mail]\naddresses = [\"nope\"]\n[[routing]]\nsubject = \"(\"\nurgency = \"high\"",
            &[],
        )
        .unwrap_err()
        .to_string();
        for key in [
            "tickets.number_tag",
            "tickets.default_type",
            "mail.addresses[0]",
            "routing[0].subject",
        ] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
    }

    #[test]
    fn errors_from_every_section_come_together() {
        let err = load(
            "max_message_bytes = 10\n[database]\nurl = \"mysql://db\"\n[storage]\nbackend = \"s3\"\n\
             [jobs]\npurge = \"daily\"\n[cluster]\nlease_seconds = 1\n[intake]\nretry_budget = 0\n\
             [[agent]]\nname = \"A\"\nemail = \"a\"\n[portal]\nlink_lifetime_days = 0\n\
             [notifications]\nticket_limits = [\"often\"]\n[smtp]\ntransport = \"pigeon\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        for key in [
            "max_message_bytes: ",
            "database.url: ",
            "storage.backend: ",
            "jobs.purge: ",
            "cluster.lease_seconds: ",
            "intake.retry_budget: ",
            "agent[0].email: ",
            "portal.link_lifetime_days: ",
            "notifications.ticket_limits[0]: ",
            "smtp.transport: ",
        ] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
        assert!(err.contains("has 10 error(s)"), "{err}");
    }

    #[test]
    fn the_resolution_reminder_must_come_before_the_auto_close() {
        let err = load(
            "[tickets]\nauto_close_days = 2\n[jobs]\nresolution_reminder_days = 2\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(
                "jobs.resolution_reminder_days: 2 must be under tickets.auto_close_days (2), or 0 to turn the reminder off"
            ),
            "{err}"
        );
        let off = "[tickets]\nauto_close_days = 2\n[jobs]\nresolution_reminder_days = 0\n";
        assert!(load(off, &[]).is_ok());
    }

    #[test]
    fn the_company_is_the_domain_of_our_first_address() {
        let s = load(
            "[mail]\naddresses = []\n[[mailbox]]\nname = \"a\"\naddress = \"help@acme.example\"\n\
             host = \"imap.acme.example\"\nusername = \"u\"\npassword = \"p\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.company, "acme.example");
        assert_eq!(s.sender_address().as_str(), "help@acme.example");
    }

    #[test]
    fn mailboxes_are_validated_and_their_addresses_become_ours() {
        let ok = load(
            "[[mailbox]]\nname = \"a\"\naddress = \"help@Example.com\"\nhost = \"127.0.0.1\"\ntls = \"none\"\n\
             username = \"u\"\npassword = \"hunter2\"\nprocessed = \"seen\"\ncustomers = \"require\"\n",
            &[],
        )
        .unwrap();
        let m = &ok.mailboxes[0];
        assert_eq!(
            (m.port, m.tls, &m.processed),
            (143, TlsMode::None, &ProcessedAction::Seen)
        );
        assert_eq!(
            (m.agents, m.customers),
            (None, Some(crate::config::CustomerPolicy::Require)),
            "a mailbox's own policy, the global one for the rest"
        );
        assert!(
            ok.own_addresses
                .iter()
                .any(|a| a.as_str() == "help@example.com")
        );
        assert!(
            !format!("{m:?}").contains("hunter2"),
            "secrets stay out of logs"
        );

        let err = load(
            "[[mailbox]]\nname = \"a\"\naddress = \"x@y.z\"\nhost = \"imap.example.com\"\ntls = \"none\"\n\
             username = \"u\"\npassword = \"p\"\npassword_file = \"f\"\nprocessed = \"archive\"\nidle_timeout_secs = 3600\n\
             agents = \"sometimes\"\n\
             [[mailbox]]\nname = \"b\"\naddress = \"b@y.z\"\nhost = \"h\"\nusername = \"u\"\nauth = \"xoauth2\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        for key in [
            "mailbox[0].tls",
            "mailbox[0].password",
            "mailbox[0].processed",
            "mailbox[0].idle_timeout_secs",
            "mailbox[0].agents",
            "mailbox[1].auth",
        ] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
    }

    #[test]
    fn example_file_documents_a_valid_configuration() {
        let text = include_str!("../../config/ticketgate.example.toml");
        load(text, &[]).unwrap();
    }
}
