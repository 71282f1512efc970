//! Articles, the history of a ticket, with their files: writing one, reading them back,
//! and forgetting the raw mail an article came from once the purge deleted it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::rows::{
    bind_each, from_millis, get, list_placeholders, parse_stored, storable, storable_opt, to_millis,
};
use super::{Doing, Store, StoreError};
use crate::domain::{Article, ArticleExcerpt, Attachment, NewArticle};

impl Store {
    /// Who wrote article `article_id`, whether customers may see it, and its text's first
    /// `chars` characters: what a notification quotes, without reading the rest.
    pub async fn article_excerpt(
        &self,
        article_id: i64,
        chars: i32,
    ) -> Result<Option<ArticleExcerpt>, StoreError> {
        let row = sqlx::query(
            "SELECT author, author_name, visibility, substr(body_text, 1, $2) AS excerpt, \
             CAST(length(body_text) AS BIGINT) AS chars FROM articles WHERE id = $1",
        )
        .bind(article_id)
        .bind(chars)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .doing("reading the beginning of an article")?;
        row.map(|row| excerpt_from_row(&row, chars)).transpose()
    }

    /// The files of one article.
    pub async fn article_attachments(
        &self,
        article_id: i64,
    ) -> Result<Vec<Attachment>, StoreError> {
        let rows = sqlx::query("SELECT * FROM attachments WHERE article_id = $1 ORDER BY id")
            .bind(article_id)
            .fetch_all(&mut *self.conn().await?)
            .await
            .doing("reading an article's attachments")?;
        rows.iter()
            .map(|r| attachment_from_row(r).map(|(_, a)| a))
            .collect()
    }

    /// [`Store::article_excerpt`] of each of `ids` that exists, by id, in one read: what a
    /// group of notifications quotes.
    pub async fn article_excerpts(
        &self,
        ids: &[i64],
        chars: i32,
    ) -> Result<HashMap<i64, ArticleExcerpt>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT id, author, author_name, visibility, substr(body_text, 1, $1) AS excerpt, \
             CAST(length(body_text) AS BIGINT) AS chars FROM articles WHERE id IN ({})",
            list_placeholders(ids.len(), 1)
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(chars);
        let rows = bind_each(ids.iter().copied(), query)
            .fetch_all(&mut *self.conn().await?)
            .await
            .doing("reading the beginning of articles")?;
        rows.iter()
            .map(|row| Ok((get(row, "id")?, excerpt_from_row(row, chars)?)))
            .collect()
    }

    /// The attachments of each of `ids`, by article id (none for an article without), in
    /// one read.
    pub async fn articles_attachments(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<Attachment>>, StoreError> {
        let mut files: HashMap<i64, Vec<Attachment>> =
            ids.iter().map(|id| (*id, Vec::new())).collect();
        if ids.is_empty() {
            return Ok(files);
        }
        let sql = format!(
            "SELECT * FROM attachments WHERE article_id IN ({}) ORDER BY id",
            list_placeholders(ids.len(), 0)
        );
        let rows = bind_each(ids.iter().copied(), sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&mut *self.conn().await?)
            .await
            .doing("reading articles' attachments")?;
        for row in &rows {
            let (article, file) = attachment_from_row(row)?;
            files.entry(article).or_default().push(file);
        }
        Ok(files)
    }

    /// [`Store::last_inbound_message_id`] of each of `tickets`, by ticket id (absent for a
    /// ticket without one), in one read.
    pub async fn last_inbound_message_ids(
        &self,
        tickets: &[i64],
    ) -> Result<HashMap<i64, String>, StoreError> {
        if tickets.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT ticket_id, message_id FROM articles WHERE id IN (SELECT MAX(id) FROM articles \
             WHERE ticket_id IN ({}) AND direction = 'inbound' AND message_id IS NOT NULL \
             GROUP BY ticket_id)",
            list_placeholders(tickets.len(), 0)
        );
        let rows = bind_each(
            tickets.iter().copied(),
            sqlx::query(sqlx::AssertSqlSafe(sql)),
        )
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("reading tickets' last messages")?;
        rows.iter()
            .map(|row| Ok((get(row, "ticket_id")?, get(row, "message_id")?)))
            .collect()
    }

    /// Articles whose raw mail was kept since before `cutoff`, with its path, and whether
    /// no later article shares the file; oldest first, ties in article order.
    pub async fn raw_mail_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(i64, String, bool)>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.raw_ref, NOT EXISTS (SELECT 1 FROM articles b \
                 WHERE b.raw_ref = a.raw_ref AND b.created_at >= $1) AS unshared \
             FROM articles a WHERE a.raw_ref IS NOT NULL AND a.created_at < $1 \
             ORDER BY a.created_at, a.id LIMIT $2",
        )
        .bind(to_millis(cutoff))
        .bind(limit)
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("listing old raw mail")?;
        rows.iter()
            .map(|r| {
                let unshared: bool = match r.try_get::<bool, _>("unshared") {
                    Ok(b) => b,
                    Err(_) => r.try_get::<i64, _>("unshared").doing("reading a flag")? != 0,
                };
                Ok((
                    r.try_get("id").doing("reading an article id")?,
                    r.try_get("raw_ref").doing("reading a raw path")?,
                    unshared,
                ))
            })
            .collect()
    }

    /// Whether an article other than `except` names raw mail in `[from, to)`, the
    /// references of one pack's mails: the pack file stays while one does.
    pub async fn raw_refs_in_use(
        &self,
        from: &str,
        to: &str,
        except: i64,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT id FROM articles WHERE raw_ref >= $1 AND raw_ref < $2 AND id <> $3 LIMIT 1",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(except)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .doing("looking for raw mail kept in the same pack")?;
        Ok(row.is_some())
    }

    /// Forgets the raw mail of article `id` once its file is deleted; the article keeps
    /// its text and says that the original was purged.
    pub async fn forget_raw_mail(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let note = format!("The original mail was purged on {}.", at.format("%Y-%m-%d"));
        sqlx::query(
            "UPDATE articles SET raw_ref = NULL, \
             note = CASE WHEN note IS NULL THEN $2 ELSE note || ' ' || $2 END WHERE id = $1",
        )
        .bind(id)
        .bind(note)
        .execute(&mut *self.conn().await?)
        .await
        .doing("forgetting purged raw mail")?;
        Ok(())
    }
}

