//! Fills a migrated database with a helpdesk's history, set-based (one `INSERT … SELECT`
//! per table over a recursive CTE on SQLite, `generate_series` on PostgreSQL), so that a
//! million tickets take a minute, not hours of one-by-one inserts.
//!
//! The history: `tickets` tickets opened at a steady [`TICKETS_PER_DAY`], the last one just
//! before `t0`. Each ticket has its inbound article (the customer's mail, 1–4 KB of text,
//! which is also the ticket's description, as the pipeline stores it), its `messages` row
//! (which replies thread by), and the notifications themselves, all `sent`. Each ticket's fate is drawn from a hash of its id:
//!
//! - 50% get a solution 1–48 h after opening and no answer: auto-closed 7 days later, as
//!   the job does every 10 minutes, except for the last hour before `t0` (the daemon was
//!   stopped): those are still `resolved` and due at `t0`;
//! - 35% get a solution that the requester approves 10 min–47 h later;
//! - 14.3% are closed by an agent 1–48 h after opening;
//! - 0.7% stay open for a long time (0.4% in_progress, 0.3% waiting_customer).
//!
//! A ticket whose next step lies after `t0` is still open: `new` in its first two hours,
//! then `in_progress` or `waiting_customer`. A solution has its outbound article and a
//! closing its internal note; ticket numbers count per month as the store counts them.

use std::time::Instant;

use sqlx::{AssertSqlSafe, Connection, Executor, Row};

use crate::support::mailgen::MailGen;

/// New tickets per day: a million over two years.
pub const TICKETS_PER_DAY: i64 = 1_370;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Which database is seeded; their SQL differs in a few functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The narrow tables the seed fills whose explicit indexes are dropped during the inserts
/// and created again after: one sort each instead of millions of scattered B-tree inserts.
/// The wide tables (tickets, articles) keep theirs: creating an index reads the whole
/// table again, gigabytes of text for each index.
const TABLES: &[&str] = &["messages", "outbox"];

/// Distinct mail texts the tickets draw from; ticket `i` takes text `i * 7919 % POOL`.
const POOL: i64 = 1024;

const TOPICS: &[&str] = &[
    "Invoice shows the wrong VAT rate",
    "Cannot log in after the password reset",
    "Export to CSV stops at 10,000 rows",
    "Delivery address change for an order",
    "Rückfrage zur Rechnung vom März",
    "Le rapport mensuel ne s'affiche plus",
    "Printer driver crashes on Windows 11",
    "Sync fails with error 0x80070005",
];

