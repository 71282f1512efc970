//! The customer portal of `ticketgate run`, over real HTTP against the real daemon: the
//! direct link of a real notification opens its ticket in a session (the token leaves the
//! address), the page shows the ticket and its public history only, a session sees only
//! what its address may see, and every bad link or request gets a clear 4xx page with the
//! guards every response carries. On SQLite and, in the PostgreSQL pass, on PostgreSQL.

use std::time::Duration;

use chrono::Utc;
use ticketgate::signing::LinkSigner;

use crate::daemon::{Daemon, start, stop, wait_for};
use crate::support::helpers::{Cli, HTTP_LISTEN_ENV, fixture, stdout};
use crate::support::http::{Answer, get, request};

/// A configured company, links under the default base URL.
const CONFIG: &str = "[mail]\naddresses = [\"support@ours.test\"]\nagents_address = \"agents@ours.test\"\n\
    [notifications]\ncompany = \"Acme Support\"\n";

/// A daemon with its portal on a port of its own, and that port.
pub(crate) struct Portal {
    pub(crate) cli: Cli,
    daemon: Option<Daemon>,
    pub(crate) port: u16,
}

impl Portal {
    /// Starts the daemon on `cli` and waits for its portal.
    pub(crate) fn start(cli: Cli) -> Portal {
        let daemon = start(&cli, &[]);
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
        Portal {
            cli,
            daemon: Some(daemon),
            port,
        }
    }

