//! Where attachments and raw mail are kept: files under the data directory (which several
//! instances may share), or the database (which several instances share anyway).

use std::fmt;

use serde::Deserialize;

use super::error::Errors;

/// The `[storage]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawStorage {
    /// `fs` or `database`: see [`StorageBackend`].
    backend: String,
}

impl Default for RawStorage {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Fs.name().into(),
        }
    }
}

/// Which backend holds the bytes of attachments and raw mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageBackend {
    /// Files under `data_dir` (`attachments/`, `raw/`): the default. Several instances
    /// share them only if they share the directory.
    Fs,
    /// Rows of the database's `blobs` table: every instance connected to the database
    /// sees them, with no shared directory to set up.
    Database,
}

impl StorageBackend {
    const ALL: [StorageBackend; 2] = [StorageBackend::Fs, StorageBackend::Database];

    /// The value written in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            StorageBackend::Fs => "fs",
            StorageBackend::Database => "database",
        }
    }
}

impl fmt::Display for StorageBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The validated `[storage]` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageSettings {
    /// Where attachment bytes and raw mail go; see [`StorageBackend`].
    pub backend: StorageBackend,
}

impl RawStorage {
    /// Validates `[storage]`, recording each error with its key.
    pub(super) fn validate(self, errors: &mut Errors) -> StorageSettings {
        let wanted = self.backend.trim();
        let backend = StorageBackend::ALL
            .into_iter()
            .find(|b| b.name() == wanted)
            .unwrap_or_else(|| {
                errors.push(
                    "storage.backend",
                    format_args!("`{}` is not one of fs, database", self.backend),
                );
                StorageBackend::Fs
            });
        StorageSettings { backend }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(backend: &str) -> (StorageSettings, Vec<String>) {
        let mut errors = Errors::default();
        let raw = RawStorage {
            backend: backend.into(),
        };
        (raw.validate(&mut errors), errors.into_messages())
    }

    #[test]
    fn both_backends_are_read_and_fs_is_the_default() {
        assert_eq!(
            RawStorage::default()
                .validate(&mut Errors::default())
                .backend,
            StorageBackend::Fs
        );
        assert_eq!(parse("database").0.backend, StorageBackend::Database);
        assert_eq!(parse("fs").0.backend, StorageBackend::Fs);
    }

    #[test]
    fn the_section_is_read_from_the_file_and_the_environment() {
        use crate::config::{ConfigSource, Settings};
        let load = |text: &str, env: &[(&str, &str)]| {
            let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
            Settings::from_toml(text, ConfigSource::Embedded, env)
        };
        let file = load("[storage]\nbackend = \"database\"", &[]).unwrap();
        assert_eq!(file.storage.backend, StorageBackend::Database);
        let env = load("", &[("TICKETGATE_STORAGE__BACKEND", "database")]).unwrap();
        assert_eq!(env.storage.backend, StorageBackend::Database);
        let err = load("[storage]\nbackend = \"nfs\"", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("storage.backend: `nfs`"), "{err}");
        let err = load("[storage]\ndir = \"/srv\"", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("dir"), "{err}");
    }

    #[test]
    fn an_unknown_backend_is_an_error_naming_the_key() {
        let (_, errors) = parse("s3");
        assert_eq!(errors, ["storage.backend: `s3` is not one of fs, database"]);
    }
}
