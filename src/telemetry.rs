//! Logging: `tracing` to standard error, as text for a person or as one JSON object per
//! line for the journal and log collectors (`[log] format`), filtered by `TICKETGATE_LOG`
//! (or `RUST_LOG`), else by `[log] level`.
//!
//! Whatever the filter says, the dependencies that write credentials or whole messages at
//! their most verbose levels are held below those levels ([`secret_safe_caps`]): no
//! filter, however wide, puts a password, a token or a link's signature in the log.

mod json;

use std::io::IsTerminal;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, LogSettings};

/// How the lines are written once `auto` is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Text, coloured on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the subscriber: `log` decides the format; `daemon` whether its level applies
/// (commands log warnings only, unless the environment's filter says otherwise). Standard
/// output stays free for command results. Installed once the configuration is read, so
/// that the format follows it: a configuration that cannot be read is reported on standard
/// error by the caller, and nothing is logged before.
pub fn init(log: &LogSettings, daemon: bool) -> Output {
    let default_level = match (daemon, log.level) {
        (true, Some(level)) => level.as_str().to_ascii_lowercase(),
        (true, None) => "info".into(),
        (false, _) => "warn".into(),
    };
    let filter = std::env::var("TICKETGATE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(format!("ticketgate={default_level},warn")));
    let output = output(log.format);
    let stderr = std::io::stderr;
    let layer = match output {
        Output::Json => json::JsonLayer::new(stderr, stderr_is_journal()).boxed(),
        Output::Text => tracing_subscriber::fmt::layer()
            .with_writer(stderr)
            // Colours only on a terminal: log files get plain text.
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(secret_safe_caps())
        .with(layer)
        .try_init();
    output
}

/// Writes `message` on standard error as one JSON line at level ERROR, whatever the filter:
/// why a command or the daemon stops, in the log's JSON format.
pub fn json_error(message: &str) {
    use std::io::Write;
    let mut line = json::line(
        &tracing::Level::ERROR,
        "ticketgate",
        None,
        Some(message.into()),
        serde_json::Map::new(),
    );
    if stderr_is_journal() {
        line.splice(0..0, json::priority(&tracing::Level::ERROR).iter().copied());
    }
    let _ = std::io::stderr().write_all(&line);
}

/// The format `format` means here: `auto` is JSON when standard error is the journal.
pub fn output(format: LogFormat) -> Output {
    match format {
        LogFormat::Text => Output::Text,
        LogFormat::Json => Output::Json,
        LogFormat::Auto if stderr_is_journal() => Output::Json,
        LogFormat::Auto => Output::Text,
    }
}

/// Whether standard error is the systemd journal's stream. systemd sets `JOURNAL_STREAM`
/// to the device and inode of that stream (`DEV:INODE`), and documents comparing them with
/// standard error's own as the way to know: a variable inherited by a process whose
/// standard error was sent elsewhere (a file, a pipe) must not turn its logs into JSON.
fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let metadata = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|file| file.metadata());
    metadata.is_ok_and(|m| names_stream(&stream.to_string_lossy(), m.dev(), m.ino()))
}

/// Whether `journal_stream` (`DEV:INODE`, both decimal) names the file `dev`, `ino`.
fn names_stream(journal_stream: &str, dev: u64, ino: u64) -> bool {
    journal_stream.trim() == format!("{dev}:{ino}")
}

/// Levels some dependencies are never logged above, whatever `TICKETGATE_LOG` says,
/// because those levels carry secrets:
/// - `async_imap` at trace writes every command sent, the LOGIN password and the
///   AUTHENTICATE token with them, and every answer, whole messages included;
/// - `lettre` at debug writes every line sent to the SMTP server: `AUTH PLAIN` and
///   `AUTH LOGIN` (the password in base64) and every mail, with its signed portal links;
/// - `reqwest` at trace can write every byte sent and received (webhook and SMS posts,
///   the OAuth2 token requests with their client secret and refresh token);
/// - `handlebars` at debug writes the value of every helper's parameters, which in an
///   operator's template can be a signed portal link (`{{#if link}}`).
///
/// A filter layer of its own rather than directives added to the environment's filter: a
/// directive sets a level, so it would also raise these targets when the filter is
/// quieter, and the environment's own directive for a target could replace it.
fn secret_safe_caps() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("async_imap", LevelFilter::DEBUG)
        .with_target("lettre", LevelFilter::INFO)
        .with_target("reqwest", LevelFilter::DEBUG)
        .with_target("handlebars", LevelFilter::INFO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_dumping_levels_are_held_back_and_the_rest_passes() {
        let caps = secret_safe_caps();
        assert!(!caps.would_enable("async_imap::imap_stream", &tracing::Level::TRACE));
        assert!(caps.would_enable("async_imap::client", &tracing::Level::DEBUG));
        assert!(!caps.would_enable(
            "lettre::transport::smtp::client::async_connection",
            &tracing::Level::DEBUG
        ));
        assert!(!caps.would_enable("reqwest::connect", &tracing::Level::TRACE));
        assert!(!caps.would_enable("handlebars::render", &tracing::Level::DEBUG));
        assert!(caps.would_enable("ticketgate::intake", &tracing::Level::TRACE));
        assert!(caps.would_enable("sqlx::query", &tracing::Level::DEBUG));
    }

    #[test]
    fn the_journal_is_told_by_its_device_and_inode() {
        assert!(names_stream("64769:123456", 64769, 123456));
        assert!(!names_stream("64769:123456", 64769, 123457));
        assert!(!names_stream("", 0, 0));
        assert_eq!(output(LogFormat::Text), Output::Text);
        assert_eq!(output(LogFormat::Json), Output::Json);
    }
}
