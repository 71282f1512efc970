//! Several mails in one commit (`Ingestor::try_batch`): each mail must see what the mails
//! before it in the batch wrote, one bad mail must not hold back the others, and nothing
//! may be reported handled before the batch is committed.

use crate::support::helpers::{Cli, TestEnv, fixture, number, run_command, stdout};
use ticketgate::intake::{DeferCause, OutcomeKind, RawMessage, Report};

fn message(source: &str, bytes: Vec<u8>) -> (RawMessage, u32) {
    (
        RawMessage {
            source: source.into(),
            bytes,
        },
        0,
    )
}

/// A customer's answer to their own mail, threaded by In-Reply-To only.
fn follow_up() -> Vec<u8> {
    b"From: Alice Martin <alice@acme.example>\r\n\
      To: support@localhost\r\n\
      Subject: Re: VPN is down since this morning\r\n\
      Date: Tue, 24 Nov 2026 09:05:00 +0000\r\n\
      Message-ID: <follow-up-1@acme.example>\r\n\
      In-Reply-To: <new-ticket-1@acme.example>\r\n\
      \r\n\
      It is back for some of us.\r\n"
        .to_vec()
}

fn reports(results: Vec<Result<Report, ticketgate::intake::Deferred>>) -> Vec<Report> {
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|d| panic!("deferred: {d}")))
        .collect()
}

#[tokio::test]
async fn a_mail_sees_what_the_mails_before_it_in_its_batch_wrote() {
    let env = TestEnv::new().await;
    let original = fixture("new_ticket.eml", None);
    let results = env
        .ingestor
        .try_batch(&[
            message("original", original.clone()),
            message("follow-up", follow_up()),
            message("second delivery", original),
            message("other", fixture("html_only.eml", None)),
        ])
        .await;
    let reports = reports(results);
    let outcomes: Vec<_> = reports.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            OutcomeKind::Created,
            OutcomeKind::Commented,
            OutcomeKind::Duplicate,
            OutcomeKind::Created
        ]
    );
    let first = number("2611N00001");
    assert_eq!(reports[0].ticket.as_ref(), Some(&first));
    assert_eq!(
        reports[1].ticket.as_ref(),
        Some(&first),
        "the follow-up threads onto a ticket opened earlier in the same batch"
    );
    assert_eq!(reports[2].ticket.as_ref(), Some(&first));
    assert_eq!(reports[3].ticket.as_ref(), Some(&number("2611N00002")));

    // Committed when try_batch returns: another connection sees it all.
    let details = env.details(&first).await;
    assert_eq!(details.articles.len(), 2);
    let outbox = env.store().list_outbox(None, 100).await.unwrap();
    assert!(
        outbox
            .iter()
            .any(|e| e.ticket.as_ref() == Some(&first) && e.event == "ticket_opened"),
        "{outbox:?}"
    );
}