    pub(crate) fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        get(self.port, path, headers)
    }

    /// Posts `fields` as a form from this site's own page, with `cookie`.
    pub(crate) fn post(&self, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Answer {
        let origin = format!("http://127.0.0.1:{}", self.port);
        self.post_from(path, cookie, fields, &origin)
    }

    /// Posts a comment's multipart form (`fields`, then `files` as name and content) from
    /// `origin`.
    fn post_comment(
        &self,
        path: &str,
        cookie: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
        origin: &str,
    ) -> Answer {
        let boundary = "----ticketgate-test-boundary";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (filename, content) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{filename}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        request(
            self.port,
            "POST",
            path,
            &[
                ("Cookie", cookie),
                ("Origin", origin),
                ("Content-Type", &content_type),
            ],
            &body,
        )
    }

    /// A comment from this site's own page.
    fn comment(
        &self,
        path: &str,
        cookie: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
    ) -> Answer {
        let origin = format!("http://127.0.0.1:{}", self.port);
        self.post_comment(path, cookie, fields, files, &origin)
    }

    /// Posts `fields` as a form sent by a page of `origin`.
    pub(crate) fn post_from(
        &self,
        path: &str,
        cookie: &str,
        fields: &[(&str, &str)],
        origin: &str,
    ) -> Answer {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        request(
            self.port,
            "POST",
            path,
            &[
                ("Cookie", cookie),
                ("Origin", origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.join("&").as_bytes(),
        )
    }

    /// Stops the daemon; its log.
    pub(crate) fn stop(mut self) -> String {
        stop(&self.cli, self.daemon.take().unwrap()).log
    }
}

/// A CLI in a fresh folder with the test configuration.
pub(crate) fn cli() -> Cli {
    cli_with("")
}

/// A CLI in a fresh folder with the test configuration and the tables of `more`.
pub(crate) fn cli_with(more: &str) -> Cli {
    let cli = Cli::new();
    std::fs::create_dir_all(cli.dir.path().join("config")).unwrap();
    std::fs::write(
        cli.dir.path().join("config/ticketgate.toml"),
        format!("{CONFIG}{more}"),
    )
    .unwrap();
    cli
}

/// Runs the binary with `args`, which must succeed; its standard output.
pub(crate) fn run_ok(cli: &Cli, args: &[&str]) -> String {
    let out = cli.run(args, None);
    assert!(out.status.success(), "{args:?}: {out:?}");
    stdout(&out)
}

/// The direct link the notifications in `links` gave `who`.
pub(crate) fn link_to(links: &[(String, String)], who: &str) -> String {
    links
        .iter()
        .find(|(to, _)| to == who)
        .map(|(_, link)| link.clone())
        .unwrap_or_else(|| panic!("no notification to {who} among {links:?}"))
}

/// Ingests `mail`; the ticket number.
pub(crate) fn ingest(cli: &Cli, mail: &[u8]) -> String {
    let out = cli.run(&["ingest"], Some(mail));
    assert!(out.status.success(), "{out:?}");
    stdout(&out).split_whitespace().last().unwrap().to_string()
}

/// Sends what is queued; the path and query of each direct link in the mails written to
/// `data/outbox/`, by recipient.
pub(crate) fn links(cli: &Cli) -> Vec<(String, String)> {
    run_ok(cli, &["outbox", "flush"]);
    let mut found = Vec::new();
    for entry in std::fs::read_dir(cli.dir.path().join("data/outbox")).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let to = mail
            .to()
            .unwrap()
            .first()
            .unwrap()
            .address()
            .unwrap()
            .to_string();
        let text = mail.body_text(0).unwrap().into_owned();
        let link = text
            .split_whitespace()
            .find(|w| w.starts_with("http://localhost:8080/tickets/"))
            .expect("a direct link in the mail")
            .trim_start_matches("http://localhost:8080")
            .to_string();
        found.push((to, link));
    }
    found
}

pub(crate) const ALICE: &[u8] =
    b"From: Alice Martin <alice@acme.example>\r\nTo: support@ours.test\r\n\
    Subject: Printer <b>jammed</b>\r\nMessage-ID: <p1@acme.example>\r\n\r\n\
    The printer is jammed.\r\n\r\n<script>alert(1)</script>\r\n";

pub(crate) const BOB: &[u8] = b"From: bob@other.example\r\nTo: support@ours.test\r\n\
    Subject: VPN down\r\nMessage-ID: <p2@other.example>\r\n\r\nThe VPN is down.\r\n";

/// The session cookie an answer sets, as a `Cookie` header value.
pub(crate) fn session(answer: &Answer) -> String {
    let set = answer.header("set-cookie").expect("a session cookie");
    set.split(';').next().unwrap().to_string()
}

pub(crate) fn assert_guarded(answer: &Answer, what: &str) {
    let csp = answer.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{what}: {answer:?}"
    );
    assert_eq!(
        answer.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(
        answer.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
}

#[test]
fn a_direct_link_opens_its_ticket_in_a_session_without_the_token() {
    let cli = cli();
    let n = ingest(&cli, ALICE);
    run_ok(
        &cli,
        &[
            "tickets",
            "comment",
            &n,
            "--internal",
            "--body",
            "Internal: customer is grumpy",
        ],
    );
    let links = links(&cli);
    let link = &link_to(&links, "alice@acme.example");
    let portal = Portal::start(cli);

    let opened = portal.get(link, &[]);
    assert_eq!(opened.status, 303, "{opened:?}");
    assert_eq!(
        opened.header("location"),
        Some(format!("/tickets/{n}").as_str())
    );
    let cookie = opened.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("tg_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "plain http here, so no Secure: {cookie}"
    );
    assert_guarded(&opened, "the redirect");

    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", &session(&opened))]);
    assert_eq!(page.status, 200, "{page:?}");
    assert_guarded(&page, "the ticket page");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    for shown in [
        "Printer &lt;b&gt;jammed&lt;/b&gt;",
        &format!("Ticket {n}"),
        "Alice Martin &lt;alice@acme.example&gt;",
        "The printer is jammed.",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "Acme Support",
        "Requester",
    ] {
        assert!(page.body.contains(shown), "{shown:?} not in {}", page.body);
    }
    assert!(
        !page.body.contains("<script"),
        "nothing a customer wrote is markup"
    );
    assert!(
        !page.body.contains("grumpy"),
        "internal notes are never shown"
    );

    let fr = portal.get(
        &format!("/tickets/{n}"),
        &[
            ("Cookie", &session(&opened)),
            ("Accept-Language", "fr-FR,fr;q=0.9"),
        ],
    );
    assert!(
        fr.body.contains("Demandeur") && fr.body.contains("lang=\"fr\""),
        "{}",
        fr.body
    );

    let log = portal.stop();
    let token = link.split("token=").nth(1).unwrap();
    let cookie_value = session(&opened).split('=').nth(1).unwrap().to_string();
    assert!(
        !log.contains(token) && !log.contains(&cookie_value),
        "{log}"
    );
}

#[test]
fn a_session_sees_only_what_its_address_may_see() {
    let cli = cli();
    let alice_ticket = ingest(&cli, ALICE);
    let bob_ticket = ingest(&cli, BOB);
    let links = links(&cli);
    let link = &link_to(&links, "alice@acme.example");
    let portal = Portal::start(cli);
    let alice = session(&portal.get(link, &[]));

    let own = portal.get(&format!("/tickets/{alice_ticket}"), &[("Cookie", &alice)]);
    assert_eq!(own.status, 200);
    // Bob's ticket is exactly as absent as one that does not exist.
    let other = portal.get(&format!("/tickets/{bob_ticket}"), &[("Cookie", &alice)]);
    let missing = portal.get("/tickets/2612N99999", &[("Cookie", &alice)]);
    let nonsense = portal.get("/tickets/..%2F..%2Fetc", &[("Cookie", &alice)]);
    for answer in [&other, &missing, &nonsense] {
        assert_eq!(answer.status, 404, "{answer:?}");
        assert_eq!(answer.body, other.body);
        assert_guarded(answer, "a ticket not hers");
    }
    assert!(other.body.contains("Page not found"), "{}", other.body);
    // Alice's link opens her ticket only.
    let token = link.split("token=").nth(1).unwrap();
    let borrowed = portal.get(&format!("/tickets/{bob_ticket}?token={token}"), &[]);
    assert_eq!(borrowed.status, 403, "{borrowed:?}");
    assert!(borrowed.header("set-cookie").is_none());
    portal.stop();
}

#[test]
fn bad_links_and_bad_requests_get_clear_pages_never_a_500() {
    let cli = cli();
    let n = ingest(&cli, ALICE);
    let links = links(&cli);
    let link = &link_to(&links, "alice@acme.example");
    // A link signed 60 days ago with the install's own key: genuine, but expired.
    let key = std::fs::read(cli.dir.path().join("data/link-secret")).unwrap();
    let signer =
        LinkSigner::new(&key, "http://localhost:8080", chrono::Duration::days(30)).unwrap();
    let old = signer.link(
        &n.parse().unwrap(),
        &ticketgate::domain::EmailAddress::parse("alice@acme.example").unwrap(),
        Utc::now() - chrono::Duration::days(60),
    );
    let portal = Portal::start(cli);

    let altered = link.replace("token=", "token=x");
    let cases: Vec<(Answer, u16, &str)> = vec![
        (portal.get(&altered, &[]), 403, "This link cannot be opened"),
        (
            portal.get(old.trim_start_matches("http://localhost:8080"), &[]),
            410,
            "This link has expired",
        ),
        (
            portal.get(&format!("/tickets/{n}"), &[]),
            401,
            "Open the link in one of our emails",
        ),
        (
            portal.get(&format!("/tickets/{n}"), &[("Cookie", "tg_session=1.2.3")]),
            401,
            "Open the link in one of our emails",
        ),
        (portal.get("/wp-admin", &[]), 404, "Page not found"),
        (
            portal.get(&format!("{link}&token=again"), &[]),
            403,
            "This link cannot be opened",
        ),
        (
            portal.get("/tickets?status=a&status=b", &[]),
            400,
            "This form cannot be read",
        ),
        (
            request(portal.port, "POST", &format!("/tickets/{n}"), &[], b"x=1"),
            405,
            "Not possible here",
        ),
        (
            portal.get(&altered, &[("Accept-Language", "fr")]),
            403,
            "Ce lien ne peut pas être ouvert",
        ),
    ];
    for (answer, status, words) in &cases {
        assert_eq!(answer.status, *status, "{words}: {answer:?}");
        assert!(answer.body.contains(words), "{words}: {}", answer.body);
        assert!(answer.header("set-cookie").is_none(), "{words}");
        assert_guarded(answer, words);
    }
    let css = portal.get("/static/portal.css", &[]);
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    let log = portal.stop();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_port_in_use_is_a_clear_start_up_error_and_an_empty_listen_turns_it_off() {
    let cli = cli();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = cli.run_with(
        {
            let mut cmd = cli.command(&["run"]);
            cmd.env(HTTP_LISTEN_ENV, &address);
            cmd
        },
        None,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen on {address} ([http] listen)")),
        "{err}"
    );
    let checked = stdout(&cli.run(&["check-config"], None));
    assert!(
        checked.contains(
            "http.listen = 127.0.0.1:0: the portal answers the links, sessions last 7 days"
        ),
        "{checked}"
    );
    let mut off = cli.command(&["check-config"]);
    off.env(HTTP_LISTEN_ENV, "");
    let checked = stdout(&cli.run_with(off, None));
    assert!(
        checked.contains("http.listen is empty: no portal"),
        "{checked}"
    );
    // Off: the daemon runs and mail still flows, with no portal.
    let daemon = start(&cli, &[(HTTP_LISTEN_ENV, "")]);
    let inbox = cli.dir.path().join("data/inbox");
    wait_for("the inbox", Duration::from_secs(20), || {
        inbox.join("new").is_dir()
    });
    crate::daemon::deliver(&inbox, "1.host", &fixture("new_ticket.eml", None));
    wait_for("the mail to be handled", Duration::from_secs(20), || {
        std::fs::read_dir(inbox.join("cur"))
            .map(|d| d.count())
            .unwrap_or(0)
            == 1
    });
    let stopped = stop(&cli, daemon);
    assert!(stopped.status.success());
    assert!(!stopped.log.contains("portal listening"), "{}", stopped.log);
}

/// `text` as a value of an `application/x-www-form-urlencoded` body.
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The form token in a ticket page.
pub(crate) fn form_token(page: &Answer) -> String {
    page.body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form token in the page")
        .to_string()
}

/// The ticket as the CLI shows it.
pub(crate) fn shown(cli: &Cli, n: &str) -> String {
    run_ok(cli, &["tickets", "show", n])
}

#[test]
fn a_customer_writes_and_answers_the_solution_from_the_page() {
    let cli = cli();
    let n = ingest(&cli, ALICE);
    let links = links(&cli);
    let link = &link_to(&links, "alice@acme.example");
    let portal = Portal::start(cli);
    let alice = session(&portal.get(link, &[]));
    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", &alice)]);
    let csrf = form_token(&page);
    assert!(page.body.contains("Add a message") && !page.body.contains("Approve the solution"));

    // Refused, each writing nothing: no token, another token, another site's page.
    let path = format!("/tickets/{n}/comment");
    let before = shown(&portal.cli, &n);
    let no_token = portal.comment(&path, &alice, &[("body", "x")], &[]);
    let wrong_token = portal.comment(&path, &alice, &[("csrf", "AAAA"), ("body", "x")], &[]);
    let elsewhere = portal.post_comment(
        &path,
        &alice,
        &[("csrf", &csrf), ("body", "x")],
        &[],
        "https://evil.example",
    );
    let empty = portal.comment(&path, &alice, &[("csrf", &csrf), ("body", "  ")], &[]);
    let urlencoded = portal.post(&path, &alice, &[("csrf", &csrf), ("body", "x")]);
    for (answer, status) in [
        (&no_token, 403),
        (&urlencoded, 400),
        (&wrong_token, 403),
        (&elsewhere, 403),
        (&empty, 400),
    ] {
        assert_eq!(answer.status, status, "{answer:?}");
        assert_guarded(answer, "a refused form");
    }
    assert!(
        wrong_token.body.contains("Form refused"),
        "{}",
        wrong_token.body
    );
    assert_eq!(shown(&portal.cli, &n), before, "nothing written");

    // A message from the page: a comment of Alice's, the agents told.
    let sent = portal.comment(
        &path,
        &alice,
        &[("csrf", &csrf), ("body", "Still jammed.\nTray 2 now.")],
        &[],
    );
    assert_eq!(sent.status, 303, "{sent:?}");
    assert_eq!(
        sent.header("location"),
        Some(format!("/tickets/{n}").as_str())
    );
    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", &alice)]);
    assert!(page.body.contains("Still jammed.<br>"), "{}", page.body);
    assert!(
        !page.body.contains("<strong>alice@acme.example</strong>"),
        "her message from the page goes by her name: {}",
        page.body
    );
    let outbox = stdout(&portal.cli.run(&["outbox", "list"], None));
    assert!(
        outbox
            .lines()
            .any(|l| l.contains("customer_comment") && l.contains("agents@ours.test")),
        "{outbox}"
    );

    // The team proposes a solution; Alice approves it from the page: the ticket closes.
    run_ok(
        &portal.cli,
        &[
            "tickets",
            "resolve",
            &n,
            "--solution",
            "We replaced the roller.",
        ],
    );
    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", &alice)]);
    assert!(page.body.contains("Approve the solution"), "{}", page.body);
    let approve = format!("/tickets/{n}/approve");
    let approved = portal.post(&approve, &alice, &[("csrf", &csrf)]);
    assert_eq!(approved.status, 303, "{approved:?}");
    assert!(shown(&portal.cli, &n).contains("status closed"));
    // Twice: it says what happened and changes nothing; a closed ticket takes no message.
    let again = portal.post(&approve, &alice, &[("csrf", &csrf)]);
    assert_eq!(again.status, 409, "{again:?}");
    assert!(again.body.contains("Already answered"), "{}", again.body);
    let late = portal.comment(&path, &alice, &[("csrf", &csrf), ("body", "Thanks")], &[]);
    assert_eq!(late.status, 409, "{late:?}");
    assert!(late.body.contains("This ticket is closed"), "{}", late.body);
    portal.stop();
}

#[test]
fn only_the_requester_refuses_a_solution_and_says_why() {
    let cli = cli();
    let n = ingest(
        &cli,
        b"From: Alice Martin <alice@acme.example>\r\nTo: support@ours.test\r\n\
          Cc: Marc Petit <marc@acme.example>\r\nSubject: Screen\r\n\
          Message-ID: <s1@acme.example>\r\n\r\nThe screen flickers.\r\n",
    );
    run_ok(
        &cli,
        &["tickets", "resolve", &n, "--solution", "New cable."],
    );
    let links = links(&cli);
    let portal = Portal::start(cli);
    let refuse = format!("/tickets/{n}/refuse");

    // Marc, in copy, sees the ticket but cannot answer for Alice.
    let marc = session(&portal.get(&link_to(&links, "marc@acme.example"), &[]));
    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", &marc)]);
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Refuse the solution"), "{}", page.body);
    let csrf = form_token(&page);
    let denied = portal.post(&refuse, &marc, &[("csrf", &csrf), ("body", "No.")]);
    assert_eq!(denied.status, 403, "{denied:?}");
    assert!(
        denied.body.contains("Only for the requester"),
        "{}",
        denied.body
    );

    let alice = session(&portal.get(&link_to(&links, "alice@acme.example"), &[]));
    let csrf = form_token(&portal.get(&format!("/tickets/{n}"), &[("Cookie", &alice)]));
    let wordless = portal.post(&refuse, &alice, &[("csrf", &csrf), ("body", "")]);
    assert_eq!(wordless.status, 400, "{wordless:?}");
    assert!(shown(&portal.cli, &n).contains("status resolved"));
    let refused = portal.post(
        &refuse,
        &alice,
        &[("csrf", &csrf), ("body", "It still flickers.")],
    );
    assert_eq!(refused.status, 303, "{refused:?}");
    let after = shown(&portal.cli, &n);
    assert!(
        after.contains("status in_progress") && after.contains("It still flickers."),
        "{after}"
    );
    portal.stop();
}

/// Every direct link in the `event` mails written to `data/outbox/`. A running daemon may
/// be writing one meanwhile: its temporary file (`.tmp-…`, renamed once whole) is not a
/// mail yet.
pub(crate) fn links_of_event(cli: &Cli, event: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(cli.dir.path().join("data/outbox")) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        let Ok(raw) = std::fs::read(&path) else {
            continue;
        };
        let mail = mail_parser::MessageParser::default().parse(&raw).unwrap();
        if mail.header_raw("X-Ticketgate-Event").map(str::trim) != Some(event) {
            continue;
        }
        let text = mail.body_text(0).unwrap().into_owned();
        found.extend(
            text.split_whitespace()
                .filter(|w| w.starts_with("http://localhost:8080/tickets/"))
                .map(|w| w.trim_start_matches("http://localhost:8080").to_string()),
        );
    }
    found
}

#[test]
fn the_solution_mail_s_links_ask_before_anything_changes() {
    let cli = cli();
    let n = ingest(&cli, ALICE);
    run_ok(
        &cli,
        &[
            "tickets",
            "resolve",
            &n,
            "--solution",
            "We replaced the roller.",
        ],
    );
    links(&cli);
    let links = links_of_event(&cli, "solution_proposed");
    let approve = links
        .iter()
        .find(|l| l.contains("/approve?token="))
        .expect("an approve link");
    let refuse = links
        .iter()
        .find(|l| l.contains("/refuse?token="))
        .expect("a refuse link");
    let portal = Portal::start(cli);

    // What a mail scanner does: follow every link, with no cookie kept. Nothing changes.
    for link in [approve, refuse] {
        let followed = portal.get(link, &[]);
        assert_eq!(followed.status, 303, "{followed:?}");
        let next = followed.header("location").unwrap().to_string();
        assert!(!next.contains("token"), "{next}");
        let page = portal.get(&next, &[("Cookie", &session(&followed))]);
        assert_eq!(page.status, 200, "{page:?}");
        assert!(
            page.body.contains("We replaced the roller."),
            "{}",
            page.body
        );
        assert_guarded(&page, "a confirmation page");
    }
    assert!(
        shown(&portal.cli, &n).contains("status resolved"),
        "a GET changes nothing"
    );

    // The customer confirms: the ticket closes.
    let opened = portal.get(approve, &[]);
    let alice = session(&opened);
    let confirm = portal.get(opened.header("location").unwrap(), &[("Cookie", &alice)]);
    assert!(
        confirm.body.contains("Approve the solution?"),
        "{}",
        confirm.body
    );
    let done = portal.post(
        &format!("/tickets/{n}/approve"),
        &alice,
        &[("csrf", &form_token(&confirm))],
    );
    assert_eq!(done.status, 303, "{done:?}");
    assert!(shown(&portal.cli, &n).contains("status closed"));

    // The link again, later: it says what already happened and offers nothing to do.
    let again = portal.get(approve, &[]);
    let page = portal.get(
        again.header("location").unwrap(),
        &[("Cookie", &session(&again))],
    );
    assert_eq!(page.status, 409, "{page:?}");
    assert!(
        page.body.contains("Already answered") && !page.body.contains("<form"),
        "{}",
        page.body
    );
    portal.stop();
}

#[test]
fn files_of_public_messages_download_and_never_show_in_place() {
    let cli = cli();
    let n = ingest(
        &cli,
        &crate::pipeline_rules::mail_with_attachment("f1@acme.example", 3000),
    );
    let secret = cli.dir.path().join("notes.html");
    std::fs::write(&secret, "<script>alert('internal')</script>").unwrap();
    run_ok(
        &cli,
        &[
            "tickets",
            "comment",
            &n,
            "--internal",
            "--body",
            "For us",
            "--attach",
            secret.to_str().unwrap(),
        ],
    );
    let bob_ticket = ingest(&cli, BOB);
    let links = links(&cli);
    let sha_of = |name: &str| {
        let shown = shown(&cli, &n);
        let line = shown
            .lines()
            .find(|l| l.contains(name))
            .unwrap()
            .to_string();
        line.split_whitespace()
            .find(|w| w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit()))
            .unwrap_or_else(|| panic!("no digest in {line:?}"))
            .to_string()
    };
    let (log_sha, note_sha) = (sha_of("crash.log"), sha_of("notes.html"));
    let portal = Portal::start(cli);
    let alice = session(&portal.get(&link_to(&links, "alice@acme.example"), &[]));

    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", &alice)]);
    assert!(
        page.body
            .contains(&format!("href=\"/tickets/{n}/files/{log_sha}\"")),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("notes.html"),
        "an internal note's file is not listed"
    );
    let file = portal.get(
        &format!("/tickets/{n}/files/{log_sha}"),
        &[("Cookie", &alice)],
    );
    assert_eq!(file.status, 200, "{file:?}");
    assert_eq!(
        file.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        file.header("content-disposition"),
        Some("attachment; filename=\"crash.log\"; filename*=UTF-8''crash.log")
    );
    assert_eq!(file.header("x-content-type-options"), Some("nosniff"));
    let sent: Vec<u8> = (0..3000).map(|i| (i * 7 % 251) as u8).collect();
    assert_eq!(file.bytes, sent, "the file as it was received");
    // The internal note's file, a made-up digest, and Bob with Alice's file: not found.
    let bob = session(&portal.get(&link_to(&links, "bob@other.example"), &[]));
    for (path, cookie) in [
        (format!("/tickets/{n}/files/{note_sha}"), &alice),
        (format!("/tickets/{n}/files/{}", "0".repeat(64)), &alice),
        (format!("/tickets/{n}/files/{log_sha}"), &bob),
        (format!("/tickets/{bob_ticket}/files/{log_sha}"), &bob),
    ] {
        let answer = portal.get(&path, &[("Cookie", cookie)]);
        assert_eq!(answer.status, 404, "{path}: {answer:?}");
    }
    portal.stop();
}

#[test]
fn a_person_lists_their_tickets_their_organisation_s_and_those_they_follow() {
    let cli = cli();
    let mail = |from: &str, cc: &str, subject: &str, id: &str| {
        format!(
            "From: {from}\r\nTo: support@ours.test\r\n{cc}Subject: {subject}\r\n\
             Message-ID: <{id}@test>\r\n\r\nDetails.\r\n"
        )
        .into_bytes()
    };
    let printer = ingest(
        &cli,
        &mail("alice@acme.example", "", "Printer jammed", "l1"),
    );
    let screen = ingest(
        &cli,
        &mail("alice@acme.example", "", "Screen flickers", "l2"),
    );
    let shared = ingest(
        &cli,
        &mail("carol@acme.example", "", "Shared drive full", "l3"),
    );
    let private = ingest(
        &cli,
        &mail("carol@acme.example", "", "My salary slip", "l4"),
    );
    let followed = ingest(
        &cli,
        &mail(
            "dan@gmail.com",
            "Cc: alice@acme.example\r\n",
            "Printer in lobby",
            "l5",
        ),
    );
    let foreign = ingest(&cli, &mail("bob@other.example", "", "VPN down", "l6"));
    run_ok(&cli, &["tickets", "set", &private, "--private", "true"]);
    run_ok(&cli, &["tickets", "close", &screen]);
    let links = links(&cli);
    let link = &link_to(&links, "alice@acme.example");
    let portal = Portal::start(cli);
    let alice = session(&portal.get(link, &[]));
    let list = |query: &str| {
        let answer = portal.get(&format!("/tickets{query}"), &[("Cookie", &alice)]);
        assert_eq!(answer.status, 200, "{query}: {answer:?}");
        assert_guarded(&answer, "the list");
        answer.body
    };
    let listed = |body: &str, n: &str| body.contains(&format!("href=\"/tickets/{n}\""));

    let all = list("");
    for n in [&printer, &screen, &shared, &followed] {
        assert!(listed(&all, n), "{n} missing from {all}");
    }
    for n in [&private, &foreign] {
        assert!(!listed(&all, n), "{n} should not be listed: {all}");
    }
    let closed = list("?status=closed");
    assert!(
        listed(&closed, &screen) && !listed(&closed, &printer),
        "{closed}"
    );
    let open = list("?status=open");
    assert!(listed(&open, &printer) && !listed(&open, &screen), "{open}");
    let search = list("?q=PRINTER");
    assert!(
        listed(&search, &printer) && listed(&search, &followed) && !listed(&search, &shared),
        "{search}"
    );
    let by_number = list(&format!("?q={}", shared.to_lowercase()));
    assert!(
        listed(&by_number, &shared) && !listed(&by_number, &printer),
        "{by_number}"
    );
    let nothing = list("?q=%25");
    assert!(
        nothing.contains("No ticket matches."),
        "a % is a character, not a wildcard"
    );
    assert!(list("?status=bogus&page=99999999999").contains("Your tickets"));
    let fr = portal.get("/tickets", &[("Cookie", &alice), ("Accept-Language", "fr")]);
    assert!(fr.body.contains("Vos tickets"), "{}", fr.body);
    let anonymous = portal.get("/tickets", &[]);
    assert_eq!(anonymous.status, 401);
    portal.stop();
}

#[test]
fn a_message_from_the_page_carries_files_and_a_too_large_one_is_refused_with_its_reason() {
    let cli = cli();
    let n = ingest(&cli, ALICE);
    let links = links(&cli);
    let link = &link_to(&links, "alice@acme.example");
    let portal = Portal::start(cli);
    let alice = session(&portal.get(link, &[]));
    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", &alice)]);
    assert!(
        page.body.contains("enctype=\"multipart/form-data\""),
        "{}",
        page.body
    );
    let csrf = form_token(&page);
    let path = format!("/tickets/{n}/comment");

    let photo: Vec<u8> = (0..50_000).map(|i| (i % 253) as u8).collect();
    let video = vec![7_u8; 2 * 1024 * 1024 + 1];
    let sent = portal.comment(
        &path,
        &alice,
        &[("csrf", &csrf), ("body", "Photos of the jam.")],
        &[("../../etc/jam photo.jpg", &photo), ("jam.mov", &video)],
    );
    assert_eq!(sent.status, 303, "{sent:?}");
    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", &alice)]);
    assert!(
        page.body.contains("Photos of the jam."),
        "the message is kept: {}",
        page.body
    );
    assert!(
        page.body
            .contains("jam.mov (2.0 MB): not kept, 2.0 MB is over the 2.0 MB limit per file"),
        "{}",
        page.body
    );
    let href = page
        .body
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|h| h.contains("/files/"))
        .expect("the kept file's link")
        .to_string();
    assert!(
        !page.body.contains("../"),
        "the browser's name is never trusted: {}",
        page.body
    );
    let file = portal.get(&href, &[("Cookie", &alice)]);
    assert_eq!(file.bytes, photo);
    assert!(
        file.header("content-disposition")
            .unwrap()
            .contains("jam photo.jpg")
            || file
                .header("content-disposition")
                .unwrap()
                .contains("jam_photo.jpg"),
        "{file:?}"
    );

    // More than the portal takes at once: a page of its own, nothing written.
    let before = shown(&portal.cli, &n);
    let huge = vec![1_u8; 10 * 1024 * 1024];
    let refused = portal.comment(
        &path,
        &alice,
        &[("csrf", &csrf), ("body", "All of it")],
        &[("a.bin", &huge)],
    );
    assert_eq!(refused.status, 413, "{}", refused.body);
    assert!(
        refused.body.contains("Too much at once"),
        "{}",
        refused.body
    );
    assert_guarded(&refused, "a body over the limit");
    assert_eq!(shown(&portal.cli, &n), before);
    portal.stop();
}

