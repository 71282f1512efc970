//! The JSON API on a million tickets: requests per second and latency of one ticket
//! (`GET /api/v1/tickets/{number}`) and of a page of the list (`GET /api/v1/tickets?status=…`,
//! 50 tickets), with a read token, under wrk on loopback.
//!
//! The database is made by `ticketgate migrate` and seeded as the scale bench seeds it
//! (`scale/seed.rs`: two years of helpdesk history, each ticket with its mail, its
//! notifications and, for most, its solution). A seed of a million tickets is 10 GB and
//! takes a minute or more, so it is kept under Cargo's target directory and used again by
//! the next run (migrated first, so that a new migration applies to it); a change to the
//! seed's code or to the ticket count makes a new one. The daemon (`ticketgate run`,
//! embedded defaults: SQLite in WAL, `synchronous = FULL`) serves the API on a port of its
//! own, with its periodic jobs held off (auto-close after 3,650 days, no reminders, no
//! purge), so that nothing but the requests runs and the seed stays as it was. The token
//! is made with `ticketgate tokens create … --scope read`, as a user makes one, and revoked
//! at the end.
//!
//! What is asked for: 1,000 tickets spread over the whole history, one drawn at random per
//! request by wrk's Lua script, so that it is not one cached row; and the first 20 pages
//! (50 tickets each, the default page) of the list, newest update first, walked by their
//! `next_cursor` beforehand, one drawn at random per request: `status=open` (the tickets
//! neither resolved nor closed, a few thousand, from the partial index `tickets_open`) and
//! no filter at all (all of them). Every path is checked to answer 200 before it is
//! measured.
//!
//! Each run is `wrk --latency` on loopback, on the same machine as the daemon; the kinds of
//! request take turns, run after run, after a warm-up run of each that is not counted.
//!
//! `cargo bench --bench api`; environment: `BENCH_TICKETS` (default 1000000),
//! `BENCH_RUNS` (3 per kind of request), `BENCH_SECONDS` (per run, 15), `BENCH_CONNECTIONS`
//! (32), `BENCH_THREADS` (wrk's, 2), `BENCH_SEED_DIR` (where seeds are kept; default
//! `target/tmp/api-seed`), `BENCH_FRESH=1` (seed again even when a seed is kept),
//! `BENCH_BIN` (another binary), `BENCH_KEEP=1` (keep the work directory: logs, scripts).

mod support;

#[path = "scale/seed.rs"]
#[allow(dead_code)]
mod seed;

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{TimeZone, Utc};
use sqlx::{Connection, Row};

use support::child::{self, env_or, proc_status_kib, process_cpu_secs, spread};
use support::wrk;

/// Pages of each listing the runs draw from, and tickets asked for one by one.
const PAGES: usize = 20;
const TICKETS_ASKED: i64 = 1_000;

/// What the runs ask for: a label, and the paths one is drawn from per request.
struct Kind {
    label: String,
    paths: Vec<String>,
    script: PathBuf,
}