/// What seeding took, step by step.
pub struct Seeded {
    pub steps: Vec<(&'static str, f64)>,
    pub total_secs: f64,
}

/// The per-ticket facts every table is derived from: fate, dates, number and requester.
/// `$1` tickets, `$2` t0 (ms), `$3` milliseconds between two tickets. Hashes are
/// multiplicative (Knuth, xxHash primes), taken from the high bits: not periodic in `i`.
const SEED_FACTS: &str = "
h AS (SELECT i, $2 - ($1 - i + 1) * $3 AS c,
        ((i * 2654435761) % 4294967296) * 1000 / 4294967296 AS f,
        3600000 + ((i * 2246822519) % 4294967296) * 169200000 / 4294967296 AS d,
        600000 + ((i * 3266489917) % 4294967296) * 169200000 / 4294967296 AS a,
        ((i * 3266489917) % 4294967296) % 1000 AS g,
        ((i * 668265263) % 4294967296) % 50000 AS who
      FROM s),
e AS (SELECT *, CASE
        WHEN f < 500 THEN CASE WHEN c + d + 604800000 <= $2 - 3600000 THEN 'auto'
                               WHEN c + d <= $2 THEN 'resolved' END
        WHEN f < 850 THEN CASE WHEN c + d + a <= $2 THEN 'approved'
                               WHEN c + d <= $2 THEN 'resolved' END
        WHEN f < 990 OR f >= 997 THEN CASE WHEN c + d <= $2 THEN 'agent' END
        WHEN f < 994 THEN 'in_progress'
        ELSE 'waiting_customer' END AS fate
      FROM h),
t AS (SELECT *, CASE fate WHEN 'auto' THEN c + d + 604800000 + g * 600
                          WHEN 'approved' THEN c + d + a
                          WHEN 'agent' THEN c + d END AS closed_at
      FROM e),
u AS (SELECT i, c, g, who, fate, closed_at,
        CASE WHEN closed_at IS NOT NULL THEN 'closed'
             WHEN fate IS NOT NULL THEN fate
             WHEN $2 - c < 7200000 THEN 'new'
             WHEN g < 300 THEN 'waiting_customer' ELSE 'in_progress' END AS status,
        CASE WHEN fate IN ('auto', 'approved', 'resolved') THEN c + d END AS resolved_at,
        CASE WHEN closed_at IS NOT NULL THEN closed_at
             WHEN fate = 'resolved' THEN c + d
             WHEN $2 - c < 7200000 THEN c
             ELSE c + ($2 - c) * g / 1000 END AS since,
        PERIOD AS period
      FROM t)
SELECT u.i, u.c, u.g, u.who, u.status, u.fate, u.resolved_at, u.closed_at, u.since,
  u.period || 'N' || PAD5(row_number() OVER (PARTITION BY u.period ORDER BY u.i)),
  'customer' || u.who || '@' || d.domain, d.domain
FROM u JOIN domains d ON d.k = u.who % 5";

/// The statements after the facts, in order, each with its label. Every one reads the
/// small `seed` table (and `pool`), never the large tables back.
const FILL: &[(&str, &str)] = &[
    (
        "tickets",
        "INSERT INTO tickets (id, number, title, description, ticket_type, category, impact, \
           urgency, priority, status, requester, requester_name, organisation, private, language, \
           created_at, updated_at, resolved_at, closed_at, status_since) \
         SELECT s.i, s.number, p.topic || ' (' || s.i || ')', p.body, \
           CASE s.g % 3 WHEN 0 THEN 'request' WHEN 1 THEN 'incident' ELSE 'question' END, NULL, \
           CASE s.g % 4 WHEN 0 THEN 'interrupted' ELSE 'degraded' END, \
           CASE s.g % 5 WHEN 0 THEN 'high' ELSE 'medium' END, \
           CASE WHEN s.g % 20 = 0 THEN 'p1' WHEN s.g % 4 = 0 THEN 'p2' WHEN s.g % 5 = 0 THEN 'p3' \
                ELSE 'p4' END, \
           s.status, s.requester, 'Customer ' || s.who, s.domain, 0, \
           CASE WHEN s.g < 200 THEN 'fr' ELSE 'en' END, s.c, s.since, s.resolved_at, s.closed_at, s.since \
         FROM seed s JOIN pool p ON p.k = s.i * 7919 % 1024 ORDER BY s.i",
    ),
    (
        "articles: the customers' mails",
        "INSERT INTO articles (id, ticket_id, author, author_name, direction, visibility, subject, \
           body_text, message_id, raw_ref, created_at) \
         SELECT s.i, s.i, s.requester, 'Customer ' || s.who, 'inbound', 'public', \
           p.topic || ' (' || s.i || ')', p.body, 'seed.' || s.i || '@mail.example.net', \
           'raw/' || YEAR_MONTH || '/' || HEX16(s.i * 2654435761) || HEX16(s.i * 2246822519) \
             || HEX16(s.i * 3266489917) || HEX16(s.i * 668265263) || '.eml.gz', s.c \
         FROM seed s JOIN pool p ON p.k = s.i * 7919 % 1024 ORDER BY s.i",
    ),
    (
        "articles: solutions",
        "INSERT INTO articles (id, ticket_id, author, author_name, direction, visibility, subject, \
           body_text, created_at) \
         SELECT $1 + s.i, s.i, 'support@localhost', 'Support', 'outbound', 'public', \
           p.topic || ' (' || s.i || ')', p.solution, s.resolved_at \
         FROM seed s JOIN pool p ON p.k = s.i * 7919 % 1024 \
         WHERE s.resolved_at IS NOT NULL ORDER BY s.i",
    ),
    (
        "articles: closing notes",
        "INSERT INTO articles (id, ticket_id, author, author_name, direction, visibility, subject, \
           body_text, created_at) \
         SELECT 2 * $1 + s.i, s.i, 'support@localhost', \
           CASE s.fate WHEN 'agent' THEN 'Support' ELSE 'ticketgate' END, 'system', 'internal', \
           p.topic || ' (' || s.i || ')', \
           CASE s.fate WHEN 'auto' THEN 'Closed automatically: the solution had no answer within 7 days.' \
             WHEN 'approved' THEN 'The requester approved the solution.' \
             ELSE 'Status changed from in_progress to closed by Support.' END, s.closed_at \
         FROM seed s JOIN pool p ON p.k = s.i * 7919 % 1024 \
         WHERE s.closed_at IS NOT NULL ORDER BY s.i",
    ),
    (
        "messages",
        "INSERT INTO messages (id, message_id, content_digest, outcome, ticket_id, article_id, \
           source, received_at) \
         SELECT s.i, 'seed.' || s.i || '@mail.example.net', HEX16(s.i * 668265263) \
             || HEX16(s.i * 3266489917) || HEX16(s.i * 2246822519) || HEX16(s.i * 2654435761), \
           'created', s.i, s.i, 'data/inbox/new/' || (s.c / 1000) || '.M' || s.i || 'P1.mx', s.c \
         FROM seed s ORDER BY s.i",
    ),
    (
        "outbox: acknowledgements",
        "INSERT INTO outbox (id, ticket_id, article_id, event, recipient, status, attempts, \
           next_attempt_at, created_at, message_id, sent_at) \
         SELECT 3 * s.i, s.i, s.i, 'ticket_opened', s.requester, 'sent', 1, s.c, s.c, \
           'tg.' || s.number || '.' || (3 * s.i) || '.' || s.c || '.' || HEX16(s.i * 2654435761) \
             || '@localhost', s.c + 1500 \
         FROM seed s ORDER BY s.i",
    ),
    (
        "outbox: solutions",
        "INSERT INTO outbox (id, ticket_id, article_id, event, recipient, status, attempts, \
           next_attempt_at, created_at, message_id, sent_at) \
         SELECT 3 * s.i + 1, s.i, $1 + s.i, 'solution_proposed', s.requester, 'sent', 1, \
           s.resolved_at, s.resolved_at, 'tg.' || s.number || '.' || (3 * s.i + 1) || '.' \
             || s.resolved_at || '.' || HEX16(s.i * 2654435761 + 1) || '@localhost', \
           s.resolved_at + 1500 \
         FROM seed s WHERE s.resolved_at IS NOT NULL ORDER BY s.i",
    ),
    (
        "outbox: closings",
        "INSERT INTO outbox (id, ticket_id, article_id, event, recipient, status, attempts, \
           next_attempt_at, created_at, message_id, sent_at) \
         SELECT 3 * s.i + 2, s.i, 2 * $1 + s.i, \
           CASE s.fate WHEN 'auto' THEN 'ticket_auto_closed' ELSE 'ticket_closed' END, \
           s.requester, 'sent', 1, s.closed_at, s.closed_at, 'tg.' || s.number || '.' \
             || (3 * s.i + 2) || '.' || s.closed_at || '.' || HEX16(s.i * 2654435761 + 2) \
             || '@localhost', s.closed_at + 1500 \
         FROM seed s WHERE s.closed_at IS NOT NULL ORDER BY s.i",
    ),
    (
        "ticket_counters",
        "INSERT INTO ticket_counters (period, last_value) \
         SELECT substr(number, 1, 4), max(CAST(substr(number, 6) AS BIGINT)) FROM seed GROUP BY 1",
    ),
];

/// `sql` in `backend`'s dialect: the few functions the two spell differently.
fn dialect(sql: &str, backend: Backend) -> String {
    let (period, year_month, pad5, hex16) = match backend {
        Backend::Sqlite => (
            "substr(strftime('%Y%m', c / 1000, 'unixepoch'), 3)",
            "strftime('%Y/%m', s.c / 1000, 'unixepoch')",
            "printf('%05d', $x)",
            "printf('%016x', $x)",
        ),
        Backend::Postgres => (
            "to_char(to_timestamp(c / 1000) AT TIME ZONE 'UTC', 'YYMM')",
            "to_char(to_timestamp(s.c / 1000) AT TIME ZONE 'UTC', 'YYYY/MM')",
            "lpad(($x)::text, greatest(5, length(($x)::text)), '0')",
            "lpad(to_hex($x), 16, '0')",
        ),
    };
    let mut out = sql
        .replace("PERIOD", period)
        .replace("YEAR_MONTH", year_month);
    for (name, template) in [("PAD5(", pad5), ("HEX16(", hex16)] {
        while let Some(start) = out.find(name) {
            let args = start + name.len();
            let end = args + closing_paren(&out[args..]);
            let replaced = template.replace("$x", &out[args..end]);
            out.replace_range(start..=end, &replaced);
        }
    }
    out
}

/// The index of the parenthesis closing the one just before `s`.
fn closing_paren(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return i,
            ')' => depth -= 1,
            _ => {}
        }
    }
    panic!("unbalanced parentheses in {s}")
}

