//! Getting back in (ssr only): "Forgot password?" mails a link; the link sets a new password.
//!
//! Asking for a link answers the same, in the same time, whether or not the address has an
//! account: the answer is given before anything is looked up, and the work (look-up, link,
//! mail) happens after it. Links are single-use, live 30 minutes, are stored only as hashes,
//! and die when the password changes by any route. Setting a new password signs out every
//! device, records the event, mails "your password was changed", and signs this browser in.

use super::account::{circumstances, issue, record_sign_in, too_many};
use crate::{
    error::AppError,
    server::{
        client::Client,
        events::{self, EndReason, EventKind},
        mail::{self, templates},
        sessions::{self, revoke::Why},
        state::AppState,
        throttle::Endpoint,
        tokens::{
            link::{self, Purpose},
            Issued,
        },
        users, validate,
    },
};

/// How long a reset link works.
pub const RESET_LINK_MINUTES: i64 = 30;
/// Reset links mailed per account per hour at most; more requests get the same answer and
/// send nothing (so nobody can flood someone's mailbox through us).
pub const RESET_LINKS_PER_HOUR: i64 = 3;

/// "Forgot password?": answers at once, the same for every address; a link is mailed when
/// the address has an account. Throttled per client address (here) and per account (in
/// the background work).
pub fn forgot_password(state: &AppState, email: &str, client: &Client, now: i64) -> Result<(), AppError> {
    state.throttle.request(Endpoint::Recovery, client.ip_addr()).map_err(too_many)?;
    let email = validate::Email::parse(email).map_err(|m| AppError::invalid_field("email", m))?;
    let (state, client) = (state.clone(), client.clone());
    tokio::spawn(async move {
        // The answer leaves first; nothing that depends on the address competes with it.
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        if let Err(e) = mail_reset_link(&state, email.as_str(), &client, now).await {
            tracing::warn!(error = %e, "a reset link could not be queued");
        }
    });
    Ok(())
}

