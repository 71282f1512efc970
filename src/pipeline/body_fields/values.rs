//! The values of the fields a mail gives, read the way customers write them: the portals'
//! French and English words for type, impact and urgency, a count of users with or without
//! "about", and free texts bounded in length.

use crate::domain::{Impact, TicketType, Urgency, fold_label};

/// A free text value longer than this many characters is cut (a reference or a name is
/// short; a long one is a sentence that happened to follow a label).
pub(super) const MAX_TEXT_CHARS: usize = 200;

/// The words of each type, folded.
const TYPES: &[(&str, TicketType)] = &[
    ("incident", TicketType::Incident),
    ("panne", TicketType::Incident),
    ("request", TicketType::Request),
    ("service request", TicketType::Request),
    ("demande", TicketType::Request),
    ("demande de service", TicketType::Request),
    ("question", TicketType::Question),
    ("feature", TicketType::Feature),
    ("feature request", TicketType::Feature),
    ("enhancement", TicketType::Feature),
    ("evolution", TicketType::Feature),
    ("demande d'evolution", TicketType::Feature),
];

/// The seed's four levels (001: « Non perturbé, Dégradé, Très dégradé, Interrompu ») and
/// their English names, folded.
const IMPACTS: &[(&str, Impact)] = &[
    ("non perturbe", Impact::NotDisturbed),
    ("sans perturbation", Impact::NotDisturbed),
    ("sans perturbation du service", Impact::NotDisturbed),
    ("aucun", Impact::NotDisturbed),
    ("not disturbed", Impact::NotDisturbed),
    ("undisturbed", Impact::NotDisturbed),
    ("none", Impact::NotDisturbed),
    ("no impact", Impact::NotDisturbed),
    ("degrade", Impact::Degraded),
    ("degraded", Impact::Degraded),
    ("tres degrade", Impact::SeverelyDegraded),
    ("severely degraded", Impact::SeverelyDegraded),
    ("very degraded", Impact::SeverelyDegraded),
    ("highly degraded", Impact::SeverelyDegraded),
    ("interrompu", Impact::Interrupted),
    ("interruption", Impact::Interrupted),
    ("coupure", Impact::Interrupted),
    ("coupure totale", Impact::Interrupted),
    ("interrupted", Impact::Interrupted),
    ("down", Impact::Interrupted),
    ("outage", Impact::Interrupted),
];

/// The seed's two levels (003: « Haute ou Moyenne ») and their English names, folded.
const URGENCIES: &[(&str, Urgency)] = &[
    ("haute", Urgency::High),
    ("elevee", Urgency::High),
    ("urgent", Urgency::High),
    ("urgente", Urgency::High),
    ("high", Urgency::High),
    ("moyenne", Urgency::Medium),
    ("normale", Urgency::Medium),
    ("medium", Urgency::Medium),
    ("normal", Urgency::Medium),
];

/// The type `value` names.
pub(crate) fn ticket_type(value: &str) -> Option<TicketType> {
    named(value, TYPES).or_else(|| value.parse().ok())
}

/// The impact `value` names.
pub(crate) fn impact(value: &str) -> Option<Impact> {
    named(value, IMPACTS).or_else(|| value.parse().ok())
}

/// The urgency `value` names.
pub(crate) fn urgency(value: &str) -> Option<Urgency> {
    named(value, URGENCIES).or_else(|| value.parse().ok())
}

/// The word of `words` that `value` is, or starts with before a bracket, a comma, a dash
/// or a full stop: `Interrompu (plus personne ne se connecte)` is `Interrompu`.
fn named<T: Copy>(value: &str, words: &[(&str, T)]) -> Option<T> {
    let folded = fold_label(value);
    let head = folded
        .split(['(', ',', ';', '.', '!', '/'])
        .next()
        .unwrap_or("")
        .split(" - ")
        .next()
        .unwrap_or("")
        .trim();
    words
        .iter()
        .find(|(word, _)| *word == folded || *word == head)
        .map(|(_, v)| *v)
}

/// Words that may stand around a count of users: `about 40`, `environ 40 postes`.
const COUNT_WORDS: &[&str] = &[
    "about",
    "around",
    "approx",
    "approximately",
    "roughly",
    "some",
    "users",
    "user",
    "people",
    "persons",
    "workstations",
    "environ",
    "approximativement",
    "pres",
    "de",
    "utilisateurs",
    "utilisateur",
    "personnes",
    "postes",
    "poste",
    "collaborateurs",
];

