//! `jobs run` by hand (issue 17): `--dry-run` says what a run would do and writes nothing;
//! `--now` in the future acts, and the notifications it queues are due at once, not then.

use chrono::{DateTime, Duration, Utc};

use crate::cli::{ok, with_agents_and_a_ticket};
use crate::support::helpers::Cli;

/// The outbox as JSON rows, of one status when given.
fn outbox(cli: &Cli, status: Option<&str>) -> Vec<serde_json::Value> {
    let mut args = vec!["outbox", "list", "--json", "--limit", "1000"];
    if let Some(status) = status {
        args.extend(["--status", status]);
    }
    serde_json::from_str(&ok(cli, &args)).unwrap()
}

fn status_of(cli: &Cli, number: &str) -> String {
    let show: serde_json::Value =
        serde_json::from_str(&ok(cli, &["tickets", "show", number, "--json"])).unwrap();
    show["status"].as_str().unwrap().to_string()
}

#[test]
fn a_dry_run_says_what_it_would_do_and_writes_nothing() {
    let cli = Cli::new();
    let n = with_agents_and_a_ticket(&cli);
    ok(
        &cli,
        &[
            "tickets",
            "resolve",
            n.as_str(),
            "--solution",
            "Restarted the VPN.",
        ],
    );
    ok(&cli, &["outbox", "flush"]);
    let outbox_before = outbox(&cli, None);
    let jobs_before = ok(&cli, &["jobs", "list"]);
    let later = (Utc::now() + Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();

    let out = ok(
        &cli,
        &["jobs", "run", "auto-close", "--now", &later, "--dry-run"],
    );
    assert!(out.starts_with("dry run, nothing written: "), "{out}");
    assert!(out.contains("would close 1 ticket(s)"), "{out}");
    assert!(out.contains(&format!("{n} would be closed")), "{out}");

    assert_eq!(status_of(&cli, n.as_str()), "resolved");
    assert_eq!(outbox(&cli, None), outbox_before);
    assert_eq!(ok(&cli, &["jobs", "list"]), jobs_before, "no run recorded");
}

#[test]
fn a_run_as_of_a_later_day_queues_notifications_due_now() {
    let cli = Cli::new();
    let n = with_agents_and_a_ticket(&cli);
    ok(
        &cli,
        &[
            "tickets",
            "resolve",
            n.as_str(),
            "--solution",
            "Restarted the VPN.",
        ],
    );
    ok(&cli, &["outbox", "flush"]);
    let later = Utc::now() + Duration::days(30);

    let out = ok(
        &cli,
        &["jobs", "run", "auto-close", "--now", &later.to_rfc3339()],
    );
    assert!(out.contains("closed 1 ticket(s)"), "{out}");
    assert_eq!(status_of(&cli, n.as_str()), "closed");

    let pending = outbox(&cli, Some("pending"));
    assert!(!pending.is_empty(), "the closing is told");
    for row in &pending {
        let due: DateTime<Utc> = row["next_attempt_at"].as_str().unwrap().parse().unwrap();
        assert!(
            due < later - Duration::days(1),
            "due at the run's date: {row}"
        );
    }
    let flush = ok(&cli, &["outbox", "flush"]);
    assert!(
        flush.starts_with(&format!("{} sent, 0 deferred", pending.len())),
        "{flush}"
    );
}