/// The tables `seed`, `pool` and `domains` live only for the seeding connection.
fn temp_tables(backend: Backend) -> [&'static str; 3] {
    match backend {
        Backend::Sqlite => [
            "CREATE TEMP TABLE seed (i INTEGER PRIMARY KEY, c BIGINT NOT NULL, g BIGINT NOT NULL, \
             who BIGINT NOT NULL, status TEXT NOT NULL, fate TEXT, resolved_at BIGINT, \
             closed_at BIGINT, since BIGINT NOT NULL, number TEXT NOT NULL, \
             requester TEXT NOT NULL, domain TEXT NOT NULL)",
            "CREATE TEMP TABLE pool (k INTEGER PRIMARY KEY, topic TEXT NOT NULL, \
             body TEXT NOT NULL, solution TEXT NOT NULL)",
            "CREATE TEMP TABLE domains (k INTEGER PRIMARY KEY, domain TEXT NOT NULL)",
        ],
        Backend::Postgres => [
            "CREATE TEMP TABLE seed (i BIGINT PRIMARY KEY, c BIGINT NOT NULL, g BIGINT NOT NULL, \
             who BIGINT NOT NULL, status TEXT NOT NULL, fate TEXT, resolved_at BIGINT, \
             closed_at BIGINT, since BIGINT NOT NULL, number TEXT NOT NULL, \
             requester TEXT NOT NULL, domain TEXT NOT NULL)",
            "CREATE TEMP TABLE pool (k BIGINT PRIMARY KEY, topic TEXT NOT NULL, \
             body TEXT NOT NULL, solution TEXT NOT NULL)",
            "CREATE TEMP TABLE domains (k BIGINT PRIMARY KEY, domain TEXT NOT NULL)",
        ],
    }
}