/// Mails a reset link to the account with this address, if there is one that is enabled
/// and it has not had [`RESET_LINKS_PER_HOUR`] links this hour.
pub(super) async fn mail_reset_link(state: &AppState, email: &str, client: &Client, now: i64) -> Result<(), AppError> {
    let Some(user) = users::by_email(&state.db, email).await? else {
        return Ok(());
    };
    if user.disabled_at.is_some() {
        // A disabled account gets back in only through an operator: no link is sent.
        tracing::info!(user_id = %user.id, "reset link not sent: the account is disabled");
        return Ok(());
    }
    let mut tx = state.db.begin().await?;
    // The account's row is held until this commits (a no-op update), so requests for one
    // account count its links one after another and the hourly limit is exact.
    if !users::replace_password_hash_in(&mut tx, &user.id, &user.password_hash, &user.password_hash).await? {
        return Ok(()); // The password changed meanwhile; a link made now would be born dead.
    }
    if link::count_since_in(&mut tx, &user.id, Purpose::PasswordReset, now - 3600).await? >= RESET_LINKS_PER_HOUR {
        tracing::info!(user_id = %user.id, "reset link not sent: the account's hourly limit is reached");
        return Ok(());
    }
    let url = reset_link_in(&mut tx, state, &user, now).await?;
    let message = templates::password_reset(&user.email, &user.display_name, &circumstances(client, now), &url, RESET_LINK_MINUTES);
    mail::queue::enqueue_in(&mut tx, &message, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    tracing::info!(user_id = %user.id, "reset link queued");
    Ok(())
}

/// A new reset link for the account (stored as a hash inside `tx`, bound to its current
/// password): the URL to mail.
pub(super) async fn reset_link_in(tx: &mut crate::server::db::Tx, state: &AppState, user: &users::UserRow, now: i64) -> Result<String, AppError> {
    let bound_to = link::fingerprint(&user.password_hash);
    let token = link::mint_in(tx, &user.id, Purpose::PasswordReset, &bound_to, RESET_LINK_MINUTES * 60, now).await?;
    Ok(state.link(&format!("/reset-password?token={}", token.expose())))
}

/// Whether a reset link would still work (the page it opens asks; nothing changes).
pub async fn reset_link_usable(state: &AppState, token: &str, now: i64) -> Result<bool, AppError> {
    let Some(token) = link::parse(token) else {
        return Ok(false);
    };
    let Some(found) = link::peek(&state.db, &token, Purpose::PasswordReset, now).await? else {
        return Ok(false);
    };
    let user = users::by_id(&state.db, &found.user_id).await?;
    Ok(user.is_some_and(|u| u.disabled_at.is_none() && link::fingerprint(&u.password_hash) == found.bound_to))
}

/// Sets a new password through a reset link, signs out every session of the account, and
/// signs `client` in. An unknown, used or expired link, or one made before the password last
/// changed, is `invalid_link` — one answer for all.
pub async fn reset_password(state: &AppState, token: &str, new_password: &str, client: &Client, now: i64) -> Result<Issued, AppError> {
    state.throttle.request(Endpoint::Recovery, client.ip_addr()).map_err(too_many)?;
    let token = link::parse(token).ok_or(AppError::InvalidLink)?;
    let new = validate::new_password(new_password).map_err(|m| AppError::invalid_field("new_password", m))?;
    // A dead link costs no hashing.
    let Some(found) = link::peek(&state.db, &token, Purpose::PasswordReset, now).await? else {
        return Err(AppError::InvalidLink);
    };
    let hash = state.passwords.hash(&found.user_id, &new).await?;

    let mut tx = state.db.begin().await?;
    let spent = link::spend_in(&mut tx, &token, Purpose::PasswordReset, now).await?.ok_or(AppError::InvalidLink)?;
    let user = users::by_id(&state.db, &spent.user_id).await?.ok_or(AppError::InvalidLink)?;
    if link::fingerprint(&user.password_hash) != spent.bound_to
        || !users::replace_password_hash_in(&mut tx, &user.id, &user.password_hash, &hash).await?
        // Checked under the row lock just taken: a link mailed before the account was
        // disabled neither re-enables it nor signs it in.
        || crate::server::operators::disabled_in(&mut tx, &user.id).await?
    {
        // The password changed since the link was made (or while this ran): the link died
        // with it. Dropping the transaction leaves everything as it was.
        return Err(AppError::InvalidLink);
    }
    crate::server::operators::clear_reset_required_in(&mut tx, &user.id).await?;
    let why = Why { reason: EndReason::PasswordReset, actor_session_id: None };
    let reach = sessions::revoke::Reach::new(&state.sessions, &state.revoked);
    let ended = sessions::revoke::revoke_all_of_user_in(&mut tx, &user.id, None, why, reach, now).await?;
    let event = events::NewEvent { client: Some(client), ..events::NewEvent::new(&user.id, EventKind::PasswordReset) };
    events::record(&mut tx, event, now).await?;
    let started = sessions::start::start(&mut tx, &user.id, client, &state.sessions, now).await?;
    // No new-device alert: see `service::new_device` (this mailbox is told below).
    users::mark_first_sign_in_in(&mut tx, &user.id, now).await?;
    record_sign_in(&mut tx, &user.id, &started.session_id, client, false, started.signed_in_with, now).await?;
    let notice = templates::password_changed(&user.email, &user.display_name, &circumstances(client, now), &state.link("/forgot-password"));
    mail::queue::enqueue_in(&mut tx, &notice, now).await?;
    sessions::revoke::commit_and_list(tx, &state.revoked, ended.ids, now).await?;
    state.mailer.wake();
    tracing::info!(user_id = %user.id, signed_out = ended.live, "password reset through a link; every other session signed out");
    issue(state, &user, started, client, now).await
}
