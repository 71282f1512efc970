//! `[portal]`: where the direct links of notifications point, and how they are signed so
//! that only their recipient can follow them.

use std::path::PathBuf;

use serde::Deserialize;

use super::error::Errors;
use super::secret::SecretSource;

/// The `[portal]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawPortal {
    /// The portal's address; links are `BASE_URL/tickets/NUMBER?token=…`.
    base_url: String,
    /// The signing secret (at least 32 bytes): at most one of `link_secret`,
    /// `link_secret_env`, `link_secret_file`. Instances sharing tickets share it.
    link_secret: Option<String>,
    link_secret_env: Option<String>,
    link_secret_file: Option<PathBuf>,
    /// How long a link stays valid.
    link_lifetime_days: u32,
}

impl Default for RawPortal {
    fn default() -> Self {
        Self {
            base_url: "http://localhost:8080".into(),
            link_secret: None,
            link_secret_env: None,
            link_secret_file: None,
            link_lifetime_days: 30,
        }
    }
}

/// Where direct links in notifications point, and how they are signed.
#[derive(Debug, Clone, PartialEq)]
pub struct PortalSettings {
    /// The portal's address; links are `BASE_URL/tickets/NUMBER?token=…`.
    pub base_url: String,
    /// The signing secret; without one, a random key is kept in `data_dir/link-secret`.
    pub link_secret: Option<SecretSource>,
    /// How long a link stays valid.
    pub link_lifetime_days: u32,
}

impl RawPortal {
    /// Validates `[portal]`, recording each error with its key.
    pub(super) fn validate(self, errors: &mut Errors) -> PortalSettings {
        let link_secret = SecretSource::one_of(
            "portal.link_secret",
            self.link_secret,
            self.link_secret_env,
            self.link_secret_file,
            errors,
        );
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            errors.push(
                "portal.base_url",
                format_args!("`{}` must start with https:// (or http://)", self.base_url),
            );
        }
        if self.link_lifetime_days == 0 {
            errors.push("portal.link_lifetime_days", "must be at least 1");
        }
        PortalSettings {
            base_url: self.base_url,
            link_secret,
            link_lifetime_days: self.link_lifetime_days,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_need_a_web_address_and_a_lifetime() {
        let mut errors = Errors::default();
        let raw = RawPortal {
            base_url: "portal.example.com".into(),
            link_lifetime_days: 0,
            ..RawPortal::default()
        };
        raw.validate(&mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "portal.base_url: `portal.example.com` must start with https:// (or http://)",
                "portal.link_lifetime_days: must be at least 1",
            ]
        );
    }
}
