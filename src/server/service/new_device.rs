//! New-device sign-in alerts and "This wasn't me" (ssr only).
//!
//! **When the owner is mailed.** A password sign-in (the browser's and `POST
//! /api/v1/auth/login` alike) from a device the account does not know. A device is known
//! when the device token it presents (the `gh_device` cookie, or the API's `device_token`) is
//! recognised for this account (`known_devices::recognise`), asked before the sign-in renews
//! that token. The User-Agent is never part of the decision: anyone can send any; the mail
//! names the device only as the browser describes itself.
//!
//! Not mailed about:
//! - the account's **first sign-in** (`users.first_sign_in_at` still empty: right after
//!   registering, in the browser or through the API) — nobody else can have the password of
//!   an account that has never been used, and the owner would be told about their own
//!   registration;
//! - a sign-in that **sets a new password through a reset link** (`service::recovery`): whoever
//!   does it has just proved they read the account's mail, and that very mailbox gets "Your
//!   password was changed" with the device, address and time in the same transaction; a
//!   second message would say the same thing, and its "This wasn't me" could only end the
//!   session that holds the new password. That browser becomes a known device all the same.
//!
//! **The alert** is queued in the sign-in's own transaction (the session, its `signed_in`
//! event marked `new_device`, the link and the mail: all or nothing) and sent after commit.
//! Its "This wasn't me" link carries a link token ([`Purpose::NotMe`], 256 bits, stored
//! hashed, single use) bound to the new session, for [`NOT_ME_LINK_DAYS`] days — the default
//! idle lifetime of a session: long enough for mail read days later, short enough that an
//! old message holds nothing live for long.
//!
//! **The link's page** (`/not-me?token=…`) shows the sign-in and changes nothing (mail
//! scanners open links). Its one button (a POST, from any device, signed in or not) spends
//! the token and, in one transaction: ends that session at once (revocation list and, on
//! PostgreSQL, NOTIFY), forgets that device for the account, records the event, and mails a
//! fresh 30-minute reset link. The reset link goes to the mailbox rather than straight into
//! the answer: a "This wasn't me" link lives days and sits in mail that scanners and
//! forwarding copy around, and turning it into the power to set the password would make a
//! 7-day reset link of it; whoever holds it can end one session and make us mail the owner,
//! no more.

use super::{account::circumstances, recovery::RESET_LINK_MINUTES};
use crate::{
    error::AppError,
    model::ReportedSignIn,
    server::{
        client::Client,
        clock::rfc3339,
        db::Tx,
        events::{self, EndReason, EventKind},
        known_devices,
        mail::{self, templates},
        sessions::{self, revoke::Why},
        state::AppState,
        throttle::Endpoint,
        tokens::link::{self, Purpose},
        user_agent,
        users::{self, UserRow},
    },
};

/// How long a "This wasn't me" link works.
pub const NOT_ME_LINK_DAYS: i64 = 7;

/// Whether `client` signs in from a device the account of `email` knows. Asked before the
/// sign-in renews the device token.
pub(super) async fn is_known(state: &AppState, client: &Client, email: &str, now: i64) -> Result<bool, sqlx::Error> {
    match &client.device_token {
        Some(token) => Ok(known_devices::recognise(&state.db, token, email, now).await?.is_some()),
        None => Ok(false),
    }
}

/// Inside a sign-in's transaction, right after its session started: whether the owner is
/// to be told (the device is not `known`, and this is not the account's first sign-in).
/// The first sign-in is noted here.
pub(super) async fn alert_due_in(tx: &mut Tx, user_id: &str, known: bool, now: i64) -> Result<bool, sqlx::Error> {
    let first = users::mark_first_sign_in_in(tx, user_id, now).await?;
    Ok(!known && !first)
}

