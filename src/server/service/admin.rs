//! Operators (ssr only): find an account, see its sessions, factors and activity, and help
//! the person behind it — sign out one or all sessions, disable or enable the account, mail
//! a link to set a new password, remove a second factor they lost.
//!
//! Operator status is read from the account on every call ([`operator`]); the access
//! token's `op` claim is only a hint for clients. Every action also needs a recent
//! authentication (`step_up::require_recent`), is written to the audit log in its own
//! transaction, shows in the person's activity ("An administrator signed you out of …") and
//! is mailed to them.
//!
//! Disabling ends every session at once (the revocation reaches every instance like any
//! other), and the account's right password then answers exactly what a wrong one does.
//! Nothing but an operator enables it again: a reset link is neither sent to a disabled
//! account nor usable by it.
//!
//! Removing a lost second factor is no way in by itself: the next right password gets no
//! session but `password_reset_required`, and a reset link is mailed. The person needs the
//! password *and* the mailbox, and sets a new password, before any session starts.

use super::{devices, step_up};
use crate::{
    error::AppError,
    model::{AccountDetail, AccountEvent, AccountFactors, AccountSearch, AccountSession, AccountSummary, AuditEntry, AuditLog},
    server::{
        auth::AuthUser,
        client::Client,
        clock::{ago, rfc3339},
        db::Tx,
        events::{self, EndReason, EventKind},
        factors::{recovery_codes, totp},
        mail::{self, templates},
        operators::{self, Action, Entry, Found, Logged},
        sessions::{self, revoke::Why},
        state::AppState,
        users::{self, UserRow},
    },
};

/// Accounts per page of a search.
pub const SEARCH_PAGE: i64 = 20;
/// Entries per page of the audit log.
pub const AUDIT_PAGE: i64 = 50;
/// Sessions, events and actions an account's page shows.
const DETAIL_ROWS: i64 = 100;
/// Longer than any id, address or cursor we hand out: unknown without a lookup.
const MAX_ARG_LEN: usize = 320;

/// The caller, when the account is an operator (and not disabled): read from the database
/// on every call, never from the token.
pub async fn operator(state: &AppState, caller: &AuthUser) -> Result<UserRow, AppError> {
    let me = users::by_id(&state.db, &caller.user_id).await?.ok_or(AppError::InvalidToken)?;
    if me.operator_since.is_none() || me.disabled_at.is_some() {
        tracing::info!(user_id = %caller.user_id, "operator request refused: not an operator");
        return Err(AppError::Forbidden("Only operators can do this".into()));
    }
    Ok(me)
}

/// An operator about to act: operator status, then a recent authentication.
async fn acting(state: &AppState, caller: &AuthUser, now: i64) -> Result<UserRow, AppError> {
    let me = operator(state, caller).await?;
    step_up::require_recent(state, caller, now).await?;
    Ok(me)
}

async fn target(state: &AppState, id: &str) -> Result<UserRow, AppError> {
    if id.len() > MAX_ARG_LEN {
        return Err(AppError::NotFound);
    }
    users::by_id(&state.db, id).await?.ok_or(AppError::NotFound)
}

fn summary(found: Found) -> AccountSummary {
    AccountSummary {
        id: found.id,
        email: found.email,
        display_name: found.display_name,
        created_at: rfc3339(found.created_at),
        email_verified: found.email_verified_at.is_some(),
        operator: found.operator_since.is_some(),
        disabled: found.disabled_at.is_some(),
    }
}

fn summary_of(user: &UserRow) -> AccountSummary {
    summary(Found {
        id: user.id.clone(),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        created_at: user.created_at,
        email_verified_at: user.email_verified_at,
        operator_since: user.operator_since,
        disabled_at: user.disabled_at,
    })
}

