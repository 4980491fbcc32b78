//! Who is on the other end of a request (ssr only): the address and User-Agent that the
//! devices page and the security activity show, the device token it presented, and the
//! address that throttling counts ([`CountedAddress`]).

use crate::server::secret::Secret;
use std::net::{IpAddr, Ipv6Addr};

/// Where a request came from, as the devices page shows it.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub user_agent: String,
    pub ip: String,
    /// The device token it presented (the device cookie, or the API's `device_token` field),
    /// well-formed but not yet looked up: see `server::known_devices`.
    pub device_token: Option<Secret>,
}

impl Client {
    /// The address as an address (empty when the peer was unknown).
    pub fn ip_addr(&self) -> Option<IpAddr> {
        self.ip.parse().ok()
    }
}

/// A client address as rate limits and failure counters count it: an IPv4 address as it is;
/// an IPv6 address by its /64, since one subscriber's network is a /64 (or larger) and its
/// holder can use any of its 2^64 addresses; an IPv4-mapped IPv6 address as the IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountedAddress(IpAddr);

impl CountedAddress {
    pub fn of(ip: IpAddr) -> Self {
        CountedAddress(match ip.to_canonical() {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        })
    }
}

/// `203.0.113.9`, or `2001:db8:1:2::/64`.
impl std::fmt::Display for CountedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// The client's address: the connection's `peer` — or, when that peer is a trusted proxy,
/// the nearest address in `X-Forwarded-For` that is not one of our proxies.
pub fn resolve_client_ip(peer: IpAddr, headers: &http::HeaderMap, trusted: &[ipnet::IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // Walk from the right (the hop our proxy added) past our own proxies.
    Some(forwarded.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(ip: &str) -> String {
        CountedAddress::of(ip.parse().unwrap()).to_string()
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_ipv4_clients_by_their_address() {
        assert_eq!(counted("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(counted("2001:db8:1:2:ffff:ffff:ffff:fffe"), "2001:db8:1:2::/64");
        assert_eq!(CountedAddress::of("2001:db8:1:2::1".parse().unwrap()), CountedAddress::of("2001:db8:1:2:abcd::9".parse().unwrap()));
        assert_ne!(CountedAddress::of("2001:db8:1:2::1".parse().unwrap()), CountedAddress::of("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(counted("203.0.113.9"), "203.0.113.9");
        assert_ne!(CountedAddress::of("203.0.113.9".parse().unwrap()), CountedAddress::of("203.0.113.10".parse().unwrap()));
        // The same IPv4 client, written as an IPv4-mapped IPv6 address, is the same client.
        assert_eq!(counted("::ffff:203.0.113.9"), "203.0.113.9");
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = http::HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.1.1.1".parse().unwrap());
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let stranger: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(resolve_client_ip(proxy, &h, &trusted), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(resolve_client_ip(stranger, &h, &trusted), Some(stranger));
        assert_eq!(resolve_client_ip(proxy, &http::HeaderMap::new(), &trusted), Some(proxy));
        // A client cannot spoof its way past: the leftmost entry it made up is never reached
        // while an untrusted hop stands to its right.
        h.insert("x-forwarded-for", "1.2.3.4, 203.0.113.9".parse().unwrap());
        assert_eq!(resolve_client_ip(proxy, &h, &trusted), Some("203.0.113.9".parse().unwrap()));
    }
}
