//! What the ticket of a run holds, read from its SQLite file after the measurements: that
//! the mail was taken as the figures assume (its text, its files, its note).

use std::path::{Path, PathBuf};

use sqlx::{Connection, Row};

use crate::len;

/// Prints the first article of the run in `dir` (its text's length, the ticket's
/// description, the note), its files and the raw mail's size, each line led by `kind`.
pub fn ticket(kind: &str, dir: &Path) {
    // A runtime of one thread, dropped after: the bench stays small for the children
    // started after it (see `child::reset_peak`).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(describe(kind, dir));
}

async fn describe(kind: &str, dir: &Path) {
    sqlx::any::install_default_drivers();
    let url = format!(
        "sqlite://{}?mode=ro",
        dir.join("data/ticketgate.db").display()
    );
    let mut conn = match sqlx::AnyConnection::connect(&url).await {
        Ok(c) => c,
        Err(e) => return println!("{kind} mail: cannot read its database: {e}"),
    };
    let article = sqlx::query(
        "SELECT length(a.body_text) AS body, length(t.description) AS description, \
         COALESCE(a.note, '') AS note FROM articles a JOIN tickets t ON t.id = a.ticket_id \
         ORDER BY a.id LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await;
    if let Ok(r) = article {
        let body: i64 = r.try_get("body").unwrap_or(0);
        let description: i64 = r.try_get("description").unwrap_or(0);
        let note: String = r.try_get("note").unwrap_or_default();
        println!(
            "{kind} mail: article text {body} characters, ticket description {description}; \
             note: {note:?}"
        );
    }
    let files = sqlx::query(
        "SELECT filename, size, COALESCE(sha256, '') AS sha256, \
         COALESCE(refused_reason, '') AS refused FROM attachments ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    for f in files {
        let name: String = f.try_get("filename").unwrap_or_default();
        let size: i64 = f.try_get("size").unwrap_or(0);
        let sha: String = f.try_get("sha256").unwrap_or_default();
        let refused: String = f.try_get("refused").unwrap_or_default();
        let fate = if sha.is_empty() {
            format!("refused: {refused}")
        } else {
            "stored".into()
        };
        println!("{kind} mail: file {name} ({size} bytes) {fate}");
    }
    let raw: u64 = walk(&dir.join("data/raw")).iter().map(|p| len(p)).sum();
    println!("{kind} mail: raw mail kept gzipped, {raw} bytes");
    conn.close().await.ok();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}
