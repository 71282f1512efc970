//! In-process costs: parsing one mail of each kind of the benchmark mix,
//! `Pipeline::process` of a mail on a SQLite file (embedded defaults: WAL,
//! synchronous=FULL) in a temporary directory, and reply stripping on inputs built to make
//! a naive stripper backtrack or go quadratic.
//!
//! `cargo bench --bench pipeline` (criterion; `-- parse`, `-- process` or `-- reply_text`
//! to run one group).

mod support;

use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use support::mailgen::{Body, MailGen, Shape};
use ticketgate::clock::SystemClock;
use ticketgate::config::{ConfigSource, Settings};
use ticketgate::pipeline::reply_text::strip_reply;
use ticketgate::pipeline::{Pipeline, parse};
use ticketgate::store::Store;

/// The kinds of mail the mix holds, each a new mail (not a reply) unless named so.
const KINDS: &[(&str, Body, bool)] = &[
    ("utf8", Body::Utf8, false),
    ("latin1_qp", Body::Latin1QuotedPrintable, false),
    ("windows1252", Body::Windows1252, false),
    ("html_only", Body::HtmlOnly, false),
    ("utf8_attachment_200k", Body::Utf8, true),
];

fn shape(body: Body, attachment: bool, reply: bool) -> Shape {
    Shape {
        body,
        attachment,
        reply,
    }
}

fn parse_mails(c: &mut Criterion) {
    let mut generator = MailGen::new(7);
    let mut group = c.benchmark_group("parse");
    let mut cases: Vec<(String, Vec<u8>)> = KINDS
        .iter()
        .map(|&(name, body, attachment)| {
            (
                name.to_string(),
                generator.mail(shape(body, attachment, false)),
            )
        })
        .collect();
    cases.push((
        "utf8_reply".into(),
        generator.reply_to_latest(shape(Body::Utf8, false, true)),
    ));
    for (name, raw) in &cases {
        group.bench_function(format!("{name} ({} KB)", raw.len() / 1024), |b| {
            b.iter(|| {
                let message = parse::parse_message(std::hint::black_box(raw)).unwrap();
                let mail = parse::inbound_mail(&message);
                std::hint::black_box(mail.message_id.is_some())
            })
        });
    }
    group.finish();
}

fn process_mails(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = format!("data_dir = '{}'\n", dir.path().join("data").display());
    let settings = Settings::from_toml(&text, ConfigSource::Embedded, Vec::new()).unwrap();
    let pipeline = runtime.block_on(async {
        let store = Store::connect(settings.database_url.expose())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        Pipeline::new(store, Arc::new(settings), Arc::new(SystemClock)).unwrap()
    });
    let mut generator = MailGen::new(11);

    let mut group = c.benchmark_group("process");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(8));
    for &(name, body, attachment) in KINDS {
        group.bench_function(format!("new_{name}"), |b| {
            b.iter_batched(
                || generator.mail(shape(body, attachment, false)),
                |raw| runtime.block_on(pipeline.process("bench", &raw)).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    group.bench_function("reply_utf8", |b| {
        b.iter_batched(
            || {
                let original = generator.mail(shape(Body::Utf8, false, false));
                runtime
                    .block_on(pipeline.process("bench", &original))
                    .unwrap();
                generator.reply_to_latest(shape(Body::Utf8, false, true))
            },
            |raw| runtime.block_on(pipeline.process("bench", &raw)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
    runtime.block_on(pipeline.store().close());
}

/// Reply stripping on hostile shapes: one 800,000-character quote line, 100,000 attribution
/// and signature lines, 500,000 colons, 300,000 blank lines before a quote. Each must stay
/// linear: well under a second each.
fn strip_pathological(c: &mut Criterion) {
    let cases = [
        (
            "long_quote_line",
            format!(
                "Reply\n\nOn Mon, Apr 2, 2012, Bob <b@x.org> wrote:\n>{}\n",
                ">".repeat(800_000)
            ),
        ),
        ("many_signatures", "On x wrote:\n-- \n".repeat(100_000)),
        ("colons", format!("{}\n", ":".repeat(500_000))),
        (
            "blank_then_quote",
            format!(
                "On Mon, Apr 2, 2012, Bob <b@x.org> wrote:{}> q\n",
                "\n".repeat(300_000)
            ),
        ),
    ];
    let mut group = c.benchmark_group("reply_text");
    group.sample_size(10);
    for (name, input) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| std::hint::black_box(strip_reply(std::hint::black_box(input))).removed)
        });
    }
    group.finish();
}

criterion_group!(benches, parse_mails, process_mails, strip_pathological);
criterion_main!(benches);
