//! A million tickets: how long one auto-close run takes on a database that size, how long
//! `tickets list --status resolved` takes, and how many bytes a ticket costs.
//!
//! The database is made by `ticketgate migrate` (the real migrations) in a temporary
//! directory, on the embedded defaults (SQLite, WAL, synchronous=FULL), then seeded
//! set-based (see `scale/seed.rs` for what a ticket holds). Each auto-close run is timed in
//! process, around `Jobs::run` (what the scheduler calls), and as a whole process (`jobs run
//! auto-close --now …`, with its start-up and migration check). Runs act as of the seed's
//! `t0` plus 10-minute ticks, as the daemon's schedule does: the first closes what was due
//! while the daemon was stopped for an hour, each tick after closes the solutions that
//! reached their 7 days within the last 10 minutes, and a run repeated on the same tick
//! finds nothing due. The statements of a run are recorded with their driver time and
//! their query plans printed.
//!
//! `cargo bench --bench scale`; environment: `BENCH_TICKETS` (default 1000000),
//! `BENCH_RUNS` (default 5), `BENCH_POSTGRES` (a server URL without a database name, e.g.
//! `postgres://postgres@127.0.0.1:5432`: the same pass on a fresh database of that server,
//! dropped after), `BENCH_SQLITE=0` (skip the SQLite pass), `BENCH_BIN` (another
//! ticketgate binary), `BENCH_KEEP=1` (keep the work directory and the PostgreSQL database).

mod support;

#[path = "scale/plans.rs"]
mod plans;
#[allow(dead_code)]
#[path = "../tests/support/postgres.rs"]
mod postgres;
#[path = "scale/seed.rs"]
mod seed;
#[path = "scale/statements.rs"]
mod statements;
#[path = "scale/survey.rs"]
mod survey;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sqlx::{Connection, Row};
use ticketgate::clock::FixedClock;
use ticketgate::config::{ConfigSource, Settings};
use ticketgate::service::{JobKind, Jobs};

use seed::Backend;
use support::child::{self, env_or, spread};

/// The moment the seeded history ends: tickets were opened up to just before it.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

/// The auto-close's default schedule: every 10 minutes.
fn tick() -> Duration {
    Duration::minutes(10)
}

/// The figures of one pass, for the closing summary.
struct Figures {
    backend: &'static str,
    tickets: i64,
    seed_secs: f64,
    catch_up: (usize, f64),
    tick_ms: (f64, f64, f64),
    tick_closed: (f64, f64, f64),
    idle_ms: (f64, f64, f64),
    cli_idle_ms: (f64, f64, f64),
    cli_tick_ms: (f64, f64, f64),
    list_ms: (f64, f64, f64),
    list_lines: usize,
    bytes: u64,
    flagged_plans: usize,
}

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !"scale".contains(&f)) {
        return;
    }
    let tickets: i64 = env_or("BENCH_TICKETS", 1_000_000);
    let runs: usize = env_or::<usize>("BENCH_RUNS", 5).max(1);
    let keep = std::env::var_os("BENCH_KEEP").is_some();
    let postgres_server = std::env::var("BENCH_POSTGRES")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let binary = child::binary();
    println!("binary: {}", binary.display());
    statements::install();
    sqlx::any::install_default_drivers();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let work = tempfile::Builder::new()
        .prefix("ticketgate-scale-")
        .tempdir()
        .expect("cannot create the work directory");
    let mut figures = Vec::new();
    if env_or("BENCH_SQLITE", 1) != 0 {
        let dir = work.path().join("sqlite");
        std::fs::create_dir_all(&dir).expect("cannot create the SQLite directory");
        let url = format!("sqlite://{}", dir.join("data/ticketgate.db").display());
        figures.push(runtime.block_on(pass(
            Backend::Sqlite,
            &binary,
            &dir,
            &url,
            false,
            tickets,
            runs,
        )));
    }
    if let Some(server) = postgres_server {
        let dir = work.path().join("postgres");
        std::fs::create_dir_all(&dir).expect("cannot create the PostgreSQL directory");
        let database = runtime.block_on(postgres::PgDatabase::create(&server));
        let url = database.url();
        figures.push(runtime.block_on(pass(
            Backend::Postgres,
            &binary,
            &dir,
            &url,
            true,
            tickets,
            runs,
        )));
        if keep {
            println!(
                "kept the database {}",
                ticketgate::config::DatabaseUrl::redact(&url)
            );
            std::mem::forget(database);
        }
    }
    summary(&figures, runs);
    if keep {
        println!("kept {}", work.keep().display());
    }
}

