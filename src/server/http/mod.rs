//! HTTP surfaces that are not Leptos pages (ssr only).
//!
//! - `admin`: the operators' part of the JSON API (`/api/v1/admin/…`).
//! - `api`: the JSON API of SPEC.md's contract, for non-browser clients.
//! - `browser`: the browser's refresh endpoint and the guard that refreshes before a
//!   protected page renders.
//! - `forward`: `GET /auth/forward`, the forward-auth check reverse proxies ask before
//!   letting a request through to another app.
//! - `json`: JSON bodies in, and the one error body out, with stable codes.
//! - `passkeys`: the JSON API's passkey routes (WebAuthn ceremonies).
//! - `pipeline`: what stands in front of every route, as one layer: the checks of `limits`,
//!   `csrf` and `browser`'s page guard, `server_fns`' error answers and `headers`.
//! - `openapi`: the API's OpenAPI document, generated from `api`'s annotations.
//! - `server_fns`: server-function errors with the status that fits them.

pub mod admin;
pub mod api;
pub mod browser;
pub mod csrf;
pub mod forward;
pub mod headers;
pub mod json;
pub mod limits;
pub mod openapi;
pub mod passkeys;
pub mod pipeline;
pub mod server_fns;

use crate::server::{client::{resolve_client_ip, Client}, state::AppState};
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};
use std::net::{IpAddr, SocketAddr};

/// The client as the devices page will show it: User-Agent and address; and the device token
/// its cookie holds, if any.
pub fn client_of(state: &AppState, parts: &Parts) -> Client {
    Client {
        device_token: state.cookies.device_token_from_headers(&parts.headers),
        user_agent: parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        ip: client_ip(state, parts).map(|ip| ip.to_string()).unwrap_or_default(),
    }
}

/// The client as an extractor, for handlers that also read a body.
impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(client_of(state, parts))
    }
}

/// The client's address (see [`resolve_client_ip`]).
pub fn client_ip(state: &AppState, parts: &Parts) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ci| ci.0.ip())?;
    resolve_client_ip(peer, &parts.headers, &state.trusted_proxies)
}
