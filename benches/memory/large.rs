//! Mails of 49 MB through `ticketgate ingest`, and the notifications they cause rendered
//! by `ticketgate outbox flush` (the `file` transport of the embedded defaults writes them
//! to `data/outbox/`). Targets: ≤ 200 MB per mail, ≤ 30 MB per render.
//!
//! Each run, in a fresh directory per mail: `ingest --json` of each of the four large
//! mails (peak RSS from `wait4`, wall time), then `outbox flush` of its acknowledgement;
//! and the observer's case: a small opening mail from Alice with Bob in Cc, flushed, then
//! Alice's 49 MB text/plain answer with the ticket's tag in its subject, ingested (a
//! comment) and flushed under measurement (Bob's notification quotes it), then the same
//! with a 49 MB text/html answer (a comment's new text is looked for in its HTML too).
//! Beside each measured flush, the floor: the same `outbox flush` again with nothing left
//! to send, and `outbox list`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::mails::{self, LARGE_BYTES, Large};
use crate::support::child::{self, Cost};
use crate::{len, mb, show};

/// Target: the peak of one mail, MB.
const MAIL_TARGET_MB: f64 = 200.0;
/// Target: the peak of one render, MB.
const RENDER_TARGET_MB: f64 = 30.0;

/// One measured `outbox flush`, and the floors beside it.
pub struct Flush {
    peak: Cost,
    /// `outbox flush` again, with nothing left to send.
    idle_flush: Cost,
    /// `outbox list`.
    list: Cost,
    /// The notification files it wrote.
    files: Vec<PathBuf>,
}

/// Alice's answer on the observed ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Text,
    Html,
}

impl Answer {
    fn name(self) -> &'static str {
        match self {
            Answer::Text => "text answer",
            Answer::Html => "html answer",
        }
    }
}

/// Every run's figures.
pub struct Measured {
    ingest: Vec<(Large, Cost)>,
    acknowledgements: Vec<(Large, Flush)>,
    /// Each 49 MB answer ingested as a comment, and the flush of what it queued.
    answers: Vec<(Answer, Cost, Flush)>,
}

/// Writes the mails into `work/large/` and runs the part `runs` times.
pub fn bench(binary: &Path, work: &Path, runs: usize) -> Measured {
    let dir = work.join("large");
    std::fs::create_dir_all(&dir).expect("cannot create the mails' directory");
    for kind in Large::ALL {
        let path = mail_path(work, kind);
        kind.write(&path, &format!("large-{}", kind.name()))
            .expect("cannot write a large mail");
        println!("large mail {}: {} bytes", kind.name(), len(&path));
    }
    let opening = dir.join("opening.eml");
    mails::write_opening_with_cc(&opening).expect("cannot write the opening mail");
    child::reset_peak();
    println!(
        "this bench process holds {:.1} MB: a child's ru_maxrss cannot read lower",
        mb(child::own_rss_kib())
    );

    let mut measured = Measured {
        ingest: Vec::new(),
        acknowledgements: Vec::new(),
        answers: Vec::new(),
    };
    let keep = std::env::var_os("BENCH_KEEP").is_some();
    for run in 1..=runs {
        for kind in Large::ALL {
            let run_dir = work.join(format!("large-{}-{run}", kind.name()));
            let (cost, report) = ingest(binary, &run_dir, &mail_path(work, kind));
            assert_eq!(report["outcome"], "created", "{}: {report}", kind.name());
            println!(
                "run {run}, ingest {}: peak RSS {:.1} MB, {:.2} s, {:.2} CPU s",
                kind.name(),
                mb(cost.max_rss_kib),
                cost.wall_secs,
                cost.cpu_secs
            );
            let flushed = flush(binary, &run_dir);
            print_flush(
                &format!("run {run}, flush {} acknowledgement", kind.name()),
                &flushed,
            );
            measured.ingest.push((kind, cost));
            measured.acknowledgements.push((kind, flushed));
            if run > 1 && !keep {
                std::fs::remove_dir_all(&run_dir).ok();
            }
        }
        let run_dir = work.join(format!("large-answers-{run}"));
        for (answer, cost, flushed) in observer_run(binary, &run_dir, &opening, &dir) {
            println!(
                "run {run}, ingest the 49 MB {} (a comment): peak RSS {:.1} MB, {:.2} s",
                answer.name(),
                mb(cost.max_rss_kib),
                cost.wall_secs
            );
            let what = format!("run {run}, flush the {}'s notifications", answer.name());
            print_flush(&what, &flushed);
            measured.answers.push((answer, cost, flushed));
        }
        if run > 1 && !keep {
            std::fs::remove_dir_all(&run_dir).ok();
        }
    }
    for kind in Large::ALL {
        crate::describe::ticket(kind.name(), &work.join(format!("large-{}-1", kind.name())));
    }
    measured
}

