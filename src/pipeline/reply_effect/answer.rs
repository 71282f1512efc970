//! A requester's answer to a proposed solution: the first meaningful line of their reply,
//! read against the configured approval and refusal words.

/// What a reply to a proposed solution says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolutionAnswer {
    /// Its first meaningful line starts with an approval word.
    Approve,
    /// It starts with a refusal word.
    Refuse,
    /// Anything else: the solution did not settle it either.
    Other,
}

impl SolutionAnswer {
    /// Reads the first meaningful line of `text` (not blank, not quoted, not a bare
    /// greeting such as "Hello," or "Bonjour Marie,") against the configured words.
    pub fn read(text: &str, approval: &[String], refusal: &[String]) -> SolutionAnswer {
        let Some(line) = first_meaningful_line(text) else {
            return SolutionAnswer::Other;
        };
        let line = line.to_lowercase();
        let starts_with = |w: &String| {
            line.strip_prefix(w.as_str())
                .is_some_and(|rest| !rest.starts_with(char::is_alphanumeric))
        };
        if approval.iter().any(starts_with) {
            SolutionAnswer::Approve
        } else if refusal.iter().any(starts_with) {
            SolutionAnswer::Refuse
        } else {
            SolutionAnswer::Other
        }
    }
}

const GREETINGS: &[&str] = &[
    "hello",
    "hi",
    "hey",
    "dear",
    "good morning",
    "good afternoon",
    "bonjour",
    "bonsoir",
    "salut",
    "madame",
    "monsieur",
    "cher",
    "chère",
];

/// The first line that says something: quotes, blank lines and a lone greeting skipped.
pub fn first_meaningful_line(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('>'))
        .find(|l| !is_greeting(l))
        .map(|l| l.trim_start_matches(|c: char| !c.is_alphanumeric()))
        .filter(|l| !l.is_empty())
}

fn is_greeting(line: &str) -> bool {
    let lower = line.to_lowercase();
    let words = lower.split_whitespace().count();
    words <= 4
        && (lower.ends_with(',') || lower.ends_with('!') || words == 1)
        && GREETINGS.iter().any(|g| {
            lower
                .strip_prefix(g)
                .is_some_and(|rest| !rest.starts_with(char::is_alphanumeric))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    fn answer(text: &str) -> SolutionAnswer {
        SolutionAnswer::read(
            text,
            &words(&["approve", "approved", "accept", "ok", "approuvé", "valider"]),
            &words(&["refuse", "no", "non"]),
        )
    }

    #[test]
    fn the_first_meaningful_line_decides() {
        assert_eq!(answer("Approve"), SolutionAnswer::Approve);
        assert_eq!(
            answer("\n\nOK, thanks a lot!\n> old text"),
            SolutionAnswer::Approve
        );
        assert_eq!(answer("Hello,\n\napproved.\nBob"), SolutionAnswer::Approve);
        assert_eq!(
            answer("Bonjour Marie,\nApprouvé, merci"),
            SolutionAnswer::Approve
        );
        assert_eq!(answer("No, it still crashes"), SolutionAnswer::Refuse);
        assert_eq!(answer("Non."), SolutionAnswer::Refuse);
        assert_eq!(answer("It still crashes.\nok?"), SolutionAnswer::Other);
        assert_eq!(answer("okay I guess"), SolutionAnswer::Other);
        assert_eq!(answer("> approve\nnot fixed"), SolutionAnswer::Other);
        assert_eq!(answer(""), SolutionAnswer::Other);
    }
}
