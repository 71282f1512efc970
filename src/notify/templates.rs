//! Notification templates: `templates/email/LANG/EVENT.{subject,text,html}.hbs` with
//! shared partials (header, footer, ticket summary), English and French, embedded in the
//! binary. An operator overrides any of them with a file of the same relative path in the
//! configured template directory. Rendering is strict: a missing value is an error, never
//! an empty gap in a customer's mail. Text parts are not escaped; HTML parts escape every
//! value, so nothing a customer wrote can inject markup.

use std::collections::HashMap;
use std::path::Path;

use handlebars::Handlebars;
use serde_json::{Value, json};

/// The languages shipped.
pub const LANGUAGES: &[&str] = &["en", "fr"];

/// The embedded templates: (language, name without `.hbs`, source).
const EMBEDDED: &[(&str, &str, &str)] = &[
    (
        "en",
        "ticket_opened.subject",
        include_str!("../../templates/email/en/ticket_opened.subject.hbs"),
    ),
    (
        "en",
        "ticket_opened.text",
        include_str!("../../templates/email/en/ticket_opened.text.hbs"),
    ),
    (
        "en",
        "ticket_opened.html",
        include_str!("../../templates/email/en/ticket_opened.html.hbs"),
    ),
    (
        "en",
        "customer_comment.subject",
        include_str!("../../templates/email/en/customer_comment.subject.hbs"),
    ),
    (
        "en",
        "customer_comment.text",
        include_str!("../../templates/email/en/customer_comment.text.hbs"),
    ),
    (
        "en",
        "customer_comment.html",
        include_str!("../../templates/email/en/customer_comment.html.hbs"),
    ),
    (
        "en",
        "agent_comment.subject",
        include_str!("../../templates/email/en/agent_comment.subject.hbs"),
    ),
    (
        "en",
        "agent_comment.text",
        include_str!("../../templates/email/en/agent_comment.text.hbs"),
    ),
    (
        "en",
        "agent_comment.html",
        include_str!("../../templates/email/en/agent_comment.html.hbs"),
    ),
    (
        "en",
        "status_changed.subject",
        include_str!("../../templates/email/en/status_changed.subject.hbs"),
    ),
    (
        "en",
        "status_changed.text",
        include_str!("../../templates/email/en/status_changed.text.hbs"),
    ),
    (
        "en",
        "status_changed.html",
        include_str!("../../templates/email/en/status_changed.html.hbs"),
    ),
    (
        "en",
        "ticket_assigned.subject",
        include_str!("../../templates/email/en/ticket_assigned.subject.hbs"),
    ),
    (
        "en",
        "ticket_assigned.text",
        include_str!("../../templates/email/en/ticket_assigned.text.hbs"),
    ),
    (
        "en",
        "ticket_assigned.html",
        include_str!("../../templates/email/en/ticket_assigned.html.hbs"),
    ),
    (
        "en",
        "solution_proposed.subject",
        include_str!("../../templates/email/en/solution_proposed.subject.hbs"),
    ),
    (
        "en",
        "solution_proposed.text",
        include_str!("../../templates/email/en/solution_proposed.text.hbs"),
    ),
    (
        "en",
        "solution_proposed.html",
        include_str!("../../templates/email/en/solution_proposed.html.hbs"),
    ),
    (
        "en",
        "ticket_reopened.subject",
        include_str!("../../templates/email/en/ticket_reopened.subject.hbs"),
    ),
    (
        "en",
        "ticket_reopened.text",
        include_str!("../../templates/email/en/ticket_reopened.text.hbs"),
    ),
    (
        "en",
        "ticket_reopened.html",
        include_str!("../../templates/email/en/ticket_reopened.html.hbs"),
    ),
    (
        "en",
        "ticket_closed.subject",
        include_str!("../../templates/email/en/ticket_closed.subject.hbs"),
    ),
    (
        "en",
        "ticket_closed.text",
        include_str!("../../templates/email/en/ticket_closed.text.hbs"),
    ),
    (
        "en",
        "ticket_closed.html",
        include_str!("../../templates/email/en/ticket_closed.html.hbs"),
    ),
    (
        "en",
        "ticket_auto_closed.subject",
        include_str!("../../templates/email/en/ticket_auto_closed.subject.hbs"),
    ),
    (
        "en",
        "ticket_auto_closed.text",
        include_str!("../../templates/email/en/ticket_auto_closed.text.hbs"),
    ),
    (
        "en",
        "ticket_auto_closed.html",
        include_str!("../../templates/email/en/ticket_auto_closed.html.hbs"),
    ),
    (
        "en",
        "attachment_refused.subject",
        include_str!("../../templates/email/en/attachment_refused.subject.hbs"),
    ),
    (
        "en",
        "attachment_refused.text",
        include_str!("../../templates/email/en/attachment_refused.text.hbs"),
    ),
    (
        "en",
        "attachment_refused.html",
        include_str!("../../templates/email/en/attachment_refused.html.hbs"),
    ),
    (
        "en",
        "mail_refused.subject",
        include_str!("../../templates/email/en/mail_refused.subject.hbs"),
    ),
    (
        "en",
        "mail_refused.text",
        include_str!("../../templates/email/en/mail_refused.text.hbs"),
    ),
    (
        "en",
        "mail_refused.html",
        include_str!("../../templates/email/en/mail_refused.html.hbs"),
    ),
    (
        "en",
        "resolution_reminder.subject",
        include_str!("../../templates/email/en/resolution_reminder.subject.hbs"),
    ),
    (
        "en",
        "resolution_reminder.text",
        include_str!("../../templates/email/en/resolution_reminder.text.hbs"),
    ),
    (
        "en",
        "resolution_reminder.html",
        include_str!("../../templates/email/en/resolution_reminder.html.hbs"),
    ),
    (
        "en",
        "waiting_reminder.subject",
        include_str!("../../templates/email/en/waiting_reminder.subject.hbs"),
    ),
    (
        "en",
        "waiting_reminder.text",
        include_str!("../../templates/email/en/waiting_reminder.text.hbs"),
    ),
    (
        "en",
        "waiting_reminder.html",
        include_str!("../../templates/email/en/waiting_reminder.html.hbs"),
    ),
    (
        "en",
        "partials/footer.text",
        include_str!("../../templates/email/en/partials/footer.text.hbs"),
    ),
    (
        "en",
        "partials/footer.html",
        include_str!("../../templates/email/en/partials/footer.html.hbs"),
    ),
    (
        "en",
        "partials/summary.text",
        include_str!("../../templates/email/en/partials/summary.text.hbs"),
    ),
    (
        "en",
        "partials/summary.html",
        include_str!("../../templates/email/en/partials/summary.html.hbs"),
    ),
    (
        "en",
        "partials/header.html",
        include_str!("../../templates/email/en/partials/header.html.hbs"),
    ),
    (
        "fr",
        "ticket_opened.subject",
        include_str!("../../templates/email/fr/ticket_opened.subject.hbs"),
    ),
    (
        "fr",
        "ticket_opened.text",
        include_str!("../../templates/email/fr/ticket_opened.text.hbs"),
    ),
    (
        "fr",
        "ticket_opened.html",
        include_str!("../../templates/email/fr/ticket_opened.html.hbs"),
    ),
    (
        "fr",
        "customer_comment.subject",
        include_str!("../../templates/email/fr/customer_comment.subject.hbs"),
    ),
    (
        "fr",
        "customer_comment.text",
        include_str!("../../templates/email/fr/customer_comment.text.hbs"),
    ),
    (
        "fr",
        "customer_comment.html",
        include_str!("../../templates/email/fr/customer_comment.html.hbs"),
    ),
    (
        "fr",
        "agent_comment.subject",
        include_str!("../../templates/email/fr/agent_comment.subject.hbs"),
    ),
    (
        "fr",
        "agent_comment.text",
        include_str!("../../templates/email/fr/agent_comment.text.hbs"),
    ),
    (
        "fr",
        "agent_comment.html",
        include_str!("../../templates/email/fr/agent_comment.html.hbs"),
    ),
    (
        "fr",
        "status_changed.subject",
        include_str!("../../templates/email/fr/status_changed.subject.hbs"),
    ),
    (
        "fr",
        "status_changed.text",
        include_str!("../../templates/email/fr/status_changed.text.hbs"),
    ),
    (
        "fr",
        "status_changed.html",
        include_str!("../../templates/email/fr/status_changed.html.hbs"),
    ),
    (
        "fr",
        "ticket_assigned.subject",
        include_str!("../../templates/email/fr/ticket_assigned.subject.hbs"),
    ),
    (
        "fr",
        "ticket_assigned.text",
        include_str!("../../templates/email/fr/ticket_assigned.text.hbs"),
    ),
    (
        "fr",
        "ticket_assigned.html",
        include_str!("../../templates/email/fr/ticket_assigned.html.hbs"),
    ),
    (
        "fr",
        "solution_proposed.subject",
        include_str!("../../templates/email/fr/solution_proposed.subject.hbs"),
    ),
    (
        "fr",
        "solution_proposed.text",
        include_str!("../../templates/email/fr/solution_proposed.text.hbs"),
    ),
    (
        "fr",
        "solution_proposed.html",
        include_str!("../../templates/email/fr/solution_proposed.html.hbs"),
    ),
    (
        "fr",
        "ticket_reopened.subject",
        include_str!("../../templates/email/fr/ticket_reopened.subject.hbs"),
    ),
    (
        "fr",
        "ticket_reopened.text",
        include_str!("../../templates/email/fr/ticket_reopened.text.hbs"),
    ),
    (
        "fr",
        "ticket_reopened.html",
        include_str!("../../templates/email/fr/ticket_reopened.html.hbs"),
    ),
    (
        "fr",
        "ticket_closed.subject",
        include_str!("../../templates/email/fr/ticket_closed.subject.hbs"),
    ),
    (
        "fr",
        "ticket_closed.text",
        include_str!("../../templates/email/fr/ticket_closed.text.hbs"),
    ),
    (
        "fr",
        "ticket_closed.html",
        include_str!("../../templates/email/fr/ticket_closed.html.hbs"),
    ),
    (
        "fr",
        "ticket_auto_closed.subject",
        include_str!("../../templates/email/fr/ticket_auto_closed.subject.hbs"),
    ),
    (
        "fr",
        "ticket_auto_closed.text",
        include_str!("../../templates/email/fr/ticket_auto_closed.text.hbs"),
    ),
    (
        "fr",
        "ticket_auto_closed.html",
        include_str!("../../templates/email/fr/ticket_auto_closed.html.hbs"),
    ),
    (
        "fr",
        "attachment_refused.subject",
        include_str!("../../templates/email/fr/attachment_refused.subject.hbs"),
    ),
    (
        "fr",
        "attachment_refused.text",
        include_str!("../../templates/email/fr/attachment_refused.text.hbs"),
    ),
    (
        "fr",
        "attachment_refused.html",
        include_str!("../../templates/email/fr/attachment_refused.html.hbs"),
    ),
    (
        "fr",
        "mail_refused.subject",
        include_str!("../../templates/email/fr/mail_refused.subject.hbs"),
    ),
    (
        "fr",
        "mail_refused.text",
        include_str!("../../templates/email/fr/mail_refused.text.hbs"),
    ),
    (
        "fr",
        "mail_refused.html",
        include_str!("../../templates/email/fr/mail_refused.html.hbs"),
    ),
    (
        "fr",
        "resolution_reminder.subject",
        include_str!("../../templates/email/fr/resolution_reminder.subject.hbs"),
    ),
    (
        "fr",
        "resolution_reminder.text",
        include_str!("../../templates/email/fr/resolution_reminder.text.hbs"),
    ),
    (
        "fr",
        "resolution_reminder.html",
        include_str!("../../templates/email/fr/resolution_reminder.html.hbs"),
    ),
    (
        "fr",
        "waiting_reminder.subject",
        include_str!("../../templates/email/fr/waiting_reminder.subject.hbs"),
    ),
    (
        "fr",
        "waiting_reminder.text",
        include_str!("../../templates/email/fr/waiting_reminder.text.hbs"),
    ),
    (
        "fr",
        "waiting_reminder.html",
        include_str!("../../templates/email/fr/waiting_reminder.html.hbs"),
    ),
    (
        "fr",
        "partials/footer.text",
        include_str!("../../templates/email/fr/partials/footer.text.hbs"),
    ),
    (
        "fr",
        "partials/footer.html",
        include_str!("../../templates/email/fr/partials/footer.html.hbs"),
    ),
    (
        "fr",
        "partials/summary.text",
        include_str!("../../templates/email/fr/partials/summary.text.hbs"),
    ),
    (
        "fr",
        "partials/summary.html",
        include_str!("../../templates/email/fr/partials/summary.html.hbs"),
    ),
    (
        "fr",
        "partials/header.html",
        include_str!("../../templates/email/fr/partials/header.html.hbs"),
    ),
];

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
        let mut languages = HashMap::new();
        for &lang in LANGUAGES {
            let mut text = Handlebars::new();
            text.set_strict_mode(true);
            text.register_escape_fn(handlebars::no_escape);
            let mut html = Handlebars::new();
            html.set_strict_mode(true);
            for &(l, name, embedded) in EMBEDDED.iter().filter(|(l, ..)| *l == lang) {
                let source = match override_dir.map(|d| d.join(l).join(format!("{name}.hbs"))) {
                    Some(path) if path.exists() => {
                        std::fs::read_to_string(&path).map_err(|source| {
                            TemplateError::Override {
                                path: path.display().to_string(),
                                source,
                            }
                        })?
                    }
                    _ => embedded.to_string(),
                };
                let compile = |e: handlebars::TemplateError| TemplateError::Compile {
                    lang: lang.to_string(),
                    name: name.to_string(),
                    message: e.to_string(),
                };
                let registry = if name.ends_with(".html") {
                    &mut html
                } else {
                    &mut text
                };
                match name.strip_prefix("partials/") {
                    Some(partial) => registry
                        .register_partial(partial, source)
                        .map_err(compile)?,
                    None => registry
                        .register_template_string(name, source)
                        .map_err(compile)?,
                }
            }
            languages.insert(lang, Language { text, html });
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
        let language = self.languages.get(lang).ok_or_else(unknown)?;
        let render = |registry: &Handlebars<'static>, part: &str| {
            let name = format!("{event}.{part}");
            registry
                .render(&name, data)
                .map_err(|e| TemplateError::Render {
                    lang: lang.to_string(),
                    name,
                    message: e.to_string(),
                })
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
            text: render(&language.text, "text")?,
            html: render(&language.html, "html")?,
        })
    }

    /// Renders every event in every language with sample data; the errors, if any.
    pub fn check(&self) -> Vec<TemplateError> {
        let mut errors = Vec::new();
        for &lang in LANGUAGES {
            for event in crate::domain::Event::ALL {
                if let Err(e) = self.render(event.as_str(), lang, &sample_data(lang)) {
                    errors.push(e);
                }
            }
        }
        errors
    }
}

