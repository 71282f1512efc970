//! The page language a browser asks for (`Accept-Language`), among the portal's.

use crate::pages::PAGE_LANGUAGES;

/// The page language `Accept-Language` asks for first among ours, if any.
pub fn language_from(accept_language: Option<&str>) -> Option<&'static str> {
    let header = accept_language?;
    let mut asked: Vec<(f32, &str)> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next()?.trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((q, tag))
        })
        .collect();
    asked.sort_by(|a, b| b.0.total_cmp(&a.0));
    asked
        .into_iter()
        .filter(|(q, _)| *q > 0.0)
        .find_map(|(_, tag)| {
            let primary = tag.split('-').next()?.to_ascii_lowercase();
            PAGE_LANGUAGES.iter().copied().find(|l| *l == primary)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_asked_for_first_among_ours() {
        assert_eq!(language_from(Some("fr-FR,fr;q=0.9,en;q=0.8")), Some("fr"));
        assert_eq!(language_from(Some("de-DE, en;q=0.5, fr;q=0.7")), Some("fr"));
        assert_eq!(language_from(Some("de, es")), None);
        assert_eq!(language_from(Some("fr;q=0, en")), Some("en"));
        assert_eq!(language_from(None), None);
    }
}
