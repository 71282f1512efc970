//! Who is on the other end of a request: the peer's address, or, when the peer is a
//! reverse proxy named in `[http] trusted_proxies`, the client that proxy says it serves
//! (`X-Forwarded-For`) and whether it reached the proxy over https (`X-Forwarded-Proto`).
//! A header from any other peer is ignored: anyone can write one.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use super::Portal;

/// The client of a request, as far as it can be believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub address: IpAddr,
    /// A trusted proxy says the client came over https.
    pub https: bool,
}

impl FromRequestParts<Portal> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Self, Infallible> {
        // Without the connection's address (a router served without it, as in unit
        // tests), all requests count as one client: limits then apply to them together.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(client_of(peer, &parts.headers, &portal.trusted_proxies))
    }
}

/// The client behind `peer`: `X-Forwarded-For` is read from its end (the hop our proxy
/// added) back, through the proxies we trust, to the first address we do not.
fn client_of(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> Client {
    let trusted = |ip: &IpAddr| proxies.iter().any(|n| n.contains(ip));
    if !trusted(&peer) {
        return Client {
            address: peer,
            https: false,
        };
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut address = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = hop_address(hop) else { break };
        address = ip;
        if !trusted(&ip) {
            break;
        }
    }
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    Client { address, https }
}

/// A hop of `X-Forwarded-For`: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let forwarded = headers(&[
            ("x-forwarded-for", "198.51.100.7, 10.0.0.2"),
            ("x-forwarded-proto", "https"),
        ]);
        let stranger = client_of(ip("203.0.113.9"), &forwarded, &proxies);
        assert_eq!(
            stranger,
            Client {
                address: ip("203.0.113.9"),
                https: false
            }
        );
        let proxied = client_of(ip("10.0.0.1"), &forwarded, &proxies);
        assert_eq!(
            proxied,
            Client {
                address: ip("198.51.100.7"),
                https: true
            }
        );
    }

    #[test]
    fn a_client_cannot_hide_behind_an_address_it_wrote_itself() {
        let proxies: Vec<IpNet> = vec!["10.0.0.1/32".parse().unwrap()];
        // The client wrote "1.2.3.4" itself; our proxy appended the address it saw.
        let forwarded = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7")]);
        assert_eq!(
            client_of(ip("10.0.0.1"), &forwarded, &proxies).address,
            ip("198.51.100.7")
        );
        // Two headers count as one list; a hop with a port is read too.
        let two = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "[2001:db8::7]:4711"),
        ]);
        assert_eq!(
            client_of(ip("10.0.0.1"), &two, &proxies).address,
            ip("2001:db8::7")
        );
        // Garbage stops the walk at the last address believed.
        let garbage = headers(&[("x-forwarded-for", "unknown")]);
        assert_eq!(
            client_of(ip("10.0.0.1"), &garbage, &proxies).address,
            ip("10.0.0.1")
        );
    }
}
