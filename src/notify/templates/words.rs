//! The words customers read for values the database keeps as codes: statuses, priorities
//! and dates, in each shipped language.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::domain::{BodyField, Impact, IncidentDetails, Priority, Status, TicketType, Urgency};

/// A status as customers read it.
pub fn status_label(status: Status, lang: &str) -> &'static str {
    use Status::*;
    match (status, lang) {
        (New, "fr") => "nouveau",
        (InProgress, "fr") => "en cours",
        (WaitingCustomer, "fr") => "en attente de votre réponse",
        (Resolved, "fr") => "résolu",
        (Closed, "fr") => "clôturé",
        (New, _) => "new",
        (InProgress, _) => "in progress",
        (WaitingCustomer, _) => "waiting for your answer",
        (Resolved, _) => "resolved",
        (Closed, _) => "closed",
    }
}

/// What follows a quoted text that was cut: where the rest is.
pub fn excerpt_cut(lang: &str) -> &'static str {
    match lang {
        "fr" => "[…] La suite de ce message est sur la page du ticket.",
        _ => "[…] The rest of this message is on the ticket page.",
    }
}

/// A priority as customers read it, rather than the team's P1…P4 (shown on its own, in
/// the summary, so it starts with a capital).
pub fn priority_label(priority: Priority, lang: &str) -> &'static str {
    use Priority::*;
    match (priority, lang) {
        (P1, "fr") => "Critique",
        (P2, "fr") => "Haute",
        (P3, "fr") => "Moyenne",
        (P4, "fr") => "Basse",
        (P1, _) => "Critical",
        (P2, _) => "High",
        (P3, _) => "Medium",
        (P4, _) => "Low",
    }
}

/// A ticket's type as customers read it.
pub fn type_label(ticket_type: TicketType, lang: &str) -> &'static str {
    use TicketType::*;
    match (ticket_type, lang) {
        (Incident, "fr") => "Incident",
        (Request, "fr") => "Demande",
        (Question, "fr") => "Question",
        (Feature, "fr") => "Évolution",
        (Incident, _) => "Incident",
        (Request, _) => "Request",
        (Question, _) => "Question",
        (Feature, _) => "Feature request",
    }
}

/// How badly the service is affected, in the portals' words (seed 001).
pub fn impact_label(impact: Impact, lang: &str) -> &'static str {
    use Impact::*;
    match (impact, lang) {
        (NotDisturbed, "fr") => "Non perturbé",
        (Degraded, "fr") => "Dégradé",
        (SeverelyDegraded, "fr") => "Très dégradé",
        (Interrupted, "fr") => "Interrompu",
        (NotDisturbed, _) => "Not disturbed",
        (Degraded, _) => "Degraded",
        (SeverelyDegraded, _) => "Severely degraded",
        (Interrupted, _) => "Interrupted",
    }
}

/// How soon it must be solved.
pub fn urgency_label(urgency: Urgency, lang: &str) -> &'static str {
    match (urgency, lang) {
        (Urgency::High, "fr") => "Haute",
        (Urgency::Medium, "fr") => "Moyenne",
        (Urgency::High, _) => "High",
        (Urgency::Medium, _) => "Medium",
    }
}

/// A field of a mail's `Label: value` lines, as an acknowledgement names it.
pub fn field_name(field: BodyField, lang: &str) -> &'static str {
    use BodyField::*;
    match (field, lang) {
        (TicketType, "fr") => "Type",
        (Category, "fr") => "Catégorie",
        (Impact, "fr") => "Impact",
        (Urgency, "fr") => "Urgence",
        (ImpactedUsers, "fr") => "Utilisateurs impactés",
        (IncidentStart, "fr") => "Début de l'incident",
        (CustomerReference, "fr") => "Votre référence",
        (ServiceReference, "fr") => "Service ou contrat",
        (OnsiteContact, "fr") => "Correspondant sur site",
        (OnsitePhone, "fr") => "Téléphone sur site",
        (OnsiteAvailability, "fr") => "Disponibilités",
        (TicketType, _) => "Type",
        (Category, _) => "Category",
        (Impact, _) => "Impact",
        (Urgency, _) => "Urgency",
        (ImpactedUsers, _) => "Impacted users",
        (IncidentStart, _) => "Incident start",
        (CustomerReference, _) => "Your reference",
        (ServiceReference, _) => "Service or contract",
        (OnsiteContact, _) => "On-site contact",
        (OnsitePhone, _) => "On-site phone",
        (OnsiteAvailability, _) => "Availability",
    }
}

/// The incident's details that are known, each named in `lang`, in the order customers
/// give them: what a ticket's page lists.
pub fn incident_rows(d: &IncidentDetails, lang: &str) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    let mut text = |field, value: &Option<String>| {
        if let Some(v) = value {
            rows.push((field_name(field, lang), v.clone()));
        }
    };
    text(BodyField::CustomerReference, &d.customer_reference);
    text(BodyField::ServiceReference, &d.service_reference);
    if let Some(n) = d.impacted_users {
        rows.push((field_name(BodyField::ImpactedUsers, lang), n.to_string()));
    }
    if let Some(at) = d.incident_started_at {
        rows.push((
            field_name(BodyField::IncidentStart, lang),
            long_time(at, lang),
        ));
    }
    let mut text = |field, value: &Option<String>| {
        if let Some(v) = value {
            rows.push((field_name(field, lang), v.clone()));
        }
    };
    text(BodyField::OnsiteContact, &d.onsite_contact);
    text(BodyField::OnsitePhone, &d.onsite_phone);
    text(BodyField::OnsiteAvailability, &d.onsite_availability);
    rows
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// `6 December 2026` / `6 décembre 2026`: a date nobody misreads, whatever their country's
/// order of day and month.
pub fn long_date(date: NaiveDate, lang: &str) -> String {
    let months = if lang == "fr" { &MONTHS_FR } else { &MONTHS_EN };
    let month = months[date.month0() as usize];
    if lang == "fr" && date.day() == 1 {
        return format!("1er {month} {}", date.year());
    }
    format!("{} {month} {}", date.day(), date.year())
}

/// `6 December 2026, 14:05 UTC` / `6 décembre 2026 à 14:05 UTC`.
pub fn long_time(at: DateTime<Utc>, lang: &str) -> String {
    let date = long_date(at.date_naive(), lang);
    let joint = if lang == "fr" { " à" } else { "," };
    format!("{date}{joint} {:02}:{:02} UTC", at.hour(), at.minute())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_and_priorities_read_as_words() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 5, 0).unwrap();
        assert_eq!(long_time(at, "en"), "1 December 2026, 09:05 UTC");
        assert_eq!(long_time(at, "fr"), "1er décembre 2026 à 09:05 UTC");
        let d = NaiveDate::from_ymd_opt(2026, 8, 14).unwrap();
        assert_eq!(long_date(d, "fr"), "14 août 2026");
        assert_eq!(priority_label(Priority::P2, "fr"), "Haute");
        assert_eq!(priority_label(Priority::P4, "en"), "Low");
    }
}
