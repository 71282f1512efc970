//! What each person wants to receive, and whether their address bounces. A person without
//! a row gets everything, in their ticket's language.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::rows::{bind_each, from_millis, list_placeholders, storable, to_millis};
use super::{Doing, Store, StoreError};
use crate::domain::{EmailAddress, EventCategory};

/// Records the language `person` chose for their notifications, their other preferences
/// as they were (the defaults for someone new).
pub(super) async fn save_language(
    tx: &mut AnyConnection,
    person: &EmailAddress,
    language: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO contacts (email, language, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (email) DO UPDATE SET language = $2, updated_at = $3",
    )
    .bind(person.key())
    .bind(language.to_string())
    .bind(at)
    .execute(&mut *tx)
    .await
    .doing("saving a contact's language")?;
    Ok(())
}

/// An address that bounced one of our notifications: nothing more is sent to it until
/// `until`.
#[derive(Debug, Clone)]
pub struct Undeliverable {
    pub address: EmailAddress,
    pub until: DateTime<Utc>,
    pub reason: String,
}

/// One person's notification preferences, as the support portals offer them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub email: String,
    /// `en` or `fr`; `None` follows the ticket.
    pub language: Option<String>,
    /// Opening, solution and closing of their tickets.
    pub opening_closing: bool,
    /// Other processing steps: status changes, reopening.
    pub processing: bool,
    /// Messages written on the ticket.
    pub messages: bool,
    /// As an observer, every update; otherwise only opening and closing.
    pub observer_every_update: bool,
    /// Where SMS go, E.164 (`+33612345678`), when they gave one.
    pub phone: Option<String>,
    /// Whether the events they receive also go to `phone` as SMS.
    pub sms: bool,
    /// Whether they get the list of their open tickets every week.
    pub weekly_digest: bool,
    /// Nothing is sent to the address before this time: it bounced.
    pub undeliverable_until: Option<DateTime<Utc>>,
    pub undeliverable_reason: Option<String>,
}

impl Contact {
    /// The preferences of someone who never set any.
    pub fn default_for(email: &EmailAddress) -> Self {
        Self {
            email: email.key(),
            language: None,
            opening_closing: true,
            processing: true,
            messages: true,
            observer_every_update: true,
            phone: None,
            sms: false,
            weekly_digest: false,
            undeliverable_until: None,
            undeliverable_reason: None,
        }
    }

    /// Whether they want mail of `category`, `as_observer` or as a main party.
    pub fn wants(&self, category: EventCategory, as_observer: bool) -> bool {
        let wanted = match category {
            EventCategory::OpeningClosing => self.opening_closing,
            EventCategory::Processing => self.processing,
            EventCategory::Messages => self.messages,
            EventCategory::Answer => return true,
        };
        wanted
            && (!as_observer
                || self.observer_every_update
                || category == EventCategory::OpeningClosing)
    }
}