/// The statement that fills `seed`.
fn seed_statement(backend: Backend) -> String {
    let series = match backend {
        Backend::Sqlite => {
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1),"
        }
        Backend::Postgres => "WITH s AS (SELECT i FROM generate_series(1::bigint, $1) AS i),",
    };
    dialect(
        &format!(
            "INSERT INTO seed (i, c, g, who, status, fate, resolved_at, closed_at, since, number, \
             requester, domain) {series} {SEED_FACTS}"
        ),
        backend,
    )
}

/// Seeds `tickets` tickets, as of `t0_ms`, into the migrated database at `url`.
pub async fn seed(
    url: &str,
    backend: Backend,
    tickets: i64,
    t0_ms: i64,
) -> Result<Seeded, sqlx::Error> {
    let started = Instant::now();
    let mut steps = Vec::new();
    let mut step_started = Instant::now();
    let mut lap = |label: &'static str, steps: &mut Vec<(&'static str, f64)>| {
        steps.push((label, step_started.elapsed().as_secs_f64()));
        step_started = Instant::now();
    };
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    // Bulk-load settings for this connection only; the database keeps the ones the store
    // sets (WAL, synchronous=FULL on SQLite) for every measurement after.
    let setup: &[&str] = match backend {
        Backend::Sqlite => &[
            "PRAGMA temp_store = MEMORY",
            "PRAGMA journal_mode = OFF",
            "PRAGMA synchronous = OFF",
            "PRAGMA cache_size = -524288",
            "PRAGMA foreign_keys = OFF",
            "PRAGMA threads = 2",
        ],
        Backend::Postgres => &[
            "SET synchronous_commit = off",
            "SET maintenance_work_mem = '512MB'",
            "SET work_mem = '256MB'",
        ],
    };
    for statement in setup {
        conn.execute(*statement).await?;
    }
    if backend == Backend::Postgres {
        // Foreign keys are checked by a trigger per row on PostgreSQL: twelve million
        // lookups the seed, consistent by construction, does not need. Only a superuser
        // may skip them; anyone else seeds with the checks, more slowly.
        if let Err(e) = conn.execute("SET session_replication_role = replica").await {
            println!("foreign keys checked while seeding ({e})");
        }
    }
    let mut tx = conn.begin().await?;
    for statement in temp_tables(backend) {
        tx.execute(statement).await?;
    }
    fill_pool(&mut tx).await?;
    let indexes = drop_indexes(&mut tx, backend).await?;
    lap("texts, dropping indexes", &mut steps);
    let step_ms = DAY_MS / TICKETS_PER_DAY;
    sqlx::query(AssertSqlSafe(seed_statement(backend)))
        .bind(tickets)
        .bind(t0_ms)
        .bind(step_ms)
        .execute(&mut *tx)
        .await?;
    lap("ticket facts", &mut steps);
    for (label, sql) in FILL {
        let mut query = sqlx::query(AssertSqlSafe(dialect(sql, backend)));
        if sql.contains("$1") {
            query = query.bind(tickets);
        }
        query.execute(&mut *tx).await?;
        lap(label, &mut steps);
    }
    for (_, definition) in &indexes {
        tx.execute(AssertSqlSafe(definition.clone())).await?;
    }
    lap("creating indexes", &mut steps);
    if backend == Backend::Postgres {
        // Explicit ids leave the sequences behind: the next ticket must not collide.
        for table in ["tickets", "articles", "messages", "outbox"] {
            tx.execute(AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 (SELECT COALESCE(max(id), 1) FROM {table}))"
            )))
            .await?;
        }
    }
    tx.commit().await?;
    lap("commit", &mut steps);
    match backend {
        Backend::Sqlite => {
            conn.execute("PRAGMA journal_mode = WAL").await?;
            conn.close().await?;
            // The seed wrote without syncing: flush it now, or the first commit measured
            // (its checkpoint's fsync of the database file) would pay for gigabytes.
            if let Some(path) = sqlite_path(url) {
                std::fs::File::open(path)
                    .and_then(|f| f.sync_all())
                    .map_err(sqlx::Error::Io)?;
            }
            lap("flushing to disk", &mut steps);
        }
        Backend::Postgres => {
            // What autovacuum would have done over two years: visibility map and statistics.
            conn.execute("VACUUM (ANALYZE)").await?;
            lap("vacuum, analyze", &mut steps);
            conn.execute("CHECKPOINT").await?;
            conn.close().await?;
            lap("checkpoint", &mut steps);
        }
    }
    Ok(Seeded {
        steps,
        total_secs: started.elapsed().as_secs_f64(),
    })
}

