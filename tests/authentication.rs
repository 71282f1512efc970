//! Who really sent a mail: a From address is anyone's to write. An agent's command acts
//! only when the receiving mail server (trusted, topmost) or ticketgate's own DKIM check
//! authenticated the agent's domain; a requester's approval or refusal likewise; under
//! `customers = "require"` an unauthenticated customer writes on no ticket but their own.
//! DKIM is checked against keys the tests put in the DNS cache: no network.

use std::time::{Duration, Instant};

use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::{DnsError, Txt};
use ticketgate::config::{AgentPolicy, CustomerPolicy};
use ticketgate::domain::{Event, EventContext, RefusalReason, Status, TicketNumber};
use ticketgate::pipeline::authenticate::domain_key_record;
use ticketgate::pipeline::{IntakeDefaults, Outcome, ProcessError, Rejection};

use crate::daemon::{deliver, start, stop, wait_for};
use crate::imap::cli_with;
use crate::support::helpers::{Cli, TestEnv, authenticated, created, run_command, stderr, stdout};

/// Camille is an agent at support.example; the mail server mx.test is trusted.
const CONFIG: &str = "[mail]\naddresses = [\"help@support.example\"]\n\
    [[agent]]\nname = \"Camille\"\nemail = \"camille@support.example\"\n";

fn authentication(extra: &str) -> String {
    format!("{CONFIG}[authentication]\ntrusted_authserv_ids = [\"mx.test\"]\n{extra}")
}

/// A customer's ticket, waiting for nothing in particular.
async fn ticket(env: &TestEnv) -> TicketNumber {
    created(
        &env.process(
            b"From: Alice <alice@acme.example>\r\nTo: help@support.example\r\n\
              Subject: Printer\r\nMessage-ID: <open@acme.example>\r\n\r\nThe printer is down.\r\n",
        )
        .await,
    )
}

/// A mail on ticket `n` from `from`, its trace headers first.
fn on_ticket(trace: &str, from: &str, n: &TicketNumber, id: &str, body: &str) -> Vec<u8> {
    format!(
        "{trace}From: {from}\r\nTo: help@support.example\r\nSubject: Re: [#{n}] Printer\r\n\
         Message-ID: <{id}@example.test>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A mail of Camille's (or of whoever writes her address) on ticket `n`.
fn from_camille(trace: &str, n: &TicketNumber, id: &str, body: &str) -> Vec<u8> {
    on_ticket(trace, "camille@support.example", n, id, body)
}

async fn status(env: &TestEnv, n: &TicketNumber) -> Status {
    env.details(n).await.ticket.status
}

/// A forged agent's command: nothing happens to the ticket.
async fn assert_forgery_did_nothing(env: &TestEnv, n: &TicketNumber, outcome: Outcome) {
    assert!(
        matches!(outcome, Outcome::Created(_)),
        "a ticket of its own: {outcome:?}"
    );
    assert_eq!(status(env, n).await, Status::New);
    assert_eq!(
        env.details(n).await.articles.len(),
        1,
        "nothing written on it"
    );
}

#[tokio::test]
async fn a_forged_agent_cannot_close_or_resolve_a_ticket() {
    let env = TestEnv::with_config(CONFIG).await;
    let n = ticket(&env).await;
    for (id, command) in [("close", "#close"), ("resolve", "#resolve\nFixed.")] {
        let forged = from_camille("", &n, id, command);
        let explained = env.pipeline().explain(&forged).await.unwrap();
        let lines: Vec<String> = explained.steps.iter().map(|s| s.to_string()).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("authenticate:") && l.contains("not authenticated")),
            "{lines:#?}"
        );
        let outcome = env.process(&forged).await;
        assert_forgery_did_nothing(&env, &n, outcome.clone()).await;
        // The agents are told nothing was done: the only notice goes to the address that
        // wrote, saying its mail could not be authenticated.
        let own = created(&outcome);
        let queued = queued_events(&env, &own).await;
        assert_eq!(
            queued,
            [(Event::MailRefused, "camille@support.example".into())]
        );
        let refusal = refusal_of(&env, &own).await;
        assert_eq!(refusal, Some(RefusalReason::Unverified));
    }
}

