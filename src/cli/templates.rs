//! `ticketgate templates …`: the notification templates and portal pages checked, or a
//! notification previewed.

use std::process::ExitCode;

use clap::Subcommand;
use ticketgate::service::TemplateService;

use super::out::outln;

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Render every notification template and portal page in every language with sample
    /// data; fail on any error.
    Check,
    /// Print one notification rendered with sample data.
    Preview {
        /// The event (a notification's name).
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(TemplateService::events()))]
        event: String,
        /// The language.
        #[arg(long, default_value = "en",
              value_parser = clap::builder::PossibleValuesParser::new(TemplateService::LANGUAGES))]
        lang: String,
    },
}

/// Runs a `templates` command; it needs no database.
pub fn run(templates: &TemplateService, command: TemplatesCommand) -> anyhow::Result<ExitCode> {
    match command {
        TemplatesCommand::Check => match templates.check() {
            Ok(checked) => outln!(
                "{} mail templates, {} SMS texts and {} portal pages render in {}",
                checked.templates,
                checked.sms,
                checked.pages,
                checked.languages.join(" and ")
            )?,
            Err(errors) => {
                for e in &errors {
                    eprintln!("ticketgate: {e}");
                }
                return Ok(ExitCode::from(1));
            }
        },
        TemplatesCommand::Preview { event, lang } => {
            let mail = templates.preview(&event, &lang)?;
            outln!(
                "Subject: {}\n\n{}\n----- text/html -----\n{}",
                mail.subject,
                mail.text,
                mail.html
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
