//! `ticketgate ingest` and `explain`: mail handed over by hand or by an MTA.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use ticketgate::clock::SystemClock;
use ticketgate::config::Settings;
use ticketgate::intake::Report;
use ticketgate::intake::paths::{Input, PathError, expand};
use ticketgate::pipeline::too_large;
use ticketgate::service::{MailError, Services};

use super::out::outln;
use super::{EXIT_QUARANTINED, EXIT_TEMPFAIL, EXIT_USAGE};

/// What `ingest`'s exit status says of a message it had to quarantine, which decides what
/// an MTA piping the mail does with it.
///
/// Quarantined mail is mostly mail nobody can be answered on (no usable sender, unparseable)
/// or mail forging one of our own addresses; its envelope sender is as likely forged as not.
/// A bounce of it is backscatter, to someone who never wrote. So mail from standard input
/// is accepted by default; whoever prefers telling a genuine sender at once chooses
/// `bounce`. Files and folders given by hand keep exit status 1, which tells a script that
/// something was set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnQuarantine {
    /// Exit 0: the MTA counts the mail delivered, nobody is told; the quarantined copy
    /// waits, with its reason, for `ticketgate quarantine list` and `retry`.
    Accept,
    /// Exit 1: the MTA returns the mail to its envelope sender with the command's output,
    /// which for standard input is one short reason, nothing of what the pipeline found.
    Bounce,
}

impl OnQuarantine {
    /// The policy in effect: the one asked for, else `accept` when a message comes from
    /// standard input (mail an MTA pipes) and `bounce` for files and folders.
    pub fn in_effect(asked: Option<OnQuarantine>, paths: &[PathBuf]) -> OnQuarantine {
        asked.unwrap_or(if reads_stdin(paths) {
            OnQuarantine::Accept
        } else {
            OnQuarantine::Bounce
        })
    }
}

/// Whether `paths` include standard input (`-`, or no path at all).
pub(super) fn reads_stdin(paths: &[PathBuf]) -> bool {
    paths.is_empty() || paths.iter().any(|p| p.as_os_str() == "-")
}