#[tokio::test]
async fn the_topmost_trusted_result_decides_for_an_agent() {
    let env = TestEnv::with_config(&authentication("")).await;
    let n = ticket(&env).await;
    let forgeries = [
        // The sender's own "pass" under the server's "fail" counts for nothing.
        "Authentication-Results: mx.test; dmarc=fail header.from=support.example\r\n\
         Received: from relay.evil.example by mx.test\r\n\
         Authentication-Results: mx.test; dmarc=pass header.from=support.example\r\n",
        // A server nobody trusts says nothing.
        "Authentication-Results: mx.evil.example; dmarc=pass header.from=support.example\r\n",
        // A DKIM pass of another domain is not the agent's.
        "Authentication-Results: mx.test; dkim=pass header.d=evil.example\r\n",
        // Nor is DMARC's pass of another From domain.
        "Authentication-Results: mx.test; dmarc=pass header.from=evil.example\r\n",
    ];
    for (i, trace) in forgeries.into_iter().enumerate() {
        let forged = from_camille(trace, &n, &format!("c{i}"), "#close");
        assert_forgery_did_nothing(&env, &n, env.process(&forged).await).await;
    }
    // An aligned DKIM pass is.
    let aligned = from_camille(
        "Authentication-Results: mx.test; dkim=pass header.d=support.example header.s=s1\r\n",
        &n,
        "aligned",
        "#waiting\nWhich model is it?",
    );
    assert_eq!(env.process(&aligned).await, Outcome::Commented(n.clone()));
    assert_eq!(status(&env, &n).await, Status::WaitingCustomer);
    // And so is DMARC's pass.
    let dmarc = on_ticket(
        "Authentication-Results: mx.test (Postfix); spf=pass; dmarc=pass (p=reject) header.from=support.example\r\n",
        "Camille <camille@support.example>",
        &n,
        "dmarc",
        "#close",
    );
    assert_eq!(env.process(&dmarc).await, Outcome::Commented(n.clone()));
    assert_eq!(status(&env, &n).await, Status::Closed);
}

#[tokio::test]
async fn arc_from_a_trusted_sealer_counts_only_where_configured() {
    let trace =
        "Authentication-Results: mx.test; arc=pass; dmarc=fail header.from=support.example\r\n";
    let env = TestEnv::with_config(&authentication("")).await;
    let n = ticket(&env).await;
    let mail = from_camille(trace, &n, "a1", "#close");
    assert_forgery_did_nothing(&env, &n, env.process(&mail).await).await;

    let env = TestEnv::with_config(&authentication("trust_arc = true\n")).await;
    let n = ticket(&env).await;
    let mail = from_camille(trace, &n, "a1", "#close");
    assert_eq!(env.process(&mail).await, Outcome::Commented(n.clone()));
    assert_eq!(status(&env, &n).await, Status::Closed);
}

/// Signs mail with DKIM as support.example, selector s1, with a key of its own.
struct Signer {
    pkcs8: Vec<u8>,
}

impl Signer {
    fn new() -> Self {
        Self {
            pkcs8: Ed25519Key::generate_pkcs8().unwrap(),
        }
    }

    fn key(&self) -> Ed25519Key {
        Ed25519Key::from_pkcs8_der(&self.pkcs8).unwrap()
    }

    /// Publishes the public key as `s1._domainkey.support.example` in `env`'s DNS cache.
    fn publish(&self, env: &TestEnv) {
        use base64::Engine;
        let public = base64::engine::general_purpose::STANDARD.encode(self.key().public_key());
        let record = domain_key_record(&format!("v=DKIM1; k=ed25519; p={public}")).unwrap();
        put(env, "s1._domainkey.support.example", record);
    }

    fn sign(&self, mail: &[u8]) -> Vec<u8> {
        let signature = DkimSigner::from_key(self.key())
            .domain("support.example")
            .selector("s1")
            .headers(["From", "To", "Subject", "Message-ID"])
            .sign(mail)
            .unwrap();
        [signature.to_header().as_bytes(), mail].concat()
    }
}

/// What DNS answers for `name`, for the next hour: no lookup leaves the machine.
fn put(env: &TestEnv, name: &str, record: Txt) {
    env.pipeline().authenticator().dns_cache().insert_txt(
        name,
        record,
        Instant::now() + Duration::from_secs(3600),
    );
}

