//! One JSON object per log line, flat: the time (RFC 3339, UTC), the level, the target,
//! the message, the fields of every span the event happened in (outermost first, an inner
//! span's value winning), then the event's own fields. So each line of a message's
//! processing carries its mailbox, Message-ID and ticket, and each line of a delivery its
//! notification, without a reader having to follow spans: `jq 'select(.ticket == "…")'`
//! finds them all.
//!
//! Written to the journal, each line starts with its syslog priority (`<3>` for an error,
//! `<4>` a warning, `<6>` information, `<7>` debugging), which journald takes off and keeps
//! as the entry's `PRIORITY` (sd-daemon(3)): `journalctl -p warning` then shows the
//! warnings and errors, and each entry's message is the JSON object alone.

use std::io::Write;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Keys every line starts with; a field of the same name in a span or an event is
/// renamed with a `field.` prefix rather than hide them.
const HEAD: [&str; 5] = ["timestamp", "level", "target", "span", "message"];

/// Writes each event as one JSON line through its writer.
pub struct JsonLayer<W> {
    make_writer: W,
    /// Whether lines go to the journal, and so start with their priority.
    journal: bool,
}

impl<W> JsonLayer<W> {
    pub fn new(make_writer: W, journal: bool) -> Self {
        Self {
            make_writer,
            journal,
        }
    }
}

/// The syslog priority prefix of a line at `level`, as journald reads it.
pub(super) fn priority(level: &tracing::Level) -> &'static [u8] {
    match *level {
        tracing::Level::ERROR => b"<3>",
        tracing::Level::WARN => b"<4>",
        tracing::Level::INFO => b"<6>",
        _ => b"<7>",
    }
}

/// The fields a span was given so far (those declared `Empty` appear once recorded).
struct SpanFields(Map<String, Value>);

impl<S, W> tracing_subscriber::Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut Fields(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(fields) = span.extensions_mut().get_mut::<SpanFields>() {
            values.record(&mut Fields(&mut fields.0));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        let mut span_name = None;
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(own) = span.extensions().get::<SpanFields>() {
                    fields.extend(own.0.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                span_name = Some(span.name());
            }
        }
        let mut own = Map::new();
        event.record(&mut Fields(&mut own));
        let message = own.remove("message");
        // An event bridged from the `log` crate carries its real target as a field.
        let target = match own.remove("log.target") {
            Some(Value::String(t)) => t,
            _ => event.metadata().target().to_string(),
        };
        for bridged in ["log.module_path", "log.file", "log.line"] {
            own.remove(bridged);
        }
        fields.extend(own);
        let mut line = line(
            event.metadata().level(),
            &target,
            span_name,
            message,
            fields,
        );
        if self.journal {
            line.splice(0..0, priority(event.metadata().level()).iter().copied());
        }
        // One write per line, so that lines from several threads never interleave.
        let _ = self.make_writer.make_writer().write_all(&line);
    }
}

/// The bytes of one line: the head keys in their order, then the fields.
pub(super) fn line(
    level: &tracing::Level,
    target: &str,
    span: Option<&str>,
    message: Option<Value>,
    fields: Map<String, Value>,
) -> Vec<u8> {
    let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut head: Vec<(&str, Value)> = vec![
        ("timestamp", timestamp.into()),
        ("level", level.as_str().into()),
        ("target", target.into()),
    ];
    if let Some(span) = span {
        head.push(("span", span.into()));
    }
    if let Some(message) = message {
        head.push(("message", message));
    }
    let mut out = Vec::with_capacity(256);
    out.push(b'{');
    let mut first = true;
    let mut pair = |out: &mut Vec<u8>, key: &str, value: &Value| {
        if !first {
            out.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut *out, key).expect("a string serializes");
        out.push(b':');
        serde_json::to_writer(&mut *out, value).expect("a JSON value serializes");
    };
    for (key, value) in &head {
        pair(&mut out, key, value);
    }
    for (key, value) in &fields {
        if HEAD.contains(&key.as_str()) {
            pair(&mut out, &format!("field.{key}"), value);
        } else {
            pair(&mut out, key, value);
        }
    }
    out.extend_from_slice(b"}\n");
    out
}

/// Records fields into a JSON map: numbers and booleans as such, the rest as text.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    #[test]
    fn each_line_is_an_object_with_the_fields_of_its_spans() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(JsonLayer::new(buffer.clone(), false));
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!("mailbox", mailbox = "support");
            let _o = outer.enter();
            let inner = tracing::info_span!(
                "message",
                message_id = "a@b",
                ticket = tracing::field::Empty
            );
            let _i = inner.enter();
            tracing::info!(size = 12, "read");
            inner.record("ticket", "2611N00001");
            tracing::warn!(level = "odd", "said \"twice\"\nover two lines");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["message"], "read");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["span"], "message");
        assert_eq!(lines[0]["mailbox"], "support", "{text}");
        assert_eq!(lines[1]["mailbox"], "support");
        assert_eq!(lines[0]["message_id"], "a@b");
        assert_eq!(lines[0]["size"], 12);
        assert!(lines[0].get("ticket").is_none(), "not known yet");
        assert_eq!(lines[1]["ticket"], "2611N00001");
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(lines[1]["field.level"], "odd");
        assert_eq!(lines[1]["message"], "said \"twice\"\nover two lines");
        let at = lines[1]["timestamp"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'),
            "{at}"
        );
    }
}