/// Queues "New sign-in to your account" with its "This wasn't me" link for `session_id`,
/// inside the sign-in's transaction. The caller wakes the mailer after commit.
pub(super) async fn queue_alert_in(
    tx: &mut Tx,
    state: &AppState,
    user: &UserRow,
    session_id: &str,
    client: &Client,
    now: i64,
) -> Result<(), sqlx::Error> {
    let token = link::mint_in(tx, &user.id, Purpose::NotMe, session_id, NOT_ME_LINK_DAYS * 86400, now).await?;
    let url = state.link(&format!("/not-me?token={}", token.expose()));
    let message = templates::new_sign_in(&user.email, &user.display_name, &circumstances(client, now), &url, NOT_ME_LINK_DAYS);
    mail::queue::enqueue_in(tx, &message, now).await?;
    tracing::info!(user_id = %user.id, session_id = %session_id, "sign-in from a new device; the owner is mailed");
    Ok(())
}

/// The sign-in a "This wasn't me" link is about, while the link would still work; `None`
/// for an unknown, used or expired link. Changes nothing.
pub async fn reported_sign_in(state: &AppState, token: &str, now: i64) -> Result<Option<ReportedSignIn>, AppError> {
    let Some(token) = link::parse(token) else {
        return Ok(None);
    };
    let Some(found) = link::peek(&state.db, &token, Purpose::NotMe, now).await? else {
        return Ok(None);
    };
    let Some(session) = sessions::find(&state.db, &found.bound_to).await?.filter(|s| s.user_id == found.user_id) else {
        // Pruned long after it ended: nothing to show but the button still does its part.
        return Ok(Some(ReportedSignIn {
            device: "a device".into(),
            ip: String::new(),
            at: String::new(),
            when: String::new(),
            still_signed_in: false,
        }));
    };
    let at = rfc3339(session.created_at);
    Ok(Some(ReportedSignIn {
        device: user_agent::parse(&session.user_agent).label(),
        ip: session.ip.clone(),
        when: crate::time::exact(&at),
        at,
        still_signed_in: session.revoked_at.is_none() && session.expires_at > now,
    }))
}

/// "This wasn't me": spends the link, ends the session it names at once, forgets that
/// device for the account, records the event and mails a fresh reset link — all in one
/// transaction. An unknown, used or expired link is `invalid_link`; of two requests with one
/// link exactly one does anything.
pub async fn not_me(state: &AppState, token: &str, client: &Client, now: i64) -> Result<(), AppError> {
    state.throttle.request(Endpoint::Recovery, client.ip_addr()).map_err(super::account::too_many)?;
    let token = link::parse(token).ok_or(AppError::InvalidLink)?;
    let mut tx = state.db.begin().await?;
    let spent = link::spend_in(&mut tx, &token, Purpose::NotMe, now).await?.ok_or(AppError::InvalidLink)?;
    let user = users::by_id(&state.db, &spent.user_id).await?.ok_or(AppError::InvalidLink)?;
    let session_id = spent.bound_to.as_str();

    let why = Why { reason: EndReason::ReportedByOwner, actor_session_id: None };
    let ended = sessions::revoke::revoke_session_in(&mut tx, session_id, Some(&user.id), why, now).await?;
    if ended.is_empty() {
        // It had ended already (signed out, or expired): the report is recorded all the same.
        let event = events::NewEvent {
            session_id: Some(session_id),
            reason: Some(EndReason::ReportedByOwner),
            ..events::NewEvent::new(&user.id, EventKind::SessionRevoked)
        };
        events::record(&mut tx, event, now).await?;
    }
    known_devices::forget_device_of_session_in(&mut tx, &user.id, session_id).await?;

    let bound_to = link::fingerprint(&user.password_hash);
    let reset = link::mint_in(&mut tx, &user.id, Purpose::PasswordReset, &bound_to, RESET_LINK_MINUTES * 60, now).await?;
    let url = state.link(&format!("/reset-password?token={}", reset.expose()));
    let message = templates::password_reset(&user.email, &user.display_name, &circumstances(client, now), &url, RESET_LINK_MINUTES);
    mail::queue::enqueue_in(&mut tx, &message, now).await?;

    sessions::revoke::commit_and_list(tx, &state.revoked, ended, now).await?;
    state.mailer.wake();
    tracing::info!(user_id = %user.id, session_id = %session_id, "a sign-in reported as not the owner: signed out, device forgotten");
    Ok(())
}
