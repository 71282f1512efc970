//! The portal under load: ticket pages per second and their latency, with a session
//! cookie, on a database of 100,000 tickets, while the same daemon ingests mail.
//!
//! The database is made by `ticketgate migrate` and seeded as the scale bench seeds it
//! (`scale/seed.rs`: two years of helpdesk history, each ticket with its mail, its
//! notifications and, for most, its solution). The daemon (`ticketgate run`, embedded
//! defaults: SQLite in WAL, `synchronous = FULL`) serves the portal on a port of its own,
//! its periodic jobs quiet (`child::quiet_daemon`): the pages are measured beside the
//! ingest, not beside the catch-up of a history that ended days ago, and the bench fails
//! if a job found work.
//! The session is one customer's, made with the install's link key as a link would make
//! it; the pages asked for are those of their organisation's tickets (up to 1,000, spread
//! over the whole history), one drawn at random per request by wrk's Lua script, each
//! checked first to answer 200 with the ticket's title.
//!
//! Each run is `wrk --latency` on loopback (Debian's wrk 4), first with the daemon idle
//! otherwise, then while mails of the bench mix are delivered into its Maildir at a steady
//! rate. The daemon's resident set is sampled every 100 ms through every run.
//!
//! `cargo bench --bench portal`; environment: `BENCH_TICKETS` (default 100000),
//! `BENCH_RUNS` (3), `BENCH_SECONDS` (per run, 15), `BENCH_CONNECTIONS` (32),
//! `BENCH_THREADS` (wrk's, 2), `BENCH_INGEST_RATE` (mails per second delivered during the
//! loaded runs, 100), `BENCH_BIN` (another binary), `BENCH_KEEP=1` (keep the work
//! directory).

mod support;

#[path = "scale/seed.rs"]
#[allow(dead_code)]
mod seed;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use sqlx::{Connection, Row};
use ticketgate::domain::EmailAddress;
use ticketgate::signing::LinkSigner;

