//! Webhooks of `ticketgate run`, over real HTTP against the real daemon: a receiver on a
//! loopback socket checks each Standard Webhooks signature and records what came. A mail
//! opens a ticket and another is quarantined; one webhook takes both events, one answers
//! 500 then 200 (retried, delivered once, the same webhook-id both times), one never
//! answers (timed out, retried), one redirects (not followed). On SQLite and, in the
//! PostgreSQL pass, on PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::daemon::{start, stop};
use crate::support::helpers::{Cli, stdout};

/// The key every webhook of the test signs with, and its bytes.
pub(crate) const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One POST the receiver took.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// The route: `ok`, `flaky`, `hangs`, `moved`, `elsewhere`.
    pub(crate) route: String,
    pub(crate) id: String,
    pub(crate) body: Value,
}

/// What the receiver saw, shared with its handlers.
#[derive(Debug, Default)]
pub(crate) struct Receiver {
    pub(crate) received: Mutex<Vec<Received>>,
    /// Requests whose signature or timestamp did not check out.
    pub(crate) forged: Mutex<Vec<String>>,
}

impl Receiver {
    pub(crate) fn on(&self, route: &str) -> Vec<Received> {
        let received = self.received.lock().unwrap();
        received
            .iter()
            .filter(|r| r.route == route)
            .cloned()
            .collect()
    }
}

/// Checks the headers as the Standard Webhooks specification says a receiver should: the
/// signature over `id.timestamp.body` with the key after `whsec_`, a recent timestamp.
fn verify(headers: &HeaderMap, body: &[u8]) -> Result<String, String> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or(format!("no {name}"))
    };
    let (id, timestamp, signature) = (
        get("webhook-id")?,
        get("webhook-timestamp")?,
        get("webhook-signature")?,
    );
    let seconds: i64 = timestamp.parse().map_err(|_| "timestamp".to_string())?;
    if (chrono::Utc::now().timestamp() - seconds).abs() > 300 {
        return Err(format!("stale timestamp {seconds}"));
    }
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(SECRET.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", engine.encode(mac.finalize().into_bytes()));
    if !signature.split(' ').any(|s| s == expected) {
        return Err(format!("bad signature {signature}"));
    }
    Ok(id)
}

