//! `[notifications]`: the operator's templates, how failed notifications are retried, and
//! the loop governor's limits, which keep two automatons from mailing each other forever.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::error::Errors;
use super::limits::{LoopLimits, RateLimit};

/// The `[notifications]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawNotifications {
    /// Files here override the embedded templates one by one (`LANG/EVENT.PART.hbs`).
    template_dir: Option<PathBuf>,
    /// The first pause before a notification that failed for a temporary reason is tried
    /// again (it doubles, up to an hour); at most 3600.
    retry_first_secs: u64,
    /// `MAX/WINDOW` limits per recipient, whatever the ticket.
    recipient_limits: Vec<String>,
    /// `MAX/WINDOW` limits per ticket, whatever the recipient.
    ticket_limits: Vec<String>,
    /// Days an address that bounced one of our notifications receives nothing; at most 365.
    undeliverable_days: u32,
    /// The name notifications sign with; by default the domain of our first address.
    company: Option<String>,
    /// An image shown in the notifications' header instead of the company's name.
    logo_url: Option<String>,
    /// The colour of the header's rule and of the "View your ticket" button, `#RRGGBB`.
    accent_color: String,
    /// Whether customers see the ticket's priority (as words: High, Medium…).
    show_priority: bool,
}

impl Default for RawNotifications {
    fn default() -> Self {
        Self {
            template_dir: None,
            retry_first_secs: 30,
            recipient_limits: vec!["10/10m".into(), "40/1d".into()],
            ticket_limits: vec!["60/1h".into(), "300/1d".into()],
            undeliverable_days: 3,
            company: None,
            logo_url: None,
            accent_color: DEFAULT_ACCENT.into(),
            show_priority: true,
        }
    }
}

/// A blue that reads well on white and as a button with white text (contrast 7:1).
const DEFAULT_ACCENT: &str = "#1d4ed8";

/// How notifications look: the company's name, logo and colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    /// An `https://` (or `http://`) image for the header.
    pub logo_url: Option<String>,
    /// `#RRGGBB`.
    pub accent_color: String,
    pub show_priority: bool,
}

/// The validated `[notifications]` section. The company's default comes from `[mail]`,
/// with the other sections.
#[derive(Debug)]
pub(super) struct NotificationSettings {
    pub(super) template_dir: Option<PathBuf>,
    /// At least a second.
    pub(super) retry_first: Duration,
    pub(super) loop_limits: LoopLimits,
    pub(super) company: Option<String>,
    pub(super) branding: Branding,
}

impl RawNotifications {
    /// Validates `[notifications]`, recording each error with its key
    /// (`notifications.recipient_limits[1]`).
    pub(super) fn validate(self, errors: &mut Errors) -> NotificationSettings {
        errors.at_most(
            "notifications.undeliverable_days",
            self.undeliverable_days.into(),
            365,
        );
        errors.at_most(
            "notifications.retry_first_secs",
            self.retry_first_secs,
            3600,
        );
        let loop_limits = LoopLimits {
            per_recipient: limits("recipient_limits", &self.recipient_limits, errors),
            per_ticket: limits("ticket_limits", &self.ticket_limits, errors),
            undeliverable_for: Duration::from_secs(u64::from(self.undeliverable_days) * 86_400),
        };
        let accent = &self.accent_color;
        let accent_ok = accent.len() == 7
            && accent.starts_with('#')
            && accent[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !accent_ok {
            errors.push(
                "notifications.accent_color",
                format!("`{accent}` is not a colour like #1d4ed8"),
            );
        }
        let logo_ok = |url: &String| {
            (url.starts_with("https://") || url.starts_with("http://"))
                && !url.contains(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        };
        if let Some(url) = self.logo_url.as_ref().filter(|u| !logo_ok(u)) {
            errors.push(
                "notifications.logo_url",
                format!("`{url}` is not an http(s) address of an image"),
            );
        }
        NotificationSettings {
            template_dir: self.template_dir,
            retry_first: Duration::from_secs(self.retry_first_secs.max(1)),
            loop_limits,
            company: self.company,
            branding: Branding {
                logo_url: self.logo_url,
                accent_color: self.accent_color.to_ascii_lowercase(),
                show_priority: self.show_priority,
            },
        }
    }
}

/// The limits that parse; each one that does not is recorded with its place.
fn limits(key: &str, values: &[String], errors: &mut Errors) -> Vec<RateLimit> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| errors.check(format_args!("notifications.{key}[{i}]"), v.parse()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_limit_is_named_by_its_place() {
        let mut errors = Errors::default();
        let raw = RawNotifications {
            recipient_limits: vec!["10/10m".into(), "40 a day".into()],
            undeliverable_days: 400,
            ..RawNotifications::default()
        };
        let n = raw.validate(&mut errors);
        assert_eq!(n.loop_limits.per_recipient.len(), 1);
        assert_eq!(
            errors.into_messages(),
            [
                "notifications.undeliverable_days: 400 is over the most accepted, 365",
                "notifications.recipient_limits[1]: `40 a day` is not a limit like 10/10m (units s, m, h, d)",
            ]
        );
    }

    #[test]
    fn the_accent_is_a_colour_and_the_logo_an_http_address() {
        let mut errors = Errors::default();
        let raw = RawNotifications {
            accent_color: "blue".into(),
            logo_url: Some("javascript:alert(1)".into()),
            ..RawNotifications::default()
        };
        raw.validate(&mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "notifications.accent_color: `blue` is not a colour like #1d4ed8",
                "notifications.logo_url: `javascript:alert(1)` is not an http(s) address of an image",
            ]
        );
        let mut errors = Errors::default();
        let raw = RawNotifications {
            accent_color: "#0A7E3B".into(),
            logo_url: Some("https://acme.example/logo.png".into()),
            show_priority: false,
            ..RawNotifications::default()
        };
        let n = raw.validate(&mut errors);
        assert!(errors.into_messages().is_empty());
        assert_eq!(n.branding.accent_color, "#0a7e3b");
        assert!(!n.branding.show_priority);
    }
}
