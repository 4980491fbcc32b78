//! Server functions behind the devices page: list, name, and sign out devices
//! (the use cases are `server::service::devices`).

use crate::{error::AppError, model::DevicesView};
use leptos::prelude::*;

/// A page of the caller's live sessions, "This device" first; `cursor` is a page's
/// `next_cursor` (none: the first page).
#[server(prefix = "/fn", endpoint = "devices")]
pub async fn list_devices(cursor: Option<String>) -> Result<DevicesView, AppError> {
    use crate::server::{clock, service::devices};
    let (state, me) = super::ctx::caller()?;
    devices::list(&state, &me, cursor.as_deref(), clock::now()).await
}

/// Signs out one of the caller's other devices, at once.
#[server(prefix = "/fn", endpoint = "devices/revoke")]
pub async fn revoke_device(session_id: String) -> Result<(), AppError> {
    use crate::server::{clock, service::devices};
    let (state, me) = super::ctx::caller()?;
    devices::sign_out(&state, &me, &session_id, clock::now()).await?;
    // A plain form (JavaScript or not: the page sends it so) comes back to the list at the
    // same address; the list then says the device went (once, from a cookie).
    if super::ctx::plain_form()? {
        state.cookies.set_done(&super::ctx::cookies().await?, DEVICES_PAGE, "signed-out");
    }
    Ok(())
}

#[cfg(feature = "ssr")]
const DEVICES_PAGE: &str = "/settings/sessions";

/// What the last plain "Sign out" on the devices page did (see `revoke_device`): read once,
/// while the page renders on the server — from the request's own cookies, and cleared with
/// the page's response.
#[cfg(feature = "ssr")]
pub fn take_done() -> Option<String> {
    use crate::server::cookies::{cookie_in_headers, DONE_COOKIE};
    let state = super::ctx::state().ok()?;
    let parts = super::ctx::parts().ok()?;
    let done = cookie_in_headers(&parts.headers, DONE_COOKIE)?.to_owned();
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(gone) = axum::http::HeaderValue::from_str(&state.cookies.done_cleared(DEVICES_PAGE).to_string()) {
            response.append_header(axum::http::header::SET_COOKIE, gone);
        }
    }
    Some(done)
}

/// Signs out every device but this one. Returns how many were signed out.
#[server(prefix = "/fn", endpoint = "devices/revoke-others")]
pub async fn revoke_other_devices() -> Result<u64, AppError> {
    use crate::server::{clock, service::devices};
    let (state, me) = super::ctx::caller()?;
    let count = devices::sign_out_others(&state, &me, clock::now()).await?;
    // A plain form (JavaScript or not: the page sends it so) comes back to the list, saying
    // how many went.
    if super::ctx::plain_form()? {
        leptos_axum::redirect(&format!("/settings/sessions?done=others-{count}"));
    }
    Ok(count)
}

/// Signs out every device, this one included, and goes to the login page. Lives under
/// `/auth`, where the refresh cookie is sent: it works on a page left open past the access
/// token's life too.
#[server(prefix = "/auth", endpoint = "sign-out-everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    use crate::server::{clock, service::devices};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let caller = super::ctx::current_user(&state, &parts);
    devices::sign_out_everywhere(&state, caller, state.cookies.refresh_token(&cookies).as_ref(), clock::now()).await?;
    super::ctx::signed_out(&state, &cookies);
    Ok(())
}

/// Names one of the caller's devices (an empty name goes back to "Browser on OS").
#[server(prefix = "/fn", endpoint = "devices/rename")]
pub async fn rename_device(session_id: String, name: String) -> Result<(), AppError> {
    use crate::server::service::devices;
    let (state, me) = super::ctx::caller()?;
    devices::rename(&state, &me, &session_id, &name).await?;
    // A plain form (the page sends it so) comes back to the list, saying it was saved.
    if super::ctx::plain_form()? {
        leptos_axum::redirect("/settings/sessions?done=renamed");
    }
    Ok(())
}

/// "This wasn't me": signs out the device a sign-in came from and sends the person on to
/// change their password.
#[server(prefix = "/fn", endpoint = "devices/disown")]
pub async fn disown_sign_in(session_id: String) -> Result<(), AppError> {
    use crate::server::{clock, service::devices};
    let (state, me) = super::ctx::caller()?;
    devices::disown(&state, &me, &session_id, clock::now()).await?;
    leptos_axum::redirect("/settings/password?reported=1");
    Ok(())
}
