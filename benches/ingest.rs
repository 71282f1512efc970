//! Whole-process ingest throughput: generates a Maildir of the benchmark mix, then runs
//! `ticketgate ingest MAILDIR` several times, each on a fresh data directory with the
//! embedded defaults (SQLite, WAL, synchronous=FULL), and prints wall time, mails per
//! second, CPU seconds per 1,000 mails (user+sys of the child) and the child's peak RSS,
//! with the median and the spread over the runs.
//!
//! `cargo bench --bench ingest`; environment: `BENCH_MAILS` (default 10000), `BENCH_RUNS`
//! (default 3), `BENCH_SEED` (default 1), `BENCH_BIN` (another ticketgate binary),
//! `BENCH_DATABASE` (a SQLite database each run starts from, copied into its data directory
//! before it is timed: the scale bench's seed of a million tickets, say), `BENCH_KEEP=1`
//! (keep the work directory and print where it is), `BENCH_POSTGRES` (a PostgreSQL server
//! URL without a database name: each run ingests into a fresh database of its own there,
//! with commits that wait for the disk as in production), `BENCH_INSTANCES` (default 1:
//! the Maildir is dealt out into that many, and as many `ingest` processes share one data
//! directory and one database, started together; the run lasts until the last one ends).

mod support;

#[allow(dead_code)]
#[path = "../tests/support/postgres.rs"]
mod postgres;

use support::child;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Instant;

/// What one run of the child cost.
struct RunCost {
    wall_secs: f64,
    cpu_secs: f64,
    max_rss_kib: i64,
    outcomes: BTreeMap<String, usize>,
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter that does not match skips the run.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !"ingest".contains(&f)) {
        return;
    }
    let mails: usize = child::env_or("BENCH_MAILS", 10_000);
    let runs: usize = child::env_or("BENCH_RUNS", 3);
    let seed: u64 = child::env_or("BENCH_SEED", 1);
    let binary = child::binary();

    let work = tempfile::Builder::new()
        .prefix("ticketgate-bench-")
        .tempdir()
        .expect("cannot create the work directory");
    let maildir = work.path().join("Maildir");
    let started = Instant::now();
    let summary =
        support::mailgen::write_maildir(&maildir, mails, seed).expect("cannot write the Maildir");
    println!(
        "generated {} mails ({:.1} MB) in {:.1} s: {} replies, {} with a 200 KB attachment, \
         {} HTML-only, {} ISO-8859-1 QP, {} windows-1252",
        summary.mails,
        summary.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        summary.replies,
        summary.attachments,
        summary.html_only,
        summary.latin1,
        summary.windows1252,
    );
    println!("binary: {}", binary.display());
    let instances: usize = child::env_or("BENCH_INSTANCES", 1).max(1);
    let parts = deal_out(&maildir, instances);
    let postgres = std::env::var("BENCH_POSTGRES")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let runtime = tokio::runtime::Runtime::new().expect("a runtime for the PostgreSQL set-up");

    let mut costs = Vec::new();
    for run in 1..=runs {
        let dir = work.path().join(format!("run{run}"));
        std::fs::create_dir_all(&dir).expect("cannot create the run directory");
        if let Some(database) = std::env::var_os("BENCH_DATABASE") {
            start_from(Path::new(&database), &dir);
        }
        // Dropped, and the database with it, at the end of the run.
        let database = postgres.as_deref().map(|server| {
            runtime.block_on(async {
                let db = postgres::PgDatabase::create(server).await;
                db.wait_for_the_disk_at_each_commit().await;
                db
            })
        });
        let url = database.as_ref().map(|db| db.url());
        let env: Vec<(&str, &str)> = url
            .iter()
            .map(|url| ("TICKETGATE_DATABASE__URL", url.as_str()))
            .collect();
        let cost = run_ingest(&binary, &parts, &dir, &env);
        drop(database);
        println!(
            "run {run}: {:.2} s wall, {:.0} mails/s, {:.3} CPU s per 1,000 mails, \
             peak RSS {:.0} MB, outcomes {:?}",
            cost.wall_secs,
            mails as f64 / cost.wall_secs,
            cost.cpu_secs * 1000.0 / mails as f64,
            cost.max_rss_kib as f64 / 1024.0,
            cost.outcomes,
        );
        costs.push(cost);
        // Each run's directory stays until the end: deleting thousands of files just
        // before the next run makes ext4 skip their recently freed inodes while it looks
        // for free ones, which made each file creation of the next run cost several times
        // more than on a server, where raw mail is only deleted by the daily purge.
    }
    report(mails, &costs);
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("kept {}", work.keep().display());
    }
}

/// Copies the SQLite database `database` into `dir`'s data directory and syncs the copy
/// (not timed), so that the run ingests into what it holds.
fn start_from(database: &Path, dir: &Path) {
    let started = Instant::now();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("cannot create the data directory");
    copy_synced(database, &data.join("ticketgate.db"), "BENCH_DATABASE");
    // What the database's last writer left in its write-ahead log is part of it.
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        copy_synced(Path::new(&wal), &data.join("ticketgate.db-wal"), "its WAL");
    }
    println!(
        "copied {} in {:.1} s (not timed)",
        database.display(),
        started.elapsed().as_secs_f64()
    );
}