async fn hook(
    State(receiver): State<Arc<Receiver>>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = match verify(&headers, &body) {
        Ok(id) => id,
        Err(e) => {
            receiver
                .forged
                .lock()
                .unwrap()
                .push(format!("{route}: {e}"));
            return StatusCode::UNAUTHORIZED.into_response();
        }
    };
    let body: Value = serde_json::from_slice(&body).expect("a JSON body");
    let tries = {
        let mut received = receiver.received.lock().unwrap();
        received.push(Received {
            route: route.clone(),
            id,
            body,
        });
        received.iter().filter(|r| r.route == route).count()
    };
    match route.as_str() {
        "flaky" if tries == 1 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "hangs" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::OK.into_response()
        }
        "moved" => (StatusCode::FOUND, [(header::LOCATION, "/hook/elsewhere")]).into_response(),
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Starts the receiver on a loopback port; the port.
pub(crate) async fn start_receiver(receiver: Arc<Receiver>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new()
        .route("/hook/{route}", post(hook))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// A configuration with a webhook per behaviour of the receiver, quick retries, and mail
/// over 4 KiB quarantined.
fn config(port: u16) -> String {
    let hook = |name: &str, events: &str, more: &str| {
        format!(
            "[[webhook]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{port}/hook/{name}\"\n{more}events = [{events}]\n"
        )
    };
    let secret = format!("secret = \"{SECRET}\"\n");
    [
        "max_message_bytes = 4096\n[mail]\naddresses = [\"support@ours.test\"]\n\
         [http]\nlisten = \"\"\n[notifications]\nretry_first_secs = 1\n"
            .to_string(),
        hook("ok", "\"ticket_opened\", \"mail_quarantined\"", &secret),
        hook(
            "flaky",
            "\"ticket_opened\"",
            "secret_env = \"TEST_WEBHOOK_SECRET\"\n",
        ),
        hook(
            "hangs",
            "\"ticket_opened\"",
            &format!("{secret}timeout_secs = 1\n"),
        ),
        hook("moved", "\"ticket_opened\"", &secret),
    ]
    .concat()
}

pub(crate) async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The webhook rows of `outbox list --json`, by the webhook's name.
fn webhook_rows(cli: &Cli) -> Vec<Value> {
    let out = cli.run(&["outbox", "list", "--json"], None);
    assert!(out.status.success(), "{out:?}");
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    rows.into_iter()
        .filter(|r| r["channel"] == "webhook")
        .collect()
}

fn row<'a>(rows: &'a [Value], webhook: &str, event: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["recipient"] == webhook && r["event"] == event)
        .unwrap_or_else(|| panic!("no {event} row for {webhook} in {rows:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_posted_signed_retried_with_the_same_id_and_never_redirected() {
    let receiver = Arc::new(Receiver::default());
    let port = start_receiver(receiver.clone()).await;
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    cli.write("config/ticketgate.toml", config(port).as_bytes());
    let inbox = cli.dir.path().join("data/inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    let mail = "From: Alice <alice@acme.example>\r\nTo: support@ours.test\r\n\
                Subject: Printer on fire\r\nMessage-ID: <hook-1@acme.example>\r\n\r\nThe printer is on fire.\r\n";
    std::fs::write(inbox.join("new/1.host"), mail).unwrap();
    let huge = format!(
        "From: bob@acme.example\r\nTo: support@ours.test\r\nSubject: Logs\r\n\r\n{}\r\n",
        "x".repeat(8000)
    );
    std::fs::write(inbox.join("new/2.host"), huge).unwrap();
    let daemon = start(&cli, &[("TEST_WEBHOOK_SECRET", SECRET)]);

    wait_until("every webhook's tries", Duration::from_secs(30), || {
        receiver.on("ok").len() == 2
            && receiver.on("flaky").len() == 2
            && receiver.on("hangs").len() >= 2
            && !receiver.on("moved").is_empty()
    })
    .await;
    let stopped = stop(&cli, daemon);
    assert!(
        receiver.forged.lock().unwrap().is_empty(),
        "{:?}",
        receiver.forged
    );
    assert!(
        !stopped.log.contains(SECRET) && !stopped.log.contains("MfKQ9r8G"),
        "the secret stays out of the log"
    );

    // The webhook that hears both events got each once, with the documented payload.
    let ok = receiver.on("ok");
    let opened = ok
        .iter()
        .find(|r| r.body["type"] == "ticket.opened")
        .expect("ticket.opened");
    let data = &opened.body["data"];
    assert!(data["ticket"].as_str().unwrap().len() > 4, "{data}");
    assert_eq!(data["title"], "Printer on fire", "{data}");
    assert_eq!(data["status"], "new", "{data}");
    assert_eq!(data["requester"], "alice@acme.example", "{data}");
    assert_eq!(data["requester_name"], "Alice", "{data}");
    assert!(
        data["text"]
            .as_str()
            .unwrap()
            .contains("printer is on fire"),
        "{data}"
    );
    assert!(opened.body["timestamp"].as_str().unwrap().ends_with('Z'));
    let quarantined = ok
        .iter()
        .find(|r| r.body["type"] == "mail.quarantined")
        .expect("mail.quarantined");
    assert!(
        quarantined.body["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("max_message_bytes"),
        "{}",
        quarantined.body
    );

    // 500 then 200: two tries of one delivery, under one id.
    let flaky = receiver.on("flaky");
    assert_eq!(flaky[0].id, flaky[1].id, "the same webhook-id on the retry");
    assert!(flaky[0].id.starts_with("msg_"));
    assert_eq!(flaky[0].body, flaky[1].body);
    // A redirect is a failure, and its target is never asked.
    assert!(
        receiver.on("elsewhere").is_empty(),
        "the redirect was followed"
    );

    let rows = webhook_rows(&cli);
    assert_eq!(rows.len(), 5, "one row per webhook per event: {rows:#?}");
    assert_eq!(row(&rows, "ok", "ticket_opened")["status"], "sent");
    assert_eq!(row(&rows, "ok", "mail_quarantined")["ticket"], Value::Null);
    let flaky_row = row(&rows, "flaky", "ticket_opened");
    assert_eq!(
        (&flaky_row["status"], &flaky_row["attempts"]),
        (&Value::from("sent"), &Value::from(2))
    );
    let hangs = row(&rows, "hangs", "ticket_opened");
    assert_eq!(hangs["status"], "pending", "{hangs}");
    assert!(
        hangs["last_error"]
            .as_str()
            .unwrap()
            .contains("did not answer within 1s"),
        "{hangs}"
    );
    let moved = row(&rows, "moved", "ticket_opened");
    assert!(
        moved["last_error"].as_str().unwrap().contains("redirect"),
        "{moved}"
    );
    let listed = stdout(&cli.run(&["outbox", "list"], None));
    assert!(
        listed.contains("webhook") && listed.contains("mail_quarantined"),
        "{listed}"
    );
}

#[test]
fn check_config_names_each_bad_webhook_key() {
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    cli.write(
        "config/ticketgate.toml",
        b"[[webhook]]\nurl = \"ftp://hooks.example\"\nsecret = \"nope\"\nevents = [\"ticket_exploded\"]\n",
    );
    let out = cli.run(&["check-config"], None);
    assert!(!out.status.success());
    let err = crate::support::helpers::stderr(&out);
    for key in [
        "webhook[0].url",
        "webhook[0].secret",
        "webhook[0].events[0]",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }

    cli.write(
        "config/ticketgate.toml",
        b"[[webhook]]\nname = \"chat\"\nurl = \"https://hooks.example/t\"\nsecret_env = \"TEST_UNSET_WEBHOOK_SECRET\"\nevents = [\"ticket_opened\"]\n",
    );
    let out = cli.run(&["check-config"], None);
    assert!(!out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("webhook chat → hooks.example (https)"));
    let err = crate::support::helpers::stderr(&out);
    assert!(
        err.contains(
            "webhook[0].secret_env: the environment variable TEST_UNSET_WEBHOOK_SECRET is not set"
        ),
        "{err}"
    );
    // The SMS gateway's likewise.
    cli.write(
        "config/ticketgate.toml",
        b"[sms]\nwebhook = \"https://sms.example/send\"\nsecret_env = \"TEST_UNSET_SMS_SECRET\"\n",
    );
    let out = cli.run(&["check-config"], None);
    assert!(!out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("SMS gateway → sms.example (https)"));
    let err = crate::support::helpers::stderr(&out);
    assert!(
        err.contains("sms.secret_env: the environment variable TEST_UNSET_SMS_SECRET is not set"),
        "{err}"
    );
}

/// A webhook that hangs until its timeout holds up its own lane of the outbox, never the
/// mail: both acknowledgements go while its first POST is still unanswered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_webhook_does_not_hold_up_the_mail() {
    let receiver = Arc::new(Receiver::default());
    let port = start_receiver(receiver.clone()).await;
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    // A POST in flight is finished at the stop, so its timeout stays under the 5 s the
    // stop is given; the mail goes well within it.
    let config = format!(
        "[mail]\naddresses = [\"support@ours.test\"]\n[http]\nlisten = \"\"\n\
         [[webhook]]\nname = \"hangs\"\nurl = \"http://127.0.0.1:{port}/hook/hangs\"\n\
         secret = \"{SECRET}\"\ntimeout_secs = 3\nevents = [\"ticket_opened\"]\n"
    );
    cli.write("config/ticketgate.toml", config.as_bytes());
    let inbox = cli.dir.path().join("data/inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    // The first mail's webhook row comes before the second mail's acknowledgement.
    for (i, who) in ["alice", "bob"].iter().enumerate() {
        let mail = format!(
            "From: {who}@acme.example\r\nTo: support@ours.test\r\nSubject: Help {i}\r\n\
             Message-ID: <lane-{i}@acme.example>\r\n\r\nPlease help.\r\n"
        );
        std::fs::write(inbox.join(format!("new/{i}.host")), mail).unwrap();
    }
    let daemon = start(&cli, &[]);
    let sent_mail = |cli: &Cli| {
        let out = cli.run(&["outbox", "list", "--json"], None);
        let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap_or_default();
        rows
    };
    let mut rows = Vec::new();
    wait_until("both acknowledgements", Duration::from_secs(20), || {
        rows = sent_mail(&cli);
        rows.iter()
            .filter(|r| r["channel"] == "email" && r["status"] == "sent")
            .count()
            == 2
    })
    .await;
    // The first mail's webhook row: claimed before the second mail's acknowledgement.
    let hanging = rows
        .iter()
        .filter(|r| r["channel"] == "webhook")
        .min_by_key(|r| r["id"].as_i64())
        .unwrap_or_else(|| panic!("no webhook row in {rows:#?}"));
    assert_eq!(
        hanging["status"], "sending",
        "the mail went while the webhook's POST was unanswered: {rows:#?}"
    );
    assert!(!receiver.on("hangs").is_empty(), "its POST was made");
    stop(&cli, daemon);
}
