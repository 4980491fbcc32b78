//! Step-up (ssr only): sensitive actions need a recent proof of who this is.
//!
//! Every access token carries `auth_time` and `amr`: when and how the person last proved who
//! they are in its session. Signing in sets them; a refresh carries them over unchanged
//! (refreshing is not authenticating); [`reauthenticate`] — "Confirm it's you" — renews them.
//! [`require_recent`] guards changing the password or the address, switching two-step
//! verification on or off and making new recovery codes: older than
//! `GATEHOUSE_STEP_UP_MAX_AGE` (10 minutes), the answer is 403 `reauthentication_required`,
//! and the pages ask for the password (and a code, with two-step verification on) — or one of
//! the person's passkeys (`passkeys::reauthenticate`) — and then carry on with what the
//! person asked for. Adding and removing a passkey are guarded too.
//!
//! "Sign out everywhere" is deliberately not guarded: it only ends sessions, and an emergency
//! brake must never be harder to pull.

use super::account::too_many;
use crate::{
    error::AppError,
    server::{
        auth::AuthUser,
        client::Client,
        factors::totp::{self, Authenticator},
        secret::Secret,
        sessions,
        state::AppState,
        throttle::{Claimant, Endpoint, SecretCheck, Via},
        tokens::access,
        users,
    },
};

/// Ok when the caller proved who they are recently enough for a sensitive action.
pub async fn require_recent(state: &AppState, caller: &AuthUser, now: i64) -> Result<(), AppError> {
    if caller.claims.auth_time.saturating_add(state.step_up_max_age) >= now {
        return Ok(());
    }
    let two_step = totp::is_on(&state.db, &caller.user_id).await?;
    let passkey = !crate::server::factors::passkeys::list(&state.db, &caller.user_id).await?.is_empty();
    Err(AppError::ReauthenticationRequired { two_step, passkey })
}

fn wrong_code() -> AppError {
    AppError::invalid_field("code", "That code is not right. Enter the code your app shows now.")
}

/// A fresh access token after "Confirm it's you".
#[derive(Debug)]
pub struct Confirmed {
    pub access_token: Secret,
    pub claims: access::AccessClaims,
    pub user: crate::model::User,
    /// The session's absolute end (the access cookie lives as long).
    pub session_ends_at: i64,
}

/// "Confirm it's you": the password, and a code from the authenticator app when two-step
/// verification is on. Renews the session's `auth_time` and answers an access token that
/// carries it; the refresh token stays as it is. Checks are throttled like the current
/// password's; a code works once, as at sign-in.
pub async fn reauthenticate(
    state: &AppState,
    caller: &AuthUser,
    client: &Client,
    password: &str,
    code: Option<&str>,
    now: i64,
) -> Result<Confirmed, AppError> {
    state.throttle.request(Endpoint::Login, client.ip_addr()).map_err(too_many)?;
    let user = users::by_id(&state.db, &caller.user_id).await?.ok_or(AppError::InvalidToken)?;
    let claimant = Claimant { account: &user.id, ip: client.ip_addr(), via: Via::Session(&caller.session_id) };
    let attempt = state.throttle.admit(SecretCheck::CurrentPassword, &claimant, now).await?;
    let verified = state.passwords.verify(&user.id, &Secret::new(password), Some(&user.password_hash)).await?;
    if !verified.matches {
        tracing::info!("step-up: the password is not right");
        return Err(AppError::invalid_field("password", "Your password is not right"));
    }
    let stored = totp::get(&state.db, &user.id).await?.filter(|s| s.confirmed_at.is_some());
    let step = match &stored {
        None => None,
        Some(stored) => {
            let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
                return Err(AppError::invalid_field("code", "Enter the code from your authenticator app"));
            };
            let secret = state.sealer.open(&user.id, &stored.secret_sealed).ok_or(AppError::Internal)?;
            let Some(step) = Authenticator::from_secret(&secret).matching_step(code, now) else {
                return Err(wrong_code());
            };
            Some(step)
        }
    };
    // (Before the transaction: on SQLite the throttle's own write would wait for it.)
    state.throttle.succeeded(attempt, now).await?;
    // The proof is complete now, not when the request arrived: a hash that waited its turn
    // under load must not eat into the window it opens.
    let now = now.max(crate::server::clock::now());
    let mut tx = state.db.begin().await?;
    let amr = match step {
        None => "pwd",
        // A code already used (here or at sign-in) does not confirm again.
        Some(step) if totp::spend_step_in(&mut tx, &user.id, step).await? => "pwd otp",
        Some(_) => return Err(wrong_code()),
    };
    let Some(session_ends_at) = sessions::confirmed_in(&mut tx, &caller.session_id, amr, now).await? else {
        return Err(AppError::SessionRevoked);
    };
    tx.commit().await?;
    let subject = access::Subject { user_id: &user.id, session_id: &caller.session_id, session_ends_at, auth_time: now, amr, operator: user.operator_since.is_some() };
    let (token, claims) = access::mint_for(&state.keys.current(), &state.access, &subject, now)?;
    tracing::info!(user_id = %user.id, session_id = %caller.session_id, "identity confirmed (step-up)");
    Ok(Confirmed { access_token: Secret::new(token), claims, user: user.public(), session_ends_at })
}
