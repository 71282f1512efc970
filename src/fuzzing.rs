//! The checks the fuzz targets run (`fuzz/fuzz_targets/`, one per function here), in the
//! library so that an ordinary test runs the very same code over the seed corpus where no
//! nightly toolchain is at hand (`tests/fuzz_seeds.rs`). Each takes any bytes, must never
//! panic, never hang, and asserts the properties its subject promises; a failed assertion
//! is a finding just like a panic.
//!
//! Nothing here touches a store, a file or the network: the settings are built once from
//! fixed TOML and the link key from fixed bytes.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::config::{ConfigSource, Settings};
use crate::domain::{
    EmailAddress, SubjectTag, TicketNumber, sanitize_filename, title_from_subject,
};
use crate::pipeline::classify::{self, Classification};
use crate::pipeline::parse::tnef;
use crate::pipeline::reply_effect::answer::SolutionAnswer;
use crate::pipeline::reply_effect::commands::agent_command;
use crate::pipeline::{language, parse, reply_text};
use crate::signing::{LinkSigner, NotificationId};

/// The settings every check reads: the embedded defaults, plus routing rules on each field
/// a rule can read, so that matching them is fuzzed too.
const SETTINGS: &str = r#"
[[routing]]
name = "outages"
subject = "(?i)\\b(down|outage|panne)\\b"
urgency = "high"
[[routing]]
name = "billing"
to = "^billing@"
from = "@acme\\.example$"
body = "(?i)invoice"
type = "request"
"#;

/// What the checks share, built once per process (a fuzz target runs millions of inputs).
struct Fixed {
    settings: Settings,
    signer: LinkSigner,
    now: DateTime<Utc>,
    alice: EmailAddress,
    ticket: TicketNumber,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| Fixed {
        settings: Settings::from_toml(SETTINGS, ConfigSource::Embedded, [])
            .expect("the fuzzing settings are valid"),
        signer: link_signer(),
        now: Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap(),
        alice: EmailAddress::parse("alice@acme.example").expect("a valid literal"),
        ticket: "2611N00042".parse().expect("a valid literal"),
    })
}

/// The signer of the link and thread-token checks: a key of fixed bytes, so that a token
/// signed in a seed verifies in every run.
pub fn link_signer() -> LinkSigner {
    LinkSigner::new(&[0x5a; 32], "https://support.example", Duration::days(30))
        .expect("32 bytes is long enough")
}

/// Raw bytes → parse → the sender → classify → the threading signals (subject tag,
/// In-Reply-To/References of ours with their thread tokens) → routing, or for a reply its
/// new text, an agent's command and an answer to a solution: every decision the pipeline
/// takes before it needs the store. Not covered: the duplicate check, looking up the
/// threaded ticket, authorization and the reply effect on that ticket's status (all need
/// the store), sender authentication (DNS).
pub fn mail(data: &[u8]) {
    let f = fixed();
    let settings = &f.settings;
    let Ok(message) = parse::parse_message(data) else {
        return;
    };
    let mail = parse::inbound_mail(&message);
    let sender = mail.from.as_ref().or(mail.reply_to.as_ref());
    let class = classify::classify(&mail, sender.map(|s| &s.address), &settings.own_addresses);
    assert!(!class.reason().is_empty(), "a classification says why");
    if class != Classification::Human {
        return;
    }
    let Some(sender) = sender else {
        return;
    };
    if let Some(number) = settings.subject_tag.find(&mail.subject) {
        assert_eq!(number.as_str().parse::<TicketNumber>().ok(), Some(number));
    }
    let _ = settings.subject_tag.strip(&mail.subject);
    for id in mail.in_reply_to.iter().chain(&mail.references) {
        if let Some(ours) = NotificationId::parse(id) {
            // Only the fixed key's own ids verify, and a seed or mutation that forges one
            // would be a finding.
            let _ = f.signer.thread_token_matches(&ours, &sender.address);
        }
    }
    let _ = settings
        .routing
        .iter()
        .position(|r| r.matches(&mail, &sender.address));
    let _ = title_from_subject(&mail.subject);
    let _ = language::detect(&mail.subject, &mail.text);
    let reply = reply_text::strip_mail(&mail.text, mail.html.as_deref());
    let _ = agent_command(&reply.text);
    let _ = SolutionAnswer::read(
        &reply.text,
        &settings.approval_words,
        &settings.refusal_words,
    );
}