/// Seeds one database and measures on it.
async fn pass(
    backend: Backend,
    binary: &Path,
    dir: &Path,
    url: &str,
    url_in_env: bool,
    tickets: i64,
    runs: usize,
) -> Figures {
    let name = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    println!("=== {name}: {tickets} tickets ===");
    let env: Vec<(&str, &str)> = if url_in_env {
        vec![("TICKETGATE_DATABASE__URL", url)]
    } else {
        Vec::new()
    };
    let cli = |args: &[&str], tag: &str| {
        let out = dir.join(format!("{tag}.out"));
        let cost = child::run(
            child::command(binary, dir, args, &env),
            &out,
            &dir.join(format!("{tag}.log")),
        );
        assert_eq!(
            cost.exit,
            Some(0),
            "ticketgate {args:?} failed; see {}",
            dir.join(format!("{tag}.log")).display()
        );
        let lines = std::fs::read_to_string(&out).unwrap_or_default();
        (cost, lines)
    };
    cli(&["migrate"], "migrate");
    if backend == Backend::Postgres {
        insist_on_durable_commits(url).await;
    }

    let seeded = seed::seed(url, backend, tickets, t0().timestamp_millis())
        .await
        .expect("cannot seed the database");
    println!("seeded in {:.1} s:", seeded.total_secs);
    for (step, secs) in &seeded.steps {
        println!("  {step:<32} {secs:>7.2} s");
    }
    let mut admin = sqlx::AnyConnection::connect(url)
        .await
        .expect("cannot connect to the seeded database");
    describe(&mut admin).await;

    let mut settings_env = vec![(
        "TICKETGATE_DATA_DIR".to_string(),
        dir.join("data").display().to_string(),
    )];
    if url_in_env {
        settings_env.push(("TICKETGATE_DATABASE__URL".into(), url.to_string()));
    }
    let settings = Settings::from_toml("", ConfigSource::Embedded, settings_env)
        .expect("the embedded defaults are valid");
    let store = ticketgate::app::open_store(&settings)
        .await
        .expect("cannot open the store");
    let clock = Arc::new(FixedClock::new(t0()));
    let jobs = Jobs::new(store.clone(), Arc::new(settings), clock.clone());
    let run = || async {
        let started = Instant::now();
        let report = jobs
            .run(JobKind::AutoClose, "manual")
            .await
            .expect("the auto-close failed");
        (started.elapsed().as_secs_f64() * 1e3, report.lines.len())
    };

    // The catch-up: what fell due while the daemon was stopped, statement by statement.
    let ((catch_up_ms, catch_up_closed), catch_up_statements) = statements::record(run()).await;
    println!(
        "auto-close as of t0 (catch-up after an hour stopped): closed {catch_up_closed} in \
         {catch_up_ms:.1} ms; its statements:"
    );
    statements::print(&catch_up_statements);

    let mut tick_ms = Vec::new();
    let mut tick_closed = Vec::new();
    for k in 1..=runs {
        clock.set(t0() + tick() * k as i32);
        let (ms, closed) = run().await;
        println!(
            "auto-close tick {k} (t0 + {}0 min): closed {closed} in {ms:.2} ms",
            k
        );
        tick_ms.push(ms);
        tick_closed.push(closed as f64);
    }
    let mut idle_ms = Vec::new();
    for _ in 0..runs {
        let (ms, closed) = run().await;
        assert_eq!(closed, 0, "a repeated tick found tickets due");
        idle_ms.push(ms);
    }
    let (_, idle_statements) = statements::record(run()).await;
    println!(
        "auto-close with nothing due: {}; its statements:",
        show(spread(&mut idle_ms.clone()), "ms")
    );
    statements::print(&idle_statements);

    println!("other reads, once each:");
    let mut plan_input = catch_up_statements.clone();
    plan_input.extend(survey::run(&store, t0() + tick() * runs as i32).await);
    println!("query plans (the auto-close's statements, then the other reads'):");
    let flagged = plans::print(&mut admin, backend, &plan_input)
        .await
        .expect("cannot read the query plans");
    store.close().await;

    // Whole processes, as an operator or a cron job would run them.
    let last_tick = t0() + tick() * runs as i32;
    let mut cli_idle_ms = Vec::new();
    let mut cli_tick_ms = Vec::new();
    for k in 1..=runs {
        let now = last_tick.to_rfc3339();
        let (cost, _) = cli(&["jobs", "run", "auto-close", "--now", &now], "idle");
        cli_idle_ms.push(cost.wall_secs * 1e3);
        let now = (last_tick + tick() * k as i32).to_rfc3339();
        let (cost, out) = cli(&["jobs", "run", "auto-close", "--now", &now], "tick");
        cli_tick_ms.push(cost.wall_secs * 1e3);
        println!(
            "jobs run auto-close: nothing due {:.1} ms; next tick {:.1} ms ({})",
            cli_idle_ms[k - 1],
            cost.wall_secs * 1e3,
            out.lines().next().unwrap_or("").trim()
        );
    }
    let mut list_ms = Vec::new();
    let mut list_lines = 0;
    for _ in 0..runs {
        let (cost, out) = cli(&["tickets", "list", "--status", "resolved"], "list");
        list_ms.push(cost.wall_secs * 1e3);
        list_lines = out.lines().count();
        println!(
            "tickets list --status resolved: {:.1} ms, {} lines, {:.1} CPU ms",
            cost.wall_secs * 1e3,
            list_lines,
            cost.cpu_secs * 1e3,
        );
    }
    // Every resolved ticket, and every ticket: what the default page spares.
    for (args, tag) in [
        (
            &["tickets", "list", "--status", "resolved", "--limit", "0"][..],
            "list-resolved-all",
        ),
        (&["tickets", "list", "--limit", "0"][..], "list-all"),
    ] {
        let (cost, out) = cli(args, tag);
        println!(
            "{}: {:.1} ms, {} lines, {:.1} CPU ms",
            args.join(" "),
            cost.wall_secs * 1e3,
            out.lines().count(),
            cost.cpu_secs * 1e3,
        );
    }

    let bytes = size(&mut admin, backend, dir, tickets).await;
    admin.close().await.ok();
    Figures {
        backend: name,
        tickets,
        seed_secs: seeded.total_secs,
        catch_up: (catch_up_closed, catch_up_ms),
        tick_ms: spread(&mut tick_ms),
        tick_closed: spread(&mut tick_closed),
        idle_ms: spread(&mut idle_ms),
        cli_idle_ms: spread(&mut cli_idle_ms),
        cli_tick_ms: spread(&mut cli_tick_ms),
        list_ms: spread(&mut list_ms),
        list_lines,
        bytes,
        flagged_plans: flagged,
    }
}

