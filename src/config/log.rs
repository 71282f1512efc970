//! `[log]`: how the log lines on standard error are written (text for a person at a
//! terminal, one JSON object per line for the journal and log collectors) and how much
//! the daemon says by default. `TICKETGATE_LOG` (or `RUST_LOG`), a filter, still wins over
//! `level`.

use serde::Deserialize;

use super::error::Errors;

/// The `[log]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLog {
    /// `auto`, `text` or `json`.
    format: String,
    /// The level of ticketgate's own lines under `ticketgate run`, when set.
    level: Option<String>,
}

impl Default for RawLog {
    fn default() -> Self {
        Self {
            format: "auto".into(),
            level: None,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// JSON when standard error is the systemd journal (`JOURNAL_STREAM` names it), text
    /// otherwise.
    Auto,
    /// One line of text per event, for a person.
    Text,
    /// One JSON object per line, with the fields of every span the event happened in.
    Json,
}

/// The validated `[log]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// How lines are written.
    pub format: LogFormat,
    /// The level of ticketgate's own lines under `ticketgate run` (dependencies stay at
    /// warnings); `None`: info. Commands log warnings and errors only, so that their
    /// output stays readable.
    pub level: Option<tracing::Level>,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Auto,
            level: None,
        }
    }
}

/// The levels `level` takes, most severe first.
const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

impl RawLog {
    /// Validates `[log]`, recording each error with its key.
    pub(super) fn validate(self, errors: &mut Errors) -> LogSettings {
        let format = match self.format.as_str() {
            "auto" => LogFormat::Auto,
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                errors.push(
                    "log.format",
                    format_args!("`{other}` is not a format; give auto, text or json"),
                );
                LogFormat::Auto
            }
        };
        let level = self.level.and_then(|level| {
            let lower = level.trim().to_ascii_lowercase();
            if LEVELS.contains(&lower.as_str()) {
                lower.parse().ok()
            } else {
                errors.push(
                    "log.level",
                    format_args!(
                        "`{level}` is not a level; give one of {} (a filter per module goes in TICKETGATE_LOG)",
                        LEVELS.join(", ")
                    ),
                );
                None
            }
        });
        LogSettings { format, level }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::load;

    use super::*;

    #[test]
    fn the_format_is_automatic_unless_chosen_and_the_variable_sets_it() {
        assert_eq!(load("", &[]).unwrap().log, LogSettings::default());
        let s = load("[log]\nformat = \"text\"\nlevel = \"DEBUG\"\n", &[]).unwrap();
        assert_eq!(s.log.format, LogFormat::Text);
        assert_eq!(s.log.level, Some(tracing::Level::DEBUG));
        let s = load("", &[("TICKETGATE_LOG__FORMAT", "json")]).unwrap();
        assert_eq!(s.log.format, LogFormat::Json);
    }

    #[test]
    fn unknown_formats_and_levels_are_refused_with_their_key() {
        let err = load("[log]\nformat = \"xml\"\nlevel = \"loud\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("log.format: `xml` is not a format"), "{err}");
        assert!(err.contains("log.level: `loud` is not a level"), "{err}");
    }
}