/// Accounts whose address or name starts with `query` (any case; empty: all), by address,
/// [`SEARCH_PAGE`] at a time after the address `after`.
pub async fn search(state: &AppState, caller: &AuthUser, query: &str, after: Option<&str>) -> Result<AccountSearch, AppError> {
    operator(state, caller).await?;
    if query.len() > MAX_ARG_LEN || after.is_some_and(|a| a.len() > MAX_ARG_LEN) {
        return Err(AppError::invalid_field("q", "That is longer than any address or name"));
    }
    let mut rows = operators::search(&state.db, query, after.unwrap_or(""), SEARCH_PAGE + 1).await?;
    let more = rows.len() as i64 > SEARCH_PAGE;
    rows.truncate(SEARCH_PAGE as usize);
    let next_after = if more { rows.last().map(|r| r.email.clone()) } else { None };
    Ok(AccountSearch { users: rows.into_iter().map(summary).collect(), next_after })
}

fn entry(logged: Logged, now: i64) -> AuditEntry {
    let text = Action::parse(&logged.action).map(Action::describe).unwrap_or("did something this version does not know").to_owned();
    AuditEntry {
        id: logged.id,
        at: rfc3339(logged.created_at),
        ago: ago(logged.created_at, now),
        operator_email: logged.operator_email,
        target_id: logged.target_id,
        target_email: logged.target_email,
        action: logged.action,
        text,
    }
}

/// One account: its sessions (as its devices page shows them), factors, address
/// verification, latest events, and what operators did to it.
pub async fn detail(state: &AppState, caller: &AuthUser, id: &str, now: i64) -> Result<AccountDetail, AppError> {
    operator(state, caller).await?;
    let user = target(state, id).await?;
    let page = sessions::active_page(&state.db, &user.id, "", None, DETAIL_ROWS, &state.sessions, now).await?;
    let sessions = page
        .rows
        .iter()
        .map(|row| {
            let d = devices::device(row, "", now);
            AccountSession {
                id: d.id,
                device: d.label,
                browser: d.browser,
                os: d.os,
                ip: d.ip,
                signed_in_at: d.signed_in_at,
                signed_in_ago: d.signed_in_ago,
                last_active_at: d.last_active_at,
                last_active_ago: d.last_active_ago,
                signed_in_with: d.signed_in_with,
            }
        })
        .collect();
    let factors = AccountFactors {
        authenticator: totp::is_on(&state.db, &user.id).await?,
        recovery_codes_left: recovery_codes::left(&state.db, &user.id).await?,
    };
    let events = events::recent(&state.db, &user.id, "", DETAIL_ROWS, state.max_sessions, now)
        .await?
        .into_iter()
        .map(|e| AccountEvent { kind: e.kind, text: e.text, at: e.at, ago: e.ago })
        .collect();
    let actions = operators::log(&state.db, Some(&user.id), None, DETAIL_ROWS).await?.into_iter().map(|l| entry(l, now)).collect();
    Ok(AccountDetail {
        password_reset_required: user.password_reset_required_at.is_some(),
        user: summary_of(&user),
        sessions,
        factors,
        events,
        actions,
    })
}

/// The audit log, newest first, [`AUDIT_PAGE`] entries older than the entry `before`.
pub async fn audit(state: &AppState, caller: &AuthUser, before: Option<&str>, now: i64) -> Result<AuditLog, AppError> {
    operator(state, caller).await?;
    if before.is_some_and(|b| b.len() > MAX_ARG_LEN) {
        return Err(AppError::invalid_field("before", "This cursor is not one we handed out"));
    }
    let mut rows = operators::log(&state.db, None, before, AUDIT_PAGE + 1).await?;
    let more = rows.len() as i64 > AUDIT_PAGE;
    rows.truncate(AUDIT_PAGE as usize);
    let next_before = if more { rows.last().map(|r| r.id.clone()) } else { None };
    Ok(AuditLog { entries: rows.into_iter().map(|l| entry(l, now)).collect(), next_before })
}

/// The audit entry, and the mail that tells the person, inside the action's transaction.
async fn audited(
    tx: &mut Tx,
    me: &UserRow,
    user: &UserRow,
    action: Action,
    detail: Option<&str>,
    (subject, what): (&str, &str),
    now: i64,
) -> Result<(), AppError> {
    let entry = Entry {
        operator_id: &me.id,
        operator_email: &me.email,
        target_id: &user.id,
        target_email: &user.email,
        action,
        detail,
    };
    operators::record_in(tx, entry, now).await?;
    let when = crate::time::exact(&rfc3339(now));
    mail::queue::enqueue_in(tx, &templates::by_administrator(&user.email, &user.display_name, &when, subject, what), now).await?;
    Ok(())
}

