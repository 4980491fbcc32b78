//! Tokens (ssr only): where they are minted and verified.
//!
//! - `keys`: the Ed25519 signing keys, created on first start, published as a JWKS.
//! - `access`: the short-lived JWT access token — minted at sign-in and refresh, verified on
//!   every protected request.
//! - `verified_cache`: access tokens already verified, so a repeat skips the signature check.
//! - `refresh`: the long-lived opaque refresh token — generated, hashed, and its successor
//!   derived. What happens when one is presented lives in `sessions::rotate`.
//! - `link`: the single-use tokens in links we mail (reset a password) — minted, hashed,
//!   spent.
//! - `refresh_secret`: where the secret that derives successors comes from (never the
//!   database).
//! - `challenge`: the sign-in step between a right password and a session when two-step
//!   verification is on — minted, failed, spent.

pub mod access;
pub mod challenge;
pub mod keys;
pub mod link;
pub mod refresh;
pub mod refresh_secret;
pub mod verified_cache;

use crate::{model::User, server::secret::Secret};

/// A token pair handed to a client after sign-in or refresh (and, after a sign-in, a device
/// token).
#[derive(Debug)]
pub struct Issued {
    pub user: User,
    pub session_id: String,
    pub access_token: Secret,
    pub access_claims: access::AccessClaims,
    pub refresh_token: Secret,
    pub refresh_expires_at: i64,
    /// After a sign-in: this client's new device token (`server::known_devices`).
    pub device_token: Option<Secret>,
}
