//! `[database]`: which store ticketgate uses, SQLite (the default, under `data_dir`) or
//! PostgreSQL, and a URL type that keeps its password out of every message and log.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::error::Errors;

/// The `[database]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawDatabase {
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`; by default
    /// `sqlite://<data_dir>/ticketgate.db`.
    url: Option<String>,
}

/// The database URL, kept apart so that its password never reaches a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL with its secret, for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `url` with its password replaced by `***`, for messages and logs.
    pub fn redact(url: &str) -> String {
        DatabaseUrl(url.to_string()).to_string()
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // scheme://user:password@host → scheme://user:***@host
        match (self.0.find("://"), self.0.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                let creds = &self.0[s + 3..at];
                match creds.split_once(':') {
                    Some((user, _)) => write!(f, "{}{user}:***{}", &self.0[..s + 3], &self.0[at..]),
                    None => f.write_str(&self.0),
                }
            }
            _ => f.write_str(&self.0),
        }
    }
}

impl RawDatabase {
    /// Validates `[database]`: the URL, or the SQLite file under `data_dir` when none is
    /// given, must name a backend ticketgate has. The error shows the URL redacted.
    pub(super) fn validate(self, data_dir: &Path, errors: &mut Errors) -> DatabaseUrl {
        let url =
            DatabaseUrl(self.url.unwrap_or_else(|| {
                format!("sqlite://{}", data_dir.join("ticketgate.db").display())
            }));
        let supported = ["sqlite:", "postgres://", "postgresql://"];
        if !supported.iter().any(|scheme| url.0.starts_with(scheme)) {
            errors.push(
                "database.url",
                format_args!(
                    "`{url}` is not supported; use sqlite://PATH or postgres://USER@HOST/DB"
                ),
            );
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_sqlite_under_data_dir() {
        let url = RawDatabase::default().validate(Path::new("/srv/tg"), &mut Errors::default());
        assert_eq!(url.expose(), "sqlite:///srv/tg/ticketgate.db");
    }

    #[test]
    fn an_unsupported_url_is_named_by_its_key_without_its_password() {
        let mut errors = Errors::default();
        let raw = RawDatabase {
            url: Some("mysql://tg:hunter2@db/tg".into()),
        };
        raw.validate(Path::new("data"), &mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "database.url: `mysql://tg:***@db/tg` is not supported; use sqlite://PATH or postgres://USER@HOST/DB"
            ]
        );
    }

    #[test]
    fn only_the_password_is_hidden() {
        assert_eq!(
            DatabaseUrl::redact("postgres://tg:s3cr:t@db:5432/tg"),
            "postgres://tg:***@db:5432/tg"
        );
        assert_eq!(
            DatabaseUrl::redact("postgres://tg@db/tg"),
            "postgres://tg@db/tg"
        );
        assert_eq!(
            DatabaseUrl::redact("sqlite://data/tg.db"),
            "sqlite://data/tg.db"
        );
    }
}
