//! A person's notification preferences and language, as the portal shows and saves them:
//! the same preferences and the same operation as `ticketgate contacts set`.

use super::{PortalError, PortalService};
use crate::domain::EmailAddress;
use crate::service::{ContactChanges, ContactError, ContactService, ContactView};

impl PortalService {
    /// `visitor`'s preferences as they are.
    pub async fn preferences(&self, visitor: &EmailAddress) -> Result<ContactView, PortalError> {
        self.contacts()
            .show(visitor)
            .await
            .map_err(PortalError::from)
    }

    /// Saves `changes` to `visitor`'s own preferences.
    pub async fn save_preferences(
        &self,
        visitor: &EmailAddress,
        changes: &ContactChanges,
    ) -> Result<ContactView, PortalError> {
        self.contacts()
            .change(visitor, changes)
            .await
            .map_err(PortalError::from)
    }

    /// Whether the page offers SMS: an `[sms]` gateway is configured.
    pub fn sms_offered(&self) -> bool {
        self.settings.sms_gateway.is_some()
    }

    /// The language `visitor` chose for what we send them, if they chose one.
    pub async fn chosen_language(&self, visitor: &EmailAddress) -> Option<String> {
        self.contacts()
            .show(visitor)
            .await
            .ok()
            .and_then(|view| view.contact.language)
    }

    fn contacts(&self) -> ContactService {
        ContactService::new(self.store.clone(), self.clock.clone())
    }
}

impl From<ContactError> for PortalError {
    fn from(error: ContactError) -> Self {
        match error {
            ContactError::Store(e) => PortalError::Store(e),
            ContactError::UnknownLanguage(_) | ContactError::UnknownChannels(_) => {
                PortalError::BadChoice
            }
            ContactError::Phone(_) | ContactError::SmsWithoutPhone => PortalError::BadPhone,
        }
    }
}