use support::child::{self, env_or, proc_status_kib, spread};
use support::mailgen::MailGen;
use support::wrk;

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
struct Run {
    pages_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_rss_kib: i64,
    /// Mails delivered into the Maildir during the run, and those still waiting in new/
    /// two seconds after its end.
    delivered: usize,
    waiting: usize,
}

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !"portal".contains(&f)) {
        return;
    }
    let tickets: i64 = env_or("BENCH_TICKETS", 100_000);
    let runs: usize = env_or::<usize>("BENCH_RUNS", 3).max(1);
    let seconds: u64 = env_or("BENCH_SECONDS", 15);
    let connections: usize = env_or("BENCH_CONNECTIONS", 32);
    let threads: usize = env_or("BENCH_THREADS", 2);
    let rate: u64 = env_or("BENCH_INGEST_RATE", 100);
    let binary = child::binary();
    println!("binary: {}", binary.display());
    wrk::require();
    sqlx::any::install_default_drivers();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let work = tempfile::Builder::new()
        .prefix("ticketgate-portal-")
        .tempdir()
        .expect("cannot create the work directory");
    let dir = work.path();
    let migrated = child::run(
        child::command(&binary, dir, &["migrate"], &[]),
        &dir.join("migrate.out"),
        &dir.join("migrate.log"),
    );
    assert_eq!(migrated.exit, Some(0), "migrate failed; see migrate.log");
    let url = format!("sqlite://{}", dir.join("data/ticketgate.db").display());
    let t0 = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
    let seeded = runtime
        .block_on(seed::seed(
            &url,
            seed::Backend::Sqlite,
            tickets,
            t0.timestamp_millis(),
        ))
        .expect("cannot seed the database");
    println!("seeded {tickets} tickets in {:.1} s", seeded.total_secs);
    let (person, numbers) = runtime.block_on(pages_to_ask(&url));
    println!(
        "session of {person}: {} tickets of their organisation to ask for",
        numbers.len()
    );

    let log = dir.join("daemon.log");
    let (daemon, started) = child::spawn_daemon(&binary, dir, &child::quiet_daemon(), &log);
    let pid = daemon.id();
    let port = wrk::wait_for_port(&log);
    let key = std::fs::read(dir.join("data/link-secret")).expect("the install's link key");
    let signer = LinkSigner::new(&key, "http://localhost:8080", chrono::Duration::days(30))
        .expect("a valid link key");
    let visitor = EmailAddress::parse(&person).expect("the requester's address");
    let cookie = format!(
        "tg_session={}",
        signer.session(&visitor, Utc::now() + chrono::Duration::days(1))
    );
    let headers = [format!("Cookie: {cookie}")];
    for number in numbers.iter().take(20) {
        let (status, body) = wrk::get(port, &format!("/tickets/{number}"), &headers);
        assert!(
            status == 200 && body.contains(&format!("Ticket {number}")),
            "/tickets/{number} answered {status}: {body}"
        );
    }
    let script = dir.join("pages.lua");
    let pages: Vec<String> = numbers.iter().map(|n| format!("/tickets/{n}")).collect();
    wrk::write_script(&script, &pages);
    let rss_before = proc_status_kib(pid, "VmRSS").unwrap_or(0);
    println!("daemon at rest: VmRSS {:.1} MB", mb(rss_before));

    let inbox = dir.join("data/inbox");
    let mut idle = Vec::new();
    let mut loaded = Vec::new();
    let mut mails = MailGen::new(7);
    let mut first_mail = 0;
    for (label, ingest_rate, into) in [("idle", 0, &mut idle), ("ingesting", rate, &mut loaded)] {
        for run in 1..=runs {
            let r = wrk_run(
                WrkRun {
                    port,
                    headers: &headers,
                    script: &script,
                    seconds,
                    connections,
                    threads,
                    pid,
                    inbox: &inbox,
                    ingest_rate,
                    first_mail,
                },
                &mut mails,
            );
            first_mail += r.delivered;
            println!(
                "{label} run {run}: {:.0} pages/s, p50 {:.2} ms, p99 {:.2} ms, daemon RSS max \
                 {:.1} MB, mails delivered {}, still waiting 2 s after {}",
                r.pages_per_sec,
                r.p50_ms,
                r.p99_ms,
                mb(r.max_rss_kib),
                r.delivered,
                r.waiting
            );
            into.push(r);
        }
    }
    // The daemon's own peak: its ru_maxrss would also count what this process held when
    // it was forked (the seeding), before the daemon's binary ran.
    let peak = proc_status_kib(pid, "VmHWM").unwrap_or(0);
    child::stop_daemon(daemon, started, &log);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !log_text.contains("panicked"),
        "the daemon panicked; see {}",
        log.display()
    );
    println!(
        "daemon peak RSS over the whole bench (VmHWM): {:.1} MB",
        mb(peak)
    );
    let acted = runtime.block_on(jobs_acted(&url));
    assert_eq!(
        acted,
        0,
        "the daemon's jobs acted on {acted} tickets or files during the runs; see {}",
        log.display()
    );
    summary("idle", &idle, connections, seconds);
    summary(
        &format!("ingesting {rate} mails/s"),
        &loaded,
        connections,
        seconds,
    );
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("kept {}", work.keep().display());
    }
}

/// A customer whose organisation has tickets, and the numbers of up to 1,000 of them
/// spread over the history (every nth), which their session may open.
async fn pages_to_ask(url: &str) -> (String, Vec<String>) {
    let mut db = sqlx::AnyConnection::connect(url)
        .await
        .expect("cannot open the seeded database");
    let row = sqlx::query(
        "SELECT requester, organisation FROM tickets WHERE private = 0 ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&mut db)
    .await
    .expect("a seeded ticket");
    let person: String = row.get("requester");
    let organisation: String = row.get("organisation");
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tickets WHERE organisation = $1")
        .bind(&organisation)
        .fetch_one(&mut db)
        .await
        .expect("a count")
        .get("n");
    let step = (count / 1000).max(1);
    let numbers = sqlx::query(
        "SELECT number FROM (SELECT number, id, row_number() OVER (ORDER BY id) AS k \
         FROM tickets WHERE organisation = $1 AND private = 0) WHERE k % $2 = 0 LIMIT 1000",
    )
    .bind(&organisation)
    .bind(step)
    .fetch_all(&mut db)
    .await
    .expect("the ticket numbers")
    .iter()
    .map(|r| r.get::<String, _>("number"))
    .collect();
    (person, numbers)
}

/// What the daemon's jobs did, all runs together: tickets closed, reminders, files purged.
async fn jobs_acted(url: &str) -> i64 {
    let mut db = sqlx::AnyConnection::connect(url)
        .await
        .expect("cannot open the database");
    sqlx::query("SELECT COALESCE(SUM(acted), 0) AS n FROM job_runs")
        .fetch_one(&mut db)
        .await
        .expect("the job runs")
        .get("n")
}

struct WrkRun<'a> {
    port: u16,
    headers: &'a [String],
    script: &'a Path,
    seconds: u64,
    connections: usize,
    threads: usize,
    pid: u32,
    inbox: &'a Path,
    /// Mails per second delivered during the run; 0 for none.
    ingest_rate: u64,
    /// How many mails earlier runs delivered.
    first_mail: usize,
}

