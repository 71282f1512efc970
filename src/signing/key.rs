//! The link key: from the configuration, or kept under the data directory and created at
//! first use, the same for every process that shares that directory.

use std::path::Path;

/// The shortest key accepted, in bytes: HMAC-SHA256 wants at least its output size.
pub(super) const MIN_KEY_BYTES: usize = 32;

/// Why the signing key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum LinkKeyError {
    #[error("the link secret is shorter than {MIN_KEY_BYTES} bytes; use a long random value")]
    TooShort,
    #[error("cannot read the link secret: {0}")]
    Source(String),
    #[error("cannot create the link secret {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
}

/// The key in `file`, created with 32 random bytes (mode 0600) when missing: links work
/// on the embedded defaults and stay valid across restarts.
pub fn from_file(file: &Path) -> Result<Vec<u8>, LinkKeyError> {
    let create = |source| LinkKeyError::Create {
        path: file.display().to_string(),
        source,
    };
    match std::fs::read(file) {
        Ok(key) => return Ok(key),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(create(e)),
        Err(_) => {}
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| create(std::io::Error::other(e.to_string())))?;
    let encoded = hex::encode(key);
    // Written aside, then linked into place only if no other process (an instance
    // starting at the same time on a shared data_dir) made the key first: then theirs
    // is everybody's.
    let aside = file.with_extension(format!(
        "new-{}-{}",
        std::process::id(),
        crate::atomic_file::unique_suffix()
    ));
    crate::atomic_file::write_atomically(&aside, |f| {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        std::io::Write::write_all(f, encoded.as_bytes())
    })
    .map_err(|e| create(std::io::Error::other(e.to_string())))?;
    let linked = std::fs::hard_link(&aside, file);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Ok(()) => Ok(encoded.into_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read(file).map_err(create)
        }
        Err(e) => Err(create(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused_and_a_missing_key_file_is_created_once() {
        assert!(matches!(
            super::super::LinkSigner::new(b"short", "x", chrono::Duration::days(1)),
            Err(LinkKeyError::TooShort)
        ));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets/link-key");
        let first = from_file(&file).unwrap();
        assert_eq!(from_file(&file).unwrap(), first);
        assert!(first.len() >= MIN_KEY_BYTES);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn processes_making_the_key_at_once_all_end_up_with_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("link-secret");
        let keys: Vec<Vec<u8>> = std::thread::scope(|s| {
            let makers: Vec<_> = (0..8)
                .map(|_| s.spawn(|| from_file(&file).unwrap()))
                .collect();
            makers.into_iter().map(|m| m.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]));
        assert_eq!(std::fs::read(&file).unwrap(), keys[0]);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "only the key file stays");
    }
}
