//! Both backends keep the same promises: content stored once, bytes back as written,
//! removal idempotent, foreign keys refused.

use super::*;
use chrono::TimeZone;

/// Each backend on a fresh directory and SQLite database; the directory is kept alive.
async fn backends() -> (tempfile::TempDir, Vec<Files>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("blobs.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let files = vec![
        Files::on_disk(&dir.path().join("data")),
        Files::in_database(store),
    ];
    (dir, files)
}

fn november() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

#[tokio::test]
async fn identical_content_is_stored_once_and_read_back() {
    let (dir, backends) = backends().await;
    for files in backends {
        let a = files.put_attachment(b"same", november()).await.unwrap();
        let b = files.put_attachment(b"same", november()).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a, crate::files::sha256_hex(b"same"));
        assert_eq!(files.attachment(&a).await.unwrap(), b"same");
        let empty = files.put_attachment(b"", november()).await.unwrap();
        assert_eq!(files.attachment(&empty).await.unwrap(), b"");

        let mail = b"Subject: x\r\n\r\nbody\xff\x00";
        let raw = files.put_raw(mail, november()).await.unwrap();
        assert!(raw.starts_with("raw/2026/11/"), "{raw}");
        assert_eq!(files.put_raw(mail, november()).await.unwrap(), raw);
        assert_eq!(files.raw(&raw).await.unwrap(), mail);
    }
    let on_disk = dir.path().join("data/attachments");
    let stored: Vec<_> = walk(&on_disk);
    assert_eq!(stored.len(), 2, "one file per content: {stored:?}");
}

#[tokio::test]
async fn removal_is_idempotent_and_reads_then_say_missing() {
    let (_dir, backends) = backends().await;
    for files in backends {
        let raw = files
            .put_raw(b"Subject: y\r\n\r\n", november())
            .await
            .unwrap();
        files.remove_raw(&raw).await.unwrap();
        files.remove_raw(&raw).await.unwrap();
        let err = files.raw(&raw).await.unwrap_err();
        assert!(matches!(err, FilesError::Missing { .. }), "{err}");
        assert!(!err.is_transient());
        assert!(err.to_string().contains(files.backend().name()), "{err}");

        let sha = files
            .put_attachment(b"gone soon", november())
            .await
            .unwrap();
        files.remove_attachment(&sha).await.unwrap();
        files.remove_attachment(&sha).await.unwrap();
        assert!(matches!(
            files.attachment(&sha).await,
            Err(FilesError::Missing { .. })
        ));
    }
}

#[tokio::test]
async fn keys_of_another_form_touch_nothing() {
    let (dir, backends) = backends().await;
    let bystander = dir.path().join("data/keep.eml.gz");
    std::fs::create_dir_all(bystander.parent().unwrap()).unwrap();
    std::fs::write(&bystander, b"not ours to delete").unwrap();
    for files in backends {
        for bad in [
            "raw/../keep.eml.gz",
            "../data/keep.eml.gz",
            "raw/2026/11/x.eml.gz",
        ] {
            let err = files.remove_raw(bad).await.unwrap_err();
            assert!(matches!(err, FilesError::NotAKey { .. }), "{bad}: {err}");
            assert!(files.raw(bad).await.is_err());
        }
        for bad in ["", "../../etc/passwd", "ab"] {
            assert!(matches!(
                files.attachment(bad).await,
                Err(FilesError::NotAKey { .. })
            ));
            assert!(files.remove_attachment(bad).await.is_err());
        }
    }
    assert!(bystander.exists());
}

#[tokio::test]
async fn damaged_raw_mail_is_reported_as_such() {
    let (dir, backends) = backends().await;
    let files = &backends[0];
    let raw = files
        .put_raw(b"Subject: z\r\n\r\n", november())
        .await
        .unwrap();
    std::fs::write(dir.path().join("data").join(&raw), b"not gzip").unwrap();
    let err = files.raw(&raw).await.unwrap_err();
    assert!(matches!(err, FilesError::Damaged { .. }), "{err}");
}

#[tokio::test]
async fn the_settings_choose_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "data_dir = '{}'\n[storage]\nbackend = \"database\"",
        dir.path().display()
    );
    let settings =
        Settings::from_toml(&text, crate::config::ConfigSource::Embedded, Vec::new()).unwrap();
    let store = Store::connect(settings.database_url.expose())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let files = Files::new(&settings, &store);
    assert_eq!(files.backend(), StorageBackend::Database);
    let sha = files
        .put_attachment(b"in the database", november())
        .await
        .unwrap();
    assert_eq!(files.attachment(&sha).await.unwrap(), b"in the database");
    assert!(
        !dir.path().join("attachments").exists(),
        "nothing is written under data_dir"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
