//! The query plans of statements ticketgate ran: `EXPLAIN QUERY PLAN` on SQLite, the
//! generic plan of a prepared statement on PostgreSQL (what a statement sqlx has prepared
//! and run a few times ends up using, whatever its parameters). A full scan of a table is
//! marked, since on a million tickets that is what makes a statement slow; so are sorts.

use sqlx::{AssertSqlSafe, Executor, Row};

use crate::seed::Backend;
use crate::statements::{Totals, one_line};

/// What a plan line says about the statement's cost on a large table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Fine,
    /// Reads a whole table that grows with the tickets: slow on a million of them.
    Scan,
    /// Walks an index in the order asked for and stops at the statement's LIMIT.
    OrderedWalk,
    /// Sorts what the lines above found: cheap when they found a few rows.
    Sort,
    /// SQLite plans, for a row inserted into a table others reference, a scan of each
    /// referencing table; it runs only while a deferred foreign-key violation is pending
    /// (`OP_FkIfZero` skips it otherwise), so never here: the statement's time shows it.
    ForeignKeyBookkeeping,
}

/// The tables that grow with the tickets: a scan of any other (job_runs, an empty
/// ticket_reminders) reads a few pages.
const LARGE: &[&str] = &["tickets", "articles", "messages", "outbox"];

fn names_large_table(line: &str) -> bool {
    line.split(|c: char| !c.is_alphanumeric() && c != '_')
        .any(|word| LARGE.contains(&word))
}

fn mark(backend: Backend, statement: &str, line: &str) -> Mark {
    let line = line.trim_start();
    let upper = statement.to_uppercase();
    let insert = upper.trim_start().starts_with("INSERT");
    let limited = upper.contains(" LIMIT ");
    match backend {
        Backend::Sqlite if line.starts_with("SCAN ") && names_large_table(line) => {
            if insert {
                Mark::ForeignKeyBookkeeping
            } else if line.contains(" USING ") && limited {
                Mark::OrderedWalk
            } else {
                Mark::Scan
            }
        }
        Backend::Sqlite if line.contains("TEMP B-TREE") => Mark::Sort,
        Backend::Postgres if line.contains("Seq Scan") && names_large_table(line) => Mark::Scan,
        Backend::Postgres if line.contains("Sort") && !line.contains("Sort Key") => Mark::Sort,
        _ => Mark::Fine,
    }
}

/// Prints the plan of each statement in `totals` (transaction control and the like
/// skipped); how many plan lines read a whole table.
pub async fn print(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    totals: &[Totals],
) -> Result<usize, sqlx::Error> {
    let mut flagged = 0;
    for t in totals {
        let first = t.sql.split_whitespace().next().unwrap_or("").to_uppercase();
        if !matches!(
            first.as_str(),
            "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "WITH"
        ) {
            continue;
        }
        let lines = match backend {
            Backend::Sqlite => sqlite_plan(conn, &t.sql).await?,
            Backend::Postgres => postgres_plan(conn, &t.sql).await?,
        };
        println!("  {}", one_line(&t.sql, 140));
        for line in &lines {
            let note = match mark(backend, &t.sql, line) {
                Mark::Fine => "",
                Mark::Scan => {
                    flagged += 1;
                    "  <- SCANS A WHOLE TABLE"
                }
                Mark::Sort => "  <- sorts the rows found",
                Mark::OrderedWalk => "  <- walks the index in order, stops at the LIMIT",
                Mark::ForeignKeyBookkeeping => {
                    "  <- foreign-key check, skipped unless a deferred violation is pending"
                }
            };
            println!("      {line}{note}");
        }
    }
    Ok(flagged)
}

async fn sqlite_plan(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
        .fetch_all(&mut *conn)
        .await?;
    // Each row names its parent: indent children under it, as the sqlite3 shell does.
    let mut depth: Vec<(i64, usize)> = Vec::new();
    let mut lines = Vec::new();
    for row in rows {
        let id: i64 = row.try_get(0)?;
        let parent: i64 = row.try_get(1)?;
        let detail: String = row.try_get(3)?;
        let level = depth
            .iter()
            .find(|(node, _)| *node == parent)
            .map_or(0, |(_, l)| l + 1);
        depth.push((id, level));
        lines.push(format!("{}{detail}", "  ".repeat(level)));
    }
    Ok(lines)
}

async fn postgres_plan(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let parameters = (1..=32)
        .take_while(|n| sql.contains(&format!("${n}")))
        .count();
    conn.execute("SET plan_cache_mode = force_generic_plan")
        .await?;
    conn.execute(AssertSqlSafe(format!("PREPARE tg_bench_plan AS {sql}")))
        .await?;
    let arguments = vec!["NULL"; parameters].join(", ");
    let execute = if parameters == 0 {
        "EXPLAIN EXECUTE tg_bench_plan".to_string()
    } else {
        format!("EXPLAIN EXECUTE tg_bench_plan({arguments})")
    };
    let rows = sqlx::query(AssertSqlSafe(execute))
        .fetch_all(&mut *conn)
        .await;
    conn.execute("DEALLOCATE tg_bench_plan").await?;
    conn.execute("RESET plan_cache_mode").await?;
    rows?.iter().map(|r| r.try_get::<String, _>(0)).collect()
}