/// Where the large mail of `kind` is written.
pub fn mail_path(work: &Path, kind: Large) -> PathBuf {
    work.join("large").join(format!("{}.eml", kind.name()))
}

/// The observer's case in `dir`: the opening mail with Bob in Cc, its acknowledgements
/// flushed, then each 49 MB answer ingested and its notifications flushed; each answer's
/// ingest and measured flush. The answers are written into `mails` once per ticket number
/// (each run's fresh database gives its first ticket the same number).
fn observer_run(
    binary: &Path,
    dir: &Path,
    opening: &Path,
    mails: &Path,
) -> Vec<(Answer, Cost, Flush)> {
    let (_, report) = ingest(binary, dir, opening);
    assert_eq!(report["outcome"], "created", "the opening mail: {report}");
    let number = report["ticket"]
        .as_str()
        .expect("a ticket number")
        .to_string();
    flush(binary, dir);
    let mut measured = Vec::new();
    for answer in [Answer::Text, Answer::Html] {
        let path = mails.join(format!("{}-{number}.eml", answer.name().replace(' ', "-")));
        if !path.exists() {
            mails::write_answer(&path, &number, answer == Answer::Html)
                .expect("cannot write the answer");
            child::reset_peak();
        }
        let (cost, report) = ingest(binary, dir, &path);
        assert_eq!(report["outcome"], "commented", "the answer: {report}");
        assert_eq!(report["ticket"].as_str(), Some(number.as_str()));
        let flushed = flush(binary, dir);
        let to_bob = flushed.files.iter().filter(|path| {
            let head = std::fs::read(path).unwrap_or_default();
            let head = String::from_utf8_lossy(&head[..head.len().min(4096)]).into_owned();
            head.contains("bob@example.com")
        });
        assert_eq!(to_bob.count(), 1, "one notification for Bob, the observer");
        measured.push((answer, cost, flushed));
    }
    measured
}

/// `ticketgate ingest --json MAIL` in `dir`: its cost and its report.
fn ingest(binary: &Path, dir: &Path, mail: &Path) -> (Cost, serde_json::Value) {
    std::fs::create_dir_all(dir).expect("cannot create the run directory");
    let stem = mail.file_stem().unwrap_or_default().to_string_lossy();
    let out = dir.join(format!("ingest-{stem}.out"));
    let log = dir.join(format!("ingest-{stem}.log"));
    let mail = mail.display().to_string();
    let command = child::command(binary, dir, &["ingest", "--json", &mail], &[]);
    let cost = child::run(command, &out, &log);
    assert_eq!(cost.exit, Some(0), "ingest failed; see {}", log.display());
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let report = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("ingest's report {text:?}: {e}"));
    (cost, report)
}

/// `outbox flush` in `dir` under measurement, then the two floors.
fn flush(binary: &Path, dir: &Path) -> Flush {
    let outbox = dir.join("data/outbox");
    let before = notification_files(&outbox);
    let run = |args: &[&str], name: &str| {
        let log = dir.join(format!("{name}.log"));
        let command = child::command(binary, dir, args, &[]);
        let cost = child::run(command, &dir.join(format!("{name}.out")), &log);
        assert_eq!(cost.exit, Some(0), "{name} failed; see {}", log.display());
        cost
    };
    let peak = run(&["outbox", "flush"], "flush");
    let files = notification_files(&outbox)
        .difference(&before)
        .cloned()
        .collect();
    Flush {
        peak,
        idle_flush: run(&["outbox", "flush"], "flush-again"),
        list: run(&["outbox", "list"], "list"),
        files,
    }
}

