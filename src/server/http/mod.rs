//! HTTP surfaces that are not Leptos pages (ssr only).
//!
//! - `api`: the JSON API of SPEC.md's contract, for non-browser clients.
//! - `browser`: the browser's refresh endpoint and the guard that refreshes before a
//!   protected page renders.
//! - `json`: JSON bodies in and errors out, with stable codes.

pub mod api;
pub mod browser;
pub mod csrf;
pub mod headers;
pub mod json;
pub mod limits;
pub mod openapi;
pub mod server_fns;

use crate::server::state::AppState;
use axum::{extract::ConnectInfo, http::request::Parts};
use std::net::{IpAddr, SocketAddr};

/// The client as the devices page will show it: User-Agent and address.
pub fn client_of(state: &AppState, parts: &Parts) -> crate::server::sessions::Client {
    crate::server::sessions::Client {
        user_agent: parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        ip: client_ip(state, parts).map(|ip| ip.to_string()).unwrap_or_default(),
    }
}

/// The client's address: the connection's peer — or, when that peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not one of our proxies.
pub fn client_ip(state: &AppState, parts: &Parts) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ci| ci.0.ip())?;
    resolve_client_ip(peer, &parts.headers, &state.trusted_proxies)
}

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
