//! Fields read from the body of a new ticket's mail (issue 22, point 2): `Label: value`
//! lines in English and French set the ticket's fields and the incident's details, only
//! from what the customer wrote (not a quote, not a forward, not a signature), from the
//! HTML of an HTML-only mail, in the mailbox's time zone; a routing rule still wins; a
//! value that cannot be read is named in the acknowledgement, which lists what was taken
//! and says how to give impact and urgency when they are missing. On both databases.

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use ticketgate::domain::{BodyField, Impact, Priority, TicketNumber, TicketType, Urgency};
use ticketgate::pipeline::IntakeDefaults;

use crate::notifications::{Harness, Received};
use crate::support::helpers::{TestEnv, created};

/// The mailbox's zone in these tests, unless one says otherwise.
const PARIS: &str = "[tickets]\ntime_zone = \"Europe/Paris\"\n";

/// A fixture of `tests/body_fields/`, with the CRLF line ends of mail on the wire.
fn mail(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/body_fields")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.replace('\n', "\r\n").into_bytes()
}

fn acknowledgement<'a>(mails: &'a [Received], to: &str) -> &'a Received {
    mails
        .iter()
        .find(|m| m.recipient == to && m.event == "ticket_opened")
        .unwrap_or_else(|| panic!("no acknowledgement to {to} among {mails:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn french_fields_set_the_ticket_and_the_acknowledgement_lists_them() {
    let Some(mut h) = Harness::new(PARIS).await else {
        return;
    };
    let n = created(&h.env.process(&mail("fr_outlook.eml")).await);
    let t = h.env.details(&n).await.ticket;
    assert_eq!(
        (t.ticket_type, t.impact, t.urgency, t.priority),
        (
            TicketType::Incident,
            Impact::SeverelyDegraded,
            Urgency::High,
            Priority::P2
        )
    );
    let d = &t.details;
    assert_eq!(d.impacted_users, Some(40));
    // 8h15 in Paris, in November: 07:15 UTC.
    assert_eq!(
        d.incident_started_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 23, 7, 15, 0).unwrap())
    );
    assert_eq!(d.customer_reference.as_deref(), Some("CMD-2291"));
    assert_eq!(d.service_reference.as_deref(), Some("FE-000123"));
    assert_eq!(d.onsite_contact.as_deref(), Some("Jean Martin"));
    assert_eq!(d.onsite_phone.as_deref(), Some("04 72 00 00 00"));
    assert_eq!(
        d.onsite_availability.as_deref(),
        Some("du lundi au vendredi, 9h-17h")
    );
    // The lines stay in the description: nothing the customer wrote is lost.
    assert!(t.description.contains("Votre référence : CMD-2291"));

    let mails = h.deliver().await;
    let ack = acknowledgement(&mails, "marie.durand@acme-industrie.fr");
    for line in [
        "Nous avons relevé dans votre message :",
        "- Type : Incident",
        "- Impact : Très dégradé",
        "- Urgence : Haute",
        "- Utilisateurs impactés : 40",
        "- Début de l'incident : 23 novembre 2026 à 07:15 UTC",
        "- Votre référence : CMD-2291",
        "- Service ou contrat : FE-000123",
        "- Correspondant sur site : Jean Martin",
    ] {
        assert!(ack.text.contains(line), "{line:?} in:\n{}", ack.text);
    }
    assert!(
        !ack.text.contains("Pour nous indiquer l'impact"),
        "impact and urgency were given: {}",
        ack.text
    );
    assert!(ack.html.contains("Très dégradé") && ack.html.contains("CMD-2291"));

    let shown = h.cli(&["tickets", "show", n.as_str()]);
    for line in [
        "impacted users 40",
        "incident start 2026-11-23 07:15 UTC",
        "your reference CMD-2291",
        "on-site contact Jean Martin",
    ] {
        assert!(shown.contains(line), "{line:?} in:\n{shown}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_what_the_customer_wrote_counts_and_what_cannot_be_read_is_named() {
    let Some(mut h) = Harness::new(PARIS).await else {
        return;
    };
    // The mailbox is in New York: its customers' times are read there.
    let new_york = h.env.pipeline().with_defaults(IntakeDefaults {
        time_zone: Some(chrono_tz::America::New_York),
        ..IntakeDefaults::default()
    });
    let n = created(
        &new_york
            .process("test", &mail("en_forwarded.eml"))
            .await
            .unwrap(),
    );
    let t = h.env.details(&n).await.ticket;
    // The forwarded message's "Impact: Interrupted" and "Urgency: Medium" are not the
    // customer's; their own "Impact: whole floor" cannot be read: the default stays.
    assert_eq!(
        (t.impact, t.urgency, t.priority),
        (Impact::Degraded, Urgency::High, Priority::P3)
    );
    assert_eq!(t.category.as_deref(), Some("Printing"));
    assert_eq!(t.details.impacted_users, Some(1200));
    assert_eq!(t.details.customer_reference.as_deref(), Some("PO-7731"));
    assert_eq!(
        t.details.incident_started_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 23, 21, 30, 0).unwrap())
    );

    let mails = h.deliver().await;
    let ack = acknowledgement(&mails, "tom.baker@globex.example");
    for line in [
        "From your message we noted:",
        "- Urgency: High",
        "- Impacted users: 1200",
        "- Category: Printing",
        "- Impact: \"whole floor\" could not be read; it stays in your message as you wrote it.",
        "reply with a first line such as \"#impact interrupted\" or \"#urgency high\"",
    ] {
        assert!(ack.text.contains(line), "{line:?} in:\n{}", ack.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_only_mail_is_read_from_its_html_not_from_its_quote() {
    let env = TestEnv::with_config(PARIS).await;
    let n = created(&env.process(&mail("fr_html_only.eml")).await);
    let t = env.details(&n).await.ticket;
    assert_eq!(
        (t.impact, t.urgency, t.priority),
        (Impact::Degraded, Urgency::Medium, Priority::P4),
        "the quoted « Urgence : haute » and « Impact : interrompu » are not the customer's"
    );
    assert_eq!(t.details.impacted_users, Some(12));
    // "hier vers 14h", written on 23 November (the clock says 24 November 09:00 UTC):
    // 14:00 in Paris on the 23rd.
    assert_eq!(
        t.details.incident_started_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 23, 13, 0, 0).unwrap())
    );
}

