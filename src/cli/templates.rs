//! `ticketgate templates …`: the notification templates, checked or previewed.

use std::process::ExitCode;

use clap::Subcommand;
use ticketgate::service::TemplateService;

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Render every template in every language with sample data; fail on any error.
    Check,
    /// Print one notification rendered with sample data.
    Preview {
        /// The event: ticket_opened, customer_comment, agent_comment, status_changed,
        /// ticket_assigned, solution_proposed, ticket_reopened, ticket_closed,
        /// ticket_auto_closed, attachment_refused, mail_refused.
        event: String,
        /// en or fr.
        #[arg(long, default_value = "en")]
        lang: String,
    },
}

/// Runs a `templates` command; it needs no database.
pub fn run(templates: &TemplateService, command: TemplatesCommand) -> anyhow::Result<ExitCode> {
    match command {
        TemplatesCommand::Check => match templates.check() {
            Ok(checked) => println!(
                "{} templates render in {}",
                checked.templates,
                checked.languages.join(" and ")
            ),
            Err(errors) => {
                for e in &errors {
                    eprintln!("ticketgate: {e}");
                }
                return Ok(ExitCode::from(1));
            }
        },
        TemplatesCommand::Preview { event, lang } => {
            let mail = templates.preview(&event, &lang)?;
            println!(
                "Subject: {}\n\n{}\n----- text/html -----\n{}",
                mail.subject, mail.text, mail.html
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