/// The notifications queued for ticket `n`: event and recipient, oldest first.
async fn queued_events(env: &TestEnv, n: &TicketNumber) -> Vec<(Event, String)> {
    let mut outbox = env.store().list_outbox(None, 100).await.unwrap();
    outbox.reverse();
    outbox
        .into_iter()
        .filter(|e| e.ticket.as_ref() == Some(n))
        .map(|e| (e.event.parse().unwrap(), e.recipient))
        .collect()
}

/// Why the mail that opened ticket `n` was refused where it was sent, as its
/// `mail_refused` notice says.
async fn refusal_of(env: &TestEnv, n: &TicketNumber) -> Option<RefusalReason> {
    let mut conn = env.connect().await;
    let context: Option<String> = sqlx::query_scalar(
        "SELECT o.context FROM outbox o JOIN tickets t ON t.id = o.ticket_id \
         WHERE t.number = $1 AND o.event = 'mail_refused'",
    )
    .bind(n.as_str().to_string())
    .fetch_optional(&mut conn)
    .await
    .unwrap()
    .flatten();
    let context: EventContext = serde_json::from_str(&context?).unwrap();
    context.refusal.map(|r| r.reason)
}

/// The lines `explain` gives for `mail`.
async fn explained(env: &TestEnv, mail: &[u8]) -> Vec<String> {
    let explained = env.pipeline().explain(mail).await.unwrap();
    explained.steps.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn an_agent_signed_with_dkim_acts_without_any_server_s_results() {
    let env = TestEnv::with_config(CONFIG).await;
    let signer = Signer::new();
    signer.publish(&env);
    let n = ticket(&env).await;
    let mail = signer.sign(&on_ticket(
        "",
        "Camille <camille@support.example>",
        &n,
        "d1",
        "#waiting\r\nWhich model is it?",
    ));
    let lines = explained(&env, &mail).await;
    assert!(
        lines.iter().any(|l| l.starts_with("authenticate:")
            && l.contains("camille@support.example: authenticated")
            && l.contains("DKIM signature of support.example verified")),
        "{lines:#?}"
    );
    assert_eq!(env.process(&mail).await, Outcome::Commented(n.clone()));
    assert_eq!(status(&env, &n).await, Status::WaitingCustomer);
    let comment = env.details(&n).await.articles.pop().unwrap();
    assert_eq!(comment.sender_verified, Some(true));
}

#[tokio::test]
async fn a_dkim_signature_that_does_not_verify_authenticates_nobody() {
    let env = TestEnv::with_config(CONFIG).await;
    let signer = Signer::new();
    signer.publish(&env);
    let n = ticket(&env).await;

    // The body changed after signing: the command is someone else's.
    let signed = signer.sign(&from_camille(
        "",
        &n,
        "t1",
        "#waiting\r\nWhich model is it?",
    ));
    let text = String::from_utf8(signed).unwrap();
    let tampered = text.replace("#waiting\r\nWhich model is it?", "#close");
    assert_ne!(tampered, text);
    let lines = explained(&env, tampered.as_bytes()).await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("not authenticated") && l.contains("body hash does not match")),
        "{lines:#?}"
    );
    assert_forgery_did_nothing(&env, &n, env.process(tampered.as_bytes()).await).await;

    // Signed by a key that is not the one published.
    let other = Signer::new().sign(&from_camille("", &n, "t2", "#close"));
    assert_forgery_did_nothing(&env, &n, env.process(&other).await).await;

    // Signed by a domain that publishes no key at all.
    let env = TestEnv::with_config(CONFIG).await;
    let n = ticket(&env).await;
    put(
        &env,
        "s1._domainkey.support.example",
        Txt::Error(mail_auth::Error::Dns(DnsError::RecordNotFound(
            ResponseCode::NXDomain,
        ))),
    );
    let unpublished = signer.sign(&from_camille("", &n, "t3", "#close"));
    let lines = explained(&env, &unpublished).await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("not authenticated") && l.contains("DKIM support.example:")),
        "{lines:#?}"
    );
    assert_forgery_did_nothing(&env, &n, env.process(&unpublished).await).await;
}

