//! The PostgreSQL pass: when `TICKETGATE_TEST_POSTGRES` holds a server URL (without a
//! database name, e.g. `postgres://postgres@127.0.0.1:5432`), every test that touches the
//! store runs on a fresh database of that server, created for the test and dropped after
//! it, so that both backends answer the same assertions. When the variable is unset, the
//! tests run on SQLite files.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// The variable that selects the PostgreSQL pass.
pub const SERVER_ENV: &str = "TICKETGATE_TEST_POSTGRES";

/// The server of the PostgreSQL pass, when this run is one.
pub fn server() -> Option<String> {
    std::env::var(SERVER_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A database of its own for one test on the pass's server, or `None` (SQLite) when this
/// run is not the PostgreSQL pass.
pub async fn fresh() -> Option<PgDatabase> {
    match server() {
        Some(server) => Some(PgDatabase::create(&server).await),
        None => None,
    }
}

/// [`fresh`] for code that is not async, or that runs inside a runtime it must not block:
/// the database is made on a thread of its own.
pub fn fresh_blocking() -> Option<PgDatabase> {
    let server = server()?;
    Some(on_own_runtime(
        async move { PgDatabase::create(&server).await },
    ))
}

/// A database created on the pass's server; dropped (with whatever still connects to it)
/// when this goes out of scope, even when the test panicked.
pub struct PgDatabase {
    server: Server,
    name: String,
}

impl PgDatabase {
    /// Creates a uniquely named database on `server`. Panics when the server does not
    /// answer: the run asked for PostgreSQL, so a silent fallback would pass without testing
    /// it. Public for the benches, which name their server in a variable of their own.
    pub async fn create(server: &str) -> PgDatabase {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let server = Server::parse(server);
        let name = format!(
            "tg_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            fastrand::u32(..)
        );
        let mut admin = server.admin().await.unwrap_or_else(|e| {
            panic!(
                "{SERVER_ENV} is set but the PostgreSQL server at {} does not answer: {e}",
                server.shown()
            )
        });
        // A throwaway database need not wait for the disk at each commit: what the tests
        // see is the same, and the server may be a developer's own with fsync on.
        for statement in [
            format!("CREATE DATABASE {name}"),
            format!("ALTER DATABASE {name} SET synchronous_commit = off"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        }
        let _ = admin.close().await;
        PgDatabase { server, name }
    }

    /// Makes this database's commits wait for the disk again, as a production server's do
    /// (the tests' databases do not, see [`PgDatabase::create`]): for the benches, whose
    /// figures must hold for the durability the README promises.
    #[allow(dead_code)]
    pub async fn wait_for_the_disk_at_each_commit(&self) {
        let mut admin = self.server.admin().await.unwrap_or_else(|e| {
            panic!(
                "the PostgreSQL server at {} does not answer: {e}",
                self.server.shown()
            )
        });
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {} RESET synchronous_commit",
            self.name
        )))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot reset synchronous_commit on {}: {e}", self.name));
        let _ = admin.close().await;
    }

    /// The URL that reaches this database.
    pub fn url(&self) -> String {
        self.server.database_url(&self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        let dropped = std::panic::catch_unwind(|| {
            on_own_runtime(async move {
                let mut admin = server.admin().await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                admin.close().await
            })
        });
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "could not drop the test database {} on {}",
                self.name,
                self.server.shown()
            );
        }
    }
}

/// A server URL split around where the database name goes.
#[derive(Clone)]
struct Server {
    /// `postgres://user@host:port`, without a trailing slash.
    base: String,
    /// `?sslmode=…` and the like, kept for every database.
    query: String,
}

impl Server {
    fn parse(url: &str) -> Server {
        let (base, query) = match url.trim().split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (url.trim(), String::new()),
        };
        let base = base.trim_end_matches('/').to_string();
        // On loopback, without an sslmode of the caller's, no TLS: sqlx leaves Nagle on,
        // and each TLS handshake then waits twice for the server's delayed ACK (2 × 43 ms
        // a connection, measured with strace). A test opens many connections (every CLI
        // command opens three), which made the PostgreSQL pass a minute slower than the
        // SQLite pass for nothing the tests look at.
        let query = if query.contains("sslmode=") || !is_loopback(&base) {
            query
        } else if query.is_empty() {
            "?sslmode=disable".to_string()
        } else {
            format!("{query}&sslmode=disable")
        };
        Server { base, query }
    }

    fn database_url(&self, name: &str) -> String {
        format!("{}/{name}{}", self.base, self.query)
    }

    /// The URL without a password, for messages.
    fn shown(&self) -> String {
        ticketgate::config::DatabaseUrl::redact(&self.base)
    }

    /// A connection to the `postgres` maintenance database, from which databases are
    /// created and dropped.
    async fn admin(&self) -> Result<sqlx::PgConnection, sqlx::Error> {
        sqlx::PgConnection::connect(&self.database_url("postgres")).await
    }
}

/// Whether the server of `base` (`postgres://user@host:port`) is this machine.
fn is_loopback(base: &str) -> bool {
    let authority = base.split_once("://").map_or(base, |(_, rest)| rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

/// Runs `work` to completion on a runtime of its own, on a thread of its own: callable
/// from synchronous tests, from `Drop`, and from inside another runtime.
fn on_own_runtime<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the test database")
            .block_on(work)
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
