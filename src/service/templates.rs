//! The notification templates as an operator checks them: every event in every language
//! rendered with sample data, or one of them shown.

use std::sync::Arc;

use crate::config::Settings;
use crate::domain::Event;
use crate::notify::templates::{LANGUAGES, RenderedMail, TemplateError, Templates, sample_data};

/// What a check rendered, when everything rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateCheck {
    /// How many templates rendered (subject, text and HTML of each event).
    pub templates: usize,
    /// In which languages.
    pub languages: &'static [&'static str],
}

/// Checks and previews the templates the settings name (embedded, or overridden file by
/// file from `[notifications] template_dir`). Needs no database.
#[derive(Debug, Clone)]
pub struct TemplateService {
    settings: Arc<Settings>,
}

impl TemplateService {
    /// The languages templates are written in, for front ends to offer.
    pub const LANGUAGES: &'static [&'static str] = LANGUAGES;

    pub fn new(settings: Arc<Settings>) -> Self {
        Self { settings }
    }

    /// The events a notification is written for, by name, for front ends to offer.
    pub fn events() -> impl Iterator<Item = &'static str> {
        Event::ALL.iter().map(|e| e.as_str())
    }

    fn load(&self) -> Result<Templates, TemplateError> {
        Templates::load(self.settings.template_dir.as_deref())
    }

    /// Renders every template in every language with sample data: what rendered, or every
    /// error found.
    pub fn check(&self) -> Result<TemplateCheck, Vec<TemplateError>> {
        let templates = self.load().map_err(|e| vec![e])?;
        let errors = templates.check();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TemplateCheck {
            templates: Event::ALL.len() * 3,
            languages: LANGUAGES,
        })
    }

    /// The notification for `event` in `lang`, rendered with sample data.
    pub fn preview(&self, event: &str, lang: &str) -> Result<RenderedMail, TemplateError> {
        self.load()?.render(event, lang, &sample_data(lang))
    }
}
