//! The portal's pages: `templates/portal/LANG/NAME.html.hbs` with a shared layout and one
//! stylesheet, embedded in the binary, each replaced by the operator's
//! `template_dir/portal/…` file where there is one (the mail templates' directory).
//! Rendered strictly (a missing value is an error, not a gap) with every value escaped; a
//! person's text goes through the same `text_html` helper as in the mails.
//!
//! The web side renders them; `templates check` renders each with sample data, so that an
//! operator's edit fails there rather than on a customer's screen.

use std::collections::HashMap;
use std::path::Path;

use handlebars::Handlebars;
use serde_json::Value;

mod sample;

/// `templates/portal/`, in every build profile.
#[derive(rust_embed::Embed)]
#[folder = "templates/portal/"]
struct PortalFolder;

/// The languages the pages are written in; the first is the fallback.
pub const PAGE_LANGUAGES: &[&str] = &["en", "fr"];

/// The pages, by template name.
pub const PAGE_NAMES: &[&str] = &[
    "ticket.html",
    "list.html",
    "preferences.html",
    "confirm.html",
    "message.html",
];

/// Why a page cannot be rendered: a template is broken, or an override unreadable.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
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
    #[error("cannot read the override of a portal file, {path}: {source}")]
    Override {
        path: String,
        source: std::io::Error,
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
    /// The embedded pages, each replaced by `override_dir/portal/LANG/NAME.hbs` where
    /// present.
    pub fn load(override_dir: Option<&Path>) -> Result<Self, PageError> {
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
                let source = String::from_utf8_lossy(&file(&path, override_dir)?).into_owned();
                let compiled = match name.strip_prefix("partials/") {
                    Some(partial) => registry.register_partial(partial, &source),
                    None => registry.register_template_string(name, &source),
                };
                compiled.map_err(|e| PageError::Compile {
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
    pub fn render(&self, name: &str, lang: &str, data: &Value) -> Result<String, PageError> {
        let registry = self
            .languages
            .get(lang)
            .or_else(|| self.languages.get(PAGE_LANGUAGES[0]))
            .expect("the fallback language is loaded");
        registry.render(name, data).map_err(|e| PageError::Render {
            lang: lang.to_string(),
            name: name.to_string(),
            message: e.to_string(),
        })
    }

    /// Renders every page in every language with sample data, in each of its states; the
    /// errors, if any.
    pub fn check(&self) -> Vec<PageError> {
        let mut errors = Vec::new();
        for &lang in PAGE_LANGUAGES {
            for (name, data) in sample::pages(lang) {
                if let Err(e) = self.render(name, lang, &data) {
                    errors.push(e);
                }
            }
        }
        errors
    }
}

/// The one stylesheet, or the operator's `override_dir/portal/portal.css`.
pub fn stylesheet(override_dir: Option<&Path>) -> Result<Vec<u8>, PageError> {
    file("portal.css", override_dir)
}

/// The shipped file at `path` under `templates/portal/`, or its override.
fn file(path: &str, override_dir: Option<&Path>) -> Result<Vec<u8>, PageError> {
    if let Some(dir) = override_dir {
        let own = dir.join("portal").join(path);
        if own.exists() {
            return std::fs::read(&own).map_err(|source| PageError::Override {
                path: own.display().to_string(),
                source,
            });
        }
    }
    Ok(PortalFolder::get(path)
        .map(|f| f.data.into_owned())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_renders_in_every_language_with_sample_data() {
        let pages = Pages::load(None).unwrap();
        let errors = pages.check();
        assert!(errors.is_empty(), "{errors:?}");
        for &lang in PAGE_LANGUAGES {
            let names: Vec<&str> = sample::pages(lang).iter().map(|(n, _)| *n).collect();
            for name in PAGE_NAMES {
                assert!(names.contains(name), "{name} has no sample");
            }
        }
        assert!(!stylesheet(None).unwrap().is_empty());
    }

    #[test]
    fn an_override_replaces_its_file_and_a_broken_one_is_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("portal/fr")).unwrap();
        std::fs::write(dir.path().join("portal/portal.css"), "body{color:#000}").unwrap();
        std::fs::write(
            dir.path().join("portal/fr/message.html.hbs"),
            "<p>{{heading}} chez {{company}}</p>",
        )
        .unwrap();
        let pages = Pages::load(Some(dir.path())).unwrap();
        let data = serde_json::json!({ "heading": "Oups", "company": "Acme" });
        assert_eq!(
            pages.render("message.html", "fr", &data).unwrap(),
            "<p>Oups chez Acme</p>"
        );
        assert_eq!(stylesheet(Some(dir.path())).unwrap(), b"body{color:#000}");
        std::fs::write(
            dir.path().join("portal/fr/message.html.hbs"),
            "<p>{{visitor.nickname}}</p>",
        )
        .unwrap();
        let errors = Pages::load(Some(dir.path())).unwrap().check();
        assert!(
            errors
                .iter()
                .any(|e| e.to_string().contains("fr/message.html cannot be rendered")),
            "{errors:?}"
        );
    }
}