impl Store {
    /// The contact's preferences, or the defaults when they never set any.
    pub async fn contact(&self, email: &EmailAddress) -> Result<Contact, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE email = $1"
        )))
        .bind(email.key())
        .fetch_optional(&mut *self.conn().await?)
        .await
        .doing("reading a contact")?;
        match row {
            Some(r) => contact_from_row(&r),
            None => Ok(Contact::default_for(email)),
        }
    }

    /// The preferences of each of `emails` (the defaults for those who never set any), by
    /// address key, in one read: what a group of notifications needs.
    pub async fn contacts_of(
        &self,
        emails: &[&EmailAddress],
    ) -> Result<HashMap<String, Contact>, StoreError> {
        let mut contacts: HashMap<String, Contact> = emails
            .iter()
            .map(|e| (e.key(), Contact::default_for(e)))
            .collect();
        if contacts.is_empty() {
            return Ok(contacts);
        }
        let keys: Vec<&String> = contacts.keys().collect();
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE email IN ({})",
            list_placeholders(keys.len(), 0)
        );
        let rows = bind_each(
            keys.into_iter().cloned(),
            sqlx::query(sqlx::AssertSqlSafe(sql)),
        )
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("reading contacts")?;
        for row in &rows {
            let contact = contact_from_row(row)?;
            contacts.insert(contact.email.clone(), contact);
        }
        Ok(contacts)
    }

    /// Saves a contact's preferences. The undeliverable mark is left as it is: a bounce
    /// recorded meanwhile must not be undone by an unrelated change.
    pub async fn save_preferences(&self, c: &Contact, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO contacts (email, language, opening_closing, processing, messages, observer_every_update, \
             phone, sms, updated_at, digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (email) DO UPDATE SET language = $2, opening_closing = $3, processing = $4, messages = $5, \
             observer_every_update = $6, phone = $7, sms = $8, updated_at = $9, digest = $10",
        )
        .bind(c.email.clone())
        .bind(c.language.clone())
        .bind(i64::from(c.opening_closing))
        .bind(i64::from(c.processing))
        .bind(i64::from(c.messages))
        .bind(i64::from(c.observer_every_update))
        .bind(c.phone.clone())
        .bind(i64::from(c.sms))
        .bind(to_millis(at))
        .bind(c.weekly_digest.then_some("weekly"))
        .execute(&mut *self.conn().await?)
        .await
        .doing("saving a contact")?;
        Ok(())
    }

    /// Lifts an address's undeliverable mark (the operator fixed it).
    pub async fn clear_undeliverable(&self, email: &EmailAddress) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE contacts SET undeliverable_until = NULL, undeliverable_reason = NULL WHERE email = $1",
        )
        .bind(email.key())
        .execute(&mut *self.conn().await?)
        .await
        .doing("clearing an undeliverable mark")?;
        Ok(())
    }
}

/// Marks an address undeliverable inside the transaction that records its bounce.
pub(super) async fn mark_undeliverable(
    tx: &mut AnyConnection,
    mark: &Undeliverable,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO contacts (email, undeliverable_until, undeliverable_reason, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email) DO UPDATE SET undeliverable_until = $2, undeliverable_reason = $3, updated_at = $4",
    )
    .bind(mark.address.key())
    .bind(to_millis(mark.until))
    .bind(storable(&mark.reason))
    .bind(at)
    .execute(&mut *tx)
    .await
    .doing("marking an address undeliverable")?;
    Ok(())
}

/// The columns [`contact_from_row`] reads.
const CONTACT_COLUMNS: &str = "email, language, opening_closing, processing, messages, \
     observer_every_update, phone, sms, undeliverable_until, undeliverable_reason, digest";

/// A contact from a row of [`CONTACT_COLUMNS`].
fn contact_from_row(r: &sqlx::any::AnyRow) -> Result<Contact, StoreError> {
    let flag = |name: &'static str| -> Result<bool, StoreError> {
        Ok(r.try_get::<i64, _>(name).doing("reading a contact")? != 0)
    };
    Ok(Contact {
        email: r.try_get("email").doing("reading a contact")?,
        language: r.try_get("language").doing("reading a contact")?,
        opening_closing: flag("opening_closing")?,
        processing: flag("processing")?,
        messages: flag("messages")?,
        observer_every_update: flag("observer_every_update")?,
        phone: r.try_get("phone").doing("reading a contact")?,
        sms: flag("sms")?,
        weekly_digest: r
            .try_get::<Option<String>, _>("digest")
            .doing("reading a contact")?
            .is_some_and(|d| d == "weekly"),
        undeliverable_until: r
            .try_get::<Option<i64>, _>("undeliverable_until")
            .doing("reading a contact")?
            .map(from_millis)
            .transpose()?,
        undeliverable_reason: r
            .try_get("undeliverable_reason")
            .doing("reading a contact")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observers_may_keep_to_opening_and_closing() {
        let mut c = Contact::default_for(&EmailAddress::parse("bob@example.com").unwrap());
        assert!(c.wants(EventCategory::Messages, true));
        c.observer_every_update = false;
        assert!(!c.wants(EventCategory::Messages, true));
        assert!(c.wants(EventCategory::Messages, false));
        assert!(c.wants(EventCategory::OpeningClosing, true));
        c.opening_closing = false;
        assert!(!c.wants(EventCategory::OpeningClosing, false));
        assert!(
            c.wants(EventCategory::Answer, true),
            "answers to their own mail always go"
        );
    }
}