/// The ticket tag in a subject and ticket numbers. The input is a subject; when it has two
/// lines, the first is a tag template (`[number_tag]`) too. Properties: a number found
/// reads back as itself, and a tag renders into a subject where it is found again.
pub fn subject_tag(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut tags = vec![fixed().settings.subject_tag.clone()];
    let subject = match text.split_once('\n') {
        Some((template, subject)) => {
            tags.extend(SubjectTag::new(template).ok());
            subject
        }
        None => &text,
    };
    for tag in &tags {
        if let Some(number) = tag.find(subject) {
            assert_eq!(
                number.as_str().parse::<TicketNumber>().ok(),
                Some(number.clone())
            );
            let rendered = format!("Re: {} {subject}", tag.render(&number));
            assert_eq!(
                tag.find(&rendered),
                Some(number.clone()),
                "the tag rendered for {number} is found in {rendered:?}"
            );
        }
        let _ = tag.strip(subject);
        let rendered = tag.render(&fixed().ticket);
        assert_eq!(tag.find(&rendered).as_ref(), Some(&fixed().ticket));
    }
    for word in subject.split(|c: char| !c.is_alphanumeric()) {
        if let Ok(number) = word.parse::<TicketNumber>() {
            assert_eq!(
                number.to_string().parse::<TicketNumber>().ok(),
                Some(number)
            );
        }
    }
    let _ = title_from_subject(subject);
}

/// Reply-text stripping on any text, read as a text body and as an HTML one (alone, and
/// beside itself as the text): never empty when the text has content, `removed` exactly
/// when the text is not the whole input, and the whole input when nothing new is found.
pub fn reply_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let whole = text.replace("\r\n", "\n").replace('\r', "\n");
    let whole = whole.trim();
    let stripped = reply_text::strip_reply(&text);
    if !whole.is_empty() {
        assert!(
            !stripped.text.trim().is_empty(),
            "kept nothing of {whole:?}"
        );
    }
    assert_eq!(stripped.removed, stripped.text != whole);
    if stripped.whole_kept {
        assert_eq!(stripped.text, whole);
    }
    let with_html = reply_text::strip_mail(&text, Some(&text));
    if !whole.is_empty() {
        assert!(
            !with_html.text.trim().is_empty(),
            "kept nothing of {whole:?} as HTML"
        );
    }
    if !with_html.removed {
        assert_eq!(with_html.text, whole);
    }
    let _ = reply_text::strip_mail("", Some(&text));
}

/// The link, short-link, session, form and thread-token verifiers on any string, with the
/// fixed key; and, when the input is an address, each token signed for it verifies for it
/// and for nobody else.
pub fn link_tokens(data: &[u8]) {
    let f = fixed();
    let s = &f.signer;
    let text = String::from_utf8_lossy(data);
    let text = text.trim();
    if let Ok(grant) = s.verify(text, f.now) {
        assert!(grant.expires > f.now);
    }
    let _ = LinkSigner::short_token_ticket(text);
    let _ = s.verify_short(text, std::slice::from_ref(&f.alice), f.now);
    let _ = s.verify_session(text, f.now);
    let _ = s.form_token_matches(text, text);
    if let Some(id) = NotificationId::parse(text) {
        let _ = s.thread_token_matches(&id, &f.alice);
    }
    let Ok(address) = EmailAddress::parse(text) else {
        return;
    };
    let other = !address.same_mailbox(&f.alice);
    let n = &f.ticket;
    let grant = s
        .verify(&s.token(n, &address, f.now), f.now)
        .expect("our own link");
    assert_eq!((&grant.ticket, &grant.recipient), (n, &address));
    let link = s.short_link(n, &address, f.now);
    let short = link.rsplit("/s/").next().expect("a short link has /s/");
    let grant = s
        .verify_short(short, &[f.alice.clone(), address.clone()], f.now)
        .expect("our own short link");
    assert!(grant.recipient.same_mailbox(&address));
    if other {
        assert!(
            s.verify_short(short, std::slice::from_ref(&f.alice), f.now)
                .is_err()
        );
    }
    let session = s.session(&address, f.now + Duration::hours(1));
    assert_eq!(
        s.verify_session(&session, f.now).ok(),
        Some(address.clone())
    );
    let id = s.notification_message_id(n, &address, 7, f.now, "support.example");
    let ours = NotificationId::parse(&id).expect("our own Message-ID");
    assert!(s.thread_token_matches(&ours, &address));
    if other {
        assert!(!s.thread_token_matches(&ours, &f.alice));
    }
}

