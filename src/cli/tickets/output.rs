//! How `tickets` commands print: the outcome line of an operation, a ticket with its
//! history, a stored file written out byte for byte.

use std::path::Path;

use anyhow::Context;
use ticketgate::domain::{ByteSize, TicketDetails};
use ticketgate::service::{Done, Edited};

pub(super) fn print_done(done: &Done) {
    println!(
        "{}: {} ({} notification(s) queued)",
        done.ticket, done.status, done.notifications
    );
}

/// The usual outcome line, then the note the edit recorded on the ticket.
pub(super) fn print_edited(edited: &Edited) {
    print_done(&edited.done);
    println!("  {}", edited.note);
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

pub(super) fn print_ticket(d: &TicketDetails) {
    let t = &d.ticket;
    println!("{}  {}", t.number, t.title);
    println!(
        "  status {}  type {}  impact {}  urgency {}  priority {}",
        t.status,
        t.ticket_type,
        t.impact,
        t.urgency,
        t.priority.label()
    );
    println!(
        "  requester {}{}",
        t.requester,
        t.organisation
            .as_deref()
            .map(|o| format!(" ({o})"))
            .unwrap_or_default()
    );
    if !t.observers.is_empty() {
        let observers: Vec<&str> = t.observers.iter().map(|o| o.as_str()).collect();
        println!("  observers {}", observers.join(", "));
    }
    if let Some(category) = &t.category {
        println!("  category {category}");
    }
    if let Some(f) = &t.follow_up_of {
        println!("  follow-up of {f}");
    }
    println!(
        "  opened {}  updated {}  language {}",
        t.created_at.to_rfc3339(),
        t.updated_at.to_rfc3339(),
        t.language
    );
    for a in &d.articles {
        println!();
        println!(
            "--- #{} {} {} by {} ({}), {}",
            a.id,
            a.direction,
            a.visibility,
            a.author,
            a.subject,
            a.created_at.to_rfc3339()
        );
        if let Some(note) = &a.note {
            println!("[note] {note}");
        }
        if a.sender_verified == Some(false) {
            println!(
                "[unverified sender] {}",
                a.sender_check.as_deref().unwrap_or("not authenticated")
            );
        }
        println!("{}", a.body_text.trim_end());
        for f in &a.attachments {
            match (&f.sha256, &f.refused_reason) {
                (Some(sha), _) => println!(
                    "  [file] {} ({}, {}) sha256 {sha}",
                    f.filename,
                    f.content_type,
                    ByteSize(f.size)
                ),
                (None, Some(reason)) => {
                    println!(
                        "  [refused] {} ({}): {reason}",
                        f.filename,
                        ByteSize(f.size)
                    )
                }
                (None, None) => println!("  [file] {} ({})", f.filename, ByteSize(f.size)),
            }
        }
    }
}
