//! The outbox through a backlog: notifications queued while no daemon ran go out a group at
//! a time, each group over several SMTP connections at once, and each group's sends are
//! recorded in one transaction (src/notify/mail_group.rs). The daemon runs as users run it,
//! with a real SMTP server on loopback, on both databases (the claim of a group is a
//! statement of each backend's own).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::daemon::{start, stop, wait_for};
use crate::support::helpers::stdout;
use crate::support::outbox_site::{Site, customer_mail};
use crate::support::smtp_sink::SmtpSink;

/// The customer who writes more often than the limit allows.
const FLOOD: &str = "flood@acme.example";

/// `[notifications] recipient_limits` of the test: lower than the group the daemon claims,
/// so that the limit is reached among notifications claimed together.
const LIMIT: usize = 3;

/// Tickets opened by the other customers, each with two observers in copy: three
/// notifications per ticket, one per person.
const TICKETS: usize = 40;

fn mail_with_observers(n: usize) -> String {
    format!(
        "From: Customer {n} <customer{n}@acme.example>\nTo: support@ours.test\n\
         Cc: first{n}@acme.example, second{n}@acme.example\n\
         Subject: Broken thing {n}\nMessage-ID: <group-{n}@acme.example>\n\nThing {n} is broken.\n"
    )
}

fn flood_mail(n: usize) -> String {
    format!(
        "From: Flood <{FLOOD}>\nTo: support@ours.test\nSubject: Another problem {n}\n\
         Message-ID: <flood-{n}@acme.example>\n\nProblem {n}.\n"
    )
}

