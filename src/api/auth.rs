//! Server functions for signing in and out, registering, and refreshing.
//!
//! The refresh and sign-out functions live under `/auth`, the only path the refresh cookie
//! is sent to.

use crate::error::AppError;
use leptos::prelude::*;

/// Signs in and sends the browser on to `next` (a same-site path) or the dashboard.
#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server::{account, clock, http::{browser::safe_next, client_of}};
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
    use crate::server::{account, clock, http::{client_ip, client_of}};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let now = clock::now();
    account::register(&state, &email, &password, &display_name, client_ip(&state, &parts), now).await?;
    let issued = account::login(&state, &email, &password, &client_of(&state, &parts), now).await?;
    state.cookies.set_tokens(&cookies, &issued, now);
    leptos_axum::redirect("/dashboard");
    Ok(())
}

/// Signs this device out: revokes the session on the server, clears both cookies.
/// Works with an expired access token too: the refresh cookie (sent here) names the session.
#[server(prefix = "/auth", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{account, auth, clock, sessions::revoke::session_of_refresh_token, tokens::access};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let now = clock::now();
    let mut session_id = match auth::authenticate(&state, &parts.headers, now) {
        Ok((user, _)) => Some(user.session_id),
        Err(_) => None,
    };
    if session_id.is_none() {
        if let Some(token) = state.cookies.refresh_token(&cookies) {
            session_id = session_of_refresh_token(&state.db, &token).await?;
        }
    }
    if session_id.is_none() {
        // An expired access token still names its session; its signature is what matters.
        if let Some(token) = state.cookies.access_token(&cookies) {
            let far_past = access::verify(&state.keys.current(), &state.access, token.expose(), now)
                .err()
                .and_then(|_| access::verify(&state.keys.current(), &state.access, token.expose(), 0).ok());
            session_id = far_past.map(|c| c.sid);
        }
    }
    if let Some(id) = session_id {
        account::logout(&state, &id, now).await?;
    }
    state.cookies.clear(&cookies);
    super::ctx::clear_site_data();
    leptos_axum::redirect("/login?signed_out=1");
    Ok(())
}

/// Rotates the refresh token (cookie) and sets a new pair. Called by `with_refresh`.
#[server(prefix = "/auth", endpoint = "refresh")]
pub async fn refresh_session() -> Result<(), AppError> {
    use crate::server::{account, clock, http::client_ip};
    let state = super::ctx::state()?;
    let parts = super::ctx::parts()?;
    let cookies = super::ctx::cookies().await?;
    let token = state.cookies.refresh_token(&cookies).ok_or(AppError::InvalidRefreshToken)?;
    let now = clock::now();
    match account::refresh(&state, token.expose(), client_ip(&state, &parts), now).await {
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
