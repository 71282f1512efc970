//! How `tickets` commands print: the outcome line of an operation, a ticket with its
//! history, a stored file written out byte for byte.

use std::io;
use std::path::Path;

use crate::cli::out::outln;

use anyhow::Context;
use ticketgate::domain::{ByteSize, IncidentDetails, TicketDetails, TicketSummary};
use ticketgate::service::{Done, Edited};

pub(super) fn print_done(done: &Done) -> io::Result<()> {
    outln!(
        "{}: {} ({} notification(s) queued)",
        done.ticket,
        done.status,
        done.notifications
    )
}

/// The usual outcome line, then the note the edit recorded on the ticket.
pub(super) fn print_edited(edited: &Edited) -> io::Result<()> {
    print_done(&edited.done)?;
    outln!("  {}", edited.note)
}

/// Writes `bytes` to a new file at `output`, never over an existing one, or to standard
/// output.
pub(super) fn write_out(output: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    match output {
        Some(path) => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
            .with_context(|| {
                format!(
                    "cannot write {} (an existing file is left alone; choose a new name)",
                    path.display()
                )
            }),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .context("cannot write to standard output")
        }
    }
}

/// The lines of `tickets list`: one per ticket, each column as wide as its widest value
/// (and its name, with `header`), the title last and unpadded. Within `width` characters
/// (a terminal's), a title that does not fit is shortened with an ellipsis; the title kept
/// is whole (`tickets show`, `--json`).
pub(super) fn ticket_table(
    tickets: &[TicketSummary],
    header: bool,
    width: Option<usize>,
) -> Vec<String> {
    const NAMES: [&str; 5] = ["NUMBER", "STATUS", "PRIORITY", "REQUESTER", "TITLE"];
    let rows: Vec<[String; 5]> = tickets
        .iter()
        .map(|t| {
            [
                t.number.to_string(),
                t.status.to_string(),
                t.priority.label().to_string(),
                t.requester.to_string(),
                t.title.clone(),
            ]
        })
        .collect();
    let names = header.then(|| NAMES.map(String::from));
    let mut widths = [0usize; 4];
    for row in names.iter().chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    names
        .iter()
        .chain(&rows)
        .map(|row| {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(widths) {
                line.push_str(&format!("{cell:<width$}  "));
            }
            let room = width.map(|w| w.saturating_sub(line.chars().count()).max(MIN_TITLE));
            line.push_str(&shortened(&row[4], room));
            line
        })
        .collect()
}

/// The fewest characters of a title shown, however narrow the terminal.
const MIN_TITLE: usize = 20;

/// `title` in at most `room` characters, its end replaced by `…` when cut.
fn shortened(title: &str, room: Option<usize>) -> String {
    match room {
        Some(room) if title.chars().count() > room => {
            let kept: String = title.chars().take(room.saturating_sub(1)).collect();
            format!("{}…", kept.trim_end())
        }
        _ => title.to_string(),
    }
}

/// The width of the terminal standard output is, when it is one.
pub(super) fn terminal_width() -> Option<usize> {
    let term = console::Term::stdout();
    term.is_term()
        .then(|| term.size_checked())
        .flatten()
        .map(|(_, columns)| usize::from(columns))
}

/// What the customer told of the incident, one line each, when they told it.
fn print_details(d: &IncidentDetails) -> io::Result<()> {
    let texts = [
        ("your reference", &d.customer_reference),
        ("service", &d.service_reference),
        ("on-site contact", &d.onsite_contact),
        ("on-site phone", &d.onsite_phone),
        ("on-site availability", &d.onsite_availability),
    ];
    if let Some(n) = d.impacted_users {
        outln!("  impacted users {n}")?;
    }
    if let Some(at) = d.incident_started_at {
        outln!("  incident start {}", at.format("%Y-%m-%d %H:%M UTC"))?;
    }
    for (name, value) in texts {
        if let Some(value) = value {
            outln!("  {name} {value}")?;
        }
    }
    Ok(())
}

