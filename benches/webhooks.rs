//! Webhooks delivered per second: new-ticket mails of the mix are ingested with `ticketgate
//! ingest` while no daemon runs (not timed), which queues one `ticket_opened` webhook row
//! (and one acknowledgement mail) per ticket. Each run copies that database, starts
//! `ticketgate run`, and times from the spawn until a receiver in this process has had the
//! last POST.
//!
//! The configuration has one `[[webhook]]` (events `ticket_opened`, a `whsec_` secret
//! written in it) pointing at the receiver on loopback, which answers 204 and checks the
//! Standard Webhooks signature of the first POSTs; the portal is off (`[http] listen =
//! ""`), and the acknowledgements go out by the `file` transport (the default), in their own
//! lane of the outbox beside the webhooks.
//!
//! `cargo bench --bench webhooks`; environment: `BENCH_MAILS` (new mails ingested, so
//! webhooks queued; default 5000), `BENCH_RUNS` (3), `BENCH_SEED` (1), `BENCH_BIN` (another
//! binary), `BENCH_KEEP=1` (keep the work directory: logs, databases).

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use support::child::{self, env_or, proc_status_kib, process_cpu_secs, spread};
use support::mailgen::MailGen;

/// The signing key of the bench's webhook (the Standard Webhooks specification's example).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// POSTs whose signature the receiver checks (each costs it an HMAC).
const CHECKED: usize = 50;

/// What the receiver saw.
#[derive(Default)]
struct Received {
    count: AtomicUsize,
    /// When the latest POST came.
    last: Mutex<Option<Instant>>,
    first: Mutex<Option<Instant>>,
    /// POSTs whose signature did not match, or that had none.
    bad_signatures: AtomicUsize,
    checked: AtomicUsize,
}

/// What one run measured.
struct RunCost {
    received: usize,
    /// From the spawn to the last POST received.
    wall_secs: f64,
    first_secs: f64,
    daemon_cpu_secs: f64,
    daemon_rss_kib: i64,
}

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !"webhooks".contains(&f)) {
        return;
    }
    let mails: usize = env_or("BENCH_MAILS", 5_000);
    let runs: usize = env_or::<usize>("BENCH_RUNS", 3).max(1);
    let seed: u64 = env_or("BENCH_SEED", 1);
    let binary = child::binary();
    println!("binary: {}", binary.display());
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let received = Arc::new(Received::default());
    let port = runtime.block_on(receiver(received.clone()));

    let work = tempfile::Builder::new()
        .prefix("ticketgate-webhooks-")
        .tempdir()
        .expect("cannot create the work directory");
    let template = work.path().join("template");
    write_config(&template, port);
    let queued = queue(&binary, &template, mails, seed);

    let mut costs = Vec::new();
    for run in 1..=runs {
        let dir = work.path().join(format!("run{run}"));
        write_config(&dir, port);
        copy_database(&template.join("data"), &dir.join("data"));
        received.count.store(0, Ordering::SeqCst);
        *received.first.lock().unwrap() = None;
        *received.last.lock().unwrap() = None;
        let cost = one_run(&binary, &dir, &received, queued);
        println!(
            "run {run}: {} webhooks in {:.2} s from start ({:.0}/s), first after {:.2} s, \
             daemon CPU {:.3} s per 1,000, RSS {:.1} MB",
            cost.received,
            cost.wall_secs,
            cost.received as f64 / cost.wall_secs,
            cost.first_secs,
            cost.daemon_cpu_secs * 1000.0 / cost.received as f64,
            cost.daemon_rss_kib as f64 / 1024.0,
        );
        costs.push(cost);
    }
    let checked = received.checked.load(Ordering::SeqCst);
    let bad = received.bad_signatures.load(Ordering::SeqCst);
    println!("signatures checked: {checked}, bad: {bad}");
    assert!(checked > 0 && bad == 0, "webhook-signature did not verify");
    report(queued, &costs);
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("kept {}", work.keep().display());
    }
}

/// The configuration of the bench's installs: one webhook to the receiver, no portal.
fn write_config(dir: &Path, port: u16) {
    std::fs::create_dir_all(dir.join("config")).expect("cannot create the config directory");
    let config = format!(
        "[http]\nlisten = \"\"\n\n\
         [smtp]\ntransport = \"file\"\n\n\
         [[webhook]]\nname = \"bench\"\nurl = \"http://127.0.0.1:{port}/hook\"\n\
         secret = \"{SECRET}\"\nevents = [\"ticket_opened\"]\n"
    );
    std::fs::write(dir.join("config/ticketgate.toml"), config).expect("cannot write the config");
}

