//! `[http]`: the web server inside `ticketgate run` that answers the notifications' direct
//! links (the customer portal): where it listens, and how long a session opened by a link
//! lasts.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::error::Errors;

/// The `[http]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawHttp {
    /// `HOST:PORT`; empty turns the server off.
    listen: String,
    /// Days a session opened by a direct link lasts.
    session_days: u32,
}

impl Default for RawHttp {
    fn default() -> Self {
        Self {
            // Matches the default [portal] base_url, so that a fresh install's links open.
            listen: "127.0.0.1:8080".into(),
            session_days: 7,
        }
    }
}

/// The validated `[http]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Where the server listens; `None` when it is off.
    pub listen: Option<SocketAddr>,
    pub session_lifetime: Duration,
}

impl RawHttp {
    /// Validates `[http]`, recording each error with its key.
    pub(super) fn validate(self, errors: &mut Errors) -> HttpSettings {
        let listen = match self.listen.trim() {
            "" => None,
            text => errors.check(
                "http.listen",
                text.parse::<SocketAddr>().map_err(|_| {
                    format!("`{text}` is not an address and port like 127.0.0.1:8080 (empty turns the server off)")
                }),
            ),
        };
        if self.session_days == 0 {
            errors.push("http.session_days", "must be at least 1");
        }
        errors.at_most("http.session_days", self.session_days.into(), 365);
        HttpSettings {
            listen,
            session_lifetime: Duration::from_secs(u64::from(self.session_days) * 86_400),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_is_an_address_or_empty() {
        let mut errors = Errors::default();
        let http = RawHttp::default().validate(&mut errors);
        assert_eq!(http.listen, Some("127.0.0.1:8080".parse().unwrap()));
        let off = RawHttp {
            listen: String::new(),
            ..RawHttp::default()
        }
        .validate(&mut errors);
        assert_eq!(off.listen, None);
        assert!(errors.count() == 0);
        RawHttp {
            listen: "localhost".into(),
            session_days: 0,
        }
        .validate(&mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "http.listen: `localhost` is not an address and port like 127.0.0.1:8080 (empty turns the server off)",
                "http.session_days: must be at least 1",
            ]
        );
    }
}
