//! The caller's devices (ssr only): every live session of the account, listed a page at a
//! time, named, and signed out one by one, all but this one, or all at once.

use super::account::profile;
use crate::{
    error::AppError,
    model::{Device, DevicesView},
    server::{
        auth::AuthUser,
        clock::{ago, rfc3339},
        events::EndReason,
        known_devices,
        secret::Secret,
        sessions::{
            self,
            revoke::{commit_and_list, revoke_all_of_user, revoke_session, revoke_session_in, Why},
            Cursor, ListedSession,
        },
        state::AppState,
        validate,
    },
};

/// Longer than any session id we issue (a UUID); a longer one is unknown without a lookup.
const MAX_SESSION_ID_LEN: usize = 64;

/// Most sessions in one page of the API, and how many it lists when not told.
pub const MAX_PAGE: i64 = 100;
/// Devices on one page of `/settings/sessions`.
pub const DEVICES_PAGE: i64 = 50;

/// One page of the caller's devices.
#[derive(Debug)]
pub struct Page {
    pub devices: Vec<Device>,
    /// Where the next page starts; None on the last page.
    pub next_cursor: Option<String>,
}

/// One page of the caller's live sessions, "This device" first, then by latest activity:
/// at most `limit` (1 to [`MAX_PAGE`]; default [`MAX_PAGE`]), after `cursor` (a
/// `next_cursor` handed out before). Looking is activity too: the caller's own "last
/// active" moves (at most once a minute).
pub async fn page(state: &AppState, caller: &AuthUser, cursor: Option<&str>, limit: Option<i64>, now: i64) -> Result<Page, AppError> {
    let limit = limit.unwrap_or(MAX_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::invalid_field("limit", format!("Ask for 1 to {MAX_PAGE} sessions at a time")));
    }
    let after = match cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
            AppError::invalid_field("cursor", "This cursor is not one we handed out; list again without it")
        })?),
    };
    state.activity.touch(&state.db, &caller.session_id, now).await?;
    let page =
        sessions::active_page(&state.db, &caller.user_id, &caller.session_id, after.as_ref(), limit, &state.sessions, now)
            .await?;
    Ok(Page {
        devices: page.rows.iter().map(|row| device(row, &caller.session_id, now)).collect(),
        next_cursor: page.next.map(|c| c.encode()),
    })
}

/// The devices page: a page of [`DEVICES_PAGE`] devices after `cursor`, the person's name,
/// and how many devices there are in all.
pub async fn list(state: &AppState, caller: &AuthUser, cursor: Option<&str>, now: i64) -> Result<DevicesView, AppError> {
    let Page { devices, next_cursor } = page(state, caller, cursor, Some(DEVICES_PAGE), now).await?;
    let me = profile(state, &caller.user_id).await?;
    let (display_name, unverified_email) = (me.display_name.clone(), me.unverified_email());
    let total = sessions::count_active(&state.db, &caller.user_id, &state.sessions, now).await?;
    Ok(DevicesView { display_name, unverified_email, devices, next_cursor, total })
}

/// A session as the devices page and the API show it, from the details stored at sign-in.
pub(super) fn device(row: &ListedSession, current_session: &str, now: i64) -> Device {
    let info = row.device();
    Device {
        id: row.id.clone(),
        current: row.id == current_session,
        label: row.name.clone().unwrap_or_else(|| info.label()),
        custom_name: row.name.clone(),
        browser: info.browser,
        os: info.os,
        kind: info.kind,
        ip: row.ip.clone(),
        signed_in_at: rfc3339(row.created_at),
        signed_in_ago: ago(row.created_at, now),
        last_active_at: rfc3339(row.last_used_at),
        last_active_ago: ago(row.last_used_at, now),
        signed_in_with: crate::server::sessions::start::SignedInWith::parse(&row.amr).describe().to_owned(),
    }
}

/// Signs out one of the caller's devices, at once. Someone else's session id is answered
/// exactly like an unknown one: 404.
pub async fn sign_out(state: &AppState, caller: &AuthUser, session_id: &str, now: i64) -> Result<(), AppError> {
    let why = Why { reason: EndReason::SignedOutElsewhere, actor_session_id: Some(&caller.session_id) };
    end_one_of_callers(state, caller, session_id, why, now).await
}

/// Signs out every device but this one. Returns how many were signed out.
pub async fn sign_out_others(state: &AppState, caller: &AuthUser, now: i64) -> Result<u64, AppError> {
    let why = Why { reason: EndReason::SignedOutElsewhere, actor_session_id: Some(&caller.session_id) };
    Ok(revoke_all_of_user(&state.db, &state.revoked, &state.sessions, &caller.user_id, Some(&caller.session_id), why, now).await?)
}

/// Signs out every device, this one included. `caller` is the access token's verdict; a page
/// left open past its access token's life still names its session by the live refresh
/// cookie, so the button works there too.
pub async fn sign_out_everywhere(
    state: &AppState,
    caller: Result<AuthUser, AppError>,
    refresh: Option<&Secret>,
    now: i64,
) -> Result<(), AppError> {
    let (user_id, session_id) = match (caller, refresh) {
        (Ok(me), _) => (me.user_id.clone(), me.session_id.clone()),
        (Err(e), Some(token)) => sessions::live_by_refresh_token(&state.db, token, &state.sessions, now).await?.ok_or(e)?,
        (Err(e), None) => return Err(e),
    };
    let why = Why { reason: EndReason::SignedOutEverywhere, actor_session_id: Some(&session_id) };
    revoke_all_of_user(&state.db, &state.revoked, &state.sessions, &user_id, None, why, now).await?;
    Ok(())
}

/// Names one of the caller's devices (an empty name goes back to "Browser on OS").
pub async fn rename(state: &AppState, caller: &AuthUser, session_id: &str, name: &str) -> Result<(), AppError> {
    let name = validate::device_name(name).map_err(|m| AppError::invalid_field("name", m))?;
    if session_id.len() > MAX_SESSION_ID_LEN || !sessions::rename(&state.db, &caller.user_id, session_id, name.as_deref()).await? {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// "This wasn't me": signs out the device a sign-in came from, and the account forgets that
/// device (its next sign-in mails the owner again), as the mailed link does
/// (`service::new_device`). The caller is then sent on to change the password.
pub async fn disown(state: &AppState, caller: &AuthUser, session_id: &str, now: i64) -> Result<(), AppError> {
    if session_id == caller.session_id {
        return Err(AppError::BadRequest("That is this device; use Sign out instead".into()));
    }
    if session_id.len() > MAX_SESSION_ID_LEN {
        return Err(AppError::NotFound);
    }
    let why = Why { reason: EndReason::ReportedByOwner, actor_session_id: None };
    let mut tx = state.db.begin().await?;
    let ended = revoke_session_in(&mut tx, session_id, Some(&caller.user_id), why, now).await?;
    if ended.is_empty() {
        return Err(AppError::NotFound);
    }
    known_devices::forget_device_of_session_in(&mut tx, &caller.user_id, session_id).await?;
    commit_and_list(tx, &state.revoked, ended, now).await?;
    Ok(())
}

async fn end_one_of_callers(state: &AppState, caller: &AuthUser, session_id: &str, why: Why<'_>, now: i64) -> Result<(), AppError> {
    if session_id.len() > MAX_SESSION_ID_LEN
        || !revoke_session(&state.db, &state.revoked, session_id, Some(&caller.user_id), why, now).await?
    {
        return Err(AppError::NotFound);
    }
    Ok(())
}
