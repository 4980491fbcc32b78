//! The account's address (ssr only): proving it (verification) and moving to a new one.
//!
//! - **Verification.** Registering mails a link (24 hours) to the new address. Following it
//!   — a plain GET is enough, the one thing a link may do on opening — marks the address
//!   verified. Until then signed-in pages offer "Resend the link" (at most
//!   [`LINKS_PER_HOUR`] per account; more answer `too_many_attempts`). With
//!   `GATEHOUSE_REQUIRE_VERIFIED_EMAIL` a right password on an unverified account signs
//!   nobody in ("Verify your email address first"); the sign-in page can then ask for a new
//!   link by address, answered like "Forgot password?" (the same for every address).
//! - **Change.** Needs the current password (throttled like signing in). The link goes to
//!   the *new* address and works once, for 24 hours; the page it opens asks for one click (a
//!   POST). Confirming moves the account, counts the new address as verified, voids every
//!   link still out (reset links went to the old address), records the event, and tells the
//!   old address.
//!
//! Every link is bound to the address it was made under (`bound_to` = its fingerprint), so a
//! verification link dies when the address changes, and of two email changes in flight only
//! the first confirmed works.

use super::account::{circumstances, too_many};
use crate::{
    error::AppError,
    server::{
        auth::AuthUser,
        client::Client,
        db::Tx,
        events::{self, EventKind},
        mail::{self, templates},
        secret::Secret,
        state::AppState,
        throttle::{Claimant, Endpoint, SecretCheck, Via},
        tokens::link::{self, Purpose},
        users::{self, UserRow},
        validate,
    },
};

/// How long a verification or email-change link works.
pub const LINK_HOURS: i64 = 24;
/// Links of one kind mailed per account per hour at most.
pub const LINKS_PER_HOUR: i64 = 3;

/// Mails `user` a verification link, inside the caller's transaction (registration, or
/// "Resend the link" after [`room_for_link`]). Wake the mailer after commit.
pub(super) async fn mail_verification_in(tx: &mut Tx, state: &AppState, user: &UserRow, now: i64) -> Result<(), AppError> {
    let bound_to = link::fingerprint(&user.email);
    let token = link::mint_in(tx, &user.id, Purpose::VerifyEmail, &bound_to, LINK_HOURS * 3600, now).await?;
    let url = state.link(&format!("/verify-email?token={}", token.expose()));
    let message = templates::verify_email(&user.email, &user.display_name, &url, LINK_HOURS);
    mail::queue::enqueue_in(tx, &message, now).await?;
    Ok(())
}

/// Holds the account's row for the rest of the transaction and says whether another link of
/// `purpose` may be mailed this hour: `Err(seconds)` until a place frees up.
async fn room_for_link(tx: &mut Tx, user_id: &str, purpose: Purpose, now: i64) -> Result<Result<(), u64>, AppError> {
    if !users::lock_in(tx, user_id).await? {
        return Err(AppError::InvalidToken);
    }
    let since = now - 3600;
    if link::count_since_in(tx, user_id, purpose, since).await? < LINKS_PER_HOUR {
        return Ok(Ok(()));
    }
    let oldest = link::first_since_in(tx, user_id, purpose, since).await?.unwrap_or(now);
    Ok(Err((oldest + 3600 - now).max(1) as u64))
}