/// The number of users `value` gives: one number (`1 200`, `1,200`, `~40`), with only
/// [`COUNT_WORDS`] around it. `10-20` or `all of them` are not read.
pub(super) fn users(value: &str) -> Option<u32> {
    if is_range(value) {
        return None;
    }
    let folded = fold_label(value);
    let mut digits = String::new();
    let mut numbers = 0;
    let mut in_number = false;
    let chars: Vec<char> = folded.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_digit() {
            if !in_number {
                numbers += 1;
                in_number = true;
            }
            digits.push(c);
            continue;
        }
        // A thousands separator: one space, comma, dot or apostrophe between digit groups.
        let separates = in_number
            && matches!(c, ' ' | ',' | '.' | '\'' | '\u{202f}')
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit())
            && chars[i + 1..]
                .iter()
                .take_while(|n| n.is_ascii_digit())
                .count()
                == 3;
        if !separates {
            in_number = false;
        }
    }
    if numbers != 1 {
        return None;
    }
    let rest: String = folded
        .chars()
        .map(|c| if c.is_ascii_digit() { ' ' } else { c })
        .collect();
    let only_count_words = rest
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | '\'' | '~' | '+' | '≈'))
        .filter(|w| !w.is_empty())
        .all(|w| COUNT_WORDS.contains(&w));
    if !only_count_words {
        return None;
    }
    digits.parse().ok()
}

/// Whether `value` holds a range of numbers (`10-20`, `10 – 20`), which [`fold_label`]
/// would turn into one number with a thousands separator.
fn is_range(value: &str) -> bool {
    let mut after_digit = false;
    let mut dash = false;
    for c in value.chars() {
        match c {
            '0'..='9' if dash => return true,
            '0'..='9' => after_digit = true,
            '-' | '–' | '—' if after_digit => dash = true,
            c if c.is_whitespace() => {}
            _ => {
                after_digit = false;
                dash = false;
            }
        }
    }
    false
}

/// A free text value: trimmed, its spaces made single, cut at [`MAX_TEXT_CHARS`]; `None`
/// when nothing is left.
pub(super) fn text(value: &str) -> Option<String> {
    let joined = value.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = joined.chars().take(MAX_TEXT_CHARS).collect();
    (!cut.is_empty()).then_some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portals_words_name_types_impacts_and_urgencies() {
        assert_eq!(ticket_type("Demande"), Some(TicketType::Request));
        assert_eq!(ticket_type("évolution"), Some(TicketType::Feature));
        assert_eq!(ticket_type("Feature request"), Some(TicketType::Feature));
        assert_eq!(impact("Très dégradé"), Some(Impact::SeverelyDegraded));
        assert_eq!(impact("TRES DEGRADE"), Some(Impact::SeverelyDegraded));
        assert_eq!(
            impact("Interrompu (plus personne ne se connecte)"),
            Some(Impact::Interrupted)
        );
        assert_eq!(impact("Non perturbé"), Some(Impact::NotDisturbed));
        assert_eq!(impact("severely_degraded"), Some(Impact::SeverelyDegraded));
        assert_eq!(impact("catastrophic"), None);
        assert_eq!(urgency("Haute"), Some(Urgency::High));
        assert_eq!(urgency("moyenne."), Some(Urgency::Medium));
        assert_eq!(urgency("whenever"), None);
    }

    #[test]
    fn a_count_of_users_is_one_number_with_only_counting_words() {
        assert_eq!(users("40"), Some(40));
        assert_eq!(users("about 40 users"), Some(40));
        assert_eq!(users("environ 1 200 postes"), Some(1200));
        assert_eq!(users("1,200"), Some(1200));
        assert_eq!(users("~15"), Some(15));
        assert_eq!(users("10-20"), None);
        assert_eq!(users("10 - 200"), None);
        assert_eq!(users("all of them"), None);
        assert_eq!(users("3 sites"), None);
        assert_eq!(users("99999999999999"), None);
    }

    #[test]
    fn texts_are_bounded() {
        assert_eq!(text("  REF-42 \t x ").as_deref(), Some("REF-42 x"));
        assert_eq!(text("   "), None);
        assert_eq!(text(&"a".repeat(1000)).unwrap().len(), MAX_TEXT_CHARS);
    }
}
