//! `explain`: every decision the pipeline takes on a message, with its reason, and what
//! `process` would do, with nothing written.

use super::decide::Decision;
use super::trace::Trace;
use super::{Pipeline, ProcessError, parse};

impl Pipeline {
    /// Runs every decision on `raw` without writing anything, and says what `process` would
    /// do and why.
    pub async fn explain(&self, raw: &[u8]) -> Result<Trace, ProcessError> {
        let mut trace = Trace::default();
        let mut completed = None;
        let message = match self.read(raw, &mut completed) {
            Ok(m) => m,
            Err(e) => {
                trace.note("verdict", format!("quarantined: {e}"));
                return Ok(trace);
            }
        };
        let mail = parse::inbound_mail(&message);
        trace.note(
            "message",
            format!(
                "Message-ID <{}>, subject {:?}, {} attachment(s)",
                mail.message_id.as_deref().unwrap_or("none"),
                mail.subject,
                mail.attachments.len()
            ),
        );
        let decision = match self.decide(&mail, raw, &mut trace).await {
            Ok(d) => d,
            Err(e) => {
                trace.note("verdict", format!("quarantined: {e}"));
                return Ok(trace);
            }
        };
        for a in &mail.attachments {
            if let Some(why) = parse::why_winmail_kept(a) {
                trace.note("attachment", format!("winmail.dat {why}"));
            }
            if let Some(reason) = self.refusal(a.bytes.len()) {
                trace.note(
                    "attachment",
                    format!(
                        "{:?} refused: {reason}",
                        a.filename.as_deref().unwrap_or("(unnamed)")
                    ),
                );
            }
        }
        if let Decision::Open {
            requester, rule, ..
        } = &decision
        {
            let opening = self.new_ticket(&mail, requester, None, *rule);
            for line in &opening.read.lines {
                let taken = opening.fields.taken.iter().any(|g| g.field == line.field);
                let said = match &line.value {
                    Ok(v) if taken && opening.read.value(line.field) == Some(v) => {
                        format!("{} = {}", line.field, v.stored())
                    }
                    Ok(v) if taken => format!(
                        "{} {} not taken: an earlier line gave it",
                        line.field,
                        v.stored()
                    ),
                    Ok(v) => format!(
                        "{} {} not taken: the routing rule sets it",
                        line.field,
                        v.stored()
                    ),
                    Err((value, why)) => format!("{} {value:?} not read: {why}", line.field),
                };
                trace.note("field", format!("{said}, from the line {:?}", line.line));
            }
        }
        let verdict = match &decision {
            Decision::Ignore {
                kind,
                bounced: Some(b),
                ..
            } if mail.reports_failure_for(&b.recipient) => format!(
                "ignored ({kind}), recorded on {}; {} marked undeliverable",
                b.ticket.number, b.recipient
            ),
            Decision::Ignore {
                kind,
                bounced: Some(b),
                ..
            } => format!("ignored ({kind}), recorded on {}", b.ticket.number),
            Decision::Ignore { kind, .. } => format!("ignored ({kind})"),
            Decision::Duplicate(Some(n)) => format!("duplicate ({n})"),
            Decision::Duplicate(None) => "duplicate".into(),
            Decision::Comment { ticket, .. } => format!("comment on {}", ticket.number),
            Decision::Open {
                follow_up_of: Some(t),
                ..
            } => format!("new ticket, follow-up of {}", t.number),
            Decision::Open { .. } => "new ticket".into(),
            Decision::MyTickets { language, .. } => {
                format!("answered with the sender's tickets, in {language}; no ticket opened")
            }
        };
        trace.note("verdict", verdict);
        Ok(trace)
    }
}
