//! Memory of the release binary: the daemon (`ticketgate run`, embedded defaults) at rest,
//! and the peak for one 25 MB mail, as the daemon handles it from its Maildir and as
//! `ticketgate ingest FILE` does.
//!
//! Two mails of 25 MB (`BENCH_MAIL_MB`): a text/plain body of 25 MB (UTF-8, 8bit), and a
//! short text with a 25 MB base64 attachment part (about 18 MB decoded; the default
//! `max_attachment_bytes` is 2 MB, so it is refused and the ticket says so). Each run
//! starts in a fresh directory with every `TICKETGATE_*` variable removed.
//!
//! - daemon at rest: VmRSS and VmHWM from /proc/PID/status after `BENCH_SETTLE_SECS` (3)
//!   with no mail;
//! - daemon with one mail: the mail is delivered into its Maildir (tmp/ then new/), and
//!   once it is in cur/ and the notifications are written, VmHWM (the peak of the whole
//!   run) and VmRSS (what it keeps after);
//! - ingest: the peak RSS of `ticketgate ingest FILE` (wait4 ru_maxrss).
//!
//! `cargo bench --bench memory`; environment: `BENCH_RUNS` (3), `BENCH_SETTLE_SECS` (3),
//! `BENCH_MAIL_MB` (25), `BENCH_BIN` (another ticketgate binary), `BENCH_KEEP=1` (keep the
//! work directory: the mails, each run's data directory and log).

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use sqlx::{Connection, Row};
use support::child::{self, env_or, proc_status_kib, spread};
use support::mailgen::MailGen;

/// What the daemon held in one run, in KiB.
struct DaemonRun {
    idle_rss: i64,
    idle_hwm: i64,
    /// After the mail: the run's peak, and what it still holds.
    with_mail: Option<(i64, i64)>,
    handled_secs: f64,
}

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !"memory".contains(&f)) {
        return;
    }
    let runs: usize = env_or::<usize>("BENCH_RUNS", 3).max(1);
    let settle = Duration::from_secs_f64(env_or("BENCH_SETTLE_SECS", 3.0));
    let mail_bytes: u64 = env_or::<u64>("BENCH_MAIL_MB", 25) * 1_000_000;
    let binary = child::binary();
    let work = tempfile::Builder::new()
        .prefix("ticketgate-memory-")
        .tempdir()
        .expect("cannot create the work directory");
    let text_mail = work.path().join("text.eml");
    let attachment_mail = work.path().join("attachment.eml");
    write_text_mail(&text_mail, mail_bytes).expect("cannot write the text mail");
    let attached =
        write_attachment_mail(&attachment_mail, mail_bytes).expect("cannot write the mail");
    println!("binary: {}", binary.display());
    println!(
        "mails: text {} bytes (text/plain body); attachment {} bytes ({attached} bytes \
         decoded, base64)",
        len(&text_mail),
        len(&attachment_mail)
    );
    child::reset_peak();
    println!(
        "this bench process holds {:.1} MB: a child's ru_maxrss cannot read lower",
        child::own_rss_kib() as f64 / 1024.0
    );

    let mut daemon = Vec::new();
    for run in 1..=runs {
        for (kind, mail) in [("text", &text_mail), ("attachment", &attachment_mail)] {
            let dir = work.path().join(format!("daemon-{kind}-{run}"));
            let d = daemon_run(&binary, &dir, mail, settle);
            let (hwm, rss) = d.with_mail.expect("the mail was handled");
            println!(
                "daemon run {run}, {kind} mail: at rest VmRSS {:.1} MB (VmHWM {:.1}); mail \
                 handled in {:.2} s; VmHWM {:.1} MB, VmRSS after {:.1} MB",
                mb(d.idle_rss),
                mb(d.idle_hwm),
                d.handled_secs,
                mb(hwm),
                mb(rss)
            );
            daemon.push((kind, d));
        }
    }

    let mut ingest: Vec<(&str, child::Cost, String)> = Vec::new();
    for run in 1..=runs {
        for (kind, mail) in [("text", &text_mail), ("attachment", &attachment_mail)] {
            let dir = work.path().join(format!("ingest-{kind}-{run}"));
            std::fs::create_dir_all(&dir).expect("cannot create the run directory");
            let mail = mail.display().to_string();
            let out = dir.join("ingest.out");
            let cost = child::run(
                child::command(&binary, &dir, &["ingest", &mail], &[]),
                &out,
                &dir.join("ingest.log"),
            );
            let line = std::fs::read_to_string(&out).unwrap_or_default();
            println!(
                "ingest run {run}, {kind} mail: peak RSS {:.1} MB, {:.2} s, {:.2} CPU s: {}",
                mb(cost.max_rss_kib),
                cost.wall_secs,
                cost.cpu_secs,
                line.trim()
            );
            ingest.push((kind, cost, line));
        }
    }

    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    for kind in ["text", "attachment"] {
        let dir = work.path().join(format!("ingest-{kind}-1"));
        runtime.block_on(describe_ticket(kind, &dir));
    }
    summary(&daemon, &ingest);
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("kept {}", work.keep().display());
    }
}

