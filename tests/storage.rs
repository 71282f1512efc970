//! Where attachments and raw mail go: `[storage] backend = "fs"` (files under data_dir)
//! or `"database"` (rows every instance sharing the database reads), through the
//! pipeline, the purge job and the CLI.

use std::path::Path;
use std::sync::Arc;

use crate::pipeline_rules::base64_encode;
use crate::support::helpers::{Cli, TestEnv, created, stderr, stdout};
use ticketgate::domain::TicketNumber;
use ticketgate::files::FilesError;
use ticketgate::files::sha256_hex;
use ticketgate::service::{JobKind, Jobs};

const DATABASE: &str = "[storage]\nbackend = \"database\"\n[jobs]\npurge_raw_mail_days = 30\n";
const FS: &str = "[jobs]\npurge_raw_mail_days = 30\n";

/// A mail from Alice with one part per file, base64-encoded as mail clients send them.
fn mail_with_files(message_id: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut mail = format!(
        "From: Alice <alice@acme.example>\r\nTo: support@localhost\r\nSubject: Files for you\r\n\
         Message-ID: <{message_id}>\r\nDate: Tue, 24 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n\
         The files are attached.\r\n"
    );
    for (name, bytes) in files {
        mail.push_str(&format!(
            "--B\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        ));
        for line in base64_encode(bytes).as_bytes().chunks(76) {
            mail.push_str(std::str::from_utf8(line).unwrap());
            mail.push_str("\r\n");
        }
    }
    mail.push_str("--B--\r\n");
    mail.into_bytes()
}

/// Binary content that no text transformation leaves intact.
fn binary(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Rows of `blobs` of `kind` (`attachment`, `raw`), read through the same URL as the
/// store, so on SQLite and PostgreSQL alike.
async fn blob_rows(env: &TestEnv, kind: &str) -> i64 {
    use sqlx::Row;
    let url = env.pipeline().settings().database_url.expose().to_string();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let row = sqlx::query("SELECT COUNT(*) AS n FROM blobs WHERE kind = $1")
        .bind(kind)
        .fetch_one(&pool)
        .await
        .unwrap();
    let n = row.try_get::<i64, _>("n").unwrap();
    pool.close().await;
    n
}

/// Every file under `dir`, recursively; none when it does not exist.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Runs the purge job as of 40 days after the mails arrived.
async fn purge_later(env: &TestEnv) -> Vec<String> {
    env.clock.advance(chrono::Duration::days(40));
    let jobs = Jobs::new(
        env.store().clone(),
        Arc::new(env.pipeline().settings().clone()),
        env.clock.clone(),
    );
    jobs.run(JobKind::Purge, "test").await.unwrap().lines
}

#[tokio::test]
async fn the_database_backend_keeps_attachments_and_raw_mail_in_the_database() {
    let env = TestEnv::with_config(DATABASE).await;
    let (log, dump) = (binary(70_000, 1), binary(5_000, 2));
    let mail = mail_with_files(
        "db-files-1@acme.example",
        &[
            ("crash.log", &log),
            ("copy.log", &log),
            ("core.dump", &dump),
        ],
    );
    let n = created(&env.process(&mail).await);
    let details = env.details(&n).await;
    let article = &details.articles[0];
    let files = env.pipeline().files();
    assert_eq!(article.attachments.len(), 3);
    for (stored, expected) in article.attachments.iter().zip([&log, &log, &dump]) {
        let sha = stored.sha256.as_deref().unwrap();
        assert_eq!(sha, sha256_hex(expected));
        assert_eq!(&files.attachment(sha).await.unwrap(), expected);
    }
    let raw_ref = article.raw_ref.as_deref().unwrap();
    assert_eq!(files.raw(raw_ref).await.unwrap(), mail, "byte for byte");
    assert_eq!(
        blob_rows(&env, "attachment").await,
        2,
        "the same content twice is stored once"
    );

    // The same file in another mail is not stored again.
    let again = mail_with_files("db-files-2@acme.example", &[("again.log", &log)]);
    created(&env.process(&again).await);
    assert_eq!(blob_rows(&env, "attachment").await, 2);
    assert_eq!(blob_rows(&env, "raw").await, 2);
    for folder in ["attachments", "raw"] {
        let written = files_under(&env.data_dir().join(folder));
        assert!(written.is_empty(), "nothing under data_dir: {written:?}");
    }

    // The purge job deletes the old raw mail from the database; attachments stay.
    let lines = purge_later(&env).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(blob_rows(&env, "raw").await, 0);
    assert_eq!(blob_rows(&env, "attachment").await, 2);
    assert!(matches!(
        files.raw(raw_ref).await,
        Err(FilesError::Missing { .. })
    ));
    let purged = &env.details(&n).await.articles[0];
    assert!(purged.raw_ref.is_none());
    assert!(
        purged.note.as_deref().unwrap().contains("purged"),
        "{purged:?}"
    );
    assert_eq!(files.attachment(&sha256_hex(&log)).await.unwrap(), log);
}

#[tokio::test]
async fn the_fs_backend_keeps_them_under_data_dir_and_purges_the_files() {
    let env = TestEnv::with_config(FS).await;
    let log = binary(10_000, 3);
    let mail = mail_with_files(
        "fs-files-1@acme.example",
        &[("a.log", &log), ("b.log", &log)],
    );
    let n = created(&env.process(&mail).await);
    let article = env.details(&n).await.articles[0].clone();
    let sha = sha256_hex(&log);
    let on_disk = env
        .data_dir()
        .join("attachments")
        .join(&sha[..2])
        .join(&sha[2..4])
        .join(&sha);
    assert_eq!(std::fs::read(&on_disk).unwrap(), log);
    assert_eq!(files_under(&env.data_dir().join("attachments")).len(), 1);
    let raw_ref = article.raw_ref.unwrap();
    let raw_file = env.data_dir().join(&raw_ref);
    assert!(raw_file.exists(), "{raw_ref}");
    assert_eq!(env.pipeline().files().raw(&raw_ref).await.unwrap(), mail);
    assert_eq!(blob_rows(&env, "attachment").await, 0);
    assert_eq!(blob_rows(&env, "raw").await, 0);

    let lines = purge_later(&env).await;
    assert_eq!(lines, [format!("raw mail {raw_ref} deleted")]);
    assert!(!raw_file.exists());
    assert!(on_disk.exists(), "attachments are not purged");
}

/// A batch's mails (the intake's group commit) are kept in one pack file on disk: each
/// reads back byte for byte through its article, and the purge forgets each one while
/// keeping the file until the last of them is purged.
#[tokio::test]
async fn a_batch_s_raw_mail_shares_one_pack_file_deleted_with_its_last_mail() {
    use ticketgate::intake::RawMessage;

    let env = TestEnv::with_config(FS).await;
    let mails: Vec<Vec<u8>> = (0..3)
        .map(|n| {
            mail_with_files(
                &format!("pack-{n}@acme.example"),
                &[(&format!("{n}.log"), &binary(2_000 + n, n as u8))],
            )
        })
        .collect();
    let batch: Vec<(RawMessage, u32)> = mails
        .iter()
        .enumerate()
        .map(|(n, bytes)| {
            let source = format!("mail {n}");
            (
                RawMessage {
                    source,
                    bytes: bytes.clone(),
                },
                0,
            )
        })
        .collect();
    let mut refs = Vec::new();
    for (result, mail) in env.ingestor.try_batch(&batch).await.into_iter().zip(&mails) {
        let report = result.unwrap_or_else(|d| panic!("deferred: {d}"));
        let article = env.details(&report.ticket.unwrap()).await.articles[0].clone();
        let raw_ref = article.raw_ref.unwrap();
        assert_eq!(&env.pipeline().files().raw(&raw_ref).await.unwrap(), mail);
        refs.push(raw_ref);
    }
    let pack = refs[0].split('#').next().unwrap().to_string();
    assert!(pack.ends_with(".pack.zst"), "{refs:?}");
    assert_eq!(refs, [0, 1, 2].map(|n| format!("{pack}#{n}")));
    assert_eq!(
        files_under(&env.data_dir().join("raw")).len(),
        1,
        "one file"
    );

    // The last mail is kept by a later ticket's reference to the same pack: only the
    // first two are purged, and the file stays for the third.
    let mut conn = env.connect().await;
    sqlx::query("UPDATE articles SET created_at = created_at + 3456000000 WHERE raw_ref = $1")
        .bind(&refs[2])
        .execute(&mut conn)
        .await
        .unwrap();
    let lines = purge_later(&env).await;
    assert_eq!(
        lines,
        [0, 1].map(|n| format!("raw mail {} deleted", refs[n])),
        "each mail's line"
    );
    assert!(env.data_dir().join(&pack).is_file(), "kept for the third");
    assert_eq!(
        env.pipeline().files().raw(&refs[2]).await.unwrap(),
        mails[2]
    );
}

/// The number and first article id of the ticket a CLI ingest created.
fn ingested(cli: &Cli, backend: &str, mail: &[u8]) -> (TicketNumber, String) {
    let mut cmd = cli.command(&["ingest", "--json"]);
    cmd.env("TICKETGATE_STORAGE__BACKEND", backend);
    let out = cli.run_with(cmd, Some(mail));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let n: TicketNumber = report["ticket"].as_str().unwrap().parse().unwrap();
    let show = run(cli, backend, &["tickets", "show", n.as_str(), "--json"]);
    let show: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    (n, show["articles"][0]["id"].to_string())
}

fn run(cli: &Cli, backend: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = cli.command(args);
    cmd.env("TICKETGATE_STORAGE__BACKEND", backend);
    cli.run_with(cmd, None)
}

#[test]
fn the_cli_writes_attachments_and_raw_mail_back_from_either_backend() {
    let log = binary(40_000, 4);
    let sha = sha256_hex(&log);
    for backend in ["database", "fs"] {
        let cli = Cli::new();
        let id = format!("cli-files-{backend}@acme.example");
        let mail = mail_with_files(&id, &[("crash.log", &log)]);
        let (n, article) = ingested(&cli, backend, &mail);

        let out = run(&cli, backend, &["tickets", "attachment", n.as_str(), &sha]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(
            out.stdout, log,
            "{backend}: the attachment on standard output"
        );
        let out = run(
            &cli,
            backend,
            &["tickets", "attachment", n.as_str(), &sha, "-o", "copy.log"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(stdout(&out).contains("crash.log"), "{}", stdout(&out));
        assert_eq!(std::fs::read(cli.dir.path().join("copy.log")).unwrap(), log);
        let again = run(
            &cli,
            backend,
            &["tickets", "attachment", n.as_str(), &sha, "-o", "copy.log"],
        );
        assert_eq!(
            again.status.code(),
            Some(1),
            "an existing file is left alone"
        );

        let out = run(&cli, backend, &["tickets", "raw", n.as_str(), &article]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(out.stdout, mail, "{backend}: the raw mail byte for byte");

        let unknown = run(
            &cli,
            backend,
            &["tickets", "attachment", n.as_str(), &sha256_hex(b"other")],
        );
        assert_eq!(unknown.status.code(), Some(1));
        assert!(
            stderr(&unknown).contains("has no stored file with SHA-256"),
            "{}",
            stderr(&unknown)
        );
        let no_article = run(&cli, backend, &["tickets", "raw", n.as_str(), "999"]);
        assert!(
            stderr(&no_article).contains("has no article 999"),
            "{}",
            stderr(&no_article)
        );

        let data = cli.dir.path().join("data");
        let written =
            files_under(&data.join("attachments")).len() + files_under(&data.join("raw")).len();
        assert_eq!(written, if backend == "fs" { 2 } else { 0 }, "{backend}");
    }
}

#[test]
fn reading_with_the_other_backend_says_where_to_look() {
    let cli = Cli::new();
    let log = binary(1_000, 5);
    let mail = mail_with_files("switched@acme.example", &[("crash.log", &log)]);
    let (n, article) = ingested(&cli, "database", &mail);
    let out = run(&cli, "fs", &["tickets", "raw", n.as_str(), &article]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("[storage] backend = \"fs\""),
        "{}",
        stderr(&out)
    );
    let bad = run(&cli, "s3", &["tickets", "list"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("storage.backend: `s3` is not one of fs, database"),
        "{}",
        stderr(&bad)
    );
}
