//! The weekly digest (issue 22, point 5): a contact who asked for it (`contacts set
//! --digest weekly`, the portal's preferences, the API) gets the list of their open
//! tickets once a week from the `weekly-digest` job; two runs in the same week, even at
//! once from two processes, send it once; nothing is sent to someone with nothing open.
//! On both databases.

use std::sync::Arc;

use ticketgate::clock::Clock;
use ticketgate::service::{JobKind, Jobs};

use crate::notifications::{Harness, expect, pairs};
use crate::support::helpers::created;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_weekly_digest_goes_once_a_week_to_those_who_asked_for_it() {
    let Some(mut h) = Harness::new("").await else {
        return;
    };
    let n = created(
        &h.mail(
            "From: alice@acme.example\nTo: support@ours.test\nSubject: VPN down\n\
             Message-ID: <wd-1@test>\n\nIt is down.\n",
        )
        .await,
    );
    h.deliver().await;
    let shown = h.cli(&[
        "contacts",
        "set",
        "alice@acme.example",
        "--digest",
        "weekly",
    ]);
    assert!(shown.contains("digest weekly"), "{shown}");
    // Asked for it, but nothing open: no empty list every week.
    h.cli(&[
        "contacts",
        "set",
        "zoe@globex.example",
        "--digest",
        "weekly",
    ]);

    // Two runs at once (two instances, or a catch-up beside the schedule), as of now.
    let settings = Arc::new(h.env.pipeline().settings().clone());
    let (store, clock) = (h.env.store().clone(), h.env.clock.clone());
    let jobs = || Jobs::new(store.clone(), settings.clone(), clock.clone());
    let (a, b) = (jobs(), jobs());
    let now = h.env.clock.now();
    let (ra, rb) = tokio::join!(
        a.run_as_of(JobKind::WeeklyDigest, "test", now),
        b.run_as_of(JobKind::WeeklyDigest, "test", now)
    );
    assert_eq!(
        ra.unwrap().lines.len() + rb.unwrap().lines.len(),
        2,
        "Alice's and Zoe's digests queued once each, by one run or the other"
    );
    let mails = h.deliver().await;
    assert_eq!(
        pairs(&mails),
        expect(&[("alice@acme.example", "weekly_digest")]),
        "once, and not to Zoe: {mails:#?}"
    );
    let digest = &mails[0];
    assert!(
        digest.text.contains(&format!("[#{n}] VPN down"))
            && digest.text.contains("every week because you asked for it")
            && digest.subject.contains("this week"),
        "{}\n{}",
        digest.subject,
        digest.text
    );

    // Again in the same week: nothing; the next week: the new list.
    h.env.clock.advance(chrono::Duration::days(2));
    run(&jobs()).await;
    assert!(h.deliver().await.is_empty());
    h.env.clock.advance(chrono::Duration::days(5));
    run(&jobs()).await;
    assert_eq!(
        pairs(&h.deliver().await),
        expect(&[("alice@acme.example", "weekly_digest")])
    );

    // Turned off: no more.
    let shown = h.cli(&["contacts", "set", "alice@acme.example", "--digest", "off"]);
    assert!(!shown.contains("digest weekly"), "{shown}");
    h.env.clock.advance(chrono::Duration::days(7));
    run(&jobs()).await;
    assert!(h.deliver().await.is_empty());
}

/// Runs the weekly digest as of the environment's clock.
async fn run(jobs: &Jobs) {
    jobs.run_as_of(JobKind::WeeklyDigest, "test", jobs.now())
        .await
        .unwrap();
}
