//! Server functions behind the devices page: list, name, and sign out devices.

use crate::{error::AppError, model::DevicesView};
use leptos::prelude::*;

/// Every live session of the caller, "This device" first.
#[server(prefix = "/fn", endpoint = "devices")]
pub async fn list_devices() -> Result<DevicesView, AppError> {
    use crate::server::{clock, devices::device_view, sessions};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let me = super::ctx::current_user(&state, &parts)?;
    let now = clock::now();
    state.activity.touch(&state.db, &me.session_id, now).await?;
    let user = state.profiles.get(&state.db, &me.user_id).await?.ok_or(AppError::InvalidToken)?;
    let rows = sessions::active_for_user(&state.db, &me.user_id, &state.sessions, now).await?;
    let mut devices: Vec<_> = rows.iter().map(|r| device_view(r, &me.session_id, now)).collect();
    devices.sort_by_key(|d| !d.current);
    Ok(DevicesView { display_name: user.display_name, devices })
}

/// Signs out one of the caller's other devices, at once. Someone else's session id is
/// answered exactly like an unknown one.
#[server(prefix = "/fn", endpoint = "devices/revoke")]
pub async fn revoke_device(session_id: String) -> Result<(), AppError> {
    use crate::server::{clock, sessions::revoke::{revoke_session, Why}};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let me = super::ctx::current_user(&state, &parts)?;
    let why = Why { reason: "signed_out_elsewhere", actor_session_id: Some(&me.session_id) };
    if !revoke_session(&state.db, &state.revoked, &session_id, Some(&me.user_id), why, clock::now()).await? {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Signs out every device but this one. Returns how many were signed out.
#[server(prefix = "/fn", endpoint = "devices/revoke-others")]
pub async fn revoke_other_devices() -> Result<u64, AppError> {
    use crate::server::{clock, sessions::revoke::{revoke_all_of_user, Why}};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let me = super::ctx::current_user(&state, &parts)?;
    let why = Why { reason: "signed_out_elsewhere", actor_session_id: Some(&me.session_id) };
    Ok(revoke_all_of_user(&state.db, &state.revoked, &me.user_id, Some(&me.session_id), why, clock::now()).await?)
}

/// Signs out every device, this one included, and goes to the login page.
/// Works with an expired access token too: the live refresh cookie (sent under /auth) names
/// the caller, so the button still works on a page left open past the access token's life.
#[server(prefix = "/auth", endpoint = "sign-out-everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    use crate::server::{clock, sessions::{self, revoke::{revoke_all_of_user, Why}}};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let now = clock::now();
    let (user_id, session_id) = match super::ctx::current_user(&state, &parts) {
        Ok(me) => (me.user_id, me.session_id),
        Err(e) => match state.cookies.refresh_token(&cookies) {
            Some(token) => sessions::live_by_refresh_token(&state.db, &token, &state.sessions, now).await?.ok_or(e)?,
            None => return Err(e),
        },
    };
    let why = Why { reason: "signed_out_everywhere", actor_session_id: Some(&session_id) };
    revoke_all_of_user(&state.db, &state.revoked, &user_id, None, why, now).await?;
    state.cookies.clear(&cookies);
    super::ctx::clear_site_data();
    leptos_axum::redirect("/login?signed_out=1");
    Ok(())
}

/// Names one of the caller's devices (an empty name goes back to "Browser on OS").
#[server(prefix = "/fn", endpoint = "devices/rename")]
pub async fn rename_device(session_id: String, name: String) -> Result<(), AppError> {
    use crate::server::{devices::parse_name, sessions};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let me = super::ctx::current_user(&state, &parts)?;
    let name = parse_name(&name)
        .map_err(|m| AppError::invalid(std::iter::once(("name".to_string(), m)).collect()))?;
    if !sessions::rename(&state.db, &me.user_id, &session_id, name.as_deref()).await? {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// "This wasn't me": signs out the device a sign-in came from and sends the person on to
/// change their password.
#[server(prefix = "/fn", endpoint = "devices/disown")]
pub async fn disown_sign_in(session_id: String) -> Result<(), AppError> {
    use crate::server::{clock, sessions::revoke::{revoke_session, Why}};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let me = super::ctx::current_user(&state, &parts)?;
    if session_id == me.session_id {
        return Err(AppError::BadRequest("That is this device; use Sign out instead".into()));
    }
    let why = Why { reason: "reported_by_owner", actor_session_id: None };
    if !revoke_session(&state.db, &state.revoked, &session_id, Some(&me.user_id), why, clock::now()).await? {
        return Err(AppError::NotFound);
    }
    leptos_axum::redirect("/settings/password?reported=1");
    Ok(())
}
