//! Notification templates: `templates/email/LANG/EVENT.{subject,text,html}.hbs` with
//! shared partials (header, footer, ticket summary), English and French, embedded in the
//! binary. An operator overrides any of them with a file of the same relative path in the
//! configured template directory. Rendering is strict: a missing value is an error, never
//! an empty gap in a customer's mail. Text parts are not escaped; HTML parts escape every
//! value, so nothing a customer wrote can inject markup.
//!
//! Which files exist is read from the folder (`embedded.rs`); the data `check` and
//! `preview` render with is in `sample.rs`.

mod embedded;
mod sample;
#[cfg(test)]
mod tests;
pub mod text_html;
mod words;

use std::collections::HashMap;
use std::path::Path;

use handlebars::Handlebars;
use serde_json::Value;

use embedded::TemplateFile;
pub use sample::sample_data;
pub use words::{
    excerpt_cut, field_name, impact_label, incident_rows, long_date, long_time, priority_label,
    status_label, type_label, urgency_label,
};

/// The languages shipped.
pub const LANGUAGES: &[&str] = &["en", "fr"];

/// Why templates cannot be loaded or rendered; names the template.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template {name} ({lang}) does not compile: {message}")]
    Compile {
        lang: String,
        name: String,
        message: String,
    },
    #[error("template {name} ({lang}) cannot be rendered: {message}")]
    Render {
        lang: String,
        name: String,
        message: String,
    },
    #[error("no template for event `{event}` in language `{lang}`; languages: en, fr")]
    Unknown { event: String, lang: String },
    #[error("cannot read the override template {path}: {source}")]
    Override {
        path: String,
        source: std::io::Error,
    },
}

/// A rendered notification, before it gets its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// The subject, with the ticket tag in front.
    pub subject: String,
    /// The text/plain part.
    pub text: String,
    /// The text/html part.
    pub html: String,
}

/// One language's registries: text (no escaping) and HTML (escaping).
struct Language {
    text: Handlebars<'static>,
    html: Handlebars<'static>,
}

impl Language {
    fn new() -> Self {
        let mut text = Handlebars::new();
        text.set_strict_mode(true);
        text.register_escape_fn(handlebars::no_escape);
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        html.register_helper("text_html", Box::new(text_html::helper));
        Self { text, html }
    }

    /// Compiles `file` into the registry its name calls for: `*.html` escape, the others
    /// do not; `partials/NAME` become partials called `NAME`.
    fn register(&mut self, file: &TemplateFile) -> Result<(), TemplateError> {
        let compile = |e: handlebars::TemplateError| TemplateError::Compile {
            lang: file.lang.clone(),
            name: file.name.clone(),
            message: e.to_string(),
        };
        let registry = if file.name.ends_with(".html") {
            &mut self.html
        } else {
            &mut self.text
        };
        match file.name.strip_prefix("partials/") {
            Some(partial) => registry.register_partial(partial, &file.source),
            None => registry.register_template_string(&file.name, &file.source),
        }
        .map_err(compile)
    }
}

/// Every template of every language, compiled once.
pub struct Templates {
    languages: HashMap<&'static str, Language>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("languages", &self.languages.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Templates {
    /// The embedded templates, each replaced by `override_dir/LANG/NAME.hbs` where present.
    pub fn load(override_dir: Option<&Path>) -> Result<Self, TemplateError> {
        let mut files = embedded::files()?;
        if let Some(dir) = override_dir {
            for file in &mut files {
                apply_override(file, dir)?;
            }
        }
        Self::compile(&files)
    }

    /// Compiles `files` for each of [`LANGUAGES`]; files of other languages are left out.
    fn compile(files: &[TemplateFile]) -> Result<Self, TemplateError> {
        let mut languages = HashMap::new();
        for &lang in LANGUAGES {
            let mut language = Language::new();
            for file in files.iter().filter(|f| f.lang == lang) {
                language.register(file)?;
            }
            languages.insert(lang, language);
        }
        Ok(Self { languages })
    }

    /// Renders `event` in `lang` with `data` (which holds `tag`, the ticket tag).
    pub fn render(
        &self,
        event: &str,
        lang: &str,
        data: &Value,
    ) -> Result<RenderedMail, TemplateError> {
        let unknown = || TemplateError::Unknown {
            event: event.to_string(),
            lang: lang.to_string(),
        };
        if event.parse::<crate::domain::Event>().is_err() {
            return Err(unknown());
        }
        self.render_named(event, lang, data)
    }

    /// The test message `send-test-email` sends, in `lang`, with `data` from
    /// [`test_mail_data`]: written by the same machinery as the notifications.
    pub fn render_test(&self, lang: &str, data: &Value) -> Result<RenderedMail, TemplateError> {
        self.render_named(TEST_MAIL, lang, data)
    }