/// The test helper makes throwaway databases that do not wait for the disk at commit; a
/// measurement of commits must, as a production server does.
async fn insist_on_durable_commits(url: &str) {
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .expect("cannot connect to PostgreSQL");
    let name: String = sqlx::query("SELECT current_database()::text")
        .fetch_one(&mut conn)
        .await
        .and_then(|r| r.try_get(0))
        .expect("cannot read the database name");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{name}\" SET synchronous_commit = on"
    )))
    .execute(&mut conn)
    .await
    .expect("cannot make commits durable");
    conn.close().await.ok();
    // A database's settings apply to the sessions opened after they change.
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .expect("cannot connect to PostgreSQL");
    for setting in ["fsync", "synchronous_commit", "shared_buffers"] {
        let value: String = sqlx::query(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
            .fetch_one(&mut conn)
            .await
            .and_then(|r| r.try_get(0))
            .unwrap_or_default();
        println!("server {setting} = {value}");
    }
    conn.close().await.ok();
}

/// The status mix and what is due at t0.
async fn describe(conn: &mut sqlx::AnyConnection) {
    let rows = sqlx::query(
        "SELECT status, COUNT(*) AS n FROM tickets GROUP BY status ORDER BY COUNT(*) DESC",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("cannot count tickets");
    let mix: Vec<String> = rows
        .iter()
        .map(|r| {
            let status: String = r.try_get("status").unwrap_or_default();
            let n: i64 = r.try_get("n").unwrap_or_default();
            format!("{status} {n}")
        })
        .collect();
    println!("statuses: {}", mix.join(", "));
    let mut counts = Vec::new();
    for table in ["articles", "messages", "outbox"] {
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&mut *conn)
            .await
            .and_then(|r| r.try_get(0))
            .expect("cannot count rows");
        counts.push(format!("{table} {n}"));
    }
    println!("rows: {}", counts.join(", "));
    let due: i64 =
        sqlx::query("SELECT COUNT(*) FROM tickets WHERE status = 'resolved' AND resolved_at < $1")
            .bind((t0() - Duration::days(7)).timestamp_millis())
            .fetch_one(&mut *conn)
            .await
            .and_then(|r| r.try_get(0))
            .expect("cannot count due tickets");
    println!("resolved and due for auto-close at t0: {due}");
}