/// "Resend the link", signed in: a new verification link to the caller's address. Nothing
/// is sent when it is verified already.
pub async fn resend_verification(state: &AppState, caller: &AuthUser, client: &Client, now: i64) -> Result<(), AppError> {
    state.throttle.request(Endpoint::Recovery, client.ip_addr()).map_err(too_many)?;
    let user = users::by_id(&state.db, &caller.user_id).await?.ok_or(AppError::InvalidToken)?;
    if user.email_verified_at.is_some() {
        return Ok(());
    }
    let mut tx = state.db.begin().await?;
    if let Err(retry_after) = room_for_link(&mut tx, &user.id, Purpose::VerifyEmail, now).await? {
        return Err(too_many(retry_after));
    }
    mail_verification_in(&mut tx, state, &user, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    tracing::info!(user_id = %user.id, "verification link queued");
    Ok(())
}

/// "Resend the link" from the sign-in page (`GATEHOUSE_REQUIRE_VERIFIED_EMAIL`), by address:
/// answers at once and the same for every address, like "Forgot password?"; a link goes out
/// only to an account that exists, is unverified, and has room this hour.
pub fn resend_verification_to(state: &AppState, email: &str, client: &Client, now: i64) -> Result<(), AppError> {
    state.throttle.request(Endpoint::Recovery, client.ip_addr()).map_err(too_many)?;
    let email = validate::Email::parse(email).map_err(|m| AppError::invalid_field("email", m))?;
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        let sent = async {
            let Some(user) = users::by_email(&state.db, email.as_str()).await? else { return Ok(false) };
            if user.email_verified_at.is_some() {
                return Ok(false);
            }
            let mut tx = state.db.begin().await?;
            if room_for_link(&mut tx, &user.id, Purpose::VerifyEmail, now).await?.is_err() {
                return Ok(false);
            }
            mail_verification_in(&mut tx, &state, &user, now).await?;
            tx.commit().await?;
            Ok::<_, AppError>(true)
        };
        match sent.await {
            Ok(true) => state.mailer.wake(),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "a verification link could not be queued"),
        }
    });
    Ok(())
}

/// Follows a verification link: the address it was sent to is verified. Following it again
/// (or a second link for the same address) is `invalid_link`; so is a link for an address
/// the account no longer has.
pub async fn verify_email(state: &AppState, token: &str, client: &Client, now: i64) -> Result<(), AppError> {
    state.throttle.request(Endpoint::Recovery, client.ip_addr()).map_err(too_many)?;
    let token = link::parse(token).ok_or(AppError::InvalidLink)?;
    let mut tx = state.db.begin().await?;
    let spent = link::spend_in(&mut tx, &token, Purpose::VerifyEmail, now).await?.ok_or(AppError::InvalidLink)?;
    let user = users::by_id(&state.db, &spent.user_id).await?.ok_or(AppError::InvalidLink)?;
    if link::fingerprint(&user.email) != spent.bound_to || !users::mark_verified_in(&mut tx, &user.id, &user.email, now).await? {
        return Err(AppError::InvalidLink);
    }
    // The address is proven: the other verification links out for it are of no more use.
    link::void_all_in(&mut tx, &user.id, &[Purpose::VerifyEmail], now).await?;
    if user.email_verified_at.is_none() {
        let event = events::NewEvent { client: Some(client), ..events::NewEvent::new(&user.id, EventKind::EmailVerified) };
        events::record(&mut tx, event, now).await?;
    }
    tx.commit().await?;
    state.profiles.forget(&user.id);
    tracing::info!(user_id = %user.id, "email address verified");
    Ok(())
}