#[tokio::test]
async fn the_first_of_several_from_fields_is_the_sender_and_the_mail_is_marked() {
    let env = TestEnv::with_config(CONFIG).await;
    let n = ticket(&env).await;
    // Mallory first: she is the sender, and she may not write on Alice's ticket.
    let mallory_first = on_ticket(
        "From: Mallory <mallory@evil.example>\r\n",
        "Alice <alice@acme.example>",
        &n,
        "f1",
        "Please send the invoices to my new address.",
    );
    let own = created(&env.process(&mallory_first).await);
    let d = env.details(&own).await;
    assert_eq!(d.ticket.requester.as_str(), "mallory@evil.example");
    let note = d.articles[0].note.clone().unwrap_or_default();
    assert!(
        note.contains("Suspicious: the mail has 2 From fields"),
        "{note}"
    );
    assert_eq!(env.details(&n).await.articles.len(), 1);

    // Alice first: a comment on her ticket, marked for the agents.
    let alice_first = on_ticket(
        "From: Alice <alice@acme.example>\r\n",
        "Mallory <mallory@evil.example>",
        &n,
        "f2",
        "It works again.",
    );
    let lines = explained(&env, &alice_first).await;
    assert!(
        lines.iter().any(|l| l.contains("2 From fields")),
        "{lines:#?}"
    );
    assert_eq!(
        env.process(&alice_first).await,
        Outcome::Commented(n.clone())
    );
    let comment = env.details(&n).await.articles.pop().unwrap();
    assert_eq!(comment.author.as_str(), "alice@acme.example");
    assert!(
        comment
            .note
            .as_deref()
            .is_some_and(|n| n.contains("Suspicious")),
        "{comment:?}"
    );
}

/// A ticket of Alice's with a solution waiting for her answer.
async fn resolved(env: &TestEnv) -> TicketNumber {
    let n = ticket(env).await;
    let service = env.service();
    let camille = service.agent(Some("camille")).unwrap();
    service
        .resolve(&n, "Restart the printer.", &camille)
        .await
        .unwrap();
    n
}

/// Alice's "approved" on ticket `n`, under `trace`; `id` makes its Message-ID.
fn approval(n: &TicketNumber, id: &str, trace: &str) -> Vec<u8> {
    on_ticket(
        trace,
        "Alice <alice@acme.example>",
        n,
        id,
        "Approved, thanks!",
    )
}

#[tokio::test]
async fn a_spoofed_requester_cannot_approve_a_solution() {
    // By default ("prefer") her unauthenticated words are a comment for the agents.
    let env = TestEnv::with_config(CONFIG).await;
    let n = resolved(&env).await;
    assert_eq!(
        env.process(&approval(&n, "ok", "")).await,
        Outcome::Commented(n.clone())
    );
    assert_eq!(status(&env, &n).await, Status::Resolved);
    let comment = env.details(&n).await.articles.pop().unwrap();
    assert_eq!(comment.sender_verified, Some(false));
    assert!(
        comment
            .sender_check
            .as_deref()
            .is_some_and(|c| c.contains("no DKIM signature")),
        "{comment:?}"
    );
    let shown = run_command(env.command(&["tickets", "show", n.as_str()]), None);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert!(
        stdout(&shown).contains("[unverified sender]"),
        "{}",
        stdout(&shown)
    );

    // Authenticated, the same words close it.
    let env = TestEnv::with_config(CONFIG).await;
    let n = resolved(&env).await;
    let genuine = approval(
        &n,
        "ok-signed",
        "Authentication-Results: mx.test; dmarc=pass header.from=acme.example\r\n",
    );
    assert_eq!(env.process(&genuine).await, Outcome::Commented(n.clone()));
    assert_eq!(status(&env, &n).await, Status::Closed);
    let comment = env.details(&n).await.articles.pop().unwrap();
    assert_eq!(comment.sender_verified, Some(true));
}