/// The database's size, per ticket, and its largest tables.
async fn size(conn: &mut sqlx::AnyConnection, backend: Backend, dir: &Path, tickets: i64) -> u64 {
    let (total, parts): (u64, Vec<(String, i64)>) = match backend {
        Backend::Sqlite => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *conn)
                .await
                .expect("cannot checkpoint");
            let files: u64 = ["ticketgate.db", "ticketgate.db-wal"]
                .iter()
                .map(|f| file_len(&dir.join("data").join(f)))
                .sum();
            let rows = sqlx::query(
                "SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY 2 DESC",
            )
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
            (files, named_sizes(&rows))
        }
        Backend::Postgres => {
            let total: i64 = sqlx::query("SELECT pg_database_size(current_database())")
                .fetch_one(&mut *conn)
                .await
                .and_then(|r| r.try_get(0))
                .expect("cannot read the database size");
            let rows = sqlx::query(
                "SELECT relname::text AS name, pg_total_relation_size(oid) AS bytes FROM pg_class \
                 WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 2 DESC",
            )
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
            (total as u64, named_sizes(&rows))
        }
    };
    println!(
        "database size: {:.2} GB, {:.0} bytes per ticket; largest parts:",
        total as f64 / 1e9,
        total as f64 / tickets as f64
    );
    for (name, bytes) in parts.iter().take(24) {
        println!(
            "  {name:<32} {:>8.1} MB {:>7.0} B/ticket",
            *bytes as f64 / 1e6,
            *bytes as f64 / tickets as f64
        );
    }
    total
}

fn named_sizes(rows: &[sqlx::any::AnyRow]) -> Vec<(String, i64)> {
    rows.iter()
        .filter_map(|r| Some((r.try_get("name").ok()?, r.try_get("bytes").ok()?)))
        .collect()
}

fn file_len(path: &PathBuf) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn show((median, min, max): (f64, f64, f64), unit: &str) -> String {
    format!("median {median:.2} {unit} (min {min:.2}, max {max:.2})")
}

fn summary(figures: &[Figures], runs: usize) {
    println!("--- summary ({runs} runs each; target: an auto-close run ≤ 100 ms) ---");
    for f in figures {
        println!(
            "{} with {} tickets (seeded in {:.0} s, {:.2} GB, {:.0} B/ticket, {} plan lines \
             marked):",
            f.backend,
            f.tickets,
            f.seed_secs,
            f.bytes as f64 / 1e9,
            f.bytes as f64 / f.tickets as f64,
            f.flagged_plans
        );
        println!(
            "  auto-close, nothing due, in process: {}",
            show(f.idle_ms, "ms")
        );
        println!(
            "  auto-close, one tick ({:.0} closed), in process: {}",
            f.tick_closed.0,
            show(f.tick_ms, "ms")
        );
        println!(
            "  auto-close, catch-up ({} closed), in process: {:.1} ms",
            f.catch_up.0, f.catch_up.1
        );
        println!(
            "  jobs run auto-close (process), nothing due: {}",
            show(f.cli_idle_ms, "ms")
        );
        println!(
            "  jobs run auto-close (process), one tick: {}",
            show(f.cli_tick_ms, "ms")
        );
        println!(
            "  tickets list --status resolved ({} lines): {}",
            f.list_lines,
            show(f.list_ms, "ms")
        );
    }
}
