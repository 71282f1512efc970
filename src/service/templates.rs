//! The templates as an operator checks them: every notification of every event and every
//! portal page, in every language, rendered with sample data; or one notification shown.

use std::sync::Arc;

use crate::config::Settings;
use crate::domain::Event;
use crate::notify::templates::{LANGUAGES, RenderedMail, TemplateError, Templates, sample_data};
use crate::pages::{PAGE_NAMES, PageError, Pages};

/// A template that does not render: a notification's or a page's.
#[derive(Debug, thiserror::Error)]
pub enum TemplateProblem {
    #[error(transparent)]
    Mail(#[from] TemplateError),
    #[error(transparent)]
    Page(#[from] PageError),
}

/// What a check rendered, when everything rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateCheck {
    /// How many templates rendered (subject, text and HTML of each event).
    pub templates: usize,
    /// How many SMS texts rendered (one per event).
    pub sms: usize,
    /// How many portal pages rendered.
    pub pages: usize,
    /// In which languages.
    pub languages: &'static [&'static str],
}

/// Checks and previews the templates the settings name (embedded, or overridden file by
/// file from `[notifications] template_dir`, the portal's under its `portal/`). Needs no
/// database.
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
    pub fn check(&self) -> Result<TemplateCheck, Vec<TemplateProblem>> {
        let mut errors: Vec<TemplateProblem> = match self.load() {
            Ok(templates) => templates.check().into_iter().map(Into::into).collect(),
            Err(e) => vec![e.into()],
        };
        let operator_dir = self.settings.template_dir.as_deref();
        match Pages::load(operator_dir) {
            Ok(pages) => errors.extend(pages.check().into_iter().map(Into::into)),
            Err(e) => errors.push(e.into()),
        }
        if let Err(e) = crate::pages::stylesheet(operator_dir) {
            errors.push(e.into());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TemplateCheck {
            // Each event's subject, text and HTML, and the test message's.
            templates: (Event::ALL.len() + 1) * 3,
            sms: Event::ALL.len(),
            pages: PAGE_NAMES.len(),
            languages: LANGUAGES,
        })
    }

    /// The notification for `event` in `lang`, rendered with sample data.
    pub fn preview(&self, event: &str, lang: &str) -> Result<RenderedMail, TemplateError> {
        self.load()?.render(event, lang, &sample_data(lang))
    }
}