async fn event_in(tx: &mut Tx, user: &UserRow, kind: EventKind, now: i64) -> Result<(), AppError> {
    events::record(tx, events::NewEvent::new(&user.id, kind), now).await?;
    Ok(())
}

/// Signs out one session of the account (`session_id`), or all of them (none given), at once.
pub async fn sign_out(state: &AppState, caller: &AuthUser, id: &str, session_id: Option<&str>, now: i64) -> Result<(), AppError> {
    let me = acting(state, caller, now).await?;
    let user = target(state, id).await?;
    let why = Why { reason: EndReason::Operator, actor_session_id: None };
    let mut tx = state.db.begin().await?;
    let (ended, action) = match session_id.filter(|s| !s.is_empty()) {
        Some(session) => {
            if session.len() > MAX_ARG_LEN {
                return Err(AppError::NotFound);
            }
            let ended = sessions::revoke::revoke_session_in(&mut tx, session, Some(&user.id), why, now).await?;
            if ended.is_empty() {
                return Err(AppError::NotFound);
            }
            (ended, Action::SignOut)
        }
        None => {
            let reach = sessions::revoke::Reach::new(&state.sessions, &state.revoked);
            (sessions::revoke::revoke_all_of_user_in(&mut tx, &user.id, None, why, reach, now).await?.ids, Action::SignOutAll)
        }
    };
    let what = match action {
        Action::SignOut => "An administrator signed you out of one of your devices.",
        _ => "An administrator signed you out on every device.",
    };
    audited(&mut tx, &me, &user, action, session_id, ("An administrator signed you out", what), now).await?;
    sessions::revoke::commit_and_list(tx, &state.revoked, ended, now).await?;
    state.mailer.wake();
    tracing::info!(operator = %me.id, user_id = %user.id, action = action.as_str(), "operator signed an account out");
    Ok(())
}

/// Disables the account: every session ends at once, and signing in is refused. Disabling
/// a disabled account changes nothing. Operators cannot disable themselves.
pub async fn disable(state: &AppState, caller: &AuthUser, id: &str, now: i64) -> Result<(), AppError> {
    let me = acting(state, caller, now).await?;
    let user = target(state, id).await?;
    if user.id == me.id {
        return Err(AppError::BadRequest("You cannot disable your own account".into()));
    }
    let mut tx = state.db.begin().await?;
    if !operators::disable_in(&mut tx, &user.id, now).await? {
        return Ok(());
    }
    let why = Why { reason: EndReason::AccountDisabled, actor_session_id: None };
    let reach = sessions::revoke::Reach::new(&state.sessions, &state.revoked);
    let ended = sessions::revoke::revoke_all_of_user_in(&mut tx, &user.id, None, why, reach, now).await?;
    event_in(&mut tx, &user, EventKind::AccountDisabled, now).await?;
    let told = ("Your account was disabled", "Your account was disabled and every device was signed out; it cannot be signed in to until it is enabled again.");
    audited(&mut tx, &me, &user, Action::Disable, None, told, now).await?;
    sessions::revoke::commit_and_list(tx, &state.revoked, ended.ids, now).await?;
    state.profiles.forget(&user.id);
    state.mailer.wake();
    tracing::info!(operator = %me.id, user_id = %user.id, signed_out = ended.live, "operator disabled an account");
    Ok(())
}

