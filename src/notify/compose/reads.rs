//! What a notification's text needs from the store besides its ticket: the customer's
//! last Message-ID (which it answers), and the article it quotes with that article's
//! attachments. The mail lane reads these for a whole group of notifications at once
//! (three reads, not three per notification); a notification whose group did not read
//! them, or a single one, reads its own.

use std::collections::HashMap;

use super::EXCERPT_CHARS;
use crate::domain::{ArticleExcerpt, Attachment};
use crate::store::{Store, StoreError};

/// What was read beforehand, by ticket and by article id: each entry answers for its id,
/// including "there is none".
#[derive(Debug, Default)]
pub struct MailReads {
    parents: HashMap<i64, Option<String>>,
    excerpts: HashMap<i64, Option<ArticleExcerpt>>,
    attachments: HashMap<i64, Vec<Attachment>>,
}

impl MailReads {
    /// Reads what the notifications about `tickets`, quoting `articles`, will need.
    pub async fn read(
        store: &Store,
        tickets: &[i64],
        articles: &[i64],
    ) -> Result<MailReads, StoreError> {
        let mut parents = store.last_inbound_message_ids(tickets).await?;
        let mut excerpts = store.article_excerpts(articles, EXCERPT_CHARS).await?;
        Ok(MailReads {
            parents: tickets.iter().map(|t| (*t, parents.remove(t))).collect(),
            excerpts: articles.iter().map(|a| (*a, excerpts.remove(a))).collect(),
            attachments: store.articles_attachments(articles).await?,
        })
    }

    /// The Message-ID of the newest customer mail on ticket `ticket_id`.
    pub(super) async fn parent(
        &self,
        store: &Store,
        ticket_id: i64,
    ) -> Result<Option<String>, StoreError> {
        match self.parents.get(&ticket_id) {
            Some(parent) => Ok(parent.clone()),
            None => store.last_inbound_message_id(ticket_id).await,
        }
    }

    /// The beginning of article `id`, as much as a notification quotes.
    pub(super) async fn excerpt(
        &self,
        store: &Store,
        id: i64,
    ) -> Result<Option<ArticleExcerpt>, StoreError> {
        match self.excerpts.get(&id) {
            Some(excerpt) => Ok(excerpt.clone()),
            None => store.article_excerpt(id, EXCERPT_CHARS).await,
        }
    }

    /// The attachments of article `id`.
    pub(super) async fn attachments(
        &self,
        store: &Store,
        id: i64,
    ) -> Result<Vec<Attachment>, StoreError> {
        match self.attachments.get(&id) {
            Some(files) => Ok(files.clone()),
            None => store.article_attachments(id).await,
        }
    }
}
