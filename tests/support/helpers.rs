//! Test environments: a pipeline on a fresh data directory, and the binary run in one,
//! each on a fresh database: a SQLite file in the data directory, or in the PostgreSQL pass
//! a database of its own on that server (see [`crate::support::postgres`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use tempfile::TempDir;
use ticketgate::clock::FixedClock;
use ticketgate::config::{ConfigSource, Settings};
use ticketgate::domain::TicketDetails;
use ticketgate::domain::TicketNumber;
use ticketgate::intake::{Ingestor, RawMessage, Report};
use ticketgate::pipeline::{Outcome, Pipeline};
use ticketgate::store::Store;

use crate::support::postgres::{self, PgDatabase};
use crate::support::require;

/// The environment variable through which the binary's database is set.
const DATABASE_URL_ENV: &str = "TICKETGATE_DATABASE__URL";

/// The folder of our own fixtures.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The variable that points the tests at the shared corpus when it is not beside the
/// repository.
const CORPUS_ENV: &str = "TICKETGATE_TEST_CORPUS";

/// The shared corpus (real-world mail from other projects' test suites, with their
/// expectations): `../shared/corpus` beside the repository, or where [`CORPUS_ENV`] says.
/// When it is absent: a failure in CI, else one line and `None` (see [`require::missing`]).
pub fn shared_corpus() -> Option<PathBuf> {
    let dir = match std::env::var_os(CORPUS_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    };
    if dir.join("MANIFEST.tsv").is_file() {
        return Some(dir);
    }
    require::missing(
        &format!("the shared corpus ({}/MANIFEST.tsv)", dir.display()),
        &format!("put it beside the repository as ../shared/corpus, or set {CORPUS_ENV}"),
    );
    None
}

/// A fixture's bytes with `{{TICKET}}` replaced by `ticket`.
pub fn fixture(name: &str, ticket: Option<&TicketNumber>) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    match ticket {
        Some(t) => String::from_utf8(text)
            .expect("templated fixtures are UTF-8")
            .replace("{{TICKET}}", t.as_str())
            .into_bytes(),
        None => text,
    }
}

/// `mail` as our mail server hands it over once it verified the sender's domain: with an
/// `Authentication-Results` field of `mx.test`, which [`TestEnv`] trusts.
pub fn authenticated(mail: &[u8]) -> Vec<u8> {
    [
        b"Authentication-Results: mx.test; dmarc=pass\r\n".as_slice(),
        mail,
    ]
    .concat()
}

pub fn number(s: &str) -> TicketNumber {
    s.parse().unwrap()
}

/// A pipeline on a fresh database and data directory, with its clock stopped on
/// 24 November 2026 so that ticket numbers are 2611N…
pub struct TestEnv {
    pub dir: TempDir,
    pub ingestor: Ingestor,
    pub clock: Arc<FixedClock>,
    /// The PostgreSQL database of the pass, dropped with the environment; `None` on SQLite.
    database: Option<PgDatabase>,
}

impl TestEnv {
    pub async fn new() -> Self {
        Self::with_config("").await
    }

    /// With extra TOML appended after `data_dir`. The database is the pass's: the
    /// default SQLite file under `data_dir`, or a fresh PostgreSQL database set the way an
    /// operator would override it (so `extra` may hold any section).
    pub async fn with_config(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // The mail server the tests' mails say authenticated them (see [`authenticated`]).
        let trusted = if extra.contains("[authentication]") {
            ""
        } else {
            "[authentication]\ntrusted_authserv_ids = [\"mx.test\"]\n"
        };
        let text = format!(
            "data_dir = '{}'\n{extra}\n{trusted}",
            dir.path().join("data").display()
        );
        let database = postgres::fresh().await;
        let overrides = database
            .iter()
            .map(|db| (DATABASE_URL_ENV.to_string(), db.url()))
            .collect::<Vec<_>>();
        let settings = Settings::from_toml(&text, ConfigSource::Embedded, overrides).unwrap();
        let store = Store::connect(settings.database_url.expose())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let clock = Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap(),
        ));
        let pipeline = Pipeline::new(store, Arc::new(settings), clock.clone()).unwrap();
        Self {
            dir,
            ingestor: Ingestor::new(pipeline),
            clock,
            database,
        }
    }

    pub fn pipeline(&self) -> &Pipeline {
        self.ingestor.pipeline()
    }

    pub fn store(&self) -> &Store {
        self.pipeline().store()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs bytes through the pipeline, panicking on an error.
    pub async fn process(&self, bytes: &[u8]) -> Outcome {
        self.pipeline().process("test", bytes).await.unwrap()
    }

    /// Runs a fixture through the pipeline.
    pub async fn fixture(&self, name: &str, ticket: Option<&TicketNumber>) -> Outcome {
        self.process(&fixture(name, ticket)).await
    }

    /// Runs bytes through the ingestor (with quarantine).
    pub async fn ingest(&self, bytes: &[u8]) -> Report {
        self.ingestor
            .try_once(
                &RawMessage {
                    source: "test".into(),
                    bytes: bytes.to_vec(),
                },
                0,
            )
            .await
            .unwrap()
    }

    pub async fn details(&self, n: &TicketNumber) -> TicketDetails {
        self.store()
            .ticket_details(n)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no ticket {n}"))
    }

    /// The agents' operations, on the same store and clock as the pipeline.
    pub fn service(&self) -> ticketgate::service::TicketService {
        ticketgate::service::TicketService::new(
            self.store().clone(),
            Arc::new(self.pipeline().settings().clone()),
            self.clock.clone(),
        )
    }

    /// The URL of this environment's database.
    pub fn database_url(&self) -> String {
        self.pipeline().settings().database_url.expose().to_string()
    }

    /// A connection of its own to this environment's database, whichever backend it is:
    /// for what a test reads or sets behind the store's back.
    pub async fn connect(&self) -> sqlx::AnyConnection {
        connect_any(&self.database_url()).await
    }

    /// Runs one SQL statement (valid on SQLite and PostgreSQL alike) on the database: to
    /// put a ticket in a state that only later issues' commands can reach.
    pub async fn sql(&self, statement: &'static str) {
        let mut conn = self.connect().await;
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// The binary, run in this environment's directory on its database (with the
    /// embedded defaults otherwise, whose data directory is `data` there too).
    pub fn command(&self, args: &[&str]) -> Command {
        binary(
            self.dir.path(),
            self.database.as_ref().map(PgDatabase::url),
            args,
        )
    }
}

/// A connection to the database at `url` through sqlx's `Any` driver, as the store uses.
pub async fn connect_any(url: &str) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(url).await.unwrap_or_else(|e| {
        let shown = ticketgate::config::DatabaseUrl::redact(url);
        panic!("cannot connect to {shown}: {e}")
    })
}

