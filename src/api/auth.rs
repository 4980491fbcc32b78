//! Server functions for signing in and out, registering, and refreshing.
//!
//! The refresh and sign-out functions live under `/auth`, the only path the refresh cookie
//! is sent to.

use crate::error::AppError;
use leptos::prelude::*;

/// Signs in and sends the browser on to `next` (a same-site path) or the dashboard.
#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server::{clock, http::{browser::safe_next, client_of}, service::account};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let now = clock::now();
    let issued = account::login(&state, &email, &password, &client_of(&state, &parts), now).await?;
    state.cookies.set_tokens(&cookies, &issued, now);
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Creates an account, signs it in and goes to the dashboard.
#[server(prefix = "/fn", endpoint = "register")]
pub async fn register(email: String, password: String, display_name: String) -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::account};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let now = clock::now();
    let client = client_of(&state, &parts);
    let issued = account::register_and_sign_in(&state, &email, &password, &display_name, &client, now).await?;
    state.cookies.set_tokens(&cookies, &issued, now);
    leptos_axum::redirect("/dashboard");
    Ok(())
}

/// Signs this device out: revokes the session on the server, clears both cookies. Works
/// with an expired access token too: any credential of the session the browser still holds
/// names it (see `service::account::logout_browser`).
#[server(prefix = "/auth", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{clock, service::account};
    let state = super::ctx::state()?;
    let cookies = super::ctx::cookies().await?;
    let (access, refresh) = (state.cookies.access_token(&cookies), state.cookies.refresh_token(&cookies));
    account::logout_browser(&state, access.as_ref(), refresh.as_ref(), clock::now()).await?;
    super::ctx::signed_out(&state, &cookies);
    Ok(())
}

/// Rotates the refresh token (cookie) and sets a new pair. Called by `with_refresh`.
#[server(prefix = "/auth", endpoint = "refresh")]
pub async fn refresh_session() -> Result<(), AppError> {
    use crate::server::{clock, http::client_of, service::account};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let token = state.cookies.refresh_token(&cookies).ok_or(AppError::InvalidRefreshToken)?;
    let now = clock::now();
    match account::refresh(&state, token.expose(), &client_of(&state, &parts), now).await {
        Ok(issued) => {
            state.cookies.set_tokens(&cookies, &issued, now);
            Ok(())
        }
        Err(e) => {
            if e.session_ended() {
                state.cookies.clear(&cookies);
            }
            Err(e)
        }
    }
}
