//! Who is calling (ssr only): the access token, verified, as one typed value.
//!
//! The token comes from `Authorization: Bearer …` (API clients) or the access cookie
//! (browsers). Verification is `tokens::access::verify` (a token seen before skips the
//! signature check, see `tokens::verified_cache`) plus one lookup in the in-memory revocation
//! list on every request, so a signed-out session is refused on its very next request.

use crate::{
    error::AppError,
    server::{
        clock,
        state::AppState,
        tokens::{
            access::{self, AccessError},
            verified_cache::VerifiedToken,
        },
    },
};
use std::sync::Arc;
use axum::{extract::FromRequestParts, http::request::Parts};
use http::HeaderMap;

/// A verified caller: `user_id`, `session_id`, `claims` and `kid` (the key that signed the
/// token) of a [`VerifiedToken`], shared with the verified cache — a request with a token
/// seen before copies nothing.
#[derive(Debug, Clone)]
pub struct AuthUser(Arc<VerifiedToken>);

impl std::ops::Deref for AuthUser {
    type Target = VerifiedToken;

    fn deref(&self) -> &VerifiedToken {
        &self.0
    }
}

/// Finds and verifies the caller's access token (read in place from the headers).
pub fn authenticate(state: &AppState, headers: &HeaderMap, now: i64) -> Result<AuthUser, AppError> {
    let token = if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| AppError::InvalidToken)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AppError::InvalidToken)?;
        token.trim()
    } else {
        state.cookies.access_token_in_headers(headers).ok_or(AppError::InvalidToken)?
    };
    verify(state, token, now)
}

/// Verifies one access token as [`authenticate`] does: signature (or the verified cache),
/// claims, and the revocation list.
pub fn verify(state: &AppState, token: &str, now: i64) -> Result<AuthUser, AppError> {
    let verified = access::verify_cached(&state.verified, &state.keys.current(), &state.access, token, now).map_err(|e| match e {
        AccessError::Expired => AppError::TokenExpired,
        AccessError::Invalid => AppError::InvalidToken,
    })?;
    if state.revoked.is_revoked(&verified.session_id) {
        // The contract knows `invalid_token` here; the client then tries a refresh, which
        // answers `session_revoked`.
        return Err(AppError::InvalidToken);
    }
    Ok(AuthUser(verified))
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        authenticate(state, &parts.headers, clock::now())
    }
}