/// Runs the daemon until no row of the outbox waits (each sent, held or skipped), then
/// stops it; it must stop cleanly.
fn run_until_settled(site: &mut Site, what: &str) {
    let daemon = start(&site.cli, &[]);
    wait_for(what, Duration::from_secs(60), || {
        site.db
            .outbox()
            .iter()
            .all(|r| ["sent", "held", "skipped"].contains(&r.status.as_str()))
    });
    let stopped = stop(&site.cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
}

/// A backlog of notifications (queued by `ticketgate ingest` while no daemon ran) goes out
/// when the daemon starts: each notification once, recorded as sent with the Message-ID it
/// went out with (so that a reply to it threads), a ticket's notifications in the order
/// they were queued, the limit per recipient holds among the notifications claimed in one
/// group as it does across groups (released by an agent, the ones held back are held again),
/// and each recipient's preferences as they are when the group goes are applied.
#[test]
fn a_backlog_goes_out_once_each_in_order_and_within_the_limits() {
    let started = Instant::now();
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let mut site = Site::new(
        sink.port,
        "",
        &format!("[notifications]\nrecipient_limits = [\"{LIMIT}/1h\"]"),
    );
    // The flood's mails come first: their notifications are the first claimed, together.
    for n in 0..8 {
        site.deliver(&format!("a-{n}.host"), &flood_mail(n));
    }
    for n in 0..TICKETS {
        site.deliver(&format!("b-{n:03}.host"), &mail_with_observers(n));
    }
    // Customer 7 adds to their ticket: a notification that quotes them.
    site.deliver(
        "c-7.host",
        "From: Customer 7 <customer7@acme.example>\nTo: support@ours.test\n\
         Subject: Re: Broken thing 7\nIn-Reply-To: <group-7@acme.example>\n\
         Message-ID: <group-7-more@acme.example>\n\nMore about thing 7: it smokes.\n",
    );
    let inbox = site.inbox.display().to_string();
    let ingested = site.cli.run(&["ingest", &inbox], None);
    assert!(ingested.status.success(), "{}", stdout(&ingested));
    let queued = site.db.outbox();
    // Two more for the observers of ticket 7, told of the customer's message.
    assert_eq!(queued.len(), 8 + 3 * TICKETS + 2, "{queued:#?}");
    let flood_ids: Vec<i64> = queued
        .iter()
        .filter(|r| r.recipient == FLOOD)
        .map(|r| r.id)
        .collect();
    assert_eq!(flood_ids, (1..=8).collect::<Vec<i64>>());
    // An observer who no longer wants openings, said after the notification was queued:
    // the group reads the preferences as they are when it goes.
    let set = site.cli.run(
        &[
            "contacts",
            "set",
            "second5@acme.example",
            "--opening-closing",
            "off",
        ],
        None,
    );
    assert!(set.status.success(), "{}", stdout(&set));

    run_until_settled(&mut site, "the backlog to go out");

    let rows = site.db.outbox();
    let arrivals = sink.arrivals();
    // Each notification once, and only the flood's over its limit held back.
    let to_flood = arrivals.iter().filter(|a| a.recipient == FLOOD).count();
    assert_eq!(to_flood, LIMIT, "{rows:#?}");
    assert_eq!(arrivals.len(), LIMIT + 3 * TICKETS + 2 - 1);
    let skipped: Vec<_> = rows.iter().filter(|r| r.status == "skipped").collect();
    assert_eq!(skipped.len(), 1, "{rows:#?}");
    assert_eq!(skipped[0].recipient, "second5@acme.example");
    let held: Vec<_> = rows.iter().filter(|r| r.status == "held").collect();
    assert_eq!(held.len(), 8 - LIMIT, "{rows:#?}");
    for row in &held {
        assert_eq!(row.recipient, FLOOD);
        assert_eq!(
            row.held_reason.as_deref(),
            Some(format!("recipient limit {LIMIT}/1h reached: {LIMIT} sent to {FLOOD}").as_str())
        );
    }
    // Every sent row recorded with the Message-ID that arrived, each in its own row.
    let arrived_at: HashMap<String, usize> = arrivals
        .iter()
        .enumerate()
        .map(|(place, a)| (a.message_id.clone(), place))
        .collect();
    assert_eq!(
        arrived_at.len(),
        arrivals.len(),
        "a Message-ID arrived twice"
    );
    let sent: Vec<_> = rows.iter().filter(|r| r.status == "sent").collect();
    for row in &sent {
        let id = row
            .message_id
            .as_deref()
            .expect("a sent row has its Message-ID");
        assert!(
            arrived_at.contains_key(&format!("<{id}>")),
            "{id} did not arrive"
        );
        // `tg.NUMBER.OUTBOX_ID.…`: the group's mark gave each row its own mail's id.
        assert_eq!(
            id.split('.').nth(2),
            Some(row.id.to_string().as_str()),
            "{id} recorded on row {}",
            row.id
        );
    }
    // Each answers its ticket's last customer mail, and the observers of ticket 7 are
    // quoted their customer's message (both read for the whole group).
    for a in arrivals
        .iter()
        .filter(|a| a.recipient.starts_with("customer"))
    {
        let n = a
            .recipient
            .trim_start_matches("customer")
            .trim_end_matches("@acme.example");
        let last = if n == "7" {
            "group-7-more"
        } else {
            &format!("group-{n}")
        };
        assert_eq!(a.in_reply_to, format!("<{last}@acme.example>"));
    }
    let quoted: Vec<String> = sink
        .received()
        .into_iter()
        .filter(|(name, mail)| {
            name.ends_with("-first7@acme.example.eml") && mail.contains("it smokes")
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(quoted.len(), 1, "{quoted:?}");
    // A ticket's notifications arrived in the order they were queued.
    let mut by_ticket: HashMap<i64, Vec<(i64, usize)>> = HashMap::new();
    for row in &sent {
        let place = arrived_at[&format!("<{}>", row.message_id.as_deref().unwrap())];
        by_ticket
            .entry(row.ticket_id.unwrap())
            .or_default()
            .push((row.id, place));
    }
    for (ticket, mut notes) in by_ticket.into_iter().filter(|(_, n)| n.len() > 1) {
        notes.sort();
        assert!(
            notes.windows(2).all(|w| w[0].1 < w[1].1),
            "ticket {ticket}: {notes:?} (row id, place of arrival)"
        );
    }

    // Released by an agent within the hour, the held ones are claimed in a group of their
    // own: the sends recorded before it count, and they are held again.
    for row in &held {
        let retried = site
            .cli
            .run(&["outbox", "retry", &row.id.to_string()], None);
        assert!(retried.status.success(), "{}", stdout(&retried));
    }
    run_until_settled(&mut site, "the released ones to be judged");
    let again = sink.arrivals();
    assert_eq!(
        again.iter().filter(|a| a.recipient == FLOOD).count(),
        LIMIT,
        "{:#?}",
        site.db.outbox()
    );
    assert_eq!(again.len(), arrivals.len());
    let held_again = site
        .db
        .outbox()
        .into_iter()
        .filter(|r| r.status == "held")
        .count();
    assert_eq!(held_again, held.len());
    eprintln!("backlog sent in {:?}", started.elapsed());
}

/// A claimed row that cannot be read back (here an event no version of ticketgate wrote) is
/// marked failed with the reason, once, and the rows claimed with it go out all the same.
#[test]
fn a_row_that_cannot_be_read_back_fails_alone() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let mut site = Site::new(sink.port, "", "");
    for n in 0..5 {
        site.deliver(&format!("{n}.host"), &customer_mail("unreadable", n));
    }
    let inbox = site.inbox.display().to_string();
    let ingested = site.cli.run(&["ingest", &inbox], None);
    assert!(ingested.status.success(), "{}", stdout(&ingested));
    site.db
        .execute("UPDATE outbox SET event = 'no_such_event' WHERE id = 3");

    let daemon = start(&site.cli, &[]);
    wait_for("the group to be through", Duration::from_secs(30), || {
        site.db
            .outbox()
            .iter()
            .all(|r| r.status == "sent" || r.status == "failed")
    });
    let stopped = stop(&site.cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    let rows = site.db.outbox();
    let failed: Vec<_> = rows.iter().filter(|r| r.status == "failed").collect();
    assert_eq!(failed.len(), 1, "{rows:#?}");
    assert_eq!(failed[0].id, 3);
    let error = failed[0].last_error.as_deref().unwrap_or_default();
    assert!(error.contains("no_such_event"), "{error}");
    assert_eq!(sink.arrivals().len(), 4);
    assert_eq!(
        stopped.log.matches("notification marked failed").count(),
        1,
        "{}",
        stopped.log
    );
}
