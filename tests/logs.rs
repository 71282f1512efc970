//! The daemon's log as operators read it: one JSON object per line with `[log] format =
//! "json"` or under the journal (`JOURNAL_STREAM` naming standard error), each line of a
//! mail's processing naming its mailbox, Message-ID and ticket, each line of a delivery its
//! notification; and no secret in it at any level, the dependencies' trace included, while
//! the daemon logs in to IMAP, sends with SMTP AUTH, posts a signed webhook, opens a
//! portal link and answers an API token.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::daemon::{deliver, start, stop, wait_for};
use crate::support::dovecot::Dovecot;
use crate::support::helpers::{Cli, fixture};
use crate::support::http::get;
use crate::support::postgres;
use crate::support::smtp_sink::SmtpSink;

const MAIL: &str =
    "[mail]\naddresses = [\"support@example.com\"]\nagents_address = \"agents@example.com\"\n";

/// A working directory whose configuration is `config`, with an empty Maildir.
fn cli_with(config: &str) -> Cli {
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    cli.write("config/ticketgate.toml", config.as_bytes());
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(cli.dir.path().join("data/inbox").join(sub)).unwrap();
    }
    cli
}

/// Each line of `log` parsed as JSON (a line that is not fails the test); written to the
/// journal, each starts with the syslog priority of its level, which is checked and taken
/// off as journald does.
fn parse_log(log: &str, journal: bool) -> Vec<Value> {
    log.lines()
        .map(|line| {
            let (priority, json) = match journal {
                true => line.split_at(3),
                false => ("", line),
            };
            let value: Value =
                serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if journal {
                let expected = match value["level"].as_str() {
                    Some("ERROR") => "<3>",
                    Some("WARN") => "<4>",
                    Some("INFO") => "<6>",
                    _ => "<7>",
                };
                assert_eq!(priority, expected, "{line}");
            }
            value
        })
        .collect()
}

/// Runs the daemon on one fixture until its acknowledgement is written; its log, parsed.
fn json_log_of_one_mail(cli: &Cli, env: &[(&str, &str)]) -> Vec<Value> {
    let inbox = cli.dir.path().join("data/inbox");
    deliver(
        &inbox,
        "1700000000.1.host",
        &fixture("new_ticket.eml", None),
    );
    let daemon = start(cli, env);
    let outbox = cli.dir.path().join("data/outbox");
    wait_for("the acknowledgement", Duration::from_secs(20), || {
        std::fs::read_dir(&outbox).is_ok_and(|mut d| d.next().is_some())
    });
    let stopped = stop(cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    let journal = env.iter().any(|(k, _)| *k == "JOURNAL_STREAM");
    parse_log(&stopped.log, journal)
}

/// The first line whose fields hold every one of `keys`.
fn line_with<'a>(lines: &'a [Value], keys: &[&str]) -> Option<&'a Value> {
    lines
        .iter()
        .find(|l| keys.iter().all(|k| l.get(*k).is_some_and(|v| !v.is_null())))
}

fn assert_span_fields(lines: &[Value]) {
    let all = || serde_json::to_string_pretty(lines).unwrap();
    for line in lines {
        for key in ["timestamp", "level", "target"] {
            assert!(line.get(key).is_some(), "{key} missing: {line}");
        }
    }
    let handled = lines
        .iter()
        .find(|l| l["message"] == "message handled")
        .unwrap_or_else(|| panic!("no `message handled` line: {}", all()));
    assert_eq!(handled["mailbox"], "data/inbox", "{handled}");
    assert!(
        handled["message_id"]
            .as_str()
            .is_some_and(|id| id.contains('@')),
        "{handled}"
    );
    let ticket = handled["ticket"].as_str().expect("the ticket number");
    let opened = lines
        .iter()
        .find(|l| l["message"] == "ticket opened")
        .unwrap_or_else(|| panic!("no `ticket opened` line: {}", all()));
    assert_eq!(opened["ticket"], ticket);
    assert_eq!(opened["message_id"], handled["message_id"]);
    let sent = line_with(lines, &["notification", "ticket"])
        .unwrap_or_else(|| panic!("no line of a delivery: {}", all()));
    assert!(sent["notification"].is_i64(), "{sent}");
    assert_eq!(sent["ticket"], ticket);
    let at = handled["timestamp"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'),
        "{at}"
    );
}