/// Copies `from` to `to` and syncs the copy. A copy of gigabytes is as many dirty pages:
/// written back during the run, they would compete with the run's own writes and syncs, a
/// cost of the bench, not of the database's size.
fn copy_synced(from: &Path, to: &Path, what: &str) {
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("cannot copy {what}: {e}"));
    std::fs::File::open(to)
        .and_then(|file| file.sync_all())
        .unwrap_or_else(|e| panic!("cannot sync the copy of {what}: {e}"));
}

/// `maildir` itself for one instance; else that many Maildirs beside it, the mails dealt
/// out in turn (hard links), each keeping the order they had.
fn deal_out(maildir: &Path, instances: usize) -> Vec<PathBuf> {
    if instances == 1 {
        return vec![maildir.to_path_buf()];
    }
    let parts: Vec<PathBuf> = (0..instances)
        .map(|i| maildir.with_file_name(format!("Maildir-{i}")))
        .collect();
    for part in &parts {
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(part.join(sub)).expect("cannot create a Maildir");
        }
    }
    let mut names: Vec<_> = std::fs::read_dir(maildir.join("new"))
        .expect("cannot read the Maildir")
        .map(|entry| entry.expect("cannot read the Maildir").file_name())
        .collect();
    names.sort();
    for (i, name) in names.iter().enumerate() {
        let from = maildir.join("new").join(name);
        std::fs::hard_link(&from, parts[i % instances].join("new").join(name))
            .expect("cannot link a mail into its part");
    }
    parts
}

/// Runs `ticketgate ingest MAILDIR` in `dir` (so `data_dir = "data"` lands there) for each
/// of `maildirs` at once, each process's report lines going to a file of its own, and reads
/// each child's rusage with wait4: the wall time until the last ends, the CPU of all.
/// A database that needs creating is made (and migrated) first, untimed, by
/// `ticketgate migrate`, so that the instances do not start by racing to make it.
fn run_ingest(binary: &Path, maildirs: &[PathBuf], dir: &Path, env: &[(&str, &str)]) -> RunCost {
    if maildirs.len() > 1 || !env.is_empty() {
        let migrate = child::command(binary, dir, &["migrate"], env);
        let cost = child::run(migrate, &dir.join("migrate.out"), &dir.join("migrate.err"));
        assert_eq!(
            cost.exit,
            Some(0),
            "ticketgate migrate failed in {}",
            dir.display()
        );
    }
    child::reset_peak();
    let started = Instant::now();
    let children: Vec<(Child, PathBuf)> = maildirs
        .iter()
        .enumerate()
        .map(|(i, maildir)| {
            let report = dir.join(format!("ingest-{i}.out"));
            let maildir = maildir
                .to_str()
                .expect("the work directory's path is UTF-8");
            let mut command = child::command(binary, dir, &["ingest", maildir], env);
            command
                .stdout(std::fs::File::create(&report).expect("cannot create the report"))
                .stderr(
                    std::fs::File::create(dir.join(format!("ingest-{i}.err")))
                        .expect("cannot create the log"),
                );
            (command.spawn().expect("cannot start ticketgate"), report)
        })
        .collect();
    let mut total = RunCost {
        wall_secs: 0.0,
        cpu_secs: 0.0,
        max_rss_kib: 0,
        outcomes: BTreeMap::new(),
    };
    for (process, report) in children {
        let cost = child::reap(process, started);
        // 2 (some message quarantined) is a result to report, not a failure of the bench.
        assert!(
            matches!(cost.exit, Some(0) | Some(2)),
            "ticketgate ingest ended with {:?}; its report is {}",
            cost.exit,
            report.display()
        );
        total.wall_secs = total.wall_secs.max(cost.wall_secs);
        total.cpu_secs += cost.cpu_secs;
        total.max_rss_kib = total.max_rss_kib.max(cost.max_rss_kib);
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        for line in text.lines() {
            let outcome = line
                .rsplit_once(": ")
                .map(|(_, rest)| rest.split_whitespace().next().unwrap_or(""))
                .unwrap_or("");
            *total.outcomes.entry(outcome.to_string()).or_insert(0) += 1;
        }
    }
    total
}

fn report(mails: usize, costs: &[RunCost]) {
    if costs.is_empty() {
        return;
    }
    let n = mails as f64;
    let line = |label: &str, unit: &str, mut values: Vec<f64>| {
        let (mid, min, max) = child::spread(&mut values);
        println!("{label:<26} median {mid:>9.3} {unit:<8} (min {min:.3}, max {max:.3})");
    };
    println!("--- {} runs of {mails} mails ---", costs.len());
    line(
        "wall time",
        "s",
        costs.iter().map(|c| c.wall_secs).collect(),
    );
    line(
        "throughput",
        "mails/s",
        costs.iter().map(|c| n / c.wall_secs).collect(),
    );
    line(
        "CPU per 1,000 mails",
        "s",
        costs.iter().map(|c| c.cpu_secs * 1000.0 / n).collect(),
    );
    line(
        "CPU utilisation",
        "cores",
        costs.iter().map(|c| c.cpu_secs / c.wall_secs).collect(),
    );
    line(
        "peak RSS",
        "MB",
        costs
            .iter()
            .map(|c| c.max_rss_kib as f64 / 1024.0)
            .collect(),
    );
}
