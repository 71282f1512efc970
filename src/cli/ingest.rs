//! `ticketgate ingest` and `explain`: mail handed over by hand or by an MTA.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ticketgate::app::open_store;
use ticketgate::clock::SystemClock;
use ticketgate::config::Settings;
use ticketgate::intake::paths::{Input, expand};
use ticketgate::intake::{
    BATCH_BYTES, BATCH_MAILS, Ingestor, RawMessage, Received, Report, RetryPolicy,
};
use ticketgate::pipeline::Pipeline;
use ticketgate::service::Services;

use super::{EXIT_QUARANTINED, EXIT_TEMPFAIL, EXIT_USAGE};

async fn pipeline(settings: Settings) -> anyhow::Result<Pipeline> {
    let store = open_store(&settings).await?;
    Ok(Pipeline::new(
        store,
        Arc::new(settings),
        Arc::new(SystemClock),
    )?)
}

pub async fn ingest(settings: Settings, paths: &[PathBuf], json: bool) -> ExitCode {
    let inputs = match expand(paths) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("ticketgate: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let from_stdin = inputs.contains(&Input::Stdin);
    let ingestor = match pipeline(settings).await {
        Ok(p) => Ingestor::new(p),
        Err(e) => {
            eprintln!("ticketgate: {e:#}");
            // The mail cannot be stored at all: the MTA must keep it.
            return ExitCode::from(if from_stdin { EXIT_TEMPFAIL } else { 1 });
        }
    };
    let policy = RetryPolicy {
        attempts: 3,
        first_pause: Duration::from_millis(200),
    };
    let mut any_quarantined = false;
    let mut batch: Vec<(RawMessage, u32)> = Vec::new();
    let mut batch_bytes = 0;
    for input in inputs {
        let received = input
            .open()
            .and_then(|reader| ingestor.read_message(&input.name(), reader));
        let message = match received {
            Ok(Received::Message(m)) => m,
            Ok(Received::TooLarge(report)) => {
                any_quarantined = true;
                print_report(&report, json);
                continue;
            }
            Err(e) => {
                eprintln!("ticketgate: cannot read {}: {e}", input.name());
                if input == Input::Stdin {
                    return ExitCode::from(EXIT_TEMPFAIL);
                }
                any_quarantined = true;
                continue;
            }
        };
        batch_bytes += message.bytes.len();
        batch.push((message, 0));
        if batch.len() >= BATCH_MAILS || batch_bytes >= BATCH_BYTES {
            let flushed = ingest_batch(&ingestor, &batch, policy, from_stdin, json).await;
            batch.clear();
            batch_bytes = 0;
            match flushed {
                Some(quarantined) => any_quarantined |= quarantined,
                None => return ExitCode::from(EXIT_TEMPFAIL),
            }
        }
    }
    match ingest_batch(&ingestor, &batch, policy, from_stdin, json).await {
        Some(quarantined) => any_quarantined |= quarantined,
        None => return ExitCode::from(EXIT_TEMPFAIL),
    }
    ingestor.pipeline().store().close().await;
    if any_quarantined {
        ExitCode::from(EXIT_QUARANTINED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs `batch` as one commit and prints a report per message once it is committed. A
/// message the batch could not store, or did not try, is tried again on its own with
/// pauses, and quarantined if it keeps failing. Whether any was quarantined; `None` when
/// a message could be neither stored nor quarantined (or came from standard input, where
/// the MTA keeps it): the caller stops with EX_TEMPFAIL.
async fn ingest_batch(
    ingestor: &Ingestor,
    batch: &[(RawMessage, u32)],
    policy: RetryPolicy,
    from_stdin: bool,
    json: bool,
) -> Option<bool> {
    if batch.is_empty() {
        return Some(false);
    }
    let mut any_quarantined = false;
    let mut results = ingestor.try_batch(batch).await.into_iter();
    for (message, _) in batch {
        let report = match results.next() {
            Some(Ok(report)) => report,
            _ => match ingestor.try_with_retries(message, policy).await {
                Ok(report) => report,
                Err(deferred) if from_stdin => {
                    eprintln!("ticketgate: {deferred}");
                    return None;
                }
                Err(deferred) => give_up(ingestor, message, &deferred.reason, policy.attempts)?,
            },
        };
        any_quarantined |= !report.handled();
        print_report(&report, json);
    }
    Some(any_quarantined)
}

/// Quarantines a file that kept failing for a temporary reason; `None` when even that fails.
fn give_up(
    ingestor: &Ingestor,
    message: &RawMessage,
    reason: &str,
    attempts: u32,
) -> Option<Report> {
    match ingestor.give_up(message, attempts, reason) {
        Ok(report) => Some(report),
        Err(e) => {
            eprintln!(
                "ticketgate: {}: gave up after {attempts} attempts: {reason}; and cannot quarantine it: {e}",
                message.source
            );
            None
        }
    }
}

fn print_report(report: &Report, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string(report).expect("reports always serialize")
        );
    } else {
        println!("{}", report.line());
    }
}

/// `ticketgate explain FILE`: every decision the pipeline would take, writing nothing.
pub async fn explain(services: &Services, file: &Path) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let trace = services.mail().explain(&bytes).await?;
    for step in &trace.steps {
        println!("{step}");
    }
    Ok(ExitCode::SUCCESS)
}