/// The binary with `args`, run in `dir` without any `TICKETGATE_*` variable of the
/// caller's, on the database at `database_url` when given (else the embedded default).
fn binary(dir: &Path, database_url: Option<String>, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ticketgate"));
    cmd.args(args).current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("TICKETGATE_") {
            cmd.env_remove(key);
        }
    }
    if let Some(url) = database_url {
        cmd.env(DATABASE_URL_ENV, url);
    }
    // Daemons started side by side each get a port of their own rather than all wanting
    // the default 8080; a test that talks to one reads its port from its log, and may
    // set the variable itself.
    cmd.env(HTTP_LISTEN_ENV, "127.0.0.1:0");
    cmd
}

/// Where the portal of a daemon under test listens.
pub const HTTP_LISTEN_ENV: &str = "TICKETGATE_HTTP__LISTEN";

/// Runs `cmd` to completion with `stdin` (or nothing) on standard input.
pub fn run_command(mut cmd: Command, stdin: Option<&[u8]>) -> Output {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn created(outcome: &Outcome) -> TicketNumber {
    match outcome {
        Outcome::Created(n) => n.clone(),
        other => panic!("expected a new ticket, got {other:?}"),
    }
}

/// The binary, run in a fresh working directory with no configuration: the embedded
/// defaults, as a user on a fresh machine gets them; in the PostgreSQL pass, on a fresh
/// database of its own, set through `TICKETGATE_DATABASE__URL`.
pub struct Cli {
    pub dir: TempDir,
    /// The PostgreSQL database of the pass, dropped with the directory; `None` on SQLite.
    database: Option<PgDatabase>,
}

impl Cli {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            database: postgres::fresh_blocking(),
        }
    }

    /// Whether the binary uses the embedded default, `data/ticketgate.db`: for the few
    /// assertions that are about that file.
    pub fn on_sqlite(&self) -> bool {
        self.database.is_none()
    }

    /// Runs `statements` (SQL written for this pass's database, without binds) on the
    /// binary's database, from a test that has no runtime of its own: to set up what no
    /// command can (a trigger that makes a write fail).
    pub fn sql(&self, statements: &[&str]) {
        let url = self.database_url();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let mut conn = connect_any(&url).await;
                for statement in statements {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(*statement))
                        .execute(&mut conn)
                        .await
                        .unwrap_or_else(|e| panic!("{statement}: {e}"));
                }
            });
    }

    /// The URL of the database the binary uses.
    pub fn database_url(&self) -> String {
        match &self.database {
            Some(db) => db.url(),
            None => format!(
                "sqlite://{}",
                self.dir.path().join("data/ticketgate.db").display()
            ),
        }
    }

    /// The binary with `args`, in the working directory, on the test's database. A test
    /// may still set `TICKETGATE_DATABASE__URL` itself: its value wins.
    pub fn command(&self, args: &[&str]) -> Command {
        binary(
            self.dir.path(),
            self.database.as_ref().map(PgDatabase::url),
            args,
        )
    }

    /// Runs to completion with `stdin` (or nothing) on standard input.
    pub fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        self.run_with(self.command(args), stdin)
    }

    pub fn run_with(&self, cmd: Command, stdin: Option<&[u8]>) -> Output {
        run_command(cmd, stdin)
    }

    /// Writes `bytes` to a file of the working directory and returns its name.
    pub fn write(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.dir.path().join(name), bytes).unwrap();
        name.to_string()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
