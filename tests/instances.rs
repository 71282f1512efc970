//! Several instances on one database: leases, scheduled ticks, outbox claims and
//! migrations, each raced by separate connection pools as separate instances would.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use ticketgate::clock::Clock;
use ticketgate::service::{JobKind, Jobs};
use ticketgate::store::{LeaseClaim, Store};

use crate::imap::mail;
use crate::support::helpers::{Cli, TestEnv, stderr};

/// A second connection pool on the test's database: another instance's view of it.
async fn another_instance(env: &TestEnv) -> Store {
    Store::connect(env.pipeline().settings().database_url.expose())
        .await
        .unwrap()
}

fn held(claim: LeaseClaim) -> i64 {
    match claim {
        LeaseClaim::Held(lease) => lease.token,
        other => panic!("expected the lease, got {other:?}"),
    }
}

#[tokio::test]
async fn a_lease_has_one_holder_until_it_is_released_or_runs_out() {
    let env = TestEnv::new().await;
    let (a, b) = (env.store().clone(), another_instance(&env).await);
    let long = Duration::from_secs(60);

    let first = a
        .acquire_lease("mailbox:support", "a/1/1", None, long)
        .await
        .unwrap();
    let LeaseClaim::Held(lease_a) = first else {
        panic!("{first:?}")
    };
    match b
        .acquire_lease("mailbox:support", "b/2/2", None, long)
        .await
        .unwrap()
    {
        LeaseClaim::Taken { holder, expires_at } => {
            assert_eq!(holder, "a/1/1");
            assert!(expires_at > Utc::now() + chrono::Duration::seconds(50));
        }
        other => panic!("b must stand by: {other:?}"),
    }
    assert!(a.renew_lease(&lease_a, long).await.unwrap());
    // Asking again for what one holds keeps the token: nobody else held it meanwhile.
    assert_eq!(
        held(
            a.acquire_lease("mailbox:support", "a/1/1", None, long)
                .await
                .unwrap()
        ),
        lease_a.token
    );

    // A lease nobody renews runs out (a zero lease has already), and another takes it
    // with a greater token; the old holder's renewal then fails and its release is void.
    let LeaseClaim::Held(lease_a) = a
        .acquire_lease("mailbox:support", "a/1/1", None, Duration::ZERO)
        .await
        .unwrap()
    else {
        panic!()
    };
    let LeaseClaim::Held(lease_b) = b
        .acquire_lease("mailbox:support", "b/2/2", None, long)
        .await
        .unwrap()
    else {
        panic!("b takes over an expired lease")
    };
    assert!(lease_b.token > lease_a.token);
    assert!(!a.renew_lease(&lease_a, long).await.unwrap(), "a lost it");
    a.release_lease(&lease_a).await.unwrap();
    assert!(matches!(
        a.acquire_lease("mailbox:support", "a/1/1", None, long)
            .await
            .unwrap(),
        LeaseClaim::Taken { .. }
    ));

    // Released, it is free at once.
    b.release_lease(&lease_b).await.unwrap();
    let token = held(
        a.acquire_lease("mailbox:support", "a/1/1", None, long)
            .await
            .unwrap(),
    );
    assert!(token > lease_b.token);

    // A holder known dead (an earlier process of the same instance) is replaced at once.
    let token_c = held(
        b.acquire_lease("mailbox:support", "a/9/9", Some("a/1/1"), long)
            .await
            .unwrap(),
    );
    assert!(token_c > token);
    let leases = a.leases().await.unwrap();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].holder, "a/9/9");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_racing_for_a_free_lease_get_it_once() {
    let env = TestEnv::new().await;
    let mut racers = Vec::new();
    for i in 0..6 {
        let store = another_instance(&env).await;
        racers.push(tokio::spawn(async move {
            store
                .acquire_lease(
                    "mailbox:race",
                    &format!("node-{i}/{i}/0"),
                    None,
                    Duration::from_secs(60),
                )
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for racer in racers {
        if matches!(racer.await.unwrap(), LeaseClaim::Held(_)) {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_scheduled_tick_runs_once_whatever_the_number_of_instances() {
    let env = TestEnv::new().await;
    let settings = Arc::new(env.pipeline().settings().clone());
    let tick = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    let mut runs = Vec::new();
    for i in 0..3 {
        let jobs = Jobs::new(
            another_instance(&env).await,
            settings.clone(),
            env.clock.clone(),
        );
        runs.push(tokio::spawn(async move {
            jobs.run_tick(JobKind::AutoClose, tick, &format!("schedule on node-{i}"))
                .await
                .unwrap()
                .is_some()
        }));
    }
    let mut ran = 0;
    for run in runs {
        ran += usize::from(run.await.unwrap());
    }
    assert_eq!(ran, 1, "one instance runs the tick");
    let jobs = Jobs::new(env.store().clone(), settings, env.clock.clone());
    assert!(
        jobs.run_tick(JobKind::AutoClose, tick, "start on node-0")
            .await
            .unwrap()
            .is_none(),
        "a catch-up after it does not run it again"
    );
    let next = tick + chrono::Duration::minutes(10);
    assert!(
        jobs.run_tick(JobKind::AutoClose, next, "schedule on node-0")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        jobs.run_tick(JobKind::Purge, tick, "schedule on node-0")
            .await
            .unwrap()
            .is_some(),
        "ticks are per job"
    );
    jobs.run(JobKind::AutoClose, "manual").await.unwrap();
    jobs.run(JobKind::AutoClose, "manual").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_of_several_instances_claim_each_notification_once() {
    let env = TestEnv::new().await;
    for n in 0..30 {
        env.process(&mail(n)).await;
    }
    let queued = env
        .store()
        .list_outbox(Some("pending"), 1000)
        .await
        .unwrap()
        .len();
    assert_eq!(queued, 30, "one acknowledgement per ticket");
    let now = env.clock.now();
    let mut workers = Vec::new();
    for i in 0..3 {
        let store = another_instance(&env).await;
        for w in 0..2 {
            let store = store.clone();
            workers.push(tokio::spawn(async move {
                let mut claimed = Vec::new();
                while let Some(job) = store
                    .claim_notification(
                        now,
                        chrono::Duration::minutes(5),
                        &format!("node-{i}/{w}/0"),
                    )
                    .await
                    .unwrap()
                {
                    claimed.push(job.id);
                }
                claimed
            }));
        }
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        all.len(),
        "no notification claimed twice: {all:?}"
    );
    assert_eq!(all.len(), queued);
}

#[test]
fn instances_starting_at_once_migrate_the_database_once() {
    let cli = Cli::new();
    let migrations: Vec<_> = (0..4)
        .map(|_| {
            cli.command(&["migrate"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in migrations {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let listed = cli.run(&["tickets", "list"], None);
    assert!(listed.status.success(), "{}", stderr(&listed));
}

#[test]
fn an_instance_whose_link_key_differs_from_the_others_refuses_to_start() {
    let cli = Cli::new();
    let first = crate::daemon::start(&cli, &[]);
    let log = cli.dir.path().join("daemon.log");
    crate::daemon::wait_for(
        "the first instance to start",
        Duration::from_secs(20),
        || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("job scheduled")),
    );
    crate::daemon::stop(&cli, first);
    // Another host: its own data directory (so its own generated key), the same database.
    let mut other = cli.command(&["run"]);
    other
        .env("TICKETGATE_DATA_DIR", "other-host")
        .env("TICKETGATE_DATABASE__URL", cli.database_url());
    let out = cli.run_with(other, None);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("link key") && err.contains("link_secret"),
        "{err}"
    );
    assert!(err.contains("--accept-link-key"), "{err}");
    // A key changed on purpose is accepted by hand; then the old one is refused in turn.
    let mut accept = cli.command(&["migrate", "--accept-link-key"]);
    accept
        .env("TICKETGATE_DATA_DIR", "other-host")
        .env("TICKETGATE_DATABASE__URL", cli.database_url());
    assert!(cli.run_with(accept, None).status.success());
    let refused = cli.run(&["run"], None);
    assert!(
        stderr(&refused).contains("link key"),
        "{}",
        stderr(&refused)
    );
    assert!(
        cli.run(&["migrate", "--accept-link-key"], None)
            .status
            .success()
    );
    // Given the same secret file, the other host starts.
    std::fs::copy(
        cli.dir.path().join("data/link-secret"),
        cli.dir.path().join("other-host/link-secret"),
    )
    .unwrap();
    let second = crate::daemon::start(
        &cli,
        &[
            ("TICKETGATE_DATA_DIR", "other-host"),
            ("TICKETGATE_DATABASE__URL", &cli.database_url()),
        ],
    );
    crate::daemon::wait_for(
        "the second instance to start",
        Duration::from_secs(20),
        || {
            std::fs::read_to_string(&log).is_ok_and(|l| {
                l.matches("job scheduled").count() >= 2 * ticketgate::service::JobKind::ALL.len()
            })
        },
    );
    assert_eq!(crate::daemon::stop(&cli, second).status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_opened_at_once_by_several_instances_get_distinct_numbers() {
    let env = TestEnv::new().await;
    let settings = Arc::new(env.pipeline().settings().clone());
    let mut instances = Vec::new();
    for i in 0..3u32 {
        let pipeline = ticketgate::pipeline::Pipeline::new(
            another_instance(&env).await,
            settings.clone(),
            env.clock.clone(),
        )
        .unwrap();
        instances.push(tokio::spawn(async move {
            let mut numbers = Vec::new();
            for n in 0..15 {
                let outcome = pipeline
                    .process("test", &mail(1000 + i * 100 + n))
                    .await
                    .unwrap();
                numbers.push(crate::support::helpers::created(&outcome).to_string());
            }
            numbers
        }));
    }
    let mut numbers = Vec::new();
    for i in instances {
        numbers.extend(i.await.unwrap());
    }
    let distinct: HashSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), 45, "{numbers:?}");
    assert!(
        numbers.iter().all(|n| n.starts_with("2611N")),
        "{numbers:?}"
    );
}

/// A ticket opened by hand, by `who`, as an agent's CLI or the API would open one.
fn opening(who: &str) -> ticketgate::store::HandOpening {
    use ticketgate::domain::{
        Direction, EmailAddress, Impact, NewArticle, NewTicket, TicketType, Urgency, Visibility,
    };
    let requester = EmailAddress::parse(&format!("{who}@acme.example")).unwrap();
    ticketgate::store::HandOpening {
        ticket: NewTicket {
            title: format!("Opened for {who}"),
            description: Some("The printer is on fire.".into()),
            ticket_type: TicketType::Incident,
            category: None,
            impact: Impact::Degraded,
            urgency: Urgency::Medium,
            requester: requester.clone(),
            requester_name: None,
            organisation: None,
            language: "en".into(),
            follow_up_of: None,
            observers: Vec::new(),
            details: Default::default(),
        },
        article: NewArticle::written(
            requester,
            None,
            Direction::Inbound,
            Visibility::Public,
            "Printer",
            "The printer is on fire.",
        ),
        notifications: Vec::new(),
        at: Utc::now(),
    }
}

/// One instance holds a batch of mails that opened a ticket, not yet committed, while
/// another opens one. On PostgreSQL the second does not wait for the first's batch: the
/// number is taken apart from the batch's transaction (`store/ticket_numbers.rs`), where
/// the month's counter row, locked until the batch committed, made every instance's
/// batches go one at a time. On SQLite, one writer at a time, it waits for the batch to
/// commit, and the numbers follow on. Either way the numbers differ.
#[tokio::test]
async fn a_ticket_opened_beside_another_instance_s_batch_does_not_wait_for_it_on_postgresql() {
    let env = TestEnv::new().await;
    let (a, b) = (env.store().clone(), another_instance(&env).await);
    let on_postgres = a.backend() == ticketgate::store::Backend::Postgres;
    let batch = a.begin_batch().await.unwrap();
    let first = batch.store().open_ticket(&opening("first")).await.unwrap();
    let mut second = tokio::spawn(async move { b.open_ticket(&opening("second")).await });
    let second = if on_postgres {
        let second = tokio::time::timeout(Duration::from_secs(10), &mut second)
            .await
            .expect("the second instance's ticket waited for the first's batch")
            .unwrap()
            .unwrap();
        batch.commit().await.unwrap();
        second
    } else {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!second.is_finished(), "SQLite has one writer at a time");
        batch.commit().await.unwrap();
        let second = second.await.unwrap().unwrap();
        let serial =
            |n: &ticketgate::domain::TicketNumber| -> u64 { n.as_str()[5..].parse().unwrap() };
        assert_eq!(serial(&second), serial(&first) + 1, "{first} then {second}");
        second
    };
    assert_ne!(first, second);
    for number in [&first, &second] {
        let ticket = a.ticket_by_number(number).await.unwrap();
        assert!(ticket.is_some(), "{number} was committed");
    }
}

/// The serial part of a ticket number (`2612N00042` → 42).
fn serial(number: &ticketgate::domain::TicketNumber) -> u64 {
    number.as_str()[5..].parse().unwrap()
}

/// Opens `count` tickets one after the other on `store`; their serial numbers.
async fn open_in_succession(store: &Store, who: &str, count: usize) -> Vec<u64> {
    let mut serials = Vec::new();
    for n in 0..count {
        let opened = store
            .open_ticket(&opening(&format!("{who}{n}")))
            .await
            .unwrap();
        serials.push(serial(&opened));
    }
    serials
}

/// An instance that opens tickets in quick succession on PostgreSQL takes its numbers in
/// blocks (`store/ticket_numbers.rs`): one counter update for several tickets, so another
/// instance's next number comes after the block. An instance that stops gives back the
/// numbers it did not use when nobody took any after them, so the next ticket follows on
/// without a gap. On SQLite every number is taken in the ticket's own transaction: the
/// numbers simply follow on.
#[tokio::test]
async fn numbers_are_taken_in_blocks_during_a_burst_and_the_unused_are_given_back() {
    let env = TestEnv::new().await;
    let on_postgres = env.store().backend() == ticketgate::store::Backend::Postgres;
    // An instance that took no number has nothing to give back.
    another_instance(&env).await.close().await;
    let busy = another_instance(&env).await;
    let first = open_in_succession(&busy, "busy", 10).await;
    let start = first[0];
    assert_eq!(
        first,
        (start..start + 10).collect::<Vec<_>>(),
        "one instance's numbers follow on"
    );
    let other = another_instance(&env).await;
    let beside = open_in_succession(&other, "beside", 1).await[0];
    if on_postgres {
        assert!(
            beside > start + 10,
            "the busy instance still holds a block: {beside}"
        );
    } else {
        assert_eq!(beside, start + 10);
    }

    let stopping = another_instance(&env).await;
    let burst = open_in_succession(&stopping, "burst", 10).await;
    assert_eq!(burst, (beside + 1..beside + 11).collect::<Vec<_>>());
    stopping.close().await;
    let after = open_in_succession(&other, "after", 1).await[0];
    assert_eq!(
        after,
        beside + 11,
        "the stopped instance gave its unused numbers back"
    );
}