#[tokio::test]
async fn customers_require_refuses_an_unauthenticated_mail_on_a_ticket() {
    let env = TestEnv::with_config(&authentication("customers = \"require\"\n")).await;
    let n = resolved(&env).await;
    let own = created(&env.process(&approval(&n, "ok", "")).await);
    assert_eq!(status(&env, &n).await, Status::Resolved);
    assert_eq!(
        refusal_of(&env, &own).await,
        Some(RefusalReason::Unverified)
    );
    assert_eq!(
        queued_events(&env, &own).await,
        [(Event::MailRefused, "alice@acme.example".into())]
    );
    // A new mail still opens a ticket: there is nothing of anyone's to protect.
    let fresh = b"From: bob@acme.example\r\nTo: help@support.example\r\nSubject: Scanner\r\n\
                  Message-ID: <bob-1@acme.example>\r\n\r\nThe scanner is off.\r\n";
    created(&env.process(fresh).await);
    // Authenticated, she approves.
    let genuine = approval(
        &n,
        "ok-signed",
        "Authentication-Results: mx.test; dmarc=pass header.from=acme.example\r\n",
    );
    assert_eq!(env.process(&genuine).await, Outcome::Commented(n.clone()));
    assert_eq!(status(&env, &n).await, Status::Closed);
}

#[tokio::test]
async fn customers_off_trusts_the_from_address_as_before() {
    let env = TestEnv::with_config(&authentication("customers = \"off\"\n")).await;
    let n = resolved(&env).await;
    assert_eq!(
        env.process(&approval(&n, "ok", "")).await,
        Outcome::Commented(n.clone())
    );
    assert_eq!(status(&env, &n).await, Status::Closed);
    let comment = env.details(&n).await.articles.pop().unwrap();
    assert_eq!(comment.sender_verified, None, "nobody asked");
}

#[tokio::test]
async fn agents_off_trusts_an_agent_s_address_as_before() {
    let env = TestEnv::with_config(&authentication("agents = \"off\"\n")).await;
    let n = ticket(&env).await;
    let mail = from_camille("", &n, "o1", "#close");
    assert_eq!(env.process(&mail).await, Outcome::Commented(n.clone()));
    assert_eq!(status(&env, &n).await, Status::Closed);
}

#[tokio::test]
async fn a_mail_from_our_own_address_without_our_marker_is_quarantined() {
    let env = TestEnv::with_config(CONFIG).await;
    let forged = b"From: Support <help@support.example>\r\nTo: help@support.example\r\n\
                   Subject: Your password expires\r\nMessage-ID: <p1@evil.example>\r\n\r\n\
                   Click here.\r\n";
    match env.pipeline().process("test", forged).await {
        Err(ProcessError::Rejected(Rejection::ForgedOwnAddress { address, how })) => {
            assert_eq!(address, "help@support.example");
            assert!(how.contains("no DKIM signature"), "{how}");
        }
        other => panic!("quarantined, not {other:?}"),
    }
    // Authenticated as ours (a colleague writing to the support address), it is our own
    // mail coming back: ignored, as before.
    let ours = authenticated(forged);
    assert!(
        matches!(
            env.pipeline().process("test", &ours).await,
            Ok(Outcome::Ignored { .. })
        ),
        "ignored"
    );
}

#[tokio::test]
async fn a_mailbox_s_own_policy_overrides_the_global_one() {
    // Globally agents may act unauthenticated; the public mailbox requires it, and
    // requires it of customers too.
    let env = TestEnv::with_config(&authentication("agents = \"off\"\n")).await;
    let public = env.pipeline().with_defaults(IntakeDefaults {
        agents: Some(AgentPolicy::Require),
        customers: Some(CustomerPolicy::Require),
        ..IntakeDefaults::default()
    });
    assert_eq!(
        (public.policy().agents, public.policy().customers),
        (AgentPolicy::Require, CustomerPolicy::Require)
    );
    let n = resolved(&env).await;
    let forged = from_camille("", &n, "m1", "#close");
    assert!(matches!(
        public.process("test", &forged).await.unwrap(),
        Outcome::Created(_)
    ));
    let spoofed = approval(&n, "m2", "");
    assert!(matches!(
        public.process("test", &spoofed).await.unwrap(),
        Outcome::Created(_)
    ));
    assert_eq!(status(&env, &n).await, Status::Resolved);
    // Through the internal one, the global policy holds.
    let internal = from_camille("", &n, "m3", "#close");
    assert_eq!(env.process(&internal).await, Outcome::Commented(n.clone()));
    assert_eq!(status(&env, &n).await, Status::Closed);
}

