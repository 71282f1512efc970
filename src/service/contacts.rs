//! People's notification preferences, as the support portals offer them, and the marks
//! bounces leave on their addresses.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::domain::{EmailAddress, PhoneNumber};
use crate::store::{Contact, Store, StoreError};

/// Why a contact could not be shown or changed.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    #[error("language `{0}`: use en, fr or ticket")]
    UnknownLanguage(String),
    #[error("channels `{0}`: use email, or email,sms")]
    UnknownChannels(String),
    #[error(transparent)]
    Phone(#[from] crate::domain::PhoneError),
    /// SMS need a number to go to.
    #[error("SMS need a phone number: give one with the channels (--phone +33612345678)")]
    SmsWithoutPhone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The language a person's notifications are written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LanguageChoice {
    /// Always this one (`en` or `fr`).
    Fixed(String),
    /// Each ticket's own language.
    Ticket,
}

impl FromStr for LanguageChoice {
    type Err = ContactError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "en" | "fr" => Ok(LanguageChoice::Fixed(s.to_string())),
            "ticket" => Ok(LanguageChoice::Ticket),
            other => Err(ContactError::UnknownLanguage(other.to_string())),
        }
    }
}

/// What to change in a person's preferences; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactChanges {
    pub language: Option<LanguageChoice>,
    /// Opening, solution and closing of their tickets.
    pub opening_closing: Option<bool>,
    /// Other processing steps: status changes, assignment, reopening.
    pub processing: Option<bool>,
    /// Messages written on their tickets.
    pub messages: Option<bool>,
    /// As an observer, every update (`true`) or only opening and closing.
    pub observer_updates: Option<bool>,
    /// Lift the undeliverable mark a bounce left.
    pub deliverable: bool,
    /// A new phone number; `Some(None)` forgets it (and SMS with it).
    pub phone: Option<Option<PhoneNumber>>,
    /// Whether the events they receive also go by SMS (`channels`).
    pub sms: Option<bool>,
    /// Whether they get the list of their open tickets every week.
    pub weekly_digest: Option<bool>,
}

/// Whether `channels` (`email`, or `email,sms`, in any order and case) asks for SMS. Mail
/// always goes: it is where replies come from.
pub fn sms_in_channels(channels: &str) -> Result<bool, ContactError> {
    let mut sms = false;
    let mut email = false;
    for channel in channels.split(',').map(str::trim) {
        match channel.to_ascii_lowercase().as_str() {
            "email" => email = true,
            "sms" => sms = true,
            _ => return Err(ContactError::UnknownChannels(channels.to_string())),
        }
    }
    if !email {
        return Err(ContactError::UnknownChannels(channels.to_string()));
    }
    Ok(sms)
}

/// A person's preferences, and whether their address is held back now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ContactView {
    #[serde(flatten)]
    pub contact: Contact,
    /// Until when, and why, nothing is sent to them: a bounce that is still in force.
    #[serde(skip)]
    pub undeliverable: Option<(DateTime<Utc>, String)>,
}

/// Reads and changes contacts.
#[derive(Debug, Clone)]
pub struct ContactService {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl ContactService {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The preferences of `email` (the defaults when they never set any).
    pub async fn show(&self, email: &EmailAddress) -> Result<ContactView, ContactError> {
        let contact = self.store.contact(email).await?;
        Ok(self.view(contact))
    }

    /// Applies `changes` to the preferences of `email` and returns them as they now are.
    /// A bounce recorded meanwhile is kept unless `deliverable` lifts it.
    pub async fn change(
        &self,
        email: &EmailAddress,
        changes: &ContactChanges,
    ) -> Result<ContactView, ContactError> {
        let mut contact = self.store.contact(email).await?;
        if let Some(language) = &changes.language {
            contact.language = match language {
                LanguageChoice::Fixed(lang) => Some(lang.clone()),
                LanguageChoice::Ticket => None,
            };
        }
        let set = |flag: &mut bool, value: Option<bool>| {
            if let Some(v) = value {
                *flag = v;
            }
        };
        set(&mut contact.opening_closing, changes.opening_closing);
        set(&mut contact.processing, changes.processing);
        set(&mut contact.messages, changes.messages);
        set(&mut contact.observer_every_update, changes.observer_updates);
        if let Some(phone) = &changes.phone {
            contact.phone = phone.as_ref().map(|p| p.as_str().to_string());
            contact.sms &= contact.phone.is_some();
        }
        set(&mut contact.sms, changes.sms);
        set(&mut contact.weekly_digest, changes.weekly_digest);
        if contact.sms && contact.phone.is_none() {
            return Err(ContactError::SmsWithoutPhone);
        }
        self.store
            .save_preferences(&contact, self.clock.now())
            .await?;
        if changes.deliverable {
            self.store.clear_undeliverable(email).await?;
        }
        self.show(email).await
    }

    fn view(&self, contact: Contact) -> ContactView {
        let undeliverable = match (&contact.undeliverable_until, &contact.undeliverable_reason) {
            (Some(until), reason) if *until > self.clock.now() => {
                Some((*until, reason.clone().unwrap_or_else(|| "bounced".into())))
            }
            _ => None,
        };
        ContactView {
            contact,
            undeliverable,
        }
    }
}