/// Writes `count` new mails of the mix (no replies: each opens a ticket) into a Maildir
/// and ingests them in `dir`; returns how many webhook rows they queued.
fn queue(binary: &Path, dir: &Path, count: usize, seed: u64) -> usize {
    let started = Instant::now();
    let maildir = dir.join("mail");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("cannot create the Maildir");
    }
    let mut generator = MailGen::new(seed);
    let mails = std::iter::from_fn(|| Some(generator.next_mail()))
        .filter(|(shape, _)| !shape.reply)
        .take(count);
    for (i, (_, mail)) in mails.enumerate() {
        std::fs::write(maildir.join("new").join(format!("{i:06}.bench")), mail)
            .expect("cannot write a mail");
    }
    let ingested = child::run(
        child::command(binary, dir, &["ingest", "mail"], &[]),
        &dir.join("ingest.out"),
        &dir.join("ingest.log"),
    );
    assert_eq!(ingested.exit, Some(0), "ingest failed; see ingest.log");
    let url = format!("sqlite://{}", dir.join("data/ticketgate.db").display());
    let queued = tokio::runtime::Runtime::new()
        .expect("a tokio runtime")
        .block_on(async {
            use sqlx::Connection;
            let mut db = sqlx::SqliteConnection::connect(&url)
                .await
                .expect("cannot open the database");
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM outbox WHERE channel = 'webhook' AND status = 'pending'",
            )
            .fetch_one(&mut db)
            .await
            .expect("the webhook rows");
            n as usize
        });
    println!(
        "queued {queued} webhooks by ingesting {count} new mails in {:.1} s (not timed)",
        started.elapsed().as_secs_f64()
    );
    assert!(queued > 0, "no webhook row was queued");
    queued
}

/// Copies the files of a data directory (the database and the link key; not the
/// attachments and raw mail, which neither a webhook nor an acknowledgement reads).
fn copy_database(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("cannot create the data directory");
    for entry in std::fs::read_dir(from)
        .expect("the template's data")
        .flatten()
    {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("cannot copy");
        }
    }
}

fn one_run(binary: &Path, dir: &Path, received: &Received, queued: usize) -> RunCost {
    let log = dir.join("daemon.log");
    let (daemon, started) = child::spawn_daemon(binary, dir, &[], &log);
    let pid = daemon.id();
    let deadline = started + Duration::from_secs(60 + queued as u64 / 20);
    while received.count.load(Ordering::SeqCst) < queued {
        assert!(
            Instant::now() < deadline,
            "{} of {queued} webhooks received in time; see {}",
            received.count.load(Ordering::SeqCst),
            log.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let daemon_cpu_secs = process_cpu_secs(pid).unwrap_or(0.0);
    let daemon_rss_kib = proc_status_kib(pid, "VmHWM").unwrap_or(0);
    child::stop_daemon(daemon, started, &log);
    let since = |at: &Mutex<Option<Instant>>| {
        at.lock()
            .unwrap()
            .map_or(f64::NAN, |t| (t - started).as_secs_f64())
    };
    RunCost {
        received: received.count.load(Ordering::SeqCst),
        wall_secs: since(&received.last),
        first_secs: since(&received.first),
        daemon_cpu_secs,
        daemon_rss_kib,
    }
}

/// Starts the receiver on a loopback port of its own: every POST is counted and answered
/// 204, the first [`CHECKED`] have their signature checked.
async fn receiver(received: Arc<Received>) -> u16 {
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(received);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("cannot bind the receiver");
    let port = listener.local_addr().expect("its address").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

async fn hook(
    State(received): State<Arc<Received>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let now = Instant::now();
    if received.checked.load(Ordering::SeqCst) < CHECKED {
        received.checked.fetch_add(1, Ordering::SeqCst);
        if !signed(&headers, &body) {
            received.bad_signatures.fetch_add(1, Ordering::SeqCst);
        }
    }
    received.first.lock().unwrap().get_or_insert(now);
    *received.last.lock().unwrap() = Some(now);
    received.count.fetch_add(1, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

/// Whether `webhook-signature` holds the HMAC-SHA256 of `{id}.{timestamp}.{body}` with the
/// secret's key, as Standard Webhooks receivers check it.
fn signed(headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(timestamp), Some(signatures)) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) else {
        return false;
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64
        .decode(SECRET.trim_start_matches("whsec_"))
        .expect("the bench's key is base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    signatures.split(' ').any(|s| s == expected)
}

fn report(queued: usize, costs: &[RunCost]) {
    let values = |f: &dyn Fn(&RunCost) -> f64| costs.iter().map(f).collect::<Vec<_>>();
    let line = |label: &str, unit: &str, mut v: Vec<f64>| {
        let (median, min, max) = spread(&mut v);
        let digits = if median >= 100.0 { 0 } else { 3 };
        println!(
            "  {label:<26} median {median:.digits$}{unit}  (min {min:.digits$}, max {max:.digits$})"
        );
    };
    println!("\n{queued} webhooks queued, {} runs", costs.len());
    line(
        "webhooks per second",
        "/s",
        values(&|c| c.received as f64 / c.wall_secs),
    );
    line("start to last received", " s", values(&|c| c.wall_secs));
    line("start to first received", " s", values(&|c| c.first_secs));
    line(
        "daemon CPU per 1,000",
        " s",
        values(&|c| c.daemon_cpu_secs * 1000.0 / c.received as f64),
    );
}
