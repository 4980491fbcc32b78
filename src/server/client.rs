//! Who is on the other end of a request (ssr only): the address and User-Agent that the
//! devices page and the security activity show, and the address that throttling counts.

use std::net::IpAddr;

/// Where a request came from, as the devices page shows it.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub user_agent: String,
    pub ip: String,
}

impl Client {
    /// The address as an address (empty when the peer was unknown).
    pub fn ip_addr(&self) -> Option<IpAddr> {
        self.ip.parse().ok()
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