/// Asks to move the caller's account to `new_email`: checks the current password, then mails
/// a confirmation link to the new address. Returns the address it went to.
pub async fn request_email_change(
    state: &AppState,
    caller: &AuthUser,
    client: &Client,
    new_email: &str,
    current_password: &str,
    now: i64,
) -> Result<String, AppError> {
    let new_email = validate::Email::parse(new_email).map_err(|m| AppError::invalid_field("new_email", m))?;
    let user = users::by_id(&state.db, &caller.user_id).await?.ok_or(AppError::InvalidToken)?;
    let claimant = Claimant { account: &user.id, ip: client.ip_addr(), via: Via::Session(&caller.session_id) };
    let attempt = state.throttle.admit(SecretCheck::CurrentPassword, &claimant, now).await?;
    let verified = state.passwords.verify(&user.id, &Secret::new(current_password), Some(&user.password_hash)).await?;
    if !verified.matches {
        tracing::info!("current password check failed");
        return Err(AppError::invalid_field("current_password", "Your current password is not right"));
    }
    state.throttle.succeeded(attempt, now).await?;
    if new_email.as_str() == user.email {
        return Err(AppError::invalid_field("new_email", "This is already your address"));
    }
    // Registering with the address would say as much; the unique index decides in the end.
    if users::by_email(&state.db, new_email.as_str()).await?.is_some() {
        return Err(AppError::EmailTaken);
    }
    let mut tx = state.db.begin().await?;
    if let Err(retry_after) = room_for_link(&mut tx, &user.id, Purpose::ChangeEmail, now).await? {
        return Err(too_many(retry_after));
    }
    let bound_to = link::fingerprint(&user.email);
    let token =
        link::mint_with_in(&mut tx, &user.id, Purpose::ChangeEmail, &bound_to, Some(new_email.as_str()), LINK_HOURS * 3600, now).await?;
    let url = state.link(&format!("/confirm-email?token={}", token.expose()));
    let message = templates::confirm_new_email(new_email.as_str(), &user.display_name, &circumstances(client, now), &url, LINK_HOURS);
    mail::queue::enqueue_in(&mut tx, &message, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    tracing::info!(user_id = %user.id, "email change requested; confirmation link queued");
    Ok(new_email.as_str().to_owned())
}

/// The address an email-change link would move its account to, if it would still work (the
/// page it opens shows it; nothing changes).
pub async fn pending_email_change(state: &AppState, token: &str, now: i64) -> Result<Option<String>, AppError> {
    let Some(token) = link::parse(token) else { return Ok(None) };
    let Some(found) = link::peek(&state.db, &token, Purpose::ChangeEmail, now).await? else { return Ok(None) };
    let user = users::by_id(&state.db, &found.user_id).await?;
    Ok(found.new_email.filter(|_| user.is_some_and(|u| link::fingerprint(&u.email) == found.bound_to)))
}

/// Confirms an email change from the page its link opened (a POST): the account moves to the
/// new address, verified; every link still out dies; the old address is told. Returns the
/// new address.
pub async fn confirm_email_change(state: &AppState, token: &str, client: &Client, now: i64) -> Result<String, AppError> {
    state.throttle.request(Endpoint::Recovery, client.ip_addr()).map_err(too_many)?;
    let token = link::parse(token).ok_or(AppError::InvalidLink)?;
    let mut tx = state.db.begin().await?;
    let spent = link::spend_in(&mut tx, &token, Purpose::ChangeEmail, now).await?.ok_or(AppError::InvalidLink)?;
    let new_email = spent.new_email.ok_or(AppError::InvalidLink)?;
    let user = users::by_id(&state.db, &spent.user_id).await?.ok_or(AppError::InvalidLink)?;
    if link::fingerprint(&user.email) != spent.bound_to {
        return Err(AppError::InvalidLink);
    }
    match users::change_email_in(&mut tx, &user.id, &user.email, &new_email, now).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::InvalidLink),
        Err(e) if crate::server::db::is_unique_violation(&e) => return Err(AppError::EmailTaken),
        Err(e) => return Err(e.into()),
    }
    link::void_all_in(&mut tx, &user.id, &[Purpose::PasswordReset, Purpose::VerifyEmail, Purpose::ChangeEmail], now).await?;
    let event = events::NewEvent {
        client: Some(client),
        detail: Some(&new_email),
        ..events::NewEvent::new(&user.id, EventKind::EmailChanged)
    };
    events::record(&mut tx, event, now).await?;
    let notice = templates::email_changed(&user.email, &user.display_name, &circumstances(client, now), &new_email);
    mail::queue::enqueue_in(&mut tx, &notice, now).await?;
    tx.commit().await?;
    state.profiles.forget(&user.id);
    state.mailer.wake();
    tracing::info!(user_id = %user.id, "email address changed");
    Ok(new_email)
}
