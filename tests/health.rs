//! `/healthz`, `/readyz` and `/metrics` of `ticketgate run`, over real HTTP against the
//! real daemon: the process answers, the readiness checks say what they found (a mailbox
//! that cannot be reached makes it unready, with its error), the metrics are Prometheus
//! text that `promtool` accepts and that move as mail is taken in, and `[http]
//! metrics_listen` moves them to a listener of their own. On SQLite and, in the
//! PostgreSQL pass, on PostgreSQL.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::daemon::wait_for;
use crate::portal::{ALICE, Portal, cli, cli_with, ingest};
use crate::support::dovecot::Dovecot;
use crate::support::helpers::Cli;
use crate::support::http::get;
use crate::support::require;

/// One sample of the Prometheus text format: its name, its labels, its value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format strictly enough to catch a malformed line: every
/// line is a `# HELP`/`# TYPE` comment, blank, or `name{label="value",…} number`.
fn parse_metrics(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value on {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("not a number on {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("labels not closed on {line:?}"));
                let labels = body
                    .split("\",")
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (k, v) = pair
                            .split_once("=\"")
                            .unwrap_or_else(|| panic!("a label without a value on {line:?}"));
                        (k.to_string(), v.trim_end_matches('"').to_string())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, BTreeMap::new()),
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name on {line:?}"
        );
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

/// The value of `name` with (at least) `labels`, if there is such a sample.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// The metrics the daemon on `port` serves, parsed; the raw text beside them.
fn scrape(port: u16) -> (Vec<Sample>, String) {
    let answer = get(port, "/metrics", &[]);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{answer:?}"
    );
    (parse_metrics(&answer.body), answer.body)
}

/// Runs `promtool check metrics` on `text`, where promtool is installed (in CI it must be).
fn promtool_accepts(text: &str) {
    promtool(&["check", "metrics"], text);
}