#[test]
fn the_binary_says_how_senders_are_authenticated_and_logs_what_it_refused() {
    // On the embedded defaults: DKIM checked here, no trusted server.
    let cli = Cli::new();
    let out = stdout(&cli.run(&["check-config"], None));
    assert!(
        out.contains(
            "authentication: agents require, customers prefer; trusted servers none; DKIM checked here: yes"
        ),
        "{out}"
    );
    assert!(!out.contains("cannot be authenticated"), "{out}");

    // A site that turned its own check off and trusts no server: agents' mail can never
    // act, and both check-config and the daemon's start say so.
    let cli = cli_with(&format!("{CONFIG}[authentication]\nverify = false\n"));
    let out = stdout(&cli.run(&["check-config"], None));
    assert!(
        out.contains("DKIM checked here: no")
            && out.contains("agents' mail commands cannot be authenticated"),
        "{out}"
    );
    let inbox = cli.dir.path().join("data/inbox");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    let daemon = start(&cli, &[]);
    deliver(
        &inbox,
        "1.host",
        b"From: alice@acme.example\r\nTo: help@support.example\r\nSubject: Printer\r\n\
          Message-ID: <d-open@acme.example>\r\n\r\nThe printer is down.\r\n",
    );
    let tickets = || {
        let list = cli.run(&["tickets", "list", "--json"], None);
        serde_json::from_slice::<serde_json::Value>(&list.stdout).unwrap_or_default()
    };
    wait_for("the ticket", Duration::from_secs(20), || {
        tickets().as_array().is_some_and(|t| t.len() == 1)
    });
    let n: TicketNumber = tickets()[0]["number"].as_str().unwrap().parse().unwrap();
    deliver(&inbox, "2.host", &from_camille("", &n, "d-close", "#close"));
    wait_for("the forged command", Duration::from_secs(20), || {
        tickets().as_array().is_some_and(|t| t.len() == 2)
    });
    let stopped = stop(&cli, daemon);
    assert_eq!(stopped.status.code(), Some(0), "{}", stopped.log);
    let log = &stopped.log;
    assert_eq!(
        log.matches("agents' mail commands cannot be authenticated")
            .count(),
        1,
        "{log}"
    );
    assert!(
        log.contains("mail from an agent's address that is not authenticated")
            && log.contains("camille@support.example"),
        "{log}"
    );
    assert!(
        log.contains("senders checked since start") && log.contains("unverified=1"),
        "{log}"
    );
    let ticket = tickets()
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["number"] == n.as_str())
        .cloned()
        .unwrap();
    assert_eq!(ticket["status"], "new", "{ticket}");
}

#[tokio::test]
async fn the_team_s_shared_address_answers_as_an_agent_once_authenticated() {
    let env = TestEnv::with_config(&authentication("").replace(
        "[mail]\n",
        "[mail]\nagents_address = \"team@support.example\"\n",
    ))
    .await;
    let n = ticket(&env).await;
    // An agent answering from the team's address: a comment for the customer, no ticket of
    // its own and no refusal.
    let trace = "Authentication-Results: mx.test; dmarc=pass header.from=support.example\r\n";
    let outcome = env
        .process(&on_ticket(
            trace,
            "team@support.example",
            &n,
            "t1",
            "#waiting\r\nWhich model is it?",
        ))
        .await;
    assert_eq!(outcome, Outcome::Commented(n.clone()));
    assert_eq!(status(&env, &n).await, Status::WaitingCustomer);
    let events: Vec<Event> = queued_events(&env, &n)
        .await
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    assert!(
        events.contains(&Event::StatusChanged) && !events.contains(&Event::MailRefused),
        "{events:?}"
    );
    // Without authentication, the same address is nobody's: a customer's mail, no command.
    let outcome = env
        .process(&on_ticket(
            "",
            "team@support.example",
            &n,
            "t2",
            "#close\r\nDone.",
        ))
        .await;
    assert!(matches!(outcome, Outcome::Created(_)), "{outcome:?}");
    assert_eq!(status(&env, &n).await, Status::WaitingCustomer);
}
