//! Opening the database. A SQLite file (and its directory) is created only when the caller
//! asks for it (`run`, `ingest`, `migrate`): every other command refuses a missing one, so
//! that a mistyped path is said instead of silently becoming an empty database. The first
//! connection is made on its own, within [`CONNECT_TIMEOUT`], so that an unreachable server
//! is named at once with its cause ("connection refused to 127.0.0.1:5432") rather than as
//! a pool that timed out 15 s later. [`Store::probe`] looks without changing anything.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, Connection, Executor, Row};

use super::recycle::Recycling;
use super::{Backend, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, Store, StoreError};
use crate::config::DatabaseUrl;

/// How long a first connection may take before the server is called unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether opening the database may create it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create a missing SQLite file and its directory.
    Create,
    /// The database must exist already.
    Existing,
}

/// What [`Store::probe`] found, without creating or migrating anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseState {
    /// No SQLite file yet; its directory lets `run` or `migrate` create it.
    NotCreated { path: String },
    /// The database answered.
    Reachable {
        /// Migrations it has applied (`None`: none yet).
        applied: Option<i64>,
        /// Migrations this build knows.
        known: usize,
    },
}

impl Store {
    /// Opens the database at `url` (`sqlite://PATH` or `postgres://…`); with
    /// [`OpenMode::Create`] a missing SQLite file and its directory are created. Does not
    /// migrate: call [`Store::migrate`].
    pub async fn connect_with_mode(url: &str, mode: OpenMode) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url);
        let sqlite_file = sqlite_path(url);
        if let Some(path) = &sqlite_file {
            match mode {
                OpenMode::Create => create_parent(path)?,
                OpenMode::Existing if !path.exists() => {
                    return Err(StoreError::Missing {
                        path: path.display().to_string(),
                    });
                }
                OpenMode::Existing => {}
            }
        }
        let file_mode = match mode {
            OpenMode::Create => "rwc",
            OpenMode::Existing => "rw",
        };
        let options = connect_options(url, file_mode)?;
        first_connection(url, &options).await?.close().await.ok();
        // Only the commands that write mail in (`run`, `ingest`, `migrate`) watch for a
        // read-only file: another may well be run by someone allowed to read only.
        let recycling = Recycling::new(sqlite_file.clone().filter(|_| mode == OpenMode::Create));
        let numbers = (backend == Backend::Postgres)
            .then(|| std::sync::Arc::new(super::ticket_numbers::NumberSource::new(&options)));
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 10 })
            // A pooled SQLite connection is a thread of this process: asking it whether it
            // still answers before each use cost a round trip to that thread and back per
            // statement (BENCHMARKS.md, the JSON API). A server's connection may have died.
            .test_before_acquire(backend != Backend::Sqlite)
            .acquire_timeout(Duration::from_secs(15))
            .after_release(|conn, _meta| Box::pin(Recycling::keep(conn)))
            .before_acquire({
                let recycling = recycling.clone();
                move |_conn, meta| {
                    let usable = recycling.usable(meta.age);
                    Box::pin(async move { Ok(usable) })
                }
            })
            .after_connect(move |conn, _meta| {
                recycling.opened();
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers (CLI, HTTP) run beside the writer; FULL sync makes a
                        // commit durable before the mail is acknowledged; busy_timeout makes a
                        // second writer process wait instead of failing. temp_store keeps
                        // the statement journals of a batch's statements in memory: past
                        // 64 KiB each went to a file of its own under /var/tmp, a third of
                        // the writes of an ingest (BENCHMARKS.md, target 2).
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 15000; \
                             PRAGMA temp_store = MEMORY;",
                        )
                        .await?;
                    } else if let Err(e) = conn
                        .execute("SET default_toast_compression = 'lz4'")
                        .await
                    {
                        // Mail texts over 2 KB are compressed as they are written: with
                        // pglz, PostgreSQL's default, that took a third of the server's CPU
                        // during ingest (BENCHMARKS.md); lz4 is several times faster. A
                        // server built without it keeps pglz.
                        tracing::debug!(error = %e, "long texts are compressed with the server's default method");
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| connect_error(url, e))?;
        Ok(Store {
            pool,
            backend,
            sqlite_file,
            batch: None,
            webhooks: Default::default(),
            numbers,
        })
    }

    /// Looks at the database at `url` without creating or migrating anything: whether it
    /// answers, and how many migrations it has. A missing SQLite file is no error when its
    /// directory could be made; `run` creates it.
    pub async fn probe(url: &str) -> Result<DatabaseState, StoreError> {
        sqlx::any::install_default_drivers();
        let known = match backend_of(url) {
            Backend::Sqlite => SQLITE_MIGRATIONS.iter().count(),
            Backend::Postgres => POSTGRES_MIGRATIONS.iter().count(),
        };
        if let Some(path) = sqlite_path(url).filter(|p| !p.exists()) {
            if let Some(problem) = path.parent().and_then(unusable_directory) {
                return Err(StoreError::CreateDir {
                    path: path.display().to_string(),
                    reason: problem,
                    error: None,
                });
            }
            return Ok(DatabaseState::NotCreated {
                path: path.display().to_string(),
            });
        }
        let options = connect_options(url, "rw")?;
        let mut conn = first_connection(url, &options).await?;
        sqlx::query("SELECT 1")
            .execute(&mut conn)
            .await
            .map_err(|e| connect_error(url, e))?;
        let applied = sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut conn)
            .await
            .ok()
            .and_then(|row| row.try_get::<i64, _>("n").ok());
        conn.close().await.ok();
        Ok(DatabaseState::Reachable { applied, known })
    }
}