    /// Renders the subject, text and HTML templates `NAME.*` in `lang`.
    fn render_named(
        &self,
        event: &str,
        lang: &str,
        data: &Value,
    ) -> Result<RenderedMail, TemplateError> {
        let unknown = || TemplateError::Unknown {
            event: event.to_string(),
            lang: lang.to_string(),
        };
        let language = self.languages.get(lang).ok_or_else(unknown)?;
        let render = |registry: &Handlebars<'static>, part: &str| {
            let name = format!("{event}.{part}");
            let failed = |message: String| TemplateError::Render {
                lang: lang.to_string(),
                name: name.clone(),
                message,
            };
            if !registry.has_template(&name) {
                return Err(failed(format!(
                    "there is no file {lang}/{name}.hbs among the shipped templates"
                )));
            }
            registry
                .render(&name, data)
                .map_err(|e| failed(e.to_string()))
        };
        let subject = render(&language.text, "subject")?;
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        let tag = data["tag"].as_str().unwrap_or_default();
        Ok(RenderedMail {
            subject: if tag.is_empty() {
                subject
            } else {
                format!("{tag} {subject}")
            },
            text: squeeze_blank_lines(&render(&language.text, "text")?),
            html: render(&language.html, "html")?,
        })
    }

    /// The SMS text of `event` in `lang`: one line, its spaces and line breaks squeezed.
    pub fn render_sms(
        &self,
        event: &str,
        lang: &str,
        data: &Value,
    ) -> Result<String, TemplateError> {
        let name = format!("sms/{event}");
        let failed = |message: String| TemplateError::Render {
            lang: lang.to_string(),
            name: name.clone(),
            message,
        };
        let language = self
            .languages
            .get(lang)
            .ok_or_else(|| TemplateError::Unknown {
                event: event.to_string(),
                lang: lang.to_string(),
            })?;
        if !language.text.has_template(&name) {
            return Err(failed(format!(
                "there is no file sms/{lang}/{event}.txt.hbs among the shipped templates"
            )));
        }
        let text = language
            .text
            .render(&name, data)
            .map_err(|e| failed(e.to_string()))?;
        Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// Renders every event in every language with sample data, mail and SMS; the errors,
    /// if any. A template file missing for one event and language is one of them.
    pub fn check(&self) -> Vec<TemplateError> {
        let mut errors = Vec::new();
        for &lang in LANGUAGES {
            let data = sample_data(lang);
            for event in crate::domain::Event::ALL {
                if let Err(e) = self.render(event.as_str(), lang, &data) {
                    errors.push(e);
                }
                if let Err(e) = self.render_sms(event.as_str(), lang, &data) {
                    errors.push(e);
                }
            }
            let sent_at = long_time(chrono::DateTime::UNIX_EPOCH, lang);
            let test = test_mail_data(&data, "someone@example.com", "SMTP", &sent_at);
            if let Err(e) = self.render_test(lang, &test) {
                errors.push(e);
            }
        }
        errors
    }
}

/// The templates of the test message (`test_email.{subject,text,html}.hbs`): no event's,
/// it is about no ticket.
pub const TEST_MAIL: &str = "test_email";

/// What the test message is rendered with: `base`'s `company` and `brand` (as a
/// notification's data holds them), the `address` it is sent to, the `transport` it
/// leaves by, and when (`sent_at`, in words).
pub fn test_mail_data(base: &Value, address: &str, transport: &str, sent_at: &str) -> Value {
    serde_json::json!({
        "company": base["company"],
        "brand": base["brand"],
        "address": address,
        "transport": transport,
        "sent_at": sent_at,
        "tag": "",
    })
}

/// Replaces `file`'s source by the operator's `dir/LANG/NAME.hbs` (an SMS text's:
/// `dir/sms/LANG/EVENT.txt.hbs`) when that file exists.
fn apply_override(file: &mut TemplateFile, dir: &Path) -> Result<(), TemplateError> {
    let path = match file.name.strip_prefix("sms/") {
        Some(event) => dir
            .join("sms")
            .join(&file.lang)
            .join(format!("{event}.txt.hbs")),
        None => dir.join(&file.lang).join(format!("{}.hbs", file.name)),
    };
    if path.exists() {
        file.source = std::fs::read_to_string(&path).map_err(|source| TemplateError::Override {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// The text part with at most one blank line in a row: a part left out (an event without
/// a text, say) leaves no hole in the mail.
fn squeeze_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut newlines = 0;
    for c in text.chars() {
        if c == '\n' {
            newlines += 1;
            if newlines > 2 {
                continue;
            }
        } else {
            newlines = 0;
        }
        out.push(c);
    }
    out
}
