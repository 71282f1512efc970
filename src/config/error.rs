//! What can be wrong with a configuration: [`ConfigError`], what callers get, and
//! [`Errors`], the list every section adds its problems to, each named by its full key.

use std::fmt;
use std::path::PathBuf;

/// Why the configuration cannot be used. Each message names the key and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The named file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The text is not TOML, or names a key no section has: nothing was checked further.
    #[error("the configuration in {source_name} is not valid TOML or has an unknown key: {source}")]
    Syntax {
        source_name: String,
        source: toml::de::Error,
    },
    /// Values that cannot be used, each as `key: what is wrong`, all of them at once.
    #[error("the configuration from {source_name} has {} error(s):\n  - {}", .errors.len(), .errors.join("\n  - "))]
    Invalid {
        source_name: String,
        errors: Vec<String>,
    },
}

/// The problems found in one configuration, each written `key: what is wrong` with the
/// key's full name (`mail.addresses[1]`, `mailbox[0].tls`). Sections add to it instead of
/// stopping at the first problem, so that an operator fixes everything in one pass.
#[derive(Debug, Default)]
pub(super) struct Errors(Vec<String>);

impl Errors {
    /// Records that the value at `key` is wrong.
    pub(super) fn push(&mut self, key: impl fmt::Display, problem: impl fmt::Display) {
        self.0.push(format!("{key}: {problem}"));
    }

    /// The value `result` holds, or `None` once its error is recorded under `key`.
    pub(super) fn check<T, E: fmt::Display>(
        &mut self,
        key: impl fmt::Display,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_err(|e| self.push(key, e)).ok()
    }

    /// Records an error when `value` is over `max`, the most the key accepts.
    pub(super) fn at_most(&mut self, key: impl fmt::Display, value: u64, max: u64) {
        if value > max {
            self.push(
                key,
                format_args!("{value} is over the most accepted, {max}"),
            );
        }
    }

    /// How many problems are recorded: a section compares it before and after itself to
    /// tell whether it found one.
    pub(super) fn count(&self) -> usize {
        self.0.len()
    }

    /// The messages, in the order they were found.
    pub(super) fn into_messages(self) -> Vec<String> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_is_named_by_its_key() {
        let mut errors = Errors::default();
        assert_eq!(errors.check("a.b", "7".parse::<u8>()), Some(7));
        assert_eq!(errors.check("a.c", "x".parse::<u8>()), None);
        errors.at_most("a.d", 10, 10);
        errors.at_most("a.e", 11, 10);
        assert_eq!(
            errors.into_messages(),
            [
                "a.c: invalid digit found in string",
                "a.e: 11 is over the most accepted, 10"
            ]
        );
    }
}
