//! Two-step verification (ssr only): an authenticator app (TOTP) and recovery codes.
//!
//! - **Setting up.** [`begin`] makes a pending secret (sealed at rest) and shows it once, as
//!   text and as a QR code; [`confirm`] switches it on when a current code from the app is
//!   entered, and answers the ten recovery codes — shown this once, stored hashed. Both
//!   changes, turning it off ([`turn_off`]) and new codes ([`renew_codes`]) are security
//!   events and mails.
//! - **Signing in.** A right password on an account with it on starts no session:
//!   [`challenge_if_on`] answers `second_factor_required` with a challenge
//!   (`tokens::challenge`), and [`second_factor`] finishes the sign-in with a code from the
//!   app or a recovery code. A code works once: its time step is taken in the same
//!   transaction that starts the session (`factors::totp::spend_step_in`), so a replay — on
//!   any instance — is refused; a recovery code is spent the same way. Wrong codes are
//!   throttled per account and client like passwords (a known device is never held up), and
//!   each costs the challenge one of its five tries.

use super::account::{circumstances, start_session_in, too_many};
use crate::{
    error::AppError,
    model::{SecondFactorState, TotpSetup, TwoStepStatus},
    server::{
        auth::AuthUser,
        client::Client,
        db::Tx,
        events::{self, EventKind},
        factors::{
            recovery_codes,
            totp::{self, Authenticator},
        },
        mail::{self, templates},
        sessions::start::SignedInWith,
        state::AppState,
        throttle::{Claimant, Endpoint, SecretCheck, Via},
        tokens::{challenge, link, Issued},
        users::{self, UserRow},
    },
};

const ISSUER: &str = "Gatehouse";

/// Whether the account has two-step verification on, and how many recovery codes are left.
pub async fn status(state: &AppState, user_id: &str) -> Result<TwoStepStatus, AppError> {
    let enabled = totp::is_on(&state.db, user_id).await?;
    let recovery_codes_left = if enabled { recovery_codes::left(&state.db, user_id).await? } else { 0 };
    Ok(TwoStepStatus { enabled, recovery_codes_left })
}

/// The security page's second factors: two-step verification's state and the passkeys.
pub async fn second_factors(state: &AppState, user_id: &str) -> Result<SecondFactorState, AppError> {
    let (two_step, passkeys) = tokio::try_join!(status(state, user_id), super::passkeys::list(state, user_id))?;
    Ok(SecondFactorState { two_step, passkeys })
}

/// Starts setting up an authenticator: a new secret, pending until [`confirm`]. Asking again
/// replaces a pending secret (the QR code scanned earlier stops counting).
pub async fn begin(state: &AppState, caller: &AuthUser, now: i64) -> Result<TotpSetup, AppError> {
    super::step_up::require_recent(state, caller, now).await?;
    let user = users::by_id(&state.db, &caller.user_id).await?.ok_or(AppError::InvalidToken)?;
    let (authenticator, secret) = Authenticator::generate();
    let sealed = state.sealer.seal(&user.id, &secret);
    if !totp::store_pending(&state.db, &user.id, &sealed, now).await? {
        return Err(AppError::TwoStepAlreadyOn);
    }
    let otpauth_uri = authenticator.uri(ISSUER, &user.email);
    tracing::info!(user_id = %user.id, "authenticator set-up started");
    Ok(TotpSetup { secret: authenticator.secret_text(), qr_svg: totp::qr_svg(&otpauth_uri), otpauth_uri })
}