/// Starts `ticketgate run` in `dir`, reads its memory at rest, delivers `mail` into its
/// Maildir, waits until it is handled and notified, reads its memory again, stops it.
fn daemon_run(binary: &Path, dir: &Path, mail: &Path, settle: Duration) -> DaemonRun {
    std::fs::create_dir_all(dir).expect("cannot create the run directory");
    let log = dir.join("daemon.log");
    let (daemon, started) = child::spawn_daemon(binary, dir, &[], &log);
    let pid = daemon.id();
    let inbox = dir.join("data/inbox");
    wait_for("the daemon to watch its Maildir", &log, || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("watching Maildir"))
    });
    std::thread::sleep(settle);
    let status = |key| proc_status_kib(pid, key).expect("the daemon's /proc status");
    let (idle_rss, idle_hwm) = (status("VmRSS"), status("VmHWM"));

    let name = "1790000000.M1P1.bench";
    std::fs::copy(mail, inbox.join("tmp").join(name)).expect("cannot deliver the mail");
    let delivered = Instant::now();
    std::fs::rename(inbox.join("tmp").join(name), inbox.join("new").join(name))
        .expect("cannot deliver the mail");
    wait_for("the mail to be handled", &log, || {
        count(&inbox.join("cur")) > 0
    });
    let handled_secs = delivered.elapsed().as_secs_f64();
    // The notifications (acknowledgement, refused file) go out after the commit: wait
    // until their files stop appearing.
    let outbox = dir.join("data/outbox");
    let mut last = (0, Instant::now());
    wait_for("the notifications to be written", &log, || {
        let n = count(&outbox);
        if n != last.0 {
            last = (n, Instant::now());
        }
        n > 0 && last.1.elapsed() > Duration::from_secs(1)
    });
    let with_mail = Some((status("VmHWM"), status("VmRSS")));

    // SAFETY: kill sends a signal to our own child, which has not been reaped yet.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let cost = child::reap(daemon, started);
    assert_eq!(
        cost.exit,
        Some(0),
        "the daemon failed; see {}",
        log.display()
    );
    DaemonRun {
        idle_rss,
        idle_hwm,
        with_mail,
        handled_secs,
    }
}