/// The file of a `sqlite://PATH` URL.
fn sqlite_path(url: &str) -> Option<&str> {
    let path = url.strip_prefix("sqlite://")?;
    Some(path.split('?').next().unwrap_or(path))
}

/// The texts tickets draw from: mails of 1–4 KB, solutions of 200–600 bytes.
async fn fill_pool(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), sqlx::Error> {
    let mut generator = MailGen::new(7);
    for k in 0..POOL {
        let body = generator.text(1024 + k as usize * 3);
        let solution = format!(
            "Hello,\n\n{}",
            generator.text(200 + (k as usize * 37) % 400)
        );
        sqlx::query("INSERT INTO pool (k, topic, body, solution) VALUES ($1, $2, $3, $4)")
            .bind(k)
            .bind(TOPICS[k as usize % TOPICS.len()])
            .bind(body)
            .bind(solution)
            .execute(&mut **tx)
            .await?;
    }
    for (k, domain) in crate::support::mailgen::DOMAINS.iter().enumerate() {
        sqlx::query("INSERT INTO domains (k, domain) VALUES ($1, $2)")
            .bind(k as i64)
            .bind(*domain)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Drops the explicit indexes of the seeded tables (not those behind a primary key or a
/// unique constraint); their definitions, as the migrations wrote them, to create again.
async fn drop_indexes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let tables = TABLES
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let list = match backend {
        Backend::Sqlite => format!(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name IN ({tables})"
        ),
        Backend::Postgres => format!(
            "SELECT indexname::text AS name, indexdef AS sql FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename IN ({tables}) \
             AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ),
    };
    let rows = sqlx::query(AssertSqlSafe(list))
        .fetch_all(&mut **tx)
        .await?;
    let mut indexes = Vec::new();
    for row in rows {
        let name: String = row.try_get("name")?;
        let sql: String = row.try_get("sql")?;
        tx.execute(AssertSqlSafe(format!("DROP INDEX {name}")))
            .await?;
        indexes.push((name, sql));
    }
    Ok(indexes)
}