pub(super) fn print_ticket(d: &TicketDetails) -> io::Result<()> {
    let t = &d.ticket;
    outln!("{}  {}", t.number, t.title)?;
    outln!(
        "  status {}  type {}  impact {}  urgency {}  priority {}",
        t.status,
        t.ticket_type,
        t.impact,
        t.urgency,
        t.priority.label()
    )?;
    outln!(
        "  requester {}{}",
        t.requester,
        t.organisation
            .as_deref()
            .map(|o| format!(" ({o})"))
            .unwrap_or_default()
    )?;
    if !t.observers.is_empty() {
        let observers: Vec<&str> = t.observers.iter().map(|o| o.as_str()).collect();
        outln!("  observers {}", observers.join(", "))?;
    }
    if let Some(category) = &t.category {
        outln!("  category {category}")?;
    }
    print_details(&t.details)?;
    if let Some(f) = &t.follow_up_of {
        outln!("  follow-up of {f}")?;
    }
    outln!(
        "  opened {}  updated {}  language {}",
        t.created_at.to_rfc3339(),
        t.updated_at.to_rfc3339(),
        t.language
    )?;
    for a in &d.articles {
        outln!()?;
        outln!(
            "--- #{} {} {} by {} ({}), {}",
            a.id,
            a.direction,
            a.visibility,
            a.author,
            a.subject,
            a.created_at.to_rfc3339()
        )?;
        if let Some(note) = &a.note {
            outln!("[note] {note}")?;
        }
        if a.sender_verified == Some(false) {
            outln!(
                "[unverified sender] {}",
                a.sender_check.as_deref().unwrap_or("not authenticated")
            )?;
        }
        outln!("{}", a.body_text.trim_end())?;
        for f in &a.attachments {
            match (&f.sha256, &f.refused_reason) {
                (Some(sha), _) => outln!(
                    "  [file] {} ({}, {}) sha256 {sha}",
                    f.filename,
                    f.content_type,
                    ByteSize(f.size)
                )?,
                (None, Some(reason)) => outln!(
                    "  [refused] {} ({}): {reason}",
                    f.filename,
                    ByteSize(f.size)
                )?,
                (None, None) => outln!("  [file] {} ({})", f.filename, ByteSize(f.size))?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ticketgate::domain::{EmailAddress, Priority, Status};

    fn summary(number: &str, status: Status, requester: &str, title: &str) -> TicketSummary {
        TicketSummary {
            number: number.parse().unwrap(),
            title: title.into(),
            status,
            priority: Priority::P3,
            requester: EmailAddress::parse(requester).unwrap(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn columns_line_up_under_their_names() {
        let tickets = [
            summary("2611N00001", Status::New, "a@acme.example", "Printer"),
            summary(
                "2611N00002",
                Status::WaitingCustomer,
                "camille.durand@acme.example",
                "Écran noir",
            ),
        ];
        let lines = ticket_table(&tickets, true, None);
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("NUMBER "), "{lines:?}");
        let column = |name: &str| lines[0].find(name).unwrap();
        let chars_before =
            |line: &str, text: &str| line[..line.find(text).unwrap()].chars().count();
        for (line, title) in lines[1..].iter().zip(["Printer", "Écran noir"]) {
            assert_eq!(
                chars_before(line, title),
                chars_before(&lines[0], "TITLE"),
                "{lines:#?}"
            );
        }
        assert_eq!(lines[2].find("camille"), Some(column("REQUESTER")));
        assert_eq!(lines[1].find("P3"), Some(column("PRIORITY")));
        let plain = ticket_table(&tickets, false, None);
        assert_eq!(plain.len(), 2);
        assert!(plain[0].starts_with("2611N00001  new "), "{plain:?}");
    }

    #[test]
    fn a_long_title_is_shortened_to_the_terminal_only() {
        let long = "The printer on the second floor prints blank pages again ".repeat(6);
        let tickets = [summary(
            "2611N00001",
            Status::New,
            "a@acme.example",
            long.trim(),
        )];
        let whole = ticket_table(&tickets, false, None);
        assert!(whole[0].ends_with(long.trim()), "{whole:?}");
        let cut = ticket_table(&tickets, false, Some(100));
        assert_eq!(cut[0].chars().count(), 100, "{cut:?}");
        assert!(cut[0].ends_with('…'), "{cut:?}");
        let narrow = ticket_table(&tickets, false, Some(30));
        assert!(
            narrow[0].ends_with("  The printer on the…"),
            "at least a few words: {narrow:?}"
        );
    }
}