/// What one run measured, with the daemon's CPU over it.
#[derive(Debug, Clone, Copy)]
struct Run {
    measured: wrk::Measured,
    daemon_cores: f64,
}

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !"api".contains(&f)) {
        return;
    }
    let tickets: i64 = env_or("BENCH_TICKETS", 1_000_000);
    let runs: usize = env_or::<usize>("BENCH_RUNS", 3).max(1);
    let seconds: u64 = env_or("BENCH_SECONDS", 15);
    let connections: usize = env_or("BENCH_CONNECTIONS", 32);
    let threads: usize = env_or("BENCH_THREADS", 2);
    let binary = child::binary();
    println!("binary: {}", binary.display());
    wrk::require();
    sqlx::any::install_default_drivers();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let work = tempfile::Builder::new()
        .prefix("ticketgate-api-")
        .tempdir()
        .expect("cannot create the work directory");
    let dir = work.path();
    let data = seeded(&runtime, &binary, tickets, dir);
    let url = format!("sqlite://{}", data.join("data/ticketgate.db").display());

    // The token, made as a user makes it.
    let name = format!("api-bench-{}", std::process::id());
    let out = dir.join("token.out");
    let made = child::run(
        child::command(
            &binary,
            &data,
            &["tokens", "create", &name, "--scope", "read"],
            &[],
        ),
        &out,
        &dir.join("token.log"),
    );
    assert_eq!(made.exit, Some(0), "tokens create failed; see token.log");
    let token = std::fs::read_to_string(&out).expect("the token");
    let headers = [format!("Authorization: Bearer {}", token.trim())];

    let log = dir.join("daemon.log");
    let (daemon, started) = child::spawn_daemon(&binary, &data, &child::quiet_daemon(), &log);
    let pid = daemon.id();
    let port = wrk::wait_for_port(&log);
    println!(
        "daemon at rest: VmRSS {:.1} MB",
        mb(proc_status_kib(pid, "VmRSS").unwrap_or(0))
    );

    let numbers = runtime.block_on(tickets_to_ask(&url, tickets));
    let mut kinds = vec![Kind {
        label: "GET /api/v1/tickets/{number}".into(),
        paths: numbers
            .iter()
            .map(|n| format!("/api/v1/tickets/{n}"))
            .collect(),
        script: dir.join("ticket.lua"),
    }];
    for (label, query) in [("status=open", "?status=open"), ("no filter", "")] {
        kinds.push(Kind {
            label: format!("GET /api/v1/tickets{query} ({label}, pages 1–{PAGES})"),
            paths: pages(port, &headers, &format!("/api/v1/tickets{query}")),
            script: dir.join(format!("list-{}.lua", kinds.len())),
        });
    }
    for kind in &kinds {
        for path in kind.paths.iter().take(20) {
            let (status, answer) = wrk::get(port, path, &headers);
            assert_eq!(status, 200, "{path} answered {status}: {answer}");
        }
        wrk::write_script(&kind.script, &kind.paths);
    }

    let load = |kind: &Kind, seconds: u64| {
        let cpu_before = process_cpu_secs(pid).unwrap_or(0.0);
        let (measured, _) = wrk::run(&wrk::Load {
            port,
            script: &kind.script,
            threads,
            connections,
            seconds,
            headers: &headers,
        });
        let cpu = process_cpu_secs(pid).unwrap_or(0.0) - cpu_before;
        Run {
            measured,
            daemon_cores: cpu / seconds as f64,
        }
    };
    for kind in &kinds {
        let r = load(kind, 5);
        println!("warm-up, {}: {}", kind.label, line(&r));
    }
    let mut results: Vec<Vec<Run>> = vec![Vec::new(); kinds.len()];
    for run in 1..=runs {
        for (kind, into) in kinds.iter().zip(results.iter_mut()) {
            let r = load(kind, seconds);
            println!("run {run}, {}: {}", kind.label, line(&r));
            into.push(r);
        }
    }

    let peak = proc_status_kib(pid, "VmHWM").unwrap_or(0);
    child::stop_daemon(daemon, started, &log);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !log_text.contains("panicked"),
        "the daemon panicked; see {}",
        log.display()
    );
    let revoked = child::run(
        child::command(&binary, &data, &["tokens", "revoke", &name], &[]),
        &dir.join("revoke.out"),
        &dir.join("revoke.log"),
    );
    assert_eq!(
        revoked.exit,
        Some(0),
        "tokens revoke failed; see revoke.log"
    );
    println!("daemon peak RSS (VmHWM): {:.1} MB", mb(peak));
    println!(
        "\n{tickets} tickets, {} runs of {seconds} s per kind, {connections} connections, \
         {threads} wrk threads",
        runs
    );
    for (kind, runs) in kinds.iter().zip(&results) {
        summary(&kind.label, runs);
    }
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("kept {}", work.keep().display());
    }
}

/// The directory of a migrated and seeded install of `tickets` tickets: the one kept from
/// an earlier run when there is one for this seed, else a new one (and the older seeds
/// go). `work` takes the logs of the commands run.
fn seeded(runtime: &tokio::runtime::Runtime, binary: &Path, tickets: i64, work: &Path) -> PathBuf {
    let root = std::env::var_os("BENCH_SEED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("api-seed"));
    let name = format!("sqlite-{tickets}-{:016x}", seed_fingerprint());
    let dir = root.join(&name);
    // Written once the seed is complete and on disk: a seed cut short is not used again.
    let done = dir.join("seeded");
    let fresh = env_or("BENCH_FRESH", 0) != 0;
    let migrate = || {
        let started = Instant::now();
        let migrated = child::run(
            child::command(binary, &dir, &["migrate"], &[]),
            &work.join("migrate.out"),
            &work.join("migrate.log"),
        );
        assert_eq!(
            migrated.exit,
            Some(0),
            "migrate failed in {}; see {} (a seed of a newer build: BENCH_FRESH=1 seeds again)",
            dir.display(),
            work.join("migrate.log").display()
        );
        // A new migration runs here on the kept seed, once: an index over a million
        // tickets is built now, not at the daemon's start.
        println!(
            "migrate: {:.1} s in {}",
            started.elapsed().as_secs_f64(),
            dir.display()
        );
    };
    if done.exists() && !fresh {
        println!("using the seed kept in {}", dir.display());
        migrate();
        return dir;
    }
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("sqlite-") {
                std::fs::remove_dir_all(entry.path()).expect("cannot remove an older seed");
            }
        }
    }
    std::fs::create_dir_all(&dir).expect("cannot create the seed directory");
    migrate();
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
    std::fs::write(&done, format!("{tickets} tickets\n")).expect("cannot mark the seed done");
    println!(
        "seeded {tickets} tickets in {:.1} s into {} (kept for the next run)",
        seeded.total_secs,
        dir.display()
    );
    dir
}