/// Runs promtool with `args` and `stdin`, which must succeed; nothing (after one line, or a
/// failure in CI) when promtool is not installed.
fn promtool(args: &[&str], stdin: &str) {
    let promtool = std::env::var("TICKETGATE_TEST_PROMTOOL").unwrap_or("promtool".into());
    let child = Command::new(&promtool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        require::missing(
            "promtool",
            "sudo apt-get install prometheus, or name it with TICKETGATE_TEST_PROMTOOL",
        );
        return;
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?} refused: {}{}\n{stdin}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn healthz_and_readyz_answer_and_say_what_they_checked() {
    let portal = Portal::start(cli());
    let live = portal.get("/healthz", &[]);
    assert_eq!((live.status, live.body.as_str()), (200, "ok\n"), "{live:?}");
    let ready = portal.get("/readyz", &[]);
    assert_eq!(ready.status, 200, "{ready:?}");
    assert_eq!(ready.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(body["ready"], true, "{body}");
    assert_eq!(body["database"]["ok"], true, "{body}");
    assert_eq!(body["outbox"]["ok"], true, "{body}");
    assert_eq!(body["mailboxes"], serde_json::json!([]), "{body}");
    portal.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_and_metrics_show_a_connected_mailbox_and_its_mail() {
    let Some(dovecot) = Dovecot::start(&[("support", "s3cret-pass")]).await else {
        return;
    };
    dovecot
        .append("support", "INBOX", &crate::imap::mail(1))
        .await;
    let cli = cli_with(&format!(
        "[[mailbox]]\nname = \"support\"\naddress = \"support@localhost\"\nhost = \"{}\"\n\
         port = {}\ntls = \"none\"\nusername = \"support\"\npassword = \"s3cret-pass\"\n",
        dovecot.host(),
        dovecot.port()
    ));
    let portal = Portal::start(cli);
    let mut samples = Vec::new();
    wait_for("the mailbox's mail", Duration::from_secs(20), || {
        samples = scrape(portal.port).0;
        value(
            &samples,
            "ticketgate_mails_total",
            &[("intake", "imap"), ("outcome", "created")],
        ) == Some(1.0)
    });
    assert_eq!(
        value(
            &samples,
            "ticketgate_imap_connected",
            &[("mailbox", "support")]
        ),
        Some(1.0)
    );
    let ready = portal.get("/readyz", &[]);
    let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(ready.status, 200, "{body}");
    assert_eq!(body["mailboxes"][0]["state"], "connected", "{body}");
    assert_eq!(body["mailboxes"][0]["ok"], true, "{body}");
    assert!(body["mailboxes"][0].get("error").is_none(), "{body}");
    portal.stop();
}

#[test]
fn readyz_is_503_while_a_mailbox_cannot_be_reached_and_names_its_error() {
    // Nothing listens on the port a listener just let go of.
    let port = free_port();
    let cli = cli_with(&format!(
        "[[mailbox]]\nname = \"support\"\naddress = \"support@localhost\"\nhost = \"127.0.0.1\"\n\
         port = {port}\ntls = \"none\"\nusername = \"support\"\npassword = \"secret\"\n"
    ));
    let portal = Portal::start(cli);
    let mut body = serde_json::Value::Null;
    wait_for("the mailbox to fail", Duration::from_secs(20), || {
        let ready = portal.get("/readyz", &[]);
        body = serde_json::from_str(&ready.body).unwrap();
        ready.status == 503 && body["mailboxes"][0]["state"] == "failing"
    });
    assert_eq!(body["ready"], false, "{body}");
    assert_eq!(body["database"]["ok"], true, "{body}");
    let mailbox = &body["mailboxes"][0];
    assert_eq!(mailbox["name"], "support", "{body}");
    assert_eq!(mailbox["ok"], false, "{body}");
    let error = mailbox["error"].as_str().unwrap_or_default();
    assert!(error.contains("cannot connect to"), "{body}");
    let (samples, _) = scrape(portal.port);
    assert_eq!(
        value(
            &samples,
            "ticketgate_imap_connected",
            &[("mailbox", "support")]
        ),
        Some(0.0)
    );
    assert!(
        value(
            &samples,
            "ticketgate_imap_reconnects_total",
            &[("mailbox", "support")]
        )
        .is_some_and(|n| n >= 1.0)
    );
    portal.stop();
}

#[test]
fn readyz_is_503_while_a_notification_has_been_due_too_long() {
    // An SMTP server that takes the connection and never says a word: the
    // acknowledgement's send hangs, and it stays due.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    let cli = cli_with(&format!(
        "[smtp]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
         [http]\nready_outbox_max_age_secs = 1\n"
    ));
    ingest(&cli, ALICE);
    let portal = Portal::start(cli);
    let mut body = serde_json::Value::Null;
    wait_for("the outbox to be stuck", Duration::from_secs(20), || {
        let ready = portal.get("/readyz", &[]);
        body = serde_json::from_str(&ready.body).unwrap();
        ready.status == 503
    });
    assert_eq!(body["database"]["ok"], true, "{body}");
    assert_eq!(body["outbox"]["ok"], false, "{body}");
    let detail = body["outbox"]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("(limit 1 s)"), "{body}");
    // Killed, not stopped: the daemon waits for the hanging send before it exits.
    drop(portal);
}