fn notification_files(outbox: &Path) -> HashSet<PathBuf> {
    let Ok(entries) = std::fs::read_dir(outbox) else {
        return HashSet::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect()
}

fn print_flush(what: &str, f: &Flush) {
    let bytes: u64 = f.files.iter().map(|p| len(p)).sum();
    println!(
        "{what}: peak RSS {:.1} MB, {:.2} s, {} file(s) of {bytes} bytes; nothing left to \
         flush {:.1} MB, outbox list {:.1} MB",
        mb(f.peak.max_rss_kib),
        f.peak.wall_secs,
        f.files.len(),
        mb(f.idle_flush.max_rss_kib),
        mb(f.list.max_rss_kib)
    );
}

/// Whether the highest of `peaks` is within `target` (every run must be).
pub fn verdict(peaks: &[f64], target: f64) -> String {
    let peak = peaks.iter().copied().fold(f64::NAN, f64::max);
    if peak <= target {
        format!("met (≤ {target:.0} MB)")
    } else {
        format!("MISSED by {:.1} MB (≤ {target:.0} MB)", peak - target)
    }
}

/// Medians (min–max) of every figure, MB and seconds, and whether each target is met.
pub fn summary(m: &Measured) {
    println!(
        "--- summary: mails of {:.0} MB (targets: ≤ {MAIL_TARGET_MB:.0} MB per mail, ≤ \
         {RENDER_TARGET_MB:.0} MB per render) ---",
        LARGE_BYTES as f64 / 1e6
    );
    let ingest_line = |name: &str, costs: Vec<&Cost>| {
        let peaks: Vec<f64> = costs.iter().map(|c| mb(c.max_rss_kib)).collect();
        let walls: Vec<f64> = costs.iter().map(|c| c.wall_secs).collect();
        println!(
            "ingest {name:<22} peak MB {}, wall s {}: {}",
            show(peaks.clone()),
            show(walls),
            verdict(&peaks, MAIL_TARGET_MB)
        );
    };
    for kind in Large::ALL {
        let costs = m.ingest.iter().filter(|(k, _)| *k == kind).map(|(_, c)| c);
        ingest_line(kind.name(), costs.collect());
    }
    for answer in [Answer::Text, Answer::Html] {
        let costs = m.answers.iter().filter(|(a, ..)| *a == answer);
        ingest_line(answer.name(), costs.map(|(_, c, _)| c).collect());
    }
    let flush_line = |name: &str, flushes: Vec<&Flush>| {
        let figure =
            |f: fn(&Flush) -> i64| -> Vec<f64> { flushes.iter().map(|x| mb(f(x))).collect() };
        let peaks = figure(|f| f.peak.max_rss_kib);
        let own = figure(|f| f.peak.max_rss_kib - f.idle_flush.max_rss_kib);
        println!(
            "flush {name:<23} peak MB {}, floor (flush, nothing to send) {}, outbox list {}, \
             render's own {}: {}",
            show(peaks.clone()),
            show(figure(|f| f.idle_flush.max_rss_kib)),
            show(figure(|f| f.list.max_rss_kib)),
            show(own),
            verdict(&peaks, RENDER_TARGET_MB)
        );
    };
    for kind in Large::ALL {
        let flushes = m.acknowledgements.iter().filter(|(k, _)| *k == kind);
        flush_line(
            &format!("ack {}", kind.name()),
            flushes.map(|(_, f)| f).collect(),
        );
    }
    for answer in [Answer::Text, Answer::Html] {
        let flushes = m.answers.iter().filter(|(a, ..)| *a == answer);
        let name = format!("{} to observer", answer.name());
        flush_line(&name, flushes.map(|(.., f)| f).collect());
    }
}