#[test]
fn json_logs_parse_and_carry_the_span_fields() {
    // What is logged does not depend on the database.
    if postgres::server().is_some() {
        return;
    }
    let cli = cli_with(&format!("{MAIL}[log]\nformat = \"json\"\n"));
    assert_span_fields(&json_log_of_one_mail(&cli, &[]));

    // Under systemd: no format chosen, standard error is the journal's stream, which
    // JOURNAL_STREAM names by device and inode (here the log file the daemon writes to);
    // each line then starts with its priority.
    let cli = cli_with(MAIL);
    let log = cli.dir.path().join("daemon.log");
    std::fs::File::create(&log).unwrap();
    let meta = std::fs::metadata(&log).unwrap();
    let stream = format!("{}:{}", meta.dev(), meta.ino());
    assert_span_fields(&json_log_of_one_mail(&cli, &[("JOURNAL_STREAM", &stream)]));

    // A configuration that cannot be read says so in a JSON line too, under the journal.
    let cli = cli_with("[log]\nformat = \"xml\"\n");
    let log = cli.dir.path().join("stderr");
    let file = std::fs::File::create(&log).unwrap();
    let meta = file.metadata().unwrap();
    let stream = format!("{}:{}", meta.dev(), meta.ino());
    let status = cli
        .command(&["run"])
        .env("JOURNAL_STREAM", &stream)
        .stderr(file)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines = parse_log(&text, true);
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["level"], "ERROR");
    assert!(
        lines[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("log.format")),
        "{text}"
    );
}

/// A webhook receiver on loopback that answers 204 to every POST; its port.
fn webhook_receiver() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            stream
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut buffer = [0u8; 65536];
            // The headers and a small body come in one or two reads.
            while stream.read(&mut buffer).is_ok_and(|n| n > 0) {}
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    port
}

/// `url` with `password` for its user (a PostgreSQL URL of the test server).
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    match rest.split_once('@') {
        Some((user, host)) if !user.contains(':') => {
            format!("{scheme}://{user}:{password}@{host}")
        }
        Some(_) => url.to_string(),
        None => format!("{scheme}://postgres:{password}@{rest}"),
    }
}

/// The portal's port, from the daemon's log.
fn portal_port(cli: &Cli) -> u16 {
    let log = cli.dir.path().join("daemon.log");
    let mut port = 0;
    wait_for("the portal to listen", Duration::from_secs(20), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        port = text
            .split("portal listening address=127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        port != 0
    });
    port
}