/// Switches the pending authenticator on with a current code from it; returns the ten new
/// recovery codes (shown once).
pub async fn confirm(state: &AppState, caller: &AuthUser, client: &Client, code: &str, now: i64) -> Result<Vec<String>, AppError> {
    let user = users::by_id(&state.db, &caller.user_id).await?.ok_or(AppError::InvalidToken)?;
    let stored = totp::get(&state.db, &user.id).await?;
    let Some(stored) = stored.filter(|s| s.confirmed_at.is_none()) else {
        return Err(if totp::is_on(&state.db, &user.id).await? {
            AppError::TwoStepAlreadyOn
        } else {
            AppError::invalid_field("code", "Set up the authenticator app first")
        });
    };
    let claimant = Claimant { account: &user.id, ip: client.ip_addr(), via: Via::Session(&caller.session_id) };
    let attempt = state.throttle.admit(SecretCheck::SecondFactor, &claimant, now).await?;
    let secret = state.sealer.open(&user.id, &stored.secret_sealed).ok_or(AppError::Internal)?;
    let Some(step) = Authenticator::from_secret(&secret).matching_step(code, now) else {
        return Err(AppError::invalid_field("code", "That code is not right. Enter the code your app shows now."));
    };
    state.throttle.succeeded(attempt, now).await?;
    let mut tx = state.db.begin().await?;
    if !totp::confirm_in(&mut tx, &user.id, &stored.secret_sealed, step, now).await? {
        return Err(AppError::TwoStepAlreadyOn);
    }
    let codes = recovery_codes::generate();
    recovery_codes::replace_in(&mut tx, &user.id, &codes, now).await?;
    tell(&mut tx, &user, caller, client, EventKind::TwoStepEnabled, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    tracing::info!(user_id = %user.id, "two-step verification turned on");
    Ok(codes.iter().map(|c| c.to_string()).collect())
}

/// Turns two-step verification off: the authenticator and the recovery codes are gone.
pub async fn turn_off(state: &AppState, caller: &AuthUser, client: &Client, now: i64) -> Result<(), AppError> {
    super::step_up::require_recent(state, caller, now).await?;
    let user = users::by_id(&state.db, &caller.user_id).await?.ok_or(AppError::InvalidToken)?;
    let mut tx = state.db.begin().await?;
    let was_on = totp::remove_in(&mut tx, &user.id).await?;
    recovery_codes::remove_in(&mut tx, &user.id).await?;
    if was_on {
        tell(&mut tx, &user, caller, client, EventKind::TwoStepDisabled, now).await?;
    }
    tx.commit().await?;
    if was_on {
        state.mailer.wake();
        tracing::info!(user_id = %user.id, "two-step verification turned off");
    }
    Ok(())
}

/// Ten new recovery codes; the old ones stop working.
pub async fn renew_codes(state: &AppState, caller: &AuthUser, client: &Client, now: i64) -> Result<Vec<String>, AppError> {
    super::step_up::require_recent(state, caller, now).await?;
    let user = users::by_id(&state.db, &caller.user_id).await?.ok_or(AppError::InvalidToken)?;
    if !totp::is_on(&state.db, &user.id).await? {
        return Err(AppError::invalid_field("code", "Turn on two-step verification first"));
    }
    let mut tx = state.db.begin().await?;
    let codes = recovery_codes::generate();
    recovery_codes::replace_in(&mut tx, &user.id, &codes, now).await?;
    tell(&mut tx, &user, caller, client, EventKind::RecoveryCodesRenewed, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(codes.iter().map(|c| c.to_string()).collect())
}

/// The event and the mail of a change the person made in a session.
async fn tell(tx: &mut Tx, user: &UserRow, caller: &AuthUser, client: &Client, kind: EventKind, now: i64) -> Result<(), AppError> {
    let event = events::NewEvent {
        session_id: Some(&caller.session_id),
        actor_session_id: Some(&caller.session_id),
        client: Some(client),
        ..events::NewEvent::new(&user.id, kind)
    };
    events::record(tx, event, now).await?;
    let (subject, what) = match kind {
        EventKind::TwoStepEnabled => (
            "Two-step verification is on",
            "Two-step verification was turned on for your account: signing in now takes your password and a code from your authenticator app.",
        ),
        EventKind::TwoStepDisabled => (
            "Two-step verification is off",
            "Two-step verification was turned off for your account: your password alone signs in again.",
        ),
        _ => ("New recovery codes", "New recovery codes were made for your account; the old ones no longer work."),
    };
    let message = templates::security_change(&user.email, &user.display_name, &circumstances(client, now), subject, what);
    mail::queue::enqueue_in(tx, &message, now).await?;
    Ok(())
}

/// The step between a right password and a session: `second_factor_required` with a new
/// challenge when the account has two-step verification on; nothing otherwise.
pub async fn challenge_if_on(state: &AppState, user: &UserRow, now: i64) -> Result<(), AppError> {
    if !totp::is_on(&state.db, &user.id).await? {
        return Ok(());
    }
    let token = challenge::mint(&state.db, &user.id, &link::fingerprint(&user.password_hash), now).await?;
    tracing::info!(user_id = %user.id, "password right; waiting for the second factor");
    Err(AppError::SecondFactorRequired { challenge: token.expose().to_owned() })
}

/// Finishes a sign-in its password started: a code from the authenticator app, or a recovery
/// code, for the waiting `challenge`. Signs `client` in.
pub async fn second_factor(state: &AppState, challenge_text: &str, code: &str, client: &Client, now: i64) -> Result<Issued, AppError> {
    let result = finish_sign_in(state, challenge_text, code, client, now).await;
    crate::server::metrics::sign_in(&result);
    result
}

async fn finish_sign_in(state: &AppState, challenge_text: &str, code: &str, client: &Client, now: i64) -> Result<Issued, AppError> {
    state.throttle.request(Endpoint::Login, client.ip_addr()).map_err(too_many)?;
    let token = challenge::parse(challenge_text).ok_or(AppError::ChallengeExpired)?;
    let pending = challenge::find(&state.db, &token, now).await?.ok_or(AppError::ChallengeExpired)?;
    let user = users::by_id(&state.db, &pending.user_id).await?.ok_or(AppError::ChallengeExpired)?;
    if link::fingerprint(&user.password_hash) != pending.bound_to {
        return Err(AppError::ChallengeExpired); // the password changed since it was typed
    }
    let Some(stored) = totp::get(&state.db, &user.id).await?.filter(|s| s.confirmed_at.is_some()) else {
        return Err(AppError::ChallengeExpired); // turned off meanwhile: sign in again
    };
    let claimant = Claimant { account: &user.email, ip: client.ip_addr(), via: Via::SignIn { device_token: client.device_token.as_ref() } };
    let attempt = state.throttle.admit(SecretCheck::SecondFactor, &claimant, now).await?;

    let mut tx = state.db.begin().await?;
    let with = if recovery_codes::looks_like_one(code) {
        recovery_codes::spend_in(&mut tx, &user.id, code, now).await?.then_some(SignedInWith::PasswordAndRecoveryCode)
    } else {
        let secret = state.sealer.open(&user.id, &stored.secret_sealed).ok_or(AppError::Internal)?;
        match Authenticator::from_secret(&secret).matching_step(code, now) {
            // A step at or before the last one accepted is a replay: refused like a wrong code.
            Some(step) if totp::spend_step_in(&mut tx, &user.id, step).await? => Some(SignedInWith::PasswordAndCode),
            _ => None,
        }
    };
    let Some(with) = with else {
        drop(tx);
        challenge::fail(&state.db, &token).await?;
        tracing::info!(user_id = %user.id, "second factor refused");
        return Err(AppError::InvalidCode);
    };
    if !challenge::spend_in(&mut tx, &token, now).await? {
        return Err(AppError::ChallengeExpired);
    }
    if with == SignedInWith::PasswordAndRecoveryCode {
        let left = recovery_codes::left_in(&mut tx, &user.id).await?;
        let left_text = left.to_string();
        let event = events::NewEvent { client: Some(client), detail: Some(&left_text), ..events::NewEvent::new(&user.id, EventKind::RecoveryCodeUsed) };
        events::record(&mut tx, event, now).await?;
        let what = format!(
            "A recovery code was used to sign in to your account; {left} of your codes {} left. Make new ones from the security page if you are running low.",
            if left == 1 { "is" } else { "are" }
        );
        let message = templates::security_change(&user.email, &user.display_name, &circumstances(client, now), "A recovery code was used", &what);
        mail::queue::enqueue_in(&mut tx, &message, now).await?;
    }
    let issued = start_session_in(state, tx, &user, &user.password_hash, client, with, now).await?;
    state.throttle.succeeded(attempt, now).await?;
    if with == SignedInWith::PasswordAndRecoveryCode {
        state.mailer.wake();
    }
    Ok(issued)
}