/// A status as customers read it.
pub fn status_label(status: crate::domain::Status, lang: &str) -> &'static str {
    use crate::domain::Status::*;
    match (status, lang) {
        (New, "fr") => "nouveau",
        (InProgress, "fr") => "en cours",
        (WaitingCustomer, "fr") => "en attente de votre réponse",
        (Resolved, "fr") => "résolu",
        (Closed, "fr") => "clôturé",
        (New, _) => "new",
        (InProgress, _) => "in progress",
        (WaitingCustomer, _) => "waiting for your answer",
        (Resolved, _) => "resolved",
        (Closed, _) => "closed",
    }
}

/// Data with every value a template may use, for `templates check` and `preview`.
pub fn sample_data(lang: &str) -> Value {
    use crate::domain::Status;
    json!({
        "tag": "[#2611N00042]",
        "company": "Example",
        "link": "https://support.example.com/tickets/2611N00042?token=sample",
        "recipient": { "name": "Amélie Martin", "email": "amelie@client.example" },
        "actor": { "name": "Camille Durand", "email": "camille@support.example" },
        "ticket": {
            "number": "2611N00042",
            "title": "VPN <down> since this morning & more",
            "status_label": status_label(Status::Resolved, lang),
            "priority": "P2",
        },
        "previous_status_label": status_label(Status::InProgress, lang),
        "article": { "text": "Please restart the VPN client.\n<script>alert(1)</script>" },
        "auto_close_days": 7,
        "auto_close_on": "2026-12-01",
        "max_attachment_size": "2.0 MB",
        "refused": [{ "filename": "capture.mov", "reason": "3.1 MB is over the 2.0 MB limit per file" }],
        "refusal": { "ticket": "2610N00007", "closed": true, "not_allowed": false },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_in_every_language() {
        let templates = Templates::load(None).unwrap();
        let errors = templates.check();
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(
            EMBEDDED.len(),
            LANGUAGES.len() * (crate::domain::Event::ALL.len() * 3 + 5)
        );
    }

    #[test]
    fn html_escapes_what_customers_wrote_and_text_keeps_it() {
        let templates = Templates::load(None).unwrap();
        let mail = templates
            .render("agent_comment", "en", &sample_data("en"))
            .unwrap();
        assert_eq!(
            mail.subject,
            "[#2611N00042] Our team answered: VPN <down> since this morning & more"
        );
        assert!(mail.text.contains("<script>alert(1)</script>"));
        assert!(!mail.html.contains("<script>"));
        assert!(mail.html.contains("&lt;script&gt;"));
        let fr = templates
            .render("solution_proposed", "fr", &sample_data("fr"))
            .unwrap();
        assert!(
            fr.text.contains("Bonjour Amélie Martin") && fr.text.contains("dans 7 jours"),
            "{}",
            fr.text
        );
    }

    #[test]
    fn a_missing_value_is_an_error_not_a_gap() {
        let templates = Templates::load(None).unwrap();
        let mut data = sample_data("en");
        data["ticket"].as_object_mut().unwrap().remove("title");
        let err = templates
            .render("ticket_opened", "en", &data)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ticket_opened.subject"), "{err}");
        assert!(matches!(
            templates.render("nope", "en", &data),
            Err(TemplateError::Unknown { .. })
        ));
        assert!(matches!(
            templates.render("ticket_opened", "de", &data),
            Err(TemplateError::Unknown { .. })
        ));
    }

    #[test]
    fn an_operator_file_overrides_one_template() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("fr")).unwrap();
        std::fs::write(
            dir.path().join("fr/ticket_closed.subject.hbs"),
            "Fermé : {{ticket.title}}",
        )
        .unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        let fr = templates
            .render("ticket_closed", "fr", &sample_data("fr"))
            .unwrap();
        assert_eq!(
            fr.subject,
            "[#2611N00042] Fermé : VPN <down> since this morning & more"
        );
        let en = templates
            .render("ticket_closed", "en", &sample_data("en"))
            .unwrap();
        assert_eq!(en.subject, "[#2611N00042] Ticket 2611N00042 is closed");
        std::fs::write(dir.path().join("fr/ticket_closed.subject.hbs"), "{{#if}}").unwrap();
        assert!(matches!(
            Templates::load(Some(dir.path())),
            Err(TemplateError::Compile { .. })
        ));
    }
}