fn wait_for(what: &str, log: &Path, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; see {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn mb(kib: i64) -> f64 {
    kib as f64 / 1024.0
}

fn headers(subject: &str, id: &str) -> String {
    format!(
        "From: Alice Martin <alice@example.com>\r\nTo: Support <support@localhost>\r\n\
         Subject: {subject}\r\nDate: Wed, 25 Nov 2026 09:00:00 +0000\r\n\
         Message-ID: <{id}@example.com>\r\nMIME-Version: 1.0\r\n"
    )
}

/// A mail whose text/plain body makes it `bytes` long, written as it is generated.
fn write_text_mail(path: &Path, bytes: u64) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let head = headers("Full export of the server log", "memory-text")
        + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
    file.write_all(head.as_bytes())?;
    let mut written = head.len() as u64;
    let mut generator = MailGen::new(25);
    while written < bytes {
        let text = generator.text(64 * 1024).replace('\n', "\r\n");
        let take = text.len().min((bytes - written) as usize);
        // Cut at a line end, so that the body stays whole lines of UTF-8.
        let cut = text[..take].rfind("\r\n").map_or(take, |i| i + 2);
        let chunk = if take < text.len() {
            &text[..cut]
        } else {
            &text
        };
        file.write_all(chunk.as_bytes())?;
        written += chunk.len() as u64;
        if take < text.len() {
            break;
        }
    }
    file.flush()
}

/// A short mail with one attachment part that makes it `bytes` long; the decoded size.
fn write_attachment_mail(path: &Path, bytes: u64) -> std::io::Result<u64> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let head = headers("Our database dump", "memory-attachment")
        + "Content-Type: multipart/mixed; boundary=\"=_memory\"\r\n\r\n--=_memory\r\n\
           Content-Type: text/plain; charset=utf-8\r\n\r\n\
           Hello, the dump you asked for is attached.\r\n--=_memory\r\n\
           Content-Type: application/pdf; name=\"dump.pdf\"\r\n\
           Content-Disposition: attachment; filename=\"dump.pdf\"\r\n\
           Content-Transfer-Encoding: base64\r\n\r\n";
    let tail = "--=_memory--\r\n";
    file.write_all(head.as_bytes())?;
    // 57 bytes make one line of 76 base64 characters and CRLF.
    let lines = bytes.saturating_sub((head.len() + tail.len()) as u64) / 78;
    let mut rng = fastrand::Rng::with_seed(25);
    let mut line = [0u8; 57];
    for n in 0..lines {
        rng.fill(&mut line);
        if n == 0 {
            line[..8].copy_from_slice(b"%PDF-1.7");
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(line);
        file.write_all(encoded.as_bytes())?;
        file.write_all(b"\r\n")?;
    }
    file.write_all(tail.as_bytes())?;
    file.flush()?;
    Ok(lines * 57)
}

/// What the ticket of an ingest run holds: its text, its files, its note.
async fn describe_ticket(kind: &str, dir: &Path) {
    sqlx::any::install_default_drivers();
    let url = format!(
        "sqlite://{}?mode=ro",
        dir.join("data/ticketgate.db").display()
    );
    let mut conn = match sqlx::AnyConnection::connect(&url).await {
        Ok(c) => c,
        Err(e) => return println!("{kind} mail: cannot read its database: {e}"),
    };
    let article = sqlx::query(
        "SELECT length(a.body_text) AS body, length(t.description) AS description, \
         COALESCE(a.note, '') AS note FROM articles a JOIN tickets t ON t.id = a.ticket_id \
         ORDER BY a.id LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await;
    if let Ok(r) = article {
        let body: i64 = r.try_get("body").unwrap_or(0);
        let description: i64 = r.try_get("description").unwrap_or(0);
        let note: String = r.try_get("note").unwrap_or_default();
        println!(
            "{kind} mail: article text {body} characters, ticket description {description}; \
             note: {note:?}"
        );
    }
    let files = sqlx::query(
        "SELECT filename, size, COALESCE(sha256, '') AS sha256, \
         COALESCE(refused_reason, '') AS refused FROM attachments ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    for f in files {
        let name: String = f.try_get("filename").unwrap_or_default();
        let size: i64 = f.try_get("size").unwrap_or(0);
        let sha: String = f.try_get("sha256").unwrap_or_default();
        let refused: String = f.try_get("refused").unwrap_or_default();
        let fate = if sha.is_empty() {
            format!("refused: {refused}")
        } else {
            "stored".into()
        };
        println!("{kind} mail: file {name} ({size} bytes) {fate}");
    }
    let raw: u64 = walk(&dir.join("data/raw")).iter().map(|p| len(p)).sum();
    println!("{kind} mail: raw mail kept gzipped, {raw} bytes");
    conn.close().await.ok();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

fn summary(daemon: &[(&str, DaemonRun)], ingest: &[(&str, child::Cost, String)]) {
    let show = |mut values: Vec<f64>| {
        let (median, min, max) = spread(&mut values);
        format!("median {median:>6.1} MB (min {min:.1}, max {max:.1})")
    };
    println!("--- summary (targets: at rest ≤ 30 MB; one 25 MB mail ≤ 150 MB) ---");
    let at_rest: Vec<f64> = daemon.iter().map(|(_, d)| mb(d.idle_rss)).collect();
    let at_rest_hwm: Vec<f64> = daemon.iter().map(|(_, d)| mb(d.idle_hwm)).collect();
    println!("daemon at rest, VmRSS:            {}", show(at_rest));
    println!("daemon at rest, VmHWM:            {}", show(at_rest_hwm));
    for kind in ["text", "attachment"] {
        let runs: Vec<&DaemonRun> = daemon
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, d)| d)
            .collect();
        let peak = runs.iter().filter_map(|d| d.with_mail.map(|m| mb(m.0)));
        let after = runs.iter().filter_map(|d| d.with_mail.map(|m| mb(m.1)));
        println!("daemon, {kind:<10} mail, VmHWM: {}", show(peak.collect()));
        println!("daemon, {kind:<10} mail, after: {}", show(after.collect()));
        let peaks = ingest
            .iter()
            .filter(|(k, ..)| *k == kind)
            .map(|(_, c, _)| mb(c.max_rss_kib));
        println!("ingest, {kind:<10} mail, peak:  {}", show(peaks.collect()));
    }
}