/// `ticketgate ingest [--json] [--on-quarantine accept|bounce] [PATH…]`: one report per
/// message. Exit status 0 when every message was handled (or quarantined, with `accept`),
/// 1 when one was quarantined (with `bounce`) or a file was unreadable, 75 when the mail
/// must be delivered again (standard input could not be stored, or the configuration
/// could not be read: see `run`), 2 for a bad path.
pub async fn ingest(
    settings: Settings,
    paths: &[PathBuf],
    json: bool,
    on_quarantine: Option<OnQuarantine>,
) -> ExitCode {
    let policy = OnQuarantine::in_effect(on_quarantine, paths);
    // An MTA puts every line a bounced command wrote in the bounce: with `bounce` on
    // standard input the log, which names the whole quarantine reason, is kept out of it;
    // the quarantine keeps the reason, and failures are still said below. A command runs
    // on one thread, so this thread's silence is the whole command's.
    let _silence = (policy == OnQuarantine::Bounce && reads_stdin(paths))
        .then(|| tracing::dispatcher::set_default(&tracing::Dispatch::none()));
    let inputs = match expand(paths) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("ticketgate: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // Mail that cannot be stored at all must stay with the MTA that piped it.
    let from_stdin = inputs.contains(&Input::Stdin);
    let cannot_start = if from_stdin { EXIT_TEMPFAIL } else { 1 };
    let mut reports = Reports {
        json,
        bounce_stdin: from_stdin && policy == OnQuarantine::Bounce,
        size_refusal: too_large(settings.max_message_bytes),
        size_limit: settings.max_message_bytes,
        printing: true,
        quarantined: false,
        unreadable: false,
    };
    let services = match Services::open(settings, Arc::new(SystemClock)).await {
        Ok(services) => services,
        Err(e) => {
            eprintln!("ticketgate: {e}");
            return ExitCode::from(cannot_start);
        }
    };
    // An MTA pipes one mail per run: walking the raw mail's directories for each would
    // cost more than the mail. The daemon's start and `ingest` of files sweep for it.
    if !from_stdin {
        ticketgate::atomic_file::sweep_temporaries(&services.settings().data_dir);
    }
    let bar = super::progress::counter(inputs.len() as u64, "mails");
    let ingested = services
        .mail()
        .ingest(inputs, |each| {
            bar.suspend(|| reports.say(each));
            bar.inc(1);
        })
        .await;
    bar.finish_and_clear();
    services.close().await;
    match ingested {
        Ok(_) if reports.unreadable || (reports.quarantined && policy == OnQuarantine::Bounce) => {
            ExitCode::from(EXIT_QUARANTINED)
        }
        Ok(_) => ExitCode::SUCCESS,
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

/// The name reports give standard input.
const STDIN: &str = "stdin";

/// What `ingest` says of each message, and what it saw for its exit status.
struct Reports {
    json: bool,
    /// Quarantined mail from standard input bounces: the MTA returns what is said of it
    /// to its sender, so only [`told_to_sender`] is said.
    bounce_stdin: bool,
    /// The quarantine reason of a message over the size limit, and that limit.
    size_refusal: String,
    size_limit: u64,
    /// A reader that went away (`| head`) stops the printing, not the ingesting: the mail
    /// is the MTA's or the operator's, and the exit status still says how it went.
    printing: bool,
    quarantined: bool,
    unreadable: bool,
}

impl Reports {
    fn say(&mut self, each: Result<&Report, &PathError>) {
        let report = match each {
            Ok(report) => report,
            Err(e) => {
                self.unreadable = true;
                eprintln!("ticketgate: {e}");
                return;
            }
        };
        if report.handled() {
            return self.print(report);
        }
        self.quarantined = true;
        if !(self.bounce_stdin && report.source == STDIN) {
            return self.print(report);
        }
        let told = told_to_sender(report, &self.size_refusal, self.size_limit);
        eprintln!("ticketgate: message not accepted: {told}");
        if self.json {
            self.print(&Report {
                reason: Some(told),
                ..report.clone()
            });
        }
    }

    fn print(&mut self, report: &Report) {
        self.printing = self.printing && print_report(report, self.json).is_ok();
    }
}

/// What the sender of a bounced message is told: whether it was too large (as an MTA
/// would say at once), else only that it was set aside. What the pipeline found (a forged
/// own address and how authentication failed, parse errors, storage errors), the
/// quarantine id and paths stay with the operator: they would guide a forger.
fn told_to_sender(report: &Report, size_refusal: &str, size_limit: u64) -> String {
    let too_large = report
        .reason
        .as_deref()
        .is_some_and(|r| r.starts_with(size_refusal));
    if too_large {
        format!("it is larger than the {size_limit} bytes this address accepts")
    } else {
        "it could not be taken as a support request; it was set aside for the support team"
            .to_string()
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

#[cfg(test)]
mod tests {
    use super::*;
    use ticketgate::intake::OutcomeKind;

    fn paths(p: &[&str]) -> Vec<PathBuf> {
        p.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn mail_from_standard_input_is_accepted_and_files_bounce_unless_asked_otherwise() {
        use OnQuarantine::{Accept, Bounce};
        assert_eq!(OnQuarantine::in_effect(None, &[]), Accept);
        assert_eq!(OnQuarantine::in_effect(None, &paths(&["-"])), Accept);
        assert_eq!(OnQuarantine::in_effect(None, &paths(&["a.eml"])), Bounce);
        assert_eq!(OnQuarantine::in_effect(Some(Bounce), &[]), Bounce);
        assert_eq!(
            OnQuarantine::in_effect(Some(Accept), &paths(&["a.eml"])),
            Accept
        );
    }

    fn quarantined(reason: &str) -> Report {
        Report {
            source: STDIN.into(),
            outcome: OutcomeKind::Quarantined,
            ticket: None,
            reason: Some(reason.into()),
        }
    }

    #[test]
    fn a_sender_hears_of_the_size_limit_and_of_nothing_else() {
        let limit = 65536;
        let refusal = too_large(limit);
        let big = quarantined(&format!(
            "{refusal} [quarantine id 20261206T101010-0badc0de]"
        ));
        assert_eq!(
            told_to_sender(&big, &refusal, limit),
            "it is larger than the 65536 bytes this address accepts"
        );
        let forged = quarantined(
            "From names our own address support@example.com, but the mail is not \
             authenticated as ours (no Authentication-Results) [quarantine id 20261206T101010-0badc0de]",
        );
        let told = told_to_sender(&forged, &refusal, limit);
        for secret in [
            "support@example.com",
            "Authentication",
            "quarantine id",
            "0badc0de",
        ] {
            assert!(!told.contains(secret), "{told}");
        }
    }
}
