//! Where the configuration comes from, each layer over the one before: the embedded
//! defaults, then a TOML file, then `TICKETGATE_*` environment variables, one key each.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::raw::RawConfig;
use super::{ConfigError, ConfigSource, Settings};

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "TICKETGATE_CONFIG";
/// The configuration file used when neither `--config` nor [`CONFIG_ENV`] names one.
pub const DEFAULT_CONFIG_PATH: &str = "config/ticketgate.toml";
const ENV_PREFIX: &str = "TICKETGATE_";
/// Variables with the prefix that are not configuration keys.
const ENV_NOT_KEYS: &[&str] = &[
    "TICKETGATE_CONFIG",
    "TICKETGATE_LOG",
    crate::service_manager::STALL_HOOK_ENV,
    crate::clock::SHIFT_HOOK_ENV,
];

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
        let mut overrides = Vec::new();
        for (key, value) in env {
            if let Some(path) = key.strip_prefix(ENV_PREFIX)
                && !ENV_NOT_KEYS.contains(&key.as_str())
            {
                let keys = apply_env_override(&mut table, path, &value);
                overrides.push((key, keys.join(".")));
            }
        }
        let mut unknown = Vec::new();
        let raw = loop {
            let e = match RawConfig::deserialize(toml::Value::Table(table.clone())) {
                Ok(raw) => break raw,
                Err(e) => e,
            };
            // Each unknown key is set aside and the rest read again, so that every one is
            // reported at once, by the variable that set it or as the file's.
            match unknown_key(&e.to_string(), &mut table) {
                Some((path, expected)) if unknown.len() < MAX_UNKNOWN => unknown.push(
                    unknown_key_message(&path, &expected, &overrides, &source_name),
                ),
                _ => return Err(syntax(e)),
            }
        };
        let validated = super::validate::validate(raw, source);
        match (validated, unknown.is_empty()) {
            (Ok(settings), true) => Ok(settings),
            (Ok(_), false) => Err(ConfigError::Invalid {
                source_name,
                errors: unknown,
            }),
            (Err(errors), _) => Err(ConfigError::Invalid {
                source_name,
                errors: unknown.into_iter().chain(errors).collect(),
            }),
        }
    }
}

/// The most unknown keys reported at once (a guard against a loop, not a real limit).
const MAX_UNKNOWN: usize = 100;

/// Takes the key a deserialization error calls unknown out of `table`: its path
/// (`smtp.trasport`, `mailbox[0].tsl`) and the keys its table has, as the error lists them.
/// `None` when the error is about something else.
fn unknown_key(error: &str, table: &mut toml::Table) -> Option<(String, String)> {
    let rest = error.split_once("unknown field `")?.1;
    let (name, after) = rest.split_once('`')?;
    let expected = after
        .split_once("expected ")
        .map(|(_, e)| e.lines().next().unwrap_or(e).trim().to_string())
        .unwrap_or_default();
    let path = remove_key(table, name, "")?;
    Some((path, expected))
}

/// Removes the first key called `name`, looking at each table's own keys before going
/// down into its sections (and into arrays of tables); the removed key's path.
fn remove_key(table: &mut toml::Table, name: &str, prefix: &str) -> Option<String> {
    if table.remove(name).is_some() {
        return Some(format!("{prefix}{name}"));
    }
    for (key, value) in table.iter_mut() {
        let found = match value {
            toml::Value::Table(t) => remove_key(t, name, &format!("{prefix}{key}.")),
            toml::Value::Array(items) => items.iter_mut().enumerate().find_map(|(i, item)| {
                item.as_table_mut()
                    .and_then(|t| remove_key(t, name, &format!("{prefix}{key}[{i}].")))
            }),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// How an unknown key is reported: by the environment variable that set it when one did
/// (the file is not to blame for a mistyped variable), else as the file's.
fn unknown_key_message(
    path: &str,
    expected: &str,
    overrides: &[(String, String)],
    source_name: &str,
) -> String {
    let hint = if expected.is_empty() {
        String::new()
    } else {
        format!("; expected {expected}")
    };
    let by_variable = overrides.iter().find(|(_, keys)| {
        keys == path
            || keys
                .strip_prefix(path)
                .is_some_and(|rest| rest.starts_with('.'))
    });
    match by_variable {
        Some((variable, _)) => format!(
            "{variable}: unknown environment key (`{path}` is not a setting){hint}; fix or unset the variable"
        ),
        None => format!("{path}: unknown key in {source_name}{hint}"),
    }
}

/// Sets `DATABASE__URL`-style keys (sections split by `__`, lower-cased) in the table; the
/// keys it set, in order. The value is read as TOML when it parses (numbers, booleans,
/// arrays), else as a string.
fn apply_env_override(table: &mut toml::Table, path: &str, value: &str) -> Vec<String> {
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
    keys
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
    fn every_unknown_key_is_reported_and_a_variable_is_blamed_for_its_own() {
        let err = load(
            "[tickets]\nnumbr_tag = \"x\"\n[smtp]\ntransport = \"file\"",
            &[("TICKETGATE_SMTP__TRASPORT", "smtp")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("TICKETGATE_SMTP__TRASPORT: unknown environment key (`smtp.trasport`"),
            "{err}"
        );
        assert!(err.contains("tickets.numbr_tag: unknown key in"), "{err}");
        assert!(err.contains("2 error(s)"), "{err}");
        let err = load("", &[("TICKETGATE_SMPT__TRANSPORT", "smtp")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("TICKETGATE_SMPT__TRANSPORT: unknown environment key (`smpt`"),
            "{err}"
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