pub(super) async fn insert_article(
    tx: &mut AnyConnection,
    ticket_id: i64,
    a: &NewArticle,
    at: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO articles (ticket_id, author, author_name, direction, visibility, subject, body_text, \
         body_html, message_id, raw_ref, note, created_at, body_original, sender_verified, sender_check) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    )
    .bind(ticket_id)
    .bind(a.author.as_str().to_string())
    .bind(storable_opt(a.author_name.as_deref()))
    .bind(a.direction.as_str())
    .bind(a.visibility.as_str())
    .bind(storable(&a.subject))
    .bind(storable(&a.body_text))
    .bind(storable_opt(a.body_html.as_deref()))
    .bind(storable_opt(a.message_id.as_deref()))
    .bind(storable_opt(a.raw_ref.as_deref()))
    .bind(storable_opt(a.note.as_deref()))
    .bind(at)
    .bind(storable_opt(a.body_original.as_deref()))
    .bind(a.sender_verified.map(i64::from))
    .bind(storable_opt(a.sender_check.as_deref()))
    .fetch_one(&mut *tx)
    .await
    .doing("inserting an article")?;
    let article_id: i64 = row.try_get("id").doing("reading the new article id")?;
    for f in &a.attachments {
        sqlx::query(
            "INSERT INTO attachments (article_id, filename, content_type, size, sha256, content_id, inline, refused_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(article_id)
        .bind(storable(&f.filename))
        .bind(storable(&f.content_type))
        .bind(f.size as i64)
        .bind(f.sha256.clone())
        .bind(storable_opt(f.content_id.as_deref()))
        .bind(i64::from(f.inline))
        .bind(storable_opt(f.refused_reason.as_deref()))
        .execute(&mut *tx)
        .await
        .doing("recording an attachment")?;
    }
    Ok(article_id)
}

/// Reads a row of `articles`; its attachments are filled in by the caller.
pub(super) fn article_from_row(row: &AnyRow) -> Result<Article, StoreError> {
    Ok(Article {
        id: get(row, "id")?,
        author: get(row, "author")?,
        author_name: get(row, "author_name")?,
        direction: parse_stored("direction", &get::<String>(row, "direction")?)?,
        visibility: parse_stored("visibility", &get::<String>(row, "visibility")?)?,
        subject: get(row, "subject")?,
        body_text: get(row, "body_text")?,
        body_html: get(row, "body_html")?,
        body_original: get(row, "body_original")?,
        message_id: get(row, "message_id")?,
        raw_ref: get(row, "raw_ref")?,
        note: get(row, "note")?,
        sender_verified: get::<Option<i64>>(row, "sender_verified")?.map(|v| v != 0),
        sender_check: get(row, "sender_check")?,
        created_at: from_millis(get(row, "created_at")?)?,
        attachments: Vec::new(),
    })
}

/// An article's excerpt from a row of its beginning (`excerpt`) and its length (`chars`).
fn excerpt_from_row(row: &AnyRow, chars: i32) -> Result<ArticleExcerpt, StoreError> {
    Ok(ArticleExcerpt {
        author: get(row, "author")?,
        author_name: get(row, "author_name")?,
        visibility: parse_stored("visibility", &get::<String>(row, "visibility")?)?,
        text: get(row, "excerpt")?,
        cut: get::<i64>(row, "chars")? > i64::from(chars),
    })
}

/// Reads a row of `attachments`, with the id of the article it belongs to.
pub(super) fn attachment_from_row(row: &AnyRow) -> Result<(i64, Attachment), StoreError> {
    Ok((
        get(row, "article_id")?,
        Attachment {
            filename: get(row, "filename")?,
            content_type: get(row, "content_type")?,
            size: get::<i64>(row, "size")?.max(0) as u64,
            sha256: get(row, "sha256")?,
            content_id: get(row, "content_id")?,
            inline: get::<i64>(row, "inline")? != 0,
            refused_reason: get(row, "refused_reason")?,
        },
    ))
}