#[tokio::test]
async fn a_rejected_mail_is_quarantined_and_the_rest_of_its_batch_goes_through() {
    let env = TestEnv::new().await;
    let results = env
        .ingestor
        .try_batch(&[
            message("good", fixture("new_ticket.eml", None)),
            message("no sender", fixture("no_sender.eml", None)),
            message("also good", fixture("html_only.eml", None)),
        ])
        .await;
    let outcomes: Vec<_> = reports(results).iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            OutcomeKind::Created,
            OutcomeKind::Quarantined,
            OutcomeKind::Created
        ]
    );
    assert_eq!(env.ingestor.quarantine().list().unwrap().len(), 1);
    assert_eq!(env.store().list_tickets(None).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_batch_whose_file_cannot_be_written_is_tried_again_mail_by_mail() {
    let env = TestEnv::new().await;
    // The attachment store cannot be created: only the mail with an attachment needs it.
    std::fs::create_dir_all(env.data_dir()).unwrap();
    std::fs::write(env.data_dir().join("attachments"), b"not a directory").unwrap();
    let with_attachment = crate::pipeline_rules::mail_with_attachment("stuck@acme.example", 500);
    let results = env
        .ingestor
        .try_batch(&[
            message("good", fixture("new_ticket.eml", None)),
            message("stuck", with_attachment),
            message("also good", fixture("html_only.eml", None)),
        ])
        .await;
    assert_eq!(results.len(), 3);
    assert!(
        results[0]
            .as_ref()
            .is_ok_and(|r| r.outcome == OutcomeKind::Created)
    );
    let stuck = results[1]
        .as_ref()
        .expect_err("the attachment cannot be stored");
    // The pipeline's own error, kept whole as the cause.
    assert!(matches!(stuck.cause, DeferCause::Process(_)), "{stuck:?}");
    let reason = stuck.cause.to_string();
    assert!(reason.contains("cannot write"), "{reason}");
    assert!(std::error::Error::source(stuck).is_some());
    assert!(
        results[2]
            .as_ref()
            .is_ok_and(|r| r.outcome == OutcomeKind::Created)
    );
    let tickets = env.store().list_tickets(None).await.unwrap();
    assert_eq!(tickets.len(), 2, "the stuck mail left nothing behind");
}

/// A mail whose writes fail part-way (a trigger refuses its record, written after its
/// ticket, article and notifications) leaves nothing behind, and the mails around it in its
/// batch go through: on SQLite, where a batch's mails are written without a savepoint
/// each, the batch is rolled back and tried again mail by mail; on PostgreSQL the mail's
/// savepoint is rolled back.
#[test]
fn a_mail_that_fails_part_way_through_its_writes_leaves_nothing_and_spoils_nothing() {
    let cli = Cli::new();
    assert!(cli.run(&["migrate"], None).status.success());
    let trigger: &[&str] = if cli.on_sqlite() {
        &["CREATE TRIGGER refuse_ref BEFORE INSERT ON messages \
           WHEN NEW.message_id = 'part-way@acme.example' \
           BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"]
    } else {
        &[
            "CREATE FUNCTION refuse_ref() RETURNS trigger AS $$ BEGIN \
             IF NEW.message_id = 'part-way@acme.example' THEN RAISE EXCEPTION 'refused by the test'; \
             END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_ref BEFORE INSERT ON messages \
             FOR EACH ROW EXECUTE FUNCTION refuse_ref()",
        ]
    };
    cli.sql(trigger);
    let dir = cli.dir.path().join("mails");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("1.eml"), fixture("new_ticket.eml", None)).unwrap();
    std::fs::write(
        dir.join("2.eml"),
        b"From: Bob <bob@acme.example>\r\nTo: support@localhost\r\n\
          Subject: Printer on fire\r\nMessage-ID: <part-way@acme.example>\r\n\
          Date: Tue, 24 Nov 2026 09:00:00 +0000\r\n\r\nIt smokes.\r\n",
    )
    .unwrap();
    std::fs::write(dir.join("3.eml"), fixture("html_only.eml", None)).unwrap();
    let output = run_command(cli.command(&["ingest", dir.to_str().unwrap()]), None);
    let out = stdout(&output);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("1.eml: created"), "{out}");
    assert!(
        lines[1].contains("2.eml: quarantined") && lines[1].contains("refused by the test"),
        "{out}"
    );
    assert!(lines[2].contains("3.eml: created"), "{out}");
    let list = stdout(&cli.run(&["tickets", "list"], None));
    assert_eq!(
        list.lines().filter(|l| l.contains("N0000")).count(),
        2,
        "{list}"
    );
    assert!(!list.contains("Printer on fire"), "no half ticket: {list}");
}

#[test]
fn ingest_reports_each_mail_of_a_directory_once_its_batch_is_committed() {
    let cli = Cli::new();
    let dir = cli.dir.path().join("mails");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("1.eml"), fixture("new_ticket.eml", None)).unwrap();
    std::fs::write(dir.join("2.eml"), follow_up()).unwrap();
    std::fs::write(dir.join("3.eml"), fixture("new_ticket.eml", None)).unwrap();
    let output = run_command(cli.command(&["ingest", dir.to_str().unwrap()]), None);
    assert!(output.status.success(), "{output:?}");
    let out = stdout(&output);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("1.eml: created"), "{out}");
    assert!(lines[1].contains("2.eml: commented"), "{out}");
    assert!(lines[2].contains("3.eml: duplicate"), "{out}");
}