/// The routing rule of [`a_routing_rule_wins_and_labels_are_the_operator_s`].
const RULE_AND_LABELS: &str = "[tickets]\ntime_zone = \"Europe/Paris\"\n\
    [tickets.field_labels]\nimpact = [\"Sévérité\", \"Impact\"]\n\
    customer_reference = [\"N° de commande\"]\n\
    [[routing]]\nname = \"payroll\"\nsubject = \"(?i)paie\"\nimpact = \"interrupted\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routing_rule_wins_and_labels_are_the_operator_s() {
    let env = TestEnv::with_config(RULE_AND_LABELS).await;
    // The rule sets the impact of payroll mails: the mail's « dégradé » is set aside, its
    // urgency is taken.
    let raw = mail("fr_html_only.eml");
    let trace = env.pipeline().explain(&raw).await.unwrap();
    let said: Vec<String> = trace.steps.iter().map(|s| s.to_string()).collect();
    let said = said.join("\n");
    assert!(
        said.contains("impact degraded not taken: the routing rule sets it, from the line \"Impact : dégradé\"")
            && said.contains("urgency = medium, from the line \"Urgence : moyenne\""),
        "{said}"
    );
    let n = created(&env.process(&raw).await);
    let t = env.details(&n).await.ticket;
    assert_eq!(
        (t.impact, t.urgency, t.priority),
        (Impact::Interrupted, Urgency::Medium, Priority::P2)
    );

    // Labels of the operator's: "Sévérité" is an impact, "Votre référence" no longer a
    // reference, "N° de commande" is one.
    let custom = "From: Luc <luc@acme.example>\r\nTo: support@ours.test\r\n\
        Subject: Imprimante\r\nMessage-ID: <labels-1@acme.example>\r\n\r\n\
        Bonjour,\r\n\r\nSévérité : interrompu\r\nN° de commande : 4711\r\n\
        Votre référence : X-1\r\n";
    let n = created(&env.process(custom.as_bytes()).await);
    let t = env.details(&n).await.ticket;
    assert_eq!(t.impact, Impact::Interrupted);
    assert_eq!(t.details.customer_reference.as_deref(), Some("4711"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_fields_can_be_turned_off() {
    let Some(mut h) = Harness::new("[tickets]\nread_fields = false\n").await else {
        return;
    };
    let n: TicketNumber = created(&h.env.process(&mail("fr_outlook.eml")).await);
    let t = h.env.details(&n).await.ticket;
    assert_eq!((t.impact, t.urgency), (Impact::Degraded, Urgency::Medium));
    assert!(t.details.is_empty());
    let mails = h.deliver().await;
    let ack = acknowledgement(&mails, "marie.durand@acme-industrie.fr");
    assert!(
        !ack.text.contains("relevé") && !ack.text.contains("Pour nous indiquer"),
        "{}",
        ack.text
    );
}

/// What each field's line says in the mail, and how the ticket shows it.
fn sample(field: BodyField) -> (&'static str, &'static str) {
    match field {
        BodyField::TicketType => ("Demande", "request"),
        BodyField::Category => ("Lenteur", "Lenteur"),
        BodyField::Impact => ("Très dégradé", "severely_degraded"),
        BodyField::Urgency => ("Haute", "high"),
        BodyField::ImpactedUsers => ("environ 40", "40"),
        BodyField::IncidentStart => ("23/11/2026 à 8h15", "2026-11-23T07:15:00+00:00"),
        _ => ("REF-2291", "REF-2291"),
    }
}

/// The value of `field` on ticket `t`, as [`sample`] gives it.
fn shown(t: &ticketgate::domain::Ticket, field: BodyField) -> Option<String> {
    let d = &t.details;
    match field {
        BodyField::TicketType => Some(t.ticket_type.to_string()),
        BodyField::Category => t.category.clone(),
        BodyField::Impact => Some(t.impact.to_string()),
        BodyField::Urgency => Some(t.urgency.to_string()),
        BodyField::ImpactedUsers => d.impacted_users.map(|n| n.to_string()),
        BodyField::IncidentStart => d.incident_started_at.map(|at| at.to_rfc3339()),
        BodyField::CustomerReference => d.customer_reference.clone(),
        BodyField::ServiceReference => d.service_reference.clone(),
        BodyField::OnsiteContact => d.onsite_contact.clone(),
        BodyField::OnsitePhone => d.onsite_phone.clone(),
        BodyField::OnsiteAvailability => d.onsite_availability.clone(),
    }
}

/// Every default label, in a mail written as customers write them: a greeting, the
/// problem, the line (capitalised as a sentence, French typography), a signature with a
/// phone line, and the quoted history below with the same label and another value, which
/// must not count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_label_of_both_languages_sets_its_field_from_a_customer_s_mail() {
    let env = TestEnv::with_config(PARIS).await;
    let mut wrong = Vec::new();
    let mut i = 0;
    for &field in BodyField::ALL {
        for label in field.default_labels() {
            i += 1;
            let (written, expected) = sample(field);
            let written_label = {
                let mut c = label.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            };
            let mail = format!(
                "From: Marie Durand <marie@acme-industrie.fr>\r\nTo: support@ours.test\r\n\
                 Subject: Messagerie en panne {i}\r\nMessage-ID: <label-{i}@acme-industrie.fr>\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\n\
                 Bonjour,\r\n\r\nPlus personne ne peut envoyer de mail depuis ce matin.\r\n\r\n\
                 {written_label} : {written}\r\n\r\nCordialement,\r\nMarie Durand\r\n\
                 T\u{e9}l : 04 72 11 22 33\r\n\r\n\
                 Le lun. 16 nov. 2026 \u{e0} 09:58, Support <support@ours.test> a \u{e9}crit :\r\n\
                 > {written_label} : autre chose 99\r\n"
            );
            let n = created(&env.process(mail.as_bytes()).await);
            let t = env.details(&n).await.ticket;
            let got = shown(&t, field);
            if got.as_deref() != Some(expected) {
                wrong.push(format!("{label:?} ({field}): {got:?}, not {expected:?}"));
            }
        }
    }
    assert!(i > 60, "{i} labels");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
