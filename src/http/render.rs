//! The portal's pages: `templates/portal/LANG/NAME.html.hbs` with a shared layout,
//! embedded in the binary, rendered strictly (a missing value is an error, not a gap) with
//! every value escaped. A person's text goes through the same `text_html` helper as in
//! the mails: its shape kept, nothing of it ever markup.

use std::collections::HashMap;

use handlebars::Handlebars;
use serde_json::Value;

/// `templates/portal/`, in every build profile.
#[derive(rust_embed::Embed)]
#[folder = "templates/portal/"]
struct PortalFolder;

/// The languages the pages are written in; the first is the fallback.
pub const PAGE_LANGUAGES: &[&str] = &["en", "fr"];

/// Why a page cannot be rendered: a template of ours is broken.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("portal template {lang}/{name} does not compile: {message}")]
    Compile {
        lang: String,
        name: String,
        message: String,
    },
    #[error("portal page {lang}/{name} cannot be rendered: {message}")]
    Render {
        lang: String,
        name: String,
        message: String,
    },
}

/// Every page of every language, compiled once.
pub struct Pages {
    languages: HashMap<&'static str, Handlebars<'static>>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages").finish_non_exhaustive()
    }
}

impl Pages {
    /// The embedded pages.
    pub fn load() -> Result<Self, RenderError> {
        let mut languages = HashMap::new();
        for &lang in PAGE_LANGUAGES {
            let mut registry = Handlebars::new();
            registry.set_strict_mode(true);
            registry.register_helper(
                "text_html",
                Box::new(crate::notify::templates::text_html::helper),
            );
            let prefix = format!("{lang}/");
            for path in PortalFolder::iter() {
                let Some(name) = path
                    .strip_prefix(&prefix)
                    .and_then(|p| p.strip_suffix(".hbs"))
                else {
                    continue;
                };
                let source = PortalFolder::get(&path)
                    .map(|f| String::from_utf8_lossy(&f.data).into_owned())
                    .unwrap_or_default();
                let compiled = match name.strip_prefix("partials/") {
                    Some(partial) => registry.register_partial(partial, &source),
                    None => registry.register_template_string(name, &source),
                };
                compiled.map_err(|e| RenderError::Compile {
                    lang: lang.to_string(),
                    name: name.to_string(),
                    message: e.to_string(),
                })?;
            }
            languages.insert(lang, registry);
        }
        Ok(Self { languages })
    }

    /// Page `name` (`ticket.html`) in `lang` with `data`.
    pub fn render(&self, name: &str, lang: &str, data: &Value) -> Result<String, RenderError> {
        let registry = self
            .languages
            .get(lang)
            .or_else(|| self.languages.get(PAGE_LANGUAGES[0]))
            .expect("the fallback language is loaded");
        registry
            .render(name, data)
            .map_err(|e| RenderError::Render {
                lang: lang.to_string(),
                name: name.to_string(),
                message: e.to_string(),
            })
    }
}

/// The one stylesheet.
pub fn stylesheet() -> Vec<u8> {
    PortalFolder::get("portal.css")
        .map(|f| f.data.into_owned())
        .unwrap_or_default()
}

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

    #[test]
    fn every_page_compiles_in_every_language() {
        let pages = Pages::load().unwrap();
        let data = serde_json::json!({
            "lang": "fr", "company": "Acme", "page_title": "x", "heading": "h", "text": "t",
            "stylesheet": "/static/portal.css",
        });
        for lang in PAGE_LANGUAGES {
            assert!(
                pages
                    .render("message.html", lang, &data)
                    .unwrap()
                    .contains("<h1>h</h1>")
            );
        }
        assert!(!stylesheet().is_empty());
    }
}
