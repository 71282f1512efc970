//! `ticketgate contacts …`: people's notification preferences and bounce marks.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use ticketgate::domain::{EmailAddress, PhoneNumber};
use ticketgate::service::{ContactChanges, ContactView, LanguageChoice, Services, sms_in_channels};

use super::out::outln;

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Show a person's notification preferences and delivery state.
    Show {
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a person's notification preferences.
    Set {
        email: String,
        /// en, fr, or `ticket` to follow each ticket's language.
        #[arg(long)]
        language: Option<LanguageChoice>,
        /// Opening, solution and closing of their tickets.
        #[arg(long, value_name = "on|off")]
        opening_closing: Option<OnOff>,
        /// Other processing steps: status changes, assignment, reopening.
        #[arg(long, value_name = "on|off")]
        processing: Option<OnOff>,
        /// Messages written on their tickets.
        #[arg(long, value_name = "on|off")]
        messages: Option<OnOff>,
        /// As an observer, every update (on) or only opening and closing (off).
        #[arg(long, value_name = "on|off")]
        observer_updates: Option<OnOff>,
        /// Lift an undeliverable mark left by a bounce.
        #[arg(long)]
        deliverable: bool,
        /// Their mobile number for SMS, in international form (+33612345678); `none`
        /// forgets it.
        #[arg(long, value_name = "+NUMBER|none")]
        phone: Option<String>,
        /// email, or email,sms for the events they receive to go by SMS too (through
        /// [sms] gateway, to --phone).
        #[arg(long, value_name = "email|email,sms")]
        channels: Option<String>,
        /// The list of their open tickets by mail every week, or not.
        #[arg(long, value_name = "weekly|off")]
        digest: Option<Digest>,
    },
}

/// How often a contact gets the list of their open tickets.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Digest {
    Weekly,
    Off,
}

/// A switch on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl OnOff {
    fn is_on(self) -> bool {
        matches!(self, OnOff::On)
    }
}

/// Runs a `contacts` command.
pub async fn run(services: &Services, command: ContactsCommand) -> anyhow::Result<ExitCode> {
    let contacts = services.contacts();
    let (ContactsCommand::Show { email, .. } | ContactsCommand::Set { email, .. }) = &command;
    let address = EmailAddress::parse(email).with_context(|| format!("`{email}`"))?;
    let view = match command {
        ContactsCommand::Show { json, .. } => {
            let view = contacts.show(&address).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&view)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            view
        }
        ContactsCommand::Set {
            language,
            opening_closing,
            processing,
            messages,
            observer_updates,
            deliverable,
            phone,
            channels,
            digest,
            ..
        } => {
            let phone = match phone.as_deref().map(str::trim) {
                None => None,
                Some("none" | "") => Some(None),
                Some(number) => Some(Some(PhoneNumber::parse(number)?)),
            };
            let sms = channels.as_deref().map(sms_in_channels).transpose()?;
            let changes = ContactChanges {
                language,
                opening_closing: opening_closing.map(OnOff::is_on),
                processing: processing.map(OnOff::is_on),
                messages: messages.map(OnOff::is_on),
                observer_updates: observer_updates.map(OnOff::is_on),
                deliverable,
                phone,
                sms,
                weekly_digest: digest.map(|d| matches!(d, Digest::Weekly)),
            };
            contacts.change(&address, &changes).await?
        }
    };
    print_contact(&view)?;
    Ok(ExitCode::SUCCESS)
}

fn print_contact(view: &ContactView) -> std::io::Result<()> {
    let contact = &view.contact;
    let on = |b: bool| if b { "on" } else { "off" };
    outln!("{}", contact.email)?;
    outln!(
        "  language {}",
        contact.language.as_deref().unwrap_or("(the ticket's)")
    )?;
    outln!(
        "  opening/closing {}  processing {}  messages {}  observer updates {}",
        on(contact.opening_closing),
        on(contact.processing),
        on(contact.messages),
        if contact.observer_every_update {
            "all"
        } else {
            "opening/closing only"
        }
    )?;
    match (&contact.phone, contact.sms) {
        (Some(phone), true) => outln!("  channels email, sms to {phone}")?,
        (Some(phone), false) => outln!("  channels email (phone {phone})")?,
        (None, _) => outln!("  channels email")?,
    }
    if contact.weekly_digest {
        outln!("  digest weekly")?;
    }
    match &view.undeliverable {
        Some((until, reason)) => outln!("  undeliverable until {until}: {reason}")?,
        None => outln!("  deliverable")?,
    }
    Ok(())
}
