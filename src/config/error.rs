//! What can be wrong with a configuration: [`ConfigError`], what callers get.

use std::path::PathBuf;

/// Why the configuration cannot be used. Each message names the key and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration in {source_name} is not valid TOML or has an unknown key: {source}")]
    Syntax {
        source_name: String,
        source: toml::de::Error,
    },
    #[error("the configuration from {source_name} has {} error(s):\n  - {}", .errors.len(), .errors.join("\n  - "))]
    Invalid {
        source_name: String,
        errors: Vec<String>,
    },
}
