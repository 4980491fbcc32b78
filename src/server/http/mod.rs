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

use axum::{extract::ConnectInfo, http::request::Parts};
use std::net::SocketAddr;

/// The client as the devices page will show it: User-Agent and peer address.
pub fn client_of(parts: &Parts) -> crate::server::sessions::Client {
    crate::server::sessions::Client {
        user_agent: parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        ip: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip().to_string())
            .unwrap_or_default(),
    }
}
