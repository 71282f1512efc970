//! Which SQL statements a piece of ticketgate ran, how often and how long each took, read
//! from the events sqlx emits for every statement (target `sqlx::query`: its text, rows
//! and elapsed time, timed inside the driver). Recording is off except around the runs the
//! bench wants to break down, so the timed runs pay nothing for it. The plans printed
//! after are the plans of the statements the code really ran, not of copies that could
//! drift from it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

static RECORDING: AtomicBool = AtomicBool::new(false);
static RECORDED: Mutex<Vec<Statement>> = Mutex::new(Vec::new());

/// One statement as sqlx reported it.
#[derive(Debug, Clone, Default)]
pub struct Statement {
    pub sql: String,
    pub elapsed_secs: f64,
    pub rows: u64,
}

/// The same statement run several times.
#[derive(Debug, Clone)]
pub struct Totals {
    pub sql: String,
    pub count: usize,
    pub total_secs: f64,
    pub rows: u64,
}

/// Installs the recorder as the process's subscriber (once, before any statement).
pub fn install() {
    // Dynamic: asked at every event (a plain filter_fn is asked once per call site, while
    // recording is off, and never again).
    let filter = tracing_subscriber::filter::dynamic_filter_fn(|meta, _| {
        meta.target() == "sqlx::query" && RECORDING.load(Ordering::Relaxed)
    });
    tracing_subscriber::registry()
        .with(Recorder.with_filter(filter))
        .init();
}

/// Runs `work` with recording on; what it ran, grouped by statement text, the slowest
/// first.
pub async fn record<T>(work: impl Future<Output = T>) -> (T, Vec<Totals>) {
    RECORDED.lock().unwrap().clear();
    RECORDING.store(true, Ordering::Relaxed);
    let value = work.await;
    RECORDING.store(false, Ordering::Relaxed);
    let recorded = std::mem::take(&mut *RECORDED.lock().unwrap());
    let mut grouped: BTreeMap<String, Totals> = BTreeMap::new();
    for s in recorded {
        let entry = grouped.entry(s.sql.clone()).or_insert(Totals {
            sql: s.sql,
            count: 0,
            total_secs: 0.0,
            rows: 0,
        });
        entry.count += 1;
        entry.total_secs += s.elapsed_secs;
        entry.rows += s.rows;
    }
    let mut totals: Vec<Totals> = grouped.into_values().collect();
    totals.sort_by(|a, b| b.total_secs.total_cmp(&a.total_secs));
    (value, totals)
}

/// Prints `totals` as a table: count, time, rows, and the statement on one line.
pub fn print(totals: &[Totals]) {
    let sum: f64 = totals.iter().map(|t| t.total_secs).sum();
    println!(
        "    {:>5} {:>9} {:>7}  statement (driver time {:.2} ms in all)",
        "runs",
        "ms",
        "rows",
        sum * 1e3
    );
    for t in totals {
        println!(
            "    {:>5} {:>9.3} {:>7}  {}",
            t.count,
            t.total_secs * 1e3,
            t.rows,
            one_line(&t.sql, 150)
        );
    }
}

/// `sql` with its whitespace folded, cut at `max` characters.
pub fn one_line(sql: &str, max: usize) -> String {
    let folded = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() > max {
        format!("{}…", folded.chars().take(max).collect::<String>())
    } else {
        folded
    }
}

struct Recorder;

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        // sqlx leaves `db.statement` empty when the summary (four words) is the statement.
        let sql = if fields.statement.trim().is_empty() {
            fields.summary
        } else {
            fields.statement.trim().to_string()
        };
        RECORDED.lock().unwrap().push(Statement {
            sql,
            elapsed_secs: fields.elapsed_secs,
            // A write reports what it changed, a read (or RETURNING) what it gave back.
            rows: fields.returned.max(fields.affected),
        });
    }
}

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
    elapsed_secs: f64,
    returned: u64,
    affected: u64,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_string(),
            "db.statement" => self.statement = value.to_string(),
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = value;
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "rows_returned" => self.returned = value,
            "rows_affected" => self.affected = value,
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // Strings can arrive through Debug when a subscriber does not specialise them.
        match field.name() {
            "summary" if self.summary.is_empty() => {
                self.summary = format!("{value:?}").trim_matches('"').to_string()
            }
            _ => {}
        }
    }
}