/// One wrk run, with the daemon's RSS sampled and, if asked, mail delivered meanwhile.
fn wrk_run(run: WrkRun<'_>, mails: &mut MailGen) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let max_rss = Arc::new(AtomicI64::new(0));
    let sampler = {
        let (stop, max_rss, pid) = (stop.clone(), max_rss.clone(), run.pid);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(rss) = proc_status_kib(pid, "VmRSS") {
                    max_rss.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // The mails are made before the run, so that making them costs the run nothing.
    let batch: Vec<Vec<u8>> = (0..run.ingest_rate * run.seconds)
        .map(|_| mails.next_mail().1)
        .collect();
    let delivered = Arc::new(AtomicUsize::new(0));
    let deliverer = {
        let (stop, delivered, inbox, rate, first) = (
            stop.clone(),
            delivered.clone(),
            run.inbox.to_path_buf(),
            run.ingest_rate,
            run.first_mail,
        );
        std::thread::spawn(move || deliver(&inbox, batch, first, rate, &stop, &delivered))
    };
    let (measured, _) = wrk::run(&wrk::Load {
        port: run.port,
        script: run.script,
        threads: run.threads,
        connections: run.connections,
        seconds: run.seconds,
        headers: run.headers,
    });
    stop.store(true, Ordering::Relaxed);
    sampler.join().expect("the sampler");
    deliverer.join().expect("the deliverer");
    // Give the daemon a moment to finish the mails delivered last.
    std::thread::sleep(Duration::from_secs(2));
    Run {
        pages_per_sec: measured.requests_per_sec,
        p50_ms: measured.p50_ms,
        p99_ms: measured.p99_ms,
        max_rss_kib: max_rss.load(Ordering::Relaxed),
        delivered: delivered.load(Ordering::Relaxed),
        waiting: count(&run.inbox.join("new")),
    }
}

/// Delivers `mails` into the Maildir `inbox` at `rate` per second (as an MTA does: into
/// tmp/, then renamed into new/) until `stop` or the end of the batch; their names count
/// from `first`, so that no run's name is another's.
fn deliver(
    inbox: &Path,
    mails: Vec<Vec<u8>>,
    first: usize,
    rate: u64,
    stop: &AtomicBool,
    delivered: &AtomicUsize,
) {
    if rate == 0 {
        return;
    }
    let started = Instant::now();
    for (i, mail) in mails.into_iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let n = first + i;
        let name = format!(
            "{}.M{n}P{}.portal-bench",
            1_790_000_000 + n,
            std::process::id()
        );
        let tmp = inbox.join("tmp").join(&name);
        std::fs::write(&tmp, &mail).expect("cannot deliver a mail");
        std::fs::rename(&tmp, inbox.join("new").join(&name)).expect("cannot deliver a mail");
        delivered.fetch_add(1, Ordering::Relaxed);
    }
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

fn mb(kib: i64) -> f64 {
    kib as f64 / 1024.0
}

fn summary(label: &str, runs: &[Run], connections: usize, seconds: u64) {
    let mut rate: Vec<f64> = runs.iter().map(|r| r.pages_per_sec).collect();
    let mut p99: Vec<f64> = runs.iter().map(|r| r.p99_ms).collect();
    let mut p50: Vec<f64> = runs.iter().map(|r| r.p50_ms).collect();
    let (rate, p99, p50) = (spread(&mut rate), spread(&mut p99), spread(&mut p50));
    let rss = runs.iter().map(|r| r.max_rss_kib).max().unwrap_or(0);
    println!(
        "\n{label}: {} runs of {seconds} s, {connections} connections\n  \
         pages/s  median {:.0}  (min {:.0}, max {:.0})\n  \
         p50 ms   median {:.2}  (min {:.2}, max {:.2})\n  \
         p99 ms   median {:.2}  (min {:.2}, max {:.2})\n  \
         daemon RSS max {:.1} MB",
        runs.len(),
        rate.0,
        rate.1,
        rate.2,
        p50.0,
        p50.1,
        p50.2,
        p99.0,
        p99.1,
        p99.2,
        mb(rss)
    );
}
