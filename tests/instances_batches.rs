//! Batches of several instances side by side on PostgreSQL: a batch that already holds rows
//! does not wait for a row another transaction holds (two replies to one ticket, in two
//! instances' mailboxes). Waiting while holding made the instances' batches wait for each
//! other in turn, and two that each held what the other wanted stalled for the server's
//! deadlock timeout before one of their mails failed. The mail is left out of its batch
//! instead, and goes first in the next one, which may wait.
//!
//! SQLite has one writer at a time: a second transaction cannot hold a row beside a batch.

use std::time::Duration;

use sqlx::Connection;
use ticketgate::intake::{
    Driver, Ended, Ingestor, OutcomeKind, RawMessage, Received, Report, Retry, Rules, Source,
};
use tokio::sync::mpsc;

use crate::support::helpers::{TestEnv, fixture, number};

/// A customer's reply to `new_ticket.eml`, threaded by In-Reply-To.
fn reply() -> Vec<u8> {
    b"From: Alice Martin <alice@acme.example>\r\n\
      To: support@localhost\r\n\
      Subject: Re: VPN is down since this morning\r\n\
      Message-ID: <held-reply-1@acme.example>\r\n\
      In-Reply-To: <new-ticket-1@acme.example>\r\n\
      \r\n\
      Still down here.\r\n"
        .to_vec()
}

/// Mails given once, in order, as an IMAP folder gives them: one handed back ends the run.
/// Each acknowledgement is sent on `acknowledged` as it comes.
struct Folder {
    mails: std::vec::IntoIter<(&'static str, Vec<u8>)>,
    acknowledged: mpsc::UnboundedSender<(String, OutcomeKind)>,
}

impl Source for Folder {
    type Key = String;

    fn next(&mut self, _ingestor: &Ingestor) -> Option<(String, Received)> {
        let (name, bytes) = self.mails.next()?;
        let source = name.to_string();
        Some((
            source.clone(),
            Received::Message(RawMessage { source, bytes }),
        ))
    }

    fn acknowledge(&mut self, key: String, report: &Report) {
        self.acknowledged.send((key, report.outcome)).unwrap();
    }
}

#[tokio::test]
async fn a_reply_whose_ticket_another_instance_holds_waits_in_the_next_batch_not_in_this_one() {
    let env = TestEnv::new().await;
    if env.store().backend() != ticketgate::store::Backend::Postgres {
        return;
    }
    let opened = env.ingest(&fixture("new_ticket.eml", None)).await;
    assert_eq!(opened.ticket, Some(number("2611N00001")));

    // Another instance's transaction holds the ticket's row, as its batch does while a
    // reply to the same ticket is in it.
    let mut other = sqlx::PgConnection::connect(&env.database_url())
        .await
        .unwrap();
    let mut holding = other.begin().await.unwrap();
    sqlx::query("UPDATE tickets SET updated_at = updated_at WHERE number = '2611N00001'")
        .execute(&mut *holding)
        .await
        .unwrap();

    let (acknowledged, mut acknowledgements) = mpsc::unbounded_channel();
    let mut folder = Folder {
        mails: vec![
            ("unrelated", fixture("html_only.eml", None)),
            ("reply", reply()),
        ]
        .into_iter(),
        acknowledged,
    };
    // An IMAP folder's rules: a mail handed back would end the run there.
    let rules = Rules {
        budget: 3,
        retry: Retry::LaterInOrder,
        quarantine_when_spent: true,
        intake: "test",
    };
    let mut driver = Driver::new(env.ingestor.clone(), rules);
    let run = tokio::spawn(async move { driver.run(&mut folder).await });

    // The unrelated mail is committed while the ticket is still held: its batch did not
    // wait for the reply's ticket.
    let first = tokio::time::timeout(Duration::from_secs(10), acknowledgements.recv())
        .await
        .expect("the batch waited for the row held by the other transaction");
    assert_eq!(first, Some(("unrelated".to_string(), OutcomeKind::Created)));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        acknowledgements.try_recv().is_err() && !run.is_finished(),
        "the reply waits for its ticket, first in a batch of its own"
    );

    holding.commit().await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the reply went through once the row was let go")
        .unwrap();
    assert!(
        matches!(ended, Ended::Drained),
        "the reply was tried again at once, not handed back: {ended:?}"
    );
    assert_eq!(
        acknowledgements.recv().await,
        Some(("reply".to_string(), OutcomeKind::Commented))
    );
    let details = env.details(&number("2611N00001")).await;
    assert_eq!(details.articles.len(), 2, "the reply is on its ticket");
}