#[tokio::test]
async fn a_large_mail_is_its_ticket_description_too_inside_a_batch_and_alone() {
    let env = TestEnv::new().await;
    let text = "The export fails on every line.\r\n".repeat(4_000); // 132 KB
    let large = |id: &str| {
        format!(
            "From: Alice <alice@acme.example>\r\nTo: support@localhost\r\nSubject: Export log\r\n\
             Message-ID: <{id}@acme.example>\r\nDate: Tue, 24 Nov 2026 09:00:00 +0000\r\n\r\n{text}"
        )
        .into_bytes()
    };
    let reports = reports(
        env.ingestor
            .try_batch(&[message("large", large("l1"))])
            .await,
    );
    let alone = env.process(&large("l2")).await;
    for n in [
        reports[0].ticket.clone().unwrap(),
        crate::support::helpers::created(&alone),
    ] {
        let details = env.details(&n).await;
        assert!(details.ticket.description.len() > 128 * 1024, "{n}");
        assert_eq!(
            details.ticket.description, details.articles[0].body_text,
            "{n}: the description is the mail's text"
        );
    }
}

/// A source of mails of known sizes that records, at each read, how many large mails
/// (over half a batch) it had given that were not committed yet.
struct Sized {
    mails: std::vec::IntoIter<(usize, usize)>,
    held: std::collections::HashMap<usize, usize>,
    most_large_held: usize,
}

/// Over half of a batch's bytes: two such mails never share a batch.
const LARGE: usize = ticketgate::intake::BATCH_BYTES / 2 + 1;

impl ticketgate::intake::Source for Sized {
    type Key = usize;

    fn next(
        &mut self,
        _ingestor: &ticketgate::intake::Ingestor,
    ) -> Option<(usize, ticketgate::intake::Received)> {
        let (n, size) = self.mails.next()?;
        self.held.insert(n, size);
        let large = self.held.values().filter(|&&s| s >= LARGE).count();
        self.most_large_held = self.most_large_held.max(large);
        let head = format!(
            "From: Alice <alice@acme.example>\r\nTo: support@localhost\r\nSubject: Dump {n}\r\n\
             Message-ID: <dump-{n}@acme.example>\r\n\r\n"
        );
        let mut bytes = head.into_bytes();
        bytes.resize(size, b'x');
        let message = RawMessage {
            source: format!("dump-{n}"),
            bytes,
        };
        Some((n, ticketgate::intake::Received::Message(message)))
    }

    fn next_size(&mut self) -> Option<u64> {
        self.mails.as_slice().first().map(|&(_, size)| size as u64)
    }

    fn acknowledge(&mut self, key: usize, report: &Report) {
        assert_eq!(report.outcome, OutcomeKind::Created, "{report:?}");
        self.held.remove(&key);
    }
}

#[tokio::test]
async fn large_mails_waiting_are_read_one_at_a_time() {
    // What each mail holds in memory is the same on both backends.
    if std::env::var_os("TICKETGATE_TEST_POSTGRES").is_some() {
        return;
    }
    let env = TestEnv::new().await;
    // Each large one is read only once the batch before it is committed, so that many
    // waiting cost what one does.
    let sizes = [2_000, LARGE, LARGE, 3_000, LARGE];
    let mut source = Sized {
        mails: sizes
            .iter()
            .copied()
            .enumerate()
            .collect::<Vec<_>>()
            .into_iter(),
        held: Default::default(),
        most_large_held: 0,
    };
    let rules = ticketgate::intake::Rules {
        budget: 1,
        retry: ticketgate::intake::Retry::Later,
        quarantine_when_spent: true,
        intake: "test",
    };
    let ended = ticketgate::intake::Driver::new(env.ingestor.clone(), rules)
        .run(&mut source)
        .await;
    assert!(matches!(ended, ticketgate::intake::Ended::Drained));
    assert!(
        source.held.is_empty(),
        "every mail committed and acknowledged"
    );
    assert_eq!(
        source.most_large_held, 1,
        "a large mail was read while another was held"
    );
}