#[test]
fn preferences_are_shown_and_saved_as_contacts_set_saves_them() {
    let cli = cli();
    ingest(&cli, ALICE);
    let links = links(&cli);
    let link = &link_to(&links, "alice@acme.example");
    let portal = Portal::start(cli);
    let alice = session(&portal.get(link, &[]));
    let page = portal.get("/preferences", &[("Cookie", &alice)]);
    assert_eq!(page.status, 200, "{page:?}");
    assert_guarded(&page, "the preferences");
    assert!(
        page.body
            .contains("id=\"messages\" name=\"messages\" value=\"on\" checked"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("name=\"phone\""),
        "no SMS offered without an [sms] gateway"
    );
    let csrf = form_token(&page);

    // Messages off, French: the CLI sees the same preferences, and the pages speak French.
    let saved = portal.post(
        "/preferences",
        &alice,
        &[
            ("csrf", &csrf),
            ("language", "fr"),
            ("opening_closing", "on"),
            ("processing", "on"),
        ],
    );
    assert_eq!(saved.status, 303, "{saved:?}");
    assert_eq!(saved.header("location"), Some("/preferences?saved=1"));
    let shown = stdout(
        &portal
            .cli
            .run(&["contacts", "show", "alice@acme.example"], None),
    );
    assert!(shown.contains("language fr"), "{shown}");
    assert!(
        shown.contains("messages off") || shown.contains("messages: off"),
        "{shown}"
    );
    let page = portal.get("/preferences?saved=1", &[("Cookie", &alice)]);
    assert!(
        page.body.contains("Vos préférences sont enregistrées.")
            && !page.body.contains("name=\"messages\" value=\"on\" checked"),
        "{}",
        page.body
    );

    // Refused, nothing saved: a language we do not have, another site's form, no token.
    for (answer, status) in [
        (
            portal.post(
                "/preferences",
                &alice,
                &[("csrf", &csrf), ("language", "de")],
            ),
            400,
        ),
        (
            portal.post_from(
                "/preferences",
                &alice,
                &[("csrf", &csrf), ("language", "en")],
                "https://evil.example",
            ),
            403,
        ),
        (
            portal.post(
                "/preferences",
                &alice,
                &[("csrf", "AAAA"), ("language", "en")],
            ),
            403,
        ),
    ] {
        assert_eq!(answer.status, status, "{answer:?}");
    }
    let again = stdout(
        &portal
            .cli
            .run(&["contacts", "show", "alice@acme.example"], None),
    );
    assert_eq!(again, shown);
    portal.stop();
}

#[test]
fn the_requester_shares_keeps_private_adds_someone_and_closes_from_the_page() {
    let cli = cli();
    let n = ingest(
        &cli,
        b"From: Alice Martin <alice@acme.example>\r\nTo: support@ours.test\r\n\
          Cc: Marc Petit <marc@acme.example>\r\nSubject: Badge reader\r\nMessage-ID: <sh1@acme.example>\r\n\r\n\
          The badge reader refuses my badge.\r\n",
    );
    let links = links(&cli);
    let portal = Portal::start(cli);
    let alice = session(&portal.get(&link_to(&links, "alice@acme.example"), &[]));
    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", &alice)]);
    assert!(
        page.body
            .contains("Your colleagues at acme.example can see this ticket"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Marc Petit &lt;marc@acme.example&gt;"),
        "the name his header gave: {}",
        page.body
    );
    let csrf = form_token(&page);
    let post = |what: &str, fields: &[(&str, &str)]| {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        portal.post(&format!("/tickets/{n}/{what}"), &alice, &all)
    };

    assert_eq!(post("private", &[("private", "yes")]).status, 303);
    assert!(
        shown(&portal.cli, &n).contains("private"),
        "{}",
        shown(&portal.cli, &n)
    );
    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", &alice)]);
    assert!(
        page.body.contains("Share it with acme.example"),
        "{}",
        page.body
    );
    assert_eq!(post("private", &[("private", "maybe")]).status, 400);

    assert_eq!(
        post("observers", &[("email", "Paul <paul@partner.example>")]).status,
        400
    );
    assert_eq!(
        post("observers", &[("email", "paul@partner.example")]).status,
        303
    );
    assert_eq!(
        post("observers", &[("email", "PAUL@partner.example")]).status,
        409
    );
    assert!(shown(&portal.cli, &n).contains("paul@partner.example"));

    // Marc, in copy, sees the ticket but decides nothing of it.
    let marc = session(&portal.get(&link_to(&links, "marc@acme.example"), &[]));
    let his = portal.get(&format!("/tickets/{n}"), &[("Cookie", &marc)]);
    assert!(!his.body.contains("Close my ticket"), "{}", his.body);
    let marc_csrf = form_token(&his);
    let closing = portal.post(
        &format!("/tickets/{n}/close"),
        &marc,
        &[("csrf", &marc_csrf)],
    );
    assert_eq!(closing.status, 403, "{closing:?}");

    assert_eq!(post("close", &[]).status, 303);
    assert!(shown(&portal.cli, &n).contains("status closed"));
    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", &alice)]);
    assert!(!page.body.contains("Close my ticket") && !page.body.contains("Add a message"));
    portal.stop();
}