#[test]
fn metrics_are_prometheus_text_and_move_as_mail_comes_in() {
    let cli = cli();
    // A ticket before the start: the gauges are read from the database at once.
    ingest(&cli, ALICE);
    let portal = Portal::start(cli);
    let mut samples = Vec::new();
    wait_for("the tickets gauge", Duration::from_secs(20), || {
        samples = scrape(portal.port).0;
        value(&samples, "ticketgate_tickets", &[("status", "new")]).is_some()
            || value(&samples, "ticketgate_tickets", &[("status", "open")]).is_some()
    });
    let tickets: f64 = samples
        .iter()
        .filter(|s| s.name == "ticketgate_tickets")
        .map(|s| s.value)
        .sum();
    assert_eq!(tickets, 1.0, "{samples:?}");
    assert_eq!(
        value(
            &samples,
            "ticketgate_mails_total",
            &[("intake", "maildir"), ("outcome", "created")]
        ),
        None
    );

    let inbox = portal.cli.dir.path().join("data/inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    crate::daemon::deliver(&inbox, "1700000000.1.host", crate::portal::BOB);
    let mut text = String::new();
    wait_for("the mail counter to move", Duration::from_secs(20), || {
        (samples, text) = scrape(portal.port);
        value(
            &samples,
            "ticketgate_mails_total",
            &[("intake", "maildir"), ("outcome", "created")],
        ) == Some(1.0)
    });
    assert!(
        value(
            &samples,
            "ticketgate_mail_processing_seconds_count",
            &[("intake", "maildir")]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    // Requests are counted by their route's pattern, never their path.
    let _ = portal.get("/tickets/2611N99999?t=secret-token", &[]);
    (samples, text) = scrape(portal.port);
    assert!(
        value(
            &samples,
            "ticketgate_http_requests_total",
            &[("route", "/metrics"), ("status", "200")]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        value(
            &samples,
            "ticketgate_http_requests_total",
            &[("route", "/tickets/{number}")]
        )
        .is_some(),
        "{text}"
    );
    assert!(
        !text.contains("secret-token") && !text.contains("2611N99999"),
        "{text}"
    );
    // The acknowledgements of both tickets are sent by the worker.
    wait_for("a delivery to be counted", Duration::from_secs(20), || {
        (samples, text) = scrape(portal.port);
        samples
            .iter()
            .any(|s| s.name == "ticketgate_outbox_deliveries_total" && s.value >= 1.0)
    });
    // And how long after its mail's commit the acknowledgement left.
    assert!(
        value(
            &samples,
            "ticketgate_notification_delay_seconds_count",
            &[("event", "ticket_opened")]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        samples.iter().all(|s| s.name.starts_with("ticketgate_")),
        "{text}"
    );
    promtool_accepts(&text);
    portal.stop();
}

#[test]
fn metrics_listen_serves_them_on_a_listener_of_their_own() {
    let port = free_port();
    let cli: Cli = cli_with(&format!("[http]\nmetrics_listen = \"127.0.0.1:{port}\"\n"));
    let checked = crate::portal::run_ok(&cli, &["check-config"]);
    assert!(
        checked.contains(&format!("http.metrics_listen = 127.0.0.1:{port}")),
        "{checked}"
    );
    let portal = Portal::start(cli);
    wait_for("the metrics listener", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let _ = portal.get("/healthz", &[]);
    let (samples, text) = scrape(port);
    assert!(
        value(
            &samples,
            "ticketgate_http_requests_total",
            &[("route", "/healthz"), ("status", "200")]
        )
        .is_some(),
        "{text}"
    );
    assert_eq!(portal.get("/metrics", &[]).status, 404);
    assert_eq!(get(port, "/tickets", &[]).status, 404);
    portal.stop();
}

/// Every metric the daemon records, by the names the code records them under.
const METRICS: &[&str] = {
    use ticketgate::monitoring::*;
    &[
        MAILS,
        MAIL_SECONDS,
        DELIVERIES,
        NOTIFICATION_SECONDS,
        DELIVERY_FAILURES,
        GOVERNOR,
        OUTBOX_DEPTH,
        TICKETS,
        IMAP_CONNECTED,
        IMAP_RECONNECTS,
        JOB_RUNS,
        JOB_ITEMS,
        HTTP_REQUESTS,
    ]
};

/// Whether `name` is one of [`METRICS`], or one of a histogram's series.
fn is_ours(name: &str) -> bool {
    let base = ["_bucket", "_count", "_sum"]
        .iter()
        .fold(name, |n, suffix| n.strip_suffix(suffix).unwrap_or(n));
    METRICS.contains(&base)
}

#[test]
fn the_alert_rules_pass_promtool_and_name_only_our_metrics() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/monitoring/alerts.yml");
    let rules = std::fs::read_to_string(path).unwrap();
    let named: Vec<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("ticketgate_"))
        .collect();
    assert!(!named.is_empty());
    for name in named {
        assert!(
            is_ours(name),
            "{name} in alerts.yml is not a metric we record"
        );
    }
    promtool(&["check", "rules", path], "");
}

#[test]
fn the_grafana_dashboard_is_json_and_queries_only_our_metrics() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/monitoring/grafana-dashboard.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(!panels.is_empty());
    for panel in panels {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let names: Vec<&str> = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("ticketgate_"))
                .collect();
            assert!(!names.is_empty(), "{expr}");
            for name in names {
                assert!(is_ours(name), "{name} in the dashboard is not ours");
            }
        }
    }
}

/// A port nothing listens on (the system's choice, let go of at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