/// Enables a disabled account: its password signs in again.
pub async fn enable(state: &AppState, caller: &AuthUser, id: &str, now: i64) -> Result<(), AppError> {
    let me = acting(state, caller, now).await?;
    let user = target(state, id).await?;
    let mut tx = state.db.begin().await?;
    if !operators::enable_in(&mut tx, &user.id).await? {
        return Ok(());
    }
    event_in(&mut tx, &user, EventKind::AccountEnabled, now).await?;
    let told = ("Your account was enabled", "Your account was enabled again: you can sign in with your password.");
    audited(&mut tx, &me, &user, Action::Enable, None, told, now).await?;
    tx.commit().await?;
    state.profiles.forget(&user.id);
    state.mailer.wake();
    tracing::info!(operator = %me.id, user_id = %user.id, "operator enabled an account");
    Ok(())
}

/// Mails the person a link to set a new password (30 minutes, single use). Not to a
/// disabled account: enable it first.
pub async fn send_reset(state: &AppState, caller: &AuthUser, id: &str, now: i64) -> Result<(), AppError> {
    let me = acting(state, caller, now).await?;
    let user = target(state, id).await?;
    let mut tx = state.db.begin().await?;
    // Holds the row, then reads it: the link is bound to the password as it is now, and a
    // disabling that committed first is seen.
    users::lock_in(&mut tx, &user.id).await?;
    let user = users::by_id(&state.db, &user.id).await?.ok_or(AppError::NotFound)?;
    if user.disabled_at.is_some() {
        return Err(AppError::AccountDisabled);
    }
    let url = super::recovery::reset_link_in(&mut tx, state, &user, now).await?;
    let when = crate::time::exact(&rfc3339(now));
    let message = templates::reset_by_administrator(&user.email, &user.display_name, &when, &url, super::recovery::RESET_LINK_MINUTES);
    mail::queue::enqueue_in(&mut tx, &message, now).await?;
    event_in(&mut tx, &user, EventKind::ResetLinkSentByOperator, now).await?;
    let entry = Entry {
        operator_id: &me.id,
        operator_email: &me.email,
        target_id: &user.id,
        target_email: &user.email,
        action: Action::SendReset,
        detail: None,
    };
    operators::record_in(&mut tx, entry, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    tracing::info!(operator = %me.id, user_id = %user.id, "operator sent a reset link");
    Ok(())
}

/// Removes the authenticator and recovery codes of a person who lost them. Every session
/// ends, and the next sign-in must set a new password first (see the module's notes).
pub async fn remove_second_factor(state: &AppState, caller: &AuthUser, id: &str, now: i64) -> Result<(), AppError> {
    let me = acting(state, caller, now).await?;
    let user = target(state, id).await?;
    let mut tx = state.db.begin().await?;
    let was_on = totp::remove_in(&mut tx, &user.id).await?;
    if !was_on {
        return Err(AppError::BadRequest("Two-step verification is not on for this account".into()));
    }
    recovery_codes::remove_in(&mut tx, &user.id).await?;
    operators::require_reset_in(&mut tx, &user.id, now).await?;
    let why = Why { reason: EndReason::Operator, actor_session_id: None };
    let reach = sessions::revoke::Reach::new(&state.sessions, &state.revoked);
    let ended = sessions::revoke::revoke_all_of_user_in(&mut tx, &user.id, None, why, reach, now).await?;
    event_in(&mut tx, &user, EventKind::SecondFactorRemovedByOperator, now).await?;
    let told = (
        "Two-step verification was turned off",
        "An administrator turned off two-step verification for your account, as you asked. The next time you sign in with your password we will email you a link to set a new one first.",
    );
    audited(&mut tx, &me, &user, Action::RemoveSecondFactor, None, told, now).await?;
    sessions::revoke::commit_and_list(tx, &state.revoked, ended.ids, now).await?;
    state.mailer.wake();
    tracing::info!(operator = %me.id, user_id = %user.id, "operator removed a second factor");
    Ok(())
}

/// A right password, for an account whose second factor an operator removed: a reset link
/// goes to its mailbox (within the hourly limit of reset links); no session starts.
pub(super) async fn password_reset_required(state: &AppState, user: &UserRow, client: &Client, now: i64) -> Result<(), AppError> {
    tracing::info!(user_id = %user.id, "sign-in held: a new password must be set first");
    super::recovery::mail_reset_link(state, &user.email, client, now).await
}
