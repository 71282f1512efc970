//! `ticketgate ingest` and `explain`: mail handed over by hand or by an MTA.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use ticketgate::clock::SystemClock;
use ticketgate::config::Settings;
use ticketgate::intake::Report;
use ticketgate::intake::paths::{Input, expand};
use ticketgate::service::{MailError, Services};

use super::out::outln;
use super::{EXIT_QUARANTINED, EXIT_TEMPFAIL, EXIT_USAGE};

/// `ticketgate ingest [--json] [PATH…]`: one report per message. Exit status 0 when every
/// message was handled, 1 when one was quarantined or unreadable, 75 when the mail must be
/// delivered again (standard input could not be stored), 2 for a bad path.
pub async fn ingest(settings: Settings, paths: &[PathBuf], json: bool) -> ExitCode {
    let inputs = match expand(paths) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("ticketgate: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // Mail that cannot be stored at all must stay with the MTA that piped it.
    let cannot_start = if inputs.contains(&Input::Stdin) {
        EXIT_TEMPFAIL
    } else {
        1
    };
    let services = match Services::open(settings, Arc::new(SystemClock)).await {
        Ok(services) => services,
        Err(e) => {
            eprintln!("ticketgate: {e}");
            return ExitCode::from(cannot_start);
        }
    };
    // A reader that went away (`| head`) stops the printing, not the ingesting: the mail
    // is the MTA's or the operator's, and the exit status still says how it went.
    let mut printing = true;
    let bar = super::progress::counter(inputs.len() as u64, "mails");
    let ingested = services
        .mail()
        .ingest(inputs, |each| {
            bar.suspend(|| match each {
                Ok(report) => printing = printing && print_report(report, json).is_ok(),
                Err(unreadable) => eprintln!("ticketgate: {unreadable}"),
            });
            bar.inc(1);
        })
        .await;
    bar.finish_and_clear();
    services.close().await;
    match ingested {
        Ok(done) if done.all_handled => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(EXIT_QUARANTINED),
        Err(e @ MailError::Links(_)) => {
            eprintln!("ticketgate: {e}");
            ExitCode::from(cannot_start)
        }
        Err(e) => {
            eprintln!("ticketgate: {e}");
            ExitCode::from(EXIT_TEMPFAIL)
        }
    }
}

fn print_report(report: &Report, json: bool) -> std::io::Result<()> {
    if json {
        outln!(
            "{}",
            serde_json::to_string(report).expect("reports always serialize")
        )
    } else {
        outln!("{}", report.line())
    }
}

/// `ticketgate explain FILE`: every decision the pipeline would take, writing nothing.
pub async fn explain(services: &Services, file: &Path) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let trace = services.mail().explain(&bytes).await?;
    for step in &trace.steps {
        outln!("{step}")?;
    }
    Ok(ExitCode::SUCCESS)
}