/// The path and query of the first direct link in a mail the SMTP server received.
fn direct_link(smtp: &SmtpSink) -> String {
    smtp.received()
        .iter()
        .filter(|(name, _)| name.ends_with(".eml"))
        .find_map(|(_, raw)| {
            let mail = mail_parser::MessageParser::default().parse(raw.as_bytes())?;
            let text = mail.body_text(0)?.into_owned();
            text.split_whitespace()
                .find(|w| w.contains("/tickets/") && w.contains("token="))
                .map(|w| w.trim_start_matches("http://localhost:8080").to_string())
        })
        .expect("a direct link in a notification")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log_even_at_trace() {
    const IMAP_PASSWORD: &str = "imap-Pass-7f3a9c";
    const SMTP_PASSWORD: &str = "smtp-Pass-2b8e1d";
    const LINK_SECRET: &str = "link-secret-0123456789abcdef-0123456789";
    const WEBHOOK_KEY: &str = "webhook-key-5d7e9f1a3c";
    const PG_PASSWORD: &str = "pg-Pass-9c4b2e";
    let Some(dovecot) = Dovecot::start(&[("support", IMAP_PASSWORD)]).await else {
        return;
    };
    let Some(smtp) =
        SmtpSink::start_with(&["--auth".as_ref(), format!("tg:{SMTP_PASSWORD}").as_ref()])
    else {
        return;
    };
    let webhook_secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(WEBHOOK_KEY)
    );
    let config = format!(
        "{MAIL}[portal]\nlink_secret = \"{LINK_SECRET}\"\n\
         [smtp]\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
         username = \"tg\"\npassword = \"{SMTP_PASSWORD}\"\n\
         [[mailbox]]\nname = \"support\"\naddress = \"support@example.com\"\nhost = \"{}\"\n\
         port = {}\ntls = \"none\"\nusername = \"support\"\npassword = \"{IMAP_PASSWORD}\"\n\
         [notifications]\ntemplate_dir = \"templates\"\n\
         [[webhook]]\nname = \"chat\"\nurl = \"http://127.0.0.1:{}/hook\"\nsecret = \"{webhook_secret}\"\n\
         events = [\"ticket_opened\"]\n",
        smtp.port,
        dovecot.host(),
        dovecot.port(),
        webhook_receiver(),
    );
    let cli = cli_with(&config);
    // An operator's template that tests the link: the template engine's own debug lines
    // would show the value tested.
    let templates = cli.dir.path().join("templates/en");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("ticket_opened.text.hbs"),
        "Your ticket {{ticket.number}}.{{#if link}} Follow it at {{link}}{{/if}}\n",
    )
    .unwrap();
    dovecot
        .append("support", "INBOX", &fixture("new_ticket.eml", None))
        .await;
    let mut env = vec![("TICKETGATE_LOG", "trace".to_string())];
    // In the PostgreSQL pass, the database URL carries a password too (the test server
    // trusts every connection, so it is accepted and ignored).
    if postgres::server().is_some() {
        env.push((
            "TICKETGATE_DATABASE__URL",
            with_password(&cli.database_url(), PG_PASSWORD),
        ));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let daemon = start(&cli, &env);
    let port = portal_port(&cli);
    wait_for(
        "the acknowledgement over SMTP",
        Duration::from_secs(20),
        || !smtp.arrivals().is_empty(),
    );

    // The portal: the direct link, then the ticket page on the session it opened.
    let link = direct_link(&smtp);
    let token = link.split("token=").nth(1).unwrap().to_string();
    let opened = get(port, &link, &[]);
    assert_eq!(opened.status, 303, "{opened:?}");
    let cookie = opened
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let ticket = link
        .split("/tickets/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .unwrap()
        .to_string();
    let page = get(port, &format!("/tickets/{ticket}"), &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200, "{page:?}");
    // A short link's path holds a signature too.
    let short_mac = "c2hvcnQtbGluay1zaWduYXR1cmU";
    get(port, &format!("/s/{ticket}.1999999999.{short_mac}"), &[]);

    // The JSON API with a token the CLI makes.
    let mut tokens = cli.command(&["tokens", "create", "dashboard"]);
    for (k, v) in &env {
        if k.starts_with("TICKETGATE_DATABASE") {
            tokens.env(k, v);
        }
    }
    let made = cli.run_with(tokens, None);
    assert!(made.status.success(), "{made:?}");
    let api_token = String::from_utf8(made.stdout).unwrap().trim().to_string();
    let api = get(
        port,
        &format!("/api/v1/tickets/{ticket}"),
        &[("Authorization", &format!("Bearer {api_token}"))],
    );
    assert_eq!(api.status, 200, "{api:?}");
    wait_for("the webhook's post", Duration::from_secs(10), || {
        std::fs::read_to_string(cli.dir.path().join("daemon.log"))
            .is_ok_and(|log| log.contains("delivered"))
    });

    let stopped = stop(&cli, daemon);
    let log = stopped.log;
    assert!(
        log.contains(" TRACE ") && log.contains("db.statement"),
        "the whole trace is on: {log}"
    );
    // The IMAP mail's lines name its mailbox, Message-ID and ticket; a request's its
    // number and path, a short link's with its ticket and without its signature.
    assert!(
        log.lines().any(|l| l.contains("message handled")
            && l.contains("mailbox{mailbox=support}")
            && l.contains("message_id=\"new-ticket-1@acme.example\"")
            && l.contains(&format!("ticket=\"{ticket}\""))),
        "{log}"
    );
    let short = format!(" method=GET path=/s/{ticket}.…}}");
    assert!(
        log.lines()
            .any(|l| l.contains("request{request_id=") && l.contains(&short)),
        "{log}"
    );
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let cookie_value = cookie.split_once('=').unwrap().1;
    let link_mac = token.rsplit('.').next().unwrap();
    let secrets = [
        ("the IMAP password", IMAP_PASSWORD.to_string()),
        ("the SMTP password", SMTP_PASSWORD.to_string()),
        ("the SMTP password in base64", b64(SMTP_PASSWORD)),
        ("AUTH PLAIN", b64(&format!("\0tg\0{SMTP_PASSWORD}"))),
        ("the link secret", LINK_SECRET.to_string()),
        ("the webhook secret", webhook_secret.clone()),
        ("the webhook key", WEBHOOK_KEY.to_string()),
        ("the direct link's token", token.clone()),
        ("the direct link's signature", link_mac.to_string()),
        ("the short link's signature", short_mac.to_string()),
        ("the API token", api_token.clone()),
        ("the session cookie", cookie_value.to_string()),
        ("the database password", PG_PASSWORD.to_string()),
    ];
    for (what, secret) in secrets {
        assert!(!secret.is_empty(), "{what}");
        if let Some(line) = log.lines().find(|l| l.contains(&secret)) {
            panic!("{what} is in the log:\n{line}");
        }
    }
    assert_eq!(stopped.status.code(), Some(0), "{log}");
}