/// The configuration loader on any text. After a line `#env`, each `KEY=VALUE` line is an
/// environment variable (`TICKETGATE_SMTP__PORT=25`), so the overrides are fuzzed too.
/// Nothing is read from disk: secrets named by file are read when used, not when loaded.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (toml, env) = text.split_once("\n#env\n").unwrap_or((text, ""));
    let env = env.lines().filter_map(|l| {
        let (k, v) = l.split_once('=')?;
        Some((k.to_string(), v.to_string()))
    });
    if let Err(e) = Settings::from_toml(toml, ConfigSource::Embedded, env) {
        assert!(!e.to_string().is_empty());
    }
}

/// The TNEF decoder (winmail.dat) on any bytes: a value or an error, within its caps, every
/// file a slice of the input, and every name safe once sanitized.
pub fn tnef(data: &[u8]) {
    let Ok(decoded) = tnef::decode(data) else {
        return;
    };
    assert!(decoded.attachments.len() <= tnef::MAX_ATTACHMENTS);
    let mut total = 0;
    for file in &decoded.attachments {
        let bytes = file.data.map_or(0, <[u8]>::len);
        assert!(bytes <= data.len(), "a file larger than the stream");
        total += bytes;
        let content_type = file
            .mime_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        let name = sanitize_filename(file.name(), content_type);
        assert!(
            !name.is_empty() && !name.contains(['/', '\\', '\0']),
            "{name:?}"
        );
    }
    assert!(total <= tnef::MAX_TOTAL_BYTES);
}

/// What a customer writes on the first lines of a mail, read as the fields of a new
/// ticket and as a command on a reply: no panic, every value within its bounds, no time
/// later than the mail, and a command only from a line that starts with `#`.
pub fn customer_text(data: &[u8]) {
    use crate::domain::FieldLabels;
    use crate::pipeline::body_fields::{self, FieldValue, TimeReading};
    use crate::pipeline::reply_effect::customer::{CustomerLine, customer_command};
    static LABELS: OnceLock<FieldLabels> = OnceLock::new();
    let labels = LABELS.get_or_init(FieldLabels::default);
    let text = String::from_utf8_lossy(data);
    let now = fixed().now;
    let how = TimeReading {
        zone: chrono_tz::Europe::Paris,
        now,
        day_first: data.len().is_multiple_of(2),
    };
    let read = body_fields::read(&text, labels, how);
    if !read.lines.is_empty() {
        assert!(body_fields::may_hold_fields(&text, labels));
    }
    for line in &read.lines {
        assert!(line.line.chars().count() <= 160, "{:?}", line.line);
        match &line.value {
            Ok(FieldValue::Text(t)) => assert!(!t.is_empty() && t.chars().count() <= 200),
            Ok(FieldValue::Time(t)) => assert!(*t <= now + Duration::days(1), "{t}"),
            Ok(_) => {}
            Err((shown, why)) => assert!(shown.chars().count() <= 80 && !why.is_empty()),
        }
    }
    match customer_command(&text) {
        CustomerLine::Command(_, line) | CustomerLine::NotUnderstood(line) => {
            assert!(line.line.starts_with('#'), "{:?}", line.line);
        }
        CustomerLine::None => {}
    }
}
