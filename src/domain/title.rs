//! A ticket's title, made from the subject of the mail that opened it.

/// The longest title kept from a subject, in characters: far beyond any subject a person
/// writes (a 300-character one is kept whole, as customers wrote it), only a bound against
/// a hostile one. Where space is short, the title is shortened when shown, not when kept.
const MAX_TITLE_CHARS: usize = 1000;

/// A ticket title from a subject: reply and forward prefixes removed (in the languages mail
/// clients use), whitespace folded, bounded; `(no subject)` when nothing is left.
pub fn title_from_subject(subject: &str) -> String {
    const PREFIXES: &[&str] = &[
        "re", "fw", "fwd", "tr", "aw", "wg", "sv", "vs", "rif", "réf", "ref", "antw", "odp", "r",
    ];
    let mut rest = subject.trim();
    loop {
        let lower = rest.to_ascii_lowercase();
        let stripped = PREFIXES.iter().find_map(|p| {
            let after = lower.strip_prefix(p)?;
            let after =
                after.trim_start_matches(|c: char| c == '[' || c.is_ascii_digit() || c == ']');
            after
                .trim_start()
                .strip_prefix(':')
                .map(|tail| rest.len() - tail.len())
        });
        match stripped {
            Some(cut) => rest = rest[cut..].trim_start(),
            None => break,
        }
    }
    let title: String = rest
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_TITLE_CHARS)
        .collect();
    if title.is_empty() {
        "(no subject)".into()
    } else {
        title
    }
}

#[cfg(test)]
mod tests {
    use super::title_from_subject;

    #[test]
    fn titles_lose_reply_prefixes() {
        assert_eq!(
            title_from_subject("RE: Fwd: TR : Printer   on fire"),
            "Printer on fire"
        );
        assert_eq!(title_from_subject("Re[2]: AW: Hallo"), "Hallo");
        assert_eq!(title_from_subject("Réponse attendue"), "Réponse attendue");
        assert_eq!(title_from_subject("   "), "(no subject)");
    }

    #[test]
    fn a_long_subject_is_kept_whole() {
        let words = "the printer on the second floor prints blank pages again ".repeat(6);
        let subject = format!("Re: {}", words.trim());
        assert!(subject.chars().count() > 300);
        assert_eq!(title_from_subject(&subject), words.trim());
        assert_eq!(
            title_from_subject(&"x".repeat(5000)).chars().count(),
            1000,
            "a hostile subject is bounded"
        );
    }
}
