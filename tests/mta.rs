//! A real MTA in front, as docs/mta.md sets it up: Debian's Exim, on a loopback port, pipes
//! the mail it receives over SMTP into `ticketgate ingest`. A mail becomes one ticket; a
//! mail that cannot be stored is deferred (exit 75) and delivered exactly once by a later
//! queue run; a quarantined mail is accepted silently or bounced to its envelope sender,
//! as `--on-quarantine` says. The subject is the MTA and the exit status, not the
//! database: this runs on SQLite only.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::support::exim::{
    CUSTOMER_DOMAIN, Exim, ROUTER, SUPPORT, TRANSPORT, documented, exim_binary,
};
use crate::support::helpers::stderr;
use crate::support::{postgres, require};

fn mail(id: &str, from: Option<&str>, subject: &str) -> Vec<u8> {
    let from = from.map(|f| format!("From: {f}\r\n")).unwrap_or_default();
    format!(
        "{from}To: {SUPPORT}\r\nSubject: {subject}\r\nMessage-ID: <{id}@{CUSTOMER_DOMAIN}>\r\n\
         Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\nThe printer on floor {id} is down.\r\n"
    )
    .into_bytes()
}

fn alice() -> String {
    format!("alice@{CUSTOMER_DOMAIN}")
}

/// How many tickets the ticketgate behind `exim` holds.
fn tickets(exim: &Exim) -> usize {
    let out = exim.ticketgate(&["tickets", "list", "--limit", "0", "--json"]);
    assert!(out.status.success(), "tickets list: {}", stderr(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array().unwrap().len()
}

/// How many messages its quarantine holds.
fn quarantined(exim: &Exim) -> usize {
    let out = exim.ticketgate(&["quarantine", "list", "--json"]);
    assert!(out.status.success(), "quarantine list: {}", stderr(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array().unwrap().len()
}

#[test]
fn exim_delivers_defers_and_bounces_through_the_pipe_as_documented() {
    if postgres::server().is_some() {
        return;
    }
    let Some(mut exim) = Exim::start("accept") else {
        return;
    };
    let from = alice();

    // Delivered: one ticket.
    exim.send(&from, SUPPORT, &mail("m1", Some(&from), "Printer down"));
    exim.queue_run();
    assert_eq!(exim.deliveries(), 1, "{}", exim.log());
    assert_eq!(tickets(&exim), 1);
    assert_eq!(exim.queued(), 0);

    // The store unavailable: ingest exits 75, Exim keeps the mail. Once the store is back,
    // a queue run delivers it, once.
    let data = exim.data_dir();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o000)).unwrap();
    exim.send(&from, SUPPORT, &mail("m2", Some(&from), "Scanner down"));
    exim.queue_run();
    let log = exim.log();
    assert!(
        log.contains("defer") && log.contains("returned 75"),
        "no deferral:\n{log}"
    );
    assert_eq!(exim.queued(), 1);
    assert_eq!(exim.deliveries(), 1);
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    exim.queue_run();
    exim.queue_run();
    assert_eq!(exim.deliveries(), 2, "{}", exim.log());
    assert_eq!(exim.queued(), 0);
    assert_eq!(tickets(&exim), 2);

    // Quarantined (no From: nobody to answer) with `accept`: delivered, nobody told.
    exim.send(&from, SUPPORT, &mail("m3", None, "No sender here"));
    exim.queue_run();
    exim.queue_run();
    assert_eq!(exim.deliveries(), 3, "{}", exim.log());
    assert_eq!(quarantined(&exim), 1);
    assert_eq!(exim.sender_mbox(), "", "accept sends no bounce");

    // The same with `bounce`: Exim fails the delivery and returns the mail to its
    // envelope sender with ticketgate's short reason, and nothing of the pipeline's.
    exim.set_policy("bounce");
    exim.send(&from, SUPPORT, &mail("m4", None, "No sender again"));
    exim.queue_run();
    exim.queue_run();
    let log = exim.log();
    assert!(log.contains(&format!("** {SUPPORT}")), "not failed:\n{log}");
    assert_eq!(exim.deliveries(), 3, "{log}");
    assert_eq!(quarantined(&exim), 2, "the bounced mail is kept too");
    let bounce = exim.sender_mbox();
    let text = bounce
        .split("Content-type: message/delivery-status")
        .next()
        .unwrap();
    assert!(text.contains(&format!("To: {from}")), "{bounce}");
    assert!(
        text.contains(
            "ticketgate: message not accepted: it could not be taken as a support request"
        ),
        "{bounce}"
    );
    let data = data.display().to_string();
    for internal in ["quarantine id", "From: absent", "WARN", &data] {
        assert!(!text.contains(internal), "{internal:?} told:\n{text}");
    }
    assert_eq!(exim.queued(), 0);
    assert_eq!(tickets(&exim), 2);
}

/// Debian's own configuration, split into `conf.d` as docs/mta.md says: the guide's router,
/// transport and size macro in the files it names, the domain in `dc_other_hostnames`,
/// generated with `update-exim4.conf` from a copy of `/etc/exim4`'s. An SMTP session
/// checked by Exim (`-bh`, nothing delivered) accepts the address and refuses any other
/// of the domain.
#[test]
fn debians_split_configuration_takes_the_documented_router_and_transport() {
    if postgres::server().is_some() {
        return;
    }
    let update = Path::new("/usr/sbin/update-exim4.conf");
    let Some(exim) = exim_binary().filter(|_| update.exists()) else {
        require::missing(
            "Exim with Debian's configuration (/usr/sbin/exim4, update-exim4.conf)",
            "apt-get install exim4-daemon-light, or run scripts/test.sh",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // What update-exim4.conf reads (not passwd.client, which only root and Exim may).
    let etc = dir.path().join("exim4");
    std::fs::create_dir(&etc).unwrap();
    let copied = Command::new("cp")
        .arg("-r")
        .arg("/etc/exim4/conf.d")
        .arg("/etc/exim4/update-exim4.conf.conf")
        .arg(&etc)
        .status()
        .unwrap();
    assert!(copied.success());
    let settings = etc.join("update-exim4.conf.conf");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str("dc_use_split_config='true'\ndc_other_hostnames='help.example.com'\n");
    std::fs::write(&settings, text).unwrap();
    let conf_d = etc.join("conf.d");
    let transport = documented(TRANSPORT)
        .replace("user = ticketgate", "user = nobody")
        .replace("group = ticketgate", "group = nogroup");
    for (file, text) in [
        ("router/350_local_ticketgate", documented(ROUTER)),
        ("transport/30_local_ticketgate", transport),
        (
            "main/00_local_macros",
            documented("MESSAGE_SIZE_LIMIT = 49M"),
        ),
    ] {
        std::fs::write(conf_d.join(file), text).unwrap();
    }
    let generated = dir.path().join("exim4.conf");
    let out = Command::new(update)
        .arg("-d")
        .arg(&etc)
        .arg("-o")
        .arg(&generated)
        .output()
        .unwrap();
    assert!(out.status.success(), "update-exim4.conf: {out:?}");

    let session = "EHLO client.test\r\nMAIL FROM:<alice@customer.example>\r\n\
                   RCPT TO:<support@help.example.com>\r\nRCPT TO:<nobody-here@help.example.com>\r\nQUIT\r\n";
    let answers = exim_with(&exim, &generated, &["-bh", "192.0.2.1"], session);
    let rcpt: Vec<&str> = answers
        .lines()
        .filter(|l| l.starts_with("250 Accepted") || l.starts_with("550"))
        .collect();
    assert_eq!(
        rcpt,
        ["250 Accepted", "550 Unrouteable address"],
        "{answers}"
    );
    let route = exim_with(&exim, &generated, &["-bt", "support@help.example.com"], "");
    assert!(
        route.contains("router = ticketgate, transport = ticketgate_pipe"),
        "{route}"
    );
    let limit = exim_with(&exim, &generated, &["-bP", "message_size_limit"], "");
    assert_eq!(limit.trim(), "message_size_limit = 49M");
}

/// Exim on configuration `config` with `args`, `input` on standard input; its standard
/// output.
fn exim_with(exim: &Path, config: &Path, args: &[&str], input: &str) -> String {
    let mut cmd = Command::new(exim);
    cmd.arg("-C").arg(config).args(args);
    let out = crate::support::helpers::run_command(cmd, Some(input.as_bytes()));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
