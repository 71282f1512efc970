//! Where the configuration comes from, each layer over the one before: the embedded
//! defaults, then a TOML file, then `TICKETGATE_*` environment variables, one key each.

use std::path::{Path, PathBuf};

use super::raw::RawConfig;
use super::{ConfigError, ConfigSource, Settings};

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "TICKETGATE_CONFIG";
/// The configuration file used when neither `--config` nor [`CONFIG_ENV`] names one.
pub const DEFAULT_CONFIG_PATH: &str = "config/ticketgate.toml";
const ENV_PREFIX: &str = "TICKETGATE_";
/// Variables with the prefix that are not configuration keys.
const ENV_NOT_KEYS: &[&str] = &["TICKETGATE_CONFIG", "TICKETGATE_LOG"];

impl Settings {
    /// Loads the configuration: `explicit` (from `--config`), else [`CONFIG_ENV`], else
    /// [`DEFAULT_CONFIG_PATH`] when it exists, else the embedded defaults; then applies
    /// `TICKETGATE_*` variables from `env`.
    pub fn load(
        explicit: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let from_env = env
            .iter()
            .find(|(k, _)| k == CONFIG_ENV)
            .map(|(_, v)| PathBuf::from(v));
        let path = explicit.map(Path::to_path_buf).or(from_env).or_else(|| {
            let default = PathBuf::from(DEFAULT_CONFIG_PATH);
            default.exists().then_some(default)
        });
        let (source, text) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                (ConfigSource::File(path), text)
            }
            None => (ConfigSource::Embedded, String::new()),
        };
        Self::from_toml(&text, source, env)
    }

    /// Builds settings from TOML text and environment overrides. Unknown keys, in the text
    /// or in a variable, are refused before any value is checked; then every value is, and
    /// every problem is reported at once.
    pub fn from_toml(
        text: &str,
        source: ConfigSource,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let source_name = source.to_string();
        let syntax = |e: toml::de::Error| ConfigError::Syntax {
            source_name: source_name.clone(),
            source: e,
        };
        let mut table: toml::Table = text.parse().map_err(syntax)?;
        for (key, value) in env {
            if let Some(path) = key.strip_prefix(ENV_PREFIX)
                && !ENV_NOT_KEYS.contains(&key.as_str())
            {
                apply_env_override(&mut table, path, &value);
            }
        }
        let raw: RawConfig = toml::Value::Table(table).try_into().map_err(syntax)?;
        super::validate::validate(raw, source).map_err(|errors| ConfigError::Invalid {
            source_name,
            errors,
        })
    }
}

/// Sets `DATABASE__URL`-style keys (sections split by `__`, lower-cased) in the table. The
/// value is read as TOML when it parses (numbers, booleans, arrays), else as a string.
fn apply_env_override(table: &mut toml::Table, path: &str, value: &str) {
    let keys: Vec<String> = path.split("__").map(|k| k.to_ascii_lowercase()).collect();
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    let (last, sections) = keys.split_last().expect("split yields at least one key");
    let mut current = table;
    for section in sections {
        let entry = current
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        current = entry.as_table_mut().expect("just made a table");
    }
    current.insert(last.clone(), parsed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::load;

    #[test]
    fn environment_overrides_single_keys() {
        let s = load(
            "data_dir = \"/srv/tg\"\n[tickets]\nnumber_tag = \"[#{number}]\"",
            &[
                ("TICKETGATE_TICKETS__NUMBER_TAG", "[Ticket#{number}]"),
                ("TICKETGATE_MAX_ATTACHMENT_BYTES", "1000"),
                ("TICKETGATE_DATABASE__URL", "postgres://tg:hunter2@db/tg"),
                ("TICKETGATE_LOG", "debug"),
            ],
        )
        .unwrap();
        assert_eq!(s.max_attachment_bytes, 1000);
        assert_eq!(s.data_dir, PathBuf::from("/srv/tg"));
        assert!(s.subject_tag.find("[ticket#2611N00001]").is_some());
        assert_eq!(s.database_url.to_string(), "postgres://tg:***@db/tg");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn a_variable_is_read_as_toml_when_it_parses_and_as_text_otherwise() {
        let mut table = toml::Table::new();
        apply_env_override(&mut table, "NOTIFICATIONS__TICKET_LIMITS", "[\"1/1h\"]");
        apply_env_override(&mut table, "INTAKE__RETRY_BUDGET", "3");
        apply_env_override(&mut table, "DATA_DIR", "/srv/tg data");
        assert_eq!(
            table["notifications"]["ticket_limits"],
            toml::Value::Array(vec!["1/1h".into()])
        );
        assert_eq!(table["intake"]["retry_budget"], toml::Value::Integer(3));
        assert_eq!(
            table["data_dir"],
            toml::Value::String("/srv/tg data".into())
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = load("[tickets]\nnumbr_tag = \"x\"", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("numbr_tag"), "{err}");
        let err = load("", &[("TICKETGATE_DATABSE__URL", "x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("databse"), "{err}");
    }
}