/// A hash of the code that makes the seed: another seed is made when it changes.
fn seed_fingerprint() -> u64 {
    let code = [
        include_str!("scale/seed.rs"),
        include_str!("support/mailgen.rs"),
    ];
    // FNV-1a: stable from one build to the next, unlike std's hasher.
    code.iter()
        .flat_map(|c| c.bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// The numbers of [`TICKETS_ASKED`] tickets spread evenly over the history.
async fn tickets_to_ask(url: &str, tickets: i64) -> Vec<String> {
    let mut db = sqlx::AnyConnection::connect(url)
        .await
        .expect("cannot open the seeded database");
    let step = (tickets / TICKETS_ASKED).max(1);
    let mut numbers = Vec::new();
    for k in 0..TICKETS_ASKED.min(tickets) {
        let row = sqlx::query("SELECT number FROM tickets WHERE id = $1")
            .bind(1 + k * step)
            .fetch_one(&mut db)
            .await
            .expect("a seeded ticket");
        numbers.push(row.get::<String, _>("number"));
    }
    numbers
}

/// The paths of the first [`PAGES`] pages of the list `first` asks for, each page after
/// the first by the previous one's `next_cursor`; each page is checked to be full.
fn pages(port: u16, headers: &[String], first: &str) -> Vec<String> {
    let mut paths = vec![first.to_string()];
    while paths.len() < PAGES {
        let last = paths.last().expect("a page");
        let (status, answer) = wrk::get(port, last, headers);
        assert_eq!(status, 200, "{last} answered {status}: {answer}");
        let page: serde_json::Value =
            serde_json::from_str(body(&answer)).expect("a JSON page of tickets");
        let shown = page["tickets"].as_array().map_or(0, Vec::len);
        let Some(cursor) = page["next_cursor"].as_str() else {
            break;
        };
        assert_eq!(shown, 50, "{last}: a page of {shown} tickets, not 50");
        let joiner = if first.contains('?') { '&' } else { '?' };
        paths.push(format!("{first}{joiner}cursor={cursor}"));
    }
    paths
}

/// The body of an HTTP answer.
fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

fn line(r: &Run) -> String {
    format!(
        "{:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, daemon {:.2} cores",
        r.measured.requests_per_sec, r.measured.p50_ms, r.measured.p99_ms, r.daemon_cores
    )
}

fn mb(kib: i64) -> f64 {
    kib as f64 / 1024.0
}

fn summary(label: &str, runs: &[Run]) {
    let mut rate: Vec<f64> = runs.iter().map(|r| r.measured.requests_per_sec).collect();
    let mut p50: Vec<f64> = runs.iter().map(|r| r.measured.p50_ms).collect();
    let mut p99: Vec<f64> = runs.iter().map(|r| r.measured.p99_ms).collect();
    let mut cores: Vec<f64> = runs.iter().map(|r| r.daemon_cores).collect();
    let (rate, p50, p99, cores) = (
        spread(&mut rate),
        spread(&mut p50),
        spread(&mut p99),
        spread(&mut cores),
    );
    println!(
        "\n{label}\n  \
         requests/s    median {:.0}  (min {:.0}, max {:.0})\n  \
         p50 ms        median {:.2}  (min {:.2}, max {:.2})\n  \
         p99 ms        median {:.2}  (min {:.2}, max {:.2})\n  \
         daemon cores  median {:.2}  (min {:.2}, max {:.2})",
        rate.0, rate.1, rate.2, p50.0, p50.1, p50.2, p99.0, p99.1, p99.2, cores.0, cores.1, cores.2
    );
}