fn backend_of(url: &str) -> Backend {
    if url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
}

/// The file of a `sqlite:` URL; `None` for other backends and in-memory databases.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(':')).then(|| PathBuf::from(path))
}

/// `url`'s options, a SQLite file opened in `file_mode` (rwc, rw) unless the URL says.
fn connect_options(url: &str, file_mode: &str) -> Result<AnyConnectOptions, StoreError> {
    let mut full_url = url.to_string();
    if backend_of(url) == Backend::Sqlite && !url.contains("mode=") {
        let separator = if url.contains('?') { '&' } else { '?' };
        full_url.push_str(&format!("{separator}mode={file_mode}"));
    }
    AnyConnectOptions::from_str(&full_url).map_err(|e| connect_error(url, e))
}

/// One connection, made within [`CONNECT_TIMEOUT`], its failure explained.
async fn first_connection(
    url: &str,
    options: &AnyConnectOptions,
) -> Result<AnyConnection, StoreError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect_with(options)).await {
        Ok(connected) => connected.map_err(|e| connect_error(url, e)),
        Err(_) => Err(StoreError::Connect {
            url: DatabaseUrl::redact(url),
            reason: format!(
                "no answer from {} within {} s",
                server_of(url),
                CONNECT_TIMEOUT.as_secs()
            ),
            error: Box::new(sqlx::Error::PoolTimedOut),
        }),
    }
}

/// Creates the directory of a SQLite file, saying which part of its path is in the way.
fn create_parent(path: &Path) -> Result<(), StoreError> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    std::fs::create_dir_all(dir).map_err(|error| StoreError::CreateDir {
        path: dir.display().to_string(),
        reason: unusable_directory(dir).unwrap_or_else(|| error.to_string()),
        error: Some(error),
    })
}

fn connect_error(url: &str, error: sqlx::Error) -> StoreError {
    StoreError::Connect {
        url: DatabaseUrl::redact(url),
        reason: explain(url, &error),
        error: Box::new(error),
    }
}

/// The cause of a failed connection in an operator's words, naming the server or file.
fn explain(url: &str, error: &sqlx::Error) -> String {
    use std::io::ErrorKind;
    let file = sqlite_path(url);
    if let Some(problem) = file.as_deref().and_then(sqlite_problem) {
        return problem;
    }
    let place = match &file {
        Some(path) => path.display().to_string(),
        None => server_of(url),
    };
    match error {
        sqlx::Error::Io(io) if io.kind() == ErrorKind::ConnectionRefused => {
            format!("connection refused to {place}")
        }
        sqlx::Error::Io(io) if io.kind() == ErrorKind::PermissionDenied => {
            format!("permission denied: {place}")
        }
        sqlx::Error::Io(io) => format!("cannot reach {place}: {io}"),
        sqlx::Error::Database(db) if file.is_some() => match db.code() {
            Some(code) => format!("{place}: {} (SQLite code {code})", db.message()),
            None => format!("{place}: {}", db.message()),
        },
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

/// Why the SQLite file at `path` cannot be opened, when the file system tells.
fn sqlite_problem(path: &Path) -> Option<String> {
    if path.is_dir() {
        return Some(format!(
            "{} is a directory, not a database file",
            path.display()
        ));
    }
    if let Some(problem) = path.parent().and_then(unusable_directory) {
        return Some(problem);
    }
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Some(format!("permission denied: {}", path.display()))
        }
        _ => None,
    }
}

/// Why `dir` cannot hold a database (SQLite writes its journal beside the file): a part
/// of its path that is a file, or a directory this user may not write in.
fn unusable_directory(dir: &Path) -> Option<String> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let existing = dir.ancestors().find(|a| a.exists())?;
    if !existing.is_dir() {
        return Some(format!("{} is a file, not a directory", existing.display()));
    }
    (!writable(existing)).then(|| format!("permission denied: {}", existing.display()))
}

/// Whether this process may create files in `dir` (as the kernel decides for this user:
/// root may everywhere).
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// `host:port` of a server URL (PostgreSQL's port 5432 when none is given).
fn server_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.is_empty() {
        "the local server".into()
    } else if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_string()
    } else {
        format!("{host}:5432")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_named_without_credentials() {
        assert_eq!(
            server_of("postgres://tg:secret@db.example:6432/tg"),
            "db.example:6432"
        );
        assert_eq!(server_of("postgres://tg@127.0.0.1/tg"), "127.0.0.1:5432");
        assert_eq!(
            server_of("postgresql://[::1]:5433/tg?sslmode=disable"),
            "[::1]:5433"
        );
    }

    #[test]
    fn sqlite_paths_leave_options_and_memory_out() {
        assert_eq!(
            sqlite_path("sqlite:///srv/tg/tg.db?mode=ro"),
            Some(PathBuf::from("/srv/tg/tg.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://db/tg"), None);
    }

    #[test]
    fn a_file_in_the_way_of_a_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").unwrap();
        let problem = unusable_directory(&file.join("sub")).unwrap();
        assert_eq!(
            problem,
            format!("{} is a file, not a directory", file.display())
        );
        assert_eq!(unusable_directory(dir.path()), None);
    }
}
