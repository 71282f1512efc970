//! Secrets (passwords, signing keys) named in the configuration by where to read them, so
//! that the value never sits in the parsed settings or in a log line.

use std::path::PathBuf;

use super::error::Errors;

/// A secret read when it is needed, so that a rotated file or variable is picked up at the
/// next connection and the value never sits in the parsed configuration.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the configuration file itself.
    Inline(String),
    /// The value of this environment variable.
    Env(String),
    /// The content of this file, trimmed (systemd credentials, Kubernetes secrets).
    File(PathBuf),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Inline(_) => f.write_str("Inline(***)"),
            SecretSource::Env(v) => write!(f, "Env({v})"),
            SecretSource::File(p) => write!(f, "File({})", p.display()),
        }
    }
}

impl SecretSource {
    /// The secret given by at most one of `NAME`, `NAME_env` and `NAME_file` (`key` is the
    /// full key of NAME, for the error); `None` when none is given, or after recording
    /// that more than one is.
    pub(super) fn one_of(
        key: &str,
        inline: Option<String>,
        env: Option<String>,
        file: Option<PathBuf>,
        errors: &mut Errors,
    ) -> Option<SecretSource> {
        match (inline, env, file) {
            (Some(v), None, None) => Some(SecretSource::Inline(v)),
            (None, Some(v), None) => Some(SecretSource::Env(v)),
            (None, None, Some(f)) => Some(SecretSource::File(f)),
            (None, None, None) => None,
            _ => {
                let name = key.rsplit('.').next().unwrap_or(key);
                errors.push(
                    key,
                    format_args!("give only one of {name}, {name}_env, {name}_file"),
                );
                None
            }
        }
    }

    /// Reads the secret now.
    pub fn read(&self) -> Result<String, String> {
        match self {
            SecretSource::Inline(s) => Ok(s.clone()),
            SecretSource::Env(var) => {
                std::env::var(var).map_err(|_| format!("the environment variable {var} is not set"))
            }
            SecretSource::File(path) => {
                let path = in_credentials_directory(path)?;
                std::fs::read_to_string(&path)
                    .map(|s| s.trim().to_string())
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))
            }
        }
    }
}

/// How a file path names a systemd credential: the unit's `LoadCredential=ID` puts it in
/// the directory systemd gives in this variable, which is only known when the daemon runs.
const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// `path` with a leading `${CREDENTIALS_DIRECTORY}` or `$CREDENTIALS_DIRECTORY` replaced by
/// that variable's value; other paths as they are.
fn in_credentials_directory(path: &std::path::Path) -> Result<PathBuf, String> {
    let text = path.to_string_lossy();
    let rest = ["${CREDENTIALS_DIRECTORY}", "$CREDENTIALS_DIRECTORY"]
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix));
    let Some(rest) = rest else {
        return Ok(path.to_path_buf());
    };
    let directory = std::env::var_os(CREDENTIALS_DIRECTORY).ok_or_else(|| {
        format!(
            "{} names a systemd credential, but {CREDENTIALS_DIRECTORY} is not set: run under the systemd unit (LoadCredential=), or give the file's full path",
            path.display()
        )
    })?;
    Ok(PathBuf::from(directory).join(rest.trim_start_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_path_is_read_from_the_directory_systemd_gives() {
        let plain = std::path::Path::new("/etc/ticketgate/secret");
        assert_eq!(in_credentials_directory(plain).unwrap(), plain);
        // The variable is not set in tests: the error says what to do.
        if std::env::var_os(CREDENTIALS_DIRECTORY).is_none() {
            let named = std::path::Path::new("${CREDENTIALS_DIRECTORY}/imap");
            let error = in_credentials_directory(named).unwrap_err();
            assert!(error.contains("LoadCredential="), "{error}");
        }
    }

    #[test]
    fn at_most_one_source_and_an_inline_secret_stays_out_of_logs() {
        let mut errors = Errors::default();
        let inline = SecretSource::one_of(
            "smtp.password",
            Some("hunter2".into()),
            None,
            None,
            &mut errors,
        );
        assert_eq!(format!("{inline:?}"), "Some(Inline(***))");
        let none = SecretSource::one_of("smtp.password", None, None, None, &mut errors);
        assert_eq!(none, None);
        let both = SecretSource::one_of(
            "mailbox[2].password",
            Some("p".into()),
            Some("VAR".into()),
            None,
            &mut errors,
        );
        assert_eq!(both, None);
        assert_eq!(
            errors.into_messages(),
            ["mailbox[2].password: give only one of password, password_env, password_file"]
        );
    }
}
