//! `[http]`: the web server inside `ticketgate run` that answers the notifications' direct
//! links (the customer portal): where it listens, how long a session opened by a link
//! lasts, how often a stranger may ask for fresh links or try links that do not open, and
//! which reverse proxies are believed about the client's address.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use super::error::Errors;
use super::limits::RateLimit;

/// The `[http]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawHttp {
    /// `HOST:PORT`; empty turns the server off.
    listen: String,
    /// Days a session opened by a direct link lasts.
    session_days: u32,
    /// Seconds a client has to send a request's headers, and then the server to answer.
    request_timeout_secs: u64,
    /// Mails of fresh links one address may be sent (`MAX/WINDOW`).
    fresh_links_per_address: String,
    /// Requests for fresh links one client address may make.
    fresh_links_per_client: String,
    /// Links that do not open, from one client address, before it is turned away.
    failed_links_per_client: String,
    /// Proxies (addresses or networks) whose `X-Forwarded-For` and `X-Forwarded-Proto`
    /// are believed.
    trusted_proxies: Vec<String>,
    /// Seconds the oldest due notification may wait before `/readyz` says the outbox is
    /// stuck.
    ready_outbox_max_age_secs: u64,
    /// `HOST:PORT` of a listener of its own for `/metrics`; empty serves it on `listen`.
    metrics_listen: String,
}

impl Default for RawHttp {
    fn default() -> Self {
        Self {
            // Matches the default [portal] base_url, so that a fresh install's links open.
            listen: "127.0.0.1:8080".into(),
            session_days: 7,
            request_timeout_secs: 30,
            fresh_links_per_address: "3/1h".into(),
            fresh_links_per_client: "20/1h".into(),
            failed_links_per_client: "30/10m".into(),
            trusted_proxies: Vec::new(),
            ready_outbox_max_age_secs: 600,
            metrics_listen: String::new(),
        }
    }
}

/// The validated `[http]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Where the server listens; `None` when it is off.
    pub listen: Option<SocketAddr>,
    pub session_lifetime: Duration,
    pub request_timeout: Duration,
    pub fresh_links_per_address: RateLimit,
    pub fresh_links_per_client: RateLimit,
    pub failed_links_per_client: RateLimit,
    pub trusted_proxies: Vec<IpNet>,
    /// How long the oldest due notification may wait before `/readyz` fails.
    pub ready_outbox_max_age: Duration,
    /// Where `/metrics` is served on its own; `None` serves it beside the portal.
    pub metrics_listen: Option<SocketAddr>,
}

impl HttpSettings {
    /// Whether the peer at `address` is a proxy we believe.
    pub fn trusts_proxy(&self, address: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(&address))
    }
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
        if self.request_timeout_secs == 0 {
            errors.push("http.request_timeout_secs", "must be at least 1");
        }
        errors.at_most("http.request_timeout_secs", self.request_timeout_secs, 600);
        let mut limit = |key: &str, text: &str, default: &str| {
            errors
                .check(format!("http.{key}"), text.parse::<RateLimit>())
                .unwrap_or_else(|| default.parse().expect("a valid default"))
        };
        let fresh_links_per_address = limit(
            "fresh_links_per_address",
            &self.fresh_links_per_address,
            "3/1h",
        );
        let fresh_links_per_client = limit(
            "fresh_links_per_client",
            &self.fresh_links_per_client,
            "20/1h",
        );
        let failed_links_per_client = limit(
            "failed_links_per_client",
            &self.failed_links_per_client,
            "30/10m",
        );
        if self.ready_outbox_max_age_secs == 0 {
            errors.push("http.ready_outbox_max_age_secs", "must be at least 1");
        }
        let metrics_listen = match self.metrics_listen.trim() {
            "" => None,
            text => errors.check(
                "http.metrics_listen",
                text.parse::<SocketAddr>().map_err(|_| {
                    format!("`{text}` is not an address and port like 127.0.0.1:9090 (empty serves /metrics on http.listen)")
                }),
            ),
        };
        if metrics_listen.is_some() && metrics_listen == listen {
            errors.push(
                "http.metrics_listen",
                "is the same address as http.listen; leave it empty to serve /metrics there",
            );
        }
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .filter_map(|text| errors.check("http.trusted_proxies", proxy(text)))
            .collect();
        HttpSettings {
            listen,
            session_lifetime: Duration::from_secs(u64::from(self.session_days) * 86_400),
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            fresh_links_per_address,
            fresh_links_per_client,
            failed_links_per_client,
            trusted_proxies,
            ready_outbox_max_age: Duration::from_secs(self.ready_outbox_max_age_secs.max(1)),
            metrics_listen,
        }
    }
}

/// A trusted proxy: one address (`10.0.0.5`, `::1`) or a network (`10.0.0.0/8`).
fn proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{text}` is not an address or a network like 10.0.0.0/8"))
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
            fresh_links_per_address: "3 an hour".into(),
            trusted_proxies: vec!["10.0.0.0/8".into(), "::1".into(), "proxy".into()],
            ..RawHttp::default()
        }
        .validate(&mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "http.listen: `localhost` is not an address and port like 127.0.0.1:8080 (empty turns the server off)",
                "http.session_days: must be at least 1",
                "http.fresh_links_per_address: `3 an hour` is not a limit like 10/10m (units s, m, h, d)",
                "http.trusted_proxies: `proxy` is not an address or a network like 10.0.0.0/8",
            ]
        );
    }

    #[test]
    fn monitoring_keys_are_checked() {
        let mut errors = Errors::default();
        let http = RawHttp::default().validate(&mut errors);
        assert_eq!(http.ready_outbox_max_age, Duration::from_secs(600));
        assert_eq!(http.metrics_listen, None);
        let http = RawHttp {
            metrics_listen: "127.0.0.1:9464".into(),
            ..RawHttp::default()
        }
        .validate(&mut errors);
        assert_eq!(http.metrics_listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(errors.count(), 0);
        RawHttp {
            ready_outbox_max_age_secs: 0,
            metrics_listen: "metrics".into(),
            ..RawHttp::default()
        }
        .validate(&mut errors);
        RawHttp {
            metrics_listen: "127.0.0.1:8080".into(),
            ..RawHttp::default()
        }
        .validate(&mut errors);
        assert_eq!(
            errors.into_messages(),
            [
                "http.ready_outbox_max_age_secs: must be at least 1",
                "http.metrics_listen: `metrics` is not an address and port like 127.0.0.1:9090 (empty serves /metrics on http.listen)",
                "http.metrics_listen: is the same address as http.listen; leave it empty to serve /metrics there",
            ]
        );
    }

    #[test]
    fn proxies_are_addresses_or_networks() {
        let mut errors = Errors::default();
        let http = RawHttp {
            trusted_proxies: vec!["10.0.0.0/8".into(), "::1".into()],
            ..RawHttp::default()
        }
        .validate(&mut errors);
        assert!(http.trusts_proxy("10.1.2.3".parse().unwrap()));
        assert!(http.trusts_proxy("::1".parse().unwrap()));
        assert!(!http.trusts_proxy("192.168.1.1".parse().unwrap()));
        assert!(
            !RawHttp::default()
                .validate(&mut errors)
                .trusts_proxy("127.0.0.1".parse().unwrap())
        );
    }
}
