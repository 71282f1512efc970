//! A cheap guess of whether a mail is French or English, so the customer is answered in
//! their language without asking. Counts frequent function words; says nothing when unsure.

const FRENCH: &[&str] = &[
    "le",
    "la",
    "les",
    "des",
    "est",
    "une",
    "je",
    "vous",
    "nous",
    "pour",
    "avec",
    "dans",
    "pas",
    "sur",
    "mais",
    "merci",
    "bonjour",
    "cordialement",
    "votre",
    "notre",
    "qui",
    "que",
    "du",
    "au",
    "ne",
    "ce",
    "cette",
    "sont",
    "être",
    "avons",
    "j'ai",
    "d'un",
    "d'une",
    "l'",
    "problème",
];
const ENGLISH: &[&str] = &[
    "the", "is", "are", "and", "to", "of", "you", "we", "for", "with", "in", "not", "on", "but",
    "thanks", "thank", "hello", "regards", "your", "our", "which", "that", "this", "be", "have",
    "i", "it", "please", "problem", "a", "an",
];

/// `Some("fr")` or `Some("en")` when one language clearly dominates the first words.
pub fn detect(subject: &str, body: &str) -> Option<&'static str> {
    let (mut fr, mut en) = (0u32, 0u32);
    let words = subject
        .split_whitespace()
        .chain(body.split_whitespace())
        .take(300)
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
                .to_lowercase()
        });
    for w in words {
        if FRENCH.contains(&w.as_str()) {
            fr += 1;
        }
        if ENGLISH.contains(&w.as_str()) {
            en += 1;
        }
    }
    match (fr, en) {
        (f, e) if f >= 2 && f > e => Some("fr"),
        (f, e) if e >= 2 && e > f => Some("en"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::detect;

    #[test]
    fn tells_french_from_english() {
        assert_eq!(
            detect(
                "Problème de connexion",
                "Bonjour, je n'arrive pas à me connecter depuis ce matin. Merci"
            ),
            Some("fr")
        );
        assert_eq!(
            detect(
                "Cannot log in",
                "Hello, I cannot log in since this morning. Thanks"
            ),
            Some("en")
        );
        assert_eq!(detect("", "12345"), None);
    }
}
