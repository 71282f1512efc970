//! What the daemon committed, read back from its database behind its back (with a
//! connection of the test's own, kept open across the daemon's deaths), and the check that
//! a run's mail became exactly what it must: one ticket or one comment each, and each
//! notification queued once.

use std::collections::{BTreeMap, HashMap};

use sqlx::{AnyConnection, Connection};

use super::mails::{Kind, Plan};

/// The daemon's database, as the test reads it.
pub struct Ledger {
    url: String,
    conn: Option<AnyConnection>,
}

/// One inbound article: its id, Message-ID, ticket id and ticket number, and the id of
/// its ticket's first article.
type ArticleRow = (i64, Option<String>, i64, String, i64);

/// One outbox row: ticket id, article id, event, recipient, channel.
type OutboxRow = (Option<i64>, Option<i64>, String, String, String);

impl Ledger {
    pub fn new(url: String) -> Self {
        sqlx::any::install_default_drivers();
        Ledger { url, conn: None }
    }

    /// A connection, once the daemon has created the database.
    async fn conn(&mut self) -> Option<&mut AnyConnection> {
        if self.conn.is_none() {
            self.conn = AnyConnection::connect(&self.url).await.ok();
        }
        self.conn.as_mut()
    }

    /// How many distinct mails the daemon has committed (the `messages` rows, which make a
    /// second delivery a duplicate): 0 before it has made its tables.
    pub async fn committed(&mut self) -> usize {
        let Some(conn) = self.conn().await else {
            return 0;
        };
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM messages")
            .fetch_one(conn)
            .await
            .map_or(0, |n| n as usize)
    }

    /// The last UID the daemon's cursor passed in its IMAP folder (0 before it saved one):
    /// with UIDs given from 1, how many messages it let go of there.
    pub async fn cursor(&mut self) -> usize {
        let Some(conn) = self.conn().await else {
            return 0;
        };
        sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(last_uid), 0) FROM mailbox_cursors")
            .fetch_one(conn)
            .await
            .map_or(0, |n| n as usize)
    }

    /// The tickets opened so far: the Message-ID of the mail that opened each, with the
    /// ticket's number.
    pub async fn opened(&mut self) -> HashMap<String, String> {
        let Some(conn) = self.conn().await else {
            return HashMap::new();
        };
        sqlx::query_as::<_, (String, String)>(
            "SELECT m.message_id, t.number FROM messages m JOIN tickets t ON t.id = m.ticket_id \
             WHERE m.outcome = 'created'",
        )
        .fetch_all(conn)
        .await
        .map(|rows| rows.into_iter().collect())
        .unwrap_or_default()
    }

    /// Asserts that every mail of `plan` is exactly one article, of a new ticket or of the
    /// ticket it answers, that nothing else came in, and that every notification the mails
    /// caused is queued exactly once.
    pub async fn check(&mut self, plan: &Plan) {
        let conn = self.conn().await.expect("the daemon's database");
        let articles: Vec<ArticleRow> = sqlx::query_as(
            "SELECT a.id, a.message_id, a.ticket_id, t.number, \
             (SELECT MIN(f.id) FROM articles f WHERE f.ticket_id = a.ticket_id) \
             FROM articles a JOIN tickets t ON t.id = a.ticket_id WHERE a.direction = 'inbound'",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let outbox: Vec<OutboxRow> = sqlx::query_as(
            "SELECT ticket_id, article_id, event, recipient, channel FROM outbox ORDER BY id",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let tickets = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM tickets")
            .fetch_one(&mut *conn)
            .await
            .unwrap();

        let by_mail = check_articles(plan, &articles);
        let opening = plan
            .mails
            .iter()
            .filter(|m| matches!(m.kind, Kind::Opens { .. }))
            .count();
        assert_eq!(
            tickets as usize, opening,
            "one ticket per mail that opens one"
        );
        check_outbox(plan, &articles, &by_mail, &outbox);
    }
}

/// Each mail's article (its id and its ticket's id), after checking that every mail is
/// exactly one article of the right ticket.
fn check_articles(plan: &Plan, articles: &[ArticleRow]) -> HashMap<String, (i64, i64)> {
    let mut by_mail: HashMap<String, Vec<&ArticleRow>> = HashMap::new();
    for row in articles {
        let id = row.1.clone().unwrap_or_default();
        by_mail.entry(id).or_default().push(row);
    }
    let doubled: Vec<_> = by_mail.iter().filter(|(_, rows)| rows.len() > 1).collect();
    assert!(doubled.is_empty(), "mails stored twice: {doubled:?}");
    let strangers: Vec<_> = by_mail
        .keys()
        .filter(|id| plan.mail(id).is_none())
        .collect();
    assert!(strangers.is_empty(), "articles of no mail: {strangers:?}");
    let lost: Vec<_> = plan
        .mails
        .iter()
        .filter(|m| !by_mail.contains_key(&m.message_id))
        .map(|m| &m.message_id)
        .collect();
    assert!(lost.is_empty(), "{} mail(s) lost: {lost:?}", lost.len());
    let found: HashMap<String, (i64, i64)> = by_mail
        .iter()
        .map(|(id, rows)| (id.clone(), (rows[0].0, rows[0].2)))
        .collect();
    for mail in &plan.mails {
        let &(article, ticket) = &found[&mail.message_id];
        let row = by_mail[&mail.message_id][0];
        match &mail.kind {
            Kind::Opens { .. } => assert_eq!(
                row.4, article,
                "{} opens ticket {}: its first article",
                mail.message_id, row.3
            ),
            Kind::Comments { on } => {
                assert_ne!(row.4, article, "{} is a comment", mail.message_id);
                assert_eq!(
                    ticket, found[on].1,
                    "{} comments the ticket {on} opened",
                    mail.message_id
                );
            }
        }
    }
    found
}

/// Every outbox row is one the mails caused, and each is there once.
fn check_outbox(
    plan: &Plan,
    articles: &[ArticleRow],
    by_mail: &HashMap<String, (i64, i64)>,
    outbox: &[OutboxRow],
) {
    let mut rows: BTreeMap<&OutboxRow, usize> = BTreeMap::new();
    for row in outbox {
        *rows.entry(row).or_default() += 1;
    }
    let doubled: Vec<_> = rows.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        doubled.is_empty(),
        "notifications queued twice: {doubled:?}"
    );

    let mail_of: HashMap<i64, &str> = articles
        .iter()
        .filter_map(|row| Some((row.0, row.1.as_deref()?)))
        .collect();
    let mut queued: BTreeMap<(String, &str, String), usize> = BTreeMap::new();
    for (ticket, article, event, recipient, channel) in outbox {
        let mail = article.and_then(|a| mail_of.get(&a).copied());
        let Some(mail) = mail else {
            panic!(
                "a notification of no mail of the run: {ticket:?} {article:?} {event} {recipient} {channel}"
            );
        };
        assert_eq!(
            Some(by_mail[mail].1),
            *ticket,
            "{mail}: {event} to {recipient}"
        );
        assert_eq!(channel, "email");
        *queued
            .entry((mail.to_string(), event.as_str(), recipient.clone()))
            .or_default() += 1;
    }
    let expected = plan.notifications();
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !queued.contains_key(*k))
        .collect();
    let extra: Vec<_> = queued
        .keys()
        .filter(|(m, e, r)| !expected.contains_key(&(m.clone(), *e, r.clone())))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "notifications missing: {missing:?}\nnot expected: {extra:?}"
    );
}
